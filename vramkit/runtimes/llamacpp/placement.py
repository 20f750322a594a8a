"""llama.cpp's placement: which layers, routed experts, KV and buffers go on which GPU, the
host or disk, for every --n-cpu-moe value; the planner (`vramkit.plan.placement`) asks it through
`vramkit.runtimes.planning` (record capability ``placement: layers``), ik_llama.cpp included.

llama.cpp's rules (sources in `vramkit.runtimes.llamacpp.flags`): layers split over GPUs in
contiguous ranges (-ts), the first layers on the CPU when -ngl < n_layer + 1, the input embedding
always on the CPU, the output layer with the last layer; routed experts of chosen layers kept in
host RAM (-ot / --n-cpu-moe); a layer's KV lives on its layer's device; a compute buffer per GPU.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from ...catalog import ModelSpec
from ...errors import require_int
from ...plan.costs import compute_buffer_with_note, kv_estimate, overheads_record
from ...plan.layers import LayerCosts, kv_layers_of
from ...plan.machine import Machine
from ...plan.margin import Margin, engine_margin
from ...plan.record import COMPONENTS, Place, Plan, PlanArgs, host_fill_notes, host_place
from .. import get_runtime
from ..engines import cuda_rules, host_expert_sequence, option_flags
from .cuda import LayoutCharge, PlanCuda, pads_per_layer, plan_cuda, plan_note, plan_terms
from .memory import budget_host_compute


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
    at = LlamacppContext.build(model, costs, machine, context=context, sequences=sequences,
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
class LlamacppContext:
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
    compute_note: str
    """How `compute` was obtained (`plan.costs.compute_buffer_with_note`)."""
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
    cuda: PlanCuda | None = None
    """The CUDA backend's terms (`vramkit.runtimes.llamacpp.cuda.plan_cuda`); None: no discrete
    GPU, a runtime without them, or a `lower_bound` context."""
    derived_bytes: int = 0
    """Weights ik_llama.cpp derives at load (the MLA wkv_b of a mainline file), in `costs`."""
    dup: tuple[int, ...] = ()
    """Per layer, the expert biases ik_llama.cpp keeps again on a GPU layer whose routed experts
    are in host RAM (gpt-oss: `vramkit.runtimes.ik_llama_rules.duplicated_expert_bias_bytes`);
    empty: none. Charged to that GPU's routed experts."""

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
    ) -> LlamacppContext:
        """The shared pieces; `lower_bound`: with no compute buffer on the GPUs or the host (a
        plan that does not fit so does not fit with them: see `any_plan_fits`). None of them
        depends on the host's RAM: a context built for the same devices and settings is reused
        with another host (the planner's probe, then its plan, `plan.count._no_offload`)."""
        key = (model, costs, machine.devices, context, sequences, cache_dtype, ubatch, runtime,
               margin, lower_bound, ik)  # fmt: skip
        try:
            hit = _CONTEXTS.get(key)
        except TypeError:  # an unhashable option: built, not kept
            key, hit = None, None
        if hit is not None:
            return replace(hit, machine=machine, describe=machine.describe())
        out = cls._build(model, costs, machine, context=context, sequences=sequences,
                         cache_dtype=cache_dtype, ubatch=ubatch, runtime=runtime, margin=margin,
                         lower_bound=lower_bound, ik=ik)  # fmt: skip
        if key is not None:
            if len(_CONTEXTS) >= 16:
                del _CONTEXTS[next(iter(_CONTEXTS))]  # the oldest first
            _CONTEXTS[key] = out
        return out

    @classmethod
    def _build(
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
    ) -> LlamacppContext:
        kv = kv_estimate(model, runtime, context, sequences, cache_dtype, ubatch=ubatch, ik=ik)
        kv_layer = kv_layers_of(model, kv)
        derived = _ik_derived(model, costs, runtime, ik)
        dup = _ik_dup_bias(model, costs, runtime)
        if any(derived):  # weights ik_llama.cpp builds at load, on the layer's own device
            lb0 = costs.layer_bytes
            costs = replace(
                costs, layer_bytes=tuple(a + b for a, b in zip(lb0, derived, strict=True))
            )
        prof = overheads_record(runtime)
        cb, cb_note = 0, "no compute buffer (a lower bound)"
        if not lower_bound:
            cb, cb_note = compute_buffer_with_note(model, runtime, context=context, ubatch=ubatch,
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
            compute_note=cb_note,
            overhead=ovh,
            margin=margin if margin is not None else engine_margin(runtime),
            base=tuple(lb[i] + sb[i] + kv_layer[i] for i in range(costs.n_layers)),
            sums={
                "layer": _prefix(lb),
                "shared": _prefix(sb),
                "experts": _prefix(costs.expert_bytes),
                "kv": _prefix(kv_layer),
                "dup": _prefix(dup or (0,) * costs.n_layers),
            },
            describe=machine.describe(),
            host_compute={},
            lower_bound=lower_bound,
            ik=ik,
            cuda=None
            if lower_bound
            else _cuda(
                model, costs, machine, runtime, context, sequences, kv.cache_dtype, ubatch, ik
            ),
            derived_bytes=sum(derived),
            dup=dup,
        )

    def with_compute_buffers(self) -> LlamacppContext:
        """This context with the real compute buffers (a `lower_bound` one shares its KV, sums
        and layer costs: only the buffers change)."""
        if not self.lower_bound:
            return self
        cb, note = compute_buffer_with_note(self.model, self.runtime, context=self.context,
                                            ubatch=self.ubatch, sequences=self.sequences,
                                            cache_dtype=self.cache_dtype, ik=self.ik)  # fmt: skip
        cu = _cuda(self.model, self.costs, self.machine, self.runtime, self.context,
                   self.sequences, self.cache_dtype, self.ubatch, self.ik)  # fmt: skip
        return replace(self, compute=cb, compute_note=note, host_compute={}, lower_bound=False,
                       cuda=cu)  # fmt: skip

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
        dup = self.dup or (0,) * costs.n_layers
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
                cost = base[nxt] + pad_l[nxt] + (exp[nxt] + pad_e[nxt] if nxt >= c else dup[nxt])
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
        dp = self.sums["dup"]
        cb, ovh = self.compute, self.overhead
        cw = LayoutCharge.of(self.cuda, costs.n_layers, c, n_cpu, output_on)
        gpus_used = 0
        for d in machine.devices:
            lo, hi = span.get(d.index, (0, 0))
            e_lo = max(lo, c)
            first = d is machine.devices[0]
            used = hi > lo or d.index == output_on or cw.first_used(first)
            gpus_used += used
            total = (
                ly[hi] - ly[lo] + sh[hi] - sh[lo] + (ex[hi] - ex[e_lo] if hi > e_lo else 0)
                + (dp[min(hi, c)] - dp[lo] if min(hi, c) > lo else 0)
                + (costs.output_bytes if d.index == output_on else 0) + kv[hi] - kv[lo]
                + (cb + ovh if used else 0)
                + cw.gpu(first, lo, hi, e_lo, d.index == output_on, used)
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
        dp = sums["dup"]
        places: list[Place] = []
        counts: list[int] = []
        cw = LayoutCharge.of(self.cuda, n, c, n_cpu, output_on)
        gpu_pads: list[tuple[str, int, bool, bool]] = []
        for d in devs:
            lo, hi = span.get(d.index, (0, 0))
            counts.append(hi - lo)
            e_lo = max(lo, c)
            first = d is devs[0]
            comps = dict.fromkeys(COMPONENTS, 0)
            used = hi > lo or d.index == output_on or cw.first_used(first)
            pl, pe, po = cw.pads(lo, hi, e_lo, d.index == output_on)
            comps["attention+dense"] = ly[hi] - ly[lo] + pl
            comps["shared experts"] = sh[hi] - sh[lo]
            comps["routed experts"] = (
                (ex[hi] - ex[e_lo] if hi > e_lo else 0) + pe
                + (dp[min(hi, c)] - dp[lo] if min(hi, c) > lo else 0)
            )  # fmt: skip
            comps["embeddings/output"] = (costs.output_bytes if d.index == output_on else 0) + po
            comps["KV cache"] = kv[hi] - kv[lo]
            comps["compute buffer"] = (cb if used else 0) + cw.buffers(first, used, hi, e_lo)
            comps["runtime overhead"] = ovh if used else 0
            gpu_pads.append((f"GPU{d.index}", pl + pe + po, used, cw.moe(first, hi, e_lo)))
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
                    d.gpu_id,
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
        places += host_place(
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
            (
                f"compute buffer per GPU, as budget charges it: {self.compute_note}"
                if self.compute_note
                else f"compute buffer {cb / 2**30:.2f} GiB per GPU, as budget charges it"
            ),
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
            terms = plan_terms(self.cuda, gpus=gpu_pads, first_gpu=f"GPU{devs[0].index}",
                               copy=cw.copy, host_compute=host_cb[0],
                               output_on_gpu=output_on is not None)  # fmt: skip
            notes.append(plan_note(terms, self.cuda.rules.engine))
        if self.derived_bytes:
            notes.append(
                f"ik_llama.cpp derives attn_kv_b at load for every MLA layer of this file (split "
                f"attn_k_b / attn_v_b, -mla {getattr(self.ik, 'mla', 3)}): "
                f"{self.derived_bytes / 2**30:.2f} GiB more weights, on each layer's device "
                "(vramkit.runtimes.ik_llama_rules.derived_wkv_b)"
            )
        dup_on_gpus = sum(dp[min(hi, c)] - dp[lo] for lo, hi in span.values() if min(hi, c) > lo)
        if dup_on_gpus:
            notes.append(
                "ik_llama.cpp keeps the expert biases of each GPU layer whose experts are in host "
                f"RAM on that GPU too ({dup_on_gpus / 2**20:,.2f} MiB; a second copy sits beside "
                "the weights in the CPU buffer; src/llama-load-tensors.cpp L4286-L4309 at "
                "8337e4cd): vramkit.runtimes.ik_llama_rules.duplicated_expert_bias_bytes"
            )
        if spill:
            notes.append(
                f"{spill / 1e9:,.1f} GB of host experts do not fit in RAM: the file is mmap'd (no "
                "--no-mmap) and they page in from NVMe when touched (the page cache keeps the rest)"
            )
        return Plan(
            model_id=self.model.id,
            recipe_id=costs.recipe_id,
            recipe=costs.recipe,
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
            notes=tuple(notes) + host_fill_notes(places),
            cuda_terms=terms,
        )


def _cuda(model, costs, machine, runtime, context, sequences, cache_dtype, ubatch, ik) -> Any:
    """`plan_cuda` for a plan on discrete CUDA GPUs whose runtime has CUDA terms, else None (a
    CPU-only plan, Apple's unified memory, the engine tests' RPC devices, vLLM / SGLang); `ik`:
    the engine's options, for an engine whose terms are its own."""
    rules = cuda_rules(runtime)
    devs = machine.devices
    if rules is None or not devs or any(d.unified or d.backend != "cuda" for d in devs):
        return None
    recipe = costs.recipe if costs.recipe is not None else costs.recipe_id  # resolved once
    return plan_cuda(model, recipe, rules, context=context, sequences=sequences,
                     cache_dtype=cache_dtype, ubatch=ubatch, options=ik)  # fmt: skip


_CONTEXTS: dict[tuple[object, ...], LlamacppContext] = {}
"""`LlamacppContext.build` answers by (model, costs, devices, settings): specs, cost records and
devices compare by identity or value, the host is left out (nothing built reads it)."""


def _ik_dup_bias(model: ModelSpec, costs: LayerCosts, runtime: str) -> tuple[int, ...]:
    """Per layer, the expert biases ik_llama.cpp keeps twice when the layer's experts are in
    host RAM (`duplicated_expert_bias_bytes`, gpt-oss only); () on other runtimes and models."""
    from ..engines import ENGINE_OPTIONS

    if get_runtime(runtime).id not in ENGINE_OPTIONS:
        return ()
    from ..ik_llama_rules import duplicated_expert_bias_bytes, duplicates_expert_biases

    if not duplicates_expert_biases(model):
        return ()

    recipe = costs.recipe if costs.recipe is not None else costs.recipe_id
    return duplicated_expert_bias_bytes(model, recipe)


def _ik_derived(model: ModelSpec, costs: LayerCosts, runtime: str, ik: object) -> tuple[int, ...]:
    """Per layer, the weights ik_llama.cpp derives at load (`derived_layer_bytes`: the MLA
    wkv_b of a file with split attn_k_b / attn_v_b); zeros on other runtimes and models."""
    from ..engines import ENGINE_OPTIONS

    check = ENGINE_OPTIONS.get(get_runtime(runtime).id)  # the runtime's typed options, or None
    if not model.config.get("kv_lora_rank") or check is None:
        return (0,) * costs.n_layers
    from ..ik_llama_rules import derived_layer_bytes

    return derived_layer_bytes(model, costs.recipe_id, check(ik).mla)


def _ik_knobs(runtime: str, ik: object) -> dict[str, object]:
    """A runtime's engine options as plan knobs, only when they differ from its defaults (the
    flags print them; the speed bound reads the KV they size)."""
    flags = option_flags(ik)
    return {"ik_flags": flags} if flags else {}


def _moe_values(a: PlanArgs) -> range:
    """The --n-cpu-moe values a plan search tries: 0 … n_layer on a MoE model, else 0."""
    return range(a.costs.n_layers + 1) if a.costs.is_moe else range(1)


def candidates(a: PlanArgs) -> Iterator[Plan]:
    """One plan per --n-cpu-moe value (`LlamacppContext.plan`)."""
    at = LlamacppContext.build(a.model, a.costs, a.machine, context=a.context,
                               sequences=a.sequences, cache_dtype=a.cache_dtype, ubatch=a.ubatch,
                               runtime=a.runtime, margin=a.margin, ik=a.ik)  # fmt: skip
    for k in _moe_values(a):
        yield at.plan(k)


def any_fits(a: PlanArgs) -> bool:
    """Whether any of `candidates` fits, without building them (`LlamacppContext.fits`) and
    stopping at the first that fits.

    Each --n-cpu-moe value is tried first with no compute buffer on the GPUs or the host: more
    room on the GPUs only takes layers off the host (each GPU is filled within its room by
    construction) and every host component shrinks, so a value that does not fit then does not
    fit at all. Where none does, llama.cpp's allocator (the compute buffer,
    `vramkit.runtimes.llamacpp.graph`) is not replayed; else the search with the real buffers
    starts at the first value that fitted the bound."""
    ks = _moe_values(a)
    low = LlamacppContext.build(a.model, a.costs, a.machine, context=a.context,
                                sequences=a.sequences, cache_dtype=a.cache_dtype, ubatch=a.ubatch,
                                runtime=a.runtime, margin=a.margin, lower_bound=True,
                                ik=a.ik)  # fmt: skip
    first = next((k for k in ks if low.fits(k)), None)
    if first is None:
        return False
    at = low.with_compute_buffers()
    return any(at.fits(k) for k in ks if k >= first)
