"""vLLM's placement by ranks: pipeline stages, tensor parallel over head-divisible GPUs, expert
parallel, data parallel for the rest, --cpu-offload-gb for weights beyond the memory fraction.
SGLang plans take the same rank placement (its record's ``placement: ranks``; no offload: its
``offload`` capability is none, so weights beyond --mem-fraction-static make the plan not fit).
The planner (`vramkit.plan.placement`) asks it through `vramkit.runtimes.planning`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import MappingProxyType

from ...catalog import ModelSpec
from ...errors import VramkitError, require_int
from ...plan.costs import compute_buffer_bytes, kv_estimate, overheads_record
from ...plan.layers import LayerCosts
from ...plan.machine import Machine
from ...plan.margin import Margin, engine_margin
from ...plan.record import COMPONENTS, Place, Plan, PlanArgs, host_fill_notes, host_place
from ...quant import Recipe, get_recipe
from .. import get_runtime


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
#              @840e797, quoted in vramkit.runtimes.vllm.flags). vLLM itself also accepts experts that do
#              not divide ("Any remaining are assigned to the last rank", determine_expert_map,
#              https://github.com/vllm-project/vllm/blob/c439a139790cafaecb54e8dea123b78049f1442b/vllm/model_executor/layers/fused_moe/layer.py);
#              vramkit plans EP only when they divide (as `fit` does): conservative, stated.
#   PP         layer ranges of vLLM get_pp_indices: num_hidden_layers // pp each, the remainder
#              one each to the partitions before the last ("The last partition is excluded")
#              https://github.com/vllm-project/vllm/blob/5a6541db9bfa77756459722f69e8c89a0b47a14d/vllm/distributed/utils.py
#              (each stage is charged its own weights and its own layers' KV: `stage_loads`).
#   budget     vLLM gpu_memory_utilization of TOTAL memory (vllm/config/cache.py, data/runtimes.yaml);
#              --cpu-offload-gb "The space in GiB to offload to CPU, per GPU" (vllm/config/offload.py);
#              SGLang --mem-fraction-static "The fraction of the memory used for static allocation
#              (model weights and KV cache memory pool)" (python/sglang/srt/server_args.py @469c63e).
#   overheads  CUDA context, non-torch / NCCL memory and the activation peak are measured or
#              calibrated ESTIMATES (data/runtimes.yaml gives each source); no engine code states them.
def _stage_shares(model: ModelSpec, recipe: str | Recipe, pp: int) -> tuple[float, ...]:
    """Each pipeline stage's share of the weights under vLLM's stage split
    (`vramkit.quant.shares.stage_bytes`: its layers, the embedding on the first stage, the head on
    the last), memoised per model object (a capacity search asks many times)."""
    key = (id(model), recipe if isinstance(recipe, str) else recipe.id, pp)
    hit = _STAGE_MEMO.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    from ...quant.shares import stage_bytes

    per_stage = stage_bytes(model, recipe, pp, False)
    total = max(1, sum(per_stage))
    out = tuple(b / total for b in per_stage)
    if len(_STAGE_MEMO) > 256:
        _STAGE_MEMO.clear()
    _STAGE_MEMO[key] = (model, out)
    return out


_STAGE_MEMO: dict[tuple[int, str, int], tuple[ModelSpec, tuple[float, ...]]] = {}


def _kv_layers_of(model: ModelSpec, kv: object) -> tuple[int, ...]:
    from ...plan.layers import kv_layers_of

    return kv_layers_of(model, kv)


def stage_loads(
    model: ModelSpec,
    recipe: str | Recipe,
    pp: int,
    weights: int,
    kv_gpu: int,
    kv_layers: tuple[int, ...],
) -> list[tuple[int, int]]:
    """(weights, KV) bytes per GPU of each pipeline stage: the TP rank's `weights` × the stage's
    share (`_stage_shares`) and the rank's whole-model KV `kv_gpu` × the stage's layers' part of
    it (`kv_layers`: KV bytes of each layer, `vramkit.plan.layers.kv_per_layer`), both rounded up.
    Each stage's pool is sized from its own layers; vLLM then keeps the smallest block count of
    all workers (``get_kv_cache_configs``: "Change the num_blocks of each rank to the smallest
    among all ranks", vllm/v1/core/kv_cache_utils.py @ 001cabc1be16a59a70d720ed61a13b678c060a18;
    SGLang likewise all-reduces the MIN of ``max_total_num_tokens`` over pipeline ranks,
    model_runner_kv_cache_mixin.py ``init_memory``), so the token capacity is the minimum over
    stages — what a plan whose every stage must fit gives."""
    shares = _stage_shares(model, recipe, pp)
    ranges = vllm_pp_layers(len(kv_layers), pp)
    total = max(1, sum(kv_layers))
    return [
        (math.ceil(weights * sh), math.ceil(kv_gpu * sum(kv_layers[a:b]) / total))
        for sh, (a, b) in zip(shares, ranges, strict=True)
    ]


def vllm_pp_layers(n_layers: int, pp: int) -> list[tuple[int, int]]:
    """(first, last + 1) layers of each pipeline stage, as vLLM's get_pp_indices splits them
    (without VLLM_PP_LAYER_PARTITION): n // pp each, the remainder one each to the stages before
    the last (``for i in range(2, remaining_layers + 2): partitions[-i] += 1``)."""
    from .memory import pp_layers  # the one copy of the rule

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
    (SGLang). Under PP each stage's GPUs hold that stage's weights and its own layers' KV
    (`stage_loads`): a plan fits when every stage does, and its token capacity is the smallest
    stage's. The memory fraction multiplies the CUDA total where the card records one and the
    runtime's fraction is of it (`Device.fraction_total`)."""
    from ...quant.shares import weights_per_gpu

    devs = list(machine.devices)
    if not devs:
        raise VramkitError(f"{runtime} needs at least one GPU; this machine has none.")
    prof = overheads_record(runtime)
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
        model, costs.recipe or get_recipe(costs.recipe_id), count=tp * dp if ep else tp, parallel=parallel,
        attention_tp=tp if ep else 1,  # EP shards experts; attention stays TP (weights_per_gpu)
    )  # fmt: skip
    kv = kv_estimate(model, runtime, context, sequences, cache_dtype, tp=tp, dp=dp)
    kv_gpu = kv.per_gpu_bytes
    loads = [(weights, kv_gpu)]  # (weights, KV) per GPU of each pipeline stage
    if pp > 1:  # each stage its own weights and its own layers' KV (vLLM's get_pp_indices)
        recipe = costs.recipe or costs.recipe_id
        loads = stage_loads(model, recipe, pp, weights, kv_gpu, _kv_layers_of(model, kv))
        tight = max(range(pp), key=lambda i: sum(loads[i]))
        w_gb = ", ".join(f"{w / 1e9:,.2f}" for w, _ in loads)
        kv_gb = ", ".join(f"{k / 1e9:,.2f}" for _, k in loads)
        notes.append(
            f"pipeline of {pp} stages as vLLM splits them (get_pp_indices): each stage charged "
            f"its own weights ({w_gb} GB per GPU) and its own layers' KV ({kv_gb} GB per GPU); "
            f"the fullest is stage {tight}, and the token capacity is the smallest over the "
            "stages (vLLM keeps every worker's smallest block count)"
        )
    mg = margin if margin is not None else engine_margin(runtime)
    frac = memory_fraction if memory_fraction is not None else mg.memory_fraction
    overhead = prof.overhead_bytes(split=n_all > 1) - prof.margin_bytes  # as budget charges it
    # the fraction multiplies what CUDA reports as the device total (vLLM, SGLang)
    cap = d0.fraction_total(get_runtime(runtime).capabilities.fraction_of_cuda_total)
    usable = math.floor(cap * frac)
    workspace = compute_buffer_bytes(
        model, runtime, context=context, ubatch=0, sequences=sequences,
        cache_dtype=kv.cache_dtype,
    )  # the record's function where it names one, as budget charges it  # fmt: skip
    stages = vllm_pp_layers(costs.n_layers, pp)
    need = max(w + k for w, k in loads) + workspace + overhead
    offload = 0
    offloads = get_runtime(runtime).capabilities.offload == "weights"  # vLLM's cpu_offload_gb
    if offloads and need > usable and machine.host is not None:
        offload = math.ceil((need - usable) / 2**30)  # --cpu-offload-gb is GiB per GPU
        notes.append(
            f"--cpu-offload-gb {offload}: {offload} GiB of weights per GPU streamed from host RAM each step"
        )
    e_div = tp * dp if ep else tp
    places = []
    host_e = host_o = 0
    for d in devs:
        stage = d.index // n  # devices in order: pipeline stage after stage
        first, last = stages[stage]
        w_gpu, kv_stage = loads[stage] if pp > 1 else loads[0]
        off = min(w_gpu, offload * 2**30)
        e_share = min(w_gpu, sum(costs.expert_bytes[first:last]) // e_div)
        # vLLM offloads whole parameters in load order; split by component in proportion (approx.)
        e_off = off * e_share // w_gpu if w_gpu else 0
        host_e, host_o = host_e + e_off, host_o + off - e_off
        comps = dict.fromkeys(COMPONENTS, 0)
        comps["routed experts"] = e_share - e_off
        comps["attention+dense"] = (w_gpu - e_share) - (off - e_off)
        comps["KV cache"] = kv_stage
        comps["compute buffer"] = workspace
        comps["runtime overhead"] = overhead
        places.append(
            Place(
                f"GPU{d.index}", "gpu", cap, MappingProxyType(comps), (first, last),
                tuple(range(first, last)) if costs.is_moe else (),
                costs.experts // (tp * dp) if ep else costs.experts, d.bandwidth_bytes_per_s,
                cap - usable, d.gpu_id,
            )
        )  # fmt: skip
    host = dict.fromkeys(COMPONENTS, 0)
    host["routed experts"] = host_e
    host["attention+dense"] = host_o
    places += host_place(machine, host, None, [], 0)
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
        recipe=costs.recipe,
        runtime=runtime,
        machine=machine.describe(),
        context=context,
        sequences=sequences,
        cache_dtype=kv.cache_dtype,
        places=tuple(places),
        knobs=MappingProxyType(knobs),
        kv_bytes=kv.total_bytes,
        notes=tuple(notes) + host_fill_notes(places),
    )


def candidates(a: PlanArgs) -> Iterator[Plan]:
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


def any_fits(a: PlanArgs) -> bool:
    """Whether any of `candidates` fits, stopping at the first that does."""
    return any(p.fits for p in candidates(a))
