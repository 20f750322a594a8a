"""KV-cache accounting: bytes by cache kind, per runtime layout, up to 1M tokens.

Modules: `estimate` (the shared accounting: `kv_cache`, `kv_grid`, `components`), `components`
(a family's `KvPart`s in bytes, tensor-parallel split, page arithmetic), `formats` (cache and
indexer-key dtypes), `layout` (the shared base of the runtimes' layouts, which live with their
engine in `vramkit.runtimes`), and `claims` (questions answered with it). Recurrent-state
shapes of hybrid models are architecture facts: `vramkit.families.recurrent`.
"""

from __future__ import annotations

from .components import KvComponent
from .estimate import (
    CONTEXT_CAP_FACTOR,
    KINDS,
    MAX_BATCH,
    RUNTIME_OPTIONS,
    KvEstimate,
    cache_dtypes,
    check_context,
    components,
    kv_cache,
    kv_grid,
    parse_tokens,
)

__all__ = [
    "CONTEXT_CAP_FACTOR", "KINDS", "MAX_BATCH", "RUNTIME_OPTIONS", "KvComponent", "KvEstimate",
    "cache_dtypes", "check_context", "components", "kv_cache", "kv_grid", "parse_tokens",
]  # fmt: skip
