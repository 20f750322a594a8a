"""Config readers and tensor-building pieces shared by the family builders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import VramkitError
from ..tensors import TensorSpec
from ..validate import MAX_DIM, MAX_HEADS, MAX_LAYERS

# --------------------------------------------------------------------------- config helpers

MAX_CHANNELS = 64
"""Most image channels a vision tower reads (RGB: 3)."""


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


def _dim(
    config: Mapping[str, Any],
    key: str,
    default: int | None = None,
    *,
    bound: int = MAX_DIM,
    where: str = "",
) -> int:
    """A width, rank, head or group count the family divides by or builds a tensor from:
    a whole number in 1..`bound` (0 would make an empty tensor or a division by zero).
    `where`: the sub-config it sits in (``vision_config``), named in the error."""
    name = f"{where}.{key}" if where else key
    value = _get(config, key, default=default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= bound:
        raise VramkitError(
            f"config field {name!r} must be a whole number in 1..{bound:,}, got {value!r:.80}."
        )
    return value


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


def sliding_full_layer_types(config: Mapping[str, Any]) -> list[str]:
    """Per-layer attention type of a sliding + full hybrid (Gemma, gpt-oss): ``layer_types`` if
    given, else ``sliding_window_pattern`` (N means N-1 sliding layers then one full), else the
    period in ``full_attention_interval``."""
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


def gqa_shape(cfg: Mapping[str, Any]) -> tuple[int, int]:
    """(kv_heads, head_dim) of a GQA config: head_dim from the config when given (never
    hidden/heads then), kv heads default to the attention heads (MHA)."""
    heads = _dim(cfg, "num_attention_heads", bound=MAX_HEADS)
    kv = _dim(cfg, "num_key_value_heads", heads, bound=MAX_HEADS)
    return kv, _dim(cfg, "head_dim", _dim(cfg, "hidden_size") // heads)


def mtp_layers(cfg: Mapping[str, Any], include_mtp: bool) -> int:
    """MTP layers that keep a cache: num_nextn_predict_layers when `include_mtp`, else 0."""
    return int(cfg.get("num_nextn_predict_layers") or 0) if include_mtp else 0


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
