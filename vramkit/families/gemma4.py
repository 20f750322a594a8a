"""Tensor inventory of Gemma 4 (sliding + global attention, dense or MoE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError
from ..tensors import TensorSpec
from ._common import (
    _embedding,
    _mlp,
    _opt_int,
    _pos_int,
    _routed,
    sliding_full_layer_types,
)
from ._record import Family, KvPart

# --------------------------------------------------------------------------- Gemma 4


def gemma4_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """Gemma 4 text decoder (vision/audio towers not counted).

    Sliding layers: q [heads*head_dim], k, v [kv_heads*head_dim], o; q_norm/k_norm per head_dim.
    Global (full) layers: head_dim = global_head_dim, kv heads = num_global_key_value_heads, and no
    v_proj when ``attention_k_eq_v`` (K doubles as V). MLP: dense gate/up/down of
    intermediate_size in every layer; MoE models (``num_experts``) add a router and routed experts
    of moe_intermediate_size alongside it. Four RMSNorms per layer; tied embeddings.
    """
    dim = _pos_int(config, "hidden_size")
    heads = _pos_int(config, "num_attention_heads")
    kv_heads = _pos_int(config, "num_key_value_heads")
    head_dim = _pos_int(config, "head_dim")
    g_head_dim = _pos_int(config, "global_head_dim", head_dim)
    g_kv = _pos_int(config, "num_global_key_value_heads", kv_heads)
    k_eq_v = bool(config.get("attention_k_eq_v", False))
    inter = _pos_int(config, "intermediate_size")
    vocab = _pos_int(config, "vocab_size")
    experts = _opt_int(config, "num_experts")
    topk = _opt_int(config, "top_k_experts", "num_experts_per_tok")
    moe_inter = _opt_int(config, "moe_intermediate_size")
    tied = bool(config.get("tie_word_embeddings", True))
    if experts and (not topk or not moe_inter):
        raise VramkitError("an MoE Gemma config needs top_k_experts and moe_intermediate_size.")
    specs: list[TensorSpec] = []

    def add(name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        specs.append(TensorSpec(name, group, role, shape, **kw))

    _embedding(add, vocab, dim)
    for i, kind in enumerate(sliding_full_layer_types(config)):
        full = kind == "full_attention"
        hd, kvh = (g_head_dim, g_kv) if full else (head_dim, kv_heads)
        kw: dict[str, Any] = {"layer": i}
        a = f"model.layers.{i}.self_attn"
        add(f"{a}.q_proj.weight", "attention", "q", (heads * hd, dim), gguf_class="attn_q", **kw)
        add(f"{a}.k_proj.weight", "attention", "k", (kvh * hd, dim), gguf_class="attn_k", **kw)
        if not (full and k_eq_v):
            add(f"{a}.v_proj.weight", "attention", "v", (kvh * hd, dim), gguf_class="attn_v", **kw)
        add(
            f"{a}.o_proj.weight",
            "attention",
            "o",
            (dim, heads * hd),
            gguf_class="attn_output",
            **kw,
        )
        add(f"{a}.q_norm.weight", "norms", "q_norm", (hd,), kind="vector", **kw)
        add(f"{a}.k_norm.weight", "norms", "k_norm", (hd,), kind="vector", **kw)
        m = f"model.layers.{i}.mlp"
        _mlp(
            add,
            (f"{m}.gate_proj.weight", f"{m}.up_proj.weight", f"{m}.down_proj.weight"),
            ("dense_mlp", "dense_mlp"),
            inter=inter,
            dim=dim,
            **kw,
        )
        if experts:
            add(
                f"{m}.router.weight",
                "router",
                "gate",
                (experts, dim),
                gguf_class="ffn_gate_inp",
                **kw,
            )
            _routed(add, m, experts=experts, topk=topk, inter=moe_inter, dim=dim, **kw)
        for nm in (
            "input_layernorm",
            "post_attention_layernorm",
            "pre_feedforward_layernorm",
            "post_feedforward_layernorm",
        ):
            add(f"model.layers.{i}.{nm}.weight", "norms", nm, (dim,), kind="vector", **kw)
    add("model.norm.weight", "norms", "final_norm", (dim,), kind="vector")
    if not tied:
        add(
            "lm_head.weight", "lm_head", "head", (vocab, dim), kind="embedding", gguf_class="output"
        )
    return tuple(specs)


def gemma4_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """Sliding layers: min(T, window) × 2 (K, V) × kv_heads × head_dim; global layers: T ×
    (1 when attention_k_eq_v, K stored once, else 2) × global KV heads × global_head_dim."""
    types = sliding_full_layer_types(cfg)
    kv, hd = int(cfg["num_key_value_heads"]), int(cfg["head_dim"])
    g_kv = int(cfg.get("num_global_key_value_heads") or kv)
    g_hd = int(cfg.get("global_head_dim") or hd)
    kv_factor = 1 if cfg.get("attention_k_eq_v") else 2
    n_full = types.count("full_attention")
    window = int(cfg["sliding_window"])
    return (
        KvPart("sliding", len(types) - n_full, "window", window, hd, vectors=2 * kv, kv_heads=kv),
        KvPart("full", n_full, "full", 1, g_hd, vectors=kv_factor * g_kv, kv_heads=g_kv),
    )


def _notes(cfg: Mapping[str, Any], runtime_id: str, has_indexer: bool) -> tuple[str, ...]:
    if not cfg.get("attention_k_eq_v"):
        return ()
    return (
        "global layers store K once (attention_k_eq_v); whether each runtime does was "
        "not checked (docs/research/deepseek_v4_facts.md, Uncertain).",
    )


FAMILY = Family(
    name="gemma4",
    summary="Gemma 4: sliding + global attention (K = V on global layers), dense or MoE MLP",
    model_types=("gemma4", "gemma4_text"),
    gguf_archs={"gemma4": "gemma4_text"},
    inventory=gemma4_inventory,
    layer_kinds=lambda cfg: tuple(sliding_full_layer_types(cfg)),
    kv_parts=gemma4_kv_parts,
    kv_notes=_notes,
)
