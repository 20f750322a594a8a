"""GPU fit: per-GPU bytes (weights + KV + workspace + runtime overhead) and whether they fit.

Without --count: the smallest GPU count that fits. Also prints the longest context and the
best (highest-precision) recipe that fit at that count, searched over every recipe that applies
to the model (`vramkit.budget.candidate_recipes`, antirez's ds4 mixes included for V4).
--context takes 131072, 128K or 1M (K = 1024 tokens), like every command.

JSON keys: model, recipe, gpu, runtime, parallel, context, batch, count (null: nothing fits),
fits, per_gpu: {weights_bytes, kv_bytes, workspace_bytes, overhead_bytes, reserve_bytes,
total_bytes, usable_bytes, memory_bytes, headroom_bytes}, max_context_tokens, best_recipe,
best_recipe_why, runner_up_recipe (the next-largest that fits, or null), assumptions: [text]. Bytes are per GPU; GB = 1e9, GiB = 2**30.
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
    p.add_argument("--parallel", choices=PARALLEL, default="tp", help="tp | ep | dp (tp)")
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
    }
    if count is not None:
        b = budget(model, gpu, count=count, **kw)
    else:
        b = min_gpus(model, gpu, **kw).budget
    found = b.fits
    rest = {k: v for k, v in kw.items() if k != "recipe"}
    longest = max_context(model, gpu, count=b.count, recipe=args.recipe, **_no_ctx(rest))
    best = best_recipe(model, gpu, count=b.count, **rest)
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
    }
    if args.json:
        emit_json(
            {
                "model": b.model_id,
                "recipe": b.recipe_id,
                "gpu": b.gpu_id,
                "runtime": b.runtime_id,
                "parallel": b.parallel,
                "context": b.context,
                "batch": b.batch,
                "count": b.count if (found or count is not None) else None,
                "fits": found,
                "per_gpu": per_gpu,
                "max_context_tokens": longest,
                "best_recipe": best.recipe_id,
                "best_recipe_why": best.reason,
                "runner_up_recipe": best.runner_up,
                "assumptions": list(b.assumptions),
            }
        )
        return 0
    verdict = "fits" if found else "does NOT fit"
    print(
        f"{model.name}, recipe {b.recipe_id}, on {b.count} x {b.gpu_id} ({b.parallel}, "
        f"{b.runtime_id}), context {b.context:,}, batch {b.batch}: {verdict}"
    )
    if count is None and not found:
        print(f"(no count up to {COUNTS[-1]} fits; the table shows {COUNTS[-1]} GPUs)")
    rows = [
        {"per GPU": k.removesuffix("_bytes"), "bytes": v, "GB": v / GB, "GiB": v / GiB}
        for k, v in per_gpu.items()
    ]
    print(table(rows))
    print(f"\nLongest context that fits on {b.count} GPUs: {longest:,} tokens")
    print(f"Best recipe that fits on {b.count} GPUs: {best.recipe_id or 'none'} ({best.reason})")
    if best.runner_up:
        print(f"Runner-up (the next-largest recipe that fits): {best.runner_up}")
    for note in b.assumptions:
        print(f"- {note}")
    return 0
