"""`OnFirstUse`: the runtime registries' mapping whose records are built on first lookup
(`vramkit.runtimes.planning`'s placement rules, `vramkit.runtimes.flag_writers`' writers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class OnFirstUse(Mapping[str, T], Generic[T]):
    """Name → record, each built on its first lookup by a function that imports its engine's
    module: a question about one runtime (`fit` on vLLM) imports that engine's placement and
    flags only. The imports are written out in those functions, where the layering tests see
    them."""

    def __init__(self, builders: Mapping[str, Callable[[], T]]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, T] = {}

    def __getitem__(self, name: str) -> T:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)
