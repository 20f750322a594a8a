"""Tensor inventory of DeepSeek V3 / R1 / V3.1 (MLA + MoE) and V3.2 (+ lightning indexer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, flat_of
from ..model.tensors import TensorSpec
from ._common import (
    FIRST_DENSE,
    HEADS,
    HIDDEN,
    INTER,
    LAYERS,
    MOE_INTER,
    MTP,
    ROUTED,
    SHARED,
    TIED,
    TOPK,
    VOCAB,
    _embedding,
    _mlp,
    _routed,
    mtp_layers,
)
from ._record import Config, Family, GgufPart, KvPart
from ._schema import ConfigField, read_config
from ._vision import vision_tower

FIELDS = (
    HIDDEN, LAYERS, HEADS,
    ConfigField("q_lora_rank", "count", "low rank of the query projection (0: one q_proj)",
                unit="values", default=0),
    ConfigField("topk_method", "str", "router; noaux_tc adds e_score_correction_bias",
                default="noaux_tc"),
    ConfigField("kv_lora_rank", "dim", "MLA latent width (the cached KV)", unit="values"),
    ConfigField("qk_nope_head_dim", "dim", "per-head query/key dims without RoPE",
                unit="values"),
    ConfigField("qk_rope_head_dim", "dim", "RoPE dims of the shared key (cached)",
                unit="values"),
    ConfigField("v_head_dim", "dim", "per-head value width", unit="values"),
    ROUTED, SHARED, TOPK, MOE_INTER, INTER, FIRST_DENSE, VOCAB, MTP,
    ConfigField("index_n_heads", "count", "V3.2 lightning-indexer heads (0: none)",
                unit="heads", default=0),
    ConfigField("index_head_dim", "count", "V3.2 indexer key width (cached; 0: none)",
                unit="values", default=0),
    TIED,
)  # fmt: skip
"""The config fields DeepSeek V2 / V3 / V3.2 and Kimi K2 read."""

if TYPE_CHECKING:  # pragma: no cover
    from ..runtimes import KvProfile

# --------------------------------------------------------------------------- DeepSeek V3 / V3.2


def deepseek_v3_kinds(config: Mapping[str, Any]) -> Inventory:
    """DeepSeek V3 / R1 / V3.1 (MLA + MoE), and V3.2 when ``index_n_heads`` is set (indexer).

    HF checkpoint names. MLA: q_a_proj, q_a_layernorm, q_b_proj, kv_a_proj_with_mqa
    (kv_lora_rank + qk_rope_head_dim outputs), kv_a_layernorm, kv_b_proj, o_proj. The first
    ``first_k_dense_replace`` layers have a dense MLP; the rest MoE with n_shared_experts shared
    experts (one fused MLP of n_shared*moe_intermediate_size). Each MTP layer repeats a full MoE
    layer plus enorm, hnorm, eh_proj [hidden, 2*hidden], its own embed_tokens and shared_head
    (norm + head), as in the V3 checkpoint ("685B = 671B main + 14B MTP").
    V3.2 indexer (per layer): wq_b [heads*dim, q_lora], wk [dim, hidden], k_norm (weight + bias),
    weights_proj [heads, hidden].
    DeepSeek-V2 / V2-Lite (``model_type`` deepseek_v2, transformers
    ``models/deepseek_v2/modeling_deepseek_v2.py``): without ``q_lora_rank`` (V2-Lite: null) the
    query is one q_proj [heads*(nope+rope), hidden]; the router has no
    e_score_correction_bias unless ``topk_method`` is noaux_tc (V2: greedy /
    group_limited_greedy; V3: noaux_tc, the default when the field is absent).
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    n_layers = v.num_hidden_layers
    heads = v.num_attention_heads
    q_lora = v.q_lora_rank
    score_bias = (v.topk_method or "noaux_tc") == "noaux_tc"
    kv_lora = v.kv_lora_rank
    nope = v.qk_nope_head_dim
    rope = v.qk_rope_head_dim
    v_dim = v.v_head_dim
    experts = v.n_routed_experts
    shared = v.n_shared_experts
    topk = v.num_experts_per_tok
    moe_inter = v.moe_intermediate_size
    inter = v.intermediate_size
    dense_layers = v.first_k_dense_replace
    vocab = v.vocab_size
    n_mtp = v.num_nextn_predict_layers
    idx_heads = v.index_n_heads
    idx_dim = v.index_head_dim
    tied = v.tie_word_embeddings

    stamper = LayerStamper()
    add = stamper.add

    def layer(i: int, mtp: bool) -> None:
        p = f"model.layers.{i}"
        kw: dict[str, Any] = {"layer": i, "mtp": mtp}
        a = f"{p}.self_attn"
        if q_lora:
            add(
                f"{a}.q_a_proj.weight", "attention", "q_a", (q_lora, dim), gguf_class="attn_q_a",
                **kw,
            )  # fmt: skip
            add(f"{a}.q_a_layernorm.weight", "norms", "q_norm", (q_lora,), kind="vector", **kw)
            add(
                f"{a}.q_b_proj.weight",
                "attention",
                "q_b",
                (heads * (nope + rope), q_lora),
                gguf_class="attn_q_b",
                **kw,
            )
        else:
            add(
                f"{a}.q_proj.weight", "attention", "q", (heads * (nope + rope), dim),
                gguf_class="attn_q", **kw,
            )  # fmt: skip
        add(
            f"{a}.kv_a_proj_with_mqa.weight", "attention", "kv_a", (kv_lora + rope, dim),
            gguf_class="attn_kv_a_mqa", **kw,
        )  # fmt: skip
        add(f"{a}.kv_a_layernorm.weight", "norms", "kv_norm", (kv_lora,), kind="vector", **kw)
        add(
            f"{a}.kv_b_proj.weight",
            "attention",
            "kv_b",
            (heads * (nope + v_dim), kv_lora),
            gguf_class="attn_kv_b",
            **kw,
        )
        add(
            f"{a}.o_proj.weight",
            "attention",
            "o",
            (dim, heads * v_dim),
            gguf_class="attn_output",
            **kw,
        )
        if idx_heads:
            x = f"{a}.indexer"
            add(
                f"{x}.wq_b.weight",
                "indexer",
                "wq_b",
                (idx_heads * idx_dim, q_lora),
                gguf_class="indexer.attn_q_b",
                **kw,
            )
            add(
                f"{x}.wk.weight", "indexer", "wk", (idx_dim, dim), gguf_class="indexer.attn_k", **kw
            )
            add(f"{x}.k_norm.weight", "indexer", "k_norm", (idx_dim,), kind="vector", **kw)
            add(f"{x}.k_norm.bias", "indexer", "k_norm_bias", (idx_dim,), kind="vector", **kw)
            add(
                f"{x}.weights_proj.weight",
                "indexer",
                "weights_proj",
                (idx_heads, dim),
                gguf_class="indexer.proj",
                **kw,
            )
        m = f"{p}.mlp"
        if i < dense_layers:
            _mlp(
                add,
                (f"{m}.gate_proj.weight", f"{m}.up_proj.weight", f"{m}.down_proj.weight"),
                ("dense_mlp", "dense_mlp"),
                inter=inter,
                dim=dim,
                **kw,
            )
        else:
            add(
                f"{m}.gate.weight",
                "router",
                "gate",
                (experts, dim),
                gguf_class="ffn_gate_inp",
                **kw,
            )
            if score_bias:
                add(
                    f"{m}.gate.e_score_correction_bias",
                    "router",
                    "bias",
                    (experts,),
                    kind="vector",
                    native="F32",
                    **kw,
                )
            _routed(add, m, experts=experts, topk=topk, inter=moe_inter, dim=dim, **kw)
            if shared:
                s_inter = shared * moe_inter
                s = f"{m}.shared_experts"
                _mlp(
                    add,
                    (f"{s}.gate_proj.weight", f"{s}.up_proj.weight", f"{s}.down_proj.weight"),
                    ("shared_experts", "shared_experts"),
                    inter=s_inter,
                    dim=dim,
                    suffix="_shexp",
                    **kw,
                )
        add(f"{p}.input_layernorm.weight", "norms", "attn_norm", (dim,), kind="vector", **kw)
        add(
            f"{p}.post_attention_layernorm.weight", "norms", "ffn_norm", (dim,), kind="vector", **kw
        )
        if mtp:
            add(f"{p}.enorm.weight", "norms", "enorm", (dim,), kind="vector", **kw)
            add(f"{p}.hnorm.weight", "norms", "hnorm", (dim,), kind="vector", **kw)
            add(
                f"{p}.eh_proj.weight",
                "attention",
                "eh_proj",
                (dim, 2 * dim),
                gguf_class="nextn_eh_proj",
                **kw,
            )
            add(
                f"{p}.embed_tokens.weight",
                "embed",
                "embed",
                (vocab, dim),
                kind="embedding",
                gguf_class="token_embd",
                **kw,
            )
            add(f"{p}.shared_head.norm.weight", "norms", "final_norm", (dim,), kind="vector", **kw)
            add(
                f"{p}.shared_head.head.weight",
                "lm_head",
                "head",
                (vocab, dim),
                kind="embedding",
                gguf_class="output",
                **kw,
            )

    _embedding(add, vocab, dim)
    for i in range(n_layers):
        if not stamper.repeat(i, i < dense_layers):  # a dense or an MoE block, each built once
            layer(i, mtp=False)
    add("model.norm.weight", "norms", "final_norm", (dim,), kind="vector")
    if not tied:
        add(
            "lm_head.weight", "lm_head", "head", (vocab, dim), kind="embedding", gguf_class="output"
        )
    for i in range(n_layers, n_layers + n_mtp):
        layer(i, mtp=True)
    vision_tower(
        add, config, text_hidden=dim, repeat=stamper.repeat
    )  # Kimi-VL's MoonViT; others are noted
    return stamper.inventory()


deepseek_v3_inventory = flat_of(deepseek_v3_kinds)


def deepseek_v3_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """MLA: one latent of kv_lora_rank + qk_rope_head_dim values per token per layer (not per
    head, no ×2: K and V are both read from it); V3.2 adds one index_head_dim indexer key per
    token per layer."""
    v = read_config(FIELDS, cfg)
    n = v.num_hidden_layers + mtp_layers(v, include_mtp)
    rope = v.qk_rope_head_dim
    out = [KvPart("mla", n, "full", 1, v.kv_lora_rank + rope, rope_dims=rope)]
    if v.index_head_dim:
        out.append(KvPart("indexer", n, "full", 1, v.index_head_dim, store="indexer"))
    return tuple(out)


def _sparse(cfg: Mapping[str, Any]) -> bool:
    return bool(read_config(FIELDS, cfg).index_head_dim)


def _notes(cfg: Mapping[str, Any], kv: KvProfile, has_indexer: bool) -> tuple[str, ...]:
    if has_indexer and kv.has("indexer_k_only"):
        return ("llama.cpp V3.2 indexer keys: estimated as a K-only cache of kv_size cells.",)
    if has_indexer and kv.has("indexer_glm_dsa_only"):
        return (
            "ik_llama.cpp@8337e4cd has no DeepSeek V3.2 architecture and allocates indexer keys "
            "for GLM-DSA only (src/llama.cpp L1344-L1349): the indexer cache here is an estimate "
            "(kv_size keys in -ictk, as GLM-DSA's).",
        )
    return ()


def _gguf_split(cfg: Config, t: TensorSpec) -> tuple[GgufPart, ...] | None:
    """``kv_b_proj`` → ``attn_k_b`` (ne [qk_nope, kv_lora, n_head], k_b transposed) and
    ``attn_v_b`` (ne [kv_lora, v_head, n_head]): "MLA with the absorption optimization, needs
    these two split and k_b_proj transposed" (DeepseekV2Model.modify_tensors,
    https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/deepseek.py
    L433-448). Each part is a spec of ``count`` = n_head matrices, so bytes = count × bytes(shape)."""
    if t.gguf_class != "attn_kv_b":
        return None
    v = read_config(FIELDS, cfg)
    heads, nope, vdim = v.num_attention_heads, v.qk_nope_head_dim, v.v_head_dim
    lora = t.shape[1]
    kb = replace(t, name=t.name.replace("kv_b", "k_b"), role="k_b", shape=(lora, nope),
                 count=heads, gguf_class="attn_k_b")  # fmt: skip
    vb = replace(t, name=t.name.replace("kv_b", "v_b"), role="v_b", shape=(vdim, lora),
                 count=heads, gguf_class="attn_v_b")  # fmt: skip
    return ((kb, (nope, lora, heads)), (vb, (lora, vdim, heads)))


def deepseek2_from_gguf(cfg: dict[str, Any]) -> None:
    """DeepSeek-V2-type GGUF (arch ``deepseek2``, V3.2: ``deepseek32``) fields → transformers' MLA
    names, in place.

    The converter writes MLA as MQA after absorption (``DeepseekV2Model.set_gguf_parameters``,
    https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/deepseek.py
    L319-353): head_count_kv 1, key_length = kv_lora_rank + qk_rope_head_dim, value_length =
    kv_lora_rank, key_length_mla = qk_nope_head_dim + qk_rope_head_dim, value_length_mla =
    v_head_dim; rope.dimension_count = qk_rope_head_dim. The loader reads the ``*_mla`` lengths
    and, without them (files from before the absorbed form), uses key_length / value_length as
    the per-head dims (src/models/deepseek2.cpp L16-17; src/llama-hparams.cpp L313-319
    ``n_embd_head_k_mla() = is_mla() ? n_embd_head_k_mla_impl : n_embd_head_k()``).
    So qk_nope_head_dim = key length − qk_rope_head_dim, v_head_dim = the value length;
    num_key_value_heads is the attention heads (transformers' MHA view)."""
    k_mla, v_mla = cfg.pop("key_length_mla", None), cfg.pop("value_length_mla", None)
    if (k_mla is None) != (v_mla is None):
        raise VramkitError(
            "GGUF metadata of a deepseek2 file must give both attention.key_length_mla and "
            f"attention.value_length_mla or neither, got {k_mla!r} and {v_mla!r}."
        )
    key, value = (
        (k_mla, v_mla) if k_mla is not None else (cfg.get("head_dim"), cfg.get("v_head_dim"))
    )
    rope = cfg.get("qk_rope_head_dim")
    if key is None or value is None or rope is None:
        return  # the inventory then names the missing field
    if not 0 < rope < key:
        raise VramkitError(
            f"GGUF metadata of a deepseek2 file: the key length {key} must exceed "
            f"rope.dimension_count {rope} (key = qk_nope_head_dim + qk_rope_head_dim)."
        )
    cfg["qk_nope_head_dim"] = key - rope
    cfg["v_head_dim"] = value
    cfg.pop("head_dim", None)
    if "num_attention_heads" in cfg:
        cfg["num_key_value_heads"] = cfg["num_attention_heads"]
    if "num_experts" in cfg:
        cfg["n_routed_experts"] = cfg["num_experts"]


FAMILY = Family(
    name="deepseek_v3",
    summary="DeepSeek V2 / V3 / R1 / V3.1 (MLA + MoE) and V3.2 (+ lightning indexer), Kimi K2",
    model_types=("deepseek_v2", "deepseek_v3", "deepseek_v32", "kimi_k2"),
    gguf_archs={"deepseek2": "deepseek_v3", "deepseek32": "deepseek_v32"},
    inventory=deepseek_v3_inventory,
    tensor_kinds=deepseek_v3_kinds,
    layer_kinds=lambda cfg: ("mla",) * read_config(FIELDS, cfg).num_hidden_layers,
    kv_parts=deepseek_v3_kv_parts,
    kv_format_keys=lambda cfg: (
        ("deepseek_v3_sparse", "deepseek_v3") if _sparse(cfg) else ("deepseek_v3",)
    ),
    has_indexer=_sparse,
    kv_notes=_notes,
    from_gguf=deepseek2_from_gguf,
    gguf_split=_gguf_split,
    config_fields=FIELDS,
)
