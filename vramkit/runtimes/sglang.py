"""SGLang's token-granular KV pool (one slot per token, `page_size` tokens a page).

A request of T tokens holds pad(T, page_size) slots on every full-attention layer (MHA/GQA K and
V of this rank's heads, an MLA latent, DeepSeek V3.2's FP8 indexer key). Sliding-window layers
hold pad(min(T, W), page_size) — for gpt-oss / Gemma an estimate (SGLang sizes its SWA pool by
swa_full_tokens_ratio, `vramkit.kv_capacity.sglang_pool`), for DeepSeek V4 its SWA ring of
``sliding_window`` tokens. DeepSeek V4's compressed pools hold floor(T / ratio) entries and its
compressor states fixed rings of 8 (C4) / 128 (C128) rows per request
(``get_compress_state_ring_size``); the per-page padding of V4 pages to 576-B multiples is not
counted (the page size SGLang picks for V4 was not read).

Sources: python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py @
001ccef0072a4537d4ec6bdd50a73e6feb2c907d (``get_cell_size_per_token``) and
python/sglang/srt/mem_cache/deepseek_v4_memory_pool.py @ 007bddd4a95b44d3c8cd22c8a24d0ee1455955fd
(``get_swa_ring_size``, ``get_compress_state_ring_size``: "return 8 if compress_ratio == 4 else
128").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..kv.components import KvComponent, full_like, minimum, pad_to
from ..kv.layout import KvLayout

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class SglangLayout(KvLayout):
    """full pad(T, page)·e; window pad(min(T, W), page)·e; compressed floor(T/r)·e; state W·e."""

    @classmethod
    def build(cls, options: Mapping[str, int], cache_dtype: str) -> SglangLayout:
        return cls("sglang", options)

    def per_layer_bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        page, e = self.options["page_size"], c.entry_bytes
        return {
            "full": lambda: pad_to(t, page) * e,
            "window": lambda: pad_to(minimum(t, c.tokens), page) * e,
            "compressed": lambda: (t // c.tokens) * e,
            "state": lambda: full_like(t, c.tokens * e),
        }[c.rule]()
