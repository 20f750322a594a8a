"""Per-layer KV-cache components of each architecture, and their bytes under each runtime's layout.

A model's cache is a list of `KvComponent`s (layers × entries × bytes per entry); a runtime turns
each into bytes for a context of T tokens, vectorised over T with numpy (int64 throughout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from .errors import VramkitError
from .families import KV_STORES, KvPart
from .kv_formats import CacheDtype, IndexerDtype, RuntimeProfile

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
        one = (
            idx.key_bytes(part.dims)
            if isinstance(idx, IndexerDtype)
            else idx.vector_bytes(part.dims)
        )
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


def _cdiv(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def _pad(a: np.ndarray | int, b: int) -> np.ndarray:
    return _cdiv(np.asarray(a, dtype=np.int64), b) * b


def component_bytes(
    c: KvComponent, t: np.ndarray, runtime: RuntimeProfile, *, ds_mla_layout: bool
) -> np.ndarray:
    """Bytes of component `c` for one sequence at each context in `t` (int64 array), all layers.

    Notes
    -----
    reference: full T·e; window min(T, W)·e; compressed floor(T/r)·e; state W·e.
    vllm: full cdiv(T, bs)·page; window-type (cdiv(min(W-1+in_flight, T), bs) + 1)·page with
    in_flight = max_num_batched_tokens × concurrent_batches; V4 pages of 256 tokens hold 256/r
    entries, padded to 576 B (fp8_ds_mla) or 512 B. (The V4 shared-pool stride on top of these
    pages is vramkit.kv_vllm's ``padding``.)
    llama.cpp: kv = pad(T, 256); full kv·e; window pad(min(kv, W + n_ubatch), 256)·e;
    compressed pad(max(1, ceil(kv/r)), 256)·e; state W·e·(1 + n_rs_seq).
    recurrent (paging "recurrent", every runtime): W·e per live sequence (one state slot).
    """
    t = np.asarray(t, dtype=np.int64)
    live = t > 0
    e, w = c.entry_bytes, c.tokens
    if c.paging == "recurrent":  # linear-attention state: one fixed slot per live sequence
        per_layer = np.full_like(t, w * e)
    elif runtime.id == "reference":
        per_layer = {
            "full": t * e,
            "window": np.minimum(t, w) * e,
            "compressed": (t // w) * e,
            "state": np.where(live, w * e, 0),
        }[c.rule]
    elif runtime.id == "vllm":
        per_layer = _vllm_bytes(c, t, runtime.options, ds_mla_layout)
    elif runtime.id == "llama.cpp":
        o = runtime.options
        kv = _pad(t, o["ctx_pad"])
        if c.rule == "full":
            per_layer = kv * e
        elif c.rule == "window":
            per_layer = _pad(np.minimum(kv, w + o["n_ubatch"]), o["swa_pad"]) * e
        elif c.rule == "compressed":
            per_layer = _pad(np.maximum(1, _cdiv(kv, w)), o["comp_pad"]) * e
        else:
            per_layer = np.full_like(t, w * e * (1 + o["n_rs_seq"]))
    else:  # pragma: no cover - profiles are validated on load
        raise VramkitError(f"no layout code for runtime {runtime.id!r}.")
    return np.where(live, per_layer, 0) * c.layers


def _vllm_bytes(
    c: KvComponent, t: np.ndarray, o: Mapping[str, int], ds_mla_layout: bool
) -> np.ndarray:
    align = o["alignment_fp8_ds_mla"] if ds_mla_layout else o["alignment_other"]
    mnbt = o["max_num_batched_tokens"] * o["concurrent_batches"]  # max_in_flight_tokens
    if c.paging in ("v4_main", "v4_indexer"):
        block = o["block_size_deepseek_v4"]
        page = int(_pad(block // c.tokens * c.entry_bytes, align))
        return _cdiv(t, block) * page
    if c.paging == "v4_window":
        block = o["swa_block_size_deepseek_v4"]
        page = int(_pad(block * c.entry_bytes, align))
        return (_cdiv(np.minimum(c.tokens - 1 + mnbt, t), block) + 1) * page
    if c.paging.startswith("v4_state"):
        block = o["state_block_c4"] if c.paging == "v4_state_c4" else o["state_block_c128"]
        page = int(_pad(block * c.entry_bytes, o["state_alignment"]))
        return (_cdiv(np.minimum(c.tokens - 1 + mnbt, t), block) + 1) * page
    block = o["block_size"]
    page = block * c.entry_bytes
    if c.rule == "full":
        return _cdiv(t, block) * page
    if c.rule == "window":
        return (_cdiv(np.minimum(c.tokens - 1 + mnbt, t), block) + 1) * page
    raise VramkitError(
        f"vLLM layout has no rule for a {c.rule} {c.kind} cache outside DeepSeek V4."
    )


def slope_bytes(c: KvComponent, runtime: RuntimeProfile, *, ds_mla_layout: bool) -> float:
    """Asymptotic bytes per extra context token of `c`, all layers (0 for window and state)."""
    if c.rule in ("window", "state") or c.layers == 0:
        return 0.0
    if runtime.id == "vllm" and c.paging in ("v4_main", "v4_indexer"):
        o = runtime.options
        align = o["alignment_fp8_ds_mla"] if ds_mla_layout else o["alignment_other"]
        block = o["block_size_deepseek_v4"]
        return c.layers * int(_pad(block // c.tokens * c.entry_bytes, align)) / block
    return c.layers * c.entry_bytes / (c.tokens if c.rule == "compressed" else 1)
