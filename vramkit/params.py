"""Parameter accounting from an architecture config: every weight tensor, by tensor group.

A model is described by its *tensor inventory*: one `TensorSpec` per distinct tensor shape in each
layer (identical tensors, e.g. the 256 routed experts of a layer, share one spec with a `count`).
Byte sizes come later, from `vramkit.quant` (a format per tensor); this module counts elements only.

Families: `deepseek_v4` (CSA/HCA compressed attention, mHC, hash routing; shapes from DeepSeek's
reference `inference/model.py`), `deepseek_v3` (MLA; V3.2 adds the lightning indexer),
`gemma4` (sliding + global attention, dense or MoE), and `llama` (plain GQA decoders, dense or MoE:
Llama, Qwen2/3, Mistral/Mixtral and alike).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import VramkitError, unknown_name

GROUPS: tuple[str, ...] = (
    "embed",
    "lm_head",
    "attention",
    "indexer",
    "compressor",
    "norms",
    "router",
    "shared_experts",
    "routed_experts_gate_up",
    "routed_experts_down",
    "dense_mlp",
    "hyper_connections",
    "mtp",
)
"""Tensor groups of a breakdown. `mtp` holds every tensor of the multi-token-prediction layer(s)."""

ROUTED_GROUPS = ("routed_experts_gate_up", "routed_experts_down")

KINDS = ("matrix", "embedding", "vector", "table")
"""`matrix`: a linear weight [out, in] (quantisable); `embedding`: a [vocab, dim] lookup table
(quantisable); `vector`: 1-D or small fp params (norms, biases, sinks, mHC mixers) that runtimes keep
in their native float dtype; `table`: integer tables (hash routing) that are never quantised."""


@dataclass(frozen=True)
class TensorSpec:
    """One weight tensor (or `count` identical ones) of the model.

    Attributes
    ----------
    name: representative checkpoint name, e.g. ``layers.5.ffn.experts.{e}.w1``.
    group: functional group, one of `GROUPS` minus ``mtp`` (MTP tensors set ``mtp=True``).
    role: short role inside the group (``wq_a``, ``gate_up`` …), used by recipes and mixes.
    shape: logical element shape; for matrices ``(out_features, in_features)``.
    count: how many identical tensors this spec stands for (e.g. routed experts of one layer).
    kind: one of `KINDS`.
    native: the dtype a plain bf16 export of the reference architecture stores it in.
    layer: layer index (MTP layers continue after the main ones), or None for global tensors.
    mtp: True for tensors of the multi-token-prediction module.
    gguf_class: llama.cpp's tensor class name (``attn_v``, ``ffn_down_exps`` …) for GGUF mixes.
    experts_per_token: for routed expert tensors, how many of `count` one token uses.
    """

    name: str
    group: str
    role: str
    shape: tuple[int, ...]
    count: int = 1
    kind: str = "matrix"
    native: str = "BF16"
    layer: int | None = None
    mtp: bool = False
    gguf_class: str = ""
    experts_per_token: int | None = None

    def __post_init__(self) -> None:
        if self.experts_per_token is not None and not 0 < self.experts_per_token <= self.count:
            raise VramkitError(
                f"{self.name}: {self.experts_per_token} experts per token of {self.count} routed "
                "experts; num_experts_per_tok must be between 1 and the number of experts."
            )

    @property
    def numel(self) -> int:
        """Elements of one tensor."""
        return math.prod(self.shape)

    @property
    def params(self) -> int:
        """Elements of all `count` tensors."""
        return self.numel * self.count

    @property
    def active_params(self) -> int:
        """Elements one token reads: routed experts count `experts_per_token` of `count`."""
        if self.experts_per_token is None:
            return self.params
        return self.numel * self.experts_per_token

    @property
    def breakdown_group(self) -> str:
        """The group a breakdown reports it under (``mtp`` for every MTP tensor)."""
        return "mtp" if self.mtp else self.group


@dataclass(frozen=True)
class ParamCounts:
    """Parameter totals (elements, not bytes) of an inventory.

    `total` includes MTP; `main` excludes it (the usual "model size" label); `active` is what one
    token of the main model reads (embedding row lookups counted in full, as DeepSeek does).
    """

    total: int
    main: int
    active: int
    by_group: Mapping[str, int]
    active_by_group: Mapping[str, int]


def count_params(inventory: tuple[TensorSpec, ...]) -> ParamCounts:
    """Sum an inventory into total / main (no MTP) / active-per-token, by breakdown group."""
    by_group = dict.fromkeys(GROUPS, 0)
    active_by_group = dict.fromkeys(GROUPS, 0)
    total = main = active = 0
    for t in inventory:
        by_group[t.breakdown_group] += t.params
        total += t.params
        if not t.mtp:
            main += t.params
            active += t.active_params
            active_by_group[t.group] += t.active_params
    return ParamCounts(total, main, active, by_group, active_by_group)


# --------------------------------------------------------------------------- config helpers


def _get(config: Mapping[str, Any], key: str, *, default: Any = None, required: bool = True) -> Any:
    if key in config and config[key] is not None:
        return config[key]
    if required and default is None:
        raise VramkitError(
            f"config is missing {key!r}, which this architecture needs; "
            f"fields present: {', '.join(sorted(config)) or '(none)'}."
        )
    return default


def _pos_int(config: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = _get(config, key, default=default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise VramkitError(f"config field {key!r} must be a non-negative integer, got {value!r}.")
    return value


MAX_LAYERS = 10_000
"""Sanity cap on layer counts: no real decoder has more; a bigger value is a malformed config."""


def _layers(
    config: Mapping[str, Any], key: str = "num_hidden_layers", default: int | None = None
) -> int:
    n = _pos_int(config, key, default)
    if n > MAX_LAYERS:
        raise VramkitError(
            f"config field {key!r} is {n:,}; more than {MAX_LAYERS:,} layers is not a real model."
        )
    return n


def _opt_int(config: Mapping[str, Any], *keys: str) -> int:
    """The first present key as a non-negative int, 0 when none is set."""
    for key in keys:
        if config.get(key) is not None:
            return _pos_int(config, key)
    return 0


def _nonzero(name: str, value: int) -> int:
    if value <= 0:
        raise VramkitError(f"config field {name!r} must be a positive integer, got {value!r}.")
    return value


def _mlp(
    add: Callable[..., None],
    names: tuple[str, str, str],
    groups: tuple[str, str],
    *,
    inter: int,
    dim: int,
    suffix: str = "",
    **kw: Any,
) -> None:
    """A SwiGLU MLP: gate and up [inter, dim], down [dim, inter] — dense, shared or routed
    (llama.cpp tensor classes ffn_gate/ffn_up/ffn_down + `suffix`, e.g. ``_exps``)."""
    gate, up, down = names
    add(gate, groups[0], "gate", (inter, dim), gguf_class=f"ffn_gate{suffix}", **kw)
    add(up, groups[0], "up", (inter, dim), gguf_class=f"ffn_up{suffix}", **kw)
    add(down, groups[1], "down", (dim, inter), gguf_class=f"ffn_down{suffix}", **kw)


# --------------------------------------------------------------------------- DeepSeek V4


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
    dim = _pos_int(config, "hidden_size")
    n_layers = _layers(config)
    heads = _pos_int(config, "num_attention_heads")
    head_dim = _pos_int(config, "head_dim")
    q_lora = _pos_int(config, "q_lora_rank")
    o_lora = _pos_int(config, "o_lora_rank")
    o_groups = _pos_int(config, "o_groups")
    experts = _pos_int(config, "n_routed_experts")
    shared = _pos_int(config, "n_shared_experts", 1)
    topk = _pos_int(config, "num_experts_per_tok")
    inter = _pos_int(config, "moe_intermediate_size")
    vocab = _pos_int(config, "vocab_size")
    idx_heads = _pos_int(config, "index_n_heads")
    idx_dim = _pos_int(config, "index_head_dim")
    hc = _pos_int(config, "hc_mult")
    hash_layers = _layers(config, "num_hash_layers", 0)
    n_mtp = _layers(config, "num_nextn_predict_layers", 0)
    ratios = _get(config, "compress_ratios")
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
    for name, value in (
        ("hidden_size", dim),
        ("num_attention_heads", heads),
        ("o_groups", o_groups),
    ):
        _nonzero(name, value)
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
            coff = 2 if ratio == 4 else 1  # ratio-4 compressors overlap: two head_dim halves
            c = f"{a}.compressor"
            add(
                f"{c}.ape",
                "compressor",
                "ape",
                (ratio, coff * head_dim),
                kind="vector",
                native="F32",
                **kw,
            )
            add(
                f"{c}.wkv",
                "compressor",
                "wkv",
                (coff * head_dim, dim),
                gguf_class="compressor",
                **kw,
            )
            add(
                f"{c}.wgate",
                "compressor",
                "wgate",
                (coff * head_dim, dim),
                gguf_class="compressor",
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
                gguf_class="indexer_q",
                **kw,
            )
            add(
                f"{x}.weights_proj",
                "indexer",
                "weights_proj",
                (idx_heads, dim),
                gguf_class="indexer_w",
                **kw,
            )
            xc = f"{x}.compressor"
            add(
                f"{xc}.ape",
                "indexer",
                "compressor_ape",
                (4, 2 * idx_dim),
                kind="vector",
                native="F32",
                **kw,
            )
            add(
                f"{xc}.wkv",
                "indexer",
                "compressor_wkv",
                (2 * idx_dim, dim),
                gguf_class="compressor",
                **kw,
            )
            add(
                f"{xc}.wgate",
                "indexer",
                "compressor_wgate",
                (2 * idx_dim, dim),
                gguf_class="compressor",
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
            add(f"{p}.e_proj", "attention", "e_proj", (dim, dim), gguf_class="nextn_eh_proj", **kw)
            add(f"{p}.h_proj", "attention", "h_proj", (dim, dim), gguf_class="nextn_eh_proj", **kw)
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


# --------------------------------------------------------------------------- DeepSeek V3 / V3.2


def deepseek_v3_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """DeepSeek V3 / R1 / V3.1 (MLA + MoE), and V3.2 when ``index_n_heads`` is set (indexer).

    HF checkpoint names. MLA: q_a_proj, q_a_layernorm, q_b_proj, kv_a_proj_with_mqa
    (kv_lora_rank + qk_rope_head_dim outputs), kv_a_layernorm, kv_b_proj, o_proj. The first
    ``first_k_dense_replace`` layers have a dense MLP; the rest MoE with n_shared_experts shared
    experts (one fused MLP of n_shared*moe_intermediate_size). Each MTP layer repeats a full MoE
    layer plus enorm, hnorm, eh_proj [hidden, 2*hidden], its own embed_tokens and shared_head
    (norm + head), as in the V3 checkpoint ("685B = 671B main + 14B MTP").
    V3.2 indexer (per layer): wq_b [heads*dim, q_lora], wk [dim, hidden], k_norm (weight + bias),
    weights_proj [heads, hidden].
    """
    dim = _pos_int(config, "hidden_size")
    n_layers = _layers(config)
    heads = _pos_int(config, "num_attention_heads")
    q_lora = _pos_int(config, "q_lora_rank")
    kv_lora = _pos_int(config, "kv_lora_rank")
    nope = _pos_int(config, "qk_nope_head_dim")
    rope = _pos_int(config, "qk_rope_head_dim")
    v_dim = _pos_int(config, "v_head_dim")
    experts = _pos_int(config, "n_routed_experts")
    shared = _pos_int(config, "n_shared_experts", 0)
    topk = _pos_int(config, "num_experts_per_tok")
    moe_inter = _pos_int(config, "moe_intermediate_size")
    inter = _pos_int(config, "intermediate_size")
    dense_layers = _pos_int(config, "first_k_dense_replace", 0)
    vocab = _pos_int(config, "vocab_size")
    n_mtp = _layers(config, "num_nextn_predict_layers", 0)
    idx_heads = _opt_int(config, "index_n_heads")
    idx_dim = _opt_int(config, "index_head_dim")
    tied = bool(config.get("tie_word_embeddings", False))

    specs: list[TensorSpec] = []

    def add(name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        specs.append(TensorSpec(name, group, role, shape, **kw))

    def layer(i: int, mtp: bool) -> None:
        p = f"model.layers.{i}"
        kw: dict[str, Any] = {"layer": i, "mtp": mtp}
        a = f"{p}.self_attn"
        add(f"{a}.q_a_proj.weight", "attention", "q_a", (q_lora, dim), gguf_class="attn_q_a", **kw)
        add(f"{a}.q_a_layernorm.weight", "norms", "q_norm", (q_lora,), kind="vector", **kw)
        add(
            f"{a}.q_b_proj.weight",
            "attention",
            "q_b",
            (heads * (nope + rope), q_lora),
            gguf_class="attn_q_b",
            **kw,
        )
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
                gguf_class="indexer_q",
                **kw,
            )
            add(f"{x}.wk.weight", "indexer", "wk", (idx_dim, dim), gguf_class="indexer_k", **kw)
            add(f"{x}.k_norm.weight", "indexer", "k_norm", (idx_dim,), kind="vector", **kw)
            add(f"{x}.k_norm.bias", "indexer", "k_norm_bias", (idx_dim,), kind="vector", **kw)
            add(
                f"{x}.weights_proj.weight",
                "indexer",
                "weights_proj",
                (idx_heads, dim),
                gguf_class="indexer_w",
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
            add(
                f"{m}.gate.e_score_correction_bias",
                "router",
                "bias",
                (experts,),
                kind="vector",
                native="F32",
                **kw,
            )
            ex = {"count": experts, "experts_per_token": topk, **kw}
            e = f"{m}.experts.{{e}}"
            _mlp(
                add,
                (f"{e}.gate_proj.weight", f"{e}.up_proj.weight", f"{e}.down_proj.weight"),
                ("routed_experts_gate_up", "routed_experts_down"),
                inter=moe_inter,
                dim=dim,
                suffix="_exps",
                **ex,
            )
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

    add(
        "model.embed_tokens.weight",
        "embed",
        "embed",
        (vocab, dim),
        kind="embedding",
        gguf_class="token_embd",
    )
    for i in range(n_layers):
        layer(i, mtp=False)
    add("model.norm.weight", "norms", "final_norm", (dim,), kind="vector")
    if not tied:
        add(
            "lm_head.weight", "lm_head", "head", (vocab, dim), kind="embedding", gguf_class="output"
        )
    for i in range(n_layers, n_layers + n_mtp):
        layer(i, mtp=True)
    return tuple(specs)


# --------------------------------------------------------------------------- Gemma 4


def gemma4_layer_types(config: Mapping[str, Any]) -> list[str]:
    """Per-layer attention type: ``layer_types`` if given, else ``sliding_window_pattern``
    (N means N-1 sliding layers then one full), else the period in ``full_attention_interval``."""
    n_layers = _layers(config)
    types = config.get("layer_types")
    if types:
        if not isinstance(types, list | tuple) or len(types) != n_layers:
            raise VramkitError(f"layer_types has {len(types)} entries for {n_layers} layers.")
        allowed = {"sliding_attention", "full_attention"}
        bad = sorted(set(types) - allowed)
        if bad:
            raise VramkitError(f"unknown layer_types {bad}; allowed: {sorted(allowed)}.")
        return list(types)
    period = config.get("sliding_window_pattern") or config.get("full_attention_interval")
    if not period:
        raise VramkitError("config needs layer_types or sliding_window_pattern for a hybrid model.")
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0:
        raise VramkitError(f"sliding_window_pattern must be a positive integer, got {period!r}.")
    return [
        "full_attention" if (i + 1) % period == 0 else "sliding_attention" for i in range(n_layers)
    ]


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

    add(
        "model.embed_tokens.weight",
        "embed",
        "embed",
        (vocab, dim),
        kind="embedding",
        gguf_class="token_embd",
    )
    for i, kind in enumerate(gemma4_layer_types(config)):
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
            ex = {"count": experts, "experts_per_token": topk, **kw}
            e = f"{m}.experts.{{e}}"
            _mlp(
                add,
                (f"{e}.gate_proj.weight", f"{e}.up_proj.weight", f"{e}.down_proj.weight"),
                ("routed_experts_gate_up", "routed_experts_down"),
                inter=moe_inter,
                dim=dim,
                suffix="_exps",
                **ex,
            )
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


# --------------------------------------------------------------------------- plain GQA decoders


def llama_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """Plain decoder (Llama, Qwen2/3, Mistral, Mixtral, Qwen-MoE …): GQA attention + SwiGLU MLP.

    q [heads*head_dim, hidden], k/v [kv_heads*head_dim, hidden], o [hidden, heads*head_dim], with
    biases when ``attention_bias`` (or Qwen2's qkv bias) and per-head q/k norms when
    ``qk_norm``-style models say so (Qwen3: ``model_type`` qwen3*). head_dim defaults to
    hidden/heads only when the config has no ``head_dim``. MoE when ``num_local_experts`` or
    ``num_experts`` is set (router + routed experts of moe_intermediate_size or intermediate_size;
    optional shared expert of shared_expert_intermediate_size).
    """
    dim = _pos_int(config, "hidden_size")
    n_layers = _layers(config)
    heads = _pos_int(config, "num_attention_heads")
    kv_heads = _pos_int(config, "num_key_value_heads", heads)
    head_dim = _opt_int(config, "head_dim") or (dim // heads if heads else 0)
    if not heads or not head_dim:
        raise VramkitError("num_attention_heads and head_dim (or hidden_size) must be positive.")
    inter = _pos_int(config, "intermediate_size", 0)
    vocab = _pos_int(config, "vocab_size")
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
    specs: list[TensorSpec] = []

    def add(name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        specs.append(TensorSpec(name, group, role, shape, **kw))

    add(
        "model.embed_tokens.weight",
        "embed",
        "embed",
        (vocab, dim),
        kind="embedding",
        gguf_class="token_embd",
    )
    for i in range(n_layers):
        kw: dict[str, Any] = {"layer": i}
        a = f"model.layers.{i}.self_attn"
        add(
            f"{a}.q_proj.weight",
            "attention",
            "q",
            (heads * head_dim, dim),
            gguf_class="attn_q",
            **kw,
        )
        add(
            f"{a}.k_proj.weight",
            "attention",
            "k",
            (kv_heads * head_dim, dim),
            gguf_class="attn_k",
            **kw,
        )
        add(
            f"{a}.v_proj.weight",
            "attention",
            "v",
            (kv_heads * head_dim, dim),
            gguf_class="attn_v",
            **kw,
        )
        add(
            f"{a}.o_proj.weight",
            "attention",
            "o",
            (dim, heads * head_dim),
            gguf_class="attn_output",
            **kw,
        )
        if qkv_bias:
            for nm, n in (("q", heads), ("k", kv_heads), ("v", kv_heads)):
                add(
                    f"{a}.{nm}_proj.bias",
                    "attention",
                    f"{nm}_bias",
                    (n * head_dim,),
                    kind="vector",
                    **kw,
                )
        if qk_norm:
            add(f"{a}.q_norm.weight", "norms", "q_norm", (head_dim,), kind="vector", **kw)
            add(f"{a}.k_norm.weight", "norms", "k_norm", (head_dim,), kind="vector", **kw)
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
            ex = {"count": experts, "experts_per_token": topk, **kw}
            e = f"{m}.experts.{{e}}"
            _mlp(
                add,
                (f"{e}.gate_proj.weight", f"{e}.up_proj.weight", f"{e}.down_proj.weight"),
                ("routed_experts_gate_up", "routed_experts_down"),
                inter=moe_inter,
                dim=dim,
                suffix="_exps",
                **ex,
            )
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
    return tuple(specs)


# --------------------------------------------------------------------------- shared pieces


def _spec_adder(specs: list[TensorSpec]) -> Callable[..., None]:
    def add(name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        specs.append(TensorSpec(name, group, role, shape, **kw))

    return add


def _embed_norm_head(add: Callable[..., None], vocab: int, dim: int, tied: bool) -> None:
    """Final RMSNorm and the output head (skipped when tied); the embedding is added first."""
    add("model.norm.weight", "norms", "final_norm", (dim,), kind="vector")
    if not tied:
        add(
            "lm_head.weight", "lm_head", "head", (vocab, dim), kind="embedding", gguf_class="output"
        )


def _embedding(add: Callable[..., None], vocab: int, dim: int, **kw: Any) -> None:
    add(
        "model.embed_tokens.weight",
        "embed",
        "embed",
        (vocab, dim),
        kind="embedding",
        gguf_class="token_embd",
        **kw,
    )


def _gqa(
    add: Callable[..., None],
    a: str,
    *,
    dim: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    q_mult: int = 1,
    qkv_bias: bool = False,
    o_bias: bool = False,
    qk_norm: bool = False,
    **kw: Any,
) -> None:
    """q [q_mult*heads*head_dim, dim], k/v [kv_heads*head_dim, dim], o [dim, heads*head_dim],
    optional q/k/v biases, o bias and per-head q/k RMSNorms (head_dim)."""
    q_out, kv_out = q_mult * heads * head_dim, kv_heads * head_dim
    add(f"{a}.q_proj.weight", "attention", "q", (q_out, dim), gguf_class="attn_q", **kw)
    add(f"{a}.k_proj.weight", "attention", "k", (kv_out, dim), gguf_class="attn_k", **kw)
    add(f"{a}.v_proj.weight", "attention", "v", (kv_out, dim), gguf_class="attn_v", **kw)
    add(
        f"{a}.o_proj.weight",
        "attention",
        "o",
        (dim, heads * head_dim),
        gguf_class="attn_output",
        **kw,
    )
    if qkv_bias:
        for nm, n in (("q", q_out), ("k", kv_out), ("v", kv_out)):
            add(f"{a}.{nm}_proj.bias", "attention", f"{nm}_bias", (n,), kind="vector", **kw)
    if o_bias:
        add(f"{a}.o_proj.bias", "attention", "o_bias", (dim,), kind="vector", **kw)
    if qk_norm:
        add(f"{a}.q_norm.weight", "norms", "q_norm", (head_dim,), kind="vector", **kw)
        add(f"{a}.k_norm.weight", "norms", "k_norm", (head_dim,), kind="vector", **kw)


def _layer_norms(add: Callable[..., None], p: str, dim: int, **kw: Any) -> None:
    add(f"{p}.input_layernorm.weight", "norms", "attn_norm", (dim,), kind="vector", **kw)
    add(f"{p}.post_attention_layernorm.weight", "norms", "ffn_norm", (dim,), kind="vector", **kw)


def _routed(
    add: Callable[..., None], m: str, *, experts: int, topk: int, inter: int, dim: int, **kw: Any
) -> None:
    e = f"{m}.experts.{{e}}"
    _mlp(
        add,
        (f"{e}.gate_proj.weight", f"{e}.up_proj.weight", f"{e}.down_proj.weight"),
        ("routed_experts_gate_up", "routed_experts_down"),
        inter=inter,
        dim=dim,
        suffix="_exps",
        count=experts,
        experts_per_token=topk,
        **kw,
    )


# --------------------------------------------------------------------------- Qwen3-Next


def qwen3_next_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """Qwen3-Next (hybrid Gated DeltaNet + gated attention, high-sparsity MoE with a shared expert).

    Shapes as HF transformers ``modeling_qwen3_next.py``. Linear-attention layers
    (``Qwen3NextGatedDeltaNet``): in_proj_qkvz [2·key_dim + 2·value_dim, hidden], in_proj_ba
    [2·n_v, hidden], conv1d [conv_dim, 1, kernel] with conv_dim = 2·key_dim + value_dim, dt_bias and
    A_log [n_v], gated RMSNorm [head_v_dim], out_proj [hidden, value_dim]; key_dim = n_k·d_k,
    value_dim = n_v·d_v. Full-attention layers (``Qwen3NextAttention``): q_proj
    [2·heads·head_dim, hidden] (query + output gate), k/v [kv_heads·head_dim, hidden], o_proj,
    q_norm/k_norm [head_dim]. MoE (``Qwen3NextSparseMoeBlock``): router [E, hidden], E routed
    experts of moe_intermediate_size, one shared expert of shared_expert_intermediate_size and
    shared_expert_gate [1, hidden]; ``mlp_only_layers`` / ``decoder_sparse_step`` layers get a dense
    MLP of intermediate_size. MTP (``num_nextn_predict_layers`` / ``mtp_num_hidden_layers``, not in
    transformers; vLLM ``qwen3_next_mtp.py``): fc [hidden, 2·hidden], two pre-fc norms, one
    full-attention MoE layer and a final norm per MTP layer.
    """
    from .kv_recurrent import layer_kinds

    dim = _pos_int(config, "hidden_size")
    heads = _nonzero("num_attention_heads", _pos_int(config, "num_attention_heads"))
    kv_heads = _pos_int(config, "num_key_value_heads", heads)
    head_dim = _opt_int(config, "head_dim") or dim // heads
    nk = _pos_int(config, "linear_num_key_heads")
    nv = _pos_int(config, "linear_num_value_heads")
    dk = _pos_int(config, "linear_key_head_dim")
    dv = _pos_int(config, "linear_value_head_dim")
    kernel = _pos_int(config, "linear_conv_kernel_dim")
    vocab = _pos_int(config, "vocab_size")
    experts = _opt_int(config, "num_experts")
    topk = _opt_int(config, "num_experts_per_tok")
    moe_inter = _opt_int(config, "moe_intermediate_size")
    shared_inter = _opt_int(config, "shared_expert_intermediate_size")
    inter = _opt_int(config, "intermediate_size")
    step = _opt_int(config, "decoder_sparse_step") or 1
    mlp_only = set(config.get("mlp_only_layers") or ())
    n_mtp = _opt_int(config, "num_nextn_predict_layers", "mtp_num_hidden_layers")
    tied = bool(config.get("tie_word_embeddings", False))
    if experts and (not topk or not moe_inter):
        raise VramkitError("an MoE Qwen3-Next config needs num_experts_per_tok and "
                           "moe_intermediate_size.")  # fmt: skip
    kinds = layer_kinds(config)
    bad = sorted({k for k in kinds if k not in ("attention", "recurrent")})
    if bad:
        raise VramkitError(f"Qwen3-Next layers are linear or full attention; config gives {bad}.")
    key_dim, value_dim = nk * dk, nv * dv
    conv_dim = 2 * key_dim + value_dim
    specs: list[TensorSpec] = []
    add = _spec_adder(specs)

    def attention(p: str, kw: dict[str, Any]) -> None:
        _gqa(
            add,
            f"{p}.self_attn",
            dim=dim,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            q_mult=2,  # query and output gate from one projection
            qkv_bias=bool(config.get("attention_bias", False)),
            o_bias=bool(config.get("attention_bias", False)),
            qk_norm=True,
            **kw,
        )

    def mlp(p: str, i: int, kw: dict[str, Any]) -> None:
        m = f"{p}.mlp"
        if experts and i not in mlp_only and (i + 1) % step == 0:
            add(f"{m}.gate.weight", "router", "gate", (experts, dim), gguf_class="ffn_gate_inp",
                **kw)  # fmt: skip
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
                add(f"{m}.shared_expert_gate.weight", "router", "shared_gate", (1, dim),
                    gguf_class="ffn_gate_inp_shexp", **kw)  # fmt: skip
        else:
            _mlp(
                add,
                (f"{m}.gate_proj.weight", f"{m}.up_proj.weight", f"{m}.down_proj.weight"),
                ("dense_mlp", "dense_mlp"),
                inter=_nonzero("intermediate_size", inter),
                dim=dim,
                **kw,
            )

    _embedding(add, vocab, dim)
    for i, kind in enumerate(kinds):
        p = f"model.layers.{i}"
        kw: dict[str, Any] = {"layer": i}
        if kind == "recurrent":
            a = f"{p}.linear_attn"
            add(f"{a}.in_proj_qkvz.weight", "attention", "in_proj_qkvz",
                (2 * key_dim + 2 * value_dim, dim), gguf_class="attn_qkv", **kw)  # fmt: skip
            add(f"{a}.in_proj_ba.weight", "attention", "in_proj_ba", (2 * nv, dim),
                gguf_class="ssm_ba", **kw)  # fmt: skip
            add(f"{a}.conv1d.weight", "attention", "conv1d", (conv_dim, 1, kernel),
                kind="vector", **kw)  # fmt: skip
            add(f"{a}.dt_bias", "attention", "dt_bias", (nv,), kind="vector", **kw)
            add(f"{a}.A_log", "attention", "A_log", (nv,), kind="vector", **kw)
            add(f"{a}.norm.weight", "norms", "ssm_norm", (dv,), kind="vector", **kw)
            add(f"{a}.out_proj.weight", "attention", "out_proj", (dim, value_dim),
                gguf_class="ssm_out", **kw)  # fmt: skip
        else:
            attention(p, kw)
        mlp(p, i, kw)
        _layer_norms(add, p, dim, **kw)
    _embed_norm_head(add, vocab, dim, tied)
    n_layers = len(kinds)
    for j in range(n_mtp):
        i = n_layers + j
        kw = {"layer": i, "mtp": True}
        add(f"mtp.fc.{j}.weight", "attention", "eh_proj", (dim, 2 * dim),
            gguf_class="nextn_eh_proj", **kw)  # fmt: skip
        for nm in ("pre_fc_norm_embedding", "pre_fc_norm_hidden", "norm"):
            add(f"mtp.{nm}.{j}.weight", "norms", nm, (dim,), kind="vector", **kw)
        p = f"mtp.layers.{j}"
        attention(p, kw)
        mlp(p, i, kw)
        _layer_norms(add, p, dim, **kw)
    return tuple(specs)


# --------------------------------------------------------------------------- gpt-oss


def gpt_oss_inventory(config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """gpt-oss (OpenAI): GQA with biases and per-head attention sinks, alternating sliding / full
    layers (weights identical), MoE with a biased router and fused gate_up experts with biases.

    Shapes as HF transformers ``modeling_gpt_oss.py``: q_proj [heads·head_dim, hidden] + bias,
    k/v [kv_heads·head_dim, hidden] + bias, o_proj [hidden, heads·head_dim] + bias, sinks [heads];
    router weight [E, hidden] + bias [E]; experts gate_up_proj [E, hidden, 2·inter] + bias
    [E, 2·inter], down_proj [E, inter, hidden] + bias [E, hidden] (counted here as per-expert
    gate, up, down matrices of inter × hidden and their biases); two RMSNorms per layer, final
    norm, untied embedding and head.
    """
    dim = _pos_int(config, "hidden_size")
    heads = _nonzero("num_attention_heads", _pos_int(config, "num_attention_heads"))
    kv_heads = _pos_int(config, "num_key_value_heads", heads)
    head_dim = _opt_int(config, "head_dim") or dim // heads
    experts = _nonzero("num_local_experts", _opt_int(config, "num_local_experts", "num_experts"))
    topk = _nonzero(
        "num_experts_per_tok", _opt_int(config, "num_experts_per_tok", "experts_per_token")
    )
    inter = _pos_int(config, "intermediate_size")
    vocab = _pos_int(config, "vocab_size")
    tied = bool(config.get("tie_word_embeddings", False))
    n_layers = _layers(config)
    specs: list[TensorSpec] = []
    add = _spec_adder(specs)
    _embedding(add, vocab, dim)
    for i in range(n_layers):
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
    return tuple(specs)


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
    dim = _pos_int(config, "hidden_size")
    heads = _nonzero("num_attention_heads", _pos_int(config, "num_attention_heads"))
    kv_heads = _pos_int(config, "num_key_value_heads", heads)
    head_dim = _opt_int(config, "head_dim") or dim // heads
    n_layers = _layers(config)
    inter = _pos_int(config, "intermediate_size")
    moe_inter = _pos_int(config, "moe_intermediate_size")
    experts = _pos_int(config, "n_routed_experts")
    shared = _pos_int(config, "n_shared_experts", 0)
    topk = _pos_int(config, "num_experts_per_tok")
    first_dense = _pos_int(config, "first_k_dense_replace", 0)
    vocab = _pos_int(config, "vocab_size")
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
                gguf_class="nextn_eh_proj", **kw)  # fmt: skip
            for nm in ("enorm", "hnorm", "shared_head.norm"):
                add(f"{p}.{nm}.weight", "norms", nm, (dim,), kind="vector", **kw)

    _embedding(add, vocab, dim)
    for i in range(n_layers):
        layer(i, mtp=False)
    _embed_norm_head(add, vocab, dim, tied)
    for i in range(n_layers, n_layers + n_mtp):
        layer(i, mtp=True)
    return tuple(specs)


FAMILIES: dict[str, Callable[[Mapping[str, Any]], tuple[TensorSpec, ...]]] = {
    "deepseek_v4": deepseek_v4_inventory,
    "deepseek_v3": deepseek_v3_inventory,
    "gemma4": gemma4_inventory,
    "llama": llama_inventory,
    "qwen3_next": qwen3_next_inventory,
    "gpt_oss": gpt_oss_inventory,
    "glm4_moe": glm4_moe_inventory,
}


def inventory(family: str, config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """The tensor inventory of an architecture `family` with `config` (config.json fields)."""
    try:
        build = FAMILIES[family]
    except KeyError:
        raise unknown_name("architecture family", family, FAMILIES) from None
    return build(config)
