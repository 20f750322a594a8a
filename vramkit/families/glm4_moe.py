"""Tensor inventory of GLM-4.5 / 4.6 / 4.7 (GQA with partial rotary, MoE with shared experts, MTP)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..tensors import TensorSpec
from ..validate import MAX_EXPERTS, MAX_HEADS, MAX_VOCAB
from ._common import (
    _dim,
    _embed_norm_head,
    _embedding,
    _gqa,
    _layer_norms,
    _layers,
    _mlp,
    _opt_int,
    _pos_int,
    _routed,
    _spec_adder,
    gqa_shape,
    mtp_layers,
    refuse_kv,
)
from ._record import Family, KvPart

# --------------------------------------------------------------------------- GLM-4.5 / 4.6 / 4.7


def glm4_moe_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """GLM-4.5 / 4.6 / 4.7 MoE (``Glm4MoeForCausalLM``): GQA with q/k/v biases (attention_bias),
    partial rotary (no weights), optional q_norm/k_norm (use_qk_norm); the first
    ``first_k_dense_replace`` layers dense (intermediate_size), the rest MoE: router [E, hidden] +
    e_score_correction_bias [E] (F32), E routed experts and n_shared_experts shared experts (one
    MLP of n_shared·moe_intermediate_size). Shapes as HF transformers ``modeling_glm4_moe.py``
    (o_proj has no bias). MTP: ``num_nextn_predict_layers`` extra layers (model.layers.N…: a full
    MoE decoder layer + eh_proj [hidden, 2·hidden], enorm, hnorm, shared_head.norm); they reuse
    the main embedding and head (not counted twice).
    """
    dim = _dim(config, "hidden_size")
    heads = _dim(config, "num_attention_heads", bound=MAX_HEADS)
    kv_heads = _dim(config, "num_key_value_heads", heads, bound=MAX_HEADS)
    head_dim = _opt_int(config, "head_dim") or dim // heads
    n_layers = _layers(config)
    inter = _dim(config, "intermediate_size")
    moe_inter = _dim(config, "moe_intermediate_size")
    experts = _dim(config, "n_routed_experts", bound=MAX_EXPERTS)
    shared = _pos_int(config, "n_shared_experts", 0)
    topk = _dim(config, "num_experts_per_tok", bound=MAX_EXPERTS)
    first_dense = _pos_int(config, "first_k_dense_replace", 0)
    vocab = _dim(config, "vocab_size", bound=MAX_VOCAB)
    n_mtp = _layers(config, "num_nextn_predict_layers", 0)
    tied = bool(config.get("tie_word_embeddings", False))
    qkv_bias = bool(config.get("attention_bias", False))
    qk_norm = bool(config.get("use_qk_norm", False))
    specs: list[TensorSpec] = []
    add = _spec_adder(specs)

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
        layer(i, mtp=False)
    _embed_norm_head(add, vocab, dim, tied)
    for i in range(n_layers, n_layers + n_mtp):
        layer(i, mtp=True)
    return tuple(specs)


def glm4_moe_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """GLM-4.5/4.6/4.7: plain GQA on every layer (partial rotary changes no cache size):
    T × 2 × kv_heads × head_dim (head_dim from the config); MTP layers when include_mtp."""
    if cfg.get("kv_lora_rank") or cfg.get("layer_types") or cfg.get("sliding_window"):
        raise refuse_kv(cfg, "glm4_moe", "vramkit counts GLM-4 MoE as full GQA on every layer")
    kv, hd = gqa_shape(cfg)
    n = _layers(cfg) + mtp_layers(cfg, include_mtp)
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
    layer_kinds=lambda cfg: ("full_attention",) * _layers(cfg),
    kv_parts=glm4_moe_kv_parts,
    # Glm4MoeModel keeps the NextN block unless --no-mtp: "if not self.no_mtp:
    # self.block_count += self.hparams.get("num_nextn_predict_layers", 0)"
    # (https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/glm.py L120-121)
    gguf_keeps_mtp=True,
)
