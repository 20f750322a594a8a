"""A model's KV cache as `KvComponent`s (layers × entries × bytes per entry), built from its
family's `KvPart`s (values) and the stored dtypes, split per tensor-parallel rank; and the integer
page arithmetic every layout uses, on one context (a Python int: no numpy, what `kv_cache`
asks) or many (numpy arrays of Python ints, ``dtype=object``: exact at any size, no int64
wrap-around; see `exact`). numpy is imported only for arrays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import VramkitError
from ..families import KV_STORES, KvPart
from .formats import CacheDtype, IndexerDtype

if TYPE_CHECKING:
    import numpy as np

FP32_BYTES = 4
SATURATED = 2**40
"""A context long enough that every window and state term has reached its constant size."""


@dataclass(frozen=True)
class KvComponent:
    """One cache kind over `layers` layers.

    rule: ``full`` (T entries), ``window`` (min(T, tokens) entries), ``compressed`` (floor(T /
    tokens) entries), ``state`` (a fixed buffer of `tokens` entries, allocated once per sequence).
    entry_bytes: one entry in one layer, all KV heads, K and V included.
    kv_heads: heads the entry is split over by tensor parallelism; 0 = one shared latent (replicated).
    paging: the vLLM page class ("" = generic pages of block_size tokens; "v4_*" = DeepSeek V4).
    """

    kind: str
    layers: int
    rule: str
    tokens: int
    entry_bytes: int
    kv_heads: int = 0
    paging: str = ""


def component_of(
    part: KvPart, cache: CacheDtype, idx: CacheDtype | IndexerDtype | None, entry_key: str
) -> KvComponent:
    """The bytes of a family's `KvPart` under a cache dtype (and indexer-key dtype).

    entry bytes = vectors × bytes of one `dims`-value vector in the part's store: the cache dtype
    (`CacheDtype.vector_bytes`, packed layouts looked up under `entry_key`), the indexer-key dtype
    (`IndexerDtype.key_bytes`, or the cache dtype when the runtime stores keys as the cache), FP32
    (4 bytes a value), or `dims` bytes as given (``bytes``)."""
    if part.store == "cache":
        one = cache.vector_bytes(part.dims, rope_dims=part.rope_dims, family=entry_key)
    elif part.store == "indexer":
        if idx is None:
            raise VramkitError(f"the {part.kind} cache needs an indexer dtype; none was resolved.")
        if isinstance(idx, IndexerDtype):
            one = idx.key_bytes(part.dims)
        else:
            one = idx.vector_bytes(part.dims)
    elif part.store == "fp32":
        one = part.dims * FP32_BYTES
    elif part.store == "bytes":
        one = part.dims
    else:
        raise VramkitError(f"unknown KV store {part.store!r}; known: {', '.join(KV_STORES)}.")
    return KvComponent(
        part.kind,
        part.layers,
        part.rule,
        part.tokens,
        part.vectors * one,
        kv_heads=part.kv_heads,
        paging=part.paging,
    )


def per_rank(components: list[KvComponent], tp: int) -> list[KvComponent]:
    """Components as one tensor-parallel rank holds them: KV heads split when kv_heads >= tp,
    one head per rank (replicated) when kv_heads < tp; single-latent caches replicated whole."""
    out = []
    for c in components:
        if c.kv_heads == 0 or tp == 1 or c.layers == 0:
            out.append(c)
            continue
        if c.kv_heads % tp and tp % c.kv_heads:
            raise VramkitError(
                f"tp={tp} does not divide the {c.kv_heads} KV heads of the {c.kind} layers, nor "
                "do they divide it; runtimes need one to divide the other."
            )
        rank_heads = max(1, c.kv_heads // tp)
        out.append(replace(c, entry_bytes=c.entry_bytes // c.kv_heads * rank_heads))
    return out


Ints = Any
"""One context (a Python int) or many (a numpy array of Python ints): what the layouts take."""


def exact(t: np.ndarray | int | list[int]) -> Ints:
    """`t` as exact integers: a Python int stays one; anything else becomes a numpy array of
    Python ints (``dtype=object``): every product and sum of the layouts is exact, whatever its
    size (an int64 array wraps past 2**63 without a sign)."""
    if type(t) is int:
        return t
    import numpy as np

    arr = np.asarray(t)
    if arr.dtype != object:
        arr = arr.astype(object)
    return arr


def cdiv(a: np.ndarray, b: int) -> np.ndarray:
    """Ceiling division ⌈a / b⌉ on exact-int arrays."""
    return -(-a // b)


def pad_to(a: np.ndarray | int, b: int) -> np.ndarray:
    """`a` rounded up to a multiple of `b` (exact ints)."""
    return cdiv(exact(a), b) * b


def minimum(a: Ints, b: Ints) -> Ints:
    """Element-wise min (`numpy.minimum`); two Python ints give a Python int."""
    if type(a) is int and type(b) is int:
        return min(a, b)
    import numpy as np

    return np.minimum(a, b)


def maximum(a: Ints, b: Ints) -> Ints:
    """Element-wise max (`numpy.maximum`); two Python ints give a Python int."""
    if type(a) is int and type(b) is int:
        return max(a, b)
    import numpy as np

    return np.maximum(a, b)


def full_like(t: Ints, value: int) -> Ints:
    """`value` at every context of `t` (`numpy.full_like`); one context gives `value`."""
    if type(t) is int:
        return value
    import numpy as np

    return np.full_like(t, value)


def where_positive(t: Ints, x: Ints) -> Ints:
    """`x` where the context `t` is above 0, else 0 (``numpy.where(t > 0, x, 0)``)."""
    if type(t) is int:
        return x if t > 0 else 0
    import numpy as np

    return np.where(t > 0, x, 0)
