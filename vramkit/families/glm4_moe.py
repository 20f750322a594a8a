"""Tensor inventory of GLM-4.5 / 4.6 / 4.7 (GQA with partial rotary, MoE with shared experts, MTP)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.inventory import Inventory, LayerStamper, flat_of
from ._common import (
    FIRST_DENSE,
    GQA_FIELDS,
    MOE_INTER,
    MTP,
    ROUTED,
    SHARED,
    TOPK,
    _embed_norm_head,
    _embedding,
    _gqa,
    _layer_norms,
    _mlp,
    _routed,
    gqa_shape,
    mtp_layers,
    refuse_kv,
)
from ._record import Family, KvPart
from ._schema import ConfigField, read_config

FIELDS = (
    *GQA_FIELDS, MOE_INTER, ROUTED, SHARED, TOPK, FIRST_DENSE, MTP,
    ConfigField("attention_bias", "bool", "q/k/v projections carry biases", default=False),
    ConfigField("use_qk_norm", "bool", "per-head q/k RMSNorms", default=False),
    ConfigField("kv_lora_rank", "any", "MLA latent (refused: GLM-4 MoE is GQA)", default=None),
    ConfigField("layer_types", "any", "per-layer kinds (refused: every layer is full GQA)",
                default=None),
    ConfigField("sliding_window", "any", "window (refused: every layer is full GQA)",
                default=None),
)  # fmt: skip
"""The config fields GLM-4 MoE reads."""

# --------------------------------------------------------------------------- GLM-4.5 / 4.6 / 4.7


def glm4_moe_kinds(config: Mapping[str, Any]) -> Inventory:
    """GLM-4.5 / 4.6 / 4.7 MoE (``Glm4MoeForCausalLM``): GQA with q/k/v biases (attention_bias),
    partial rotary (no weights), optional q_norm/k_norm (use_qk_norm); the first
    ``first_k_dense_replace`` layers dense (intermediate_size), the rest MoE: router [E, hidden] +
    e_score_correction_bias [E] (F32), E routed experts and n_shared_experts shared experts (one
    MLP of n_shared·moe_intermediate_size). Shapes as HF transformers ``modeling_glm4_moe.py``
    (o_proj has no bias). MTP: ``num_nextn_predict_layers`` extra layers (model.layers.N…: a full
    MoE decoder layer + eh_proj [hidden, 2·hidden], enorm, hnorm, shared_head.norm); they reuse
    the main embedding and head (not counted twice).
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    n_layers = v.num_hidden_layers
    inter = v.intermediate_size
    moe_inter = v.moe_intermediate_size
    experts = v.n_routed_experts
    shared = v.n_shared_experts
    topk = v.num_experts_per_tok
    first_dense = v.first_k_dense_replace
    vocab = v.vocab_size
    n_mtp = v.num_nextn_predict_layers
    tied = v.tie_word_embeddings
    qkv_bias = v.attention_bias
    qk_norm = v.use_qk_norm
    stamper = LayerStamper()
    add = stamper.add

    def layer(i: int, mtp: bool) -> None:
        p = f"model.layers.{i}"
        kw: dict[str, Any] = {"layer": i, "mtp": mtp}
        _gqa(add, f"{p}.self_attn", dim=dim, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
             qkv_bias=qkv_bias, qk_norm=qk_norm, **kw)  # fmt: skip
        m = f"{p}.mlp"
        if i < first_dense:
            _mlp(
                add,
                (f"{m}.gate_proj.weight", f"{m}.up_proj.weight", f"{m}.down_proj.weight"),
                ("dense_mlp", "dense_mlp"),
                inter=inter,
                dim=dim,
                **kw,
            )
        else:
            add(f"{m}.gate.weight", "router", "gate", (experts, dim), gguf_class="ffn_gate_inp",
                **kw)  # fmt: skip
            add(f"{m}.gate.e_score_correction_bias", "router", "bias", (experts,),
                kind="vector", native="F32", **kw)  # fmt: skip
            _routed(add, m, experts=experts, topk=topk, inter=moe_inter, dim=dim, **kw)
            if shared:
                s = f"{m}.shared_experts"
                _mlp(
                    add,
                    (f"{s}.gate_proj.weight", f"{s}.up_proj.weight", f"{s}.down_proj.weight"),
                    ("shared_experts", "shared_experts"),
                    inter=shared * moe_inter,
                    dim=dim,
                    suffix="_shexp",
                    **kw,
                )
        _layer_norms(add, p, dim, **kw)
        if mtp:
            add(f"{p}.eh_proj.weight", "attention", "eh_proj", (dim, 2 * dim),
                gguf_class="nextn.eh_proj", **kw)  # fmt: skip
            for nm in ("enorm", "hnorm", "shared_head.norm"):
                add(f"{p}.{nm}.weight", "norms", nm, (dim,), kind="vector", **kw)

    _embedding(add, vocab, dim)
    for i in range(n_layers):
        if not stamper.repeat(i, i < first_dense):  # a dense or an MoE block, each built once
            layer(i, mtp=False)
    _embed_norm_head(add, vocab, dim, tied)
    for i in range(n_layers, n_layers + n_mtp):
        layer(i, mtp=True)
    return stamper.inventory()


glm4_moe_inventory = flat_of(glm4_moe_kinds)


def glm4_moe_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """GLM-4.5/4.6/4.7: plain GQA on every layer (partial rotary changes no cache size):
    T × 2 × kv_heads × head_dim (head_dim from the config); MTP layers when include_mtp."""
    v = read_config(FIELDS, cfg)
    if v.kv_lora_rank or v.layer_types or v.sliding_window:
        raise refuse_kv(cfg, "glm4_moe", "vramkit counts GLM-4 MoE as full GQA on every layer")
    kv, hd = gqa_shape(v)
    n = v.num_hidden_layers + mtp_layers(v, include_mtp)
    return (KvPart("full", n, "full", 1, hd, vectors=2 * kv, kv_heads=kv),)


def glm4_moe_from_gguf(cfg: dict[str, Any]) -> None:
    """A glm4moe GGUF's expert count under transformers' name, in place: the converter writes
    ``n_routed_experts`` as expert_count (``Glm4MoeModel.set_gguf_parameters``,
    https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/glm.py#L162-L163)."""
    if "num_experts" in cfg:
        cfg["n_routed_experts"] = cfg["num_experts"]


FAMILY = Family(
    name="glm4_moe",
    summary="GLM-4.5 / 4.6 / 4.7 MoE: GQA with partial rotary, shared experts, MTP",
    model_types=("glm4_moe",),
    gguf_archs={"glm4moe": "glm4_moe"},
    from_gguf=glm4_moe_from_gguf,
    inventory=glm4_moe_inventory,
    tensor_kinds=glm4_moe_kinds,
    layer_kinds=lambda cfg: ("full_attention",) * read_config(FIELDS, cfg).num_hidden_layers,
    kv_parts=glm4_moe_kv_parts,
    config_fields=FIELDS,
    # Glm4MoeModel keeps the NextN block unless --no-mtp: "if not self.no_mtp:
    # self.block_count += self.hparams.get("num_nextn_predict_layers", 0)"
    # (https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/glm.py L120-121)
    gguf_keeps_mtp=True,
)
