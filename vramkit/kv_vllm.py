"""vLLM's per-request KV reservation for DeepSeek V4: layer groups sharing one block pool.

vLLM (``vllm/v1/core/kv_cache_planning.py``, DeepseekV4 branch) does not charge each cache its
own pages. It puts the full-attention caches (C4 main, C4 indexer, C128 main; block 256) in one
group whose distinct page sizes form a *layer tuple*; every sliding-window-type cache (the
128-token window, the C4 and C128 compressor states) goes into groups split to at most
`n_tuples` layers, its pages padded up to the nearest full-group page size. All groups draw
block ids from one pool whose block costs ``n_tuples × Σ(distinct full-group pages)`` bytes, so

    needed(T) = n_tuples × tuple_bytes × Σ_groups pages_g(T)

with pages_full = cdiv(T, 256) and pages_swa = cdiv(min(W − 1 + in_flight, T), block) + 1.
The window and compressor-state groups therefore cost the full tuple stride per block: the
excess over the pages the caches physically use is reported as the ``padding`` kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import VramkitError
from .kv_layout import SATURATED, KvComponent, _cdiv, _pad, exact

FULL_PAGING = ("v4_main", "v4_indexer")


@dataclass(frozen=True)
class V4Group:
    """One vLLM KV-cache group: its kind, block (tokens), window W, layers per page size."""

    kind: str
    block: int
    window: int
    layers_by_page: Mapping[int, int]
    full: bool = False


def approximate_gcd(values: Sequence[int], lower_bound: int) -> int:
    """vLLM ``_approximate_gcd``: the d in [lower_bound, max(values)] minimising
    Σ (d − x mod d) mod d (ties: the larger d)."""
    best_d, best_pad = lower_bound, None
    for d in range(max(1, lower_bound), max(values) + 1):
        pad = sum((d - x % d) % d for x in values)
        if best_pad is None or pad <= best_pad:
            best_d, best_pad = d, pad
    return best_d


def _page(c: KvComponent, o: Mapping[str, int], ds_mla_layout: bool) -> tuple[int, int, int]:
    """(page bytes, block tokens, window tokens) of one V4 component under vLLM."""
    align = o["alignment_fp8_ds_mla"] if ds_mla_layout else o["alignment_other"]
    if c.paging in FULL_PAGING:
        block = o["block_size_deepseek_v4"]
        if block % c.tokens:
            raise VramkitError(
                f"vLLM DeepSeek V4 block_size {block} does not divide into ratio-{c.tokens} "
                "entries; use a multiple of 128 (vLLM sets 256)."
            )
        return int(_pad(block // c.tokens * c.entry_bytes, align)), block, 0
    if c.paging == "v4_window":
        block = o["swa_block_size_deepseek_v4"]
        return int(_pad(block * c.entry_bytes, align)), block, c.tokens
    if c.paging.startswith("v4_state"):
        block = o["state_block_c4"] if c.paging == "v4_state_c4" else o["state_block_c128"]
        return int(_pad(block * c.entry_bytes, o["state_alignment"])), block, c.tokens
    raise VramkitError(f"no vLLM DeepSeek V4 paging for a {c.kind} cache ({c.paging!r}).")


def v4_groups(
    components: Sequence[KvComponent], o: Mapping[str, int], ds_mla_layout: bool
) -> tuple[list[V4Group], int, int]:
    """vLLM's DeepseekV4 grouping: (groups, n_tuples, tuple_bytes).

    Notes
    -----
    full group: all block-256 caches; n_full = most layers sharing one page size.
    window/state caches are grouped by (block, window); each page is padded to the smallest
    full-group page ≥ it; d = approximate_gcd([n_full, n_swa…], lower_bound=n_full) and each
    swa group splits into cdiv(n, d) groups of layers[i::k]; n_tuples = the largest group's
    count; tuple_bytes = Σ distinct full-group page sizes.
    """
    full: Counter[int] = Counter()
    swa: dict[tuple[int, int], Counter[int]] = {}
    swa_raw: dict[tuple[int, int], Counter[int]] = {}
    kinds: dict[tuple[int, int], str] = {}
    for c in components:
        page, block, window = _page(c, o, ds_mla_layout)
        if c.paging in FULL_PAGING:
            full[page] += c.layers
        else:
            swa_raw.setdefault((block, window), Counter())[page] += c.layers
            kinds[(block, window)] = c.kind
    if not full:
        raise VramkitError("vLLM DeepSeek V4 accounting needs at least one compressed layer.")
    pages = sorted(full)
    for key, raw in swa_raw.items():
        padded: Counter[int] = Counter()
        for page, n in raw.items():
            fits = [p for p in pages if p >= page]
            if not fits:
                raise VramkitError(
                    f"vLLM cannot pad a {page:,} B {kinds[key]} page to a full-attention page "
                    f"(largest {pages[-1]:,} B); this cache dtype is not a vLLM V4 layout."
                )
            padded[fits[0]] += n
        if len(set(padded.values())) != 1:
            raise VramkitError(f"vLLM needs equal layer counts per page size in {kinds[key]}.")
        swa[key] = padded
    n_full = max(full.values())
    counts = [n_full] + [max(r.values()) for r in swa_raw.values()]
    d = approximate_gcd(counts, lower_bound=n_full)
    groups = [V4Group("full", o["block_size_deepseek_v4"], 0, dict(full), full=True)]
    for (block, window), padded in swa.items():
        n = next(iter(padded.values()))
        k = -(-n // d)
        for i in range(k):
            size = len(range(i, n, k))
            groups.append(
                V4Group(kinds[(block, window)], block, window, dict.fromkeys(padded, size))
            )
    # get_num_layer_tuples of each final group (most layers sharing one page size), maximised
    n_tuples = max(max(g.layers_by_page.values()) for g in groups)
    return groups, n_tuples, sum(pages)


def group_pages(g: V4Group, t: np.ndarray, in_flight: int) -> np.ndarray:
    """Pages one request of max_model_len T takes in group g (int64 array over T)."""
    if g.full:
        return _cdiv(t, g.block)
    return _cdiv(np.minimum(g.window - 1 + in_flight, t), g.block) + 1


def v4_needed_bytes(
    components: Sequence[KvComponent],
    t: np.ndarray,
    o: Mapping[str, int],
    *,
    ds_mla_layout: bool,
) -> np.ndarray:
    """Bytes vLLM's startup check needs for one request of max_model_len T (0 where T = 0).

    needed(T) = n_tuples × tuple_bytes × Σ_groups pages_g(T), in_flight =
    max_num_batched_tokens × concurrent_batches (vllm/config/vllm.py max_in_flight_tokens).
    """
    t = exact(t)
    groups, n_tuples, tuple_bytes = v4_groups(components, o, ds_mla_layout)
    in_flight = o["max_num_batched_tokens"] * o["concurrent_batches"]
    pages = sum(group_pages(g, t, in_flight) for g in groups)
    return np.where(t > 0, n_tuples * tuple_bytes * pages, 0)


def v4_constant_bytes(
    components: Sequence[KvComponent], o: Mapping[str, int], *, ds_mla_layout: bool
) -> int:
    """The T-independent part once windows saturate: n_tuples × tuple_bytes × Σ_swa pages."""
    groups, n_tuples, tuple_bytes = v4_groups(components, o, ds_mla_layout)
    in_flight = o["max_num_batched_tokens"] * o["concurrent_batches"]
    big = exact([SATURATED])
    pages = sum(int(group_pages(g, big, in_flight)[0]) for g in groups if not g.full)
    return n_tuples * tuple_bytes * pages


def v4_slope(components: Sequence[KvComponent], o: Mapping[str, int], ds_mla_layout: bool) -> float:
    """Bytes per extra token of max_model_len: n_tuples × tuple_bytes / 256."""
    _, n_tuples, tuple_bytes = v4_groups(components, o, ds_mla_layout)
    return n_tuples * tuple_bytes / o["block_size_deepseek_v4"]


def is_v4(components: Sequence[KvComponent]) -> bool:
    """True when the components are DeepSeek V4 caches (vLLM V4 paging)."""
    return any(c.paging.startswith("v4_") for c in components)
