"""The counting questions, asked of the planner: the plan on n × one GPU, the smallest n that
fits, the longest context and the best recipe there. `fit`, `budget`, the dashboard, the index,
notebook 04 and the Quick Summary ask these; the placement and the verdict are the planner's
(`candidate_plans` / `best_plan` / `verdict`), never a second formula.

Layouts (``layout``): ``auto`` — every plan `plan_for` searches (vLLM: TP × PP with expert
parallel and the remaining GPUs data-parallel; SGLang: TP with expert parallel); ``tp`` — one
tensor-parallel group, no expert parallel, no pipeline; ``ep`` — the same with expert parallel;
``dp`` — every GPU a whole replica serving ⌈sequences / n⌉ sequences; ``tp_ep`` — ``ep`` (whose
attention is tensor-parallel); ``pp`` — one pipeline stage per GPU. llama.cpp splits layers
(-ts) whatever the layout.

Host RAM: without ``ram`` nothing is offloaded. llama.cpp still keeps its input embedding and
its CPU compute buffer in host RAM (`vramkit.runtimes.llamacpp.placement`), so the plan is given the RAM those need
(÷ `HOST_TIGHT`, whole GB) and no expert layer on the host; with ``ram`` (llama.cpp runtimes
only) the planner may offload routed experts (--n-cpu-moe) as `plan` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, require_int, unknown_name
from ..hardware import Gpu, get_gpu, gpu_working_set
from ..kv import check_context, parse_tokens
from ..quant import Recipe, get_recipe, weight_bytes
from ..units import GB
from ..validate import MAX_GPUS, require_bool
from .layers import layer_costs
from .machine import Machine, catalog_device, parse_host
from .margin import Margin, resolve_margin
from .placement import (
    any_plan_fits,
    best_plan,
    candidate_plans,
    canonical_runtime,
    engine_rules,
    fraction_base,
)
from .recipes import LLAMACPP_RECIPES, smaller_recipes
from .record import Plan
from .search import max_int
from .speed import plan_speed
from .verdict import HOST_TIGHT, Verdict, verdict

if TYPE_CHECKING:
    from .host import Host

COUNTS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""GPU counts `min_devices` tries (powers of two and whole 8-GPU nodes)."""
LAYOUTS = ("auto", "tp", "ep", "dp", "tp_ep", "pp")
_PROBE_RAM = 64 * 10**12
"""Host RAM of the probe that measures what a no-offload llama.cpp plan keeps on the host."""


@dataclass(frozen=True)
class Placed:
    """A plan on n × one GPU: the plan, its machine, its verdict and one sentence of context
    (`note`: what was assumed about the host, or the layout; "" when nothing)."""

    plan: Plan
    machine: Machine
    verdict: Verdict
    count: int
    layout: str
    margin: Margin
    note: str = ""

    @property
    def fits(self) -> bool:
        """The planner's verdict: every place within its capacity with its margin kept."""
        return self.plan.fits


@dataclass(frozen=True)
class DeviceCount:
    """The smallest count in `COUNTS` whose plan fits, or why none does.

    fits: one fits; count: it (None when none does); placed: the plan at that count (else at the
    largest count tried, so its verdict says by how much it misses); reason: one sentence."""

    fits: bool
    count: int | None
    placed: Placed
    reason: str

    @property
    def plan(self) -> Plan:
        """The plan at `count` (or at the largest count tried)."""
        return self.placed.plan

    @property
    def verdict(self) -> Verdict:
        """That plan's verdict (fits / tight / reasons)."""
        return self.placed.verdict


@dataclass(frozen=True)
class RecipeFit:
    """The largest recipe whose plan fits (never larger than the official checkpoint), or why
    none does. tried: (recipe id, weight bytes, fits) largest first; runner_up: the next that
    fits (None: no other)."""

    fits: bool
    recipe_id: str | None
    placed: Placed | None
    tried: tuple[tuple[str, int, bool], ...]
    reason: str
    runner_up: str | None = None


GGUF_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K")
"""llama.cpp file types every model is tried under (as gguf-<type> recipes)."""


def all_recipes(model: str | ModelSpec) -> list[str]:
    """Every recipe that applies to `model`: its official layout first, bf16, the recipes of its
    family (`Family.recipe_candidates`; V4: FP8, NVFP4 and the ds4 mixes), then the llama.cpp
    file types."""

    m = get_model(model)
    ids = [m.checkpoint_layout, "bf16"]
    ids += m.family_record.recipe_candidates
    ids += [f"gguf-{t}" for t in GGUF_TYPES]
    return list(dict.fromkeys(ids))


def _layers(runtime: str) -> bool:
    """True for a runtime that splits layers over GPUs and offloads tensors to host RAM
    (llama.cpp, ik_llama.cpp: its record's capabilities), never by comparing its id."""
    from ..runtimes import get_runtime

    return get_runtime(runtime).capabilities.placement == "layers"


def is_gguf(recipe: str | Recipe) -> bool:
    """True for a llama.cpp file layout: a `gguf-*` file type or a community GGUF mix (ds4-*)."""
    if isinstance(recipe, str) and recipe in LLAMACPP_RECIPES:  # no need to load its formats
        return True
    r = get_recipe(recipe)
    return r.kind == "llamacpp" or r.id in LLAMACPP_RECIPES


def candidate_recipes(model: str | ModelSpec, runtime: str) -> list[str]:
    """Recipes a runtime can load, none larger than the official checkpoint (re-encoding
    released weights in more bits adds nothing), largest first: llama.cpp runtimes the GGUF
    files (`LLAMACPP_RECIPES` and the gguf-* types `GGUF_TYPES`); vLLM / SGLang the
    official layout and the model family's non-GGUF recipes (never a gguf-* file)."""
    m = get_model(model)
    rt = canonical_runtime(runtime)
    family = m.family_record.recipe_candidates
    if _layers(rt):
        ids = [*LLAMACPP_RECIPES, *(r for r in all_recipes(m) if r.startswith("gguf-")),
               "gguf-MXFP4_MOE"]  # fmt: skip
        ids = [r for r in ids if not r.startswith("ds4-") or r in family]  # antirez's V4 mixes
    else:
        ids = [m.checkpoint_layout, "bf16", *family]
        ids = [r for r in ids if not is_gguf(r)]
    official = weight_bytes(m, m.checkpoint_layout).total_bytes
    sizes = {}
    for r in dict.fromkeys(ids):
        try:
            sizes[r] = weight_bytes(m, r).total_bytes
        except VramkitError:  # a recipe the model cannot take (a ds4 mix on another family)
            continue
    keep = [r for r, b in sizes.items() if b <= official or r == m.checkpoint_layout]
    return sorted(keep, key=lambda r: (r == m.checkpoint_layout, sizes[r]), reverse=True)


def default_recipe(model: str | ModelSpec, runtime: str) -> str:
    """The recipe a count is asked for when none is given: vLLM / SGLang the official checkpoint
    layout; llama.cpp runtimes the largest GGUF file no larger than it (a llama.cpp file, not the
    checkpoint), or the smallest gguf-* file when every one is larger."""
    m = get_model(model)
    if not _layers(canonical_runtime(runtime)):
        return m.checkpoint_layout
    ids = [r for r in candidate_recipes(m, runtime) if is_gguf(r)]
    if ids:
        return ids[0]
    sizes = {}
    for r in _gguf_types():
        try:
            sizes[r] = weight_bytes(m, r).total_bytes
        except VramkitError:
            continue
    if not sizes:
        raise VramkitError(f"no GGUF recipe applies to {m.id}; give --recipe.")
    return min(sizes, key=sizes.__getitem__)  # every GGUF file is larger: the smallest


def _gguf_types() -> tuple[str, ...]:
    return tuple(f"gguf-{t}" for t in GGUF_TYPES)


def gpu_machine(
    gpu: str | Gpu, count: int, *, host: Host | None = None, os_share: float | None = None
) -> Machine:
    """`count` × `gpu` (a catalog id, a typed name or a `Gpu`, e.g. a Quick Summary pool) with
    `host`; `os_share` as `vramkit.hardware.gpu_working_set` (unified memory)."""
    g = get_gpu(gpu)
    n = require_int("count", count, minimum=1, maximum=MAX_GPUS)
    if g.bandwidth_bytes_per_s is None:  # the bound needs one; the fit does not
        g = replace(g, bandwidth_bytes_per_s=1.0 * GB)
    one = catalog_device(0, g, None)
    if os_share is not None:
        one = replace(one, usable_bytes=gpu_working_set(g, os_share=os_share)[0])
    devices = tuple(replace(one, index=i) for i in range(n))
    if host is None and g.unified:  # the rest of the pool is the host's (as build_machine)
        from .host import Host

        host = Host(g.memory_bytes - one.usable_bytes, one.bandwidth_bytes_per_s, None,
                    "unified pool outside the GPU working set")  # fmt: skip
    return Machine(devices, host, None, ())


def place(
    model: str | ModelSpec,
    gpu: str | Gpu,
    count: int,
    *,
    runtime: str = "vllm",
    recipe: str | Recipe | None = None,
    context: int | str = 32768,
    sequences: int = 1,
    ram: str | int | None = None,
    margin: object = None,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    layout: str = "auto",
    os_share: float | None = None,
    include_mtp: bool = False,
    allow_extrapolation: bool = False,
) -> Placed:
    """The planner's plan of `model` on `count` × `gpu` and its verdict (see the module
    docstring for layouts and host RAM). `margin` as `plan` takes it (None: the engine's)."""
    m = get_model(model)
    rt = canonical_runtime(runtime)
    n = require_int("count", count, minimum=1, maximum=MAX_GPUS)
    include_mtp = require_bool("include_mtp", include_mtp)
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise unknown_name("parallelism", layout, LAYOUTS)
    if layout == "tp_ep":  # the planner's ep keeps attention tensor-parallel: the same layout
        layout = "ep"
    ctx = require_int("context", parse_tokens(context), minimum=1)
    check_context(m, ctx, allow_extrapolation=allow_extrapolation)
    seqs = require_int("sequences", sequences, minimum=1, maximum=4096)
    r = get_recipe(recipe if recipe is not None else default_recipe(m, rt), model=m)
    if ram is not None and not _layers(rt):
        raise VramkitError(
            f"host RAM is what llama.cpp offloads routed experts to; runtime {runtime!r:.40} does "
            "not offload here (use `vramkit plan` for vLLM's --cpu-offload-gb)."
        )
    host = parse_host(ram) if ram is not None else None
    machine = gpu_machine(gpu, n, host=host, os_share=os_share)
    mg = resolve_margin(margin, rt, memory_bytes=fraction_base(machine, rt))
    costs = layer_costs(m, r)
    kw = {"context": ctx, "cache_dtype": cache_dtype}
    note = ""
    if _layers(rt) and host is None:
        p, machine, note = _no_offload(m, costs, machine, rt, mg, ctx, seqs, cache_dtype, ubatch)
    elif _layers(rt):
        plans = candidate_plans(m, machine, recipe=r, runtime=rt, context=ctx, sequences=seqs,
                                cache_dtype=cache_dtype, ubatch=ubatch, margin=margin)  # fmt: skip
        p = best_plan(plans, lambda q: plan_speed(q, machine, model=m).decode_tokens_per_s)
    else:
        if layout == "ep" and not costs.is_moe:
            raise VramkitError(
                f"{m.id} has no routed experts: expert parallelism needs them; use tensor (tp) "
                "or data (dp) parallelism."
            )
        if layout == "dp":
            served_plan = engine_rules(rt).plan  # the ranks placement (vLLM, SGLang)
            plans = [served_plan(m, costs, Machine(machine.devices[:1], None, None, ()),
                                 runtime=rt, sequences=math.ceil(seqs / n), expert_parallel=False,
                                 pp=1, margin=mg, **kw)]  # fmt: skip
            note = (
                f"data parallel: {n} replicas, each this one-GPU plan with ⌈{seqs}/{n}⌉ sequences"
            )
        elif layout in ("tp", "ep"):
            plans = [engine_rules(rt).plan(m, costs, machine, runtime=rt, sequences=seqs,
                                 expert_parallel=layout == "ep", pp=1, margin=mg, **kw)]  # fmt: skip
        elif layout == "pp":  # one stage per GPU
            plans = [engine_rules(rt).plan(m, costs, machine, runtime=rt, sequences=seqs,
                                 expert_parallel=False, pp=n, margin=mg, **kw)]  # fmt: skip
        else:
            plans = candidate_plans(m, machine, recipe=r, runtime=rt, context=ctx, sequences=seqs,
                                    cache_dtype=cache_dtype, margin=margin)  # fmt: skip
        p = best_plan(plans, lambda q: plan_speed(q, machine, model=m).decode_tokens_per_s)
    if include_mtp:
        p = _with_mtp(m, r, p, rt, seqs, cache_dtype)

    def retry(**changes: object) -> Plan:
        args = {"runtime": runtime, "recipe": r, "context": ctx, "sequences": seqs, "ram": ram,
                "margin": margin, "cache_dtype": cache_dtype, "ubatch": ubatch, "layout": layout,
                "os_share": os_share, "include_mtp": include_mtp,
                "allow_extrapolation": allow_extrapolation}  # fmt: skip
        return place(m, gpu, n, **{**args, **changes}).plan  # type: ignore[arg-type]

    if _layers(rt) and host is None and p.knobs["cpu_layers"]:
        v = Verdict(False, False, (note,), (), mg.why, "")  # the GPUs, not the RAM, are short
    else:
        v = verdict(p, mg.why, retry=retry, smaller_recipes=lambda: smaller_recipes(m, r, rt))
    return Placed(p, machine, v, n, layout, mg, note)


def fits_at(
    model: str | ModelSpec,
    gpu: str | Gpu,
    count: int,
    *,
    runtime: str = "vllm",
    recipe: str | Recipe | None = None,
    context: int | str = 32768,
    sequences: int = 1,
    ram: str | int | None = None,
    margin: object = None,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    layout: str = "auto",
    os_share: float | None = None,
    include_mtp: bool = False,
    allow_extrapolation: bool = False,
) -> bool:
    """``place(...).fits`` (same arguments), the yes/no only. vLLM / SGLang with the ``auto``
    layout and no MTP ask `any_plan_fits` (the plans `place` ranks, stopping at the first that
    fits: no speed bounds, no verdict, no retries); every other case asks `place`."""
    m = get_model(model)
    rt = canonical_runtime(runtime)
    if _layers(rt) or layout != "auto" or include_mtp:
        return place(m, gpu, count, runtime=runtime, recipe=recipe, context=context,
                     sequences=sequences, ram=ram, margin=margin, cache_dtype=cache_dtype,
                     ubatch=ubatch, layout=layout, os_share=os_share, include_mtp=include_mtp,
                     allow_extrapolation=allow_extrapolation).fits  # fmt: skip
    n = require_int("count", count, minimum=1, maximum=MAX_GPUS)
    ctx = require_int("context", parse_tokens(context), minimum=1)
    check_context(m, ctx, allow_extrapolation=allow_extrapolation)
    seqs = require_int("sequences", sequences, minimum=1, maximum=4096)
    r = get_recipe(recipe if recipe is not None else default_recipe(m, rt), model=m)
    if ram is not None:
        raise VramkitError(
            f"host RAM is what llama.cpp offloads routed experts to; runtime {runtime!r:.40} does "
            "not offload here (use `vramkit plan` for vLLM's --cpu-offload-gb)."
        )
    machine = gpu_machine(gpu, n, os_share=os_share)
    return any_plan_fits(m, machine, recipe=r, runtime=rt, context=ctx, sequences=seqs,
                         cache_dtype=cache_dtype, margin=margin)  # fmt: skip


def _no_offload(m, costs, machine, rt, mg, ctx, seqs, cache_dtype, ubatch):
    """llama.cpp with no host RAM given: every layer's experts on the GPUs (--n-cpu-moe 0); the
    host gets what llama.cpp keeps there anyway (the input embedding, the CPU compute buffer),
    ÷ `HOST_TIGHT` in whole GB. Layers the GPUs cannot hold would run from that RAM: the plan
    then does not fit."""
    kw = {"context": ctx, "sequences": seqs, "cpu_expert_layers": 0, "cache_dtype": cache_dtype,
          "ubatch": ubatch, "runtime": rt, "margin": mg}  # fmt: skip
    probe_host = parse_host(_PROBE_RAM)
    layer_plan = engine_rules(rt).plan  # the layers placement (llama.cpp)
    probe = layer_plan(m, costs, replace(machine, host=probe_host), **kw)
    h = probe.place("host").bytes_by_component
    need = h["embeddings/output"] + (
        h["compute buffer"] if not probe.knobs["cpu_layers"] else _host_cb(m, rt, ctx, seqs, ubatch)
    )
    ram = math.ceil(need / HOST_TIGHT / GB) * GB
    host = replace(
        parse_host(ram),
        source="not given: what llama.cpp keeps in host RAM anyway (input embedding, CPU compute "
        "buffer), no offload",
    )
    machine = replace(machine, host=host)
    p = layer_plan(m, costs, machine, **kw)
    note = (
        f"no host RAM given: no offload; the {ram / GB:,.0f} GB of RAM the plan counts hold only "
        "what llama.cpp keeps on the CPU (input embedding, CPU compute buffer)"
    )
    cpu = int(p.knobs["cpu_layers"])
    if cpu:
        h = p.place("host").bytes_by_component
        short = sum(h[k] for k in ("attention+dense", "shared experts", "routed experts",
                                   "KV cache"))  # fmt: skip
        n = len(machine.devices)
        note = (
            f"the {n} GPU(s) hold {costs.n_layers - cpu} of {costs.n_layers} layers: {cpu} "
            f"layers ({short / GB:,.2f} GB of weights and KV) do not fit on them, and no host RAM "
            "was given to offload to"
        )
        keep = tuple(x for x in p.notes if not x.startswith("host RAM filled to"))
        p = replace(p, notes=keep)
    return p, machine, note


def _host_cb(m, rt, ctx, seqs, ubatch) -> int:
    host_compute_buffer = engine_rules(rt).host_compute
    assert host_compute_buffer is not None  # asked on layer-placing runtimes only
    return host_compute_buffer(m, rt, context=ctx, ubatch=ubatch, sequences=seqs,
                               cache_dtype="bf16", host_experts=False, cpu_layers=0,
                               full_bytes=0)[0]  # fmt: skip


def _with_mtp(m: ModelSpec, r: Recipe, p: Plan, rt: str, seqs: int, cache_dtype) -> Plan:
    """The plan with the MTP module loaded (speculative decoding): its KV spread evenly over the
    GPUs that hold layers, and its weights so too (an approximation the note states) — except
    on SGLang, whose draft every GPU holds sharded as the target
    (`vramkit.runtimes.sglang_draft`, an estimate with its measured spread)."""
    from ..kv import kv_cache
    from .costs import kv_profile

    mtp = weight_bytes(m, replace(r, include_mtp=True)).by_group.get("mtp", 0)
    from ..runtimes.engines import mtp_draft

    draft = None
    sglang_draft = mtp_draft(rt) if mtp else None
    if sglang_draft is not None:  # the runtime's own draft model (SGLang: sharded as the target)
        k = p.knobs
        tp = int(k["tp"])
        split = tp * int(k["dp"]) if k["ep"] else tp
        draft = sglang_draft(m, r, tp=tp, experts_split=split)
    kw = {} if cache_dtype is None else {"cache_dtype": cache_dtype}
    with_kv = kv_cache(m, p.context, batch=seqs, runtime=kv_profile(rt), include_mtp=True,
                       allow_extrapolation=True, **kw).total_bytes  # fmt: skip
    extra_kv = max(0, with_kv - p.kv_bytes)
    used = [q for q in p.places if q.kind == "gpu" and q.total_bytes]
    if not used or not (mtp or extra_kv):
        return p
    w, k = math.ceil(mtp / len(used)), math.ceil(extra_kv / len(used))
    if draft is not None:
        # SGLang's draft worker has its own pool (model_runner_kv_cache_mixin.py init_memory:
        # draft_runner_cache_size tokens of num_nextn_predict_layers layers), held per rank as
        # the target's is: its MTP layer's KV per GPU, not the total spread over the GPUs
        tp, dp = int(p.knobs["tp"]), int(p.knobs["dp"])
        one = {"runtime": kv_profile(rt), "tp": tp, "dp": dp, "allow_extrapolation": True, **kw}
        k = max(0, kv_cache(m, p.context, batch=seqs, include_mtp=True, **one).per_gpu_bytes
                - kv_cache(m, p.context, batch=seqs, **one).per_gpu_bytes)  # fmt: skip
        w = draft.per_gpu_bytes
    places = []
    for q in p.places:
        if q in used:
            c = dict(q.bytes_by_component)
            c["attention+dense"] += w
            c["KV cache"] += k
            q = replace(q, bytes_by_component=MappingProxyType(c))
        places.append(q)
    note = (
        f"MTP module loaded: {mtp / GB:,.2f} GB of weights and {extra_kv / GB:,.2f} GB of KV "
        f"spread evenly over {len(used)} GPU(s)"
        if draft is None
        else f"{draft.note()}; its own KV pool {k / GB:,.3f} GB per GPU (the MTP layer's, held "
        "per rank as the target's)"
        + (
            f"; every one of the {p.knobs['pp']} pipeline stages charged the whole draft (where "
            "SGLang keeps it under PP was not read: an upper bound)"
            if int(p.knobs["pp"]) > 1
            else ""
        )
    )
    return replace(p, places=tuple(places), kv_bytes=p.kv_bytes + extra_kv,
                   notes=(*p.notes, note))  # fmt: skip


def min_devices(
    model: str | ModelSpec, gpu: str | Gpu, *, counts: tuple[int, ...] = COUNTS, **kw: object
) -> DeviceCount:
    """The smallest count in `counts` whose plan fits (keyword args as `place`)."""
    if isinstance(counts, str | bytes) or not isinstance(counts, tuple | list) or not counts:
        raise VramkitError(
            f"counts must be a non-empty list of GPU counts such as {COUNTS[:4]}, got "
            f"{type(counts).__name__} {counts!r:.60}."
        )
    counts = tuple(require_int("count", c, minimum=1, maximum=MAX_GPUS) for c in counts)
    if list(counts) != sorted(set(counts)):
        raise VramkitError(f"counts must rise without repeats, got {counts!r:.80}.")
    last = None
    for n in counts:
        if n != counts[-1] and not fits_at(model, gpu, n, **kw):  # type: ignore[arg-type]
            continue  # a yes/no is enough below the count that fits (and the last is placed)
        last = place(model, gpu, n, **kw)  # type: ignore[arg-type]
        if last.fits:
            return DeviceCount(
                True, n, last, f"{n} x {_gpu_id(gpu)} is the smallest count that fits."
            )
    assert last is not None
    return DeviceCount(
        False,
        None,
        last,
        f"no count up to {counts[-1]} fits: at {counts[-1]} x {_gpu_id(gpu)} " + _first(last),
    )


def _first(placed: Placed) -> str:
    """The verdict's first reason, and how many places more are short."""
    reasons = placed.verdict.reasons or ("the plan does not fit",)
    more = f" (and {len(reasons) - 1} more places)" if len(reasons) > 1 else ""
    return reasons[0] + more + "."


def _gpu_id(gpu: str | Gpu) -> str:
    return get_gpu(gpu).id


def longest_context(model: str | ModelSpec, gpu: str | Gpu, count: int, **kw: object) -> int:
    """Longest context (tokens, ≤ the model's limit) whose plan on `count` × `gpu` fits; 0 when
    not even 1 token does (`solve`'s capacity search, over the same plans)."""
    m = get_model(model)
    kw.pop("context", None)
    kw.pop("allow_extrapolation", None)
    limit = int(m.config.get("max_position_embeddings") or 1_048_576)
    return max(0, max_int(1, limit, lambda c: fits_at(m, gpu, count, context=c, **kw)))  # type: ignore[arg-type]


def best_recipe(
    model: str | ModelSpec,
    gpu: str | Gpu,
    count: int,
    *,
    runtime: str = "vllm",
    recipes: list[str] | tuple[str, ...] | None = None,
    **kw: object,
) -> RecipeFit:
    """The largest recipe whose plan on `count` × `gpu` fits (`candidate_recipes` for the
    runtime, or `recipes`), the official layout first; the runner-up is the next that fits."""
    m = get_model(model)
    if recipes is not None and (isinstance(recipes, str) or not isinstance(recipes, list | tuple)):
        raise VramkitError(f"recipes must be a list of recipe ids, got {recipes!r:.80}.")
    kw.pop("recipe", None)
    ids = list(recipes) if recipes is not None else candidate_recipes(m, runtime)
    official = weight_bytes(m, m.checkpoint_layout).total_bytes
    sizes = {get_recipe(r, model=m).id: weight_bytes(m, r).total_bytes for r in ids}
    ranked = sorted(
        (r for r, b in sizes.items() if b <= official or r == m.checkpoint_layout),
        key=lambda r: (r == m.checkpoint_layout, sizes[r]),
        reverse=True,
    )
    tried: list[tuple[str, int, bool]] = []
    chosen: Placed | None = None
    why = ""
    for rid in ranked:
        pl = place(m, gpu, count, runtime=runtime, recipe=rid, **kw)  # type: ignore[arg-type]
        tried.append((rid, sizes[rid], pl.fits))
        if pl.fits and chosen is not None:
            return RecipeFit(True, chosen.plan.recipe_id, chosen, tuple(tried), why, rid)
        if pl.fits:
            chosen = pl
            why = (
                "the official layout fits."
                if rid == m.checkpoint_layout
                else "the largest recipe whose plan fits (the official layout does not)."
            )
    if chosen is not None:
        return RecipeFit(True, chosen.plan.recipe_id, chosen, tuple(tried), why, None)
    return RecipeFit(
        False,
        None,
        None,
        tuple(tried),
        f"none of the {len(tried)} recipes tried (none larger than the official checkpoint) fits.",
    )
