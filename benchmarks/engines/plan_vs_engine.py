"""Feed the llama.cpp flags vramkit's planner emits to llama.cpp's own memory projection and
record plan vs engine per component as fixtures under data/measured/plan/.

Needs the engine-truth artefacts (built by benchmarks/engines/llamacpp.py on the i13 branch,
cached outside the repository): `${VRAMKIT_ENGINE_CACHE:-~/.cache/vramkit/engines}/
llama.cpp-0.3.36/engine.json` (binaries) and `sparse-gguf/<model>.<layout>.gguf` (full-size
sparse GGUFs). Without them it says so and exits 1; nothing is downloaded or built here.

    .venv/bin/python benchmarks/engines/plan_vs_engine.py            # re-measure every case
    .venv/bin/python benchmarks/engines/plan_vs_engine.py --check    # run, compare, write nothing
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vramkit.plan import build_machine, plan_for  # noqa: E402
from vramkit.plan.verify import compare, fixture_summary, parse_engine  # noqa: E402

OUT = ROOT / "data" / "measured" / "plan"
LLAMA_CPP_PYTHON = "0.3.36"
CASES = (
    {
        "id": "v4-flash-q4km-2x4090-192gb-64k",
        "model": "deepseek-v4-flash",
        "layout": "Q4_K_M",
        "gpus": ["rtx-4090-24gb:2"],
        "ram": "192GB",
        "context": 65536,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": True,
    },
    {
        "id": "v4-flash-q4km-2x4090-192gb-64k-ot",
        "model": "deepseek-v4-flash",
        "layout": "Q4_K_M",
        "gpus": ["rtx-4090-24gb:2"],
        "ram": "192GB",
        "context": 65536,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": False,
    },
    {
        "id": "v4-flash-q4km-3090-4090-192gb-32k",
        "model": "deepseek-v4-flash",
        "layout": "Q4_K_M",
        "gpus": ["rtx-3090-24gb", "rtx-4090-24gb"],
        "ram": "192GB",
        "context": 32768,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": True,
    },
    {
        "id": "qwen3-30b-a3b-q4km-3090-32gb-32k",
        "model": "qwen3-30b-a3b",
        "config": "data/examples/qwen3-30b-a3b",
        "layout": "Q4_K_M",
        "gpus": ["rtx-3090-24gb"],
        "ram": "32GB",
        "context": 32768,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": False,
    },
    {
        "id": "gpt-oss-120b-q4km-4090-128gb-64k",
        "model": "gpt-oss-120b",
        "config": "data/examples/gpt-oss-120b",
        "layout": "Q4_K_M",
        "gpus": ["rtx-4090-24gb"],
        "ram": "128GB",
        "context": 65536,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": True,
    },
    {
        "id": "v4-flash-q8-pro6000-256gb-128k",
        "model": "deepseek-v4-flash",
        "layout": "Q8_0",
        "gpus": ["rtx-pro-6000-blackwell-96gb"],
        "ram": "256GB",
        "context": 131072,
        "cache_dtype": "q8_0",
        "n_cpu_moe_flag": True,
    },
)


def cache_root() -> Path:
    if os.environ.get("VRAMKIT_ENGINE_CACHE"):
        return Path(os.environ["VRAMKIT_ENGINE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vramkit" / "engines"


def engine() -> dict[str, str] | None:
    p = cache_root() / f"llama.cpp-{LLAMA_CPP_PYTHON}" / "engine.json"
    if not p.is_file():
        return None
    rec = json.loads(p.read_text(encoding="utf-8"))
    return rec if (Path(rec["bin_dir"]) / "llama-fit-params").is_file() else None


_KEEP = re.compile(r"overridden to|memory breakdown|^\S+ \d+ \d+ \d+\s*$|error|failed")


def fit_params_args(flag_args: tuple[str, ...]) -> list[str]:
    """llama-server args → llama-fit-params args: the same list without the program name and
    -m MODEL.gguf (every other flag, -lm none included, goes to the projection as emitted)."""
    a = list(flag_args[1:])
    i = a.index("-m")
    del a[i : i + 2]
    return a


def plan_of(case: dict):
    """(ModelSpec, plan, flags) of a case: catalog id or an example config.json."""
    from vramkit.catalog import get_model
    from vramkit.configfile import model_from_config_file
    from vramkit.plan.flags import llamacpp_flags

    model = (
        model_from_config_file(ROOT / case["config"])
        if "config" in case
        else get_model(case["model"])
    )
    machine = build_machine(case["gpus"], ram=case["ram"])
    plan = plan_for(model, machine, recipe=f"gguf-{case['layout']}", runtime="llama.cpp",
                    context=case["context"], cache_dtype=case["cache_dtype"])  # fmt: skip
    flags = llamacpp_flags(plan, use_n_cpu_moe=case["n_cpu_moe_flag"], model=model)
    return model, plan, flags


def run_case(case: dict, eng: dict[str, str]) -> dict:
    model, plan, flags = plan_of(case)
    if not plan.fits:
        raise SystemExit(f"{case['id']}: the plan does not fit; pick another machine")
    gguf = cache_root() / "sparse-gguf" / f"{case['model']}.{case['layout']}.gguf"
    if not gguf.is_file():
        raise SystemExit(f"missing sparse GGUF {gguf.name} (written by the engine-truth harness)")
    args = fit_params_args(flags.args)
    cmd = [str(Path(eng["bin_dir"]) / "llama-fit-params"), "-m", str(gguf), *args,
           "--fit-print", "on", "-nr", "-v"]  # fmt: skip
    env = dict(os.environ, LD_LIBRARY_PATH=eng["bin_dir"])
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    text = (res.stderr or "") + "\n" + (res.stdout or "")
    all_lines = text.splitlines()
    out = parse_engine(all_lines)
    kept = [re.sub(r"^[\d.]+ [DIWE] ", "", ln).rstrip() for ln in all_lines if _KEEP.search(ln)]
    check = compare(plan, out, model=model)
    return {
        "case": case,
        "engine": {
            "package": f"llama-cpp-python=={LLAMA_CPP_PYTHON}",
            "llama_cpp_commit": eng.get("llama_cpp_commit", ""),
            "binary": "llama-fit-params (CPU-only build, no_alloc projection)",
        },
        "date": dt.date.today().isoformat(),
        "machine_kind": "CPU only (no GPU): every device row is Host",
        "command": ["llama-fit-params", "-m", gguf.name, *args, "--fit-print", "on", "-nr", "-v"],
        "returncode": res.returncode,
        "plan": {
            "model": plan.model_id,
            "recipe": plan.recipe_id,
            "machine": case["gpus"] + [f"ram {case['ram']}"],
            "context": plan.context,
            "cache_dtype": plan.cache_dtype,
            "knobs": {k: list(v) if isinstance(v, tuple) else v for k, v in plan.knobs.items()},
            "flags": list(flags.args),
        },
        "tensors_loaded": out.tensors_loaded,
        "lines": kept,
        "rows_mib": {k: list(v) for k, v in out.rows.items()},
        "comparison": fixture_summary(check),
        "notes": [
            "weights: the engine's figure is the sparse GGUF's tensor bytes (whole MiB, rounded down)",
            "compute: the CPU-only build reports the CPU compute buffer; the plan's per-GPU figure "
            "is the runtime profile's CUDA estimate; not comparable without a GPU build",
            "layer split over GPUs (-ts, -ngl): a CPU-only build ignores it ('llama.cpp was "
            "compiled without support for GPU offload'); checked in Python by check_llamacpp",
        ],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only, write no fixture")
    args = ap.parse_args()
    eng = engine()
    if eng is None:
        print(f"no built llama.cpp engine under {cache_root()}: run the engine-truth build first")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    ok = True
    for case in CASES:
        rec = run_case(case, eng)
        comp = rec["comparison"]
        ok &= rec["returncode"] == 0 and comp["host_split_matches"]
        print(
            f"{case['id']}: rc={rec['returncode']} host split matches={comp['host_split_matches']}"
        )
        for c in comp["components"]:
            print(
                f"  {c['component']:28} plan {c['plan_mib']:>12,.2f} MiB  engine {c['engine_mib']:>10,} MiB"
            )
        if not args.check:
            path = OUT / f"{case['id']}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
            tmp.replace(path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
