"""What every runtime KV layout shares: the `KvLayout` base (recurrent state slots, live
sequences, × layers, the generic per-token slope). The layouts themselves: `vramkit.runtimes.reference`,
`.vllm`, `.llamacpp`; `vramkit.kv.estimate.layout_for` picks the one a runtime's `KvProfile` names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .components import SATURATED, KvComponent, exact, full_like, where_positive

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class KvLayout:
    """A runtime's page rules for one cache dtype. Subclasses give `per_layer_bytes`; a layout
    that charges a shared pool on top of the caches' own pages (vLLM's DeepSeek V4 block pool)
    overrides `pool_bytes` and `constant_and_slope`."""

    name: str
    options: Mapping[str, int]

    def per_layer_bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        """Bytes of one layer of `c` for one sequence at each context in `t`."""
        raise NotImplementedError

    def bytes(self, c: KvComponent, t: np.ndarray) -> np.ndarray:
        """Bytes of component `c` for one sequence at each context in `t` (exact ints), all layers.

        A recurrent state (paging "recurrent", every runtime) is one fixed slot per live sequence:
        tokens × entry bytes; everything else follows the layout's page rules."""
        t = exact(t)
        if c.paging == "recurrent":
            per_layer = full_like(t, c.tokens * c.entry_bytes)
        else:
            per_layer = self.per_layer_bytes(c, t)
        return where_positive(t, per_layer) * c.layers

    def slope(self, c: KvComponent) -> float:
        """Asymptotic bytes per extra context token of `c`, all layers (0 for window and state):
        layers × entry bytes (÷ ratio for compressed caches)."""
        if c.rule in ("window", "state") or c.layers == 0:
            return 0.0
        return c.layers * c.entry_bytes / (c.tokens if c.rule == "compressed" else 1)

    def with_streams(self, n_seq: int) -> KvLayout:
        """The layout for `n_seq` concurrent sequences: itself (per-sequence bytes do not depend
        on how many there are), except a layout whose caches are sized by the total context
        (ik_llama.cpp's DeepSeek V4 compressed caches)."""
        return self

    def pool_bytes(self, comps: Sequence[KvComponent], t: np.ndarray) -> np.ndarray | None:
        """Bytes the layout charges for all of `comps` when more than the sum of their pages
        (None: just the sum)."""
        return None

    def constant_and_slope(self, comps: Sequence[KvComponent]) -> tuple[int, float]:
        """(per-sequence bytes once windows and states saturate, bytes per extra token)."""
        fixed = [c for c in comps if c.rule in ("window", "state")]
        constant = sum(int(self.bytes(c, SATURATED)) for c in fixed)
        return constant, float(sum(self.slope(c) for c in comps))
