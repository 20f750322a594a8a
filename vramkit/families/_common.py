"""Config fields and tensor-building pieces shared by the family builders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import VramkitError
from ..model.tensors import TensorSpec
from ._schema import ConfigField, ConfigValues

MAX_CHANNELS = 64
"""Most image channels a vision tower reads (RGB: 3)."""


# --------------------------------------------------------------------------- shared fields

HIDDEN = ConfigField("hidden_size", "dim", "model width (residual stream)", unit="values")
LAYERS = ConfigField(
    "num_hidden_layers", "layers", "main decoder layers (MTP blocks not counted)", unit="layers"
)
HEADS = ConfigField("num_attention_heads", "dim", "query heads per layer", unit="heads")
KV_HEADS = ConfigField(
    "num_key_value_heads",
    "dim",
    "key/value heads per layer (GQA; = query heads for MHA)",
    unit="heads",
    default=lambda v: v.num_attention_heads,
    default_text="num_attention_heads",
)
HEAD_DIM = ConfigField(
    "head_dim",
    "dim",
    "width of one attention head",
    unit="values",
    default=lambda v: v.hidden_size // v.num_attention_heads,
    default_text="hidden_size // num_attention_heads",
)
VOCAB = ConfigField("vocab_size", "dim", "vocabulary size", unit="tokens")
INTER = ConfigField(
    "intermediate_size", "dim", "width of the dense MLP (SwiGLU gate/up rows)", unit="values"
)
TIED = ConfigField(
    "tie_word_embeddings", "bool", "the output head reuses the embedding", default=False
)
MODEL_TYPE = ConfigField(
    "model_type", "str", "config.json model_type (variant switches)", default=""
)
MTP = ConfigField(
    "num_nextn_predict_layers",
    "layers",
    "multi-token-prediction (NextN) layers after the main stack",
    unit="layers",
    default=0,
)
SLIDING_WINDOW = ConfigField(
    "sliding_window", "count", "tokens a sliding-window layer keeps", unit="tokens", default=None
)
LAYER_TYPES = ConfigField(
    "layer_types", "any", "per-layer attention kind (a list, one entry a layer)", default=None
)
SWA_PATTERN = ConfigField(
    "sliding_window_pattern",
    "any",
    "N: N-1 sliding layers then one full (period of the hybrid)",
    keys=("sliding_window_pattern", "full_attention_interval"),
    default=None,
)
ROUTED = ConfigField("n_routed_experts", "dim", "routed experts per MoE layer", unit="experts")
TOPK = ConfigField("num_experts_per_tok", "dim", "experts routed per token", unit="experts")
SHARED = ConfigField(
    "n_shared_experts", "count", "shared experts per MoE layer", unit="experts", default=0
)
MOE_INTER = ConfigField("moe_intermediate_size", "dim", "width of one routed expert", unit="values")
FIRST_DENSE = ConfigField(
    "first_k_dense_replace", "count", "leading dense (non-MoE) layers", unit="layers", default=0
)
GQA_FIELDS = (HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, VOCAB, INTER, TIED, MODEL_TYPE)
"""The fields of a plain GQA decoder; families add theirs (`fields_by_name`)."""


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


# --------------------------------------------------------------------------- layer kinds, KV


def sliding_full_layer_types(v: ConfigValues) -> list[str]:
    """Per-layer attention type of a sliding + full hybrid (Gemma, gpt-oss): ``layer_types`` if
    given, else ``sliding_window_pattern`` (N means N-1 sliding layers then one full), else the
    period in ``full_attention_interval`` (fields `LAYERS`, `LAYER_TYPES`, `SWA_PATTERN`)."""
    n_layers = v.num_hidden_layers
    types = v.layer_types
    if types:
        if not isinstance(types, list | tuple) or len(types) != n_layers:
            raise VramkitError(f"layer_types has {len(types)} entries for {n_layers} layers.")
        allowed = {"sliding_attention", "full_attention"}
        bad = sorted(set(types) - allowed)
        if bad:
            raise VramkitError(f"unknown layer_types {bad}; allowed: {sorted(allowed)}.")
        return list(types)
    period = v.sliding_window_pattern
    if not period:
        raise VramkitError("config needs layer_types or sliding_window_pattern for a hybrid model.")
    if isinstance(period, bool) or not isinstance(period, int) or period <= 0:
        raise VramkitError(f"sliding_window_pattern must be a positive integer, got {period!r}.")
    return [
        "full_attention" if (i + 1) % period == 0 else "sliding_attention" for i in range(n_layers)
    ]


def gqa_shape(v: ConfigValues) -> tuple[int, int]:
    """(kv_heads, head_dim) of a GQA config (fields `HEADS`, `KV_HEADS`, `HEAD_DIM`, `HIDDEN`):
    head_dim from the config when given (never hidden/heads then), kv heads default to the
    attention heads (MHA)."""
    _heads = v.num_attention_heads
    kv = v.num_key_value_heads
    _hidden = v.hidden_size  # read and checked whether or not head_dim is given
    return kv, v.head_dim


def mtp_layers(v: ConfigValues, include_mtp: bool) -> int:
    """MTP layers that keep a cache (field `MTP`) when `include_mtp`, else 0."""
    return v.num_nextn_predict_layers if include_mtp else 0


def refuse_kv(cfg: Mapping[str, Any], family: str, why: str) -> VramkitError:
    """A "cannot count this KV cache" error naming the attention fields seen."""
    seen = sorted(
        k
        for k in cfg
        if any(h in k for h in ("attention", "head", "window", "lora", "layer_types", "linear_"))
    )
    return VramkitError(
        f"cannot count the KV cache of this {family} config ({why}); attention fields seen: "
        f"{', '.join(seen) or '(none)'}."
    )


TORCH_DTYPE_FORMATS = {"bfloat16": "BF16", "float16": "FP16", "float32": "FP32"}
"""config.json ``torch_dtype`` → vramkit storage format."""


def torch_dtype_format(config: Mapping[str, Any]) -> str:
    """The storage format of a config's ``torch_dtype`` (or ``dtype``; default bfloat16)."""
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
    if dtype not in TORCH_DTYPE_FORMATS:
        raise VramkitError(
            f"unknown torch_dtype {dtype!r}; expected one of {sorted(TORCH_DTYPE_FORMATS)}."
        )
    return TORCH_DTYPE_FORMATS[dtype]
