"""Architecture families: one module per family, each exporting one `Family` record, and the
registry every other module asks (`get_family`, `family_of_model_type`, `gguf_model_types`).

A `Family` says everything vramkit knows about one architecture: the config fields it reads
(`Family.config_fields`, declared `ConfigField`s), its tensor inventory (every weight tensor,
shapes from the reference code), its layer kinds, its KV cache components counted in values
(`KvPart`; `vramkit.kv` turns values into bytes per runtime and dtype), the config ``model_type`` values and GGUF architectures it reads, its checkpoint's
stored layout when the family has its own rule, and the recipes worth trying on it.

How to add a family
-------------------
1. Write ``vramkit/families/<name>.py``. First declare the config fields it reads, once, as a
   tuple of `ConfigField` (``_schema.py``)::

       FIELDS = (
           *GQA_FIELDS,  # shared declarations in _common.py: HIDDEN, LAYERS, HEADS, KV_HEADS …
           ConfigField("num_experts", "count", "routed experts per layer (0: dense)",
                       keys=("num_local_experts", "num_experts"),  # aliases, first set wins
                       unit="experts", default=0),
       )

   A field has a kind (``dim``: a whole number in 1..bound, ``count`` / ``layers``: 0 allowed,
   ``bool``, ``float``: finite, ``str``, ``any``: a list or object the family checks itself), a
   unit, a default (a constant, None for optional, a function of the other fields, or
   `REQUIRED`), bounds and a one-line meaning; its GGUF metadata name comes from `GGUF_KEYS`.
   The family code reads the config only through ``v = read_config(FIELDS, config)`` and
   ``v.<field>``: each field is checked on first use, so every family refuses a missing key, a
   wrong type, a 0 or negative dimension, a NaN or two disagreeing aliases with the same
   `VramkitError` wording. Never ``config.get(...)`` in a family.
   Then an inventory as layer kinds, ``config -> Inventory`` (`vramkit.model.inventory`): add
   the tensors through a ``LayerStamper`` (``add = stamper.add``, with the pieces in
   ``_common.py``: ``_gqa``, ``_mlp``, ``_routed``, ``_embedding`` …) and, before building block
   ``i``, ``if stamper.repeat(i, key): continue`` with ``key`` naming every decision the
   block's tensors depend on (dense or MoE, the mixer kind …); ``flat_of`` gives the flat
   ``config -> tuple[TensorSpec]`` from it. A KV function ``(config, include_mtp) ->
   tuple[KvPart]``, and at module level::

       FAMILY = Family(name="<name>", summary="…", model_types=("<hf model_type>",),
                       gguf_archs={"<gguf arch>": "<hf model_type>"},
                       inventory=flat_of(<name>_kinds), tensor_kinds=<name>_kinds,
                       layer_kinds=…, kv_parts=…, config_fields=FIELDS)

   A builder that returns a flat tuple (``inventory=`` alone) still works: each block is then
   its own kind. ``tests/catalog/test_inventory_kinds.py`` checks a stamped builder against
   every block built.

   ``vramkit models --fields <name>`` then lists what the family reads.
   The registry finds every module of this package that defines ``FAMILY`` (modules whose name
   starts with ``_`` are helpers), on first lookup: the module is named as its family, so
   `get_family` imports just that one. Nothing outside ``families/`` names a family.
2. Its data: a catalog entry in ``data/models.yaml`` (``family: <name>``, the config and its
   sources) or an example ``config.json`` under ``data/examples/``. If a runtime stores this
   family's cache in its own packed layout, list the family under that cache dtype's
   ``entry_bytes`` (``data/kv_cache_formats.yaml``) and under the runtime's ``kv.fp8_means``
   (``data/runtimes.yaml``).
3. Tests: the tensor inventory against the published parameter count, the KV bytes against a
   runtime's own figure, and the golden file regenerated (``tools/golden.py``) for the new model.

`register(family)` adds a family at run time (a plug-in, or a test's toy family).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from functools import cache

from ..errors import VramkitError, unknown_name
from ._common import torch_dtype_format
from ._record import KV_RULES, KV_STORES, Family, KvPart
from ._schema import (
    CONFIG_BOUNDS,
    GGUF_KEYS,
    REQUIRED,
    ConfigField,
    ConfigValues,
    check_config,
    field_rows,
    read_config,
    whole_numbers,
)
from ._vision import uncounted_towers

__all__ = [
    "CONFIG_BOUNDS", "FAMILIES", "GGUF_KEYS", "KV_RULES", "KV_STORES", "REQUIRED", "ConfigField", "ConfigValues",
    "Family", "KvPart", "check_config", "family_of_model_type", "field_rows", "get_family", "gguf_model_types",
    "model_types", "read_config", "register", "torch_dtype_format", "uncounted_towers",
    "unregister", "whole_numbers",
]  # fmt: skip

_REGISTRY: dict[str, Family] = {}
_ALL_LOADED = False
"""Family modules load on first lookup: `get_family(name)` imports ``families/<name>.py`` alone;
anything that needs every family (`FAMILIES`, `model_types`, `register`) imports them all once."""


class _Families(Mapping[str, Family]):
    """Family name → `Family`: a read-only view of the registry that loads every family module
    the first time it is read."""

    def __getitem__(self, name: str) -> Family:
        _discover()
        return _REGISTRY[name]

    def __iter__(self) -> Iterator[str]:
        _discover()
        return iter(dict(_REGISTRY))

    def __len__(self) -> int:
        _discover()
        return len(_REGISTRY)

    def __repr__(self) -> str:
        _discover()
        return f"FAMILIES({_REGISTRY!r})"


FAMILIES: Mapping[str, Family] = _Families()
"""Family name → `Family` (read-only view of the registry)."""


def register(family: Family) -> Family:
    """Add `family` to the registry; its name and model_types must be new (or the same record)."""
    _discover()
    return _add(family)


def _add(family: Family) -> Family:
    if not isinstance(family, Family):
        raise VramkitError(f"register() takes a Family record, got {type(family).__name__}.")
    old = _REGISTRY.get(family.name)
    if old is not None and old is not family:
        raise VramkitError(f"architecture family {family.name!r} is registered already.")
    taken = {t: f.name for f in _REGISTRY.values() if f is not old for t in f.model_types}
    clash = sorted(t for t in family.model_types if t in taken)
    if clash:
        raise VramkitError(
            f"model_type {clash[0]!r} of family {family.name!r} belongs to {taken[clash[0]]!r}."
        )
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a family added by `register` (tests, plug-ins); unknown names are an error."""
    get_family(name)
    del _REGISTRY[name]


@cache
def _module_names() -> tuple[str, ...]:
    """The family modules of this package (names not starting with ``_``)."""
    return tuple(i.name for i in pkgutil.iter_modules(__path__) if not i.name.startswith("_"))


def _load(module_name: str) -> None:
    """Import one family module and register its `FAMILY` (once; a module without one is a helper)."""
    module = importlib.import_module(f"{__name__}.{module_name}")
    family = getattr(module, "FAMILY", None)
    if isinstance(family, Family) and _REGISTRY.get(family.name) is not family:
        _add(family)


def _discover() -> None:
    """Load every family module (once)."""
    global _ALL_LOADED
    if _ALL_LOADED:
        return
    for name in _module_names():
        _load(name)
    _ALL_LOADED = True


def get_family(name: str | Family) -> Family:
    """The `Family` record named `name` (a clear error with the nearest names otherwise)."""
    if isinstance(name, Family):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        pass
    if isinstance(name, str) and not _ALL_LOADED:
        if name in _module_names():  # a family is named as its module: load that one only
            _load(name)
        else:
            _discover()
        if name in _REGISTRY:
            return _REGISTRY[name]
    _discover()
    raise unknown_name("architecture family", name, _REGISTRY) from None


def model_types() -> dict[str, str]:
    """config.json ``model_type`` → family name, over every registered family."""
    _discover()
    return {t: f.name for f in _REGISTRY.values() for t in f.model_types}


def family_of_model_type(model_type: str) -> Family | None:
    """The family that reads configs of `model_type`, or None."""
    name = model_types().get(model_type)
    return None if name is None else _REGISTRY[name]


def gguf_model_types() -> dict[str, str]:
    """GGUF ``general.architecture`` → HF ``model_type``, over every registered family."""
    _discover()
    return {arch: t for f in _REGISTRY.values() for arch, t in f.gguf_archs.items()}
