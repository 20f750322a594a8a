"""Tensor inventory of Plain GQA decoders: Llama, Qwen2/3, Mistral, Mixtral, Qwen-MoE, OLMoE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, flat_of
from ._common import GQA_FIELDS, _embedding, _gqa, _mlp, _routed, gqa_shape
from ._record import Family, KvPart
from ._schema import ConfigField, fields_by_name, read_config
from ._vision import VISION_FIELDS, vision_tower

FIELDS = fields_by_name(
    GQA_FIELDS,
    (
        ConfigField(
            "intermediate_size",
            "count",
            "width of the dense MLP (0 in a pure MoE config)",
            unit="values",
            default=0,
        ),
        ConfigField(
            "num_experts",
            "count",
            "routed experts per MoE layer (0: dense)",
            keys=("num_local_experts", "num_experts"),
            unit="experts",
            default=0,
        ),
        ConfigField(
            "num_experts_per_tok", "count", "experts routed per token", unit="experts", default=0
        ),
        ConfigField(
            "moe_intermediate_size",
            "count",
            "width of one routed expert (default: intermediate_size)",
            unit="values",
            default=0,
        ),
        ConfigField(
            "shared_expert_intermediate_size",
            "count",
            "width of the shared expert (0: none)",
            unit="values",
            default=0,
        ),
        ConfigField(
            "attention_bias",
            "bool",
            "q/k/v projections carry biases",
            default=lambda v: v.model_type in ("qwen2", "qwen2_moe"),
            default_text="true for qwen2 / qwen2_moe",
        ),
    ),
)
"""The config fields a plain GQA decoder reads (its vision tower's: `vramkit.families._vision`)."""

# --------------------------------------------------------------------------- plain GQA decoders


def llama_kinds(config: Mapping[str, Any]) -> Inventory:
    """Plain decoder (Llama, Qwen2/3, Mistral, Mixtral, Qwen-MoE …): GQA attention + SwiGLU MLP.

    q [heads*head_dim, hidden], k/v [kv_heads*head_dim, hidden], o [hidden, heads*head_dim], with
    biases when ``attention_bias`` (or Qwen2's qkv bias) and per-head q/k norms when
    ``qk_norm``-style models say so (Qwen3: ``model_type`` qwen3*). head_dim defaults to
    hidden/heads only when the config has no ``head_dim``. MoE when ``num_local_experts`` or
    ``num_experts`` is set (router + routed experts of moe_intermediate_size or intermediate_size;
    optional shared expert of shared_expert_intermediate_size). A Mistral 3 wrapper's Pixtral
    encoder and projector are counted too (`vramkit.families._vision`).
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    n_layers = v.num_hidden_layers
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    inter = v.intermediate_size
    vocab = v.vocab_size
    experts = v.num_experts
    topk = v.num_experts_per_tok
    moe_inter = v.moe_intermediate_size or inter
    shared_inter = v.shared_expert_intermediate_size
    tied = v.tie_word_embeddings
    model_type = v.model_type
    qkv_bias = v.attention_bias
    qk_norm = model_type.startswith("qwen3")
    if experts and not topk:
        raise VramkitError("an MoE config needs num_experts_per_tok.")
    if experts and not moe_inter:
        raise VramkitError(
            "an MoE config needs a positive moe_intermediate_size (or intermediate_size), "
            "the width of each expert."
        )
    stamper = LayerStamper()
    add = stamper.add
    _embedding(add, vocab, dim)
    for i in range(n_layers):
        if stamper.repeat(i, ()):  # every block alike: built once
            continue
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
    vision_tower(
        add, config, text_hidden=dim, repeat=stamper.repeat
    )  # Mistral 3's Pixtral; others are noted
    return stamper.inventory()


llama_inventory = flat_of(llama_kinds)


def gqa_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """MHA/GQA/MQA: T × 2 (K, V) × num_key_value_heads × head_dim per layer."""
    v = read_config(FIELDS, cfg)
    kv, hd = gqa_shape(v)
    n = v.num_hidden_layers
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
    tensor_kinds=llama_kinds,
    layer_kinds=lambda cfg: ("full_attention",) * read_config(FIELDS, cfg).num_hidden_layers,
    kv_parts=gqa_kv_parts,
    config_fields=FIELDS + VISION_FIELDS,
)
