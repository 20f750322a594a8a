"""KV-cache storage formats, loaded from `data/kv_cache_formats.yaml` (runtime layouts: runtimes.yaml).

Bytes of one cached vector for a cache dtype (GGML block sizes from the `gguf` package), bytes of
one indexer key; which of them a runtime offers is its `KvProfile` (`vramkit.runtimes`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..datafiles import load_document
from ..errors import VramkitError, unknown_name
from ..runtimes import KvProfile
from ..sources import parse_source

CACHE_LAYOUTS = ("float", "ggml", "nope_rope", "fixed_entry", "runtime", "ik_ggml")


@dataclass(frozen=True)
class CacheDtype:
    """How one cached KV vector is stored (see the layouts in the data file's header)."""

    name: str
    layout: str
    description: str
    source: str
    bytes_per_element: int = 0
    ggml_type: str | None = None
    nope_bytes: int = 0
    rope_bytes: int = 0
    entry_bytes: Mapping[str, int] = field(default_factory=dict)
    entry_dims: Mapping[str, int] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    estimate: bool = False

    def vector_bytes(self, dims: int, *, rope_dims: int = 0, family: str = "") -> int:
        """Bytes of one `dims`-value vector (of which `rope_dims` are RoPE dims) of `family`.

        Notes
        -----
        float: dims * bytes_per_element; ggml: ceil(dims/B) * block_bytes (gguf.GGML_QUANT_SIZES);
        nope_rope: (dims - rope_dims) * nope_bytes + rope_dims * rope_bytes; fixed_entry: the
        runtime's published entry size for the family.
        """
        if self.layout == "float":
            return dims * self.bytes_per_element
        if self.layout == "ggml":
            block, block_bytes = ggml_block(self.ggml_type or "")
            if dims % block:
                raise VramkitError(
                    f"cache type {self.name} packs blocks of {block} values; a {dims}-value "
                    "vector does not divide into them."
                )
            return dims // block * block_bytes
        if self.layout == "ik_ggml":  # ik_llama.cpp's own types: row meta + blocks, one row
            from ..ik_llama_types import row_bytes

            return row_bytes(self.ggml_type or "", dims)
        if self.layout == "nope_rope":
            if not rope_dims:
                raise VramkitError(
                    f"cache dtype {self.name} splits a latent into NoPE and RoPE dims; it applies "
                    "to MLA / DeepSeek V4 caches only. Use bf16, fp16 or fp8_e4m3."
                )
            return (dims - rope_dims) * self.nope_bytes + rope_dims * self.rope_bytes
        if self.layout == "fixed_entry":
            if family not in self.entry_bytes:
                raise VramkitError(
                    f"cache dtype {self.name} is a packed layout for "
                    f"{', '.join(sorted(self.entry_bytes))} only, not for a {family or '?'} cache."
                )
            if dims != self.entry_dims[family]:
                raise VramkitError(
                    f"cache dtype {self.name} packs {self.entry_dims[family]}-value {family} "
                    f"entries; this model's entry has {dims} values."
                )
            return int(self.entry_bytes[family])
        raise VramkitError(f"cache dtype {self.name!r} must be resolved for a runtime first.")


@dataclass(frozen=True)
class IndexerDtype:
    """How one lightning-indexer key is stored: values plus one scale per `scale_block` values."""

    name: str
    element_bits: int
    scale_block: int
    scale_bytes: int
    description: str
    source: str

    def key_bytes(self, dims: int) -> int:
        """Bytes of one `dims`-value key: dims * bits/8 + ceil(dims/scale_block) * scale_bytes."""
        scales = math.ceil(dims / self.scale_block) * self.scale_bytes if self.scale_block else 0
        return math.ceil(dims * self.element_bits / 8) + scales


def ggml_block(ggml_type: str) -> tuple[int, int]:
    """(values per block, bytes per block) of a GGML type, from gguf.GGML_QUANT_SIZES."""
    from ..format_facts import gguf_constants

    c = gguf_constants()  # gguf's constants.py, without importing gguf (and numpy)
    try:
        return tuple(c.GGML_QUANT_SIZES[c.GGMLQuantizationType[ggml_type]])  # type: ignore[return-value]
    except KeyError:
        raise unknown_name("GGML type", ggml_type, c.GGMLQuantizationType.__members__) from None


def _src(where: str, raw: Mapping[str, Any]) -> str:
    return str(parse_source(f"kv_cache_formats.yaml {where}", raw))


@functools.cache
def _load() -> tuple[dict[str, CacheDtype], dict[str, IndexerDtype]]:
    doc = load_document("kv_cache_formats.yaml", ("cache_dtypes", "indexer_dtypes"))
    dtypes: dict[str, CacheDtype] = {}
    for rec in doc["cache_dtypes"]:
        if rec["layout"] not in CACHE_LAYOUTS:
            raise unknown_name("cache layout", rec["layout"], CACHE_LAYOUTS)
        d = CacheDtype(
            name=rec["name"],
            layout=rec["layout"],
            description=str(rec["description"]).strip(),
            source=_src(rec["name"], rec["source"]),
            bytes_per_element=int(rec.get("bytes_per_element", 0)),
            ggml_type=rec.get("ggml_type"),
            nope_bytes=int(rec.get("nope_bytes", 0)),
            rope_bytes=int(rec.get("rope_bytes", 0)),
            entry_bytes=MappingProxyType(dict(rec.get("entry_bytes") or {})),
            entry_dims=MappingProxyType(dict(rec.get("entry_dims") or {})),
            aliases=tuple(rec.get("aliases") or ()),
            estimate=bool(rec.get("estimate", False)),
        )
        dtypes[d.name] = d
    idx = {
        r["name"]: IndexerDtype(
            name=r["name"],
            element_bits=int(r["element_bits"]),
            scale_block=int(r["scale_block"]),
            scale_bytes=int(r["scale_bytes"]),
            description=str(r["description"]),
            source=_src(r["name"], r["source"]),
        )
        for r in doc["indexer_dtypes"]
    }
    return dtypes, idx


def cache_dtype_names() -> list[str]:
    """Every cache dtype name (aliases not included)."""
    return list(_load()[0])


def canonical_dtype(name: str) -> str:
    """The canonical cache dtype name for `name` or one of its aliases."""
    dtypes = _load()[0]
    key = str(name).strip().lower()
    for d in dtypes.values():
        if key == d.name or key in d.aliases:
            return d.name
    raise unknown_name(
        "cache dtype", name, [*dtypes, *(a for d in dtypes.values() for a in d.aliases)]
    )


def resolve_cache_dtype(name: str, runtime: KvProfile, family_key: str) -> CacheDtype:
    """The dtype `runtime` really stores for `name` on a cache of `family_key` (fp8 resolved)."""
    canon = canonical_dtype(name)
    if canon not in runtime.cache_dtypes:
        raise VramkitError(
            f"runtime {runtime.id} does not offer cache dtype {name!r}; it offers "
            f"{', '.join(runtime.cache_dtypes)}."
        )
    if canon == "fp8":
        canon = runtime.fp8_means.get(family_key, runtime.fp8_means.get("default", "fp8_e4m3"))
    return _load()[0][canon]


def resolve_indexer_dtype(
    name: str | None, runtime: KvProfile, cache: CacheDtype
) -> CacheDtype | IndexerDtype:
    """The indexer key storage: `name`, else the runtime default (llama.cpp: the K cache type)."""
    if runtime.indexer_default.startswith("cache:"):
        # a separate ggml cache type for the indexer keys (ik_llama.cpp -ictk, default f16)
        return resolve_cache_dtype(
            runtime.indexer_default.removeprefix("cache:") if name is None else name,
            runtime,
            "default",
        )
    if runtime.indexer_default == "same_as_cache":
        same = name is None or str(name).strip().lower() in (cache.name, *cache.aliases)
        if not same:
            raise VramkitError(
                f"runtime {runtime.id} stores the indexer keys in the K cache type "
                f"({cache.name}); it has no separate indexer cache type (ik_llama.cpp's -ictk "
                "is not modelled). Leave indexer_dtype unset."
            )
        return cache
    idx = _load()[1]
    key = runtime.indexer_default if name is None else str(name).strip().lower()
    if key not in runtime.indexer_dtypes:
        raise VramkitError(
            f"runtime {runtime.id} does not offer indexer dtype {name!r}; it offers "
            f"{', '.join(runtime.indexer_dtypes)}."
        )
    return idx[key]
