"""The architecture's own KV accounting (DeepSeek / HF reference code): no paging.

full T·e; window min(T, W)·e; compressed floor(T / r)·e; state W·e (per layer, e = entry bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..kv.components import KvComponent, full_like, minimum
from ..kv.layout import KvLayout

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class ReferenceLayout(KvLayout):
    """Unpadded entries: what the model itself keeps."""

    @classmethod
    def build(cls, options: Mapping[str, int], cache_dtype: str) -> ReferenceLayout:
        return cls("reference", options)

    def per_layer_bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        e, w = c.entry_bytes, c.tokens
        return {
            "full": t * e,
            "window": minimum(t, w) * e,
            "compressed": (t // w) * e,
            "state": full_like(t, w * e),
        }[c.rule]
