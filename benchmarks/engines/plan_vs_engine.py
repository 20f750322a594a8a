"""Feed the llama.cpp flags vramkit's planner emits to llama.cpp's own memory projection and
record plan vs engine per component as fixtures under data/measured/plan/.

Needs the engine-truth artefacts (built by benchmarks/engines/llamacpp.py on the i13 branch,
cached outside the repository): `${VRAMKIT_ENGINE_CACHE:-~/.cache/vramkit/engines}/
llama.cpp-0.3.36/engine.json` (binaries) and `sparse-gguf/<model>.<layout>.gguf` (full-size
sparse GGUFs). Without them it says so and exits 1; nothing is downloaded or built here.

    .venv/bin/python benchmarks/engines/plan_vs_engine.py            # re-measure every case
    .venv/bin/python benchmarks/engines/plan_vs_engine.py --check    # run, compare, write nothing
    .venv/bin/python benchmarks/engines/plan_vs_engine.py --rpc      # per device, tests/fixtures/measured/plan/rpc/

`--rpc` uses the engine build's RPC server (`<cache>/llama.cpp-0.3.36/`, GGML_RPC=ON): one
`ggml-rpc-server` per planned GPU on 127.0.0.1 (each serves this machine's CPU backend, so
llama.cpp sees one more device per server) and `llama-fit-params --rpc EP0,EP1,… <the plan's
flags>`: the engine itself splits the layers (-ngl, -ts), applies the expert overrides (-ot,
--n-cpu-moe) and prints model / context / compute MiB per device. The servers report this
machine's free RAM as their memory (this version's rpc-server takes no memory size); with the
layer split given explicitly the projection does not depend on it. The compute buffer per
GPU is the CPU backend's (the servers run CPU kernels), not CUDA's: recorded, compared loosely.
The host's compute buffer (`CPU compute buffer size`, this machine's CPU backend: the graph
inputs and the ops on host-resident expert weights) is compared with the plan's host compute
buffer (`runtimes.llamacpp.memory.host_compute_bytes`). The plans are asked for RPC devices
(`Device.backend`): on CUDA, ops on host weights of 32 tokens or more move to CUDA0 (op
offload, `vramkit.runtimes.llamacpp.cuda` term 6), which RPC devices do not do. RPC_EXTRA
adds per-device cases at other -ub and host-layer counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vramkit.plan import build_machine, plan_for  # noqa: E402
from vramkit.runtimes.llamacpp.verify import (  # noqa: E402
    compare,
    compare_devices,
    device_summary,
    fixture_summary,
    parse_engine,
)

OUT = ROOT / "data" / "measured" / "plan"
OUT_RPC = ROOT / "tests" / "fixtures" / "measured" / "plan" / "rpc"
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

#: Per-device (--rpc) only: other -ub and host-layer counts, for the host compute buffer (the
#: CPU backend's graph inputs and host-expert intermediates, runtimes.llamacpp.memory.host_compute_bytes).
RPC_EXTRA = (
    {
        "id": "qwen3-30b-a3b-q8-3090-64gb-32k",
        "model": "qwen3-30b-a3b",
        "config": "data/examples/qwen3-30b-a3b",
        "layout": "Q8_0",
        "gpus": ["rtx-3090-24gb"],
        "ram": "64GB",
        "context": 32768,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": True,
    },
    {
        "id": "qwen3-30b-a3b-q8-3090-64gb-8k-ub2048",
        "model": "qwen3-30b-a3b",
        "config": "data/examples/qwen3-30b-a3b",
        "layout": "Q8_0",
        "gpus": ["rtx-3090-24gb"],
        "ram": "64GB",
        "context": 8192,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": True,
        "ubatch": 2048,
    },
    {
        "id": "v4-flash-q4km-2x4090-192gb-32k-ub2048",
        "model": "deepseek-v4-flash",
        "layout": "Q4_K_M",
        "gpus": ["rtx-4090-24gb:2"],
        "ram": "192GB",
        "context": 32768,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": True,
        "ubatch": 2048,
    },
    {
        "id": "gpt-oss-120b-q4km-2x4090-128gb-64k-ub1024",
        "model": "gpt-oss-120b",
        "config": "data/examples/gpt-oss-120b",
        "layout": "Q4_K_M",
        "gpus": ["rtx-4090-24gb:2"],
        "ram": "128GB",
        "context": 65536,
        "cache_dtype": "fp16",
        "n_cpu_moe_flag": True,
        "ubatch": 1024,
    },
    {
        "id": "v4-flash-q8-pro6000-256gb-32k-ub2048",
        "model": "deepseek-v4-flash",
        "layout": "Q8_0",
        "gpus": ["rtx-pro-6000-blackwell-96gb"],
        "ram": "256GB",
        "context": 32768,
        "cache_dtype": "q8_0",
        "n_cpu_moe_flag": True,
        "ubatch": 2048,
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
    from vramkit.model.configfile import model_from_config_file
    from vramkit.runtimes.llamacpp.flags import llamacpp_flags

    model = (
        model_from_config_file(ROOT / case["config"])
        if "config" in case
        else get_model(case["model"])
    )
    machine = build_machine(case["gpus"], ram=case["ram"])
    # the engine's devices here are localhost RPC servers running CPU kernels, not CUDA: the
    # plan is asked without the CUDA backend's terms (vramkit.runtimes.llamacpp.cuda)
    machine = replace(machine, devices=tuple(replace(d, backend="rpc") for d in machine.devices))
    plan = plan_for(model, machine, recipe=f"gguf-{case['layout']}", runtime="llama.cpp",
                    context=case["context"], cache_dtype=case["cache_dtype"],
                    ubatch=case.get("ubatch", 512))  # fmt: skip
    flags = llamacpp_flags(plan, use_n_cpu_moe=case["n_cpu_moe_flag"], model=model)
    return model, plan, flags


def _fitting_plan(case: dict) -> tuple[Any, Any, Any, Path]:
    """(model, plan, flags, sparse GGUF path) of a case; exits when the plan does not fit or
    the engine-truth harness has not written the file."""
    model, plan, flags = plan_of(case)
    if not plan.fits:
        raise SystemExit(f"{case['id']}: the plan does not fit; pick another machine")
    gguf = cache_root() / "sparse-gguf" / f"{case['model']}.{case['layout']}.gguf"
    if not gguf.is_file():
        raise SystemExit(f"missing sparse GGUF {gguf.name} (written by the engine-truth harness)")
    return model, plan, flags, gguf


def _plan_record(case: dict, plan: Any, flags: Any, *, knobs: bool) -> dict[str, Any]:
    """The plan as a fixture records it (the CPU-only fixtures also keep the runtime knobs)."""
    rec: dict[str, Any] = {
        "model": plan.model_id,
        "recipe": plan.recipe_id,
        "machine": case["gpus"] + [f"ram {case['ram']}"],
        "context": plan.context,
        "cache_dtype": plan.cache_dtype,
    }
    if knobs:
        rec["knobs"] = {k: list(v) if isinstance(v, tuple) else v for k, v in plan.knobs.items()}
    rec["flags"] = list(flags.args)
    return rec


def _fit_params(cmd: list[str], env: dict[str, str], tries: int = 12):
    """Run llama-fit-params until its compute buffer lines are printed: the engine's log is
    written by an asynchronous thread that `common_fit_print` does not flush, so its last
    lines are sometimes lost at exit (as in fitparams.run); raise after `tries` losses."""
    for _ in range(tries):
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        if res.returncode or "compute buffer size" in (res.stderr or "") + (res.stdout or ""):
            return res
    raise RuntimeError(f"{' '.join(cmd)}: the compute buffer lines were lost {tries} times")


def run_case(case: dict, eng: dict[str, str]) -> dict:
    model, plan, flags, gguf = _fitting_plan(case)
    args = fit_params_args(flags.args)
    cmd = [str(Path(eng["bin_dir"]) / "llama-fit-params"), "-m", str(gguf), *args,
           "--fit-print", "on", "-nr", "-v"]  # fmt: skip
    env = dict(os.environ, LD_LIBRARY_PATH=eng["bin_dir"])
    res = _fit_params(cmd, env)
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
        "plan": _plan_record(case, plan, flags, knobs=True),
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


def rpc_engine() -> dict[str, str] | None:
    """The engine build's record (`<cache>/llama.cpp-0.3.36/engine.json`, built with
    GGML_RPC=ON) when its `ggml-rpc-server` exists, or None."""
    p = cache_root() / f"llama.cpp-{LLAMA_CPP_PYTHON}" / "engine.json"
    if not p.is_file():
        return None
    rec = json.loads(p.read_text(encoding="utf-8"))
    b = Path(rec["bin_dir"])
    return rec if (b / "llama-fit-params").is_file() and (b / "ggml-rpc-server").is_file() else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_rpc_servers(bin_dir: Path, n: int, env: dict[str, str]) -> list[tuple[str, object]]:
    """n ggml-rpc-server processes on free localhost ports, each answering before we return."""
    import socket
    import time

    out = []
    for _ in range(n):
        port = _free_port()
        proc = subprocess.Popen(
            [str(bin_dir / "ggml-rpc-server"), "-H", "127.0.0.1", "-p", str(port), "-t", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        out.append((f"127.0.0.1:{port}", proc))
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    _stop_rpc_servers(out)
                    raise SystemExit(f"ggml-rpc-server on port {port} did not start") from None
                time.sleep(0.05)
    return out


def _stop_rpc_servers(servers: list[tuple[str, object]]) -> None:
    for _, proc in servers:
        proc.terminate()  # type: ignore[attr-defined]
    for _, proc in servers:
        try:
            proc.wait(timeout=10)  # type: ignore[attr-defined]
        except subprocess.TimeoutExpired:
            proc.kill()  # type: ignore[attr-defined]


def run_rpc_case(case: dict, eng: dict[str, str]) -> dict:
    """One case on the RPC build: the plan's GPUs as localhost RPC devices (see the docstring)."""
    model, plan, flags, gguf = _fitting_plan(case)
    n_gpu = sum(1 for q in plan.places if q.kind == "gpu")
    bin_dir = Path(eng["bin_dir"])
    env = dict(os.environ, LD_LIBRARY_PATH=eng["bin_dir"])
    args = fit_params_args(flags.args)
    servers = _start_rpc_servers(bin_dir, n_gpu, env)
    try:
        endpoints = ",".join(ep for ep, _ in servers)
        cmd = [str(bin_dir / "llama-fit-params"), "-m", str(gguf), "--rpc", endpoints, *args,
               "--fit-print", "on", "-nr", "-v"]  # fmt: skip
        res = _fit_params(cmd, env)
    finally:
        _stop_rpc_servers(servers)
    all_lines = ((res.stderr or "") + "\n" + (res.stdout or "")).splitlines()
    keep = re.compile(_KEEP.pattern + r"|assigned to device|compute buffer size")
    kept = [
        re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", re.sub(r"^[\d.]+ [DIWE] ", "", ln)).rstrip()
        for ln in all_lines
        if keep.search(ln)
    ]
    out = parse_engine(kept)
    n_layer = int(model.config["num_hidden_layers"])
    devices = compare_devices(plan, out, n_layer=n_layer)
    return {
        "case": case,
        "engine": {
            "package": f"llama-cpp-python=={LLAMA_CPP_PYTHON}",
            "llama_cpp_commit": eng.get("llama_cpp_commit", ""),
            "binary": "llama-fit-params + ggml-rpc-server, CPU build with GGML_RPC=ON "
            "(no_alloc projection)",
        },
        "date": dt.date.today().isoformat(),
        "machine_kind": f"CPU only: {n_gpu} ggml-rpc-server on 127.0.0.1 stand in for the GPUs "
        "(RPC0 = GPU0, …)",
        "command": [
            "llama-fit-params",
            "-m",
            gguf.name,
            "--rpc",
            ",".join(["127.0.0.1:PORT"] * n_gpu),
            *args,
            "--fit-print",
            "on",
            "-nr",
            "-v",
        ],
        "returncode": res.returncode,
        "plan": _plan_record(case, plan, flags, knobs=False),
        "lines": kept,
        "rows_mib": {k: list(v) for k, v in out.rows.items()},
        "devices": device_summary(devices),
        "host_split": fixture_summary(compare(plan, out, model=model)),
        "notes": [
            "each RPC device serves this machine's CPU backend: model and context buffers are the "
            "engine's own placement; the GPU compute buffers are the CPU backend's, not CUDA's",
            "host compute: the engine's CPU compute buffer (graph inputs, host-expert ops) vs the "
            "plan's host compute buffer (an estimate from tensor shapes, allocator replayed)",
            "the engine prints whole MiB (rounded down)",
        ],
    }


def main_rpc(check: bool) -> int:
    eng = rpc_engine()
    if eng is None:
        print(f"no RPC build under {cache_root()}: run benchmarks/engines/llamacpp.py first")
        return 1
    OUT_RPC.mkdir(parents=True, exist_ok=True)
    ok = True
    for case in CASES + RPC_EXTRA:
        rec = run_rpc_case(case, eng)
        ok &= rec["returncode"] == 0 and all(d["layers_match"] for d in rec["devices"])
        print(f"{case['id']}: rc={rec['returncode']}")
        for d in rec["devices"]:
            print(
                f"  {d['place']:5} ({d['engine_device']:5}) layers match={d['layers_match']!s:5} "
                f"weights plan {d['weights_plan_mib']:>10,.1f} engine {d['weights_engine_mib']:>8,}"
                f"  KV plan {d['kv_plan_mib']:>8,.1f} engine {d['kv_engine_mib']:>6,}"
                f"  compute plan {d['compute_plan_mib']:>7,.1f} engine {d['compute_engine_mib']:>6,}"
                + (
                    f" (printed {d['compute_printed_mib']:,.2f})"
                    if "compute_printed_mib" in d
                    else ""
                )
            )
        if not check:
            path = OUT_RPC / f"{case['id']}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
            tmp.replace(path)
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only, write no fixture")
    ap.add_argument("--rpc", action="store_true", help="per device, with localhost RPC devices")
    args = ap.parse_args()
    if args.rpc:
        return main_rpc(args.check)
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
