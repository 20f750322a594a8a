"""Record llama.cpp's graph-allocator sequence per model: what vramkit replays for compute.

    .venv/bin/python benchmarks/engines/alloc_trace.py [--models ID,…]   write data/llamacpp_graphs/
    .venv/bin/python benchmarks/engines/alloc_trace.py --mtp            the V4 MTP draft contexts
    .venv/bin/python benchmarks/engines/alloc_trace.py --check          replay vs every fixture

The compute buffer `llama-fit-params` prints is ggml-alloc's high-water mark over the
worst-case ubatch graph (ggml/src/ggml-alloc.c of the pinned tree). This tool

1. builds a traced `libggml-base` from the cached engine source (a copy of the tree under
   `<engine cache>/llama.cpp-<VERSION>-alloctrace/`, `ggml-alloc.c` patched by `PATCHES` below
   to write every `ggml_dyn_tallocr_alloc` (size, offset, tensor name), every
   `ggml_dyn_tallocr_free_bytes` (offset, size) and every allocator reset to the file named by
   `VRAMKIT_ALLOC_TRACE`; ≈3 min on 2 cores, reused) and runs the cached `llama-fit-params`
   against it (`LD_LIBRARY_PATH` first);
2. per model and variant (flash attention on with f16 / q8_0 / q4_0 K cache, off with f16)
   runs `TRAIN` settings (contexts, -ub, -np chosen apart from the fixture grid), takes the
   last reserved graph's sequence, checks that the sequence (allocation / free order, tensor
   names, which allocation each free returns) is the same at every setting, and identifies each
   size as a sum of at most three products from `vramkit.runtimes.llamacpp.memory.graph_quantities`
   (`ub`, `ns`, `kv`, `win`, `comp_<kind>`, `sel`) with byte coefficients, exact on every
   training run (else a least-squares row, flagged);
3. writes `data/llamacpp_graphs/<model>.json.gz` (engine, commit, command, date, basis, per
   variant the size rows and the event sequence) that `vramkit.runtimes.llamacpp.graph` replays; with
   `--mtp` the same for DeepSeek V4's MTP draft context (measure_mtp.py's probe on the
   `mtp-*.gguf` draft, `LLAMA_CONTEXT_TYPE_MTP`) → `<model>-mtp.json.gz`.

The fixture grid (tests/fixtures/measured/llamacpp/) is held out: `--check` replays every fixture run
and prints the signed error (the tests do the same).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import fitparams  # noqa: E402
import llamacpp  # noqa: E402

MIB = 2**20
OUT_DIR = ROOT / "data" / "llamacpp_graphs"
TRACE_ENV = "VRAMKIT_ALLOC_TRACE"

#: Training settings (n_ctx, n_ubatch, n_seq): contexts and -ub values off the fixture grid
#: (4K/32K/128K/1M x 512/2048 x 1/4) so the fixtures stay a held-out check; the small contexts
#: with 4 sequences clamp the window and top-k quantities (min(kv, …)). -np divides -ub here
#: (1, 2, 4): with 3 streams the per-stream token count is not whole and a few index sizes
#: are not products of the quantities.
TRAIN: tuple[tuple[int, int, int], ...] = (
    (2048, 256, 1), (3072, 1024, 4), (6144, 384, 2), (6144, 1536, 4), (8192, 256, 4),
    (12288, 768, 1), (20480, 1024, 2), (24576, 256, 4), (49152, 640, 1), (65536, 1536, 2),
    (98304, 384, 4), (163840, 1024, 1), (229376, 768, 2), (327680, 256, 2), (524288, 1280, 4),
    (655360, 512, 2), (786432, 1024, 1), (917504, 128, 1), (4096, 128, 1), (1536, 1024, 1),
)  # fmt: skip
VARIANTS = (("on", "f16"), ("on", "q8_0"), ("on", "q4_0"), ("off", "f16"))

#: ggml/src/ggml-alloc.c anchors and what is inserted at each (the trace hook; nothing else
#: changes: the allocator's decisions are the engine's own).
PATCHES = (
    (
        "static struct buffer_address ggml_dyn_tallocr_alloc(struct ggml_dyn_tallocr * alloc,"
        " size_t size, const struct ggml_tensor * tensor) {\n",
        """static FILE * vk_trace(void) {
    static FILE * f = NULL;
    static int tried = 0;
    if (!tried) {
        tried = 1;
        const char * path = getenv("VRAMKIT_ALLOC_TRACE");
        f = path ? fopen(path, "w") : NULL;
        if (f) { setvbuf(f, NULL, _IOFBF, 1 << 20); }
    }
    return f;
}
static struct buffer_address vk_alloc_impl(struct ggml_dyn_tallocr * alloc, size_t size,
        const struct ggml_tensor * tensor);
static struct buffer_address ggml_dyn_tallocr_alloc(struct ggml_dyn_tallocr * alloc, size_t size,
        const struct ggml_tensor * tensor) {
    struct buffer_address a = vk_alloc_impl(alloc, size, tensor);
    if (vk_trace()) { fprintf(vk_trace(), "@A %zu %zu %d %s\\n", size, a.offset, a.chunk,
        tensor ? tensor->name : "?"); }
    return a;
}
static struct buffer_address vk_alloc_impl(struct ggml_dyn_tallocr * alloc, size_t size,
        const struct ggml_tensor * tensor) {
""",
    ),
    (
        "static void ggml_dyn_tallocr_free_bytes(struct ggml_dyn_tallocr * alloc,"
        " struct buffer_address addr, size_t size) {\n",
        '    if (vk_trace()) { fprintf(vk_trace(), "@F %zu %zu\\n", addr.offset, size); }\n',
    ),
    (
        "    // allocate in hash table\n    ggml_gallocr_alloc_graph_impl(",
        '    if (vk_trace()) { fprintf(vk_trace(), "@R %zu\\n",'
        " galloc->buf_tallocs[0]->alignment); }\n",
    ),
)


#: What the recorded figure is, in the engine's own words.
SOURCE = {
    "url": "https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f"
    "/ggml/src/ggml-alloc.c",
    "quote": "chunk->max_size = MAX(chunk->max_size, addr.offset + size);",
    "kind": "code",
}


def trace_dir() -> Path:
    return llamacpp.cache_root() / f"llama.cpp-{llamacpp.LLAMA_CPP_PYTHON_VERSION}-alloctrace"


def patch_source(text: str) -> str:
    """ggml-alloc.c with the trace hook (each anchor must occur exactly once)."""
    for anchor, insert in PATCHES:
        if text.count(anchor) != 1:
            raise RuntimeError(f"ggml-alloc.c: anchor not found once: {anchor[:60]!r}")
        if anchor.startswith("static struct buffer_address ggml_dyn_tallocr_alloc("):
            text = text.replace(anchor, insert)
        elif anchor.startswith("    // allocate"):
            text = text.replace(anchor, insert + anchor)
        else:
            text = text.replace(anchor, anchor + insert)
    return text


def build_traced(engine: llamacpp.Engine, jobs: int = 2) -> Path:
    """The traced libggml-base (built once from a patched copy of the engine source)."""
    root = trace_dir()
    lib = root / "build" / "bin" / "libggml-base.so"
    if lib.exists():
        return lib.parent
    src = root / "src"
    if not src.exists():
        shutil.copytree(engine.source_dir, src, ignore=shutil.ignore_patterns("build"))
        alloc_c = src / "ggml" / "src" / "ggml-alloc.c"
        alloc_c.write_text(patch_source(alloc_c.read_text()))
    subprocess.run(["cmake", "-S", str(src), "-B", str(root / "build"), *llamacpp.CMAKE_FLAGS],
                   check=True)  # fmt: skip
    subprocess.run(
        ["cmake", "--build", str(root / "build"), f"-j{jobs}", "--target", "ggml-base"],
        check=True,
    )
    return lib.parent


def parse_trace(text: str) -> dict[str, Any]:
    """The last reserved graph's events: ("A", size, offset, name) / ("F", offset, size)."""
    graphs: list[dict[str, Any]] = []
    for line in text.splitlines():
        p = line.split()
        if not p:
            continue
        if p[0] == "@R":
            graphs.append({"align": int(p[1]), "ev": []})
        elif p[0] == "@A" and graphs:
            graphs[-1]["ev"].append(("A", int(p[1]), int(p[2]), p[4] if len(p) > 4 else "?"))
        elif p[0] == "@F" and graphs:
            graphs[-1]["ev"].append(("F", int(p[1]), int(p[2])))
    if not graphs:
        raise RuntimeError("no allocator trace: is the traced libggml-base loaded?")
    return graphs[-1]


def run_traced(
    engine: llamacpp.Engine, libdir: Path, gguf: Path, case: fitparams.Case, mtp: Path | None
):
    """Run the projection with the traced library: llama-fit-params on `gguf`, or with `mtp`
    (measure_mtp's compiled probe) the MTP draft context of a draft file."""
    env = engine.env()
    env["LD_LIBRARY_PATH"] = f"{libdir}:{env['LD_LIBRARY_PATH']}"
    with tempfile.TemporaryDirectory() as tmp:
        env[TRACE_ENV] = str(Path(tmp) / "alloc.trace")
        if mtp is None:
            cmd = fitparams.command(engine.fit_params, gguf, case)
        else:
            import measure_mtp

            cmd = [str(mtp), str(gguf), str(case.n_ctx), str(case.n_ubatch),
                   str(int(case.flash_attn == "on")), str(case.n_seq),
                   str(measure_mtp.GGML_TYPE_IDS[case.cache_k])]  # fmt: skip
        for _ in range(4):
            res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
            text = (res.stderr or "") + "\n" + (res.stdout or "")
            parsed = fitparams.parse(text.splitlines())
            if res.returncode == 0 and parsed["compute_mib"]:
                break
        else:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode})")
        return parse_trace(Path(env[TRACE_ENV]).read_text()), parsed, cmd


def config_digest(cfg: Any) -> str:
    from vramkit.runtimes.llamacpp.graph import config_digest as digest

    return digest(cfg)


def _norm(name: str) -> str:
    return re.sub(r"^(node|leaf)_\d+", r"\1", name)


def symbolize(graph: dict[str, Any]) -> tuple[list[tuple], list[tuple[int, ...]]]:
    """(structure, numbers): per event ("A", name) with (size,) or ("F", alloc number) with
    (bytes past that allocation's start, size); a free returns the latest live allocation
    whose range holds its offset."""
    live: list[tuple[int, int, int]] = []
    structure: list[tuple] = []
    numbers: list[tuple[int, ...]] = []
    for e in graph["ev"]:
        if e[0] == "A":
            structure.append(("A", _norm(e[3])))
            numbers.append((e[1],))
            live.append((e[2], e[1], len(live)))
        else:
            off, size = e[1], e[2]
            hit = [x for x in live if x[0] <= off < x[0] + max(x[1], 1)]
            if not hit:
                raise RuntimeError(f"free at {off} is in no live allocation")
            x = hit[-1]
            structure.append(("F", x[2]))
            numbers.append((off - x[0], size))
    return structure, numbers


def basis_names(quantity_names: list[str]) -> list[str]:
    names = ["1", "ub", "ns", "ub*ns", "ub*ub"]
    for q in quantity_names:
        names += [q, f"ub*{q}", f"ns*{q}"]
    return names


def _exact(cols: list[list[int]], y: list[int]) -> list[Fraction] | None:
    """Rational coefficients c with sum c_j cols[j] == y on every run, or None."""
    import numpy as np

    a = np.array(cols, float).T
    c, *_ = np.linalg.lstsq(a, np.array(y, float), rcond=None)
    fr = [Fraction(float(v)).limit_denominator(64) for v in c]
    ok = all(sum(f * col[i] for f, col in zip(fr, cols, strict=True)) == yi
             for i, yi in enumerate(y))  # fmt: skip
    return fr if ok else None


def identify(y: list[int], x: list[list[int]], names: list[str]) -> tuple[list[float], bool]:
    """Coefficients over `names` for one size across the runs: the fewest basis terms (≤ 3)
    that give it exactly. A size that no such sum gives (on V4: two index tensors of the
    compressor state, at most 1 MiB) is charged its largest training value, a constant
    (flagged inexact)."""
    n = len(names)
    cols = [[row[j] for row in x] for j in range(n)]
    if all(v == 0 for v in y):
        return [0.0] * n, True
    for k in (1, 2, 3):
        for idx in itertools.combinations(range(n), k):
            sub = [cols[j] for j in idx]
            if any(len(set(c)) == 1 and c[0] == 0 for c in sub):
                continue
            fr = _exact(sub, y)
            if fr is not None:
                coef = [0.0] * n
                for j, f in zip(idx, fr, strict=True):
                    coef[j] = float(f)
                return coef, True
    return [float(max(y))] + [0.0] * (n - 1), False


def record_model(
    engine: llamacpp.Engine, libdir: Path, mid: str, where: str, draft: bool = False
) -> dict[str, Any]:
    """The trace document of `mid`'s main context, or with `draft` of its MTP draft context
    (DeepSeek V4's `mtp-*.gguf` in `LLAMA_CONTEXT_TYPE_MTP`, through measure_mtp's probe)."""
    import measure

    from vramkit.runtimes.llamacpp import memory as lm

    model = measure.load_model(mid, where)
    probe = None
    if draft:
        import gguf_sparse
        import measure_mtp

        gguf = measure.sparse_dir() / f"mtp-{mid}.V4_MXFP4.gguf"
        plan = gguf_sparse.plan_v4_mtp(model)
        gguf_sparse.write(plan, gguf, file_type=measure.FTYPE_IDS["V4_MXFP4"])
        probe = measure_mtp.build_probe(engine)
        kv_lines = lm.mtp_draft_kv_lines
    else:
        gguf, _ = measure.write_file(engine, model, measure.layouts(model.family)[0])
        kv_lines = lm.kv_lines
    qnames: list[str] | None = None
    variants = {}
    command = None
    for fa, cache in VARIANTS:
        runs = []
        for ctx, ub, ns in TRAIN:
            case = fitparams.Case(ctx, cache, cache, ub, fa, ns)
            graph, parsed, cmd = run_traced(engine, libdir, gguf, case, probe)
            command = measure.relative_command(cmd, gguf)
            if probe is not None:
                command = ["mtp_context", "{mtp gguf}", *command[2:]]
            s = lm.Settings(ctx, cache, cache, ub, fa == "on", ns)
            q = lm.graph_quantities(model.family, model.config, s)
            cells = sorted(c["cells"] for c in parsed["caches"])
            mine = sorted(c.cells for c in kv_lines(model.family, model.config, s))
            if cells != mine:
                raise RuntimeError(f"{mid} {case}: engine cells {cells} != vramkit {mine}")
            runs.append((q, *symbolize(graph), graph["align"], parsed["compute_mib"]["CPU"]))
        structure = runs[0][1]
        for r in runs:
            if r[1] != structure:
                raise RuntimeError(f"{mid} fa {fa} {cache}: the sequence differs between settings")
        qnames = qnames or sorted(k for k in runs[0][0] if k not in ("ub", "ns"))
        names = basis_names(qnames)
        from vramkit.runtimes.llamacpp.graph import basis_values

        x = [basis_values(names, r[0]) for r in runs]
        rows: dict[tuple[int, ...], int] = {}
        refs = []
        for i in range(len(structure)):
            for j in range(len(runs[0][2][i])):
                key = tuple(r[2][i][j] for r in runs)
                refs.append(rows.setdefault(key, len(rows)))
        coefs, inexact = [], 0
        for key in rows:
            c, ok = identify(list(key), x, names)
            coefs.append([round(v, 6) for v in c])
            inexact += not ok
        ev: dict[str, Any] = {"align": runs[0][3], "op": [], "a": [], "b": [], "c": []}
        it = iter(refs)
        for e in structure:
            if e[0] == "A":
                ev["op"].append(0), ev["a"].append(next(it)), ev["b"].append(0), ev["c"].append(0)
            else:
                ev["op"].append(1), ev["a"].append(e[1])
                ev["b"].append(next(it)), ev["c"].append(next(it))
        variants[f"fa_{fa}_{cache}"] = {
            "rows": coefs,
            "inexact_rows": inexact,
            "events": ev,
            "tensors": len([e for e in structure if e[0] == "A"]),
        }
        print(f"  {mid} fa {fa} {cache}: {len(structure)} events, {len(rows)} sizes"
              f" ({inexact} inexact), {len(runs)} runs")  # fmt: skip
    return {
        "schema_version": 1,
        "engine": "llama.cpp",
        "package": engine.package,
        "llama_cpp_commit": engine.llama_cpp_commit,
        "tool": "llama-fit-params --fit-print on -nr -v with a traced libggml-base"
        " (benchmarks/engines/alloc_trace.py)",
        "command": command,
        "source": SOURCE,
        "machine": "cpu",
        "backend": "CPU (ggml-cpu; no GPU backend built)",
        "date": dt.date.today().isoformat(),
        "model": mid,
        "context": "MTP draft (LLAMA_CONTEXT_TYPE_MTP, mtp-*.gguf)" if draft else "main",
        "config": where,
        "config_sha256": config_digest(model.config),
        "train": [list(t) for t in TRAIN],
        "basis": basis_names(qnames or []),
        "variants": variants,
    }


def check(models: set[str] | None) -> int:
    """Replay every fixture run; print the worst signed error per model."""
    import measure

    from vramkit.runtimes.llamacpp import memory as lm

    bad = 0
    for mid, where in measure.MODELS:
        if models and mid not in models:
            continue
        fx = json.loads(measure.fixture_path(mid).read_text())
        model = measure.load_model(mid, where)
        errs = []
        for c in fx["cases"]:
            if c["layout"] != fx["files"][0]["layout"] or c["returncode"]:
                continue
            st, p = c["settings"], c["parsed"]
            s = lm.Settings(st["n_ctx"], st["cache_k"], st["cache_v"], st["n_ubatch"],
                            st["flash_attn"] == "on", st["n_seq"])  # fmt: skip
            est = lm.compute_bytes(mid, model.family, model.config, s)
            engine = p["compute_mib"].get("CPU", p["rows"]["Host"]["compute"] + 0.5) * MIB
            errs.append(est.bytes / engine - 1)
        worst = max(errs, key=abs)
        bad += abs(worst) > 0.02
        print(f"{mid}: {len(errs)} runs, worst {worst:+.3%}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", help="comma-separated model ids (default: all)")
    ap.add_argument("--check", action="store_true", help="replay every fixture run, compare")
    ap.add_argument(
        "--mtp", action="store_true", help="the MTP draft contexts (measure_mtp.MODELS)"
    )
    args = ap.parse_args(argv)
    wanted = set(args.models.split(",")) if args.models else None
    if args.check:
        return check(wanted)
    import measure

    engine = llamacpp.build()
    llamacpp.use_vendored_gguf(engine)
    libdir = build_traced(engine)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    import measure_mtp

    todo = [(mid, where, False) for mid, where in measure.MODELS if not args.mtp]
    todo += [(mid, "catalog", True) for mid in measure_mtp.MODELS if args.mtp]
    for mid, where, draft in todo:
        if wanted and mid not in wanted:
            continue
        doc = record_model(engine, libdir, mid, where, draft)
        name = f"{mid}{'-mtp' if draft else ''}.json.gz"
        data = json.dumps(doc, separators=(",", ":")).encode()
        with gzip.GzipFile(OUT_DIR / name, "wb", mtime=0) as f:
            f.write(data)
        print(f"{mid}: wrote {(OUT_DIR / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
