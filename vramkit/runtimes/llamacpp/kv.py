"""llama.cpp's ggml KV cache (non-unified streams), one sequence.

kv = pad(T, ctx_pad); full kv·e; window pad(min(kv, W + n_ubatch), swa_pad)·e; compressed
pad(max(1, ⌈kv / r⌉), comp_pad)·e; state W·e·(1 + n_rs_seq). Options and their sources:
data/runtimes.yaml (llama.cpp → kv.options).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ...kv.components import KvComponent, cdiv, full_like, maximum, minimum, pad_to
from ...kv.layout import KvLayout

if TYPE_CHECKING:
    import numpy as np

    from ...kv.components import Ints

CELL_RULES = ("full", "window", "compressed")
"""The cache rules whose size is a number of cells (the recurrent "state" rule is not)."""


def cells(rule: str, window: int, kv: Ints, options: Mapping[str, int]) -> Ints:
    """Cells per sequence stream of one cache, the one statement of llama.cpp's cell rules (the
    KV layout below and `vramkit.runtimes.llamacpp.memory` both count with it): `kv` context
    cells (already GGML_PAD(n_ctx, ctx_pad)); full: kv; window (`window` = W tokens):
    GGML_PAD(min(kv, W + n_ubatch), swa_pad); compressed (`window` = ratio r):
    GGML_PAD(max(1, ceil(kv / r)), comp_pad). `options`: ctx_pad, swa_pad, comp_pad, n_ubatch
    (data/runtimes.yaml llama.cpp → kv.options, each sourced). Ints or arrays of ints."""
    if rule == "window":
        return pad_to(minimum(kv, window + options["n_ubatch"]), options["swa_pad"])
    if rule == "compressed":
        return pad_to(maximum(1, cdiv(kv, window)), options["comp_pad"])
    return kv


def with_v_cache(parts: Iterable[Any]) -> list[Any]:
    """llama.cpp keeps a V cache on every attention layer that is not MLA (``has_v = !is_mla``,
    src/llama-kv-cache.cpp L233-234 at ggml-org/llama.cpp@0c1e570): a GQA part (kv_heads > 0)
    whose checkpoint reuses K as V (Gemma 4's ``attention_k_eq_v`` global layers, 1 vector a
    head) still holds K and V there, 2 vectors a head (engine: Gemma 4 31B at 4K, K 160 MiB +
    V 160 MiB on the global layers, tests/fixtures/measured/llamacpp/gemma-4-31b.json)."""
    return [
        replace(p, vectors=2 * p.kv_heads)
        if p.kv_heads and p.store == "cache" and p.vectors < 2 * p.kv_heads
        else p
        for p in parts
    ]


@dataclass(frozen=True)
class LlamaCppLayout(KvLayout):
    """Cells padded to 256; SWA windows include a micro-batch; compressed caches at least 1 cell."""

    @classmethod
    def build(cls, options: Mapping[str, int], cache_dtype: str) -> LlamaCppLayout:
        return cls("llama.cpp", options)

    def per_layer_bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        o, e, w = self.options, c.entry_bytes, c.tokens
        if c.rule in CELL_RULES:
            return cells(c.rule, w, pad_to(t, o["ctx_pad"]), o) * e
        return full_like(t, w * e * (1 + o["n_rs_seq"]))
