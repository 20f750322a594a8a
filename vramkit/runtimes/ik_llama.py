"""ik_llama.cpp's KV cache, from its own arithmetic (llama_model::cache_size), one sequence.

ikawrakow/ik_llama.cpp@8337e4cd3861406fc04e0854b1409cd1b027fbc9 src/llama-model.cpp L2463-L2532
and src/llama-hparams.h L406-L427: kv = pad(T, ctx_pad) (256 with flash attention, 32 without);
every attention layer kv rows — sliding-window layers and DeepSeek V4's raw window included —
unless --swa-compress compacts them to pad(sink + W + max(n_ubatch, 256), ctx_pad); compressed
caches pad(max(1, ⌈kv / r⌉), comp_pad); state W·e. Options and sources: data/runtimes.yaml
(ik_llama.cpp → kv.options).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..kv.components import SATURATED, KvComponent, cdiv, full_like, maximum, minimum, pad_to
from ..kv.layout import KvLayout

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class IkLlamaLayout(KvLayout):
    """Full-context windows unless swa_compress; compressed caches as llama.cpp's."""

    @classmethod
    def build(cls, options: Mapping[str, int], cache_dtype: str) -> IkLlamaLayout:
        return cls("ik_llama.cpp", options)

    @property
    def _full_windows(self) -> bool:
        return not self.options["swa_compress"]

    def per_layer_bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        o, e, w = self.options, c.entry_bytes, c.tokens
        kv = pad_to(t, o["ctx_pad"])
        if c.rule == "full" or (c.rule == "window" and self._full_windows):
            return kv * e  # raw K (+V) per context cell on every such layer
        if c.rule == "window":
            rows = int(pad_to(o["sink_rows"] + w + max(o["n_ubatch"], 256), o["ctx_pad"]))
            return minimum(kv, rows) * e
        if c.rule == "compressed":
            return pad_to(maximum(1, cdiv(kv, w)), o["comp_pad"]) * e
        return full_like(t, w * e)

    def slope(self, c: KvComponent) -> float:
        if c.rule == "window" and self._full_windows and c.layers:
            return float(c.layers * c.entry_bytes)
        return super().slope(c)

    def constant_and_slope(self, comps: Sequence[KvComponent]) -> tuple[int, float]:
        fixed = [
            c for c in comps if c.rule == "state" or (c.rule == "window" and not self._full_windows)
        ]
        constant = sum(int(self.bytes(c, SATURATED)) for c in fixed)
        return constant, float(sum(self.slope(c) for c in comps))
