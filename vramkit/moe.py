"""MoE accounting: total vs active bytes, experts a batch touches, and decode-speed bounds.

Routing assumption: every token picks `top_k` distinct experts of `E`; tokens route
independently. Uniform routing gives each expert a per-token probability q = k/E; a Zipf skew
(popularity ∝ rank^-s) gives q_e = k·p_e, capped at 1 with the excess handed down (Σ q_e = k).
Speeds here are speed-of-light upper bounds (bytes ÷ bandwidth, perfect overlap), never
predictions: real decode is slower.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from .catalog import get_model
from .errors import VramkitError, require_int, require_number
from .model.params import GROUPS, ROUTED_GROUPS
from .model.routing import MAX_ZIPF_S as MAX_ZIPF_S  # re-exported: the routing formula's home
from .model.routing import expected_experts_touched
from .model.routing import routing_probabilities as routing_probabilities
from .quant import Recipe, get_recipe, tensor_formats
from .validate import check_record

if TYPE_CHECKING:
    from .catalog import ModelSpec


@dataclass(frozen=True)
class ExpertLayer:
    """One MoE layer: E routed experts, top-k per token, bytes and params of ONE expert."""

    layer: int
    experts: int
    top_k: int
    expert_bytes: int
    expert_params: int

    def __post_init__(self) -> None:
        check_record(self)


@dataclass(frozen=True)
class MoeSplit:
    """Main-model (no MTP) weights of `model` under `recipe`: total vs what one token reads.

    total_bytes = Σ_tensors count × bytes(tensor); active_bytes counts routed experts
    `top_k` of `E` (embedding counted in full, as DeepSeek's "active" label does);
    dense_bytes = total_bytes − routed expert bytes (read by every token);
    embed_bytes = the input embedding table (a token reads one row of it).
    """

    model_id: str
    recipe_id: str
    total_params: int
    active_params: int
    total_bytes: int
    active_bytes: int
    dense_bytes: int
    embed_bytes: int
    embed_row_bytes: int
    bytes_by_group: Mapping[str, int]
    active_bytes_by_group: Mapping[str, int]
    layers: tuple[ExpertLayer, ...]

    def __post_init__(self) -> None:
        check_record(self)

    @property
    def routed_bytes(self) -> int:
        """Bytes of all routed experts (main model)."""
        return self.total_bytes - self.dense_bytes

    @property
    def total_to_active(self) -> float:
        """How many times the loaded bytes exceed the bytes one token reads."""
        return self.total_bytes / self.active_bytes


def moe_split(model: str | ModelSpec, recipe: str | Recipe | None = None) -> MoeSplit:
    """Total vs active bytes and params by tensor group, and the MoE layers, under `recipe`.

    Parameters
    ----------
    model: a catalog id or `ModelSpec`.
    recipe: recipe id or `Recipe`; default (or "official") the model's checkpoint layout.
    """
    model = get_model(model)
    r = get_recipe(recipe, model=model)
    by_group = dict.fromkeys(GROUPS, 0)
    active_by_group = dict.fromkeys(GROUPS, 0)
    per_layer: dict[int, list[int]] = {}
    shape_of: dict[int, tuple[int, int]] = {}
    total_params = active_params = embed_bytes = embed_row = 0
    for t, fmt in tensor_formats(model, r):
        if t.mtp:
            continue
        one = fmt.tensor_bytes(t.shape)
        used = t.count if t.experts_per_token is None else t.experts_per_token
        by_group[t.group] += t.count * one
        active_by_group[t.group] += used * one
        total_params += t.params
        active_params += t.active_params
        if t.group == "embed" and t.kind == "embedding":
            embed_bytes += t.count * one
            embed_row += math.ceil(one / t.shape[0])
        if t.experts_per_token is not None and t.group in ROUTED_GROUPS:
            acc = per_layer.setdefault(int(t.layer or 0), [0, 0])
            acc[0] += one
            acc[1] += t.numel
            shape_of[int(t.layer or 0)] = (t.count, t.experts_per_token)
    layers = tuple(
        ExpertLayer(i, shape_of[i][0], shape_of[i][1], b, p)
        for i, (b, p) in sorted(per_layer.items())
    )
    total = sum(by_group.values())
    routed = sum(by_group[g] for g in ROUTED_GROUPS)
    return MoeSplit(
        model_id=model.id,
        recipe_id=r.id,
        total_params=total_params,
        active_params=active_params,
        total_bytes=total,
        active_bytes=sum(active_by_group.values()),
        dense_bytes=total - routed,
        embed_bytes=embed_bytes,
        embed_row_bytes=embed_row,
        bytes_by_group=MappingProxyType(by_group),
        active_bytes_by_group=MappingProxyType(active_by_group),
        layers=layers,
    )


# ── routing: `vramkit.model.routing` (expected_experts_touched, routing_probabilities) ──


def touched_expert_bytes(
    split: MoeSplit, tokens: int, *, zipf_s: float = 0.0, cached: int = 0
) -> float:
    """Expected bytes of routed experts `tokens` tokens read in one step, over all MoE layers,
    excluding the `cached` most popular experts of each layer: Σ_layers touched × expert_bytes.

    Layers sharing (E, top_k) share one `expected_experts_touched` (computed once per shape)."""
    b = require_int("tokens", tokens, minimum=0)
    c = require_int("cached", cached, minimum=0)
    bytes_by_shape: dict[tuple[int, int], int] = {}
    for x in split.layers:
        key = (x.experts, x.top_k)
        bytes_by_shape[key] = bytes_by_shape.get(key, 0) + x.expert_bytes
    return math.fsum(
        expected_experts_touched(e, k, b, zipf_s=zipf_s, cached=min(c, e)) * nbytes
        for (e, k), nbytes in bytes_by_shape.items()
    )


def step_read_bytes(split: MoeSplit, batch: int, *, zipf_s: float = 0.0) -> int:
    """Weights one decode step of `batch` tokens reads: dense_bytes + Σ_layers expected touched
    experts × expert_bytes (bytes, rounded up). Not what must be resident: every expert must be
    held (`split.total_bytes`), since the next step may route to any of them ("resident" means
    held in memory everywhere in vramkit)."""
    b = require_int("batch", batch, minimum=0)
    return split.dense_bytes + math.ceil(touched_expert_bytes(split, b, zipf_s=zipf_s))


# ── decode-speed bounds ──────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class DecodeBound:
    """Speed-of-light decode bound: bytes one step must move ÷ bandwidth (an upper bound).

    step_seconds = max(gpu_read_bytes / hbm, transfer_bytes / link) (perfect overlap);
    tokens_per_s = batch / step_seconds. `limited_by` names the slower side.
    """

    batch: int
    weight_read_bytes: int
    kv_read_bytes: int
    transfer_bytes: int
    hbm_bytes_per_s: float
    link_bytes_per_s: float | None
    step_seconds: float
    tokens_per_s: float
    limited_by: str

    def __post_init__(self) -> None:
        check_record(self)

    @property
    def gpu_read_bytes(self) -> int:
        """Bytes read from GPU memory per step: weights touched + KV."""
        return self.weight_read_bytes + self.kv_read_bytes


def decode_bound(
    split: MoeSplit,
    *,
    batch: int,
    hbm_bytes_per_s: float,
    kv_read_bytes_per_sequence: int = 0,
    zipf_s: float = 0.0,
    cached_experts: int | None = None,
    link_bytes_per_s: float | None = None,
    experts_computed_on_host: bool = False,
) -> DecodeBound:
    """Decode tokens/s upper bound, all-in-GPU or with routed experts offloaded.

    Parameters
    ----------
    split: from `moe_split`.
    batch: sequences decoded together (one token each per step).
    hbm_bytes_per_s: GPU memory bandwidth (aggregate over the GPUs that share the weights).
    kv_read_bytes_per_sequence: KV bytes one sequence reads per step (its whole cache for dense
        attention; less for sparse attention).
    cached_experts: experts per layer kept on the GPU (the most popular); None = all (no offload).
    link_bytes_per_s: bandwidth the missing experts come over (host link one way, or host RAM /
        NVMe when slower); required when experts are offloaded.
    experts_computed_on_host: True = the CPU computes the missing experts where they live
        (llama.cpp ``-ot exps=CPU``), so they are read at `link_bytes_per_s` but not copied
        to the GPU; False = they are copied to the GPU and read there too.

    Notes
    -----
    weights per step = dense − embed table + one embed row per token + Σ_layers touched(B) ×
    expert_bytes; KV per step = B × kv_read_bytes_per_sequence; transfer = Σ_layers misses(B) ×
    expert_bytes with misses = experts touched outside the cached ones.
    """
    b = require_int("batch", batch, minimum=1)
    hbm = require_number("hbm_bytes_per_s", hbm_bytes_per_s, minimum=1.0)
    kv_seq = require_int("kv_read_bytes_per_sequence", kv_read_bytes_per_sequence, minimum=0)
    dense = split.dense_bytes - split.embed_bytes + b * split.embed_row_bytes
    experts = touched_expert_bytes(split, b, zipf_s=zipf_s)
    missed = 0.0
    if cached_experts is not None and split.layers:
        top = max(x.experts for x in split.layers)
        c = require_int("cached_experts", cached_experts, minimum=0, maximum=top)
        missed = touched_expert_bytes(split, b, zipf_s=zipf_s, cached=c)
        if missed > 0 and link_bytes_per_s is None:
            raise VramkitError(
                "offloaded experts need link_bytes_per_s (host link or host memory)."
            )
    link = (
        None
        if link_bytes_per_s is None
        else require_number("link_bytes_per_s", link_bytes_per_s, minimum=1.0)
    )
    weight_read = math.ceil(experts - missed if experts_computed_on_host else experts) + dense
    kv = b * kv_seq
    t_hbm = (weight_read + kv) / hbm
    t_link = missed / link if link else 0.0
    step = max(t_hbm, t_link)
    return DecodeBound(
        batch=b,
        weight_read_bytes=weight_read,
        kv_read_bytes=kv,
        transfer_bytes=math.ceil(missed),
        hbm_bytes_per_s=hbm,
        link_bytes_per_s=link,
        step_seconds=step,
        tokens_per_s=b / step,
        limited_by="link" if t_link > t_hbm else "gpu memory",
    )


def offload_gpu_bytes(split: MoeSplit, cached_experts: int) -> int:
    """Weight bytes on the GPU when each layer keeps `cached_experts` routed experts there:
    dense_bytes + Σ_layers min(c, E) × expert_bytes (the rest lives in host RAM or NVMe)."""
    c = require_int("cached_experts", cached_experts, minimum=0)
    return split.dense_bytes + sum(min(c, x.experts) * x.expert_bytes for x in split.layers)


# ── expert parallelism ───────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class AllToAll:
    """All-to-all traffic of expert parallelism and the decode bound it implies (upper bound).

    bytes_per_token_per_layer = hidden × top_k × (dispatch_bytes + combine_bytes);
    bytes_per_token = moe_layers × that × remote_fraction, remote_fraction = (ep − 1)/ep;
    tokens_per_s = ep × link_bytes_per_s / bytes_per_token (every GPU sends at its one-way rate).
    """

    ep: int
    moe_layers: int
    hidden_size: int
    top_k: int
    dispatch_bytes: float
    combine_bytes: float
    bytes_per_token_per_layer: float
    remote_fraction: float
    bytes_per_token: float
    link_bytes_per_s: float
    tokens_per_s: float


def all_to_all(
    model: str | ModelSpec,
    *,
    ep: int,
    link_bytes_per_s: float,
    dispatch_bytes: float = 2.0,
    combine_bytes: float = 2.0,
) -> AllToAll:
    """Expert-parallel dispatch + combine bytes per token and the tokens/s bound over a link.

    Parameters
    ----------
    ep: GPUs the routed experts are spread over (uniform routing: a token's expert is on
        another GPU with probability (ep − 1)/ep).
    link_bytes_per_s: one-way bandwidth per GPU (NVLink, or its NIC: InfiniBand / Ethernet).
    dispatch_bytes, combine_bytes: bytes per activation element sent (2 = BF16 both ways, the
        default; DeepEP can dispatch FP8: 1 byte + a 4-byte scale per 128 elements ≈ 1.03).

    Notes
    -----
    Worst case: each of a token's top_k experts sits on a different GPU (no de-duplication);
    latency and the per-layer serial chain are ignored, so real speeds are lower.
    """
    model = get_model(model)
    split_layers = moe_split(model).layers
    if not split_layers:
        raise VramkitError(f"{model.id} has no routed experts: expert parallelism does not apply.")
    n = require_int("ep", ep, minimum=1)
    link = require_number("link_bytes_per_s", link_bytes_per_s, minimum=1.0)
    d = require_number("dispatch_bytes", dispatch_bytes, minimum=0.0)
    c = require_number("combine_bytes", combine_bytes, minimum=0.0)
    hidden = int(model.config["hidden_size"])
    k = split_layers[0].top_k
    per_layer = hidden * k * (d + c)
    frac = (n - 1) / n
    per_token = len(split_layers) * per_layer * frac
    return AllToAll(
        ep=n,
        moe_layers=len(split_layers),
        hidden_size=hidden,
        top_k=k,
        dispatch_bytes=d,
        combine_bytes=c,
        bytes_per_token_per_layer=per_layer,
        remote_fraction=frac,
        bytes_per_token=per_token,
        link_bytes_per_s=link,
        tokens_per_s=math.inf if per_token == 0 else n * link / per_token,
    )


@dataclass(frozen=True)
class ActiveLabelCheck:
    """Active parameters per token under three counting conventions, against the model's label.

    `all_params` counts every tensor a token reads (the embedding row lookup included);
    `without_embedding` drops the input embedding (a lookup, not a matmul); `without_embedding_
    and_head` drops the output head too. `matches` lists the conventions whose count rounds to
    the label at the label's own precision (``13B`` → whole billions, ``3.8B`` → tenths).
    """

    model_id: str
    label: int
    all_params: int
    without_embedding: int
    without_embedding_and_head: int
    matches: tuple[str, ...]


def active_label_check(
    model: str | ModelSpec, *, label_digits: int | None = None
) -> ActiveLabelCheck:
    """Which counting convention reproduces the "N B active" label (main model, no MTP).

    DeepSeek's labels (V4-Flash 13B, V4-Pro 49B, V3 37B) match the count without the input
    embedding: 13.27 B, 48.85 B, 36.63 B; with it the counts are 13.80 B, 49.78 B, 37.55 B.
    `label_digits`: decimals the label is given to in billions (default: inferred from it).
    """
    from .catalog import get_model

    m = get_model(model)
    p = m.params
    a = p.active_by_group
    counts = {
        "all_params": p.active,
        "without_embedding": p.active - a["embed"],
        "without_embedding_and_head": p.active - a["embed"] - a["lm_head"],
    }
    label_b = m.active_params_label / 1e9
    digits = label_digits if label_digits is not None else (0 if label_b.is_integer() else 1)
    matches = tuple(
        k for k, v in counts.items() if round(v / 1e9, digits) == round(label_b, digits)
    )
    return ActiveLabelCheck(m.id, m.active_params_label, **counts, matches=matches)
