"""Build ik_llama.cpp at its pinned commit (CPU only) and record its load logs as fixtures.

    .venv/bin/python benchmarks/engines/ik_llama.py --git-dir DIR      export + build + measure
    .venv/bin/python benchmarks/engines/ik_llama.py --source DIR       build a tree + measure
    .venv/bin/python benchmarks/engines/ik_llama.py --check            re-measure, compare

No network of its own: the tree comes from a local git directory (a clone or mirror holding
`IK_COMMIT`: `git archive` into the cache, blobs the mirror lacks — web-UI bundles and vocab
test files, none built here — left out) or from an unpacked source folder. It is built with
CMake, Release, CPU only (`-DGGML_CUDA=OFF -DLLAMA_CURL=OFF`), only `llama-cli`, into

    ${XDG_CACHE_HOME:-~/.cache}/vramkit/engines/ik_llama-<commit>/
        src/            the exported tree;   src/build/bin/llama-cli
        engine.json     commit, paths, cmake flags

ik_llama.cpp has no `llama-fit-params`: each case runs `llama-cli -n 0 --no-warmup` on a small
GGUF (written from vramkit's own inventory by `gguf_sparse`, tiny configs in
`benchmarks/engines/configs/ik-tiny-*`), which loads the model, creates the context (KV cache,
output buffer, worst-case graph reservation) and prints every buffer to two decimals of a MiB
(src/llama.cpp L1614, L4832, L8538-L8551, L8585, L8659 at `IK_COMMIT`). The kept lines and the
command go to `tests/fixtures/measured/ik_llama/<model>.json` (KB, not whole logs). The files
carry no vocabulary (tokenizer "no_vocab"), so llama-cli aborts afterwards when it tokenizes
its prompt (llama-vocab.cpp L3077, exit -6): every figure is printed by then, and a run counts
when its `KV self size` line is there. Not part of `python3 tasks.py test`: the tests
(tests/engines/test_ik_llama_fixtures.py) read the recorded fixtures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from vramkit.runtimes.ik_llama_types import IK_COMMIT  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "measured" / "ik_llama"
TARGETS = ("llama-cli",)
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_CUDA=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DGGML_CCACHE=OFF",
    "-DGGML_IQK_FA_ALL_QUANTS=OFF",
    "-DCMAKE_C_FLAGS_RELEASE=-O1 -DNDEBUG",
    "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG",
)
"""What the build leaves out changes no buffer size, and it fits the build on two shared cores:
GGML_IQK_FA_ALL_QUANTS=OFF drops the CPU flash-attention kernels for q4_0 / q4_1 / iq4_nl
caches only (ggml/src/iqk/iqk_flash_attn.cpp L121-L131; f16, q8_0, q8_KV, q6_0 stay), and -O1
instead of -O3 only changes the code generated; the scheduler's buffers are sized before any
kernel runs (src/llama.cpp L8607-L8663). GGML_IQK_FLASH_ATTENTION=OFF does not link at this
commit (ggml/src/ggml.c L22956 calls iqk_flash_attn_noalibi, defined only with it on)."""


def cache_root() -> Path:
    if os.environ.get("VRAMKIT_ENGINE_CACHE"):
        return Path(os.environ["VRAMKIT_ENGINE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vramkit" / "engines"


def engine_dir(commit: str = IK_COMMIT) -> Path:
    return cache_root() / f"ik_llama-{commit}"


@dataclass(frozen=True)
class Engine:
    """A built ik_llama.cpp: its commit and where `llama-cli` is."""

    commit: str
    source_dir: str
    bin_dir: str
    cmake_flags: tuple[str, ...]

    @property
    def cli(self) -> Path:
        return Path(self.bin_dir) / "llama-cli"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (self.bin_dir, str(Path(self.bin_dir).parent / "src"),
                        str(Path(self.bin_dir).parent / "ggml" / "src"),
                        env.get("LD_LIBRARY_PATH", "")) if p
        )  # fmt: skip
        return env


def _log(msg: str) -> None:
    print(f"[ik_llama] {msg}", file=sys.stderr, flush=True)


def export(git_dir: Path, commit: str, dest: Path) -> list[str]:
    """`git archive commit` into `dest`, leaving out blobs the (partial) mirror lacks; returns
    the paths left out."""
    if subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "-t", commit],
                      capture_output=True, text=True).stdout.strip() != "commit":  # fmt: skip
        raise SystemExit(f"{commit} is not in {git_dir}'s history")
    tree = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", commit],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    blobs = {}
    for line in tree.splitlines():
        meta, path = line.split("\t", 1)
        _, kind, sha = meta.split()
        if kind == "blob":
            blobs[sha] = path
    check = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "--batch-check"],
                           input="\n".join(blobs), capture_output=True, text=True)  # fmt: skip
    missing = sorted(blobs[ln.split()[0]] for ln in check.stdout.splitlines() if "missing" in ln)
    dest.mkdir(parents=True, exist_ok=True)
    spec = ["--", ".", *(f":(exclude){p}" for p in missing)]
    arch = subprocess.Popen(["git", f"--git-dir={git_dir}", "archive", commit, *spec],
                            stdout=subprocess.PIPE)  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=arch.stdout, check=True)
    if arch.wait():
        raise SystemExit("git archive failed")
    return missing


def build(source: Path, commit: str = IK_COMMIT, jobs: int = 2) -> Engine:
    """Configure and build `llama-cli` (CPU only) in `source`/build; write engine.json."""
    build_dir = source / "build"
    if not (build_dir / "CMakeCache.txt").exists():
        cmd = ["cmake", "-S", str(source), "-B", str(build_dir), *CMAKE_FLAGS]
        _log(" ".join(cmd))
        subprocess.run(cmd, check=True)
    cmd = ["nice", "-n", "10", "cmake", "--build", str(build_dir), f"-j{jobs}",
           "--target", *TARGETS]  # fmt: skip
    _log(" ".join(cmd))
    t0 = time.monotonic()
    subprocess.run(cmd, check=True)
    _log(f"built in {time.monotonic() - t0:.0f} s")
    engine = Engine(commit, str(source), str(build_dir / "bin"), CMAKE_FLAGS)
    root = engine_dir(commit)
    root.mkdir(parents=True, exist_ok=True)
    (root / "engine.json").write_text(json.dumps(asdict(engine), indent=2) + "\n")
    return engine


def cached(commit: str = IK_COMMIT) -> Engine | None:
    """The finished cached build, or None (never builds)."""
    record = engine_dir(commit) / "engine.json"
    if not record.exists():
        return None
    d = json.loads(record.read_text())
    engine = Engine(d["commit"], d["source_dir"], d["bin_dir"], tuple(d["cmake_flags"]))
    return engine if engine.cli.exists() else None


# ---------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One load of ik_llama.cpp: the file layout and its flags (ik spellings)."""

    layout: str
    n_ctx: int = 4096
    cache: str = "f16"  # -ctk and -ctv
    n_ubatch: int = 512
    flash_attn: str = "on"
    mla: int | None = None  # -mla (MLA models only)
    amb: int | None = None  # -amb MiB (None: the default)
    fmoe: bool = True  # False: -no-fmoe
    rtr: bool = False

    def args(self) -> list[str]:
        a = ["-c", str(self.n_ctx), "-ctk", self.cache, "-ctv", self.cache]
        a += [
            "-ub",
            str(self.n_ubatch),
            "-b",
            str(max(self.n_ubatch, 2048)),
            "-fa",
            self.flash_attn,
        ]
        if self.mla is not None:
            a += ["-mla", str(self.mla)]
        if self.amb is not None:
            a += ["-amb", str(self.amb)]
        if not self.fmoe:
            a.append("-no-fmoe")
        if self.rtr:
            a.append("-rtr")
        return a


MODELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ik-tiny-deepseek2", ("Q8_0", "Q4_K_M")),
    ("ik-tiny-qwen3moe", ("Q8_0", "Q4_K_M")),
    ("ik-tiny-llama", ("Q8_0", "Q4_K_M")),
    ("ik-tiny-gpt-oss", ("MXFP4_MOE",)),
)
"""Tiny configs (benchmarks/engines/configs/ik-tiny-*): a DeepSeek-V2 MLA MoE, a Qwen3 MoE,
a dense GQA Llama and a gpt-oss (sliding window, sinks, MXFP4 experts); first layout runs the
grid, the second -rtr and the defaults."""

CACHES = ("f16", "q8_0", "q8_KV", "q6_0")


def grid(mid: str, layouts: tuple[str, ...]) -> list[Case]:
    main = layouts[0]
    cases: list[Case] = []
    mla = mid == "ik-tiny-deepseek2"
    for fa in ("on", "off"):
        for cache in CACHES:
            if mla:
                cases += [Case(main, cache=cache, flash_attn=fa, mla=m) for m in (1, 2, 3)]
            else:
                cases.append(Case(main, cache=cache, flash_attn=fa))
    if mla:
        cases += [Case(main, flash_attn=fa, mla=0) for fa in ("on", "off")]
    for ctx in (4096, 32768):
        for ub in (512, 2048):
            for fa in ("on", "off"):
                for amb in (0, 128, 512) if ctx == 32768 else (None,):
                    c = Case(main, n_ctx=ctx, n_ubatch=ub, flash_attn=fa, amb=amb,
                             mla=3 if mla else None)  # fmt: skip
                    if c not in cases:
                        cases.append(c)
    if mid != "ik-tiny-llama":  # MoE: the fused up/gate off
        cases += [Case(main, n_ubatch=ub, fmoe=False, mla=3 if mla else None) for ub in (512, 2048)]
    for lay in layouts:
        cases += [Case(lay, mla=3 if mla else None), Case(lay, rtr=True, mla=3 if mla else None)]
    out: list[Case] = []
    for c in cases:
        if c not in out:
            out.append(c)
    return out


# ---------------------------------------------------------------------- running and parsing

_KEEP = re.compile(
    r"buffer size =|KV self size|KV self indexer|n_ctx +=|n_batch +=|n_ubatch +=|flash_attn +=|"
    r"mla_attn +=|attn_max_b +=|fused_moe +=|[Rr]epack|Computed|wkv_b|graph nodes|graph splits|"
    r"model params +=|error|failed|not supported|GGML_ASSERT|Fatal|what\(\)",
)
_BUF = re.compile(r"^(\w+): +(\S+) +(model |KV |output |compute |)buffer size = +([\d.]+) MiB")
_KVSELF = re.compile(
    r"KV self size += +(?P<total>[\d.]+) MiB, (?:c\^KV \((?P<ckv_t>\w+)\): +(?P<ckv>[\d.]+) MiB, "
    r"kv\^T(?: \((?P<kvt_t>\w+)\): +(?P<kvt>[\d.]+) MiB|: not used)|K \((?P<k_t>\w+)\): +"
    r"(?P<k>[\d.]+) MiB, V \((?P<v_t>\w+)\): +(?P<v>[\d.]+) MiB)"
)
_REPACKED = re.compile(r"Repacked (\d+) tensors")
_COMPUTED = re.compile(
    r"Computed (\S+) as (\d+) x (\d+) of type (\w+) and stored in buffer (\S+)"
)  # src/llama.cpp L3466-L3467


def parse(lines: list[str]) -> dict[str, Any]:
    """The figures in the kept lines (MiB as printed, two decimals)."""
    out: dict[str, Any] = {"model_mib": {}, "kv_buffer_mib": {}, "output_mib": {},
                           "compute_mib": {}, "kv": None, "repacked": 0,
                           "derived": []}  # fmt: skip
    for ln in lines:
        if m := _BUF.search(ln):
            fn, buf, kind, mib = m.group(1), m.group(2), m.group(3).strip(), float(m.group(4))
            key = {"model": "model_mib", "KV": "kv_buffer_mib", "output": "output_mib",
                   "compute": "compute_mib", "": "model_mib"}[kind]  # fmt: skip
            if kind == "" and fn == "llama_kv_cache_init":
                key = "kv_buffer_mib"
            out[key][buf] = round(out[key].get(buf, 0.0) + mib, 2)
        elif m := _KVSELF.search(ln):
            d = {k: v for k, v in m.groupdict().items() if v is not None}
            out["kv"] = {k: (v if k.endswith("_t") else float(v)) for k, v in d.items()}
        if m := _COMPUTED.search(ln):
            out["derived"].append({"name": m.group(1), "cols": int(m.group(2)),
                                   "rows": int(m.group(3)), "type": m.group(4),
                                   "buffer": m.group(5)})  # fmt: skip
        if m := _REPACKED.search(ln):
            out["repacked"] += int(m.group(1))
    return out


@dataclass
class Run:
    command: list[str]
    returncode: int
    lines: list[str] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)
    cpu_s: float = 0.0


def run_case(engine: Engine, gguf: Path, case: Case, timeout: int = 300) -> Run:
    cmd = [str(engine.cli), "-m", str(gguf), *case.args(), "-t", "1", "-n", "0",
           "--no-warmup", "-p", "x"]  # fmt: skip
    r0 = os.times()
    res = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=engine.env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=gguf.parent,
    )  # fmt: skip (main.log there)
    r1 = os.times()
    text = res.stderr.splitlines() + res.stdout.splitlines()
    src = str(Path(engine.source_dir))  # no path of this machine in a fixture
    kept = [ln.rstrip().replace(src, "{src}") for ln in text if _KEEP.search(ln)]
    rel = ["llama-cli", "-m", "{gguf}", *cmd[3:]]
    return Run(
        rel,
        res.returncode,
        kept,
        parse(kept),
        (r1.children_user + r1.children_system) - (r0.children_user + r0.children_system),
    )


def load_model(mid: str) -> Any:
    from vramkit.model.configfile import model_from_config_file

    return model_from_config_file(str(HERE / "configs" / mid / "config.json"))


FTYPE_IDS = {"Q8_0": 7, "Q4_K_M": 15, "MXFP4_MOE": 38}


def write_gguf(model: Any, layout: str, where: Path) -> tuple[Path, dict[str, Any]]:
    """The model's GGUF under `layout` with vramkit's own tensor types (`gguf_sparse`: real
    header and tensor table, a zero-filled sparse data region)."""
    import gguf
    import gguf_sparse

    from vramkit.quant import weight_bytes

    p = gguf_sparse.plan(model, layout)
    path = where / f"{model.id}.{layout}.gguf"
    size = gguf_sparse.write(p, path, file_type=FTYPE_IDS[layout])
    types: dict[str, int] = {}
    for t in p.tensors:
        types[t.ggml_type] = types.get(t.ggml_type, 0) + t.nbytes()
    return path, {
        "layout": layout,
        "arch": p.arch,
        "types_from": "vramkit recipe gguf-" + layout + " (vramkit.quant.tensor_formats)",
        "gguf_py": f"gguf {getattr(gguf, '__version__', '?')}",
        "file_bytes": size,
        "tensor_bytes": p.tensor_bytes,
        "bytes_by_type": dict(sorted(types.items())),
        "n_tensors": len(p.tensors),
        "vramkit_weight_bytes": weight_bytes(model, gguf_sparse.recipe_for(layout)).main_bytes,
    }


@dataclass(frozen=True)
class KitFigures:
    """What vramkit answers for one recorded case (bytes): the KV total (`kv_cache`, runtime
    ik_llama.cpp), the file's weights, the derived wkv_b per layer, the tensors -rtr repacks,
    and the compute buffer (`ik_llama_rules.device_compute`, an estimate)."""

    kv_bytes: int
    weight_bytes: int
    derived: tuple[Any, ...]
    repacked: int
    compute_bytes: int
    compute_note: str


def options(settings: dict[str, Any]) -> Any:
    """The `IkOptions` a recorded case ran with (unset flags: ik's defaults)."""
    from vramkit.runtimes.ik_llama_rules import AMB_DEFAULT, MLA_DEFAULT, IkOptions

    mla = settings["mla"]
    return IkOptions(mla=MLA_DEFAULT if mla is None else mla,
                     amb=AMB_DEFAULT if settings["amb"] is None else settings["amb"],
                     fmoe=settings["fmoe"], flash_attn=settings["flash_attn"] == "on",
                     rtr=settings["rtr"])  # fmt: skip


def kit_figures(model: Any, settings: dict[str, Any]) -> KitFigures:
    """vramkit's figures for a recorded case: every one from `vramkit` (this only asks)."""
    import gguf_sparse

    from vramkit.kv import kv_cache
    from vramkit.quant import weight_bytes
    from vramkit.runtimes import ik_llama_rules as ik

    o = options(settings)
    recipe = gguf_sparse.recipe_for(settings["layout"])
    kw = {"mla": o.mla} if model.config.get("kv_lora_rank") else {}
    kv = kv_cache(model, settings["n_ctx"], runtime="ik_llama.cpp", cache_dtype=settings["cache"],
                  n_ubatch=settings["n_ubatch"], flash_attn=o.flash_attn, **kw)  # fmt: skip
    derived = [d for d in ik.derived_tensors(model, recipe.id, o.mla) if d is not None]
    repacked = 0
    if o.rtr:
        p = gguf_sparse.plan(model, settings["layout"])
        for t in p.tensors:
            rows = t.shape[-2] if len(t.shape) >= 2 else 1
            repacked += ik.rtr_repack(t.name, t.ggml_type, rows, t.nbytes()).repacked
        repacked += sum(
            ik.rtr_repack("blk.attn_kv_b.weight", d.ggml_type, d.rows, d.bytes).repacked
            for d in derived
        )
    est = ik.device_compute(model, context=settings["n_ctx"], batch=1,
                            cache_dtype=settings["cache"], n_ubatch=settings["n_ubatch"],
                            ik=o)  # fmt: skip
    return KitFigures(kv.total_bytes, weight_bytes(model, recipe).main_bytes, tuple(derived),
                      repacked, est.bytes, est.note)  # fmt: skip


def fixture_path(mid: str) -> Path:
    return FIXTURES / f"{mid}.json"


def measure(engine: Engine, mid: str, layouts: tuple[str, ...], work: Path) -> dict[str, Any]:
    model = load_model(mid)
    files, paths = [], {}
    for lay in layouts:
        paths[lay], info = write_gguf(model, lay, work)
        files.append(info)
    cases = []
    for case in grid(mid, layouts):
        r = run_case(engine, paths[case.layout], case)
        _log(f"{mid} {case.layout} {' '.join(case.args())}: rc {r.returncode}, {r.cpu_s:.1f} s CPU")
        cases.append({"settings": asdict(case), "command": r.command, "returncode": r.returncode,
                      "cpu_s": round(r.cpu_s, 2), "printed": r.lines, "parsed": r.parsed})  # fmt: skip
    return {
        "engine": "ik_llama.cpp",
        "commit": engine.commit,
        "tool": "llama-cli -n 0 --no-warmup (load + context creation; CPU build)",
        "cmake_flags": list(engine.cmake_flags),
        "machine": "cpu",
        "backend": "CPU (ggml-cpu + iqk kernels; no GPU backend built)",
        "date": dt.date.today().isoformat(),
        "model": mid,
        "config": f"benchmarks/engines/configs/{mid}/config.json",
        "family": model.family,
        "files": files,
        "cases": cases,
    }


def _figures(fx: dict[str, Any]) -> dict[str, Any]:
    return {json.dumps(c["settings"], sort_keys=True): (c["returncode"], c["parsed"])
            for c in fx["cases"]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--git-dir", type=Path, help="a local git directory holding IK_COMMIT")
    src.add_argument("--source", type=Path, help="an unpacked ik_llama.cpp tree at IK_COMMIT")
    ap.add_argument("--models", help="comma-separated model ids (default: all)")
    ap.add_argument("--check", action="store_true", help="re-measure, compare with the fixtures")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    engine = cached()
    if engine is None:
        if args.git_dir:
            source = engine_dir() / "src"
            left = export(args.git_dir, IK_COMMIT, source)
            _log(f"exported {IK_COMMIT[:12]} ({len(left)} blobs absent from the mirror: {left})")
        elif args.source:
            source = args.source
        else:
            ap.error("no cached build: give --git-dir or --source")
        engine = build(source, IK_COMMIT, args.jobs)
    wanted = set(args.models.split(",")) if args.models else None
    work = engine_dir() / "gguf"
    work.mkdir(parents=True, exist_ok=True)
    drift = 0
    for mid, layouts in MODELS:
        if wanted and mid not in wanted:
            continue
        res = measure(engine, mid, layouts, work)
        if args.check:
            old = _figures(json.loads(fixture_path(mid).read_text()))
            new = _figures(res)
            bad = [k for k in new if old.get(k) != new[k]]
            drift += bool(bad)
            print(f"{mid}: {'DRIFT ' + str(len(bad)) if bad else 'reproduced'} ({len(new)} cases)")
            continue
        FIXTURES.mkdir(parents=True, exist_ok=True)
        fixture_path(mid).write_text(json.dumps(res, indent=1) + "\n")
        failed = sum(1 for c in res["cases"] if c["returncode"])
        print(f"{mid}: {len(res['cases'])} cases, {failed} with a non-zero exit")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())


PUBLISHED_LOGS = ROOT / "tests" / "fixtures" / "ik_published" / "logs.json"


def published_logs() -> list[dict[str, Any]]:
    """The published ik_llama.cpp load logs recorded in tests/fixtures/ik_published/logs.json."""
    return list(json.loads(PUBLISHED_LOGS.read_text())["logs"])


def kit_compute_buffers(log: dict[str, Any]) -> dict[str, int]:
    """The kit's compute buffers (bytes) for one published log's `compute_mib` entries: CUDA0 =
    ik_llama.cpp's device compute buffer (`ik_llama_rules.device_compute`: llama.cpp's graph or
    ik's attention term, an estimate) at the log's `compute_settings` (n_ctx, n_ubatch, cache
    type), one sequence."""
    from vramkit.model.configfile import model_from_config_file
    from vramkit.runtimes import ik_llama_rules as ik

    s = log["compute_settings"]
    model = model_from_config_file(str(ROOT / log["model_config"]))
    out = {}
    for buf in log["compute_mib"]:
        if buf != "CUDA0":
            raise ValueError(f"{log['id']}: no kit figure for the {buf} compute buffer")
        out[buf] = ik.device_compute(model, context=s["n_ctx"], batch=1,
                                     cache_dtype=s["cache_dtype"], n_ubatch=s["n_ubatch"]).bytes  # fmt: skip
    return out


def kit_model_buffers(log: dict[str, Any], runtime: str = "ik_llama.cpp") -> dict[str, int]:
    """The kit's model buffers (bytes) for one published log: the llama.cpp placement of the
    log's file (its recipe) with the routed experts of `cpu_expert_layers` layers in host RAM.
    CPU = the host's routed experts and layers, CUDA_Host = the input layer (token_embd; pinned
    host memory when mmap is off), CUDA0 = GPU0's weights (attention, experts, output)."""
    from vramkit.model.configfile import model_from_config_file
    from vramkit.plan import build_machine
    from vramkit.plan.layers import layer_costs
    from vramkit.quant import get_recipe
    from vramkit.runtimes.llamacpp.placement import llamacpp_plan

    s = log["settings"]
    model = model_from_config_file(str(ROOT / log["model_config"]))
    recipe = get_recipe(log["file_recipe"])
    plan = llamacpp_plan(model, layer_costs(model, recipe), build_machine([s["gpu"]], ram=s["ram"]),
                         context=s["context"], sequences=1, cpu_expert_layers=s["cpu_expert_layers"],
                         cache_dtype=s["cache_dtype"], ubatch=s["ubatch"], runtime=runtime)  # fmt: skip
    weights = ("attention+dense", "shared experts", "routed experts")
    gpu, host = plan.place("GPU0").bytes_by_component, plan.place("host").bytes_by_component
    return {
        "CPU": sum(host[k] for k in weights),
        "CUDA_Host": host["embeddings/output"],
        "CUDA0": sum(gpu[k] for k in weights) + gpu["embeddings/output"],
    }
