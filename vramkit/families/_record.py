"""The `Family` record (everything vramkit knows about one architecture family) and `KvPart` (one
cache component counted in values; `vramkit.kv` turns values into bytes per runtime and dtype)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..model.inventory import Inventory
from ..model.tensors import TensorSpec
from ._schema import ConfigField

if TYPE_CHECKING:  # pragma: no cover
    from ..runtimes import KvProfile

Config = Mapping[str, Any]

KV_RULES = ("full", "window", "compressed", "state")
KV_STORES = ("cache", "indexer", "fp32", "bytes")


@dataclass(frozen=True)
class KvPart:
    """One cache kind over `layers` layers, counted in values (no dtype yet).

    rule: ``full`` (T entries), ``window`` (min(T, tokens) entries), ``compressed`` (floor(T /
    tokens) entries), ``state`` (a fixed buffer of `tokens` entries per sequence).
    One entry (one layer) = `vectors` vectors of `dims` values, `rope_dims` of them RoPE dims.
    store: ``cache`` (the cache dtype), ``indexer`` (the indexer-key dtype), ``fp32`` (4 bytes a
    value, e.g. V4's compressor state) or ``bytes`` (`dims` is already bytes: a recurrent state
    whose conv and state parts have their own dtypes).
    kv_heads: heads tensor parallelism splits the entry over; 0 = one shared latent (replicated).
    paging: the vLLM page class ("" = generic pages; "v4_*" = DeepSeek V4; "recurrent").
    """

    kind: str
    layers: int
    rule: str
    tokens: int
    dims: int
    vectors: int = 1
    rope_dims: int = 0
    store: str = "cache"
    kv_heads: int = 0
    paging: str = ""


def _no_notes(config: Config, kv: KvProfile, has_indexer: bool) -> tuple[str, ...]:
    return ()


def _no_layout(config: Config, quantization: Mapping[str, Any]) -> str | None:
    return None


def _no_indexer(config: Config) -> bool:
    return False


def _gguf_as_is(config: dict[str, Any]) -> None:
    return None


#: one GGUF tensor the converter writes: (the part as a TensorSpec, GGUF dims ``ne``)
GgufPart = tuple[TensorSpec, tuple[int, ...]]


def _no_split(config: Config, t: TensorSpec) -> tuple[GgufPart, ...] | None:
    return None


@dataclass(frozen=True, eq=False)
class Family:
    """One architecture family: how to read its config, every tensor, its KV cache, its names.
    One record per family name, compared by identity (``eq=False``), so it is a cache key.

    name: the family id used in data/models.yaml (``family:``).
    model_types: config.json ``model_type`` values this family reads.
    gguf_archs: GGUF ``general.architecture`` → the ``model_type`` it stands for.
    inventory(config): every weight tensor (`TensorSpec`s, shapes from the reference code).
    layer_kinds(config): one token-mixer kind per main layer (e.g. ``full_attention``,
        ``sliding_attention``, ``csa``, ``hca``, ``mla``, ``linear_attention``).
    kv_parts(config, include_mtp): the cache components in values (`KvPart`).
    kv_format_keys(config): names under which a runtime lists dtype choices for this cache,
        most specific first (``fp8_means`` / packed entry sizes in data/runtimes.yaml).
    has_indexer(config): True when the model caches lightning-indexer keys.
    kv_notes(config, kv, has_indexer): caveats every KV estimate of it carries under the runtime
    KV profile `kv` (the family asks the profile's traits, never the runtime's id).
    stored_layout(config, quantization_config): the recipe its checkpoint is stored in when the
        family has its own rule (None: the generic rules of `vramkit.model.configfile` decide).
    recipe_candidates: recipes worth trying besides the official layout, bf16 and llama.cpp's.
    from_gguf(config): renames, in place, the config fields `vramkit.ingest.gguf_file` read from
        a GGUF header where this family's converter stores them under other meanings.
    gguf_split(config, tensor): the GGUF tensors llama.cpp's converter writes for a checkpoint
        tensor it splits (each part with its GGUF ``ne``), None for a one-to-one tensor;
        llama-quantize types the parts apart.
    gguf_extra(config): tensors the converter generates that the checkpoint does not hold
        (Gemma 4's ``rope_freqs``), each with its GGUF ``ne``.
    gguf_keeps_mtp: True when the converter keeps the MTP/NextN block in the main GGUF by default
        (llama-quantize then counts its tensors and blocks).
    config_fields: every config field the family reads (`ConfigField`s, read through
        `vramkit.families.read_config`), for the field lists and the docs.
    tensor_kinds(config): the inventory as layer kinds (`vramkit.model.inventory.Inventory`),
        for a builder that stamps its blocks; `inventory` is then its flat expansion.
    """

    name: str
    summary: str
    model_types: tuple[str, ...]
    inventory: Callable[[Config], tuple[TensorSpec, ...]]
    layer_kinds: Callable[[Config], tuple[str, ...]]
    kv_parts: Callable[[Config, bool], tuple[KvPart, ...]]
    gguf_archs: Mapping[str, str] = field(default_factory=dict)
    kv_format_keys: Callable[[Config], tuple[str, ...]] | None = None
    has_indexer: Callable[[Config], bool] = _no_indexer
    kv_notes: Callable[[Config, KvProfile, bool], tuple[str, ...]] = _no_notes
    stored_layout: Callable[[Config, Mapping[str, Any]], str | None] = _no_layout
    recipe_candidates: tuple[str, ...] = ()
    from_gguf: Callable[[dict[str, Any]], None] = _gguf_as_is
    gguf_split: Callable[[Config, TensorSpec], tuple[GgufPart, ...] | None] = _no_split
    gguf_extra: Callable[[Config], tuple[GgufPart, ...]] = lambda config: ()
    gguf_keeps_mtp: bool = False
    config_fields: tuple[ConfigField, ...] = ()
    tensor_kinds: Callable[[Config], Inventory] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "gguf_archs", MappingProxyType(dict(self.gguf_archs)))

    def kinds(self, config: Config) -> Inventory:
        """The inventory as layer kinds: `tensor_kinds(config)` where the builder stamps its
        blocks (`vramkit.model.inventory.LayerStamper`), else `inventory(config)` as runs."""
        if self.tensor_kinds is not None:
            return self.tensor_kinds(config)
        return Inventory.of(self.inventory(config))

    def format_keys(self, config: Config) -> tuple[str, ...]:
        """`kv_format_keys(config)`, defaulting to the family name."""
        return self.kv_format_keys(config) if self.kv_format_keys else (self.name,)
