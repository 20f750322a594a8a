"""Per-sequence state of linear-attention / SSM layers in hybrid models (constant in context).

A hybrid decoder mixes ordinary attention layers (KV grows with the context; counted by
`vramkit.kv`) with recurrent token mixers whose state per sequence has a fixed size:

- Gated DeltaNet (Qwen3-Next, Qwen3.5; ``linear_*`` fields), per layer:
  conv state  = (conv_kernel − 1) × (2·n_k_heads·head_k_dim + n_v_heads·head_v_dim) × conv_bytes
  delta state = n_v_heads × head_k_dim × head_v_dim × state_bytes
- Mamba2 (Nemotron-H, Granite 4 hybrids, Falcon-H1), per layer, with d_inner = n_heads·head_dim:
  conv state  = (conv_kernel − 1) × (d_inner + 2·n_groups·d_state) × conv_bytes
  ssm state   = n_heads × head_dim × d_state × state_bytes

Shapes as vLLM's ``MambaStateShapeCalculator`` (vllm/model_executor/layers/mamba/mamba_utils.py:
``conv_dim = head_k_dim * num_k_heads * 2 + head_v_dim * num_v_heads``, ``conv_state_shape =
(conv_dim, conv_kernel_size - 1)``, ``temporal_state_shape = (num_v_heads, head_v_dim,
head_k_dim)``; Mamba2: ``conv_dim = intermediate_size + 2 * n_groups * state_size``,
``temporal_state_shape = (num_heads, head_dim, state_size)``). Dtypes: conv state in the model
dtype (2 bytes for BF16); the recurrent state in ``mamba_ssm_dtype`` when the config names it,
else the model dtype (vLLM's ``mamba_ssm_cache_dtype="auto"``). Speculative decoding adds
``num_spec`` conv columns; not counted here. Anything else that looks recurrent is refused with
a "cannot count this" error naming the fields seen — never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import VramkitError
from ..validate import MAX_DIM
from ._schema import ConfigField, ConfigValues, read_config

_DTYPE_BYTES = {"float32": 4, "fp32": 4, "bfloat16": 2, "float16": 2, "bf16": 2, "fp16": 2}
_RECURRENT_HINTS = ("linear_", "mamba", "ssm", "conv_kernel", "hybrid_override_pattern", "rwkv")
_ATTENTION_TYPES = {"full_attention", "attention", "sliding_attention"}
_RECURRENT_TYPES = {"linear_attention", "mamba", "mamba2"}


@dataclass(frozen=True)
class RecurrentState:
    """Per-sequence recurrent state: `per_layer_bytes` (conv + state) on each of `layers`.

    `total_bytes` = len(layers) × per_layer_bytes; bytes are per sequence, independent of context.
    """

    kind: str
    layers: tuple[int, ...]
    conv_bytes: int
    state_bytes: int

    @property
    def per_layer_bytes(self) -> int:
        """conv_bytes + state_bytes of one layer."""
        return self.conv_bytes + self.state_bytes

    @property
    def total_bytes(self) -> int:
        """Per-sequence bytes over all recurrent layers."""
        return len(self.layers) * self.per_layer_bytes


def _dim(
    name: str, meaning: str, *aliases: str, bound: int | None = None, unit: str = ""
) -> ConfigField:
    return ConfigField(name, "dim", meaning, keys=(name, *aliases), unit=unit, default=None,
                       bound=bound)  # fmt: skip


FIELDS = (
    _dim("num_hidden_layers", "main decoder layers", unit="layers"),
    ConfigField("layer_types", "any", "per-layer mixer (linear_attention / mamba / *attention)",
                default=None),
    ConfigField("hybrid_override_pattern", "any", "Nemotron-H: M mamba, * attention, - / E MLP",
                default=None),
    _dim("full_attention_interval", "every N-th layer is full attention (Qwen3-Next)",
         unit="layers"),
    ConfigField("mamba_ssm_dtype", "str", "dtype of the recurrent state (default: bfloat16)",
                default=""),
    _dim("linear_num_key_heads", "Gated DeltaNet key heads", unit="heads"),
    _dim("linear_num_value_heads", "Gated DeltaNet value heads", unit="heads"),
    _dim("linear_key_head_dim", "Gated DeltaNet key head width", unit="values"),
    _dim("linear_value_head_dim", "Gated DeltaNet value head width", unit="values"),
    _dim("linear_conv_kernel_dim", "Gated DeltaNet short-conv kernel", unit="taps"),
    _dim("mamba_num_heads", "Mamba2 heads", "mamba_n_heads", unit="heads"),
    _dim("mamba_head_dim", "Mamba2 head width", "mamba_d_head", unit="values"),
    _dim("ssm_state_size", "Mamba2 state size", "mamba_d_state", unit="values"),
    _dim("n_groups", "Mamba2 B/C groups", "mamba_n_groups", unit="groups"),
    _dim("conv_kernel", "Mamba2 conv kernel", "mamba_d_conv", unit="taps"),
)  # fmt: skip
"""The config fields the recurrent-state reader reads (each refused with a "cannot count" error
when a recurrent kind needs it and the config lacks it)."""


def _int(v: ConfigValues, name: str) -> int:
    """Field `name` of `FIELDS`: a whole number in its bounds; missing → "cannot count"."""
    value = v[name]
    if value is None:
        raise _cannot(v.config, f"missing {' / '.join(v.field(name).keys)}")
    return int(value)


def _cannot(config: Mapping[str, Any], why: str) -> VramkitError:
    seen = sorted(k for k in config if any(h in k for h in (*_RECURRENT_HINTS, "layer_types")))
    return VramkitError(
        f"cannot count this model's recurrent / linear-attention state ({why}); "
        f"fields seen: {', '.join(seen) or '(none)'}. vramkit counts Gated DeltaNet "
        "(linear_num_key_heads, linear_num_value_heads, linear_key_head_dim, "
        "linear_value_head_dim, linear_conv_kernel_dim) and Mamba2 (mamba_num_heads, "
        "mamba_head_dim, ssm_state_size, n_groups, conv_kernel) hybrids."
    )


QWEN3NEXT_SSM_KEYS = (
    ("ssm_conv_kernel", "ssm.conv_kernel", "linear_conv_kernel_dim"),
    ("ssm_state_size", "ssm.state_size", "linear_key_head_dim"),
    ("ssm_group_count", "ssm.group_count", "linear_num_key_heads"),
    ("ssm_time_step_rank", "ssm.time_step_rank", "linear_num_value_heads"),
    ("ssm_inner_size", "ssm.inner_size", "linear_value_head_dim × linear_num_value_heads"),
)
"""(config field, GGUF key under ``qwen3next.``, the transformers field(s) it holds) of the five
``ssm.*`` keys llama.cpp's Qwen3NextModel converter writes and its loader requires (``get_key``
without ``required = false``)."""


def qwen3next_linear_fields(config: Mapping[str, Any]) -> dict[str, int]:
    """The Gated DeltaNet fields (transformers' ``linear_*`` names) of a qwen3next GGUF's
    ``ssm.*`` keys: each must be present and a whole number in 1..MAX_DIM, and ssm.inner_size a
    multiple of ssm.time_step_rank (linear_value_head_dim = inner_size / time_step_rank)."""
    got: dict[str, int] = {}
    for field, key, meaning in QWEN3NEXT_SSM_KEYS:
        value = config.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIM:
            said = "is missing" if value is None else f"is {value!r:.80}"
            raise VramkitError(
                f"GGUF metadata qwen3next.{key} ({meaning}) {said}; it must be a whole number in "
                f"1..{MAX_DIM:,}: llama.cpp's loader requires all five of "
                f"{', '.join(k for _, k, _ in QWEN3NEXT_SSM_KEYS)}."
            )
        got[field] = value
    nv, inner = got["ssm_time_step_rank"], got["ssm_inner_size"]
    if inner % nv:  # the value heads split the inner size evenly
        raise VramkitError(
            f"GGUF metadata qwen3next.ssm.inner_size {inner:,} is not a multiple of "
            f"ssm.time_step_rank {nv:,} (linear_value_head_dim × linear_num_value_heads)."
        )
    return {
        "linear_conv_kernel_dim": got["ssm_conv_kernel"],
        "linear_key_head_dim": got["ssm_state_size"],
        "linear_num_key_heads": got["ssm_group_count"],
        "linear_num_value_heads": nv,
        "linear_value_head_dim": inner // nv,
    }


def _normalise(config: Mapping[str, Any]) -> dict[str, Any]:
    """GGUF-derived configs still under ``ssm_*`` names → HF names (`qwen3next_linear_fields`;
    `vramkit.ingest.gguf_file.config_from_metadata` renames them already, through the family's
    ``from_gguf``)."""
    cfg = dict(config)
    if cfg.get("gguf_architecture") == "qwen3next" and "ssm_state_size" in cfg:
        cfg.update(qwen3next_linear_fields(cfg))
    return cfg


def is_recurrent(config: Mapping[str, Any]) -> bool:
    """True when the config describes linear-attention / SSM layers (hybrid or pure)."""
    types = set(config.get("layer_types") or ())
    return bool(types & _RECURRENT_TYPES) or any(
        any(k.startswith(h) for h in _RECURRENT_HINTS) for k in config
    )


def _kind(v: ConfigValues) -> str:
    if v.given("linear_num_value_heads"):
        return "gated_deltanet"
    if v.given("mamba_num_heads"):
        return "mamba2"
    raise _cannot(v.config, "unknown recurrent layer kind")


def layer_kinds(config: Mapping[str, Any]) -> list[str]:
    """``"attention"`` or ``"recurrent"`` per main layer, from ``layer_types``,
    ``hybrid_override_pattern`` (Nemotron-H: ``M`` mamba, ``*`` attention, ``-`` MLP-only) or
    ``full_attention_interval`` (every N-th layer full attention, Qwen3-Next)."""
    cfg = _normalise(config)
    v = read_config(FIELDS, cfg)
    n = _int(v, "num_hidden_layers")
    types = v.layer_types
    if types:
        if len(types) != n:
            raise VramkitError(f"layer_types has {len(types)} entries for {n} layers.")
        bad = sorted(set(types) - _ATTENTION_TYPES - _RECURRENT_TYPES)
        if bad:
            raise _cannot(cfg, f"unknown layer_types {bad}")
        return ["recurrent" if t in _RECURRENT_TYPES else "attention" for t in types]
    pattern = v.hybrid_override_pattern
    if pattern:
        kinds = {"M": "recurrent", "*": "attention", "-": "mlp", "E": "mlp"}
        if len(pattern) != n or set(pattern) - set(kinds):
            raise _cannot(cfg, f"hybrid_override_pattern {pattern!r} for {n} layers")
        return [kinds[c] for c in pattern]
    if v.given("full_attention_interval") and is_recurrent(cfg):
        period = _int(v, "full_attention_interval")
        return ["attention" if (i + 1) % period == 0 else "recurrent" for i in range(n)]
    if is_recurrent(cfg):
        raise _cannot(cfg, "no layer_types, hybrid_override_pattern or full_attention_interval")
    return ["attention"] * n


def attention_layers(config: Mapping[str, Any]) -> list[int]:
    """Indices of the layers that keep an ordinary, context-long KV cache."""
    return [i for i, k in enumerate(layer_kinds(config)) if k == "attention"]


def recurrent_layers(config: Mapping[str, Any]) -> list[int]:
    """Indices of the linear-attention / SSM layers (constant state per sequence)."""
    return [i for i, k in enumerate(layer_kinds(config)) if k == "recurrent"]


def recurrent_state(
    config: Mapping[str, Any],
    *,
    conv_dtype_bytes: int = 2,
    state_dtype_bytes: int | None = None,
) -> RecurrentState:
    """The per-sequence recurrent state (see module docstring for the formulas).

    `state_dtype_bytes`: None → 4 when the config says ``mamba_ssm_dtype: float32``, else 2.
    A config without recurrent layers gives a zero state.
    """
    cfg = _normalise(config)
    layers = tuple(recurrent_layers(cfg))
    if not layers:
        return RecurrentState("none", (), 0, 0)
    v = read_config(FIELDS, cfg)
    if state_dtype_bytes is None:
        name = (v.mamba_ssm_dtype or "bfloat16").lower()
        if name not in _DTYPE_BYTES:
            raise VramkitError(f"unknown mamba_ssm_dtype {name!r}; known: {sorted(_DTYPE_BYTES)}.")
        state_dtype_bytes = _DTYPE_BYTES[name]
    kind = _kind(v)
    if kind == "gated_deltanet":
        nk = _int(v, "linear_num_key_heads")
        nv = _int(v, "linear_num_value_heads")
        dk = _int(v, "linear_key_head_dim")
        dv = _int(v, "linear_value_head_dim")
        kernel = _int(v, "linear_conv_kernel_dim")
        conv = (kernel - 1) * (2 * nk * dk + nv * dv) * conv_dtype_bytes
        state = nv * dk * dv * state_dtype_bytes
    else:
        heads = _int(v, "mamba_num_heads")
        head_dim = _int(v, "mamba_head_dim")
        d_state = _int(v, "ssm_state_size")
        groups = _int(v, "n_groups")
        kernel = _int(v, "conv_kernel")
        conv = (kernel - 1) * (heads * head_dim + 2 * groups * d_state) * conv_dtype_bytes
        state = heads * head_dim * d_state * state_dtype_bytes
    return RecurrentState(kind, layers, conv, state)


def recurrent_state_bytes(config: Mapping[str, Any], **dtypes: int | None) -> int:
    """Per-sequence bytes of all recurrent layers (`recurrent_state(...).total_bytes`)."""
    return recurrent_state(config, **dtypes).total_bytes
