"""Inter-node traffic of a multi-node vLLM / SGLang plan, and its time at the NIC's line rate.

A plan with more GPUs than one node (`GPUS_PER_NODE`) sends activations between nodes every
decode step. Bytes through ONE GPU's NIC per step (bf16 activations, 2 bytes a value;
S = tokens × hidden_size × 2 bytes; N = nodes a parallel group spans; G = `GPUS_PER_NODE`):

  tensor parallel across nodes   2 all-reduces a layer; hierarchical (NCCL: reduce-scatter in the
                                 node, all-reduce of each GPU's 1/G share across nodes, all-gather):
                                 layers × 2 × 2(N−1)/N × S / G
  expert parallel across nodes   dispatch + combine of each token's top_k hidden states; a
                                 (N−1)/N share of experts lives on other nodes; spread over every
                                 GPU's NIC: moe_layers × 2 × top_k × S × (N−1)/N / GPUs
  pipeline stages across nodes   one hidden state per stage boundary that crosses a node, the TP
                                 ranks of a stage sending their shares in parallel: crossings × S / tp

seconds = bytes / the NIC's line rate (default `DEFAULT_NIC`, one 400 Gb/s InfiniBand NDR port a
GPU as on DGX H100/H200/B200 boards). A bandwidth bound only: message latency (microseconds per
collective, many per step) is not modelled — it is what the measured efficiency of the speed
estimate absorbs (`vramkit.plan.speed_estimate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError
from ..hardware import get_link
from .layers import LayerCosts
from .record import Plan, require_plan

GPUS_PER_NODE = 8
"""GPUs in one node (HGX / DGX boards): vLLM's own example of a multi-node replica is "2 nodes with
8 GPUs per node" (docs/serving/parallelism_scaling.md,
https://raw.githubusercontent.com/vllm-project/vllm/main/docs/serving/parallelism_scaling.md);
a plan with more GPUs than this spans nodes."""
DEFAULT_NIC = "ib-ndr-400"
"""The inter-node link of one GPU (data/links.yaml: DGX B200 "8 x NVIDIA ConnectX-7 Single Port
Cards … InfiniBand (default): Up to 400Gbps", one a GPU)."""
ACTIVATION_BYTES = 2
"""Bytes a value of a hidden state sent between ranks (bf16, the models' activation dtype)."""


def nodes_of(plan: Plan) -> int:
    """Nodes of `GPUS_PER_NODE` a plan's GPUs fill (at least 1)."""
    n = sum(1 for p in plan.places if p.kind == "gpu")
    return max(1, math.ceil(n / GPUS_PER_NODE))


@dataclass(frozen=True)
class InterNode:
    """One decode step's inter-node traffic: nodes, bytes through one GPU's NIC by cause
    (tensor / expert / pipeline parallel), the link and the seconds at its line rate."""

    nodes: int
    bytes_by_cause: dict[str, int]
    link_id: str
    link_bytes_per_s: float

    @property
    def bytes_per_gpu(self) -> int:
        return sum(self.bytes_by_cause.values())

    @property
    def seconds(self) -> float:
        """bytes_per_gpu / the link's line rate (s); 0 on one node."""
        return self.bytes_per_gpu / self.link_bytes_per_s if self.bytes_per_gpu else 0.0


def internode_step(
    plan: Plan, model: ModelSpec, costs: LayerCosts, *, link: str = DEFAULT_NIC
) -> InterNode:
    """Inter-node bytes one decode step of the plan's sequences sends through one GPU's NIC
    (see the module docstring); zero for a plan on one node."""
    plan, model = require_plan(plan), get_model(model)
    if not isinstance(costs, LayerCosts):
        raise VramkitError(
            f"costs must be the plan's LayerCosts (vramkit.plan.layers.layer_costs), got "
            f"{type(costs).__name__}."
        )
    lk = get_link(link)
    nodes = nodes_of(plan)
    causes: dict[str, int] = {}
    if nodes > 1:
        k = plan.knobs
        tp, pp, dp = (int(k.get(x, 1)) for x in ("tp", "pp", "dp"))  # type: ignore[call-overload]
        gpus = sum(1 for p in plan.places if p.kind == "gpu")
        hidden = int(model.config.get("hidden_size") or 0)
        seqs = max(1, math.ceil(plan.sequences / dp))  # tokens a DP group decodes per step
        s = seqs * hidden * ACTIVATION_BYTES
        n_tp = math.ceil(tp / GPUS_PER_NODE)
        if n_tp > 1:
            share = 2 * (n_tp - 1) / n_tp * s / GPUS_PER_NODE
            causes["tensor parallel all-reduce"] = math.ceil(costs.n_layers * 2 * share)
        moe_layers = sum(1 for b in costs.expert_bytes if b)
        if k.get("ep") and moe_layers and costs.top_k:
            tokens = plan.sequences * hidden * ACTIVATION_BYTES
            off_node = (nodes - 1) / nodes
            causes["expert parallel dispatch + combine"] = math.ceil(
                moe_layers * 2 * costs.top_k * tokens * off_node / gpus
            )
        stage_nodes = math.ceil(gpus / pp / GPUS_PER_NODE) if pp > 1 else 0
        crossings = (nodes - 1) if pp > 1 and stage_nodes <= 1 else 0
        if crossings:
            causes["pipeline stage hand-off"] = math.ceil(crossings * s / tp)
    return InterNode(nodes, causes, lk.id, lk.one_way_bytes_per_s)


def multi_node_note(plan: Plan, how: str) -> str:
    """The note a multi-node plan's command carries: how many nodes, `how` the engine reaches
    them, and what the speed bound assumes of the network between them."""
    n = sum(1 for p in plan.places if p.kind == "gpu")
    return (
        f"multi-node plan: {n} GPUs = {nodes_of(plan)} nodes of {GPUS_PER_NODE}; {how}; the "
        "GPUs of different nodes talk over the inter-node network, not NVLink (the speed bound "
        f"counts its bytes at {DEFAULT_NIC}'s line rate, one NIC a GPU; its latency is not "
        "modelled)"
    )
