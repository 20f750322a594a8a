"""Speed-of-light bounds for a plan: decode and prefill tokens/s (upper bounds, never predictions).

Decode step of B sequences (one token each), bytes ÷ bandwidth per place:
  llama.cpp (layers run one after another, so the times ADD):
    t = Σ_GPU (weights read on it + its KV read) / its bandwidth + host bytes read / host bandwidth
    weights read = attention+dense + shared + touched(B) × one expert per GPU-resident expert layer
    (+ the output head); host = touched(B) × one expert per host expert layer + whole host
    layers + B embedding rows. touched(B) = `vramkit.moe.expected_experts_touched(E, k, B)`.
  vLLM / SGLang (TP ranks run together): t = per-GPU reads / one GPU's bandwidth
    + offloaded bytes per GPU / its host link (--cpu-offload-gb streams them every step); on
    more than one node, at least the inter-node traffic through one GPU's NIC / its line rate
    (`vramkit.plan.network`: t = max(reads + offload, network), perfect overlap).
KV read per step: the whole cache of each sequence, except a sparse attention's compressed
entries (V4 CSA) read only `index_topk` of them. Prefill of U tokens (one ubatch): every
weight is read once per ubatch (host experts cross the host link, llama.cpp copies them to the
GPU for large batches); compute (FLOPs) is not modelled, so this is a weight-traffic bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..catalog import ModelSpec, get_model
from ..model.routing import expected_experts_touched
from ..runtimes import get_runtime
from .layers import LayerCosts, layer_costs
from .machine import Machine, require_machine
from .network import internode_step
from .record import Plan, require_plan


@dataclass(frozen=True)
class SpeedBound:
    """Upper bounds for one plan: tokens/s and what limits them (bytes per step by place)."""

    decode_tokens_per_s: float
    decode_step_seconds: float
    prefill_tokens_per_s: float
    limited_by: str
    gpu_read_bytes: int
    host_read_bytes: int
    link_bytes: int
    batch: int
    internode_bytes: int = 0
    """Bytes one GPU's NIC sends per decode step on a multi-node plan (`vramkit.plan.network`)."""


def _ik_of(plan: Plan) -> object:
    """A plan's engine options (ik_llama.cpp's; None: the defaults), read back from its knobs."""
    flags = plan.knobs.get("ik_flags")
    if not flags:
        return None
    from ..runtimes.ik_llama_rules import options_from_flags

    return options_from_flags(flags)  # type: ignore[arg-type]


def _touched(costs: LayerCosts, batch: int) -> float:
    if not costs.is_moe:
        return 0.0
    return expected_experts_touched(costs.experts, costs.top_k, batch)


def kv_read_bytes(model: ModelSpec, plan: Plan) -> int:
    """KV bytes one decode step of the plan's sequences reads (see the module docstring)."""
    from .costs import kv_estimate

    kv = kv_estimate(
        model,
        plan.runtime,
        plan.context,
        plan.sequences,
        None if plan.cache_dtype == "bf16" else plan.cache_dtype,
        ubatch=plan.knobs.get("ubatch"),  # type: ignore[arg-type]
        ik=_ik_of(plan),
    )
    topk = model.config.get("index_topk")
    total = 0.0
    for kind, b in kv.by_kind.items():
        if kind == "csa" and topk:
            entries = max(1, plan.context // 4)
            total += b * min(1.0, int(topk) / entries)
        else:
            total += b
    return math.ceil(total)


def plan_speed(plan: Plan, machine: Machine, *, model: ModelSpec | str | None = None) -> SpeedBound:
    """Decode and prefill bounds of `plan` on `machine` (units: tokens/s, seconds, bytes)."""
    plan, machine = require_plan(plan), require_machine(machine)
    m = get_model(model if model is not None else plan.model_id)
    costs = layer_costs(m, plan.recipe or plan.recipe_id)
    b = plan.sequences
    touched = _touched(costs, b)
    kv_read = kv_read_bytes(m, plan)
    kv_total = max(plan.kv_bytes, 1)
    host = next((p for p in plan.places if p.kind == "host"), None)
    host_bw = host.bandwidth_bytes_per_s if host and host.bandwidth_bytes_per_s else 0.0
    gpus = [p for p in plan.places if p.kind == "gpu"]
    ub = int(plan.knobs.get("ubatch", 512))  # type: ignore[call-overload]
    touched_pf = _touched(costs, ub)
    internode = 0
    if get_runtime(plan.runtime).capabilities.placement == "layers":
        t = 0.0
        t_pf = 0.0
        gpu_read = host_read = link = 0
        t_disk = 0.0
        for p in gpus:
            if p.layers is None and not p.bytes_by_component["embeddings/output"]:
                continue
            ls = range(*p.layers) if p.layers else range(0)
            w = sum(costs.layer_bytes[i] + costs.shared_bytes[i] for i in ls)
            w += p.bytes_by_component["embeddings/output"]
            e = sum(touched * costs.expert_one[i] for i in p.expert_layers)
            e_pf = sum(
                min(costs.experts, touched_pf) * costs.expert_one[i] for i in p.expert_layers
            )
            kv = kv_read * p.bytes_by_component["KV cache"] / kv_total
            read = w + e + kv
            gpu_read += math.ceil(read)
            t += read / p.bandwidth_bytes_per_s
            t_pf += (w + e_pf) / p.bandwidth_bytes_per_s
        t_gpu = t
        if host is not None:
            ls = range(*host.layers) if host.layers else range(0)
            w = sum(costs.layer_bytes[i] + costs.shared_bytes[i] for i in ls)
            e = sum(touched * costs.expert_one[i] for i in host.expert_layers)
            disk = next((p for p in plan.places if p.kind == "disk"), None)
            frac = 0.0
            if disk is not None:  # a share of the host experts pages in from NVMe
                spilled = disk.bytes_by_component["routed experts"]
                frac = spilled / (spilled + host.bytes_by_component["routed experts"])
                t_disk = e * frac / disk.bandwidth_bytes_per_s
                t += t_disk
                link = math.ceil(e * frac)
                e *= 1 - frac
            kv = kv_read * host.bytes_by_component["KV cache"] / kv_total
            read = w + e + kv + b * costs.embed_row_bytes
            host_read = math.ceil(read)
            if read and host_bw:
                t += read / host_bw
            elif read:
                t = math.inf
            # prefill: host experts are copied to a GPU over its host link, once per ubatch
            e_pf = sum(
                min(costs.experts, touched_pf) * costs.expert_one[i] for i in host.expert_layers
            )
            link_bw = (
                min((d.host_link_bytes_per_s or 0.0) for d in machine.devices)
                if machine.devices
                else 0.0
            )
            if e_pf and disk is not None:  # the spilled share is read from NVMe once per ubatch
                t_pf += e_pf * frac / disk.bandwidth_bytes_per_s
            if e_pf:
                link = max(link, math.ceil(e_pf))
                t_pf += e_pf / link_bw if link_bw else e_pf / max(host_bw, 1.0)
            t_pf += w / max(host_bw, 1.0) if w else 0.0
        parts = {
            "GPU memory": t_gpu,
            "host RAM": t - t_gpu - t_disk,
            "NVMe (mmap'd experts)": t_disk,
        }
        limited = max(parts, key=lambda k: parts[k])
    else:
        p = gpus[0]
        tp = int(plan.knobs.get("tp", 1))  # type: ignore[call-overload]
        dp = int(plan.knobs.get("dp", 1))  # type: ignore[call-overload]
        ep = bool(plan.knobs.get("ep", False))
        dense = (sum(costs.layer_bytes) + sum(costs.shared_bytes) + costs.output_bytes) / tp
        ranks = tp * dp if ep else tp
        b_rank = max(1, math.ceil(b / dp))
        if ep:  # a rank holds E/ranks experts; every rank's tokens route to them
            e = sum(touched / ranks * one for one in costs.expert_one)
        else:  # a TP rank holds 1/tp of every expert; its DP group decodes b_rank sequences
            e = sum(_touched(costs, b_rank) * one for one in costs.expert_one) / tp
        kv = kv_read / (tp * dp)
        offload = int(plan.knobs.get("cpu_offload_gb", 0)) * 2**30  # type: ignore[call-overload]
        read = dense + e + kv
        gpu_read = math.ceil(read)
        link_bw = min((d.host_link_bytes_per_s or 0.0) for d in machine.devices)
        t_gpu = read / p.bandwidth_bytes_per_s
        pp = int(plan.knobs.get("pp", 1))  # type: ignore[call-overload]
        # pipeline stages run one after another: each streams its own offloaded bytes
        t_link = pp * offload / link_bw if offload and link_bw else 0.0
        # a multi-node plan: activations cross the NICs every step (vramkit.plan.network); the
        # bound assumes that traffic overlaps the reads perfectly, so the slower side counts
        net = internode_step(plan, m, costs)
        t_net, internode = net.seconds, net.bytes_per_gpu
        t = max(t_gpu + t_link, t_net)
        link = offload
        host_read = 0
        t_pf = (dense + sum(costs.expert_bytes) / ranks) / p.bandwidth_bytes_per_s + t_link
        limited = "host link (--cpu-offload-gb)" if t_link > t_gpu else "GPU memory"
        if t_net > t_gpu + t_link:
            limited = "inter-node network"
    return SpeedBound(
        decode_tokens_per_s=b / t if t else math.inf,
        decode_step_seconds=t,
        prefill_tokens_per_s=ub / t_pf if t_pf else math.inf,
        limited_by=limited,
        gpu_read_bytes=gpu_read,
        host_read_bytes=host_read,
        link_bytes=link,
        batch=b,
        internode_bytes=internode,
    )
