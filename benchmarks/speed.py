"""Speed benchmark: how long vramkit takes for what users actually do (median of several runs).

    python benchmarks/speed.py [--runs 7] [--no-report] [--torch-python PATH] [--issue22]

Measures, each as the median of --runs runs (the report: once):
- ``import vramkit`` and the first catalog load, in a fresh process;
- CLI cold start: ``python -m vramkit weights --model deepseek-v4-flash --json`` in a fresh process;
- the grid sweep: 4 V4 variants × 12 recipes × 64 contexts × 8 batches × 15 GPUs
  (weights + KV + fit; the KV/fit part runs once `vramkit.kv.kv_grid` exists);
- one widget redraw (`vramkit.widgets.dashboard.compute`, once it exists);
- the whole report (``python -m vramkit report`` into a temp folder);
- side by side: counting parameters by building the model on PyTorch's meta device with
  transformers (what ``accelerate estimate-memory`` does), in a fresh process, when torch and
  transformers are importable (by this interpreter or by --torch-python); else "skipped".

- issue 22's table: ``--help``, ``kv`` and ``fit`` wall time in fresh processes; one `kv_cache`
  call; `plan.solve` with curve and capacity; a 1,000-model sweep (config → weights under
  gguf-Q4_K_M → KV at 128K → budget on one H200);
- a reference loop (pure Python, fixed work) measured in the same run: every figure is also
  printed as a ratio to it (wall to wall, CPU to CPU), and issue 22's verdicts compare CPU
  ratios with target ÷ `REFERENCE_LOOP_S` (the loop on the unloaded machine), so a busy or a
  different machine does not change them (CPU time of a fresh process: its rusage).

Targets: cold CLI ≤ 0.5 s, grid ≤ 0.3 s, widget redraw ≤ 50 ms, whole report ≤ 60 s on 2 cores;
issue 22: ``kv`` / ``fit`` ≤ 0.15 s, ``--help`` ≤ 0.1 s, `kv_cache` ≤ 50 µs, `plan.solve` ≤ 50 ms,
1,000-model sweep ≤ 2 s.
Not a test: it prints figures and writes benchmarks/results/speed.json.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS_S = {
    "cli_cold": 0.5,
    "grid": 0.3,
    "widget_redraw": 0.05,
    "report": 60.0,
    "plan_cli": 2.0,
    "cli_help": 0.1,
    "cli_kv": 0.15,
    "cli_fit": 0.15,
    "kv_cache_call": 50e-6,
    "plan_solve": 0.05,
    "sweep_1000": 2.0,
}
REFERENCE_LOOP_N = 200_000
"""Iterations of the reference loop (about 8 ms of CPU on CPython 3.11 here; `REFERENCE_LOOP_S`)."""
REFERENCE_LOOP_S = 0.008
"""The reference loop's CPU time on the 2-core machine the targets are set for (seconds; the
lowest seen there, 8.1 ms at load average 4.8 on 2026-12-07 — unloaded it is no slower). Issue
22's targets are judged as ratios, target ÷ this (e.g. `plan.solve` ≤ 50 ms = ≤ 6.25× the
loop), against each figure's CPU time ÷ the loop's CPU time in the same run, so a busy or a
faster machine, which slows or speeds both alike, does not change the verdict."""
SWEEP_MODELS = 1000
V4 = ("deepseek-v4-flash", "deepseek-v4-pro", "deepseek-v4-flash-base", "deepseek-v4-pro-base")
RECIPES = (
    "official",  # the model's own checkpoint layout
    "deepseek-v4-fp8",
    "deepseek-v4-nvfp4",
    "uniform:BF16",
    "uniform:MXFP4",
    "gguf-Q2_K",
    "gguf-Q3_K_M",
    "gguf-Q4_K_S",
    "gguf-Q4_K_M",
    "gguf-Q5_K_M",
    "gguf-Q6_K",
    "gguf-Q8_0",
)
CONTEXTS = tuple(sorted({round(1024 * 2 ** (i * 10 / 63)) for i in range(64)}))  # 1K … 1M, 64 steps
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)
N_GPUS = 15


def _cpu_now() -> float:
    """CPU seconds of this process and of its waited-for children (user + system)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (this process and the children it ran) of
    `runs` calls. CPU time leaves out the waits for a core on a busy machine."""
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = _cpu_now(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu_now() - c0)
    return statistics.median(walls), statistics.median(cpus)


def _median(fn: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _env() -> dict[str, str]:
    """The fresh processes' environment: this checkout first on the path, and bytecode caching
    on (an installed package has its .pyc files; without them every start compiles vramkit's
    sources again, ~0.1 s that no user pays)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _fresh(
    code_or_args: list[str],
    python: str = sys.executable,
    timeout: float = 120,
    extra_env: dict[str, str] | None = None,
) -> None:
    subprocess.run(
        [python, *code_or_args],
        cwd=ROOT,
        env={**_env(), **(extra_env or {})},
        check=True,
        capture_output=True,
        timeout=timeout,
    )


def bench_interpreter(runs: int) -> float:
    """A bare ``python -c pass``: the floor every fresh-process figure stands on."""
    return _median(lambda: _fresh(["-c", "pass"]), runs)[0]


def bench_import(runs: int) -> dict[str, float]:
    """``import vramkit`` alone, and import + first catalog load, in fresh processes."""
    bare = _median(lambda: _fresh(["-c", "import vramkit"]), runs)[0]
    code = "import vramkit.catalog as c, vramkit.quant as q; c.models(); q.recipe_ids()"
    loaded = _median(lambda: _fresh(["-c", code]), runs)[0]
    return {"import_vramkit": bare, "import_and_load_catalog": loaded}


def bench_cli(runs: int) -> float:
    """``python -m vramkit weights --model deepseek-v4-flash --json`` in a fresh process."""
    args = ["-m", "vramkit", "weights", "--model", "deepseek-v4-flash", "--json"]
    return _median(lambda: _fresh(args), runs)[0]


def bench_plan(runs: int) -> float:
    """The issue's example, ``plan --model deepseek-v4-flash --gpu rtx-4090-24gb:2 --ram 128GB
    --context 64K``, in a fresh process (auto recipe, capacity searches and the curve included)."""
    args = ["-m", "vramkit", "plan", "--model", "deepseek-v4-flash", "--gpu", "rtx-4090-24gb:2",
            "--ram", "128GB", "--context", "64K", "--json"]  # fmt: skip
    return _median(lambda: _fresh(args), runs)[0]


def bench_reference(runs: int) -> tuple[float, float]:
    """A fixed pure-Python loop (`REFERENCE_LOOP_N` multiply-adds), median wall and CPU
    seconds: the unit the ratios use."""

    def loop() -> int:
        x = 0
        for i in range(REFERENCE_LOOP_N):
            x += i * i
        return x

    return _timed(loop, max(runs, 9))


CLI_CASES = {
    "cli_help": ["-m", "vramkit", "--help"],
    "cli_kv": ["-m", "vramkit", "kv", "--model", "deepseek-v4-flash", "--context", "128K"],
    "cli_fit": ["-m", "vramkit", "fit", "--model", "deepseek-v4-flash", "--gpu", "h200-sxm-141gb"],
}
"""Issue 22's CLI cases, each in a fresh process (wall time, interpreter start included)."""
NO_CACHE_CASES = {"cli_fit_no_cache": CLI_CASES["cli_fit"]}
"""Shown beside the table, not judged: ``fit`` with ``VRAMKIT_NO_CACHE=1`` (every data file parsed
from its YAML, as on a first run or with the cache off)."""


def bench_cli_cases(runs: int) -> dict[str, float]:
    """``--help``, ``kv`` and ``fit``, each the median of `runs` fresh processes (after one
    untimed run that writes the bytecode caches and the parsed-data cache, as any run after a
    user's first: kept in a temporary ``VRAMKIT_CACHE`` folder of this benchmark), wall
    seconds, and the child's CPU seconds under ``<key>_cpu``; ``fit`` also with the cache off."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="vramkit-speed-") as cache:
        warm = {"VRAMKIT_CACHE": cache, "VRAMKIT_NO_CACHE": ""}
        cases = [(k, a, warm) for k, a in CLI_CASES.items()]
        cases += [(k, a, {"VRAMKIT_NO_CACHE": "1"}) for k, a in NO_CACHE_CASES.items()]
        for key, args, env in cases:
            _fresh(args, extra_env=env)
            out[key], out[f"{key}_cpu"] = _timed(lambda a=args, e=env: _fresh(a, extra_env=e), runs)
    return out


def bench_kv_cache(runs: int) -> tuple[float, float]:
    """One `kv_cache` call (V4-Flash, 128K, vLLM, fp8), warm: wall and CPU seconds per call, in
    runs of 1,000 calls after 1,000 untimed ones (a slider's steady state: the first few hundred
    calls of a process run up to 1.6x slower on this machine whatever the code, as the
    interpreter specialises and the CPU settles)."""
    from vramkit.catalog import get_model
    from vramkit.kv import kv_cache

    m = get_model("deepseek-v4-flash")
    kw = {"runtime": "vllm", "cache_dtype": "fp8"}
    for i in range(1000):
        kv_cache(m, 262144 + i, **kw)  # warm-up, at contexts the timed runs do not ask
    n = 1000

    def calls() -> None:
        for i in range(n):
            kv_cache(m, 131072 + i, **kw)  # a new context each call, as a slider would

    wall, cpu = _timed(calls, runs)
    return wall / n, cpu / n


def bench_plan_solve(runs: int) -> tuple[float, float]:
    """`plan.solve` with curve and capacity (the issue's plan example, in process, warm: data
    files loaded). Each run asks for a new context, so no run reuses a whole earlier answer."""
    from vramkit.plan import build_machine, solve

    machine = build_machine(["rtx-4090-24gb:2"], ram="128GB")
    contexts = iter(range(65536, 65536 + 1000))

    def one() -> None:
        solve("deepseek-v4-flash", machine, context=next(contexts), curve=True, capacity=True)

    one()  # the first call loads the catalog and data files
    return _timed(one, runs)


def _sweep_configs() -> list[dict[str, Any]]:
    """`SWEEP_MODELS` distinct configs: every example config.json (text part) with its layer
    count stepped, so no two models are the same shape."""
    from vramkit.model.configfile import text_config

    base = [
        text_config(json.loads(p.read_text()))
        for p in sorted((ROOT / "data" / "examples").glob("*/config.json"))
    ]
    out = []
    for i in range(SWEEP_MODELS):
        cfg = dict(base[i % len(base)])
        layers = int(cfg.get("num_hidden_layers") or 0)
        if layers > 4:  # 2 … layers, by model index: distinct shapes
            n = max(2, layers - (i // len(base)) % (layers - 2))
            cfg["num_hidden_layers"] = n
            for key, value in list(cfg.items()):  # per-layer lists follow the layer count
                if isinstance(value, list) and len(value) == layers:
                    cfg[key] = value[:n]
        # 128K within the model's window (vramkit refuses a context past 8× the window)
        cfg["max_position_embeddings"] = max(int(cfg.get("max_position_embeddings") or 0), 131072)
        out.append(cfg)
    return out


def _sweep_pass() -> dict[str, Any]:
    """One pass of the sweep in this process (`bench_sweep` runs it in a fresh one): the data
    files and one model first, untimed (the start-up the other rows measure), then the 1,000
    models timed, every cache of the package cold but the data files'."""
    from vramkit.budget import budget
    from vramkit.errors import VramkitError
    from vramkit.kv import kv_cache
    from vramkit.model.configfile import model_from_config
    from vramkit.quant import weight_bytes

    configs = _sweep_configs()

    def one(cfg: dict[str, Any], name: str) -> None:
        m = model_from_config(cfg, name=name)
        weight_bytes(m, "gguf-Q4_K_M")
        kv_cache(m, 131072, runtime="llama.cpp")
        budget(m, "h200-sxm-141gb", recipe="gguf-Q4_K_M", context=131072,
               runtime="llama.cpp")  # fmt: skip

    with contextlib.suppress(VramkitError):
        one(dict(configs[0]), "warm")  # a copy: no per-config cache of the pass is filled
    counts = {"ok": 0, "refused": 0}
    c0, t0 = time.process_time(), time.perf_counter()
    for i, cfg in enumerate(configs):
        try:
            one(cfg, f"sweep-{i}")
            counts["ok"] += 1
        except VramkitError:
            counts["refused"] += 1
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "models": len(configs), **counts}  # fmt: skip


def bench_sweep(runs: int) -> dict[str, Any]:
    """1,000 models: config → `model_from_config` → weights under gguf-Q4_K_M → KV at 128K
    (llama.cpp layout) → `budget` on one H200, each pass in a fresh process (`_sweep_pass`:
    no cache of an earlier pass helps; the data files parsed before the clock starts). Models
    vramkit refuses are counted, not timed out."""
    n = max(1, min(runs, 3))
    passes = []
    for _ in range(n):
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--sweep-pass"],
            capture_output=True, text=True, env=_env(), check=True, timeout=900,
        )  # fmt: skip
        passes.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = statistics.median(p["cpu_seconds"] for p in passes)
    return {"seconds": statistics.median(p["seconds"] for p in passes), "cpu_seconds": med,
            "first_s": passes[0]["seconds"], "models": passes[0]["models"],
            "ok": passes[0]["ok"], "refused": passes[0]["refused"]}  # fmt: skip


def _recipe_for(model: Any, rid: str) -> str:
    return model.checkpoint_layout if rid == "official" else rid


def bench_grid(runs: int) -> dict[str, Any]:
    """The full sweep: weights (`weight_bytes`) + KV (`kv_grid`) + fit (per-GPU usable bytes of
    `vramkit.budget.usable_bytes`, one GPU, vLLM) over every cell, vectorised with numpy. Also
    `budget.fit_grid` (min GPU count per model × recipe × context, one GPU) for scale."""
    import numpy as np

    from vramkit.catalog import get_model
    from vramkit.hardware import gpus
    from vramkit.quant import weight_bytes

    models = [get_model(m) for m in V4]
    gpu_list = list(gpus().values())[:N_GPUS]
    cells = len(V4) * len(RECIPES) * len(CONTEXTS) * len(BATCHES) * len(gpu_list)

    def weights() -> list[int]:
        return [weight_bytes(m, _recipe_for(m, r)).total_bytes for m in models for r in RECIPES]

    out: dict[str, Any] = {"cells": cells, "contexts": len(CONTEXTS), "gpus": len(gpu_list)}
    out["weights_s"], times = _median(weights, runs)
    out["weights_first_s"] = times[0]  # the first call fills vramkit's caches
    kv_grid = _optional("vramkit.kv", "kv_grid")
    try:
        budget = importlib.import_module("vramkit.budget")
    except ImportError:
        budget = None
    if kv_grid is None or budget is None:
        out["kv_fit"] = "skipped: vramkit.kv.kv_grid / vramkit.budget not available yet"
        return out
    from vramkit.runtimes import get_runtime

    runtime = get_runtime("vllm")

    def full() -> int:
        usable = np.array([budget.usable_bytes(g, runtime, memory_fraction=None) for g in gpu_list])
        w = np.array(weights(), dtype=np.int64).reshape(len(models), len(RECIPES))
        fits = 0
        for i, m in enumerate(models):
            kv = kv_grid(m, CONTEXTS, BATCHES)["per_gpu_bytes"].to_numpy()  # contexts × batches
            need = w[i][:, None] + kv[None, :]  # recipes × cells
            fits += int((need[:, :, None] <= usable[None, None, :]).sum())
        return fits

    try:
        out["grid_s"], times = _median(full, runs)
        out["grid_first_s"] = times[0]
        out["fitting_cells"] = full()
    except (TypeError, AttributeError) as err:  # an API changed: say so, do not guess
        out["kv_fit"] = f"skipped: grid API differs ({err})"
        return out
    fit_ctx = list(CONTEXTS[::8])
    out["fit_grid_cells"] = len(V4) * len(RECIPES) * len(fit_ctx)
    out["fit_grid_s"], _ = _median(
        lambda: budget.fit_grid(list(V4), list(RECIPES), fit_ctx, "h200-sxm-141gb"), 1
    )
    return out


def _optional(module: str, attr: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None


def bench_widget(runs: int) -> float | str:
    """One redraw callback of the dashboard, once `vramkit.widgets.dashboard.compute` exists."""
    compute = _optional("vramkit.widgets.dashboard", "compute")
    defaults = _optional("vramkit.widgets.dashboard", "DEFAULTS")
    if compute is None or defaults is None:
        return "skipped: vramkit.widgets.dashboard.compute not available yet"
    contexts = iter(CONTEXTS * 10)  # each redraw a new slider position, as a user drags it

    def redraw() -> None:
        result = compute({**defaults, "context": next(contexts)})
        assert result.get("ok"), result

    compute(dict(defaults))  # warm: the first call loads the catalog (counted in cli_cold)
    return _median(redraw, max(runs, 20))[0]


def bench_report() -> float | str:
    """The whole report once, into a temp folder (``python -m vramkit report``)."""
    if _optional("vramkit.report", "run_report") is None:
        return "skipped: vramkit.report not available yet"
    with tempfile.TemporaryDirectory() as tmp:
        args = ["-m", "vramkit", "report", "--out", str(Path(tmp) / "r"), "--no-progress"]
        t0 = time.perf_counter()
        try:
            _fresh(args, timeout=600)
        except subprocess.CalledProcessError as err:
            tail = (err.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
            return f"failed (exit {err.returncode}): {' '.join(tail)}"
        return time.perf_counter() - t0


_META_CODE = r"""
import sys, time, json
t0 = time.perf_counter()
import torch
from transformers import AutoConfig, AutoModelForCausalLM
cfg = AutoConfig.for_model(**json.loads(sys.argv[1]))
with torch.device("meta"):
    model = AutoModelForCausalLM.from_config(cfg)
n = sum(p.numel() for p in model.parameters())
print(json.dumps({"params": n, "seconds": time.perf_counter() - t0}))
"""


_HF_TYPE = {
    "deepseek-v3": "deepseek_v3",
    "gemma-4-31b": "gemma4_text",
    "deepseek-v4-flash": "deepseek_v4",
}
"""Catalog id → transformers model_type used to build it on the meta device."""


def bench_meta(python: str | None, runs: int) -> dict[str, Any]:
    """Parameter count on PyTorch's meta device (accelerate estimate-memory's method) vs vramkit.

    Both in fresh processes, same config.json fields; transformers builds the main model only
    (no MTP), so it is compared with vramkit's main count. Ratio = meta time / vramkit time.
    """
    py = python or sys.executable
    probe = subprocess.run(
        [py, "-c", "import torch, transformers; print(transformers.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        missing = "torch" if "torch" in probe.stderr else "transformers"
        return {"status": f"skipped: {missing} not installed"}
    from vramkit.catalog import get_model

    out: dict[str, Any] = {"transformers": probe.stdout.strip()}
    for mid in ("deepseek-v3", "gemma-4-31b", "deepseek-v4-flash"):
        cfg = dict(get_model(mid).config)
        cfg["model_type"] = _HF_TYPE[mid]
        cfg.pop("quantization_config", None)
        if mid.startswith("gemma"):  # the real 31B config says null; transformers' default is 256
            cfg.setdefault("hidden_size_per_layer_input", 0)
        payload = json.dumps(cfg)
        res: dict[str, Any] = {}

        def meta(payload: str = payload, res: dict[str, Any] = res) -> None:
            r = subprocess.run(
                [py, "-c", _META_CODE, payload], capture_output=True, text=True, timeout=600
            )
            if r.returncode != 0:
                raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr else "failed")
            res.update(json.loads(r.stdout.strip().splitlines()[-1]))

        code = f"import vramkit.catalog as c; c.get_model({mid!r}).params.total"
        try:
            meta_s, _ = _median(meta, max(1, runs // 2))
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            out[mid] = {"status": f"failed: {err}"}
            continue
        ours_s, _ = _median(lambda code=code: _fresh(["-c", code]), runs)
        out[mid] = {
            "meta_s": meta_s,
            "vramkit_s": ours_s,
            "ratio": meta_s / ours_s,
            "meta_params": res.get("params"),
            "vramkit_params": get_model(mid).params.main,  # transformers builds no MTP module
        }
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v * 1000:,.1f} ms" if v < 1 else f"{v:,.2f} s"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    p.add_argument("--no-report", action="store_true", help="skip the whole-report run")
    p.add_argument(
        "--issue22", action="store_true", help="only issue 22's table (and the reference loop)"
    )
    p.add_argument("--torch-python", help="an interpreter with torch + transformers (optional)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="output folder")
    p.add_argument("--sweep-pass", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.sweep_pass:  # one pass of the sweep, for `bench_sweep`'s fresh process
        print(json.dumps(_sweep_pass()))
        return 0
    runs = max(1, args.runs)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    results["reference_loop"], results["reference_loop_cpu"] = bench_reference(runs)
    results["interpreter_startup"] = bench_interpreter(runs)
    results.update(bench_cli_cases(runs))
    results["kv_cache_call"], results["kv_cache_call_cpu"] = bench_kv_cache(runs)
    results["plan_solve"], results["plan_solve_cpu"] = bench_plan_solve(runs)
    results["sweep_1000"] = bench_sweep(runs)
    results["load_average"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    _print_issue22(results, runs)
    if args.issue22:
        return _write(results, Path(args.out))
    results.update(bench_import(runs))
    results["cli_cold"] = bench_cli(runs)
    results["plan_cli"] = bench_plan(runs)
    results["grid"] = bench_grid(runs)
    results["widget_redraw"] = bench_widget(runs)
    results["report"] = "skipped: --no-report" if args.no_report else bench_report()
    results["meta_device"] = bench_meta(args.torch_python, runs)

    print(f"median of {runs} runs; {results['cpus']} CPUs; Python {results['python']}")
    for key in (
        "interpreter_startup",
        "import_vramkit",
        "import_and_load_catalog",
        "cli_cold",
        "plan_cli",
    ):
        target = TARGETS_S.get(key)
        mark = "" if target is None else f"  (target ≤ {_fmt(target)})"
        print(f"{key:26} {_fmt(results[key]):>12}{mark}")
    g = results["grid"]
    print(
        f"{'grid: weights part':26} {_fmt(g['weights_s']):>12}  ({len(V4)}×{len(RECIPES)} recipes; "
        f"first call {_fmt(g['weights_first_s'])})"
    )
    grid_line = _fmt(g["grid_s"]) if "grid_s" in g else g["kv_fit"]
    first = f"; first call {_fmt(g['grid_first_s'])}" if "grid_first_s" in g else ""
    print(
        f"{'grid: full sweep':26} {grid_line:>12}  ({g['cells']:,} cells{first}; target ≤ 0.30 s)"
    )
    if "fit_grid_s" in g:
        print(
            f"{'fit_grid (min GPUs)':26} {_fmt(g['fit_grid_s']):>12}  ({g['fit_grid_cells']} cells, h200)"
        )
    print(f"{'widget redraw':26} {_fmt(results['widget_redraw']):>12}  (target ≤ 50 ms)")
    print(f"{'whole report':26} {_fmt(results['report']):>12}  (target ≤ 60 s)")
    meta = results["meta_device"]
    if "status" in meta:
        print(f"{'meta-device count':26} {meta['status']}")
    for mid, m in meta.items():
        if isinstance(m, dict) and "ratio" in m:
            print(
                f"meta-device vs vramkit {mid}: {_fmt(m['meta_s'])} vs {_fmt(m['vramkit_s'])} "
                f"= {m['ratio']:.1f}×; params {m['meta_params']:,} vs {m['vramkit_params']:,}"
            )
        elif isinstance(m, dict):
            print(f"meta-device {mid}: {m['status']}")
    return _write(results, Path(args.out))


def _write(results: dict[str, Any], out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out / 'speed.json'}")
    return 0


def _fmt_short(v: float) -> str:
    return f"{v * 1e6:,.1f} µs" if v < 1e-3 else _fmt(v)


def _print_issue22(results: dict[str, Any], runs: int) -> None:
    """Issue 22's table: each figure (wall and CPU seconds), its ratio to the reference loop
    (wall to wall, CPU to CPU) and the target, judged on the CPU ratio: on a busy machine the
    wall clock also counts the waits for a core, which the in-process loop hardly sees."""
    ref, ref_cpu = results["reference_loop"], results["reference_loop_cpu"]
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"issue 22 (median of {runs}; load average {load[0]:.2f}; reference loop "
          f"{_fmt(ref)} wall, {_fmt(ref_cpu)} CPU = 1.0×; targets set for a "
          f"{_fmt(REFERENCE_LOOP_S)} loop, judged as CPU ratios)")  # fmt: skip
    sweep = results["sweep_1000"]
    rows = [(k, results[k], results[f"{k}_cpu"]) for k in ("cli_help", "cli_kv", "cli_fit",
                                                            "kv_cache_call", "plan_solve")]  # fmt: skip
    rows.append(("sweep_1000", sweep["seconds"], sweep["cpu_seconds"]))
    verdicts = results.setdefault("issue22_verdicts", {})
    for key, wall, cpu in rows:
        target = TARGETS_S[key]
        limit = target / REFERENCE_LOOP_S  # the target in reference-loop units
        ratio = cpu / ref_cpu
        mark = "met" if ratio <= limit else "not met"
        verdicts[key] = {"wall_ratio": wall / ref, "cpu_ratio": ratio, "target_ratio": limit,
                         "met": ratio <= limit}  # fmt: skip
        print(f"  {key:14} {_fmt_short(wall):>10} wall {wall / ref:>8.3f}×  "
              f"{_fmt_short(cpu):>10} CPU {ratio:>8.3f}×   target ≤ {_fmt_short(target)} = "
              f"{limit:.3f}×: {mark}")  # fmt: skip
    for key in NO_CACHE_CASES:
        if key in results:
            wall, cpu = results[key], results[f"{key}_cpu"]
            print(f"  {key:14} {_fmt_short(wall):>10} wall {wall / ref:>8.3f}×  "
                  f"{_fmt_short(cpu):>10} CPU {cpu / ref_cpu:>8.3f}×   (not judged: "
                  f"VRAMKIT_NO_CACHE=1, every data file parsed from YAML)")  # fmt: skip
    print(f"  sweep: {sweep['models']} models, {sweep['ok']} sized, {sweep['refused']} refused; "
          f"each pass in a fresh process (caches cold), first {_fmt(sweep['first_s'])} wall")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
