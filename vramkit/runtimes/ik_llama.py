"""ik_llama.cpp's KV cache, from its own arithmetic (llama_model::cache_size), one sequence.

ikawrakow/ik_llama.cpp@8337e4cd3861406fc04e0854b1409cd1b027fbc9 src/llama-model.cpp L2463-L2532
and src/llama-hparams.h L406-L427: kv = pad(T, ctx_pad) (256 with flash attention, 32 without);
every attention layer kv rows — sliding-window layers and DeepSeek V4's raw window included —
unless --swa-compress compacts them to pad(sink + W + max(n_ubatch, 256), ctx_pad); compressed
caches, per stream, pad(max(1, ⌈n_ctx / r⌉), comp_pad) with n_ctx = pad(streams x T) the total
context (src/llama-dsv4.cpp L886-L888, L946-L964): they grow with the square of -np; state W·e. Options and sources: data/runtimes.yaml
(ik_llama.cpp → kv.options). Under -mla (MLA models) and with ik's own cache types (q8_KV,
q6_0) the entry bytes come from `vramkit.ik_llama_rules.ik_components`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..kv.components import SATURATED, KvComponent, cdiv, full_like, maximum, minimum, pad_to
from ..kv.layout import KvLayout

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class IkLlamaLayout(KvLayout):
    """Full-context windows unless swa_compress; compressed caches sized by the total context
    and held once per stream (`n_seq`, set by `with_streams`)."""

    @classmethod
    def build(cls, options: Mapping[str, int], cache_dtype: str) -> IkLlamaLayout:
        return cls("ik_llama.cpp", options)

    @property
    def _full_windows(self) -> bool:
        return not self.options["swa_compress"]

    @property
    def _pad(self) -> int:
        """llama_kv_cache::get_padding: 256 cells with flash attention, 32 without."""
        return (
            self.options["ctx_pad"] if self.options["flash_attn"] else self.options["ctx_pad_no_fa"]
        )

    def per_layer_bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        o, e, w = self.options, c.entry_bytes, c.tokens
        kv = pad_to(t, self._pad)
        if c.rule == "full" or (c.rule == "window" and self._full_windows):
            return kv * e  # raw K (+V) per context cell on every such layer
        if c.rule == "window":
            rows = int(pad_to(o["sink_rows"] + w + max(o["n_ubatch"], 256), self._pad))
            return minimum(kv, rows) * e
        if c.rule == "compressed":
            # per stream GGML_PAD(max(1, ceil(n_ctx / ratio)), 256) rows, n_ctx the TOTAL context
            # of every stream (src/llama-dsv4.cpp L886-L888, L946-L964: csa_kv*n_stream)
            n_ctx = pad_to(t * self.options.get("n_seq", 1), self._pad)
            return pad_to(maximum(1, cdiv(n_ctx, w)), o["comp_pad"]) * e
        return full_like(t, w * e)

    def with_streams(self, n_seq: int) -> IkLlamaLayout:
        """This layout for `n_seq` streams (-np): each stream's compressed caches grow with the
        total context (n_seq x its own)."""
        if n_seq == self.options.get("n_seq", 1):
            return self
        return IkLlamaLayout(self.name, MappingProxyType({**self.options, "n_seq": n_seq}))

    def slope(self, c: KvComponent) -> float:
        if c.rule == "window" and self._full_windows and c.layers:
            return float(c.layers * c.entry_bytes)
        if c.rule == "compressed" and c.layers:
            return c.layers * c.entry_bytes * self.options.get("n_seq", 1) / c.tokens
        return super().slope(c)

    def constant_and_slope(self, comps: Sequence[KvComponent]) -> tuple[int, float]:
        fixed = [
            c for c in comps if c.rule == "state" or (c.rule == "window" and not self._full_windows)
        ]
        constant = sum(int(self.bytes(c, SATURATED)) for c in fixed)
        return constant, float(sum(self.slope(c) for c in comps))
