"""Modules that are also their main function: ``vramkit.budget(...)`` and ``vramkit.ingest(...)``.

`vramkit.budget` names both a submodule and the function `budget.budget` of the public API.
Python binds a package attribute to a submodule when it is first imported, so a plain lazy
attribute would hand out the function once and the module afterwards ("'module' object is not
callable"). These modules are instead made callable: calling one calls its function of the same
name, and its other names stay reachable (``vramkit.budget.min_gpus``).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


class CallableModule(ModuleType):
    """A module whose call is its function named like the module (the last dotted part)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.__name__.rpartition(".")[2])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Turn the already-imported module `module_name` into a `CallableModule`."""
    sys.modules[module_name].__class__ = CallableModule
