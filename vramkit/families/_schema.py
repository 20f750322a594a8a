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

from ..errors import VramkitError
from ..validate import MAX_DIM, MAX_LAYERS

KINDS = ("dim", "count", "layers", "bool", "float", "str", "any")
"""dim: a width, rank, head or group count the family divides by or builds a tensor from, a whole
number in 1..bound; count: a whole number in 0..bound (0 = absent feature); layers: a layer count
in 0..`MAX_LAYERS`; bool: true/false (0/1 accepted); float: a finite number in [lo, hi];
str: text; any: passed on as the config holds it (lists, objects the family checks itself)."""


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
    bound: the largest whole number a ``dim`` (default `MAX_DIM`), ``layers`` (`MAX_LAYERS`) or
        ``count`` (default: no bound) takes; lo / hi: a ``float``'s range.
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
        if self.bound is None and self.kind in ("dim", "layers"):
            object.__setattr__(self, "bound", MAX_DIM if self.kind == "dim" else MAX_LAYERS)

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
