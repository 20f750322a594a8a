"""Tensor inventory of IBM Granite 3.x (``model_type`` granite: dense), Granite MoE (granitemoe,
granitemoeshared) and the attention-only Granite 4.0 models (granitemoehybrid with every layer
``attention``: the shared_mlp is their dense MLP): GQA decoders shaped like Llama, with scalar
multipliers. A granitemoehybrid config with Mamba-2 layers is refused.

transformers ``models/granite/modeling_granite.py``: ``GraniteAttention`` q/k/v/o of
head_dim = hidden_size / num_attention_heads (GraniteConfig has no ``head_dim``; llama.cpp's
converter also drops one: "Ignoring head_dim ... for Granite"), biases when ``attention_bias``;
``GraniteMLP`` gate/up/down, biases when ``mlp_bias``; input and post_attention RMSNorms;
embedding tied to the head when ``tie_word_embeddings`` (true in the published 3.x configs).
``models/granitemoe/modeling_granitemoe.py``: ``block_sparse_moe.router.layer`` [E, hidden];
``input_linear`` [E, 2*intermediate, hidden] (gate and up fused) and ``output_linear``
[E, hidden, intermediate] (``GraniteMoeParallelExperts`` stores [E, out, in]); granitemoeshared
adds ``shared_mlp.input_linear`` [2*shared_intermediate_size, hidden] and ``output_linear``
[hidden, shared_intermediate_size].

``embedding_multiplier``, ``attention_multiplier``, ``residual_multiplier`` and
``logits_scaling`` are scalars of the forward pass (llama.cpp writes them as GGUF keys
``embedding_scale`` / ``attention.scale`` / ``residual_scale`` / ``logit_scale``): they hold no
tensor and change no weight or KV byte, so nothing here reads them.

GGUF (llama.cpp @0c1e57098bba, ``conversion/granite.py``, ``src/llama-arch.cpp``): archs
``granite`` and ``granitemoe`` (both MoE types); the converter splits ``input_linear`` into
``ffn_gate_exps`` and ``ffn_up_exps`` (and the shared one into ``ffn_gate_shexp`` /
``ffn_up_shexp``), which is how the inventory below lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, flat_of
from ._common import (
    HEADS,
    HIDDEN,
    INTER,
    KV_HEADS,
    LAYERS,
    MODEL_TYPE,
    TIED,
    VOCAB,
    _embed_norm_head,
    _embedding,
    _gqa,
    _layer_norms,
    _mlp,
)
from ._record import Family, KvPart
from ._schema import ConfigField, ConfigValues, read_config

FIELDS = (
    HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, INTER, MODEL_TYPE, TIED,
    ConfigField("num_local_experts", "count", "routed experts per layer (0: dense)",
                unit="experts", default=0),
    ConfigField("num_experts_per_tok", "count", "experts routed per token", unit="experts",
                default=0),
    ConfigField("shared_intermediate_size", "count", "width of the shared expert (0: none)",
                unit="values", default=0),
    ConfigField("attention_bias", "bool", "q/k/v/o projections carry biases", default=False),
    ConfigField("mlp_bias", "bool", "MLP projections carry biases", default=False),
    ConfigField("layer_types", "any", "granitemoehybrid: 'attention' or 'mamba' per layer",
                keys=("layer_types", "layers_block_type"), default=None),
)  # fmt: skip
"""The config fields Granite reads (head_dim is always hidden_size / num_attention_heads)."""


def _heads(v: ConfigValues) -> tuple[int, int, int]:
    """(heads, kv_heads, head_dim); head_dim = hidden / heads, as GraniteAttention computes it."""
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    if dim % heads:
        raise VramkitError(
            f"hidden_size {dim} must be a multiple of num_attention_heads {heads} (Granite's "
            "head_dim is hidden_size / num_attention_heads)."
        )
    if heads % kv_heads:
        raise VramkitError(
            f"num_attention_heads {heads} must be a multiple of num_key_value_heads {kv_heads}."
        )
    return heads, kv_heads, dim // heads


def _layer_kinds(config: Mapping[str, Any]) -> tuple[str, ...]:
    return _attention_only(read_config(FIELDS, config))


def _attention_only(v: ConfigValues) -> tuple[str, ...]:
    """Per-layer kinds; a granitemoehybrid config must have ``attention`` on every layer (Granite
    4.0 micro / 1b / 350m; llama.cpp converts those as plain granite / granitemoe): its Mamba-2
    layers (the -h- models) are refused, not guessed."""
    n = v.num_hidden_layers
    if v.model_type != "granitemoehybrid":
        return ("full_attention",) * n
    types = v.layer_types
    if not isinstance(types, list | tuple) or len(types) != n:
        raise VramkitError(
            f"a granitemoehybrid config needs layer_types, one 'attention' or 'mamba' per layer "
            f"({n}); got {types!r:.80}."
        )
    other = sorted({str(t)[:20] for t in types} - {"attention"})
    if other:
        raise VramkitError(
            f"cannot count this granitemoehybrid config: {sum(t != 'attention' for t in types)} of "
            f"{n} layers are {other} (GraniteMoeHybrid's Mamba-2 mixer has no inventory in "
            "vramkit yet); attention-only Granite 4.0 configs (every layer_types entry "
            "'attention') are counted."
        )
    return ("full_attention",) * n


def granite_kinds(config: Mapping[str, Any]) -> Inventory:
    """Granite dense or MoE: GQA attention, then a SwiGLU MLP (dense) or router + routed experts
    (+ a shared expert when ``shared_intermediate_size`` is set); tied head unless untied."""
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    n_layers = len(_attention_only(v))
    heads, kv_heads, head_dim = _heads(v)
    vocab = v.vocab_size
    inter = v.intermediate_size
    experts = v.num_local_experts
    topk = v.num_experts_per_tok
    shared = v.shared_intermediate_size
    moe_type = v.model_type.startswith("granitemoe")
    if moe_type and not experts and not shared:
        raise VramkitError("a granitemoe config needs num_local_experts (or a shared expert).")
    if experts and not topk:
        raise VramkitError("a Granite MoE config needs num_experts_per_tok.")
    tied = v.tie_word_embeddings
    bias = v.attention_bias
    mlp_bias = v.mlp_bias
    stamper = LayerStamper()
    add = stamper.add
    _embedding(add, vocab, dim)
    for i in range(n_layers):
        if stamper.repeat(i, ()):  # every block alike: built once
            continue
        kw: dict[str, Any] = {"layer": i}
        p = f"model.layers.{i}"
        _gqa(add, f"{p}.self_attn", dim=dim, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
             qkv_bias=bias, o_bias=bias, **kw)  # fmt: skip
        if moe_type:
            m = f"{p}.block_sparse_moe"
            if experts:
                add(f"{m}.router.layer.weight", "router", "gate", (experts, dim),
                    gguf_class="ffn_gate_inp", **kw)  # fmt: skip
                ex = {"count": experts, "experts_per_token": topk, **kw}
                _mlp(add, (f"{m}.input_linear.weight[gate]", f"{m}.input_linear.weight[up]",
                           f"{m}.output_linear.weight"),
                     ("routed_experts_gate_up", "routed_experts_down"), inter=inter, dim=dim,
                     suffix="_exps", **ex)  # fmt: skip
            if shared:  # beside routed experts a shared expert, alone the dense MLP
                s, group = f"{p}.shared_mlp", "shared_experts" if experts else "dense_mlp"
                _mlp(add, (f"{s}.input_linear.weight[gate]", f"{s}.input_linear.weight[up]",
                           f"{s}.output_linear.weight"),
                     (group, group), inter=shared, dim=dim,
                     suffix="_shexp" if experts else "", **kw)  # fmt: skip
        else:
            gate, up, down = (f"{p}.mlp.{n}_proj" for n in ("gate", "up", "down"))
            _mlp(add, (f"{gate}.weight", f"{up}.weight", f"{down}.weight"),
                 ("dense_mlp", "dense_mlp"), inter=inter, dim=dim, **kw)  # fmt: skip
            if mlp_bias:
                for n, role, size in (
                    (gate, "gate", inter),
                    (up, "up", inter),
                    (down, "down", dim),
                ):
                    add(f"{n}.bias", "dense_mlp", f"{role}_bias", (size,), kind="vector", **kw)
        _layer_norms(add, p, dim, **kw)
    _embed_norm_head(add, vocab, dim, tied)
    return stamper.inventory()


granite_inventory = flat_of(granite_kinds)


def granite_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """GQA on every layer: T × 2 (K, V) × num_key_value_heads × (hidden / heads)."""
    v = read_config(FIELDS, cfg)
    _, kv, hd = _heads(v)
    n = len(_attention_only(v))
    return (KvPart("full", n, "full", 1, hd, vectors=2 * kv, kv_heads=kv),)


FAMILY = Family(
    name="granite",
    summary="IBM Granite 3.x dense, Granite MoE, attention-only Granite 4.0: Llama-shaped GQA",
    model_types=("granite", "granitemoe", "granitemoeshared", "granitemoehybrid"),
    gguf_archs={"granite": "granite", "granitemoe": "granitemoe"},
    inventory=granite_inventory,
    tensor_kinds=granite_kinds,
    layer_kinds=_layer_kinds,
    kv_parts=granite_kv_parts,
    config_fields=FIELDS,
)
