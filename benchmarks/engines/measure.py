"""Measure llama.cpp's own memory projection for every family vramkit counts; write fixtures.

    python3 tasks.py engines                 build/reuse the engine, re-measure, write fixtures
    .venv/bin/python benchmarks/engines/measure.py [--models ID,…] [--sample] [--check]

For each model: write full-size sparse GGUFs (`gguf_sparse`) from vramkit's inventory under
each file layout, run `llama-fit-params … --fit-print on -nr -v` over the grid (contexts 4K…1M,
cache types f16/q8_0/q4_0, -ub 512/2048, flash attention on/off, 1 and 4 sequences) and write
`tests/fixtures/measured/llamacpp/<model>.json`: engine package and vendored commit, machine kind "cpu",
date, the exact command of each case (GGUF path as `{gguf}`), the printed lines and the parsed
numbers. `--sample` re-measures one case per model and compares it with the fixture instead of
writing (exit 1 on drift); `--check` compares every case.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import fitparams  # noqa: E402
import llamacpp  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "measured" / "llamacpp"
CONFIGS = HERE / "configs"

#: (model id, where its config comes from: "catalog", or a folder with config.json under the repo)
MODELS: tuple[tuple[str, str], ...] = (
    ("deepseek-v4-flash", "catalog"),
    ("deepseek-v4-pro", "catalog"),
    ("deepseek-v3", "catalog"),
    ("deepseek-v3.2", "catalog"),
    ("llama-3.1-70b", "catalog"),
    ("qwen3-30b-a3b", "data/examples/qwen3-30b-a3b"),
    ("gpt-oss-120b", "data/examples/gpt-oss-120b"),
    ("glm-4.7", "data/examples/glm-4.7"),
    ("qwen2.5-7b", "benchmarks/engines/configs/qwen2.5-7b"),
    ("qwen3-8b", "benchmarks/engines/configs/qwen3-8b"),
    ("mixtral-8x7b", "benchmarks/engines/configs/mixtral-8x7b"),
    ("qwen3-next-80b-a3b-instruct", "data/examples/qwen3-next-80b-a3b-instruct"),
    ("gemma-4-31b", "catalog"),
    ("gemma-4-26b-a4b", "catalog"),
)

CONTEXTS = (4096, 32768, 131072, 1048576)
#: Held-out settings (`--heldout`): contexts (48K, 192K, 200K, 256K), -ub values and sequence
#: counts (16; 3, which does not divide -ub) that neither the fixture grid nor the allocator
#: traces' training settings (alloc_trace.TRAIN: 1, 2, 4 sequences) use.
HELDOUT = (
    fitparams.Case(49152, "f16", "f16", 1024, "on", 1),
    fitparams.Case(204800, "q8_0", "q8_0", 1024, "on", 2),
    fitparams.Case(204800, "f16", "f16", 768, "off", 1),
    fitparams.Case(49152, "q4_0", "q4_0", 512, "on", 4),
    fitparams.Case(262144, "q8_0", "q8_0", 1024, "on", 16),
    fitparams.Case(196608, "f16", "f16", 512, "on", 3),
)
UBATCHES = (512, 2048)
SEQS = (1, 4)


def grid() -> list[fitparams.Case]:
    """The settings grid. A quantized V cache needs flash attention (llama-context.cpp:
    "quantized V cache was requested, but this requires Flash Attention"), so fa=off runs f16."""
    cases = []
    for ctx in CONTEXTS:
        for ub in UBATCHES:
            for ns in SEQS:
                for fa, cache in (("on", "f16"), ("off", "f16"), ("on", "q8_0"), ("on", "q4_0")):
                    cases.append(fitparams.Case(ctx, cache, cache, ub, fa, ns))
    return cases


def layouts(family: str) -> tuple[str, ...]:
    """File layouts per model; the first one runs the whole grid."""
    return ("V4_MXFP4", "Q8_0", "Q4_K_M") if family == "deepseek_v4" else ("Q8_0", "Q4_K_M")


def load_model(mid: str, where: str) -> Any:
    from vramkit.catalog import get_model
    from vramkit.configfile import model_from_config_file

    if where == "catalog":
        return get_model(mid)
    return model_from_config_file(str(ROOT / where / "config.json"))


def plan_digest(plan: Any) -> str:
    """sha256 over (name, shape, type) of every tensor and the metadata: what the file holds."""
    h = hashlib.sha256()
    for t in plan.tensors:
        h.update(f"{t.name}|{t.shape}|{t.ggml_type}\n".encode())
    h.update(json.dumps(dict(plan.metadata), sort_keys=True, default=str).encode())
    return h.hexdigest()


def sparse_dir() -> Path:
    d = llamacpp.cache_root() / "sparse-gguf"
    d.mkdir(parents=True, exist_ok=True)
    return d


_DRY = re.compile(r"^\[ *\d+/ *\d+\] +(\S+) +- \[[^\]]*\], type = +(\w+),.*?(?:\((\w+)\))?\s*$")
FTYPE_IDS = {"Q8_0": 7, "Q4_K_M": 15, "BF16": 32, "V4_MXFP4": 38}  # llama_ftype (LlamaFileType)


def engine_types(
    engine: llamacpp.Engine, src: Path, ftype: str, src_layout: str
) -> tuple[dict[str, str], str]:
    """Per-tensor GGML types llama-quantize chooses for `ftype` (`--dry-run`: nothing written;
    `--allow-requantize` for the V4 source, whose experts are already MXFP4)."""
    cmd = [str(engine.quantize), "--dry-run", "--allow-requantize", str(src), ftype]
    res = subprocess.run(cmd, capture_output=True, text=True, env=engine.env(), timeout=300)
    types = {}
    for line in res.stdout.splitlines() + res.stderr.splitlines():
        if m := _DRY.match(line.strip()):
            types[m.group(1)] = (m.group(3) or m.group(2)).upper()
    if res.returncode or not types:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-2000:]}")
    return types, f"llama-quantize --dry-run --allow-requantize {{{src_layout} gguf}} {ftype}"


def write_file(engine: llamacpp.Engine, model: Any, layout: str) -> tuple[Path, dict[str, Any]]:
    """Write the sparse file of `layout`. Quantized file types take every tensor's type from
    the engine (`llama-quantize --dry-run` on a BF16 sparse file of the same model); the V4
    MXFP4 layout takes the converter's types (gguf_sparse.V4_MXFP4_RULES)."""
    import gguf_sparse

    from vramkit.quant import weight_bytes

    types, types_from = None, "vramkit recipe (the converter's rules)"
    if layout not in ("V4_MXFP4", "BF16"):
        # the source a user quantizes: the converter's output (V4: its MXFP4 file; others bf16)
        src_layout = "V4_MXFP4" if model.family == "deepseek_v4" else "BF16"
        src = sparse_dir() / f"{model.id}.{src_layout}.gguf"
        src_plan = gguf_sparse.plan(model, src_layout)
        gguf_sparse.write(src_plan, src, file_type=FTYPE_IDS[src_layout])
        types, types_from = engine_types(engine, src, layout, src_layout)
    p = gguf_sparse.plan(model, layout, types)
    path = sparse_dir() / f"{model.id}.{layout}.gguf"
    size = gguf_sparse.write(p, path, file_type=FTYPE_IDS[layout])
    ours = gguf_sparse.plan(model, layout)
    differ = sorted(
        f"{a.name}: engine {b.ggml_type}, vramkit {a.ggml_type}"
        for a, b in zip(ours.tensors, p.tensors, strict=True)
        if a.ggml_type != b.ggml_type
    )
    info = {
        "layout": layout,
        "arch": p.arch,
        "types_from": types_from,
        "file_bytes": size,
        "tensor_bytes": p.tensor_bytes,
        "n_tensors": len(p.tensors),
        "plan_sha256": plan_digest(p),
        "vramkit_weight_bytes": weight_bytes(model, gguf_sparse.recipe_for(layout)).main_bytes,
        "type_differences": {"count": len(differ), "first": differ[:8]},
    }
    return path, info


def relative_command(cmd: list[str], gguf: Path) -> list[str]:
    return [
        "llama-fit-params" if i == 0 else ("{gguf}" if c == str(gguf) else c)
        for i, c in enumerate(cmd)
    ]


def measure_model(
    engine: llamacpp.Engine,
    mid: str,
    where: str,
    cases: list[fitparams.Case],
    first_layout_only: bool = False,
) -> dict:
    model = load_model(mid, where)
    env = engine.env()
    files = []
    out_cases = []
    for i, layout in enumerate(layouts(model.family)[: 1 if first_layout_only else None]):
        path, info = write_file(engine, model, layout)
        files.append(info)
        todo = cases if i == 0 else [fitparams.Case(4096)]
        for case in todo:
            proj = fitparams.run(engine.fit_params, path, case, env)
            out_cases.append(
                {
                    "layout": layout,
                    "settings": asdict(case),
                    "command": relative_command(proj.command, path),
                    "returncode": proj.returncode,
                    "printed": proj.lines,
                    "parsed": proj.parsed,
                }
            )
    return {
        "engine": "llama.cpp",
        "package": engine.package,
        "llama_cpp_commit": engine.llama_cpp_commit,
        "llama_cpp_build_number": engine.llama_cpp_build_number,
        "tool": "llama-fit-params --fit-print on -nr -v (no_alloc projection)",
        "machine": "cpu",
        "backend": "CPU (ggml-cpu; no GPU backend built)",
        "date": dt.date.today().isoformat(),
        "model": mid,
        "config": where,
        "family": model.family,
        "files": files,
        "cases": out_cases,
    }


def fixture_path(mid: str) -> Path:
    return FIXTURES / f"{mid}.json"


def heldout_path(mid: str) -> Path:
    return FIXTURES / "heldout" / f"{mid}.json"


def _stable(parsed: dict) -> dict:
    """The figures that must reproduce: the breakdown row (always printed, on stdout), every
    cache and state line, and the compute line when both runs logged it (the engine's log
    thread sometimes loses its last lines at exit)."""
    return {k: parsed[k] for k in ("rows", "caches", "dsv4_states", "recurrent")}


def _differs(a: dict, b: dict) -> bool:
    both = a["compute_mib"] and b["compute_mib"]
    return _stable(a) != _stable(b) or bool(both and a["compute_mib"] != b["compute_mib"])


def compare(old: dict, new: dict) -> list[str]:
    """Differences between a recorded and a fresh measurement of the same cases."""
    diffs = []
    for f_old, f_new in zip(old["files"], new["files"], strict=False):
        if f_old != f_new:
            diffs.append(f"file {f_old['layout']}: recorded {f_old} != now {f_new}")
    recorded = {(c["layout"], json.dumps(c["settings"], sort_keys=True)): c for c in old["cases"]}
    for c in new["cases"]:
        key = (c["layout"], json.dumps(c["settings"], sort_keys=True))
        if key not in recorded:
            diffs.append(f"case {key} not in the fixture")
        elif _differs(recorded[key]["parsed"], c["parsed"]):
            diffs.append(f"case {key}: recorded {recorded[key]['parsed']} != now {c['parsed']}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", help="comma-separated model ids (default: all)")
    ap.add_argument("--sample", action="store_true", help="re-measure one case per model, compare")
    ap.add_argument("--check", action="store_true", help="re-measure every case, compare")
    ap.add_argument(
        "--heldout",
        action="store_true",
        help="measure HELDOUT into tests/fixtures/measured/llamacpp/heldout",
    )
    args = ap.parse_args(argv)
    engine = llamacpp.build()
    llamacpp.use_vendored_gguf(engine)
    wanted = set(args.models.split(",")) if args.models else None
    failures = 0
    t0 = time.monotonic()
    for mid, where in MODELS:
        if wanted and mid not in wanted:
            continue
        if args.sample or args.check:
            old = json.loads(fixture_path(mid).read_text())
            cases = [
                fitparams.Case(**c["settings"])
                for c in old["cases"]
                if c["layout"] == old["files"][0]["layout"]
            ]
            if args.sample:
                cases = [fitparams.Case(131072, "q8_0", "q8_0", 512, "on", 1)]
            new = measure_model(engine, mid, where, cases)
            diffs = compare(old, new)
            failures += bool(diffs)
            print(f"{mid}: {'DRIFT' if diffs else 'reproduced'} ({len(new['cases'])} cases)")
            for d in diffs[:5]:
                print("   ", d)
            continue
        if args.heldout:
            res = measure_model(engine, mid, where, list(HELDOUT), first_layout_only=True)
            heldout_path(mid).parent.mkdir(parents=True, exist_ok=True)
            heldout_path(mid).write_text(json.dumps(res, indent=1) + "\n")
            print(f"{mid}: {len(res['cases'])} held-out cases")
            continue
        res = measure_model(engine, mid, where, grid())
        FIXTURES.mkdir(parents=True, exist_ok=True)
        fixture_path(mid).write_text(json.dumps(res, indent=1) + "\n")
        bad = [c for c in res["cases"] if c["returncode"]]
        print(f"{mid}: {len(res['cases'])} cases, {len(bad)} failed, {time.monotonic() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
