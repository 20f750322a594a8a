"""Tensor inventory of DeepSeek V4 (CSA/HCA compressed attention, mHC, hash routing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import VramkitError
from ..model.tensors import TensorSpec
from ._common import HEADS, HIDDEN, LAYERS, MOE_INTER, MTP, ROUTED, TOPK, VOCAB, _mlp, mtp_layers
from ._record import Family, KvPart
from ._schema import ConfigField, ConfigValues, read_config

# --------------------------------------------------------------------------- DeepSeek V4

FIELDS = (
    HIDDEN, LAYERS, HEADS,
    ConfigField("head_dim", "dim", "width of one attention head (= the cached entry)",
                unit="values"),
    ConfigField("q_lora_rank", "dim", "low rank of the query projection", unit="values"),
    ConfigField("o_lora_rank", "dim", "low rank of each output group", unit="values"),
    ConfigField("o_groups", "dim", "groups of the grouped low-rank output", unit="groups"),
    ROUTED,
    ConfigField("n_shared_experts", "count", "shared experts per layer", unit="experts",
                default=1),
    TOPK, MOE_INTER, VOCAB,
    ConfigField("index_n_heads", "dim", "lightning-indexer heads", unit="heads"),
    ConfigField("index_head_dim", "dim", "lightning-indexer key width (cached)",
                unit="values"),
    ConfigField("hc_mult", "dim", "mHC residual streams", unit="streams"),
    ConfigField("num_hash_layers", "layers", "leading layers routed by a token hash table",
                unit="layers", default=0),
    MTP,
    ConfigField("compress_ratios", "any", "per layer (MTP too): 0 window only, 4 CSA, 128 HCA"),
    ConfigField("qk_rope_head_dim", "dim", "RoPE dims of each cached entry", unit="values"),
    ConfigField("sliding_window", "count", "raw window every layer keeps (0 or absent: 128)",
                unit="tokens", default=0),
    ConfigField("expert_dtype", "str", "fp4: the official FP4-expert checkpoint", default=""),
)  # fmt: skip
"""The config fields DeepSeek V4 reads."""

CSA_RATIO, HCA_RATIO = 4, 128
"""compress_ratios of the CSA layers (with the lightning indexer) and of the HCA layers; 0 = a
layer with only the sliding window."""


def compressor_overlap(ratio: int) -> int:
    """The compressor's overlap factor `coff`, the one rule weights and KV both follow: ratio-4
    (CSA, and the indexer's own) compressors overlap two windows, so they project to 2·head_dim
    (ape [ratio, coff·d], wkv / wgate [coff·d, hidden]) and keep a state of coff·ratio tokens ×
    (kv_state + score_state) 2·coff·d FP32 values; ratio-128 (HCA) compressors have coff = 1.
    DeepSeek reference ``inference/model.py``: ``Compressor.__init__`` ``self.overlap = ratio ==
    4``, ``coff = 1 + self.overlap``."""
    return 2 if ratio == CSA_RATIO else 1


def deepseek_v4_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """DeepSeek V4 tensors, shapes as in DeepSeek's reference ``inference/model.py``.

    Per block: attention (wq_a, q_norm, wq_b, wkv, kv_norm, wo_a grouped low-rank output, wo_b,
    attn_sink), a compressor on compress_ratio>0 layers (ape, wkv, wgate, norm; width 2*head_dim
    when the ratio is 4, i.e. overlapping), a lightning indexer on ratio-4 layers (wq_b,
    weights_proj, and its own ratio-4 compressor of index_head_dim), MoE (gate weight, hash table
    tid2eid on the first num_hash_layers layers else a bias, routed experts w1/w2/w3, one shared
    expert), two RMSNorms and the mHC mixers (hc_{attn,ffn}_{fn,base,scale}). Global: embed, head,
    final norm, hc_head_*. MTP block = a block + e_proj, h_proj, enorm, hnorm, norm, hc_head_*.
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    n_layers = v.num_hidden_layers
    heads = v.num_attention_heads
    head_dim = v.head_dim
    q_lora = v.q_lora_rank  # V4 always projects q through the low rank
    o_lora = v.o_lora_rank  # and o: wo_a [o_groups·o_lora, heads·head_dim/o_groups]
    o_groups = v.o_groups
    experts = v.n_routed_experts
    shared = v.n_shared_experts
    topk = v.num_experts_per_tok
    inter = v.moe_intermediate_size
    vocab = v.vocab_size
    idx_heads = v.index_n_heads
    idx_dim = v.index_head_dim
    hc = v.hc_mult
    hash_layers = v.num_hash_layers
    n_mtp = v.num_nextn_predict_layers
    ratios = v.compress_ratios
    if not isinstance(ratios, list | tuple) or not all(
        isinstance(r, int) and not isinstance(r, bool) for r in ratios
    ):
        raise VramkitError(f"compress_ratios must be a list of integers, got {ratios!r}.")
    ratios = list(ratios)
    if len(ratios) < n_layers + n_mtp:
        raise VramkitError(
            f"compress_ratios has {len(ratios)} entries; DeepSeek V4 needs one per layer "
            f"(num_hidden_layers + num_nextn_predict_layers = {n_layers + n_mtp})."
        )
    bad = sorted({r for r in ratios if r not in (0, 4, 128)})
    if bad:
        raise VramkitError(f"compress_ratios holds {bad}; DeepSeek V4 layers use 0, 4 or 128.")
    if heads * head_dim % o_groups:
        raise VramkitError("num_attention_heads * head_dim must be divisible by o_groups.")

    specs: list[TensorSpec] = []
    mix = (2 + hc) * hc  # mHC pre(hc) + post(hc) + comb(hc*hc) mixing weights

    def add(name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        specs.append(TensorSpec(name, group, role, shape, **kw))

    def block(i: int, mtp: bool) -> None:
        p = f"mtp.{i - n_layers}" if mtp else f"layers.{i}"
        ratio = ratios[i]
        kw: dict[str, Any] = {"layer": i, "mtp": mtp}
        a = f"{p}.attn"
        add(f"{a}.attn_sink", "attention", "attn_sink", (heads,), kind="vector", native="F32", **kw)
        add(f"{a}.wq_a", "attention", "wq_a", (q_lora, dim), gguf_class="attn_q_a", **kw)
        add(f"{a}.q_norm", "norms", "q_norm", (q_lora,), kind="vector", **kw)
        add(
            f"{a}.wq_b",
            "attention",
            "wq_b",
            (heads * head_dim, q_lora),
            gguf_class="attn_q_b",
            **kw,
        )
        add(f"{a}.wkv", "attention", "wkv", (head_dim, dim), gguf_class="attn_kv", **kw)
        add(f"{a}.kv_norm", "norms", "kv_norm", (head_dim,), kind="vector", **kw)
        add(
            f"{a}.wo_a",
            "attention",
            "wo_a",
            (o_groups * o_lora, heads * head_dim // o_groups),
            gguf_class="attn_output_a",
            **kw,
        )
        add(
            f"{a}.wo_b",
            "attention",
            "wo_b",
            (dim, o_groups * o_lora),
            gguf_class="attn_output_b",
            **kw,
        )
        if ratio:
            coff = compressor_overlap(ratio)
            c = f"{a}.compressor"
            add(
                f"{c}.ape",
                "compressor",
                "ape",
                (ratio, coff * head_dim),
                kind="vector",
                native="F32",
                gguf_class="attn_compressor_ape",
                **kw,
            )
            add(
                f"{c}.wkv",
                "compressor",
                "wkv",
                (coff * head_dim, dim),
                gguf_class="attn_compressor_kv",
                **kw,
            )
            add(
                f"{c}.wgate",
                "compressor",
                "wgate",
                (coff * head_dim, dim),
                gguf_class="attn_compressor_gate",
                **kw,
            )
            add(f"{c}.norm", "norms", "compressor_norm", (head_dim,), kind="vector", **kw)
        if ratio == 4:
            x = f"{a}.indexer"
            add(
                f"{x}.wq_b",
                "indexer",
                "wq_b",
                (idx_heads * idx_dim, q_lora),
                gguf_class="indexer.attn_q_b",
                **kw,
            )
            add(
                f"{x}.weights_proj",
                "indexer",
                "weights_proj",
                (idx_heads, dim),
                gguf_class="indexer.proj",
                **kw,
            )
            xc = f"{x}.compressor"
            add(
                f"{xc}.ape",
                "indexer",
                "compressor_ape",
                (CSA_RATIO, compressor_overlap(CSA_RATIO) * idx_dim),
                kind="vector",
                native="F32",
                gguf_class="indexer_compressor_ape",
                **kw,
            )
            add(
                f"{xc}.wkv",
                "indexer",
                "compressor_wkv",
                (compressor_overlap(CSA_RATIO) * idx_dim, dim),
                gguf_class="indexer_compressor_kv",
                **kw,
            )
            add(
                f"{xc}.wgate",
                "indexer",
                "compressor_wgate",
                (compressor_overlap(CSA_RATIO) * idx_dim, dim),
                gguf_class="indexer_compressor_gate",
                **kw,
            )
            add(f"{xc}.norm", "norms", "indexer_norm", (idx_dim,), kind="vector", **kw)
        f = f"{p}.ffn"
        add(f"{f}.gate.weight", "router", "gate", (experts, dim), gguf_class="ffn_gate_inp", **kw)
        if i < hash_layers:
            add(
                f"{f}.gate.tid2eid",
                "router",
                "tid2eid",
                (vocab, topk),
                kind="table",
                native="I64",
                gguf_class="ffn_gate_tid2eid",
                **kw,
            )
        else:
            add(f"{f}.gate.bias", "router", "bias", (experts,), kind="vector", native="F32", **kw)
        ex = {"count": experts, "experts_per_token": topk, **kw}
        _mlp(
            add,
            (f"{f}.experts.{{e}}.w1", f"{f}.experts.{{e}}.w3", f"{f}.experts.{{e}}.w2"),
            ("routed_experts_gate_up", "routed_experts_down"),
            inter=inter,
            dim=dim,
            suffix="_exps",
            **ex,
        )
        sh = {"count": shared, **kw}
        _mlp(
            add,
            (f"{f}.shared_experts.w1", f"{f}.shared_experts.w3", f"{f}.shared_experts.w2"),
            ("shared_experts", "shared_experts"),
            inter=inter,
            dim=dim,
            suffix="_shexp",
            **sh,
        )
        add(f"{p}.attn_norm", "norms", "attn_norm", (dim,), kind="vector", **kw)
        add(f"{p}.ffn_norm", "norms", "ffn_norm", (dim,), kind="vector", **kw)
        for part in ("attn", "ffn"):
            add(
                f"{p}.hc_{part}_fn",
                "hyper_connections",
                "hc_fn",
                (mix, hc * dim),
                kind="vector",
                native="F32",
                gguf_class=f"hc_{part}_fn",
                **kw,
            )
            add(
                f"{p}.hc_{part}_base",
                "hyper_connections",
                "hc_base",
                (mix,),
                kind="vector",
                native="F32",
                **kw,
            )
            add(
                f"{p}.hc_{part}_scale",
                "hyper_connections",
                "hc_scale",
                (3,),
                kind="vector",
                native="F32",
                **kw,
            )
        if mtp:
            add(f"{p}.e_proj", "attention", "e_proj", (dim, dim), gguf_class="nextn.eh_proj", **kw)
            add(f"{p}.h_proj", "attention", "h_proj", (dim, dim), gguf_class="nextn.eh_proj", **kw)
            for nm in ("enorm", "hnorm", "norm"):
                add(f"{p}.{nm}", "norms", nm, (dim,), kind="vector", **kw)
            _hc_head(add, p, hc, dim, kw)

    for i in range(n_layers):
        block(i, mtp=False)
    add("embed.weight", "embed", "embed", (vocab, dim), kind="embedding", gguf_class="token_embd")
    add("head.weight", "lm_head", "head", (vocab, dim), kind="embedding", gguf_class="output")
    add("norm.weight", "norms", "final_norm", (dim,), kind="vector")
    _hc_head(add, "", hc, dim, {})
    for i in range(n_layers, n_layers + n_mtp):
        block(i, mtp=True)
    return tuple(specs)


def _hc_head(add: Callable[..., None], prefix: str, hc: int, dim: int, kw: dict[str, Any]) -> None:
    p = f"{prefix}." if prefix else ""
    add(
        f"{p}hc_head_fn",
        "hyper_connections",
        "hc_head_fn",
        (hc, hc * dim),
        kind="vector",
        native="F32",
        gguf_class="output_hc_fn",  # gguf-py TENSOR_NAMES[HC_HEAD_FN]
        **kw,
    )
    add(
        f"{p}hc_head_base",
        "hyper_connections",
        "hc_head_base",
        (hc,),
        kind="vector",
        native="F32",
        **kw,
    )
    add(
        f"{p}hc_head_scale",
        "hyper_connections",
        "hc_head_scale",
        (1,),
        kind="vector",
        native="F32",
        **kw,
    )


def deepseek_v4_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """Every layer's raw window (sliding_window tokens, default 128); CSA (ratio 4) entries +
    indexer keys; HCA (ratio 128) entries; the compressors' FP32 state: coff·ratio rows of
    2·coff·d values per layer (`compressor_overlap`), d = head_dim, or index_head_dim for the
    indexer's own compressor."""
    v = read_config(FIELDS, cfg)
    n = v.num_hidden_layers + mtp_layers(v, include_mtp)
    ratios = _ratio_list(v)[:n]
    dim, rope, idx_dim = v.head_dim, v.qk_rope_head_dim, v.index_head_dim
    window = v.sliding_window or 128
    n4, n128 = ratios.count(CSA_RATIO), ratios.count(HCA_RATIO)

    def state(layers: int, ratio: int, d: int) -> KvPart:
        coff = compressor_overlap(ratio)
        paging = f"v4_state_c{ratio}"
        return KvPart("state", layers, "state", coff * ratio, 2 * coff * d, store="fp32",
                      paging=paging)  # fmt: skip

    return (
        KvPart("window", n, "window", window, dim, rope_dims=rope, paging="v4_window"),
        KvPart("csa", n4, "compressed", CSA_RATIO, dim, rope_dims=rope, paging="v4_main"),
        KvPart(
            "indexer", n4, "compressed", CSA_RATIO, idx_dim, store="indexer", paging="v4_indexer"
        ),
        KvPart("hca", n128, "compressed", HCA_RATIO, dim, rope_dims=rope, paging="v4_main"),
        state(n4, CSA_RATIO, dim),
        state(n4, CSA_RATIO, idx_dim),
        state(n128, HCA_RATIO, dim),
    )


def deepseek_v4_layer_kinds(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    """csa (ratio 4), hca (ratio 128) or window (ratio 0) for each main layer."""
    names = {CSA_RATIO: "csa", HCA_RATIO: "hca", 0: "window"}
    v = read_config(FIELDS, cfg)
    n = v.num_hidden_layers
    return tuple(names[int(r)] for r in _ratio_list(v)[:n])


def _ratio_list(v: ConfigValues) -> list[Any]:
    """``compress_ratios`` as a list (the inventory checks each entry)."""
    ratios = v.compress_ratios
    if not isinstance(ratios, list | tuple):
        raise VramkitError(f"compress_ratios must be a list of integers, got {ratios!r:.80}.")
    return list(ratios)


def deepseek_v4_stored_layout(cfg: Mapping[str, Any], q: Mapping[str, Any]) -> str | None:
    """V4's own FP8 configs: ``expert_dtype: fp4`` is the official FP4-expert layout; otherwise
    experts, attention and shared experts in FP8 128×128 blocks (UE8M0 scales when
    ``scale_fmt: ue8m0``) with the indexer's other tensors, compressor, router, embed and head in
    BF16."""
    if str(q.get("quant_method", "")).lower() != "fp8":
        return None
    if read_config(FIELDS, cfg).expert_dtype.lower() == "fp4":
        return "deepseek-v4-official"
    scale = "FP8_B128_UE8M0" if q.get("scale_fmt") == "ue8m0" else "FP8_B128_F32"
    return (
        f"routed_experts={scale},attention={scale},shared_experts={scale},indexer.wq_b={scale},"
        "indexer=BF16,compressor=BF16,router=BF16,embed=BF16,lm_head=BF16"
    )


def deepseek4_from_gguf(cfg: dict[str, Any]) -> None:
    """A deepseek4 GGUF under transformers' names, in place. The converter
    (``DeepseekV4Model.set_gguf_parameters``, https://github.com/ggml-org/llama.cpp/blob/
    0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/deepseek.py#L659-L688) writes
    ``compress_ratios`` whole (one per layer, the MTP layer's too) as
    attention.compress_ratios, ``n_routed_experts`` as expert_count, and o_lora_rank,
    o_groups, the indexer's heads / key length / top-k, hc_mult and num_hash_layers under
    their own keys (read by `vramkit.ingest.gguf_file`)."""
    ratios = cfg.pop("compress_ratios_per_layer", None)
    if ratios is not None:
        cfg["compress_ratios"] = ratios
    if "num_experts" in cfg:
        cfg["n_routed_experts"] = cfg["num_experts"]


FAMILY = Family(
    name="deepseek_v4",
    summary="DeepSeek V4: CSA/HCA compressed attention, lightning indexer, mHC, hash routing",
    model_types=("deepseek_v4",),
    gguf_archs={"deepseek4": "deepseek_v4"},
    inventory=deepseek_v4_inventory,
    layer_kinds=deepseek_v4_layer_kinds,
    kv_parts=deepseek_v4_kv_parts,
    has_indexer=lambda cfg: True,
    stored_layout=deepseek_v4_stored_layout,
    recipe_candidates=("deepseek-v4-fp8", "deepseek-v4-nvfp4", "ds4-q4", "ds4-q2"),
    from_gguf=deepseek4_from_gguf,
    config_fields=FIELDS,
)
