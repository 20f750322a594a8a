"""GPU fit: the planner's answer to "how many of these GPUs" (`vramkit.plan.count.min_devices`):
per-GPU bytes (weights + KV + workspace + runtime overhead), the layout and the verdict.

Without --count: the smallest GPU count whose plan fits — the same plans `vramkit plan` searches
(vLLM: TP × PP with expert parallel, SGLang: TP with EP, llama.cpp: a layer split). Also prints
the longest context and the best (highest-precision) recipe that fit at that count: for vLLM /
SGLang the checkpoint layouts (never a GGUF file), for llama.cpp the GGUF files (its default
recipe is the largest GGUF file no larger than the official checkpoint). --ram (llama.cpp) lets
routed experts go to host RAM, as `plan --ram` does. --context takes 131072, 128K or 1M.

JSON keys: model, recipe, gpu, runtime, parallel, layout (the plan's, in words), context, batch,
count (null: nothing fits), fits, tight, verdict: {fits, tight, reasons, try, margin, room,
headline}, knobs (the plan's runtime settings), ram (the host RAM the plan counts, GB; null:
none), plan_command (the `vramkit plan` line that gives the same plan), per_gpu:
{weights_bytes, kv_bytes, workspace_bytes, overhead_bytes, reserve_bytes, total_bytes,
usable_bytes, memory_bytes, headroom_bytes (free beyond the margin), margin_bytes (kept free)}
of the GPU with the least headroom, margin (where the margin comes from), max_context_tokens,
best_recipe, best_recipe_why, runner_up_recipe (the next-largest that fits, or null),
offload_plan (llama.cpp without --ram when the GPUs alone do not fit: the planner's plan with
host RAM — {gpus, ram, recipe, fits, verdict, n_cpu_moe, host_bytes, command} — else null),
assumptions: [text]. Bytes are per GPU; GB = 1e9, GiB = 2**30.
"""

from __future__ import annotations

import argparse

from ..budget import COUNTS, PARALLEL, best_recipe, budget, max_context, min_gpus
from ..errors import VramkitError
from ..hardware import split_gpu_count
from ..textfmt import emit_json, table
from ..units import GB, GiB
from .common import add_model_arguments, resolve_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument(
        "--gpu",
        required=True,
        help="GPU id from data/gpus.yaml or a name as typed (h200-sxm-141gb, H200, 'rtx 4090'; "
        "'2x4090' also sets the count)",
    )
    p.add_argument("--count", type=int, help=f"GPUs (default: smallest of {COUNTS} that fits)")
    p.add_argument("--recipe", help="recipe id (default: the official checkpoint layout)")
    p.add_argument(
        "--context", default="32768", help="tokens per sequence: 32768 (default), 128K, 1M"
    )
    p.add_argument("--batch", type=int, default=1, help="concurrent sequences (1)")
    p.add_argument(
        "--parallel",
        choices=PARALLEL,
        default="auto",
        help="auto: every layout `plan` searches (TP x PP x EP x DP); tp | ep: one group "
        "without / with expert parallel (ep: attention tensor-parallel, experts expert-parallel; "
        "tp_ep is the same); pp: pipeline stages only; dp: a replica per GPU (auto)",
    )
    p.add_argument(
        "--runtime", default="vllm", help="vllm | llama.cpp | sglang | trtllm | reference"
    )
    p.add_argument(
        "--cache-dtype",
        default=None,
        help="KV cache dtype: bf16 (default), fp16, fp8 (as the runtime stores it), q8_0 …",
    )
    p.add_argument(
        "--mtp",
        dest="include_mtp",
        action="store_true",
        help="load the MTP module (speculative decoding): its weights and KV count",
    )
    p.add_argument(
        "--allow-extrapolation",
        action="store_true",
        help="past the model's max_position_embeddings, estimate anyway as a what-if (else refused)",
    )
    p.add_argument(
        "--margin",
        help="kept free on each GPU: a size (1GiB, 512MiB) or a share (10%%); default the "
        "engine's own (llama.cpp --fit 1024 MiB per device, vLLM 1 - gpu_memory_utilization)",
    )
    p.add_argument(
        "--ram",
        help="llama.cpp: host RAM offered for expert offload (e.g. 128GB): the plan may put "
        "routed experts there (default: no offload; the offload plan is named when the GPUs "
        "alone do not fit)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def _no_ctx(kw: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in kw.items() if k != "context"}


def run(args: argparse.Namespace) -> int:
    from ..kv import parse_tokens

    model = resolve_model(args)
    gpu, typed_count = split_gpu_count(args.gpu)  # '2x4090' (vramkit.hardware)
    count = args.count if typed_count is None else typed_count
    if typed_count is not None and args.count is not None and args.count != typed_count:
        raise VramkitError(
            f"--gpu {args.gpu!r:.60} says {typed_count} GPUs but --count says {args.count}."
        )
    kw = {
        "recipe": args.recipe,
        "context": parse_tokens(args.context),
        "cache_dtype": args.cache_dtype,
        "include_mtp": args.include_mtp,
        "batch": args.batch,
        "parallel": args.parallel,
        "runtime": args.runtime,
        "allow_extrapolation": args.allow_extrapolation,
        "margin": args.margin,
    }
    if args.ram is not None:
        from ..plan import build_machine
        from ..runtimes import get_runtime

        build_machine([], ram=args.ram)  # the one RAM reader: a size with its unit
        try:
            offloads = get_runtime(args.runtime).capabilities.offload == "tensors"
        except VramkitError:
            offloads = False
        if not offloads:
            raise VramkitError(
                f"--ram is the host RAM llama.cpp offloads experts to; runtime {args.runtime!r:.40} "
                "does not offload here (use `vramkit plan` for vLLM's --cpu-offload-gb)."
            )
        kw["ram"] = args.ram
    if count is not None:
        b = budget(model, gpu, count=count, **kw)
    else:
        b = min_gpus(model, gpu, **kw).budget
    found = b.fits
    rest = {k: v for k, v in kw.items() if k != "recipe"}
    recipe = args.recipe if args.recipe is not None else b.recipe_id
    longest = max_context(model, gpu, count=b.count, recipe=recipe, **_no_ctx(rest))
    best = best_recipe(model, gpu, count=b.count, **rest)
    offload = (
        _offload_plan(model, gpu, b, count, args)
        if args.ram is None and not (found and b.count == 1)
        else None
    )
    per_gpu = {
        "weights_bytes": b.weights_bytes,
        "kv_bytes": b.kv_bytes,
        "workspace_bytes": b.workspace_bytes,
        "overhead_bytes": b.overhead_bytes,
        "reserve_bytes": b.reserve_bytes,
        "total_bytes": b.total_bytes,
        "usable_bytes": b.usable_bytes,
        "memory_bytes": b.memory_bytes,
        "headroom_bytes": b.headroom_bytes,
        "margin_bytes": b.margin_bytes,
    }
    verdict = b.verdict
    ram_gb = _ram_gb(b)
    if args.json:
        emit_json(
            {
                "model": b.model_id,
                "recipe": b.recipe_id,
                "gpu": b.gpu_id,
                "runtime": b.runtime_id,
                "parallel": b.parallel,
                "layout": b.layout,
                "context": b.context,
                "batch": b.batch,
                "count": b.count if (found or count is not None) else None,
                "fits": found,
                "tight": bool(verdict.tight) if verdict is not None else False,
                "verdict": verdict.as_dict() if verdict is not None else None,
                "knobs": dict(b.plan.knobs) if b.plan is not None else None,
                "ram": ram_gb,
                "plan_command": _plan_command(b, ram_gb, args),
                "per_gpu": per_gpu,
                "margin": b.margin_why,
                "max_context_tokens": longest,
                "best_recipe": best.recipe_id,
                "best_recipe_why": best.reason,
                "runner_up_recipe": best.runner_up,
                "offload_plan": offload,
                "assumptions": list(b.assumptions),
            }
        )
        return 0
    head = verdict.headline if verdict is not None else ("fits" if found else "does NOT fit")
    layout = f"{b.layout}, " if b.layout else f"{b.parallel}, "
    print(
        f"{model.name}, recipe {b.recipe_id}, on {b.count} x {b.gpu_id} ({layout}"
        f"{b.runtime_id}), context {b.context:,}, batch {b.batch}: {head}"
    )
    if count is None and not found:
        print(f"(no count up to {COUNTS[-1]} fits; the table shows {COUNTS[-1]} GPUs)")
    rows = [
        {"per GPU": k.removesuffix("_bytes"), "bytes": v, "GB": v / GB, "GiB": v / GiB}
        for k, v in per_gpu.items()
    ]
    print(table(rows))
    print(
        f"Margin kept free per GPU: {b.margin_bytes / GB:,.2f} GB ({b.margin_why}); headroom "
        f"beyond it: {b.headroom_bytes / GB:,.2f} GB per GPU"
        + ("" if b.headroom_bytes >= 0 else " (short)")
    )
    if offload is not None:
        print(
            f"\nWith host RAM (llama.cpp offloads routed experts; the planner's plan): "
            f"{offload['gpus']} + {offload['ram']} RAM, recipe {offload['recipe']}: "
            f"{offload['verdict']['headline']}"
        )
        if offload["fits"]:
            print(
                f"  --n-cpu-moe {offload['n_cpu_moe']}, {offload['host_bytes'] / GB:,.1f} GB in "
                f"host RAM; see: {offload['command']}"
            )
    print(f"\nLongest context that fits on {b.count} GPUs: {longest:,} tokens")
    print(f"Best recipe that fits on {b.count} GPUs: {best.recipe_id or 'none'} ({best.reason})")
    if best.runner_up:
        print(f"Runner-up (the next-largest recipe that fits): {best.runner_up}")
    for note in b.assumptions:
        print(f"- {note}")
    return 0


def _offload_plan(model, gpu: str, b, count: int | None, args: argparse.Namespace):
    """llama.cpp only: when the GPUs alone do not fit at the asked count (or need more than one
    GPU when no count is given), the planner's offload plan on that many GPUs (1 without a
    count) with `--ram` (default: the RAM its plan needs, ÷ 0.9 so it is not tight), as plain
    values; None for other runtimes or when nothing is to offload."""
    import math

    from ..plan.placement import canonical_runtime
    from ..plan.verdict import HOST_TIGHT
    from ..runtimes import get_runtime

    try:
        rt = canonical_runtime(args.runtime)
    except VramkitError:
        return None
    if get_runtime(rt).capabilities.offload != "tensors" or (count is not None and b.fits):
        return None
    from ..plan import build_machine, solve  # the solver: only where an offload plan is asked

    n = count if count is not None else 1
    gpu = b.gpu_id
    kw = {"context": b.context, "sequences": b.batch, "cache_dtype": args.cache_dtype,
          "allow_extrapolation": args.allow_extrapolation, "margin": args.margin}  # fmt: skip
    ram = args.ram
    if ram is None:  # ask the planner what host RAM its plan fills, then offer that ÷ 0.9
        probe = build_machine([f"{gpu}:{n}"], ram="64TB")
        pick = b.recipe_id  # the same file, with routed experts in host RAM
        host = solve(model, probe, recipe=pick, runtime=rt, curve=False, capacity=False, **kw)
        need = host.plan.place("host").total_bytes
        ram = f"{math.ceil(need / HOST_TIGHT / 1e9)}GB"
    machine = build_machine([f"{gpu}:{n}"], ram=ram)
    pick = b.recipe_id
    sol = solve(model, machine, recipe=pick, runtime=rt, curve=False, capacity=False, **kw)
    p = sol.plan
    cmd = (
        f"vramkit plan --model {model.id} --gpu {gpu}:{n} --ram {ram} --runtime {rt} --recipe "
        f"{p.recipe_id} --context {p.context}"
    )
    return {
        "gpus": f"{n} x {gpu}",
        "ram": ram,
        "recipe": p.recipe_id,
        "fits": p.fits,
        "verdict": sol.verdict.as_dict() if sol.verdict else None,
        "n_cpu_moe": p.knobs.get("n_cpu_moe"),
        "host_bytes": p.place("host").total_bytes,
        "command": cmd,
    }


def _ram_gb(b) -> str | None:
    """The host RAM the plan counts, as `plan --ram` takes it ('128GB'); None: none."""
    if b.plan is None:
        return None
    host = next((q for q in b.plan.places if q.kind == "host"), None)
    if host is None or not host.capacity_bytes:
        return None
    return f"{host.capacity_bytes / GB:g}GB"


def _plan_command(b, ram: str | None, args: argparse.Namespace) -> str | None:
    """The `vramkit plan` line that asks the planner the same question (None: not a planner
    runtime, or a layout `plan` does not take — tp / ep / dp fix what `plan` searches)."""
    if b.plan is None or b.parallel != "auto":
        return None
    line = (
        f"vramkit plan --model {b.model_id} --gpu {b.gpu_id}:{b.count} --runtime "
        f"{b.plan.runtime} --recipe {b.recipe_id} --context {b.context} --sequences {b.batch}"
    )
    if ram is not None:
        line += f" --ram {ram}"
    if args.cache_dtype:
        line += f" --cache-dtype {args.cache_dtype}"
    if args.margin:
        line += f" --margin {args.margin}"
    return line
