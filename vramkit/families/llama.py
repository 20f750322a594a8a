"""Tensor inventory of Plain GQA decoders: Llama, Qwen2/3, Mistral, Mixtral, Qwen-MoE, OLMoE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError
from ..tensors import TensorSpec
from ..validate import MAX_HEADS, MAX_VOCAB
from ._common import (
    _dim,
    _embedding,
    _gqa,
    _layers,
    _mlp,
    _opt_int,
    _pos_int,
    _routed,
    gqa_shape,
)
from ._record import Family, KvPart
from ._vision import vision_tower

# --------------------------------------------------------------------------- plain GQA decoders


def llama_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """Plain decoder (Llama, Qwen2/3, Mistral, Mixtral, Qwen-MoE …): GQA attention + SwiGLU MLP.

    q [heads*head_dim, hidden], k/v [kv_heads*head_dim, hidden], o [hidden, heads*head_dim], with
    biases when ``attention_bias`` (or Qwen2's qkv bias) and per-head q/k norms when
    ``qk_norm``-style models say so (Qwen3: ``model_type`` qwen3*). head_dim defaults to
    hidden/heads only when the config has no ``head_dim``. MoE when ``num_local_experts`` or
    ``num_experts`` is set (router + routed experts of moe_intermediate_size or intermediate_size;
    optional shared expert of shared_expert_intermediate_size). A Mistral 3 wrapper's Pixtral
    encoder and projector are counted too (`vramkit.families._vision`).
    """
    dim = _dim(config, "hidden_size")
    n_layers = _layers(config)
    heads = _dim(config, "num_attention_heads", bound=MAX_HEADS)
    kv_heads = _dim(config, "num_key_value_heads", heads, bound=MAX_HEADS)
    head_dim = _opt_int(config, "head_dim") or (dim // heads if heads else 0)
    if not heads or not head_dim:
        raise VramkitError("num_attention_heads and head_dim (or hidden_size) must be positive.")
    inter = _pos_int(config, "intermediate_size", 0)
    vocab = _dim(config, "vocab_size", bound=MAX_VOCAB)
    experts = _opt_int(config, "num_local_experts", "num_experts")
    topk = _opt_int(config, "num_experts_per_tok")
    moe_inter = _opt_int(config, "moe_intermediate_size") or inter
    shared_inter = _opt_int(config, "shared_expert_intermediate_size")
    tied = bool(config.get("tie_word_embeddings", False))
    model_type = str(config.get("model_type", ""))
    qkv_bias = bool(config.get("attention_bias", model_type in ("qwen2", "qwen2_moe")))
    qk_norm = model_type.startswith("qwen3")
    if experts and not topk:
        raise VramkitError("an MoE config needs num_experts_per_tok.")
    if experts and not moe_inter:
        raise VramkitError(
            "an MoE config needs a positive moe_intermediate_size (or intermediate_size), "
            "the width of each expert."
        )
    specs: list[TensorSpec] = []

    def add(name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        specs.append(TensorSpec(name, group, role, shape, **kw))

    _embedding(add, vocab, dim)
    for i in range(n_layers):
        kw: dict[str, Any] = {"layer": i}
        a = f"model.layers.{i}.self_attn"
        _gqa(
            add,
            a,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            dim=dim,
            qkv_bias=qkv_bias,
            qk_norm=qk_norm,
            **kw,
        )
        if model_type == "olmoe":
            # OLMoE normalises the whole q and k projections (transformers modeling_olmoe.py:
            # q_norm = RMSNorm(hidden_size), k_norm = RMSNorm(hidden/heads * kv_heads))
            add(f"{a}.q_norm.weight", "norms", "q_norm", (heads * head_dim,), kind="vector", **kw)
            add(f"{a}.k_norm.weight", "norms", "k_norm", (kv_heads * head_dim,), kind="vector",
                **kw)  # fmt: skip
        m = f"model.layers.{i}.mlp"
        if experts:
            add(
                f"{m}.gate.weight",
                "router",
                "gate",
                (experts, dim),
                gguf_class="ffn_gate_inp",
                **kw,
            )
            _routed(add, m, experts=experts, topk=topk, inter=moe_inter, dim=dim, **kw)
            if shared_inter:
                s = f"{m}.shared_expert"
                _mlp(
                    add,
                    (f"{s}.gate_proj.weight", f"{s}.up_proj.weight", f"{s}.down_proj.weight"),
                    ("shared_experts", "shared_experts"),
                    inter=shared_inter,
                    dim=dim,
                    suffix="_shexp",
                    **kw,
                )
                add(
                    f"{m}.shared_expert_gate.weight",
                    "router",
                    "shared_gate",
                    (1, dim),
                    gguf_class="ffn_gate_inp_shexp",
                    **kw,
                )
        else:
            if not inter:
                raise VramkitError("a dense config needs intermediate_size.")
            _mlp(
                add,
                (f"{m}.gate_proj.weight", f"{m}.up_proj.weight", f"{m}.down_proj.weight"),
                ("dense_mlp", "dense_mlp"),
                inter=inter,
                dim=dim,
                **kw,
            )
        add(
            f"model.layers.{i}.input_layernorm.weight",
            "norms",
            "attn_norm",
            (dim,),
            kind="vector",
            **kw,
        )
        add(
            f"model.layers.{i}.post_attention_layernorm.weight",
            "norms",
            "ffn_norm",
            (dim,),
            kind="vector",
            **kw,
        )
    add("model.norm.weight", "norms", "final_norm", (dim,), kind="vector")
    if not tied:
        add(
            "lm_head.weight", "lm_head", "head", (vocab, dim), kind="embedding", gguf_class="output"
        )
    vision_tower(add, config, text_hidden=dim)  # Mistral 3's Pixtral; others are noted
    return tuple(specs)


def gqa_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """MHA/GQA/MQA: T × 2 (K, V) × num_key_value_heads × head_dim per layer."""
    kv, hd = gqa_shape(cfg)
    n = _layers(cfg)
    return (KvPart("full", n, "full", 1, hd, vectors=2 * kv, kv_heads=kv),)


FAMILY = Family(
    name="llama",
    summary="plain GQA decoders, dense or MoE: Llama, Qwen2/3 (+MoE), Mistral, Mixtral, OLMoE",
    model_types=(
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen2_moe",
        "qwen3",
        "qwen3_moe",
        "olmoe",
    ),
    gguf_archs={
        "llama": "llama",
        "mistral3": "mistral",
        "qwen2": "qwen2",
        "qwen2moe": "qwen2_moe",
        "qwen3": "qwen3",
        "qwen3moe": "qwen3_moe",
        "olmoe": "olmoe",
    },
    inventory=llama_inventory,
    layer_kinds=lambda cfg: ("full_attention",) * _layers(cfg),
    kv_parts=gqa_kv_parts,
)
