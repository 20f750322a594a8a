"""Weight bytes one GPU holds when a model is split over n GPUs: tensor parallel (matrices
split, small vectors and the router whole), expert parallel (routed experts split, the rest
replicated or tensor-parallel), data parallel (everything replicated). One rule for
`vramkit.budget` and the placement planner (`vramkit.runtimes.vllm.placement.served_plan`).
"""

from __future__ import annotations

import math

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, require_int, unknown_name
from ..model.params import ROUTED_GROUPS
from . import Recipe, get_recipe, weight_bytes

TP_REPLICATED = ("norms", "hyper_connections", "router")
"""Groups every tensor-parallel rank keeps whole (small vectors and the router gate)."""
LAYOUTS = ("tp", "ep", "dp", "tp_ep", "pp")
"""Layouts `weights_per_gpu` splits by (tp_ep: ep with attention tensor-parallel over all n;
pp: the heaviest of n pipeline stages)."""


def weights_per_gpu(
    model: str | ModelSpec,
    recipe: str | Recipe | None = None,
    *,
    count: int,
    parallel: str,
    include_mtp: bool = False,
    attention_tp: int = 1,
) -> int:
    """Weight bytes one GPU holds (see the module docstring for what is split).

    Notes
    -----
    tp: replicated + ⌈(rest)/n⌉; ep: non-expert + ⌈routed × ⌈E/n⌉ / E⌉; dp: everything.
    `attention_tp` > 1 (ep only): the non-expert weights are tensor-parallel over that many
    GPUs (replicated groups + ⌈rest / attention_tp⌉), as vLLM serves EP: "Data Parallel
    attention can be combined with Tensor Parallel attention" and "the expert layers will by
    default form a (DP x TP) sized tensor parallel group" (--enable-expert-parallel shards
    them instead), https://docs.vllm.ai/en/v0.12.0/serving/data_parallel_deployment/; SGLang's
    attention is TP unless --enable-dp-attention ("DP for attention, TP for FFN",
    https://docs.sglang.io/cookbook/base/reference/server_arguments).
    The MTP module counts only with `include_mtp` (it is loaded for speculative decoding).
    """
    model = get_model(model)
    n = require_int("count", count, minimum=1)
    if parallel not in LAYOUTS:
        raise unknown_name("parallelism", parallel, LAYOUTS)
    w = weight_bytes(model, get_recipe(recipe, model=model))
    groups = dict(w.by_group)
    groups["mtp"] = 0
    if include_mtp:  # the MTP layer is split as the main layers are: its experts by EP, …
        for g, b in mtp_by_group(model, recipe).items():
            groups[g] = groups.get(g, 0) + b
    total = sum(groups.values())
    if parallel == "dp" or n == 1:
        return total
    if parallel == "pp":
        return max(stage_bytes(model, recipe, n, include_mtp))
    if parallel == "tp_ep":
        parallel, attention_tp = "ep", n
    if parallel == "tp":
        replicated = sum(groups[g] for g in TP_REPLICATED)
        return replicated + math.ceil((total - replicated) / n)
    routed = sum(groups[g] for g in ROUTED_GROUPS)
    experts = routed_experts(model)
    if experts == 0:
        raise VramkitError(
            f"{model.id} has no routed experts: expert parallelism needs them; use tensor (tp) or data (dp) parallelism."
        )
    a = require_int("attention_tp", attention_tp, minimum=1, maximum=n)
    rest = total - routed
    if a > 1:
        replicated = sum(groups[g] for g in TP_REPLICATED)
        rest = replicated + math.ceil((rest - replicated) / a)
    return rest + math.ceil(routed * math.ceil(experts / n) / experts)


def mtp_by_group(model: ModelSpec, recipe: str | Recipe | None) -> dict[str, int]:
    """Bytes of the MTP module's tensors by their functional group (routed experts, attention,
    norms, …), the split `weights_per_gpu` applies to the main layers."""
    from dataclasses import replace

    from . import tensor_formats

    r = replace(get_recipe(recipe, model=model), include_mtp=True)
    out: dict[str, int] = {}
    for t, fmt in tensor_formats(model, r):
        if t.mtp:
            out[t.group] = out.get(t.group, 0) + t.count * fmt.tensor_bytes(t.shape)
    return out


def routed_experts(model: ModelSpec) -> int:
    """Routed experts per MoE layer (0: a dense model)."""
    for t in model.inventory:
        if t.experts_per_token is not None and t.group in ROUTED_GROUPS:
            return t.count
    return 0


def stage_bytes(model: ModelSpec, recipe: object, stages: int, include_mtp: bool) -> list[int]:
    """Weight bytes of each pipeline stage: its layers (vLLM's ``get_pp_indices``,
    `vramkit.runtimes.vllm.memory.pp_layers`), the embedding (and a vision tower) on the first, the head
    and every tensor outside the layers on the last."""
    from ..runtimes.vllm.memory import pp_layers
    from . import tensor_formats

    layers = int(model.config.get("num_hidden_layers") or 0)
    ranges = [pp_layers(layers, stages, r) for r in range(stages)]
    stage_of = {layer: i for i, r in enumerate(ranges) for layer in r}
    out = [0] * stages
    sizes: dict[tuple[str, tuple[int, ...]], int] = {}  # bytes per (format, shape): layers repeat
    for t, fmt in tensor_formats(model, get_recipe(recipe, model=model)):
        if t.mtp and not include_mtp:
            continue
        b = sizes.get((fmt.name, t.shape))
        if b is None:
            b = sizes[fmt.name, t.shape] = fmt.tensor_bytes(t.shape)
        b *= t.count
        if t.layer is not None and not t.mtp:
            out[stage_of[t.layer]] += b
        elif t.group in ("embed", "vision"):
            out[0] += b
        else:  # lm_head, final norm, MTP: the last stage
            out[-1] += b
    return out
