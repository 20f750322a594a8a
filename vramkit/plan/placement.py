"""Placement: which bytes of a model live on which device, on the host, or on disk.

Pure functions over `LayerCosts` (weights per layer), `vramkit.kv.kv_cache` (KV) and the runtime
profiles (`data/runtimes.yaml`). One `Plan` per (model, recipe, machine, runtime, context,
sequences); `plan()` searches the runtime's own knobs for the best decode-speed bound that fits.

Runtime rules modelled (sources in `vramkit.plan.flags`):
  llama.cpp  layers split over GPUs in contiguous ranges (-ts), the first layers on the CPU when
             -ngl < n_layer + 1, the input embedding always on the CPU, the output layer with the
             last layer; routed experts of chosen layers kept in host RAM (-ot / --n-cpu-moe);
             a layer's KV lives on its layer's device; a compute buffer per GPU.
  vLLM       tensor parallel over identical GPUs (heads divisible), optional expert parallel
             (experts divisible), data parallel for the remaining GPUs; --cpu-offload-gb streams
             weights from host RAM; KV pool = utilisation × memory − weights − overheads.
  SGLang     tensor parallel; --mem-fraction-static covers weights + KV pool.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, require_int, shown, unknown_name
from ..kv import parse_tokens
from ..quant import Recipe, get_recipe
from ..runtimes import Runtime, get_runtime, planner_runtimes
from ..runtimes.llamacpp.cuda import LayoutCharge, pads_per_layer
from .layers import LayerCosts, kv_per_layer, layer_costs
from .machine import Machine
from .margin import Margin, engine_margin, resolve_margin

COMPONENTS = (
    "attention+dense",
    "shared experts",
    "routed experts",
    "embeddings/output",
    "KV cache",
    "compute buffer",
    "runtime overhead",
)
"""Rows of a plan's per-place table, in bytes."""
GOALS = ("speed", "fit", "context", "concurrency")


@dataclass(frozen=True)
class Place:
    """One place (a GPU, the host, or disk) and the bytes a plan puts there, by component.

    layers: the layers whose attention/dense weights (and KV) live here, as (first, last+1);
    expert_layers: layers whose routed experts live here (experts_per_layer of them each);
    margin_bytes: bytes the plan keeps free here (`vramkit.plan.margin`; not in the total).
    """

    name: str
    kind: str
    capacity_bytes: int
    bytes_by_component: Mapping[str, int]
    layers: tuple[int, int] | None = None
    expert_layers: tuple[int, ...] = ()
    experts_per_layer: int = 0
    bandwidth_bytes_per_s: float = 0.0
    margin_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        """Σ components (bytes)."""
        return sum(self.bytes_by_component.values())

    @property
    def headroom_bytes(self) -> int:
        """capacity − margin − total: bytes free beyond the margin (negative: short by that)."""
        return self.capacity_bytes - self.margin_bytes - self.total_bytes

    @property
    def fits(self) -> bool:
        """total + margin ≤ capacity."""
        return self.headroom_bytes >= 0


@dataclass(frozen=True)
class Plan:
    """A placement and whether it fits; `knobs` are the runtime settings that realise it."""

    model_id: str
    recipe_id: str
    runtime: str
    machine: str
    context: int
    sequences: int
    cache_dtype: str
    places: tuple[Place, ...]
    knobs: Mapping[str, object]
    kv_bytes: int
    notes: tuple[str, ...] = field(default=())
    cuda_terms: tuple[Any, ...] = field(default=())
    """What llama.cpp's CUDA backend adds on a GPU plan (`vramkit.runtimes.llamacpp.cuda.CudaTerm`:
    name, bytes, where, source, kind), each already counted in the places' components."""

    @property
    def fits(self) -> bool:
        """Every place within its capacity."""
        return all(p.fits for p in self.places)

    @property
    def host_expert_layers(self) -> tuple[int, ...]:
        """Layers whose routed experts sit in host RAM (or on disk)."""
        return tuple(sorted(i for p in self.places if p.kind != "gpu" for i in p.expert_layers))

    def place(self, name: str) -> Place:
        """The place called `name` ('GPU0', 'host', …)."""
        for p in self.places:
            if p.name == name:
                return p
        raise unknown_name("place", name, [p.name for p in self.places])


def require_plan(plan: object) -> Plan:
    """`plan` if it is a `Plan` (from `plan_for`, `solve(...).plan` …), else one error."""
    if not isinstance(plan, Plan):
        raise VramkitError(
            f"plan must be a Plan (vramkit.plan.plan_for(model, machine) or solve(...).plan), got "
            f"{type(plan).__name__} {shown(plan)}."
        )
    return plan


def canonical_runtime(runtime: str) -> str:
    """A runtime id or alias (`vramkit.runtimes.get_runtime`) → the id of a runtime the planner
    places models for (`planner_runtimes`: 'llama.cpp', 'ik_llama.cpp', 'vllm', 'sglang')."""
    rt = None
    if isinstance(runtime, str):
        try:
            rt = get_runtime(runtime)
        except VramkitError:
            rt = None
    if rt is None or not rt.plans:
        raise unknown_name("planner runtime", runtime, planner_runtimes())
    return rt.short_name


def planner_record(runtime: str) -> Runtime:
    """The runtime record of a planner runtime (`canonical_runtime`), for its capabilities."""
    return get_runtime(canonical_runtime(runtime))


def _profile(runtime: str) -> Runtime:
    """The record whose overheads and compute buffer the plan charges: the runtime's own, or
    the one its record names (``plan_overheads_of``; ik_llama.cpp: llama.cpp's, an estimate)."""
    rt = get_runtime(runtime)
    base = rt.capabilities.plan_overheads_of
    return get_runtime(base) if base else rt


def _kv_profile(runtime: str) -> Runtime:
    """The record whose KV layout the plan charges: always the runtime's own (ik_llama.cpp sizes
    its caches its own way: raw K on every layer for DeepSeek V4)."""
    return get_runtime(runtime)


def compute_buffer_bytes(
    model: ModelSpec,
    runtime: str,
    *,
    context: int,
    ubatch: int,
    sequences: int = 1,
    cache_dtype: str = "bf16",
    ik: object = None,
) -> int:
    """Compute (activation) buffer per GPU in bytes: the runtime's compute-buffer function when
    its record says ``compute_buffer_computed`` (registered in `vramkit.runtimes.engines`, called
    as the budget calls it; ik_llama.cpp's own under its options `ik`), else the one of the
    record it takes its overheads from, else a fixed workspace figure — what `vramkit.budget`
    charges."""
    from ..runtimes.engines import compute_buffer

    own = compute_buffer(runtime)
    if own is not None:
        kw = {} if ik is None else {"options": ik}
        out = own(model, context=context, batch=sequences, cache_dtype=cache_dtype,
                  n_ubatch=ubatch, **kw)  # fmt: skip
        return int(out[0] if isinstance(out, tuple) else out)
    rt = _profile(runtime)
    fn = compute_buffer(rt)
    if fn is None:
        return rt.workspace_bytes
    out = fn(model, context=context, batch=sequences, cache_dtype=cache_dtype, n_ubatch=ubatch)
    return int(out[0] if isinstance(out, tuple) else out)


def host_compute_buffer(
    model: ModelSpec,
    runtime: str,
    *,
    context: int,
    ubatch: int,
    sequences: int,
    cache_dtype: str,
    host_experts: bool,
    cpu_layers: int,
    full_bytes: int,
    gpus: int = 1,
    ik: object = None,
) -> tuple[int, str]:
    """The host's compute buffer on a llama.cpp plan (bytes) and the note saying how: with
    every layer on a GPU, llama.cpp's CPU backend buffer (graph inputs and the host experts'
    intermediates, `runtimes.llamacpp.memory.host_compute_bytes`, an estimate from tensor shapes); with
    whole layers on the CPU it also runs their attention, so the host is charged the larger of
    that and the whole graph's compute buffer (`full_bytes`, the CPU projection) — an estimate:
    not proven an upper bound (the CPU backend's buffer holds its graph splits' inputs too).
    An engine whose host expert layer differs (ik_llama.cpp's fused MoE, -fmoe, on by default:
    one up/gate output, not three) gives its own sequence (`runtimes.engines.host_expert_sequence`)."""
    from ..runtimes.engines import host_expert_sequence
    from ..runtimes.llamacpp.memory import budget_host_compute

    seq = host_expert_sequence(runtime, ik)
    est = budget_host_compute(model, context=context, batch=sequences, cache_dtype=cache_dtype,
                              n_ubatch=ubatch, host_experts=host_experts, gpus=gpus,
                              expert_sequence=seq)  # fmt: skip
    if cpu_layers:
        b = max(est.bytes, full_bytes)
        return b, (
            f"host compute buffer {b / 2**20:,.1f} MiB: {cpu_layers} whole layer(s) run on the "
            "CPU, charged the whole graph's compute buffer (an estimate, not a proven bound: "
            "llama.cpp sizes the CPU buffer by the ops and split inputs it gets)"
        )
    note = est.note
    rt = get_runtime(runtime)
    base = rt.capabilities.plan_overheads_of
    if seq is not None:
        note += f" ({rt.short_name} -fmoe: one fused up/gate output per host expert layer)"
    elif base:
        note += f" ({base}'s graph; {rt.short_name}'s own not checked)"
    return est.bytes, note


def kv_estimate(
    model: ModelSpec,
    runtime: str,
    context: int,
    sequences: int,
    cache_dtype: str | None,
    tp: int = 1,
    dp: int = 1,
    ubatch: int | None = None,
    ik: object = None,
):
    """`vramkit.kv.kv_cache` with the runtime's record (its KV layout: llama.cpp, vLLM pages,
    SGLang's token pool), memoised per model object and arguments (a plan search asks for the
    same estimate dozens of times). `ubatch`: llama.cpp's -ub (its sliding-window caches hold
    GGML_PAD(W + n_ubatch, 256) cells); None = the runtime default (512). `ik`: ik_llama.cpp's
    options (`vramkit.runtimes.ik_llama_rules.IkOptions`: -mla and -fa change its KV layout)."""
    from ..kv import kv_cache

    rt = _kv_profile(runtime)  # its KV layout, as vramkit.budget asks for it
    key = (id(model), rt.id, context, sequences, cache_dtype, tp, dp, ubatch, ik)
    hit = _KV_MEMO.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    kw: dict[str, object] = {} if cache_dtype is None else {"cache_dtype": cache_dtype}
    if ubatch is not None:
        kw["n_ubatch"] = ubatch
    from ..runtimes.engines import kv_options

    kw.update(kv_options(runtime, ik))
    # the context was checked where the plan was asked for (`vramkit.plan.plan_for`)
    est = kv_cache(model, context, batch=sequences, runtime=rt, tp=tp, dp=dp,
                   allow_extrapolation=True, **kw)  # fmt: skip
    if len(_KV_MEMO) > 4096:
        _KV_MEMO.clear()
    _KV_MEMO[key] = (model, est)
    return est


_KV_MEMO: dict[tuple[object, ...], tuple[ModelSpec, object]] = {}
_LAYER_MEMO: dict[int, tuple[object, tuple[int, ...]]] = {}


def _kv_layers(model: ModelSpec, kv) -> tuple[int, ...]:
    """`kv_per_layer` memoised per KV estimate object."""
    hit = _LAYER_MEMO.get(id(kv))
    if hit is not None and hit[0] is kv:
        return hit[1]
    out = kv_per_layer(model, kv.by_kind)
    if len(_LAYER_MEMO) > 4096:
        _LAYER_MEMO.clear()
    _LAYER_MEMO[id(kv)] = (kv, out)
    return out


# ── llama.cpp ────────────────────────────────────────────────────────────────────────────────
def _host_place(machine: Machine, comps: dict[str, int], layers, experts, per_layer) -> list[Place]:
    if machine.host is None:
        cap, bw = 0, 0.0
    else:
        cap, bw = machine.host.ram_bytes, machine.host.bandwidth_bytes_per_s
    return [
        Place("host", "host", cap, MappingProxyType(comps), layers, tuple(experts), per_layer, bw)
    ]


def llamacpp_plan(
    model: ModelSpec,
    costs: LayerCosts,
    machine: Machine,
    *,
    context: int,
    sequences: int,
    cpu_expert_layers: int,
    cache_dtype: str | None,
    ubatch: int,
    runtime: str = "llama.cpp",
    no_mmap: bool = True,
    margin: Margin | None = None,
    ik: object = None,
) -> Plan:
    """The llama.cpp placement with the routed experts of the first `cpu_expert_layers` layers in
    host RAM (--n-cpu-moe N), every layer that fits on a GPU offloaded (filled from the last layer
    backwards into the last GPU, as -ngl offloads the last layers), the rest on the CPU.

    Per GPU: Σ its layers (attention+dense, shared experts, routed experts unless on the host)
    + their KV (total KV × layers/n_layer) + the output layer on the GPU of the last layer
    + compute buffer + CUDA context; the `margin` (default llama.cpp's --fit margin, 1 GiB per
    device) is kept free beside them (`Place.margin_bytes`). On discrete CUDA GPUs the backend's
    own terms are charged where the engine puts them (`vramkit.runtimes.llamacpp.cuda`:
    flash attention's F16 copies, the MoE pool, GPU0's copy of the largest host weight its
    offloaded matmuls read, row padding; the logits buffer and a pinned CPU compute buffer on
    the host) and listed in `Plan.cuda_terms`.
    """
    c = require_int("cpu_expert_layers", cpu_expert_layers, minimum=0, maximum=costs.n_layers)
    at = _LlamacppContext.build(model, costs, machine, context=context, sequences=sequences,
                                cache_dtype=cache_dtype, ubatch=ubatch, runtime=runtime,
                                margin=margin, ik=ik)  # fmt: skip
    return at.plan(c, no_mmap=no_mmap)


def _prefix(values: Sequence[int]) -> list[int]:
    """[0, v0, v0+v1, …]: Σ values[lo:hi] = out[hi] − out[lo] (integers, exact)."""
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


@dataclass(frozen=True, eq=False)
class _LlamacppContext:
    """What every llama.cpp plan at one (context, sequences, cache, ubatch, margin) shares — the
    KV per layer, the compute buffer, the overheads, each layer's GPU cost without its routed
    experts and running sums — so that the --n-cpu-moe search (`plan`, once per value) does
    only the placement itself. Built by `build`; bytes throughout."""

    model: ModelSpec
    costs: LayerCosts
    machine: Machine
    runtime: str
    context: int
    sequences: int
    ubatch: int
    cache_dtype: str
    kv_total: int
    kv_layer: tuple[int, ...]
    compute: int
    overhead: int
    margin: Margin
    base: tuple[int, ...]
    """Per layer: attention+dense + shared experts + its KV (GPU cost without routed experts)."""
    sums: Mapping[str, list[int]]
    """Running sums (`_prefix`) of 'layer', 'shared', 'experts' and 'kv' bytes per layer."""
    describe: str
    host_compute: dict[tuple[bool, int, int], tuple[int, str]]
    """`host_compute_buffer` per (host experts, CPU layers, GPUs used), filled as plans ask."""
    lower_bound: bool = False
    """No compute buffers at all (`build`): plans for `any_plan_fits`'s first pass only."""
    ik: object = None
    """ik_llama.cpp's options (`vramkit.runtimes.ik_llama_rules.IkOptions`; None: the engine's defaults)."""
    cuda: Any = None
    """The CUDA backend's terms (`vramkit.runtimes.llamacpp.cuda.PlanCuda`); None: no discrete
    GPU, a runtime without them, or a `lower_bound` context."""

    @classmethod
    def build(
        cls,
        model: ModelSpec,
        costs: LayerCosts,
        machine: Machine,
        *,
        context: int,
        sequences: int,
        cache_dtype: str | None,
        ubatch: int,
        runtime: str,
        margin: Margin | None,
        lower_bound: bool = False,
        ik: object = None,
    ) -> _LlamacppContext:
        """The shared pieces; `lower_bound`: with no compute buffer on the GPUs or the host (a
        plan that does not fit so does not fit with them: see `any_plan_fits`)."""
        kv = kv_estimate(model, runtime, context, sequences, cache_dtype, ubatch=ubatch, ik=ik)
        kv_layer = _kv_layers(model, kv)
        prof = _profile(runtime)
        cb = 0
        if not lower_bound:
            cb = compute_buffer_bytes(model, runtime, context=context, ubatch=ubatch,
                                      sequences=sequences, cache_dtype=kv.cache_dtype,
                                      ik=ik)  # fmt: skip
        # layer split: no NCCL (data/runtimes.yaml uses_nccl); the fit margin is kept apart
        ovh = prof.overhead_bytes(split=False) - prof.margin_bytes
        lb, sb = costs.layer_bytes, costs.shared_bytes
        return cls(
            model=model,
            costs=costs,
            machine=machine,
            runtime=runtime,
            context=context,
            sequences=sequences,
            ubatch=ubatch,
            cache_dtype=kv.cache_dtype,
            kv_total=kv.total_bytes,
            kv_layer=kv_layer,
            compute=cb,
            overhead=ovh,
            margin=margin if margin is not None else engine_margin(runtime),
            base=tuple(lb[i] + sb[i] + kv_layer[i] for i in range(costs.n_layers)),
            sums={
                "layer": _prefix(lb),
                "shared": _prefix(sb),
                "experts": _prefix(costs.expert_bytes),
                "kv": _prefix(kv_layer),
            },
            describe=machine.describe(),
            host_compute={},
            lower_bound=lower_bound,
            ik=ik,
            cuda=None
            if lower_bound
            else _cuda(model, costs, machine, runtime, context, sequences, kv.cache_dtype, ubatch),
        )

    def with_compute_buffers(self) -> _LlamacppContext:
        """This context with the real compute buffers (a `lower_bound` one shares its KV, sums
        and layer costs: only the buffers change)."""
        if not self.lower_bound:
            return self
        cb = compute_buffer_bytes(self.model, self.runtime, context=self.context,
                                  ubatch=self.ubatch, sequences=self.sequences,
                                  cache_dtype=self.cache_dtype, ik=self.ik)  # fmt: skip
        cu = _cuda(self.model, self.costs, self.machine, self.runtime, self.context,
                   self.sequences, self.cache_dtype, self.ubatch)  # fmt: skip
        return replace(self, compute=cb, host_compute={}, lower_bound=False, cuda=cu)

    def _host_compute(self, host_experts: bool, cpu_layers: int, gpus: int) -> tuple[int, str]:
        if self.lower_bound:
            return 0, "no host compute buffer (a lower bound)"
        key = (host_experts, cpu_layers, gpus)
        hit = self.host_compute.get(key)
        if hit is None:
            hit = host_compute_buffer(
                self.model, self.runtime, context=self.context, ubatch=self.ubatch,
                sequences=self.sequences, cache_dtype=self.cache_dtype, host_experts=host_experts,
                cpu_layers=cpu_layers, full_bytes=self.compute, gpus=gpus, ik=self.ik,
            )  # fmt: skip
            self.host_compute[key] = hit
        return hit

    def _layout(self, c: int) -> tuple[dict[int, tuple[int, int]], int | None, int]:
        """Where the layers go with the routed experts of layers 0 … c−1 in host RAM: each
        GPU's layers [lo, hi) (filled from the last layer backwards into the last GPU), the GPU
        holding the output layer (None: the host) and the count of layers left on the CPU.
        On CUDA the first GPU keeps room for the largest host weight its offloaded matmuls
        copy in, which depends on the layers left on the CPU: the fill is redone with the
        copy of the layout found until it no longer grows (a larger copy leaves more layers
        on the CPU, never fewer: at most a few passes)."""
        cu = self.cuda
        copy = cu.offload_copy(0, c, True) if cu else 0
        while True:
            span, output_on, n_cpu = self._fill(c, copy)
            need = cu.offload_copy(n_cpu, max(c, n_cpu), output_on is not None) if cu else 0
            if need <= copy:
                return span, output_on, n_cpu
            copy = need

    def _fill(self, c: int, copy: int) -> tuple[dict[int, tuple[int, int]], int | None, int]:
        """`_layout`'s fill with `copy` bytes kept on the first GPU."""
        costs, mg, cu = self.costs, self.margin, self.cuda
        exp, base = costs.expert_bytes, self.base
        fixed = self.overhead + self.compute + (cu.per_gpu if cu else 0)
        pad_l, pad_e = pads_per_layer(cu, costs.n_layers)
        span: dict[int, tuple[int, int]] = {}  # device → its layers [lo, hi)
        nxt = costs.n_layers - 1
        output_on: int | None = None
        devs = self.machine.devices
        for k, d in enumerate(reversed(devs)):
            room = d.usable_bytes - fixed - mg.bytes_for(d.usable_bytes)
            if k == 0:
                room -= costs.output_bytes + (cu.shapes.pad_output if cu else 0)
                if room < 0:
                    break
                output_on = d.index
            if d is devs[0]:  # CUDA0 takes the host weights' matmuls (term 6)
                room -= copy
            hi = nxt + 1
            while nxt >= 0:
                cost = base[nxt] + pad_l[nxt] + (exp[nxt] + pad_e[nxt] if nxt >= c else 0)
                if cost > room:
                    break
                room -= cost
                nxt -= 1
            span[d.index] = (nxt + 1, hi)
        return span, output_on, nxt + 1

    def fits(self, c: int) -> bool:
        """`self.plan(c).fits`, from the same sums without building the plan (every place's
        total + margin ≤ its capacity)."""
        costs, machine, mg = self.costs, self.machine, self.margin
        span, output_on, n_cpu = self._layout(c)
        ly, sh, ex, kv = (self.sums[k] for k in ("layer", "shared", "experts", "kv"))
        cb, ovh = self.compute, self.overhead
        cw = LayoutCharge.of(self.cuda, costs.n_layers, c, n_cpu, output_on)
        gpus_used = 0
        for d in machine.devices:
            lo, hi = span.get(d.index, (0, 0))
            e_lo = max(lo, c)
            used = hi > lo or d.index == output_on or cw.first_used(d is machine.devices[0])
            gpus_used += used
            total = (
                ly[hi] - ly[lo] + sh[hi] - sh[lo] + (ex[hi] - ex[e_lo] if hi > e_lo else 0)
                + (costs.output_bytes if d.index == output_on else 0) + kv[hi] - kv[lo]
                + (cb + ovh if used else 0)
                + cw.gpu(d is machine.devices[0], lo, hi, e_lo, d.index == output_on, used)
            )  # fmt: skip
            if d.usable_bytes - mg.bytes_for(d.usable_bytes) - total < 0:
                return False
        host_end = max(c, n_cpu)
        routed = ex[host_end]
        rest = (
            ly[n_cpu] + sh[n_cpu] + costs.embed_bytes
            + (0 if output_on is not None else costs.output_bytes) + kv[n_cpu]
            + self._host_compute(routed > 0, n_cpu, gpus_used)[0] + cw.host
        )  # fmt: skip
        cap = machine.host.ram_bytes if machine.host else 0
        if machine.disk is not None and rest + routed > cap and routed:
            spill = min(rest + routed - cap, routed)  # paged in from NVMe (see `plan`)
            return rest + routed - spill <= cap and spill <= costs.total_bytes
        return rest + routed <= cap

    def plan(self, c: int, *, no_mmap: bool = True) -> Plan:
        """The plan with the routed experts of layers 0 … c−1 in host RAM (see `llamacpp_plan`)."""
        costs, machine, mg = self.costs, self.machine, self.margin
        n = costs.n_layers
        exp = costs.expert_bytes
        cb, ovh = self.compute, self.overhead
        devs = list(machine.devices)
        span, output_on, n_cpu = self._layout(c)  # n_cpu: layers 0 … n_cpu−1 run on the CPU
        ngl = (n - n_cpu) + (1 if output_on is not None else 0)
        sums = self.sums
        ly, sh, ex, kv = sums["layer"], sums["shared"], sums["experts"], sums["kv"]
        places: list[Place] = []
        counts: list[int] = []
        cw = LayoutCharge.of(self.cuda, n, c, n_cpu, output_on)
        gpu_pads: list[tuple[str, int, bool, bool]] = []
        for d in devs:
            lo, hi = span.get(d.index, (0, 0))
            counts.append(hi - lo)
            e_lo = max(lo, c)
            comps = dict.fromkeys(COMPONENTS, 0)
            used = hi > lo or d.index == output_on or cw.first_used(d is machine.devices[0])
            pl, pe, po = cw.pads(lo, hi, e_lo, d.index == output_on)
            comps["attention+dense"] = ly[hi] - ly[lo] + pl
            comps["shared experts"] = sh[hi] - sh[lo]
            comps["routed experts"] = (ex[hi] - ex[e_lo] if hi > e_lo else 0) + pe
            comps["embeddings/output"] = (costs.output_bytes if d.index == output_on else 0) + po
            comps["KV cache"] = kv[hi] - kv[lo]
            comps["compute buffer"] = (cb if used else 0) + cw.buffers(d is devs[0], used, hi, e_lo)
            comps["runtime overhead"] = ovh if used else 0
            gpu_pads.append((f"GPU{d.index}", pl + pe + po, used, cw.moe(d is devs[0], hi, e_lo)))
            places.append(
                Place(
                    f"GPU{d.index}",
                    "gpu",
                    d.usable_bytes,
                    MappingProxyType(comps),
                    (lo, hi) if hi > lo else None,
                    tuple(i for i in range(e_lo, hi) if exp[i]),
                    costs.experts if costs.is_moe else 0,
                    d.bandwidth_bytes_per_s,
                    mg.bytes_for(d.usable_bytes),
                )
            )
        host_end = max(c, n_cpu)  # routed experts of layers below it live on the host
        host_expert = [i for i in range(host_end) if exp[i]]
        hc = dict.fromkeys(COMPONENTS, 0)
        hc["attention+dense"] = ly[n_cpu]
        hc["shared experts"] = sh[n_cpu]
        hc["routed experts"] = ex[host_end]
        hc["embeddings/output"] = costs.embed_bytes + (
            0 if output_on is not None else costs.output_bytes
        )
        hc["KV cache"] = kv[n_cpu]
        gpus_used = sum(1 for _, _, u, _ in gpu_pads if u)
        host_cb = self._host_compute(bool(host_expert), n_cpu, gpus_used)
        hc["compute buffer"] = host_cb[0] + cw.host
        cap = machine.host.ram_bytes if machine.host else 0
        spill = 0
        if machine.disk is not None and sum(hc.values()) > cap and hc["routed experts"]:
            # mmap'd weights: routed experts beyond host RAM stay on NVMe and page in when touched
            spill = min(sum(hc.values()) - cap, hc["routed experts"])
            hc["routed experts"] -= spill
            no_mmap = False
        places += _host_place(
            machine,
            hc,
            (0, n_cpu) if n_cpu else None,
            host_expert,
            costs.experts if costs.is_moe else 0,
        )
        if spill:
            dc = dict.fromkeys(COMPONENTS, 0)
            dc["routed experts"] = spill
            places.append(
                Place("disk", "disk", costs.total_bytes, MappingProxyType(dc), None, (), 0,
                      machine.disk.bandwidth_bytes_per_s)  # type: ignore[union-attr]
            )  # fmt: skip
        split = tuple(
            k + (1 if d.index == output_on else 0) for d, k in zip(devs, counts, strict=True)
        )
        notes = [
            "KV per layer by cache kind: each kind's bytes spread over the layers that hold it",
            f"compute buffer {cb / 2**30:.2f} GiB per GPU (the runtime record's compute buffer, as budget charges it)",
            "input embedding (token_embd) stays in host RAM: llama.cpp keeps the input layer on the CPU",
            host_cb[1],
        ]
        if n_cpu and self.model.config.get("kv_lora_rank") and getattr(self.ik, "mla", 3) != 3:
            notes.append(  # only ik_llama.cpp's options carry an -mla
                "ik_llama.cpp switches an MLA model to -mla 3 when 0 < -ngl < n_layer "
                "(src/llama.cpp L8218-L8224 at 8337e4cd); this plan's KV is charged at the -mla "
                "asked for"
            )
        terms: tuple[Any, ...] = ()
        if self.cuda is not None:
            from ..runtimes.llamacpp.cuda import plan_note, plan_terms

            terms = plan_terms(self.cuda, gpus=gpu_pads, first_gpu=f"GPU{devs[0].index}",
                               copy=cw.copy, host_compute=host_cb[0],
                               output_on_gpu=output_on is not None)  # fmt: skip
            notes.append(plan_note(terms))
        if spill:
            notes.append(
                f"{spill / 1e9:,.1f} GB of host experts do not fit in RAM: the file is mmap'd (no "
                "--no-mmap) and they page in from NVMe when touched (the page cache keeps the rest)"
            )
        return Plan(
            model_id=self.model.id,
            recipe_id=costs.recipe_id,
            runtime=self.runtime,
            machine=self.describe,
            context=self.context,
            sequences=self.sequences,
            cache_dtype=self.cache_dtype,
            places=tuple(places),
            knobs=MappingProxyType(
                {
                    "n_gpu_layers": ngl,
                    "n_cpu_moe": c,
                    "tensor_split": split,
                    "cpu_layers": n_cpu,
                    "ubatch": self.ubatch,
                    "no_mmap": no_mmap,
                    "main_gpu": 0,
                    **_ik_knobs(self.runtime, self.ik),
                }
            ),
            kv_bytes=self.kv_total,
            notes=tuple(notes) + _host_fill_notes(places),
            cuda_terms=terms,
        )


def _ik_knobs(runtime: str, ik: object) -> dict[str, object]:
    """A runtime's engine options as plan knobs, only when they differ from its defaults (the
    flags print them; the speed bound reads the KV they size)."""
    from ..runtimes.engines import option_flags

    flags = option_flags(ik)
    return {"ik_flags": flags} if flags else {}


def _cuda(model, costs, machine, runtime, context, sequences, cache_dtype, ubatch) -> Any:
    """`plan_cuda` for a plan on discrete CUDA GPUs whose runtime has CUDA terms, else None (a
    CPU-only plan, Apple's unified memory, the engine tests' RPC devices, vLLM / SGLang)."""
    from ..runtimes.engines import cuda_rules
    from ..runtimes.llamacpp.cuda import plan_cuda

    rules = cuda_rules(runtime)
    devs = machine.devices
    if rules is None or not devs or any(d.unified or d.backend != "cuda" for d in devs):
        return None
    return plan_cuda(model, costs.recipe_id, rules, context=context, sequences=sequences,
                     cache_dtype=cache_dtype, ubatch=ubatch)  # fmt: skip


HOST_FILL_WARN = 0.90
"""Share of the offered host RAM above which a plan says the OS is squeezed (and the verdict
calls a fitting plan tight, `vramkit.plan.verdict`)."""


def _host_fill_notes(places: Sequence[Place]) -> tuple[str, ...]:
    """A note when the host is filled past HOST_FILL_WARN of the RAM offered: `--ram` is what
    the runtime may fill, so the OS and other processes need RAM beyond it."""
    out = []
    for p in places:
        if (
            p.kind == "host"
            and p.capacity_bytes
            and p.total_bytes > HOST_FILL_WARN * p.capacity_bytes
        ):
            out.append(
                f"host RAM filled to {p.total_bytes / p.capacity_bytes:.1%} of the "
                f"{p.capacity_bytes / 1e9:,.1f} GB offered: --ram is what the runtime may fill; "
                "offer less than installed so the OS and other processes keep their share"
            )
    return tuple(out)


# ── vLLM / SGLang ────────────────────────────────────────────────────────────────────────────
# Where each rule below comes from (engine code, commit-pinned; NOT checked against a running
# engine here: no GPU is lent to this project's checks):
#   TP heads   vLLM ModelConfig.verify_with_parallel_config: "Total number of attention heads
#              ({total_num_attention_heads}) must be divisible by tensor parallel size"
#              https://github.com/vllm-project/vllm/blob/18ec6629253632af0a384f2ffbb8c6b28af322e7/vllm/config/model.py
#   KV heads   vLLM QKVParallelLinear: ``if tp_size >= self.total_num_kv_heads: num_kv_heads = 1;
#              num_kv_head_replicas = divide(tp_size, total_num_kv_heads) else: num_kv_heads =
#              divide(total_num_kv_heads, tp_size)`` (divide asserts divisibility)
#              https://github.com/vllm-project/vllm/blob/9e109c9887e38c51fc16b0da89760c5bd7c293c9/vllm/model_executor/layers/linear.py
#   EP         vLLM shards MoE layers over tp × dp ranks with expert parallel (vllm/config/parallel.py
#              @840e797, quoted in vramkit.plan.flags). vLLM itself also accepts experts that do
#              not divide ("Any remaining are assigned to the last rank", determine_expert_map,
#              https://github.com/vllm-project/vllm/blob/c439a139790cafaecb54e8dea123b78049f1442b/vllm/model_executor/layers/fused_moe/layer.py);
#              vramkit plans EP only when they divide (as `fit` does): conservative, stated.
#   PP         layer ranges of vLLM get_pp_indices: num_hidden_layers // pp each, the remainder
#              one each to the partitions before the last ("The last partition is excluded")
#              https://github.com/vllm-project/vllm/blob/5a6541db9bfa77756459722f69e8c89a0b47a14d/vllm/distributed/utils.py
#              (weights per GPU are charged as total / pp: an even-split approximation).
#   budget     vLLM gpu_memory_utilization of TOTAL memory (vllm/config/cache.py, data/runtimes.yaml);
#              --cpu-offload-gb "The space in GiB to offload to CPU, per GPU" (vllm/config/offload.py);
#              SGLang --mem-fraction-static "The fraction of the memory used for static allocation
#              (model weights and KV cache memory pool)" (python/sglang/srt/server_args.py @469c63e).
#   overheads  CUDA context, non-torch / NCCL memory and the activation peak are measured or
#              calibrated ESTIMATES (data/runtimes.yaml gives each source); no engine code states them.
def _heaviest_stage(model: ModelSpec, recipe_id: str, pp: int) -> tuple[float, int]:
    """(the heaviest pipeline stage's share of the weights, its layer count) under vLLM's stage
    split (`vramkit.quant.shares.stage_bytes`: the embedding on the first stage, the head on the
    last), memoised per model object (a capacity search asks many times)."""
    key = (id(model), recipe_id, pp)
    hit = _STAGE_MEMO.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    from ..quant.shares import stage_bytes

    per_stage = stage_bytes(model, recipe_id, pp, False)
    layers = max(
        b - a
        for a, b in vllm_pp_layers(max(1, int(model.config.get("num_hidden_layers") or 1)), pp)
    )
    out = (max(per_stage) / max(1, sum(per_stage)), layers)
    if len(_STAGE_MEMO) > 256:
        _STAGE_MEMO.clear()
    _STAGE_MEMO[key] = (model, out)
    return out


_STAGE_MEMO: dict[tuple[int, str, int], tuple[ModelSpec, tuple[float, int]]] = {}


def vllm_pp_layers(n_layers: int, pp: int) -> list[tuple[int, int]]:
    """(first, last + 1) layers of each pipeline stage, as vLLM's get_pp_indices splits them
    (without VLLM_PP_LAYER_PARTITION): n // pp each, the remainder one each to the stages before
    the last (``for i in range(2, remaining_layers + 2): partitions[-i] += 1``)."""
    from ..runtimes.vllm.memory import pp_layers  # the one copy of the rule

    return [(r.start, r.stop) for r in (pp_layers(n_layers, pp, k) for k in range(pp))]


def _divisible_tp(model: ModelSpec, n: int) -> int:
    heads = int(model.config.get("num_attention_heads") or 1)
    kv_heads = int(model.config.get("num_key_value_heads") or heads)
    for tp in range(n, 0, -1):
        if heads % tp or n % tp:  # every GPU in a TP group; the groups replicate (DP)
            continue
        if kv_heads >= tp and kv_heads % tp:
            continue
        if kv_heads < tp and tp % kv_heads:
            continue
        return tp
    return 1


def served_plan(
    model: ModelSpec,
    costs: LayerCosts,
    machine: Machine,
    *,
    runtime: str,
    context: int,
    sequences: int,
    cache_dtype: str | None,
    expert_parallel: bool,
    memory_fraction: float | None = None,
    pp: int = 1,
    margin: Margin | None = None,
) -> Plan:
    """vLLM / SGLang: `pp` pipeline stages (vLLM; layers split evenly), in each TP over the largest
    head-divisible count of identical GPUs (the rest DP), EP when asked and the experts divide;
    weights beyond the memory fraction go to --cpu-offload-gb (vLLM) or make the plan not fit
    (SGLang). Per GPU under PP: weights and KV of one TP rank ÷ pp (rounded up)."""
    from ..quant.shares import weights_per_gpu

    devs = list(machine.devices)
    if not devs:
        raise VramkitError(f"{runtime} needs at least one GPU; this machine has none.")
    prof = _profile(runtime)
    d0 = min(devs, key=lambda d: d.usable_bytes)
    notes = []
    if not machine.homogeneous:
        notes.append(
            f"{runtime} treats every GPU as the smallest one ({d0.label}): mixed GPUs waste memory"
        )
    n_all = len(devs)
    pp = require_int("pp", pp, minimum=1, maximum=n_all)
    if n_all % pp:
        raise VramkitError(f"pipeline parallel size {pp} does not divide {n_all} GPUs.")
    n = n_all // pp
    tp = _divisible_tp(model, n)
    dp = n // tp
    ep = expert_parallel and costs.is_moe and tp * dp > 1 and costs.experts % (tp * dp) == 0
    if expert_parallel and costs.is_moe and tp * dp > 1 and not ep:
        notes.append(
            f"expert parallel not used: {costs.experts} experts do not divide over {tp * dp} GPUs"
        )
    parallel = "ep" if ep else "tp"
    weights = weights_per_gpu(
        model, get_recipe(costs.recipe_id), count=tp * dp if ep else tp, parallel=parallel,
        attention_tp=tp if ep else 1,  # EP shards experts; attention stays TP (weights_per_gpu)
    )  # fmt: skip
    kv = kv_estimate(model, runtime, context, sequences, cache_dtype, tp=tp, dp=dp)
    kv_gpu = kv.per_gpu_bytes
    if pp > 1:  # every GPU is charged the heaviest stage (vLLM's get_pp_indices split)
        heavy, layers = _heaviest_stage(model, costs.recipe_id, pp)
        weights = math.ceil(weights * heavy)
        kv_gpu = math.ceil(kv_gpu * layers / max(1, costs.n_layers))
        notes.append(
            f"pipeline of {pp} stages as vLLM splits them (get_pp_indices): each GPU charged the "
            f"heaviest stage ({heavy:.1%} of the weights, {layers} of {costs.n_layers} layers' KV)"
        )
    mg = margin if margin is not None else engine_margin(runtime)
    frac = memory_fraction if memory_fraction is not None else mg.memory_fraction
    overhead = prof.overhead_bytes(split=n_all > 1) - prof.margin_bytes  # as budget charges it
    usable = math.floor(d0.usable_bytes * frac)
    workspace = compute_buffer_bytes(
        model, runtime, context=context, ubatch=0, sequences=sequences,
        cache_dtype=kv.cache_dtype,
    )  # the record's function where it names one, as budget charges it  # fmt: skip
    need = weights + kv_gpu + workspace + overhead
    offload = 0
    offloads = get_runtime(runtime).capabilities.offload == "weights"  # vLLM's cpu_offload_gb
    if offloads and need > usable and machine.host is not None:
        offload = math.ceil((need - usable) / 2**30)  # --cpu-offload-gb is GiB per GPU
        notes.append(
            f"--cpu-offload-gb {offload}: {offload} GiB of weights per GPU streamed from host RAM each step"
        )
    off = min(weights, offload * 2**30)
    e_share = sum(costs.expert_bytes) // (tp * dp if ep else tp) // pp
    e_share = min(e_share, weights)
    # vLLM offloads whole parameters in load order; split by component in proportion (approx.)
    e_off = off * e_share // weights if weights else 0
    places = []
    stages = vllm_pp_layers(costs.n_layers, pp)
    for d in devs:
        comps = dict.fromkeys(COMPONENTS, 0)
        comps["routed experts"] = e_share - e_off
        comps["attention+dense"] = (weights - e_share) - (off - e_off)
        comps["KV cache"] = kv_gpu
        comps["compute buffer"] = workspace
        comps["runtime overhead"] = overhead
        stage = d.index // n  # devices in order: pipeline stage after stage
        first, last = stages[stage]
        places.append(
            Place(
                f"GPU{d.index}", "gpu", d0.usable_bytes, MappingProxyType(comps), (first, last),
                tuple(range(first, last)) if costs.is_moe else (),
                costs.experts // (tp * dp) if ep else costs.experts, d.bandwidth_bytes_per_s,
                d0.usable_bytes - usable,
            )
        )  # fmt: skip
    host = dict.fromkeys(COMPONENTS, 0)
    host["routed experts"] = e_off * n_all
    host["attention+dense"] = (off - e_off) * n_all
    places += _host_place(machine, host, None, [], 0)
    knobs = {
        "tp": tp,
        "dp": dp,
        "ep": ep,
        "pp": pp,
        "gpu_memory_utilization": round(frac, 2),
        "cpu_offload_gb": offload,
        "max_num_seqs": sequences,
    }
    return Plan(
        model_id=model.id,
        recipe_id=costs.recipe_id,
        runtime=runtime,
        machine=machine.describe(),
        context=context,
        sequences=sequences,
        cache_dtype=kv.cache_dtype,
        places=tuple(places),
        knobs=MappingProxyType(knobs),
        kv_bytes=kv.total_bytes,
        notes=tuple(notes) + _host_fill_notes(places),
    )


# ── the solver ───────────────────────────────────────────────────────────────────────────────
def candidate_plans(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    expert_parallel: bool = True,
    margin: object = None,
    ik: object = None,
) -> list[Plan]:
    """Every placement the runtime's knobs allow at this context (llama.cpp: --n-cpu-moe 0…n).
    `margin`: bytes kept free per GPU (`vramkit.plan.margin.resolve_margin`; None: the engine's)."""
    return list(
        iter_candidate_plans(model, machine, recipe=recipe, runtime=runtime, context=context,
                             sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                             expert_parallel=expert_parallel, margin=margin, ik=ik)
    )  # fmt: skip


def iter_candidate_plans(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    expert_parallel: bool = True,
    margin: object = None,
    ik: object = None,
) -> Iterator[Plan]:
    """`candidate_plans` one at a time (the checks run at the first `next`)."""
    return _candidates(model, machine, recipe=recipe, runtime=runtime, context=context,
                       sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                       expert_parallel=expert_parallel, margin=margin, ik=ik)  # fmt: skip


def any_plan_fits(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    expert_parallel: bool = True,
    margin: object = None,
    ik: object = None,
) -> bool:
    """Whether any of `candidate_plans` (same arguments) fits, without building them on
    llama.cpp (`_LlamacppContext.fits`) and stopping at the first that fits (no speed bounds).

    On llama.cpp each --n-cpu-moe value is tried first with no compute buffer on the GPUs or
    the host: more room on the GPUs only takes layers off the host (each GPU is filled within
    its room by construction) and every host component shrinks, so a value that does not fit
    then does not fit at all. Where none does, llama.cpp's allocator (the compute buffer,
    `vramkit.llamacpp_graph`) is not replayed; else the search with the real buffers starts at
    the first value that fitted the bound."""
    a = _resolve(model, machine, recipe=recipe, runtime=runtime, context=context,
                 sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                 expert_parallel=expert_parallel, margin=margin, ik=ik)  # fmt: skip
    if not a.layered:
        return any(p.fits for p in _served_plans(a))
    ks = range(a.costs.n_layers + 1) if a.costs.is_moe else range(1)
    low = _LlamacppContext.build(a.model, a.costs, a.machine, context=a.context,
                                 sequences=a.sequences, cache_dtype=a.cache_dtype, ubatch=a.ubatch,
                                 runtime=a.runtime, margin=a.margin, lower_bound=True,
                                 ik=a.ik)  # fmt: skip
    first = next((k for k in ks if low.fits(k)), None)
    if first is None:
        return False
    at = low.with_compute_buffers()
    return any(at.fits(k) for k in ks if k >= first)


@dataclass(frozen=True)
class _Args:
    """`candidate_plans`' arguments, checked and resolved (`_resolve`)."""

    model: ModelSpec
    machine: Machine
    runtime: str
    costs: LayerCosts
    context: int
    sequences: int
    cache_dtype: str | None
    ubatch: int
    expert_parallel: bool
    margin: Margin
    layered: bool
    """The runtime places whole layers and routed experts (its record's placement: llama.cpp)."""
    pipeline_parallel: bool
    ik: object = None
    """The engine's own options (ik_llama.cpp's `IkOptions`), resolved by `engine_options`."""


def _resolve(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None,
    runtime: str,
    context: int,
    sequences: int,
    cache_dtype: str | None,
    ubatch: int,
    expert_parallel: bool,
    margin: object,
    ik: object = None,
) -> _Args:
    from ..validate import require_bool
    from .machine import require_machine

    machine = require_machine(machine)
    expert_parallel = require_bool("expert_parallel", expert_parallel)
    if cache_dtype is not None and not isinstance(cache_dtype, str):
        raise VramkitError(
            f"cache_dtype must be a KV cache dtype id such as 'bf16' or 'q8_0', or None, got "
            f"{type(cache_dtype).__name__} {shown(cache_dtype)}."
        )
    m = get_model(model)
    rt = canonical_runtime(runtime)
    costs = layer_costs(m, recipe)
    ctx = require_int("context", parse_tokens(context), minimum=1)
    seqs = require_int("sequences", sequences, minimum=1, maximum=4096)
    ub = require_int("ubatch", ubatch, minimum=1, maximum=65536)
    smallest = min((d.usable_bytes for d in machine.devices), default=None)
    mg = resolve_margin(margin, rt, memory_bytes=smallest)
    from ..runtimes.engines import engine_options

    ik = engine_options(rt, ik)
    caps = get_runtime(rt).capabilities
    return _Args(m, machine, rt, costs, ctx, seqs, cache_dtype, ub, expert_parallel, mg,
                 caps.placement == "layers", bool(caps.pipeline_parallel), ik)  # fmt: skip


def _candidates(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None,
    runtime: str,
    context: int,
    sequences: int,
    cache_dtype: str | None,
    ubatch: int,
    expert_parallel: bool,
    margin: object,
    ik: object = None,
) -> Iterator[Plan]:
    a = _resolve(model, machine, recipe=recipe, runtime=runtime, context=context,
                 sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                 expert_parallel=expert_parallel, margin=margin, ik=ik)  # fmt: skip
    if a.layered:
        at = _LlamacppContext.build(a.model, a.costs, a.machine, context=a.context,
                                    sequences=a.sequences, cache_dtype=a.cache_dtype,
                                    ubatch=a.ubatch, runtime=a.runtime, margin=a.margin,
                                    ik=a.ik)  # fmt: skip
        for k in range(a.costs.n_layers + 1) if a.costs.is_moe else range(1):
            yield at.plan(k)
        return
    yield from _served_plans(a)


def _served_plans(a: _Args) -> Iterator[Plan]:
    """One plan per pipeline-parallel size dividing the GPUs where the runtime has pipeline
    parallelism (vLLM), else one (SGLang)."""
    n = len(a.machine.devices)
    # a stage holds at least one layer (vLLM's get_pp_indices; vramkit.runtimes.vllm.memory.pp_layers)
    most = max(1, a.costs.n_layers)
    pps = (
        [k for k in range(1, min(n, most) + 1) if n % k == 0] if a.pipeline_parallel and n else [1]
    )
    for k in pps:
        yield served_plan(a.model, a.costs, a.machine, runtime=a.runtime, context=a.context,
                          sequences=a.sequences, cache_dtype=a.cache_dtype,
                          expert_parallel=a.expert_parallel, pp=k, margin=a.margin)  # fmt: skip


def best_plan(plans: list[Plan], speed_of) -> Plan:
    """The fitting plan with the highest decode bound (`speed_of(plan)` → tokens/s; within 0.1% of
    the best, the one with the fewest expert layers on the host); if none fits, the one with the
    least overflow (so a report can say by how much)."""
    fitting = [p for p in plans if p.fits]
    if fitting:
        speeds = [speed_of(p) for p in fitting]
        top = max(speeds)
        near = [p for p, s in zip(fitting, speeds, strict=True) if s >= top * (1 - 1e-3)]
        return min(near, key=lambda p: int(p.knobs.get("n_cpu_moe", 0)))  # type: ignore[call-overload]
    return min(plans, key=lambda p: sum(max(0, q.total_bytes - q.capacity_bytes) for q in p.places))


kv_profile = _kv_profile
"""Public name of `_kv_profile` (the KV record a planner runtime is charged; vramkit.plan.count)."""
