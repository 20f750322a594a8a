"""Tensor inventory of gpt-oss (alternating sliding/full attention with sinks, MXFP4 experts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, flat_of
from ..model.tensors import TensorSpec
from ._common import (
    GQA_FIELDS,
    LAYER_TYPES,
    SLIDING_WINDOW,
    SWA_PATTERN,
    _embed_norm_head,
    _embedding,
    _gqa,
    _layer_norms,
    _mlp,
    _nonzero,
    gqa_shape,
    refuse_kv,
    sliding_full_layer_types,
    torch_dtype_format,
)
from ._record import Family, GgufPart, KvPart
from ._schema import ConfigField, read_config

FIELDS = (
    *GQA_FIELDS, LAYER_TYPES, SWA_PATTERN, SLIDING_WINDOW,
    ConfigField("num_local_experts", "count", "routed experts per layer", unit="experts",
                keys=("num_local_experts", "num_experts"), default=0),
    ConfigField("num_experts_per_tok", "count", "experts routed per token", unit="experts",
                keys=("num_experts_per_tok", "experts_per_token"), default=0),
)  # fmt: skip
"""The config fields gpt-oss reads."""

# --------------------------------------------------------------------------- gpt-oss


def gpt_oss_kinds(config: Mapping[str, Any]) -> Inventory:
    """gpt-oss (OpenAI): GQA with biases and per-head attention sinks, alternating sliding / full
    layers (weights identical), MoE with a biased router and fused gate_up experts with biases.

    Shapes as HF transformers ``modeling_gpt_oss.py``: q_proj [heads·head_dim, hidden] + bias,
    k/v [kv_heads·head_dim, hidden] + bias, o_proj [hidden, heads·head_dim] + bias, sinks [heads];
    router weight [E, hidden] + bias [E]; experts gate_up_proj [E, hidden, 2·inter] + bias
    [E, 2·inter], down_proj [E, inter, hidden] + bias [E, hidden] (counted here as per-expert
    gate, up, down matrices of inter × hidden and their biases); two RMSNorms per layer, final
    norm, untied embedding and head.
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    experts = _nonzero("num_local_experts", v.num_local_experts)
    topk = _nonzero("num_experts_per_tok", v.num_experts_per_tok)
    inter = v.intermediate_size
    vocab = v.vocab_size
    tied = v.tie_word_embeddings
    n_layers = v.num_hidden_layers
    stamper = LayerStamper()
    add = stamper.add
    _embedding(add, vocab, dim)
    for i in range(n_layers):
        if stamper.repeat(i, ()):  # every block alike: built once
            continue
        p = f"model.layers.{i}"
        kw: dict[str, Any] = {"layer": i}
        a = f"{p}.self_attn"
        _gqa(add, a, dim=dim, heads=heads, kv_heads=kv_heads, head_dim=head_dim, qkv_bias=True,
             o_bias=True, **kw)  # fmt: skip
        add(f"{a}.sinks", "attention", "attn_sink", (heads,), kind="vector", **kw)
        m = f"{p}.mlp"
        add(f"{m}.router.weight", "router", "gate", (experts, dim), gguf_class="ffn_gate_inp",
            **kw)  # fmt: skip
        add(f"{m}.router.bias", "router", "bias", (experts,), kind="vector", **kw)
        e = f"{m}.experts"
        ex = {"count": experts, "experts_per_token": topk, **kw}
        _mlp(
            add,
            (f"{e}.gate_up_proj[gate]", f"{e}.gate_up_proj[up]", f"{e}.down_proj"),
            ("routed_experts_gate_up", "routed_experts_down"),
            inter=inter,
            dim=dim,
            suffix="_exps",
            **ex,
        )
        add(f"{e}.gate_up_proj_bias", "routed_experts_gate_up", "gate_up_bias", (2 * inter,),
            kind="vector", **ex)  # fmt: skip
        add(f"{e}.down_proj_bias", "routed_experts_down", "down_bias", (dim,), kind="vector",
            **ex)  # fmt: skip
        _layer_norms(add, p, dim, **kw)
    _embed_norm_head(add, vocab, dim, tied)
    return stamper.inventory()


gpt_oss_inventory = flat_of(gpt_oss_kinds)


def gpt_oss_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """Sliding layers min(T, sliding_window) × 2 (K, V) × kv_heads × head_dim; full layers T ×
    the same; the per-head attention sinks are weights, nothing per token."""
    v = read_config(FIELDS, cfg)
    types = sliding_full_layer_types(v)
    kv, hd = gqa_shape(v)
    n_sliding = types.count("sliding_attention")
    window = v.sliding_window
    if n_sliding and not window:
        raise refuse_kv(cfg, "gpt_oss", f"{n_sliding} sliding layers but sliding_window={window!r}")
    return (
        KvPart("sliding", n_sliding, "window", int(window or 0), hd, vectors=2 * kv, kv_heads=kv),
        KvPart("full", len(types) - n_sliding, "full", 1, hd, vectors=2 * kv, kv_heads=kv),
    )


def gpt_oss_stored_layout(cfg: Mapping[str, Any], q: Mapping[str, Any]) -> str | None:
    """HF ``quant_method: mxfp4``: transformers' Mxfp4HfQuantizer only replaces the gpt-oss expert
    modules (``GptOssExperts``: gate_up_proj and down_proj as ``*_blocks`` + ``*_scales``, E2M1
    values with an E8M0 scale per 32); everything else stays in the model dtype, and
    ``modules_to_not_convert`` lists it (openai/gpt-oss-*: ``model.layers.*.self_attn``,
    ``model.layers.*.mlp.router``, ``model.embed_tokens``, ``lm_head``). Expert biases are
    vectors and keep their dtype."""
    if str(q.get("quant_method", "")).lower() != "mxfp4":
        return None
    keep = q.get("modules_to_not_convert") or []
    if not isinstance(keep, list | tuple) or not all(isinstance(k, str) for k in keep):
        raise VramkitError(f"modules_to_not_convert must be a list of names, got {keep!r}.")
    if any("experts" in k for k in keep):
        raise VramkitError(
            f"modules_to_not_convert {list(keep)} excludes the experts, the only modules MXFP4 "
            "converts; pass a recipe explicitly."
        )
    unknown = [k for k in keep if not any(part in k for part in _NOT_CONVERTED_GROUPS)]
    if unknown:
        raise VramkitError(
            f"cannot map modules_to_not_convert entries {unknown} to tensor groups; known parts: "
            f"{', '.join(_NOT_CONVERTED_GROUPS)}."
        )
    return f"routed_experts=MXFP4,*={torch_dtype_format(cfg)}"


_NOT_CONVERTED_GROUPS = {
    "self_attn": "attention",
    "router": "router",
    "embed_tokens": "embed",
    "lm_head": "lm_head",
}
"""gpt-oss ``modules_to_not_convert`` entries → vramkit groups (kept in the model dtype)."""


def gpt_oss_from_gguf(cfg: dict[str, Any]) -> None:
    """The pinned loader's default for a gpt-oss GGUF (arch ``gpt-oss``), in place: the
    converter writes ``sliding_window`` but no pattern (conversion/gpt_oss.py L128-131), and
    the loader reads ``sliding_window`` (required) and ``load_swa_pattern(ml, 2)``: even layers
    sliding, odd full, as transformers' ``layer_types``
    (https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/src/models/openai-moe.cpp#L6-L9)."""
    if "layer_types" not in cfg:
        cfg.setdefault("sliding_window_pattern", 2)


def gpt_oss_gguf_split(cfg: Mapping[str, Any], t: TensorSpec) -> tuple[GgufPart, ...] | None:
    """The fused expert bias ``gate_up_proj_bias`` [E, 2·inter] → ``ffn_gate_exps.bias`` (even
    columns) and ``ffn_up_exps.bias`` (odd columns), each [E, inter], F32: GptOssModel.modify_tensors
    (https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/gpt_oss.py#L108-L113).
    The expert weights are split by the MXFP4 repack into gate / up already (the inventory's
    ``gate_up_proj[gate]`` / ``[up]``)."""
    if t.role != "gate_up_bias":
        return None
    half = t.shape[0] // 2
    parts = (
        replace(t, name=f"{t.name}[{p}]", role=f"{p}_bias", shape=(half,)) for p in ("gate", "up")
    )
    return tuple((part, (half, t.count)) for part in parts)


FAMILY = Family(
    name="gpt_oss",
    summary="gpt-oss: alternating sliding / full GQA with sinks, MXFP4 routed experts",
    model_types=("gpt_oss",),
    gguf_archs={"gpt-oss": "gpt_oss"},
    inventory=gpt_oss_inventory,
    tensor_kinds=gpt_oss_kinds,
    layer_kinds=lambda cfg: tuple(sliding_full_layer_types(read_config(FIELDS, cfg))),
    kv_parts=gpt_oss_kv_parts,
    config_fields=FIELDS,
    stored_layout=gpt_oss_stored_layout,
    from_gguf=gpt_oss_from_gguf,
    gguf_split=gpt_oss_gguf_split,
)
