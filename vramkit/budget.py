"""Per-GPU memory budget and GPU fit: weights + KV + workspace + runtime overhead ≤ usable.

One solver: for the planner's runtimes (llama.cpp, ik_llama.cpp, vLLM, SGLang) every figure
here and its verdict come from the placement planner's plan (`vramkit.plan.count.place`), so
`budget`, `min_gpus`, `max_context`, `best_recipe` and `fit_grid` answer what `plan` answers;
the arithmetic below is kept for the runtimes the planner does not model (TensorRT-LLM, the
reference code) and for `weights_per_gpu`.

Per-GPU share under parallelism (what is split, what is replicated):
  tp  tensor parallel: matrices split 1/n (norms, mHC mixers and router replicated); KV as
      `vramkit.kv` splits it (GQA heads split, MLA / V4 latent KV replicated).
  ep  expert parallel: routed experts split (⌈E/n⌉ per GPU), every other weight replicated;
      attention runs data-parallel, so each GPU holds the KV of batch/n sequences.
  dp  data parallel: every weight replicated; each GPU holds the KV of batch/n sequences.
  tp_ep  tensor-parallel attention with expert-parallel experts (vLLM ``--tensor-parallel-size
      n --enable-expert-parallel``: "Use expert parallelism instead of tensor parallelism for MoE
      layers", vllm/config/parallel.py): attention and dense matrices split 1/n as under tp,
      routed experts ⌈E/n⌉ per GPU as under ep; KV split by heads as under tp.
  pp  pipeline parallel: each GPU one stage of consecutive layers (vLLM's ``get_pp_indices``,
      `vramkit.runtimes.vllm.memory.pp_layers`), the embedding on the first and the head on the last; the
      budget is the heaviest stage's, with the KV of its layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from .callable_module import make_callable
from .catalog import ModelSpec, get_model
from .errors import VramkitError, require_int, require_number, unknown_name
from .hardware import Gpu, get_gpu, gpu_working_set
from .quant import Recipe, get_recipe, weight_bytes
from .quant.shares import routed_experts, weights_per_gpu
from .runtimes import Runtime, get_runtime
from .units import GB, GiB
from .validate import MAX_BATCH, MAX_GPUS, check_record, require_bool

PARALLEL = ("auto", "tp", "ep", "dp", "tp_ep", "pp")
"""auto: every layout the planner searches (TP × PP × EP × DP, `vramkit.plan.count`); tp_ep is ep
(the planner's expert parallel keeps attention tensor-parallel, as vLLM's
--enable-expert-parallel does); pp: pipeline stages only."""
COUNTS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""GPU counts `min_gpus` tries (powers of two and whole 8-GPU nodes)."""


@dataclass(frozen=True)
class Budget:
    """Bytes per GPU of one deployment and whether they fit.

    total_bytes = weights_bytes + kv_bytes + workspace_bytes + overhead_bytes + reserve_bytes;
    usable_bytes = the GPU's working set (`vramkit.hardware.gpu_working_set`: the capacity, or on
    unified memory Apple's Metal cap / the pool less the OS share) × runtime fraction of total;
    fits = total_bytes ≤ usable_bytes. All amounts are per GPU, in bytes.
    margin_bytes: what is kept free (llama.cpp's --fit margin, inside overhead_bytes; vLLM /
    SGLang: memory − usable), with margin_why saying where it comes from (`vramkit.plan.margin`).
    """

    model_id: str
    recipe_id: str
    gpu_id: str
    runtime_id: str
    count: int
    parallel: str
    context: int
    batch: int
    weights_bytes: int
    kv_bytes: int
    workspace_bytes: int
    overhead_bytes: int
    reserve_bytes: int
    memory_bytes: int
    usable_bytes: int
    assumptions: tuple[str, ...]
    margin_bytes: int = 0
    margin_why: str = ""
    plan: object = field(default=None, repr=False)
    """The planner's `Plan` these figures are read from (None: a runtime it does not model)."""
    verdict: object = field(default=None, repr=False)
    """That plan's `vramkit.plan.verdict.Verdict` (fits / tight / reasons; None as `plan`)."""
    layout: str = ""
    """The plan's layout in words ('TP 2 × PP 4 with EP', 'layer split 0,1,7 …')."""

    def __post_init__(self) -> None:
        check_record(self)

    @property
    def total_bytes(self) -> int:
        """Bytes this deployment needs on each GPU."""
        return (
            self.weights_bytes
            + self.kv_bytes
            + self.workspace_bytes
            + self.overhead_bytes
            + self.reserve_bytes
        )

    @property
    def headroom_bytes(self) -> int:
        """usable − total (negative: does not fit)."""
        return self.usable_bytes - self.total_bytes

    @property
    def fits(self) -> bool:
        """The planner's verdict when a plan is behind these figures (every place, the host
        included), else per-GPU total ≤ usable."""
        if self.plan is not None:
            return bool(self.plan.fits)  # type: ignore[attr-defined]
        return self.total_bytes <= self.usable_bytes


def check_parallel(model: str | ModelSpec, parallel: str, count: int) -> None:
    """Refuse a split the serving runtimes cannot make, for every family: tensor parallelism
    shards the attention heads evenly (vLLM and SGLang require num_attention_heads % tp == 0);
    expert parallelism needs routed experts and at most one GPU per expert."""
    m = get_model(model)
    n = require_int("count", count, minimum=1, maximum=4096)
    if parallel not in PARALLEL:
        raise unknown_name("parallelism", parallel, PARALLEL)
    if n == 1:
        return
    if parallel == "pp":
        layers = int(m.config.get("num_hidden_layers") or 0)
        if n > layers:
            raise VramkitError(
                f"pipeline parallelism gives each GPU at least one of the {layers} layers of "
                f"{m.id}; {n} GPUs is more than {layers}."
            )
    if parallel in ("tp", "tp_ep"):
        heads = int(m.config.get("num_attention_heads") or 0)
        if heads and heads % n:
            ok = [c for c in COUNTS if heads % c == 0]
            raise VramkitError(
                f"tensor parallelism splits the {heads} attention heads of {m.id} evenly, and "
                f"{n} does not divide {heads}; use {', '.join(map(str, ok))} GPUs, or ep / dp."
            )
    if parallel in ("ep", "tp_ep"):
        experts = routed_experts(m)
        if experts == 0:
            raise VramkitError(
                f"{m.id} has no routed experts: expert parallelism needs them; use tensor (tp) "
                "or data (dp) parallelism."
            )
        if n > experts:
            raise VramkitError(
                f"expert parallelism gives each GPU at least one of the {experts} routed experts "
                f"of {m.id}; {n} GPUs is more than {experts}."
            )


def usable_bytes(
    gpu: Gpu, runtime: Runtime, *, memory_fraction: float | None, os_share: float | None = None
) -> int:
    """Memory the runtime may fill on one GPU: working set × fraction, where the working set is
    `vramkit.hardware.gpu_working_set(gpu, os_share=os_share)` (the one unified-memory rule the
    planner uses too; `os_share` None = that rule).

    The fraction is the runtime's share of TOTAL memory (vLLM 0.92); a runtime without one
    (llama.cpp, reference code, SGLang unless given) uses 1.0; TensorRT-LLM's fraction applies to
    FREE memory and is charged as a KV reserve instead (see `budget`).
    """
    mem = gpu_working_set(gpu, os_share=os_share)[0]
    frac = memory_fraction if memory_fraction is not None else runtime.memory_fraction
    if frac is None or runtime.fraction_of == "free":
        return mem
    return math.floor(mem * frac)


def budget(
    model: str | ModelSpec,
    gpu: str | Gpu,
    *,
    count: int = 1,
    recipe: str | Recipe | None = None,
    context: int = 32768,
    batch: int = 1,
    parallel: str = "auto",
    runtime: str | Runtime = "vllm",
    cache_dtype: str | None = None,
    memory_fraction: float | None = None,
    os_share: float | None = None,
    include_mtp: bool = False,
    allow_extrapolation: bool = False,
    margin: object = None,
    ram: str | int | None = None,
) -> Budget:
    """Per-GPU bytes of serving `model` on `count` × `gpu` and whether it fits.

    Planner runtimes (llama.cpp, ik_llama.cpp, vLLM, SGLang): the figures of the planner's
    plan (`vramkit.plan.count.place`) on its GPU with the least headroom, and its verdict;
    `parallel` 'auto' (every layout `plan` searches), 'tp', 'ep' or 'dp'; `ram` (llama.cpp) lets
    routed experts go to host RAM. Other runtimes: the arithmetic below ('auto' = 'tp').

    `margin`: kept free per GPU ('1GiB', '10%', bytes; None: the engine's own), resolved by the
    planner's one rule (`vramkit.plan.margin.resolve_margin`): llama.cpp's replaces its fit margin
    in the overhead, vLLM's / SGLang's sets the memory fraction (not both with `memory_fraction`).

    A context past the model's max_position_embeddings is refused unless `allow_extrapolation`
    asks for the what-if (`vramkit.kv.check_context`, the rule `kv` and `plan` use too).

    Notes
    -----
    total = weights (split per `parallel`) + KV (`vramkit.kv.kv_cache(...).per_gpu_bytes`)
    + workspace (runtime's activation peak) + overhead (CUDA context + NCCL when split under tp/ep,
    else non-torch memory; + llama.cpp's fit margin) + reserve (TensorRT-LLM: KV × (1/f − 1)).
    """
    from .kv import check_context, kv_cache

    m = get_model(model)
    g = get_gpu(gpu)
    rt = get_runtime(runtime)
    r = get_recipe(recipe, model=m)
    n = require_int("count", count, minimum=1, maximum=MAX_GPUS)
    ctx = require_int("context", _tokens(context), minimum=1)
    check_context(m, ctx, allow_extrapolation=allow_extrapolation)
    b = require_int("batch", batch, minimum=1, maximum=MAX_BATCH)
    include_mtp = require_bool("include_mtp", include_mtp)
    share = (
        None
        if os_share is None
        else require_number("os_share", os_share, minimum=0.0, maximum=0.95)
    )
    if memory_fraction is not None:
        memory_fraction = require_number(
            "memory_fraction", memory_fraction, minimum=0.05, maximum=1.0
        )
    if parallel not in PARALLEL:
        raise unknown_name("parallelism", parallel, PARALLEL)
    if parallel != "auto":
        check_parallel(m, parallel, n)
    planner = rt.short_name if rt.plans else None  # the planner's name for it
    if planner is not None:
        if memory_fraction is not None:
            if margin is not None:
                raise VramkitError(
                    "give margin or memory_fraction, not both: a margin sets the memory fraction."
                )
            margin = f"{round((1 - memory_fraction) * 100, 6):g}%"
        from .plan.count import place

        pl = place(m, g, n, runtime=planner, recipe=recipe, context=ctx, sequences=b,
                   ram=ram, margin=margin, cache_dtype=cache_dtype, layout=parallel,
                   os_share=share, include_mtp=include_mtp,
                   allow_extrapolation=allow_extrapolation)  # fmt: skip
        out = from_placed(pl, g, rt, batch=b)
        k = pl.plan.knobs
        if b > 1 and rt.kv.has("batch_steady_state") and parallel != "dp":
            from .runtimes.vllm.batch import vllm_batch_kv

            kv_kw = {} if cache_dtype is None else {"cache_dtype": cache_dtype}
            both = vllm_batch_kv(m, ctx, batch=b, runtime=rt, tp=int(k["tp"]), dp=int(k["dp"]),
                                 allow_extrapolation=True, **kv_kw)  # fmt: skip
            note = (
                f"KV for batch {b}: vLLM's per-request admission arithmetic x batch, "
                f"{both.admission_per_gpu_bytes:,} B per GPU before the pipeline split (what the "
                f"planner charges); the physical steady state would be "
                f"{both.steady_state_per_gpu_bytes:,} B (window pages for the "
                f"{both.in_flight_tokens:,} in-flight tokens once per engine step; "
                "vramkit.runtimes.vllm.batch)"
            )
            out = replace(out, assumptions=(*out.assumptions, note))
        return out
    if ram is not None:
        raise VramkitError(f"host RAM offload is planned for llama.cpp only, not {rt.name}.")
    if parallel == "auto":
        parallel = "tp"  # the arithmetic's layouts: one tensor-parallel group
    mg = _margin(rt, g, margin, memory_fraction, share)
    if mg is not None and mg.memory_fraction < 1.0:
        memory_fraction = mg.memory_fraction
    tp, dp = (n, 1) if parallel in ("tp", "tp_ep") else ((1, 1) if parallel == "pp" else (1, n))
    kv_kw: dict[str, object] = {} if cache_dtype is None else {"cache_dtype": cache_dtype}
    if include_mtp:
        kv_kw["include_mtp"] = True  # the MTP layer's cache comes with its weights
    kv = kv_cache(m, ctx, batch=b, runtime=rt, tp=tp, dp=dp,
                  allow_extrapolation=allow_extrapolation, **kv_kw)  # fmt: skip
    kv_bytes = int(kv.per_gpu_bytes)
    if parallel == "pp" and n > 1:  # the heaviest stage's layers hold their share of the KV
        layers = int(m.config.get("num_hidden_layers") or 1)
        kv_bytes = math.ceil(kv_bytes * (-(-layers // n)) / layers)
    batch_note = ""
    if b > 1 and rt.kv.has("batch_steady_state"):
        from .runtimes.vllm.batch import vllm_batch_kv

        both = vllm_batch_kv(m, ctx, batch=b, runtime=rt, tp=tp, dp=dp,
                             allow_extrapolation=allow_extrapolation, **kv_kw)  # fmt: skip
        if both.steady_state_per_gpu_bytes != kv_bytes:
            batch_note = (
                f"KV for batch {b}: the physical steady state, {both.steady_state_per_gpu_bytes:,} B "
                f"per GPU (window pages for the {both.in_flight_tokens:,} in-flight tokens once per "
                f"engine step); vLLM's per-request admission arithmetic x batch would be "
                f"{both.admission_per_gpu_bytes:,} B (vramkit.runtimes.vllm.batch)"
            )
            kv_bytes = both.steady_state_per_gpu_bytes
    split = n > 1 and parallel in ("tp", "ep", "tp_ep", "pp")
    overhead = rt.overhead_bytes(split=split)
    if mg is not None and mg.memory_fraction >= 1.0:  # a fixed margin replaces the fit margin
        overhead += mg.bytes_for(gpu_working_set(g, os_share=share)[0]) - rt.margin_bytes
    workspace, compute_note = rt.workspace_bytes, ""
    from .runtimes.engines import compute_buffer

    compute = compute_buffer(rt)
    if compute is not None:  # e.g. llama.cpp: vramkit.runtimes.llamacpp.memory.budget_compute_bytes
        workspace, compute_note = compute(m, context=ctx, batch=b, cache_dtype=kv.cache_dtype)
    frac = memory_fraction if memory_fraction is not None else rt.memory_fraction
    reserve = 0
    if rt.fraction_of == "free" and frac:
        reserve = math.ceil(kv_bytes * (1.0 / frac - 1.0))
    notes = [
        (
            f"memory {g.memory_text}: {g.capacity_bytes:,} bytes "
            + (
                "as the driver reports it (measured)"
                if g.visible_memory_bytes
                else "(vendor figure; GB = 1e9, GiB = 2**30)"
            )
        ),
        f"runtime {rt.id}: " + _fraction_note(rt, frac),
        compute_note or "overhead and workspace are estimates from data/runtimes.yaml",
        f"KV: {kv.cache_dtype} cache in the {kv.layout} layout",
        *([batch_note] if batch_note else []),
        *(
            [
                f"pipeline of {n} stages (vLLM's get_pp_indices): the heaviest stage's weights and "
                "its layers' share of the KV (layers taken as equal in KV)"
            ]
            if parallel == "pp" and n > 1
            else []
        ),
        *kv.notes,
    ]
    if g.unified:
        ws, why = gpu_working_set(g, os_share=share)
        notes.append(
            f"unified memory: the GPU may fill {ws / GB:,.2f} GB of the {g.capacity_bytes / GB:,.0f}"
            f" GB pool — {why}"
        )
    if not include_mtp:
        notes.append("MTP module not loaded (needed only for speculative decoding)")
    usable = usable_bytes(g, rt, memory_fraction=memory_fraction, os_share=share)
    ws_bytes = gpu_working_set(g, os_share=share)[0]
    if mg is not None and mg.memory_fraction >= 1.0:
        kept, kept_why = mg.bytes_for(ws_bytes), mg.why
    elif rt.fraction_of == "total" and memory_fraction is not None:
        kept = ws_bytes - usable
        kept_why = mg.why if mg is not None else f"memory fraction {memory_fraction:g} (given)"
    else:
        kept = rt.margin_bytes
        kept_why = "no margin kept" if not kept else "the runtime record's fit margin"
    return Budget(
        model_id=m.id,
        recipe_id=r.id,
        gpu_id=g.id,
        runtime_id=rt.id,
        count=n,
        parallel=parallel,
        context=ctx,
        batch=b,
        weights_bytes=weights_per_gpu(m, r, count=n, parallel=parallel, include_mtp=include_mtp),
        kv_bytes=kv_bytes,
        workspace_bytes=workspace,
        overhead_bytes=overhead,
        reserve_bytes=reserve,
        memory_bytes=g.capacity_bytes,
        usable_bytes=usable,
        assumptions=tuple(notes),
        margin_bytes=kept,
        margin_why=kept_why,
    )


def _margin(rt: Runtime, g: Gpu, margin: object, memory_fraction: float | None, share):
    """The planner's `Margin` for this budget: None when the budget keeps the record's figures
    (no margin given and no engine default to show), else `resolve_margin`'s answer."""
    from .plan.margin import resolve_margin

    planner = rt.short_name if rt.plans else None
    if margin is None:
        if planner is None or memory_fraction is not None:
            return None
        return resolve_margin(None, planner)
    if memory_fraction is not None:
        raise VramkitError(
            "give margin or memory_fraction, not both: a margin sets the memory fraction."
        )
    if planner is None:
        raise VramkitError(
            f"margin is modelled for llama.cpp, ik_llama.cpp, vLLM and SGLang, not {rt.id}; use "
            "memory_fraction."
        )
    ws = gpu_working_set(g, os_share=share)[0]
    return resolve_margin(margin, planner, memory_bytes=ws)


def _fraction_note(rt: Runtime, frac: float | None) -> str:
    if frac is None:
        return "no memory-fraction reservation (whole memory usable)"
    of = (
        "of the memory free after weights, for KV"
        if rt.fraction_of == "free"
        else "of total memory"
    )
    return f"uses {frac:g} {of}"


def _tokens(context: object) -> object:
    """A context given as text ("128K", "1M") read by the one context parser; other values as given."""
    if isinstance(context, str):
        from .kv import parse_tokens

        return parse_tokens(context)
    return context


def _max_context(model: ModelSpec) -> int:
    return int(model.config.get("max_position_embeddings") or 1_048_576)


def from_placed(placed: object, gpu: Gpu, runtime: Runtime, *, batch: int) -> Budget:
    """The `Budget` of a planner answer (`vramkit.plan.count.Placed`): the line items of the
    plan's GPU with the least headroom (weights = attention+dense + shared + routed experts +
    embeddings/output; workspace = its compute buffer; overhead = its runtime overhead; usable =
    capacity − the margin kept), the plan, its verdict and its layout; `fits` is the plan's."""
    from .plan.count import Placed

    assert isinstance(placed, Placed)
    p = placed.plan
    gpus_ = [q for q in p.places if q.kind == "gpu"]
    q = min([q for q in gpus_ if q.total_bytes] or gpus_, key=lambda x: x.headroom_bytes)
    c = q.bytes_by_component
    weights = sum(c[k] for k in ("attention+dense", "shared experts", "routed experts",
                                 "embeddings/output"))  # fmt: skip
    layout = layout_text(p)
    cuda = runtime.capabilities.fraction_of_cuda_total and not gpu.unified
    cuda = cuda and gpu.cuda_total_bytes is not None and q.capacity_bytes == gpu.cuda_total_bytes
    notes = [
        (
            f"memory {gpu.memory_text}: {q.capacity_bytes:,} bytes ({q.capacity_bytes / GiB:,.2f} "
            f"GiB), the device total CUDA reports, which {runtime.name}'s memory fraction "
            f"multiplies (data/gpus.yaml cuda_total_memory, from a logged run; nvidia-smi shows "
            f"{gpu.capacity_bytes:,})"
            if cuda
            else f"memory {gpu.memory_text}: {gpu.capacity_bytes:,} bytes "
            + (
                "as the driver reports it (measured)"
                if gpu.visible_memory_bytes
                else "(vendor figure; GB = 1e9, GiB = 2**30)"
            )
        ),
        f"placement by the planner (vramkit.plan, as `plan` answers): {layout}; the figures are "
        f"{q.name}'s, the GPU with the least headroom",
        *([placed.note] if placed.note else []),
        f"verdict: {placed.verdict.headline}",
        f"margin kept free per GPU: {placed.margin.why}",
        "overhead and workspace are estimates from data/runtimes.yaml",
        f"KV: {p.cache_dtype} cache in the {runtime.id} layout",
        *p.notes,
    ]
    if not any(n.startswith("MTP module loaded") for n in p.notes):
        notes.append("MTP module not loaded (needed only for speculative decoding)")
    if gpu.unified:
        notes.append(
            f"unified memory: the GPU may fill {q.capacity_bytes / GB:,.2f} GB of the "
            f"{gpu.capacity_bytes / GB:,.0f} GB pool — {gpu_working_set(gpu)[1]}"
        )
    return Budget(
        model_id=p.model_id,
        recipe_id=p.recipe_id,
        gpu_id=gpu.id,
        runtime_id=runtime.id,
        count=placed.count,
        parallel=placed.layout,
        context=p.context,
        batch=batch,
        weights_bytes=weights,
        kv_bytes=c["KV cache"],
        workspace_bytes=c["compute buffer"],
        overhead_bytes=c["runtime overhead"],
        reserve_bytes=0,
        memory_bytes=q.capacity_bytes if cuda else gpu.capacity_bytes,
        usable_bytes=q.capacity_bytes - q.margin_bytes,
        assumptions=tuple(notes),
        margin_bytes=q.margin_bytes,
        margin_why=placed.margin.why,
        plan=p,
        verdict=placed.verdict,
        layout=layout,
    )


def layout_text(plan: object) -> str:
    """A plan's layout in words: 'TP 2 × PP 4 with EP (DP 1)' or 'layer split -ts 0,1,7 …'."""
    k = plan.knobs  # type: ignore[attr-defined]
    if "tp" in k:
        text = f"TP {k['tp']} × PP {k['pp']}" + (" with EP" if k["ep"] else "")
        if k["dp"] > 1:
            text += f", DP {k['dp']}"
        if k.get("cpu_offload_gb"):
            text += f", --cpu-offload-gb {k['cpu_offload_gb']}"
        return text
    split = ",".join(str(x) for x in k["tensor_split"])
    return f"llama.cpp layer split -ts {split}, --n-cpu-moe {k['n_cpu_moe']}"


def _planned(model: str | ModelSpec, gpu: str | Gpu, kw: dict[str, object]):
    """(model, gpu, runtime, the planner's runtime name or None, `place` keywords) for the
    budget keyword args `kw` (count excluded)."""
    m, g = get_model(model), get_gpu(gpu)
    rt = get_runtime(kw.get("runtime", "vllm"))  # type: ignore[arg-type]
    planner = rt.short_name if rt.plans else None  # the planner's name for it
    if planner is None or kw.get("memory_fraction") is not None:
        return m, g, rt, None, {}
    skip = ("runtime", "batch", "parallel", "count", "memory_fraction")
    pk = {k: v for k, v in kw.items() if k not in skip}
    pk["sequences"] = require_int("batch", kw.get("batch", 1), minimum=1, maximum=MAX_BATCH)
    pk["layout"] = kw.get("parallel", "auto")
    if "os_share" in pk and pk["os_share"] is not None:
        pk["os_share"] = require_number("os_share", pk["os_share"], minimum=0.0, maximum=0.95)
    if "context" in pk:
        pk["context"] = _tokens(pk["context"])
    return m, g, rt, planner, pk


@dataclass(frozen=True)
class GpuCount:
    """The smallest GPU count in `COUNTS` that fits, or why none does.

    fits: a count fits; count: it (None when none up to the largest tried does); budget: the
    fitting budget, else the one at the largest count tried (its headroom says by how much it
    misses); reason: one sentence saying which."""

    fits: bool
    count: int | None
    budget: Budget
    reason: str


def min_gpus(model: str | ModelSpec, gpu: str | Gpu, **kw: object) -> GpuCount:
    """The smallest count in `COUNTS` whose budget fits (keyword args as `budget`), as a
    `GpuCount` that says why when none does. Planner runtimes: `vramkit.plan.count.min_devices`."""
    m, g, rt, planner, pk = _planned(model, gpu, kw)
    if planner is not None:
        from .plan.count import min_devices

        found = min_devices(m, g, runtime=planner, counts=COUNTS, **pk)  # type: ignore[arg-type]
        b = from_placed(found.placed, g, rt, batch=int(pk["sequences"]))  # type: ignore[call-overload]
        return GpuCount(found.fits, found.count, b, found.reason)
    b = None
    for n in COUNTS:
        b = budget(model, gpu, count=n, **kw)  # type: ignore[arg-type]
        if b.fits:
            return GpuCount(True, n, b, f"{n} x {b.gpu_id} is the smallest count that fits.")
    assert b is not None
    short = -b.headroom_bytes
    return GpuCount(
        False,
        None,
        b,
        f"no count up to {COUNTS[-1]} fits: at {COUNTS[-1]} x {b.gpu_id} each GPU needs "
        f"{short:,} bytes more than it can use.",
    )


def max_context(model: str | ModelSpec, gpu: str | Gpu, **kw: object) -> int:
    """Longest context (tokens) that fits, 0 if none does (binary search; KV grows with context).
    Planner runtimes: `vramkit.plan.count.longest_context` (the search `plan`'s capacity runs)."""
    m, g, _rt, planner, pk = _planned(model, gpu, kw)
    if planner is not None:
        from .plan.count import longest_context

        n = require_int("count", kw.get("count", 1), minimum=1, maximum=MAX_GPUS)
        return longest_context(m, g, n, runtime=planner, **pk)  # type: ignore[arg-type]
    lo, hi = 0, _max_context(m)
    if budget(m, gpu, context=hi, **kw).fits:  # type: ignore[arg-type]
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if budget(m, gpu, context=mid, **kw).fits:  # type: ignore[arg-type]
            lo = mid
        else:
            hi = mid
    return lo


def candidate_recipes(model: str | ModelSpec) -> list[str]:
    """Every recipe that applies to `model` (`vramkit.plan.count.all_recipes`): its official
    layout first, bf16, its family's recipes, then the llama.cpp file types."""
    from .plan.count import all_recipes

    return all_recipes(model)


@dataclass(frozen=True)
class RecipeChoice:
    """The highest-precision recipe that fits, or why none does.

    fits: one fits; recipe_id / budget: it and its budget (None when none fits); tried: (recipe
    id, weight bytes, fits) for every recipe considered, largest first; reason: one sentence;
    runner_up: the next-largest recipe that also fits (None: no other fits)."""

    fits: bool
    recipe_id: str | None
    budget: Budget | None
    tried: tuple[tuple[str, int, bool], ...]
    reason: str
    runner_up: str | None = None


def best_recipe(
    model: str | ModelSpec, gpu: str | Gpu, *, recipes: list[str] | None = None, **kw: object
) -> RecipeChoice:
    """The fitting budget of highest precision: the official layout if it fits, else the recipe
    with the most weight bytes that fits. Planner runtimes: `vramkit.plan.count.best_recipe`
    (llama.cpp runtimes try GGUF files only; vLLM / SGLang never a GGUF file). Recipes larger than the official checkpoint are skipped:
    re-encoding released weights (V4's FP4 experts) in more bits adds no information."""
    m = get_model(model)
    if recipes is not None and (isinstance(recipes, str) or not isinstance(recipes, list | tuple)):
        raise VramkitError(f"recipes must be a list of recipe ids, got {recipes!r:.80}.")
    m, g, rt, planner, pk = _planned(m, gpu, kw)
    if planner is not None:
        from .plan.count import best_recipe as planned_best

        n = require_int("count", kw.get("count", 1), minimum=1, maximum=MAX_GPUS)
        pick = planned_best(m, g, n, runtime=planner, recipes=recipes, **pk)  # type: ignore[arg-type]
        chosen = (
            from_placed(pick.placed, g, rt, batch=int(pk["sequences"]))  # type: ignore[call-overload]
            if pick.placed is not None
            else None
        )
        return RecipeChoice(pick.fits, pick.recipe_id, chosen, pick.tried, pick.reason,
                            pick.runner_up)  # fmt: skip
    official = weight_bytes(m, m.checkpoint_layout).total_bytes
    ids = recipes or candidate_recipes(m)
    if not rt.capabilities.serves_gguf:  # it loads checkpoints, not llama.cpp files
        from .plan.count import is_gguf

        ids = [r for r in ids if recipes is not None or not is_gguf(r)]
    sizes = {r: weight_bytes(m, r).total_bytes for r in ids}
    ranked = sorted(
        (r for r, size in sizes.items() if size <= official or r == m.checkpoint_layout),
        key=lambda r: (r == m.checkpoint_layout, sizes[r]),
        reverse=True,
    )
    tried: list[tuple[str, int, bool]] = []
    chosen: Budget | None = None
    why = ""
    for rid in ranked:
        b = budget(m, gpu, recipe=rid, **kw)  # type: ignore[arg-type]
        tried.append((b.recipe_id, sizes[rid], b.fits))
        if b.fits and chosen is not None:  # the runner-up: the next-largest that fits
            return RecipeChoice(True, chosen.recipe_id, chosen, tuple(tried), why, b.recipe_id)
        if b.fits:
            chosen = b
            why = (
                "the official layout fits"
                if rid == m.checkpoint_layout
                else (
                    "the official layout does not fit; this is the largest smaller recipe that does"
                )
            ) + "."
    if chosen is not None:
        return RecipeChoice(True, chosen.recipe_id, chosen, tuple(tried), why, None)
    return RecipeChoice(
        False,
        None,
        None,
        tuple(tried),
        f"none of the {len(tried)} recipes tried (none larger than the official checkpoint) fits.",
    )


def fit_grid(
    models: list[str], recipes: list[str], contexts: list[int], gpu: str | Gpu, **kw: object
) -> list[dict[str, object]]:
    """Rows {model, recipe, context, min_gpus (None: none up to 256 fits)} for a heatmap; a recipe
    id 'official' means each model's checkpoint layout."""
    rows = []
    for mid in models:
        m = get_model(mid)
        for rec in recipes:
            rid = get_recipe(rec, model=m).id
            for ctx in contexts:
                found = min_gpus(m, gpu, recipe=rid, context=ctx, **kw)
                rows.append({"model": m.id, "recipe": rec, "context": ctx, "min_gpus": found.count})
    return rows


make_callable(__name__)  # vramkit.budget(...) calls budget() (vramkit.callable_module)
