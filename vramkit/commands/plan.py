"""Placement plan: which layers, experts, KV and buffers go on which GPU, in host RAM or on disk;
the runtime flags that realise it (one line per runtime), decode / prefill speed bounds, the
context-vs-speed curve, and the concurrency × context capacity.

Machine: --gpu ID[:N] or MEMORY@BANDWIDTH (repeatable, e.g. --gpu rtx-4090-24gb:2 --gpu
24GB@936GB/s), --ram SIZE[@BANDWIDTH or host-memory id], --nvme ID|RATE, --link ID, or
--machine FILE.yaml | local. Recipe: default for llama.cpp the one the goal asks for
(`vramkit.plan.choose_recipe`: --goal speed the fitting GGUF recipe with the best decode bound,
fit / context / concurrency the largest that fits), shown with the runner-up; for vLLM /
SGLang the official checkpoint.

JSON keys: model, recipe, recipe_why, runner_up: {recipe, why} or null, runtime, machine, machine_notes, goal, context,
sequences, cache_dtype, fits, verdict: {fits, tight, reasons: [text], try: [text], margin, headline},
knobs, places: [{name, kind, capacity_bytes, total_bytes, margin_bytes (kept free), headroom_bytes
(free beyond the margin; negative: short), layers, expert_layers, experts_per_layer, bytes:
{component: bytes}}], flags: {runtime: [args]
or null}, flag_notes, runtime_notes: [text] (the asked runtime's: which weights, multi-node),
model_file: {ref, source, steps, note} or null (the repo id or GGUF file the command loads and the
shell lines that get it), nodes (nodes of 8 GPUs the plan spans), speed: {decode_tokens_per_s, prefill_tokens_per_s, step_seconds, limited_by, batch,
gpu_read_bytes, host_read_bytes, link_bytes, internode_bytes_per_gpu (a decode step's bytes through
one GPU's NIC on a multi-node plan, vramkit.plan.network)} (upper bounds), capacity: {max_context (0:
nothing fits, not even 1 token), max_sequences (0: not even one; 4096, the search's ceiling:
at least that many)}, curve: [{context, fits, decode_tokens_per_s, host_expert_layers}], notes,
cuda_terms: [{name, bytes, where, source, kind}] (what llama.cpp's CUDA backend adds on a GPU
plan, read from its code; [] otherwise; already counted in places' bytes).
Bytes are integers; GB = 1e9, GiB = 2**30.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import VramkitError
from ..kv import parse_tokens
from ..runtimes import get_runtime, planner_runtimes
from ..runtimes.llamacpp.cuda import pinned_bytes, term_record
from ..textfmt import emit_json, table
from ..units import GB
from .weights import add_model_arguments, resolve_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument(
        "--gpu", action="append", default=[], help="GPU id[:count] or MEM@BW (repeatable)"
    )
    p.add_argument(
        "--ram",
        help="host RAM offered for offload with its unit, e.g. 128GB or "
        "512GB@ddr5-4800-12ch-epyc9004 (a bare 128 is refused: GB? GiB?)",
    )
    p.add_argument("--ram-bandwidth", help="host RAM bandwidth (e.g. 89.6GB/s or a links.yaml id)")
    p.add_argument("--nvme", help="NVMe for mmap'd weights: links.yaml id or rate (7.45GB/s)")
    p.add_argument("--link", help="host link of every GPU (links.yaml id, e.g. pcie-gen5-x16)")
    p.add_argument("--machine", help="a machine YAML file, or 'local' (nvidia-ml-py + psutil)")
    p.add_argument("--wired-limit", help="Apple: iogpu.wired_limit_mb as a size (e.g. 480GiB)")
    p.add_argument(
        "--runtime", default="llama.cpp", help="llama.cpp | ik_llama.cpp | vllm | sglang"
    )
    p.add_argument("--recipe", help="recipe id (default: see above)")
    p.add_argument("--context", default="32768", help="tokens per sequence: 65536, 64K, 1M (32768)")
    p.add_argument("--sequences", type=int, default=1, help="concurrent sequences (1)")
    p.add_argument(
        "--cache-dtype", "--cache-type-k", dest="cache_dtype",
        help="KV cache dtype (default: the runtime's, bf16 here; ik_llama.cpp adds q8_KV, q6_0)",
    )  # fmt: skip
    p.add_argument("--mla", type=int, help="ik_llama.cpp -mla 0|1|2|3 (default 3)")
    p.add_argument("--amb", type=int, help="ik_llama.cpp -amb MiB (default 256; 0 = no limit)")
    p.add_argument("--no-fmoe", action="store_true", help="ik_llama.cpp -no-fmoe (fused MoE off)")
    p.add_argument(
        "--swa-compress", action="store_true",
        help="ik_llama.cpp --swa-compress (compacted sliding-window caches)",
    )  # fmt: skip
    p.add_argument(
        "--flash-attn", choices=("on", "off"), default=None,
        help="ik_llama.cpp -fa on|off (default on)",
    )  # fmt: skip
    p.add_argument("--ubatch", type=int, default=512, help="llama.cpp -ub (512)")
    p.add_argument(
        "--margin",
        help="kept free on each GPU: a size (1GiB, 512MiB) or a share (10%%); default the "
        "engine's own (llama.cpp --fit 1024 MiB per device, vLLM 1 - gpu_memory_utilization)",
    )
    p.add_argument(
        "--goal", default="speed", choices=("speed", "fit", "context", "concurrency"),
        help="what to solve for (speed)",
    )  # fmt: skip
    p.add_argument(
        "--allow-extrapolation",
        action="store_true",
        help="past the model's max_position_embeddings, estimate anyway as a what-if (else refused)",
    )
    p.add_argument(
        "--json", action="store_true", help="print JSON (speeds to 6 significant digits)"
    )


def _ik_options(args: argparse.Namespace) -> object:
    """ik_llama.cpp's options from --mla / --amb / --no-fmoe / --flash-attn (None: none given)."""
    from ..runtimes.ik_llama_rules import IkOptions

    given = {
        "mla": args.mla,
        "amb": args.amb,
        "fmoe": False if args.no_fmoe else None,
        "flash_attn": None if args.flash_attn is None else args.flash_attn == "on",
        "swa_compress": True if args.swa_compress else None,
    }
    kw = {k: v for k, v in given.items() if v is not None}
    return IkOptions(**kw) if kw else None


def run(args: argparse.Namespace) -> int:
    from ..plan import (
        RecipePick,
        auto_recipe,
        capacity_note,
        choose_recipe,
        flags_for,
        plan_for,
        resolve_machine,
        solve,
    )
    from ..plan.network import nodes_of
    from ..plan.placement import canonical_runtime

    model = resolve_model(args)
    rt = canonical_runtime(args.runtime)
    machine = resolve_machine(
        machine=args.machine, gpu=args.gpu, ram=args.ram, ram_bandwidth=args.ram_bandwidth,
        nvme=args.nvme, link=args.link, wired_limit=args.wired_limit,
    )  # fmt: skip
    if not machine.devices and machine.host is None:
        raise VramkitError("no machine given: pass --gpu and/or --ram, or --machine FILE|local.")
    ctx = parse_tokens(args.context)
    kw = {"context": ctx, "sequences": args.sequences, "cache_dtype": args.cache_dtype,
          "ubatch": args.ubatch, "allow_extrapolation": args.allow_extrapolation,
          "margin": args.margin}  # fmt: skip
    if args.recipe:
        pick = RecipePick(args.recipe, "given")
    else:
        pick = choose_recipe(model, machine, runtime=rt, goal=args.goal, **kw)
    recipe, why = pick.recipe_id, pick.why
    ik = _ik_options(args)
    sol = solve(model, machine, goal=args.goal, recipe=recipe, runtime=rt, ik=ik, **kw)
    p = sol.plan
    flags: dict[str, list[str] | None] = {}
    flag_notes: dict[str, str] = {}
    chosen = flags_for(p, model=model) if p.fits else None  # the asked runtime's command
    gguf = {r: get_runtime(r).capabilities.serves_gguf for r in planner_runtimes()}
    for other in planner_runtimes():
        if other == rt:
            q = p
        else:
            o_recipe = recipe if gguf[other] and gguf[rt] else (
                recipe if args.recipe else auto_recipe(model, machine, runtime=other, goal=args.goal, **kw)[0]
            )  # fmt: skip
            try:
                q = plan_for(model, machine, recipe=o_recipe, runtime=other,
                             **{**kw, "context": p.context, "sequences": p.sequences})  # fmt: skip
            except VramkitError as err:
                flags[other], flag_notes[other] = None, str(err)
                continue
        if q.fits:
            flags[other] = list((chosen if q is p else flags_for(q, model=model)).args)
        else:
            flags[other] = None
            flag_notes[other] = f"no {other} plan fits ({q.recipe_id})"
    s = sol.speed
    est = _decode_estimate(p, s, model)
    curve_est = _curve_estimates(p, sol, model)
    pf_est, pf_why = _prefill_estimate(p, s, model, machine)
    if args.json:
        emit_json(
            {
                "model": model.id,
                "recipe": p.recipe_id,
                "recipe_why": why,
                "runner_up": None
                if pick.runner_up is None
                else {"recipe": pick.runner_up, "why": pick.runner_up_why},
                "runtime": rt,
                "machine": machine.describe(),
                "machine_notes": list(machine.notes),
                "goal": sol.goal,
                "context": p.context,
                "sequences": p.sequences,
                "cache_dtype": p.cache_dtype,
                "fits": p.fits,
                "verdict": sol.verdict.as_dict() if sol.verdict else None,
                "knobs": {k: list(v) if isinstance(v, tuple) else v for k, v in p.knobs.items()},
                "places": [
                    {
                        "name": q.name,
                        "kind": q.kind,
                        "capacity_bytes": q.capacity_bytes,
                        "total_bytes": q.total_bytes,
                        "margin_bytes": q.margin_bytes,
                        "headroom_bytes": q.headroom_bytes,
                        "layers": list(q.layers) if q.layers else None,
                        "expert_layers": list(q.expert_layers),
                        "experts_per_layer": q.experts_per_layer,
                        "bytes": dict(q.bytes_by_component),
                    }
                    for q in p.places
                ],
                "flags": flags,
                "flag_notes": flag_notes,
                "runtime_notes": list(chosen.notes) if chosen else [],
                "model_file": None
                if chosen is None or chosen.model_file is None
                else {
                    "ref": chosen.model_file.ref,
                    "source": chosen.model_file.source,
                    "steps": list(chosen.model_file.steps),
                    "note": chosen.model_file.note,
                },
                "nodes": nodes_of(p),
                "speed": None
                if not p.fits
                else {
                    "decode_tokens_per_s": _sig(s.decode_tokens_per_s),
                    "prefill_tokens_per_s": _sig(s.prefill_tokens_per_s),
                    "step_seconds": _sig(s.decode_step_seconds),
                    "limited_by": s.limited_by,
                    "batch": s.batch,
                    "gpu_read_bytes": s.gpu_read_bytes,
                    "host_read_bytes": s.host_read_bytes,
                    "link_bytes": s.link_bytes,
                    "internode_bytes_per_gpu": s.internode_bytes,
                    "decode_estimate": _estimate_json(est),
                    "prefill_estimate": _prefill_json(pf_est, pf_why),
                },
                "capacity": dict(sol.capacity),
                "curve": [
                    {
                        "context": c.context,
                        "fits": c.fits,
                        "decode_tokens_per_s": _sig(c.decode_tokens_per_s),
                        "decode_estimate_tokens_per_s": None if e is None else _sig(e.tokens_per_s),
                        "host_expert_layers": c.host_expert_layers,
                    }
                    for c, e in zip(sol.curve, curve_est, strict=True)
                ],
                "notes": list(p.notes),
                "cuda_terms": [term_record(t) for t in p.cuda_terms],
            }
        )
        return 0
    print(f"{model.name} on {machine.describe()} — {rt}, recipe {p.recipe_id} ({why})")
    if pick.runner_up is not None:
        print(f"runner-up: {pick.runner_up} ({pick.runner_up_why})")
    print(
        f"context {p.context:,} tokens × {p.sequences} sequence(s), KV {p.cache_dtype}, goal {sol.goal}"
    )
    for n in machine.notes:
        print(f"  machine: {n}")
    print()
    from ..plan import COMPONENTS

    rows = []
    for q in p.places:
        row: dict[str, object] = {"place": q.name}
        row |= {c: q.bytes_by_component[c] / GB for c in COMPONENTS}
        row |= {
            "total GB": q.total_bytes / GB,
            "margin GB": q.margin_bytes / GB,
            "capacity GB": q.capacity_bytes / GB,
            "headroom GB": q.headroom_bytes / GB,
            "fits": "yes" if q.fits else "NO",
        }
        rows.append(row)
    print("Bytes per place (GB = 1e9 bytes; margin: kept free; headroom: free beyond the margin)")
    print(table(rows))
    print()
    for q in p.places:
        what = []
        if q.layers:
            what.append(f"layers {q.layers[0]}–{q.layers[1] - 1}")
        if q.expert_layers:
            el = q.expert_layers
            what.append(
                f"routed experts of {len(el)} layers ({_ranges(el)}), {q.experts_per_layer} each"
            )
        if q.kind == "host" and p.cuda_terms:
            what.append(f"{pinned_bytes(p.cuda_terms) / 2**20:,.1f} MiB of it pinned (CUDA_Host)")
        print(f"  {q.name}: " + ("; ".join(what) or "-"))
    print()
    v = sol.verdict
    if v is not None:
        print(v.headline if p.fits else v.headline.replace("does NOT fit", "DOES NOT FIT", 1))
        print(f"  margin per GPU: {v.margin}")
    if not p.fits:
        print("(the plan shown overflows least)")
    print()
    print("Flags (one line per runtime; checked against the plan where noted)")
    import shlex

    for other in planner_runtimes():
        f = flags[other]
        print(
            f"  {other:13} "
            + (" ".join(shlex.quote(a) for a in f) if f else f"— {flag_notes.get(other, '')}")
        )
    if chosen is not None:
        print(f"\n{rt}: what the command loads, and how to get it")
        for note in chosen.notes:
            print(f"  - {note}")
        for step in chosen.model_file.steps if chosen.model_file else ():
            print(f"    $ {step}")
    print()
    if not p.fits:
        print("Speed: no bound (no plan fits)")
    else:
        print(
            f"Speed (upper bounds, bytes ÷ bandwidth): decode ≤ {s.decode_tokens_per_s:,.1f} tokens/s "
            f"at {s.batch} sequence(s) (limited by {s.limited_by}); prefill ≤ "
            f"{s.prefill_tokens_per_s:,.0f} tokens/s (weight traffic per ubatch"
            + ("; compute bound: the prefill estimate below)" if pf_est is not None else ")")
        )
        if est is not None:
            shape = "MoE" if est.moe else "dense"
            why = (
                f"fitted on published {shape} runs limited by {est.limit}"
                if est.fitted
                else f"no published {shape} run limited by {est.limit} in the train split: "
                "a wider class's median"
            )
            how = (
                f"a step at the bound ÷ {est.efficiency:.3g} + {est.overhead_s * 1e3:.2g} ms"
                if est.overhead_s
                else f"the bound × {est.efficiency:.3g}"
            )
            print(f"  decode {est.label}: {how}, {why} (data/measured_speed.yaml)")
        if pf_est is not None:
            b = pf_est.bound
            print(
                f"  prefill of a {pf_est.prompt_tokens:,}-token prompt {pf_est.label}: "
                f"min(compute {b.compute_tokens_per_s:,.0f}, weight traffic "
                f"{b.traffic_tokens_per_s:,.0f}) tok/s × {pf_est.efficiency:.3g}, limited by "
                f"{b.limited_by} (dense TFLOPS: data/gpu_compute.yaml; fit: "
                "data/measured_speed.yaml)"
            )
        elif pf_why:
            print(f"  prefill: no estimate ({pf_why})")
    limit = int(model.config.get("max_position_embeddings") or 1_048_576)
    print(capacity_note(sol.capacity, context=p.context, sequences=p.sequences, limit=limit))
    print()
    print(
        "Context vs decode bound (bytes ÷ bandwidth) and estimate (fitted on published runs, "
        "data/measured_speed.yaml), best plan at each context"
    )
    print(table([{"context": c.context, "fits": "yes" if c.fits else "no",
                  "decode tok/s ≤": c.decode_tokens_per_s,
                  "decode estimate tok/s": "-" if e is None else round(e.tokens_per_s, 1),
                  "estimate range": "-" if e is None
                  else f"{e.low_tokens_per_s:,.1f}–{e.high_tokens_per_s:,.1f}",
                  "expert layers on host": c.host_expert_layers}
                 for c, e in zip(sol.curve, curve_est, strict=True)]))  # fmt: skip
    for n in p.notes:
        print(f"  note: {n}")
    if p.cuda_terms:
        print(f"CUDA terms in this plan ({p.cuda_terms[0].kind}):")
        for t in p.cuda_terms:
            print(f"  {t.name}: {t.bytes / 2**20:,.2f} MiB, {t.where} — {t.source}")
    return 0


def _decode_estimate(p: Any, s: Any, model: Any) -> Any:
    """The decode estimate beside the plan's bound (`vramkit.plan.speed_estimate`), or None."""
    from ..plan.speed_estimate import plan_decode_estimate

    return plan_decode_estimate(p, s, model)


def _curve_estimates(p: Any, sol: Any, model: Any) -> list[Any]:
    """Per curve point: the decode estimate beside its bound (None where it does not fit)."""
    from ..plan.speed_estimate import curve_estimates

    return curve_estimates(p, sol.curve, model)


def _prefill_estimate(p: Any, s: Any, model: Any, machine: Any) -> tuple[Any, str]:
    """(the prefill estimate for a prompt of the plan's context, or None, why none)."""
    import math

    from ..plan.speed_estimate import (
        attention_width,
        gpu_flops,
        plan_limit,
        prefill_estimate,
        prefill_flops_per_token,
    )

    if not p.fits or not math.isfinite(s.prefill_tokens_per_s) or s.prefill_tokens_per_s <= 0:
        return None, ""
    gpus = sum(1 for q in p.places if q.kind == "gpu")
    if not gpus:
        return None, "no sourced CPU FLOPS"
    devices = machine.devices[:gpus]
    flops = [gpu_flops(d.gpu_id) for d in devices]
    missing = sorted({d.gpu_id or d.label for d, f in zip(devices, flops, strict=True) if not f})
    if missing:
        return None, f"no sourced dense TFLOPS for {', '.join(missing)} in data/gpu_compute.yaml"
    limit = plan_limit(p.runtime, s.limited_by, gpus)
    one = min(f for f in flops if f)
    compute = one * gpus if limit == "tp" else one  # a layer split runs its GPUs one by one
    layers, width = attention_width(model.config)
    topk = model.config.get("index_topk")
    per_token = prefill_flops_per_token(
        model.params.active,
        p.context,
        layers=layers,
        attn_width=width,
        window=int(topk) if topk else None,
    )
    est = prefill_estimate(
        flops_per_token=per_token,
        compute_flops_per_s=compute,
        traffic_tokens_per_s=s.prefill_tokens_per_s,
        prompt_tokens=p.context,
        limit=limit,
        moe=model.params.active < model.params.main,
    )
    return est, ""


def _prefill_json(est: Any, why: str) -> dict[str, Any] | None:
    if est is None:
        return None if not why else {"tokens_per_s": None, "why": why}
    return {
        "tokens_per_s": _sig(est.tokens_per_s),
        "low_tokens_per_s": _sig(est.low_tokens_per_s),
        "high_tokens_per_s": _sig(est.high_tokens_per_s),
        "prompt_tokens": est.prompt_tokens,
        "compute_tokens_per_s": _sig(est.bound.compute_tokens_per_s),
        "traffic_tokens_per_s": _sig(est.bound.traffic_tokens_per_s),
        "limited_by": est.bound.limited_by,
        "efficiency": _sig(est.efficiency),
        "limit": est.limit,
        "moe": est.moe,
        "fitted": est.fitted,
        "label": "estimate (min(compute, weight-traffic bound) × efficiency fitted on published "
        "prompt-processing runs; spread = held-out 10th–90th percentile)",
    }


def _estimate_json(est: Any) -> dict[str, Any] | None:
    if est is None:
        return None
    return {
        "tokens_per_s": _sig(est.tokens_per_s),
        "low_tokens_per_s": _sig(est.low_tokens_per_s),
        "high_tokens_per_s": _sig(est.high_tokens_per_s),
        "efficiency": _sig(est.efficiency),
        "overhead_ms": _sig(est.overhead_s * 1e3),
        "limit": est.limit,
        "moe": est.moe,
        "fitted": est.fitted,
        "label": "estimate (step = bound step ÷ efficiency + overhead, fitted on published "
        "runs; spread = held-out 10th–90th percentile)",
    }


def _sig(x: float) -> float:
    """6 significant digits: bounds, not measurements (keeps JSON stable across float order)."""
    return float(f"{x:.6g}")


def _ranges(xs: tuple[int, ...]) -> str:
    out, start, prev = [], None, None
    for x in xs:
        if start is None:
            start = prev = x
        elif x == prev + 1:  # type: ignore[operator]
            prev = x
        else:
            out.append(f"{start}–{prev}" if start != prev else str(start))
            start = prev = x
    if start is not None:
        out.append(f"{start}–{prev}" if start != prev else str(start))
    return ", ".join(out)
