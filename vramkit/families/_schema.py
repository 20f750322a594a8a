"""The config fields a family reads, declared once: `ConfigField` (one field: the config keys it
may come from, its type, unit, default or required, bounds and meaning) and `read_config`, the one
reader that turns a config into a typed, read-only `ConfigValues` mapping for the family's
inventory and KV code.

Each field is checked the first time the family code reads it (then kept), so a config is
refused for exactly the field the asked-for estimate needs, with the same wording everywhere:
missing key, wrong type, a dimension of 0 or below, a layer count past `MAX_LAYERS`, a NaN or
infinite number, two aliases that disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import VramkitError, shown
from ..validate import (
    MAX_DIM,
    MAX_EXPERTS,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LIST_ITEMS,
    MAX_POSITIONS,
    MAX_VOCAB,
    require_bool,
    require_strict_int,
)

KINDS = ("dim", "count", "layers", "bool", "float", "str", "any", "ints", "names")
"""dim: a width, rank, head or group count the family divides by or builds a tensor from, a whole
number in 1..bound; count: a whole number in 0..bound (0 = absent feature); layers: a layer count
in 0..`MAX_LAYERS`; bool: true/false (0/1 accepted); float: a finite number in [lo, hi];
str: text; any: passed on as the config holds it (lists, objects the family checks itself);
ints: a list of whole numbers in lo..bound; names: a list of texts."""


class _Required:
    """The `default` of a field the config must hold."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""`ConfigField.default` when the config must hold the field (no default)."""

Default = Callable[["ConfigValues"], Any]
"""A default computed from other fields of the same config (e.g. hidden_size // heads)."""

GGUF_KEYS: Mapping[str, str] = {
    "block_count": "num_hidden_layers",
    "embedding_length": "hidden_size",
    "feed_forward_length": "intermediate_size",
    "context_length": "max_position_embeddings",
    "vocab_size": "vocab_size",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.key_length": "head_dim",
    "attention.value_length": "v_head_dim",
    "attention.key_length_swa": "key_length_swa",
    "attention.key_length_mla": "key_length_mla",
    "attention.value_length_mla": "value_length_mla",
    "attention.sliding_window": "sliding_window",
    "attention.kv_lora_rank": "kv_lora_rank",
    "attention.q_lora_rank": "q_lora_rank",
    "rope.dimension_count": "qk_rope_head_dim",
    "expert_count": "num_experts",
    "expert_used_count": "num_experts_per_tok",
    "expert_feed_forward_length": "moe_intermediate_size",
    "expert_shared_count": "n_shared_experts",
    "expert_shared_feed_forward_length": "shared_expert_intermediate_size",
    "leading_dense_block_count": "first_k_dense_replace",
    "nextn_predict_layers": "num_nextn_predict_layers",
    "full_attention_interval": "full_attention_interval",
    "interleave_moe_layer_step": "interleave_moe_layer_step",
    "attention.output_lora_rank": "o_lora_rank",
    "attention.output_group_count": "o_groups",
    "attention.compress_ratios": "compress_ratios",
    "attention.indexer.head_count": "index_n_heads",
    "attention.indexer.key_length": "index_head_dim",
    "attention.indexer.top_k": "index_topk",
    "hyper_connection.count": "hc_mult",
    "hash_layer_count": "num_hash_layers",
    "ssm.conv_kernel": "ssm_conv_kernel",
    "ssm.inner_size": "ssm_inner_size",
    "ssm.state_size": "ssm_state_size",
    "ssm.group_count": "ssm_group_count",
    "ssm.time_step_rank": "ssm_time_step_rank",
}
"""GGUF metadata ``{arch}.<key>`` → the config.json field `vramkit.ingest.gguf_file` maps it to
(llama.cpp's gguf-py constants, ``Keys.LLM``). The ``*_mla`` / ``*_swa`` lengths keep their GGUF
names: the family's ``from_gguf`` turns them into head dims."""

_GGUF_OF: dict[str, str] = {field: key for key, field in GGUF_KEYS.items()}


@dataclass(frozen=True)
class ConfigField:
    """One config field a family reads.

    name: the attribute the family code reads it by (`ConfigValues.<name>`).
    keys: the config keys it may come from, first present (not null) wins; aliases that are both
        set must agree. Defaults to ``(name,)``.
    kind: one of `KINDS`. unit: what one unit counts (``values``, ``layers``, ``tokens`` …).
    default: the value when no key is set (a constant, None = optional, or a `Default` computed
        from other fields); `REQUIRED` when the config must hold it. A computed default is
        checked like a read value.
    bound: the largest whole number a ``dim``, ``layers`` or ``count`` takes; by default the
        bound its key declares at the boundary (`CONFIG_BOUNDS`), else `MAX_DIM` (``dim``),
        `MAX_LAYERS` (``layers``) or none (``count``); lo / hi: a ``float``'s range.
    meaning: one line for the field lists (`vramkit models --fields`).
    default_text: how a computed default is described in those lists.
    """

    name: str
    kind: str
    meaning: str
    keys: tuple[str, ...] = ()
    unit: str = ""
    default: Any = REQUIRED
    bound: int | None = None
    lo: float = -math.inf
    hi: float = math.inf
    default_text: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ConfigField {self.name!r}: kind {self.kind!r} not in {KINDS}")
        if not self.keys:
            object.__setattr__(self, "keys", (self.name,))
        if self.bound is None and self.kind in ("dim", "layers", "count"):
            declared = next((_BOUND_OF[k] for k in self.keys if k in _BOUND_OF), None)
            if declared is None and self.kind != "count":
                declared = MAX_DIM if self.kind == "dim" else MAX_LAYERS
            object.__setattr__(self, "bound", declared)

    @property
    def required(self) -> bool:
        """True when the config must hold one of `keys`."""
        return self.default is REQUIRED

    @property
    def gguf(self) -> tuple[str, ...]:
        """The GGUF metadata names (``{arch}.<name>``) the ingest maps to this field's keys."""
        return tuple(_GGUF_OF[k] for k in self.keys if k in _GGUF_OF)

    def describe_default(self) -> str:
        """The default as the field lists print it."""
        if self.required:
            return "required"
        if callable(self.default):
            return self.default_text or "computed"
        if self.default is None:
            return "absent"
        import json  # the field table only

        return json.dumps(self.default)


def field_rows(fields: tuple[ConfigField, ...]) -> list[dict[str, str]]:
    """One row a field, for the field lists: name, keys, kind, unit, default, bound, GGUF, meaning."""
    rows = []
    for f in fields:
        if f.kind == "float":
            bound = f"[{f.lo:g}, {f.hi:g}]"
        elif f.kind == "dim":
            bound = f"1..{f.bound:,}"
        elif f.kind in ("count", "layers"):
            bound = f"0..{f.bound:,}" if f.bound is not None else ">= 0"
        else:
            bound = ""
        rows.append(
            {
                "field": f.name,
                "keys": " | ".join(f.keys),
                "kind": f.kind,
                "unit": f.unit,
                "default": f.describe_default(),
                "bounds": bound,
                "gguf": " | ".join(f"{{arch}}.{g}" for g in f.gguf),
                "meaning": f.meaning,
            }
        )
    return rows


def fields_by_name(*groups: tuple[ConfigField, ...]) -> tuple[ConfigField, ...]:
    """The fields of `groups` in order, a later same-named field replacing an earlier one in its
    place (a family narrowing a shared field's kind, bound or default)."""
    out: dict[str, ConfigField] = {}
    for group in groups:
        for f in group:
            out[f.name] = f
    return tuple(out.values())


def nested(where: str, fields: tuple[ConfigField, ...]) -> tuple[ConfigField, ...]:
    """`fields` of the sub-config `where` named ``where.<name>``, for the field lists (the family
    reads them with ``read_config(fields, config[where], where=where)``)."""
    return tuple(
        replace(f, name=f"{where}.{f.name}", keys=tuple(f"{where}.{k}" for k in f.keys))
        for f in fields
    )


class ConfigValues(Mapping[str, Any]):
    """A config read through its declared fields: ``values.hidden_size`` or
    ``values["hidden_size"]`` checks the field the first time and keeps it. Read-only."""

    __slots__ = ("_config", "_fields", "_read", "_where")

    def __init__(
        self, fields: tuple[ConfigField, ...], config: Mapping[str, Any], where: str = ""
    ) -> None:
        if not isinstance(config, Mapping):
            raise VramkitError(f"a config must be an object of fields, got {config!r:.80}.")
        object.__setattr__(self, "_fields", {f.name: f for f in fields})
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_where", where)
        object.__setattr__(self, "_read", {})

    @property
    def config(self) -> Mapping[str, Any]:
        """The config the values are read from."""
        return self._config

    def field(self, name: str) -> ConfigField:
        """The declared field `name`."""
        return self._fields[name]

    def given(self, name: str) -> bool:
        """True when the config sets field `name` under one of its keys (not null)."""
        keys = self._fields[name].keys
        return any(self._config.get(k) is not None for k in keys)

    def __getitem__(self, name: str) -> Any:
        read = self._read
        if name not in read:
            try:
                field = self._fields[name]
            except KeyError:
                raise KeyError(f"no config field {name!r} declared") from None
            read[name] = _read_field(field, self)
        return read[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(str(e)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ConfigValues is read-only")

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"ConfigValues({', '.join(self._fields)})"


def read_config(
    fields: tuple[ConfigField, ...], config: Mapping[str, Any], *, where: str = ""
) -> ConfigValues:
    """`config` read through `fields` (each checked on first use). `where`: the sub-config the
    fields sit in (``vision_config``), named in every error."""
    return ConfigValues(fields, config, where)


# --------------------------------------------------------------------------- checks


def _present(config: Mapping[str, Any], field: ConfigField, where: str) -> tuple[str, Any]:
    """(key, value) of the first key set (not null); two set keys must agree."""
    found = [(k, config[k]) for k in field.keys if k in config and config[k] is not None]
    if not found:
        return "", None
    key, value = found[0]
    for other, v in found[1:]:
        if v != value:
            raise VramkitError(
                f"config fields {_name(key, where)!r} ({value!r:.40}) and "
                f"{_name(other, where)!r} ({v!r:.40}) both set {field.name} and disagree; "
                "keep one of them."
            )
    return key, value


def _name(key: str, where: str) -> str:
    return f"{where}.{key}" if where else key


def _read_field(field: ConfigField, values: ConfigValues) -> Any:
    config, where = values.config, values._where
    key, value = _present(config, field, where)
    if not key:
        key = field.keys[0]
        if field.required:
            missing = " (or " + ", ".join(repr(k) for k in field.keys[1:]) + ")"
            raise VramkitError(
                f"config is missing {_name(key, where)!r}"
                f"{missing if len(field.keys) > 1 else ''}, which this architecture needs; "
                f"fields present: {', '.join(sorted(config)) or '(none)'}."
            )
        if not callable(field.default):
            return (
                None
                if field.default is None
                else check_value(field, _name(key, where), field.default)
            )
        value = field.default(values)
        if value is None:
            return None
        try:
            return check_value(field, _name(key, where), value)
        except VramkitError as e:
            raise VramkitError(
                f"{str(e).rstrip('.')}; {_name(key, where)!r} is not set and its default, "
                f"{field.describe_default()}, gives {value!r:.40}."
            ) from None
    return check_value(field, _name(key, where), value)


def check_value(field: ConfigField, name: str, value: Any) -> Any:
    """`value` of `field` (read under `name`) checked against its kind and bounds."""
    kind = field.kind
    if kind in ("dim", "count", "layers"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        bound = field.bound
        if kind == "dim":
            assert bound is not None
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= bound:
                raise VramkitError(
                    f"config field {name!r} must be a whole number in 1..{bound:,}, "
                    f"got {value!r:.80}."
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise VramkitError(
                f"config field {name!r} must be a non-negative integer, got {value!r:.80}."
            )
        if bound is not None and value > bound:
            what = "layers is not a real model" if kind == "layers" else "is not a real model"
            raise VramkitError(f"config field {name!r} is {value:,}; more than {bound:,} {what}.")
        return value
    if kind == "bool":
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise VramkitError(f"config field {name!r} must be true or false, got {value!r:.80}.")
    if kind == "float":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not field.lo <= value <= field.hi
        ):
            raise VramkitError(
                f"config field {name!r} must be a finite number in [{field.lo:g}, {field.hi:g}], "
                f"got {value!r:.80}."
            )
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise VramkitError(f"config field {name!r} must be text, got {value!r:.80}.")
        return value
    return value


# --------------------------------------------------------------------------- the boundary
def _b(key: str, kind: str, bound: int | None, meaning: str, unit: str = "", lo: int = 0):
    return ConfigField(key, kind, meaning, unit=unit, default=None, bound=bound, lo=lo)


CONFIG_BOUNDS: tuple[ConfigField, ...] = (
    _b("hidden_size", "dim", MAX_DIM, "model width", "values"),
    _b("num_hidden_layers", "dim", MAX_LAYERS, "decoder layers", "layers"),
    _b("num_attention_heads", "dim", MAX_HEADS, "query heads per layer", "heads"),
    _b("num_key_value_heads", "dim", MAX_HEADS, "KV heads per layer", "heads"),
    _b("vocab_size", "dim", MAX_VOCAB, "vocabulary size", "tokens"),
    _b("head_dim", "dim", MAX_DIM, "width of one attention head", "values"),
    _b("max_position_embeddings", "dim", MAX_POSITIONS, "trained context", "tokens"),
    _b("kv_lora_rank", "dim", MAX_DIM, "MLA compressed KV width", "values"),
    _b("qk_rope_head_dim", "dim", MAX_DIM, "MLA rotary part of a query/key head", "values"),
    _b("qk_nope_head_dim", "dim", MAX_DIM, "MLA non-rotary part of a query/key head", "values"),
    _b("v_head_dim", "dim", MAX_DIM, "width of one value head", "values"),
    _b("moe_intermediate_size", "dim", MAX_DIM, "width of one routed expert", "values"),
    _b("intermediate_size", "dim", MAX_DIM, "dense MLP width", "values"),
    _b("shared_expert_intermediate_size", "dim", MAX_DIM, "shared expert width", "values"),
    _b("num_experts_per_tok", "dim", MAX_EXPERTS, "experts routed per token", "experts"),
    _b("experts_per_token", "dim", MAX_EXPERTS, "experts routed per token", "experts"),
    _b("top_k_experts", "dim", MAX_EXPERTS, "experts routed per token", "experts"),
    _b("n_routed_experts", "dim", MAX_EXPERTS, "routed experts per layer", "experts"),
    _b("num_experts", "dim", MAX_EXPERTS, "routed experts per layer", "experts"),
    _b("num_local_experts", "dim", MAX_EXPERTS, "routed experts per layer", "experts"),
    _b("index_head_dim", "dim", MAX_DIM, "indexer head width", "values"),
    _b("index_n_heads", "dim", MAX_HEADS, "indexer heads", "heads"),
    _b("sliding_window", "dim", MAX_POSITIONS, "sliding-window length", "tokens"),
    _b("global_head_dim", "dim", MAX_DIM, "head width of global layers", "values"),
    _b("num_global_key_value_heads", "dim", MAX_HEADS, "KV heads of global layers", "heads"),
    _b("linear_num_key_heads", "dim", MAX_HEADS, "linear-attention key heads", "heads"),
    _b("linear_num_value_heads", "dim", MAX_HEADS, "linear-attention value heads", "heads"),
    _b("linear_key_head_dim", "dim", MAX_DIM, "linear-attention key head width", "values"),
    _b("linear_value_head_dim", "dim", MAX_DIM, "linear-attention value head width", "values"),
    _b("linear_conv_kernel_dim", "dim", MAX_DIM, "linear-attention conv kernel", "values"),
    _b("o_groups", "dim", MAX_HEADS, "grouped output projection groups", "groups"),
    _b("o_lora_rank", "dim", MAX_DIM, "output projection low rank", "values"),
    _b("hc_mult", "dim", 64, "residual streams (hyper-connections)", "streams"),
    _b("decoder_sparse_step", "dim", MAX_LAYERS, "one MoE layer every N", "layers"),
    _b("full_attention_interval", "dim", MAX_LAYERS, "one full-attention layer every N", "layers"),
    _b("sliding_window_pattern", "dim", MAX_LAYERS, "one global layer every N", "layers"),
    _b("ssm_conv_kernel", "dim", MAX_DIM, "SSM conv kernel", "values"),
    _b("ssm_inner_size", "dim", MAX_DIM, "SSM inner width", "values"),
    _b("ssm_state_size", "dim", MAX_DIM, "SSM state width", "values"),
    _b("ssm_group_count", "dim", MAX_HEADS, "SSM groups", "groups"),
    _b("ssm_time_step_rank", "dim", MAX_DIM, "SSM time-step rank", "values"),
    _b("num_nextn_predict_layers", "count", MAX_LAYERS, "MTP layers", "layers"),
    _b("n_shared_experts", "count", MAX_EXPERTS, "shared experts per layer", "experts"),
    _b("first_k_dense_replace", "count", MAX_LAYERS, "leading dense layers", "layers"),
    _b("q_lora_rank", "count", MAX_DIM, "MLA query low rank (0: none)", "values"),
    _b("num_hash_layers", "count", MAX_LAYERS, "hash-routed layers", "layers"),
    _b("tie_word_embeddings", "bool", None, "output head shares the embedding"),
    _b("attention_bias", "bool", None, "attention projections carry biases"),
    _b("attention_k_eq_v", "bool", None, "keys reused as values"),
    _b("use_qk_norm", "bool", None, "query/key norms"),
    _b("mlp_bias", "bool", None, "MLP projections carry biases"),
    _b("use_sliding_window", "bool", None, "sliding-window attention switched on"),
    _b("compress_ratios", "ints", MAX_POSITIONS, "KV compression ratio per layer"),
    _b("mlp_only_layers", "ints", MAX_LAYERS, "layers without routed experts", "layers"),
    _b("layer_types", "names", None, "attention kind per layer"),
    _b("model_type", "str", None, "architecture name"),
    _b("torch_dtype", "str", None, "checkpoint dtype"),
    _b("dtype", "str", None, "checkpoint dtype"),
)
"""Every config field checked at the boundary (`check_config`), before any family reads the
config: what any config may hold under that key when it is present (not null). A key's bound is
declared here once; a family's field reading that key takes it (`ConfigField.bound`)."""

_BOUND_OF: dict[str, int] = {f.name: f.bound for f in CONFIG_BOUNDS if f.bound is not None}


def check_config(cfg: Mapping[str, Any], *, where: str = "config") -> None:
    """Check `cfg` against `CONFIG_BOUNDS` and the cross-field rules (`_check_heads`); every
    failure one `VramkitError` naming the field, the value and what is allowed."""
    if not isinstance(cfg, Mapping):
        raise VramkitError(
            f"{where} must be a mapping of config.json fields, got {shown(cfg, 80)}."
        )
    bad_keys = [k for k in cfg if not isinstance(k, str)]
    if bad_keys:
        raise VramkitError(f"{where}: field names must be text, got {shown(bad_keys[0], 80)}.")
    prefix = "config field " if where == "config" else f"{where}: config field "
    for f in CONFIG_BOUNDS:
        value = cfg.get(f.name)
        if value is not None:
            _check_bound(f, f"{prefix}{f.name}", value)
    _check_heads(prefix, cfg)


def _check_bound(f: ConfigField, name: str, value: Any) -> None:
    kind = f.kind
    if kind in ("dim", "count"):
        require_strict_int(name, value, minimum=1 if kind == "dim" else 0, maximum=f.bound)
    elif kind == "bool":
        require_bool(name, value)
    elif kind == "ints":
        if not isinstance(value, list | tuple) or len(value) > MAX_LIST_ITEMS:
            raise VramkitError(f"{name} must be a list of whole numbers, got {shown(value, 80)}.")
        for i, v in enumerate(value):
            require_strict_int(f"{name}[{i}]", v, minimum=int(f.lo), maximum=f.bound)
    elif kind == "names":
        if (
            not isinstance(value, list | tuple)
            or len(value) > MAX_LIST_ITEMS
            or not all(isinstance(t, str) for t in value)
        ):
            raise VramkitError(f"{name} must be a list of names, got {shown(value, 80)}.")
    elif kind == "str" and not isinstance(value, str):
        raise VramkitError(f"{name} must be text, got {shown(value, 80)}.")


def _check_heads(prefix: str, cfg: Mapping[str, Any]) -> None:
    """KV heads divide query heads (GQA), value heads are a multiple of key heads (Gated
    DeltaNet), top-k ≤ experts, dense-first layers ≤ layers."""
    pairs = (
        ("num_attention_heads", "num_key_value_heads"),
        ("num_attention_heads", "num_global_key_value_heads"),
        ("linear_num_value_heads", "linear_num_key_heads"),
    )
    for big, small in pairs:
        b, s = cfg.get(big), cfg.get(small)
        if isinstance(b, int) and isinstance(s, int) and b % s:
            raise VramkitError(
                f"{prefix}{small} {s:,} must divide {big} {b:,} (each KV head serves a whole "
                f"group of query heads); allowed: a divisor of {b:,}."
            )
    experts = next(
        (cfg[k] for k in ("n_routed_experts", "num_experts", "num_local_experts") if cfg.get(k)),
        None,
    )
    for key in ("num_experts_per_tok", "experts_per_token", "top_k_experts"):
        k = cfg.get(key)
        if isinstance(experts, int) and isinstance(k, int) and k > experts:
            raise VramkitError(
                f"{prefix}{key} {k:,} exceeds the {experts:,} routed experts; allowed 1..{experts:,}."
            )
    layers, dense = cfg.get("num_hidden_layers"), cfg.get("first_k_dense_replace")
    if isinstance(layers, int) and isinstance(dense, int) and dense > layers:
        raise VramkitError(
            f"{prefix}first_k_dense_replace {dense:,} exceeds num_hidden_layers {layers:,}; "
            f"allowed 0..{layers:,}."
        )


def whole_numbers(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """`cfg` (checked by `check_config`) with each whole number of a ``dim`` / ``count`` field of
    `CONFIG_BOUNDS` given as a float (4096.0, which the boundary accepts) stored as an int, so a
    model's config holds the integers its rules state."""
    out = dict(cfg)
    for f in CONFIG_BOUNDS:
        v = out.get(f.name)
        if f.kind in ("dim", "count") and isinstance(v, float) and v.is_integer():
            out[f.name] = int(v)
    return out
