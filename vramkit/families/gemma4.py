"""Tensor inventory of Gemma 4 (sliding + global attention, dense or MoE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import VramkitError
from ..model.tensors import TensorSpec
from ..validate import MAX_POSITIONS
from ._common import (
    HEADS,
    HIDDEN,
    INTER,
    LAYER_TYPES,
    LAYERS,
    SWA_PATTERN,
    VOCAB,
    _embedding,
    _mlp,
    _routed,
    sliding_full_layer_types,
)
from ._record import Family, GgufPart, KvPart
from ._schema import ConfigField, ConfigValues, read_config

FIELDS = (
    HIDDEN, LAYERS, HEADS,
    ConfigField("num_key_value_heads", "dim", "key/value heads of a sliding layer",
                unit="heads"),
    ConfigField("head_dim", "dim", "head width of a sliding layer", unit="values"),
    ConfigField("global_head_dim", "dim", "head width of a global (full) layer", unit="values",
                default=lambda v: v.head_dim, default_text="head_dim"),
    ConfigField("num_global_key_value_heads", "dim", "key/value heads of a global layer",
                unit="heads", default=lambda v: v.num_key_value_heads,
                default_text="num_key_value_heads"),
    ConfigField("attention_k_eq_v", "bool", "global layers reuse K as V (no v_proj)",
                default=False),
    INTER, VOCAB,
    ConfigField("num_experts", "count", "routed experts per layer (0: dense)", unit="experts",
                default=0),
    ConfigField("top_k_experts", "count", "experts routed per token", unit="experts",
                keys=("top_k_experts", "num_experts_per_tok"), default=0),
    ConfigField("moe_intermediate_size", "count", "width of one routed expert", unit="values",
                default=0),
    ConfigField("tie_word_embeddings", "bool", "the output head reuses the embedding",
                default=True),
    ConfigField("sliding_window", "dim", "tokens a sliding layer keeps (no default: asked)",
                unit="tokens", default=None),
    LAYER_TYPES, SWA_PATTERN,
)  # fmt: skip
"""The config fields Gemma 4 reads (its vision/audio towers are not counted)."""

if TYPE_CHECKING:  # pragma: no cover
    from ..runtimes import KvProfile

# --------------------------------------------------------------------------- Gemma 4


def gemma4_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """Gemma 4 text decoder (vision/audio towers not counted).

    Sliding layers: q [heads*head_dim], k, v [kv_heads*head_dim], o; q_norm/k_norm per head_dim.
    Global (full) layers: head_dim = global_head_dim, kv heads = num_global_key_value_heads, and no
    v_proj when ``attention_k_eq_v`` (K doubles as V). MLP: dense gate/up/down of
    intermediate_size in every layer; MoE models (``num_experts``) add a router and routed experts
    of moe_intermediate_size alongside it, with the router's input scale, a per-expert output
    scale and three more RMSNorms. Four RMSNorms per layer; tied embeddings. Not counted: the
    per-layer ``layer_scalar`` the converter maps (one value per layer, llama.cpp: not
    required) — no released Gemma 4 31B / 26B-A4B tensor list was available to confirm it.
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    g_head_dim = v.global_head_dim
    g_kv = v.num_global_key_value_heads
    k_eq_v = v.attention_k_eq_v
    inter = v.intermediate_size
    vocab = v.vocab_size
    experts = v.num_experts
    topk = v.top_k_experts
    moe_inter = v.moe_intermediate_size
    tied = v.tie_word_embeddings
    if experts and (not topk or not moe_inter):
        raise VramkitError("an MoE Gemma config needs top_k_experts and moe_intermediate_size.")
    specs: list[TensorSpec] = []

    def add(name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        specs.append(TensorSpec(name, group, role, shape, **kw))

    _embedding(add, vocab, dim)
    for i, kind in enumerate(sliding_full_layer_types(v)):
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
            # the MoE block's own tensors, named as the converter maps them (gguf-py
            # tensor_mapping.py "model.layers.{bid}.router.proj" … "# gemma4"): router, its
            # input scale and per-expert output scale (Gemma4Model.modify_tensors: router.scale
            # → ffn_gate_inp.scale, per_expert_scale → ffn_down_exps.scale), two extra
            # pre/post norms; llama.cpp requires all of them on expert layers
            # (src/models/gemma4.cpp L111-120)
            r = f"model.layers.{i}.router"
            add(f"{r}.proj.weight", "router", "gate", (experts, dim), gguf_class="ffn_gate_inp",
                **kw)  # fmt: skip
            add(f"{r}.scale", "router", "scale", (dim,), kind="vector", **kw)
            add(f"{r}.per_expert_scale", "router", "per_expert_scale", (experts,), kind="vector",
                **kw)  # fmt: skip
            _routed(add, m, experts=experts, topk=topk, inter=moe_inter, dim=dim, **kw)
            for nm in (
                "pre_feedforward_layernorm_2",
                "post_feedforward_layernorm_1",
                "post_feedforward_layernorm_2",
            ):
                add(f"model.layers.{i}.{nm}.weight", "norms", nm, (dim,), kind="vector", **kw)
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


def _sliding_window(v: ConfigValues) -> int:
    """The sliding layers' window in tokens; refused when the config does not give it.

    transformers fills a missing one with ``Gemma4TextConfig.sliding_window: int = 512``
    (https://github.com/huggingface/transformers/blob/351f643ab9f582c01026b6d75aab3e2c5a8338cd/src/transformers/models/gemma4/configuration_gemma4.py#L176),
    the small models' value; Gemma 4 31B uses 1024, so vramkit asks instead of guessing.
    """
    window = v.sliding_window
    if window is None:
        raise VramkitError(
            "config field 'sliding_window' is missing: Gemma 4's sliding layers need their "
            "window in tokens (transformers' Gemma4TextConfig would assume 512, the small "
            "models' value; Gemma 4 31B uses 1024); add it to the config, a whole number "
            f"in 1..{MAX_POSITIONS:,}."
        )
    return int(window)


def gemma4_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """Sliding layers: min(T, window) × 2 (K, V) × kv_heads × head_dim; global layers: T ×
    (1 when attention_k_eq_v, K stored once, else 2) × global KV heads × global_head_dim."""
    v = read_config(FIELDS, cfg)
    types = sliding_full_layer_types(v)
    kv = v.num_key_value_heads
    hd = v.head_dim
    g_kv = v.num_global_key_value_heads
    g_hd = v.global_head_dim
    kv_factor = 1 if v.attention_k_eq_v else 2
    n_full = types.count("full_attention")
    window = _sliding_window(v) if n_full < len(types) else 0
    return (
        KvPart("sliding", len(types) - n_full, "window", window, hd, vectors=2 * kv, kv_heads=kv),
        KvPart("full", n_full, "full", 1, g_hd, vectors=kv_factor * g_kv, kv_heads=g_kv),
    )


def _notes(cfg: Mapping[str, Any], kv: KvProfile, has_indexer: bool) -> tuple[str, ...]:
    if not cfg.get("attention_k_eq_v"):
        return ()
    if kv.has("v_cache_on_every_layer"):
        return (
            "llama.cpp stores V on the global layers too although the checkpoint reuses K as V "
            "(attention_k_eq_v): engine-measured, tests/fixtures/measured/llamacpp/gemma-4-31b.json.",
        )
    return (
        "global layers store K once (attention_k_eq_v); whether this runtime does was not "
        "checked (llama.cpp does not: it keeps a V cache there too).",
    )


def _gguf_extra(cfg: Mapping[str, Any]) -> tuple[GgufPart, ...]:
    """``rope_freqs.weight``: F32 [global_head_dim / 2] the converter generates for the
    "proportional" rope of the full-attention layers (Gemma4Model.generate_extra_tensors,
    https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/gemma.py L745-772); llama.cpp loads it once (src/models/gemma4.cpp L94-98)."""
    v = read_config(FIELDS, cfg)
    _hd = v.head_dim
    n = v.global_head_dim // 2
    t = TensorSpec("rope_freqs", "attention", "rope_freqs", (n,), kind="vector", native="F32",
                   gguf_class="rope_freqs")  # fmt: skip
    return ((t, (n,)),)


def gemma4_from_gguf(cfg: dict[str, Any]) -> None:
    """A gemma4 GGUF's attention shape under transformers' names, in place. The converter
    (``Gemma4Model.set_gguf_parameters``, https://github.com/ggml-org/llama.cpp/blob/
    0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/gemma.py#L681-L733) writes the
    sliding pattern as a per-layer bool array (→ ``layer_types``), key/value_length = the global
    head dim, key/value_length_swa = ``head_dim``, and head_count_kv per layer (sliding layers:
    ``num_key_value_heads``, global: ``num_global_key_value_heads``); the loader reads them
    (src/models/gemma4.cpp L5-L20). ``attention_k_eq_v`` is not in the file: left unset, the
    global layers are sized with a V cache, as llama.cpp allocates one there anyway."""
    swa_dim = cfg.pop("key_length_swa", None)
    if swa_dim is not None:
        if "head_dim" in cfg:
            cfg["global_head_dim"] = cfg["head_dim"]
        cfg["head_dim"] = swa_dim
    per_layer, types = cfg.pop("num_key_value_heads_per_layer", None), cfg.get("layer_types")
    if per_layer and types:
        if len(per_layer) < len(types):
            raise VramkitError(
                f"GGUF metadata gemma4.attention.head_count_kv lists {len(per_layer)} layers, "
                f"the sliding_window_pattern {len(types)}."
            )
        swa = {n for n, t in zip(per_layer, types, strict=False) if t == "sliding_attention"}
        full = {n for n, t in zip(per_layer, types, strict=False) if t == "full_attention"}
        if len(swa) > 1 or len(full) > 1:
            raise VramkitError(
                "GGUF metadata gemma4.attention.head_count_kv must be one count on the sliding "
                f"layers and one on the global layers, got {sorted(swa)} and {sorted(full)}."
            )
        if swa:
            cfg["num_key_value_heads"] = swa.pop()
        if full:
            cfg["num_global_key_value_heads"] = full.pop()


FAMILY = Family(
    name="gemma4",
    summary="Gemma 4: sliding + global attention (K = V on global layers), dense or MoE MLP",
    model_types=("gemma4", "gemma4_text"),
    gguf_archs={"gemma4": "gemma4_text"},
    inventory=gemma4_inventory,
    layer_kinds=lambda cfg: tuple(sliding_full_layer_types(read_config(FIELDS, cfg))),
    kv_parts=gemma4_kv_parts,
    kv_notes=_notes,
    gguf_extra=_gguf_extra,
    from_gguf=gemma4_from_gguf,
    config_fields=FIELDS,
)
