"""A tensor inventory as layer kinds: the tensors of each distinct kind of block once, and the
order in which the blocks and the global tensors occur.

A decoder repeats a few kinds of block (dense / MoE, sliding / full attention …) over tens of
layers; its flat inventory (one `TensorSpec` per tensor, `vramkit.model.tensors`) repeats each
kind's tensors once per block, differing only in the layer number of their names and their
`layer` field. `Inventory` holds each kind once; sums over the model (parameter counts,
`vramkit.quant.llamacpp`'s GGUF layout) read each kind once × its block count, and the flat
tuple is expanded on request (`Inventory.flat`), equal tensor for tensor to building every block.

Family builders write their blocks through a `LayerStamper`: before building block `i` they ask
``stamper.repeat(i, key)`` with `key` naming every decision the block's tensors depend on; a
key seen before answers True (the block is the earlier one's kind: nothing to build). A kind is
reused only where each of its tensors has ``layer == i`` and the layer number in its name
(``….{i}.…``): otherwise every block of that key is built (and kept) as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .tensors import ParamCounts, TensorSpec, count_params


@dataclass(frozen=True, eq=False)
class LayerKind:
    """The tensors of one kind of block as built for block `layer` (None: a run of global
    tensors, occurring once), with each name split around that layer number (`names`: (before,
    after) per tensor; empty for a global run)."""

    layer: int | None
    tensors: tuple[TensorSpec, ...]
    names: tuple[tuple[str, str], ...] = ()

    def at(self, layer: int | None) -> tuple[TensorSpec, ...]:
        """This kind's tensors in block `layer` (its own block: the tensors as built)."""
        if layer == self.layer:
            return self.tensors
        return tuple([
            TensorSpec(f"{a}{layer}{b}", t.group, t.role, t.shape, t.count, t.kind, t.native,
                       layer, t.mtp, t.gguf_class, t.experts_per_token)
            for t, (a, b) in zip(self.tensors, self.names, strict=True)
        ])  # fmt: skip


@dataclass(frozen=True, eq=False)
class Inventory:
    """A model's tensors as `kinds` and the `blocks` in build order: (kind index, layer) — a
    global run's layer is None."""

    kinds: tuple[LayerKind, ...]
    blocks: tuple[tuple[int, int | None], ...]

    @cached_property
    def flat(self) -> tuple[TensorSpec, ...]:
        """Every tensor in build order (the family's flat inventory)."""
        out: list[TensorSpec] = []
        for k, layer in self.blocks:
            out.extend(self.kinds[k].at(layer))
        return tuple(out)

    @cached_property
    def kind_counts(self) -> tuple[int, ...]:
        """How many blocks of each kind."""
        n = [0] * len(self.kinds)
        for k, _ in self.blocks:
            n[k] += 1
        return tuple(n)

    @cached_property
    def size(self) -> int:
        """How many tensors the flat inventory holds (without expanding it)."""
        kinds = self.kinds
        return sum([len(kinds[k].tensors) for k, _ in self.blocks])

    @classmethod
    def of(cls, tensors: tuple[TensorSpec, ...]) -> Inventory:
        """A flat inventory as runs of tensors alike in `layer` (each block its own kind)."""
        kinds: list[LayerKind] = []
        run: list[TensorSpec] = []
        for t in tensors:
            if run and t.layer != run[-1].layer:
                kinds.append(_kind(run))
                run = []
            run.append(t)
        if run:
            kinds.append(_kind(run))
        return cls(tuple(kinds), tuple((k, kinds[k].layer) for k in range(len(kinds))))


def _kind(run: list[TensorSpec]) -> LayerKind:
    """A run of tensors of one layer as a kind of its own (occurring once: no names to split)."""
    return LayerKind(run[0].layer, tuple(run))


def _split_names(tensors: list[TensorSpec], layer: int) -> tuple[tuple[str, str], ...] | None:
    """Each name split around ``.{layer}.``, or None where one lacks it (not stampable)."""
    mark = f".{layer}."
    out = []
    for t in tensors:
        at = t.name.find(mark)
        if at < 0 or t.layer != layer:
            return None
        out.append((t.name[: at + 1], t.name[at + len(mark) - 1 :]))
    return tuple(out)


class LayerStamper:
    """Collects a builder's tensors into an `Inventory` (see the module docstring). `add` takes
    `TensorSpec`'s arguments; tensors of one `layer` in a row form a block."""

    def __init__(self) -> None:
        self._kinds: list[LayerKind] = []
        self._blocks: list[tuple[int, int | None]] = []
        self._by_key: dict[Hashable, int] = {}
        self._run: list[TensorSpec] = []
        self._pending: tuple[int, Hashable] | None = None
        self._run_key: tuple[int, Hashable] | None = None

    def add(self, name: str, group: str, role: str, shape: tuple[int, ...], **kw: Any) -> None:
        """One tensor (`TensorSpec`'s fields)."""
        self.put(TensorSpec(name, group, role, shape, **kw))

    def put(self, t: TensorSpec) -> None:
        """One tensor already built."""
        run = self._run
        if run and t.layer != run[-1].layer:
            self._close()
            run = self._run
        if not run:
            p = self._pending
            self._run_key = p if p is not None and p[0] == t.layer else None
            self._pending = None
        run.append(t)

    def repeat(self, layer: int, key: Hashable) -> bool:
        """True where block `layer` is of an earlier block's kind `key` (recorded: build
        nothing); False: build it now (its tensors become kind `key` if they can be stamped)."""
        self._close()
        k = self._by_key.get(key)
        if k is not None:
            self._blocks.append((k, layer))
            return True
        self._pending = (layer, key)
        return False

    def _close(self) -> None:
        run = self._run
        if not run:
            return
        layer = run[0].layer
        rk = self._run_key
        stamp = rk is not None and layer is not None and rk[0] == layer
        names = _split_names(run, layer) if stamp else None  # type: ignore[arg-type]
        k = len(self._kinds)
        self._kinds.append(LayerKind(layer, tuple(run), names or ()))
        self._blocks.append((k, layer))
        if names is not None:  # stampable: later blocks of its key reuse it
            self._by_key[rk[1]] = k  # type: ignore[index]
        self._run = []
        self._run_key = None

    def inventory(self) -> Inventory:
        """The tensors added, as an `Inventory`."""
        self._close()
        return Inventory(tuple(self._kinds), tuple(self._blocks))


Repeat = Callable[[int, Hashable], bool]
"""`LayerStamper.repeat`'s signature, for the pieces builders share (vision towers)."""


def build_every(layer: int, key: Hashable) -> bool:
    """A `Repeat` for a builder without a stamper: every block built."""
    return False


def flat_of(kinds: Callable[[Any], Inventory]) -> Callable[[Any], tuple[TensorSpec, ...]]:
    """A family's flat inventory function from its `Inventory` builder."""

    def inventory(config: Any) -> tuple[TensorSpec, ...]:
        return kinds(config).flat

    inventory.__doc__ = kinds.__doc__
    inventory.__name__ = getattr(kinds, "__name__", "inventory").removesuffix("_kinds")
    return inventory


def count_kind_params(inv: Inventory) -> ParamCounts:
    """`vramkit.model.tensors.count_params` of the flat inventory, each kind's tensors summed
    once × its block count (the same integers: a kind's blocks differ only in names)."""
    tensors = [t for kind in inv.kinds for t in kind.tensors]
    times = [n for kind, n in zip(inv.kinds, inv.kind_counts, strict=True) for _ in kind.tensors]
    return count_params(tensors, times)
