"""vLLM's paged KV cache, and its per-request reservation for DeepSeek V4 (a shared block pool).

Pages (the one page formula, `VllmLayout.page`): generic caches hold block_size tokens per page,
page = block × e; DeepSeek V4 full-attention caches (C4 main, C4 indexer, C128 main) hold
256 / ratio entries per 256-token page, padded to the alignment (576 B under fp8_ds_mla, else
512 B); the V4 window holds 64 tokens a page (same alignment); the compressor states 4 (C4) or
8 (C128) rows a page, padded to 576 B. Pages per request of max_model_len T: full-type
cdiv(T, block); window-type cdiv(min(W − 1 + in_flight, T), block) + 1, in_flight =
max_num_batched_tokens × concurrent_batches (vllm/config/vllm.py max_in_flight_tokens); chunked
local attention (Llama 4, paging ``chunked``) cdiv(min(C + in_flight, T), block)
(``ChunkedLocalAttentionSpec.max_memory_usage_bytes``, vllm/v1/kv_cache_interface.py @
001cabc1be16a59a70d720ed61a13b678c060a18: "num_tokens = min(self.attention_chunk_size +
max_num_batched_tokens, max_model_len)", no extra block).

DeepSeek V4 pool (``vllm/v1/core/kv_cache_planning.py``, DeepseekV4 branch): vLLM does not charge
each cache its own pages. It puts the full-attention caches in one group whose distinct page
sizes form a *layer tuple*; every sliding-window-type cache (the 128-token window, the C4 and
C128 compressor states) goes into groups split to at most `n_tuples` layers, its pages padded up
to the nearest full-group page size. All groups draw block ids from one pool whose block costs
``n_tuples × Σ(distinct full-group pages)`` bytes, so

    needed(T) = n_tuples × tuple_bytes × Σ_groups pages_g(T)

The window and compressor-state groups therefore cost the full tuple stride per block: the
excess over the pages the caches physically use is reported as the ``padding`` kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ...errors import VramkitError
from ...kv.components import SATURATED, KvComponent, cdiv, exact, minimum, pad_to, where_positive
from ...kv.layout import KvLayout

if TYPE_CHECKING:
    import numpy as np

FULL_PAGING = ("v4_main", "v4_indexer")
"""V4 caches in the full-attention group (256-token pages of 256 / ratio entries)."""


@dataclass(frozen=True)
class Page:
    """One page: `bytes`, `block` tokens, and the window W of a window-type cache (0: full);
    `chunked`: W is a chunked-local-attention chunk (Llama 4), not a sliding window."""

    bytes: int
    block: int
    window: int
    chunked: bool = False

    def count(self, t: np.ndarray, in_flight: int) -> np.ndarray:
        """Pages one request of max_model_len T takes: cdiv(T, block) for full-type caches,
        cdiv(min(W − 1 + in_flight, T), block) + 1 for window-type ones, cdiv(min(W +
        in_flight, T), block) for chunked ones."""
        if not self.window:
            return cdiv(t, self.block)
        if self.chunked:
            return cdiv(minimum(self.window + in_flight, t), self.block)
        return cdiv(minimum(self.window - 1 + in_flight, t), self.block) + 1


@dataclass(frozen=True)
class V4Group:
    """One vLLM KV-cache group: its kind, its pages' block and window (`page.bytes` is the
    group's largest page), and how many layers it holds per page size."""

    kind: str
    page: Page
    layers_by_page: Mapping[int, int]


def approximate_gcd(values: Sequence[int], lower_bound: int) -> int:
    """vLLM ``_approximate_gcd``: the d in [lower_bound, max(values)] minimising
    Σ (d − x mod d) mod d (ties: the larger d)."""
    best_d, best_pad = lower_bound, None
    for d in range(max(1, lower_bound), max(values) + 1):
        pad = sum((d - x % d) % d for x in values)
        if best_pad is None or pad <= best_pad:
            best_d, best_pad = d, pad
    return best_d


@dataclass(frozen=True)
class VllmLayout(KvLayout):
    """vLLM's pages for one cache dtype; `alignment` is the V4 page alignment that dtype gets
    (576 B for fp8_ds_mla, else 512 B), chosen once when the layout is built."""

    alignment: int = 512

    @classmethod
    def build(cls, options: Mapping[str, int], cache_dtype: str) -> VllmLayout:
        ds_mla = cache_dtype == "fp8_ds_mla"
        align = options["alignment_fp8_ds_mla"] if ds_mla else options["alignment_other"]
        return cls("vllm", options, align)

    @cached_property
    def in_flight(self) -> int:
        """max_num_batched_tokens × concurrent_batches: tokens a window-type cache reserves."""
        return self.options["max_num_batched_tokens"] * self.options["concurrent_batches"]

    def page(self, c: KvComponent) -> Page:
        """The page of one component (see the module docstring: the one page formula); computed
        once per component object (held, so its id is not reused)."""
        hit = self._page_memo.get(id(c))
        if hit is None or hit[0] is not c:
            hit = self._page_memo[id(c)] = (c, self._page(c))
        return hit[1]

    @cached_property
    def _page_memo(self) -> dict[int, tuple[KvComponent, Page]]:
        return {}

    def _page(self, c: KvComponent) -> Page:
        o = self.options
        if c.paging in FULL_PAGING:
            block = o["block_size_deepseek_v4"]
            if block % c.tokens:
                raise VramkitError(
                    f"vLLM DeepSeek V4 block_size {block} does not divide into ratio-{c.tokens} "
                    "entries; use a multiple of 128 (vLLM sets 256)."
                )
            return Page(int(pad_to(block // c.tokens * c.entry_bytes, self.alignment)), block, 0)
        if c.paging == "v4_window":
            block = o["swa_block_size_deepseek_v4"]
            return Page(int(pad_to(block * c.entry_bytes, self.alignment)), block, c.tokens)
        if c.paging.startswith("v4_state"):
            block = o["state_block_c4"] if c.paging == "v4_state_c4" else o["state_block_c128"]
            return Page(int(pad_to(block * c.entry_bytes, o["state_alignment"])), block, c.tokens)
        block = o["block_size"]
        if c.paging == "chunked" and c.rule == "window":
            return Page(block * c.entry_bytes, block, c.tokens, chunked=True)
        if c.paging:
            raise VramkitError(f"no vLLM paging for a {c.kind} cache ({c.paging!r}).")
        if c.rule == "full":
            return Page(block * c.entry_bytes, block, 0)
        if c.rule == "window":
            return Page(block * c.entry_bytes, block, c.tokens)
        raise VramkitError(
            f"vLLM layout has no rule for a {c.rule} {c.kind} cache outside DeepSeek V4."
        )

    def per_layer_bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        page = self.page(c)
        return page.count(t, self.in_flight) * page.bytes

    def slope(self, c: KvComponent) -> float:
        if c.layers and c.paging in FULL_PAGING:
            page = self.page(c)
            return c.layers * page.bytes / page.block
        return super().slope(c)

    def v4_groups(self, comps: Sequence[KvComponent]) -> tuple[list[V4Group], int, int]:
        """vLLM's DeepseekV4 grouping: (groups, n_tuples, tuple_bytes), computed once per
        (options, alignment, components) — it does not depend on the token count."""
        memo = self._groups_memo
        hit = memo.get(id(comps))  # the same components object: a cached plan's (kv_cache)
        if hit is not None and hit[0] is comps:
            return hit[1]
        key = tuple(comps)
        if key not in memo:
            memo[key] = (key, self._v4_groups(comps))
        memo[id(comps)] = (comps, memo[key][1])  # holds `comps`, so its id is not reused
        return memo[key][1]

    @cached_property
    def _groups_memo(self) -> dict[object, tuple[object, tuple[list[V4Group], int, int]]]:
        """This layout's `v4_groups` answers by components (a layout's options are fixed), and
        by the identity of the components object last asked with."""
        return {}

    def _v4_groups(self, comps: Sequence[KvComponent]) -> tuple[list[V4Group], int, int]:
        """`v4_groups`, uncached.

        Notes
        -----
        full group: all block-256 caches; n_full = most layers sharing one page size.
        window/state caches are grouped by (block, window); each page is padded to the smallest
        full-group page ≥ it; d = approximate_gcd([n_full, n_swa…], lower_bound=n_full) and each
        swa group splits into cdiv(n, d) groups of layers[i::k]; n_tuples = the largest group's
        count; tuple_bytes = Σ distinct full-group page sizes.
        """
        full: Counter[int] = Counter()
        swa_raw: dict[tuple[int, int], Counter[int]] = {}
        kinds: dict[tuple[int, int], str] = {}
        for c in comps:
            page = self.page(c)
            if c.paging in FULL_PAGING:
                full[page.bytes] += c.layers
            else:
                swa_raw.setdefault((page.block, page.window), Counter())[page.bytes] += c.layers
                kinds[(page.block, page.window)] = c.kind
        if not full:
            raise VramkitError("vLLM DeepSeek V4 accounting needs at least one compressed layer.")
        pages = sorted(full)
        swa: dict[tuple[int, int], Counter[int]] = {}
        for key, raw in swa_raw.items():
            padded: Counter[int] = Counter()
            for page_bytes, n in raw.items():
                fits = [p for p in pages if p >= page_bytes]
                if not fits:
                    raise VramkitError(
                        f"vLLM cannot pad a {page_bytes:,} B {kinds[key]} page to a full-attention "
                        f"page (largest {pages[-1]:,} B); this cache dtype is not a vLLM V4 layout."
                    )
                padded[fits[0]] += n
            if len(set(padded.values())) != 1:
                raise VramkitError(f"vLLM needs equal layer counts per page size in {kinds[key]}.")
            swa[key] = padded
        n_full = max(full.values())
        counts = [n_full] + [max(r.values()) for r in swa_raw.values()]
        d = approximate_gcd(counts, lower_bound=n_full)
        block = self.options["block_size_deepseek_v4"]
        groups = [V4Group("full", Page(pages[-1], block, 0), dict(full))]
        for (blk, window), padded in swa.items():
            n = next(iter(padded.values()))
            k = -(-n // d)
            for i in range(k):
                size = len(range(i, n, k))
                page = Page(max(padded), blk, window)
                groups.append(V4Group(kinds[(blk, window)], page, dict.fromkeys(padded, size)))
        # get_num_layer_tuples of each final group (most layers sharing one page size), maximised
        n_tuples = max(max(g.layers_by_page.values()) for g in groups)
        return groups, n_tuples, sum(pages)

    def pool_bytes(self, comps: Sequence[KvComponent], t: np.ndarray) -> np.ndarray | None:
        """DeepSeek V4: bytes vLLM's startup check needs for one request of max_model_len T (0
        where T = 0): needed(T) = n_tuples × tuple_bytes × Σ_groups pages_g(T). None otherwise."""
        if not is_v4(comps):
            return None
        t = exact(t)
        groups, n_tuples, tuple_bytes = self.v4_groups(comps)
        pages = sum(g.page.count(t, self.in_flight) for g in groups)
        return where_positive(t, n_tuples * tuple_bytes * pages)

    def constant_and_slope(self, comps: Sequence[KvComponent]) -> tuple[int, float]:
        """DeepSeek V4: constant = n_tuples × tuple_bytes × Σ_window-groups pages (saturated),
        slope = n_tuples × tuple_bytes / 256 per extra token of max_model_len."""
        if not is_v4(comps):
            return super().constant_and_slope(comps)
        groups, n_tuples, tuple_bytes = self.v4_groups(comps)
        pages = sum(int(g.page.count(SATURATED, self.in_flight)) for g in groups if g.page.window)
        slope = n_tuples * tuple_bytes / self.options["block_size_deepseek_v4"]
        return n_tuples * tuple_bytes * pages, slope


def is_v4(components: Sequence[KvComponent]) -> bool:
    """True when the components are DeepSeek V4 caches (vLLM V4 paging)."""
    return any(c.paging.startswith("v4_") for c in components)
