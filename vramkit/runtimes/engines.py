"""Each runtime record paired with its engine's Python rules: the KV layout its profile names and
the compute-buffer function of a runtime whose record says ``compute_buffer_computed``.

The registry (`vramkit.runtimes`) reads data only and imports no engine, so the engines can read
the registry; this module, above both, is where a rule written in Python is registered — never
as a "module:function" string in data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import VramkitError, unknown_name
from ..kv.layout import KvLayout
from . import KvProfile, Runtime, get_runtime
from .ik_llama import IkLlamaLayout
from .llamacpp.kv import LlamaCppLayout, with_v_cache
from .llamacpp.memory import budget_compute_bytes
from .reference import ReferenceLayout
from .sglang import SglangLayout
from .vllm.kv import VllmLayout

KV_LAYOUT_BUILDERS: Mapping[str, Callable[[Mapping[str, int], str], KvLayout]] = {
    "reference": ReferenceLayout.build,
    "vllm": VllmLayout.build,
    "llama.cpp": LlamaCppLayout.build,
    "sglang": SglangLayout.build,
    "ik_llama.cpp": IkLlamaLayout.build,
}
"""KV layout name (data/runtimes.yaml ``kv.layout``) → its builder (options, cache dtype)."""

COMPUTE_BUFFERS: Mapping[str, Callable[..., Any]] = {
    "llama.cpp": budget_compute_bytes,
}
"""Runtime id → its compute-buffer function (model, context=, batch=, cache_dtype=, n_ubatch=)
→ bytes or (bytes, note); only runtimes whose record says ``compute_buffer_computed``."""


def kv_layout(profile: KvProfile, cache_dtype: str) -> KvLayout:
    """The `KvLayout` a runtime's KV profile names, for caches stored as `cache_dtype`."""
    try:
        make = KV_LAYOUT_BUILDERS[profile.layout]
    except KeyError:
        raise unknown_name("KV layout", profile.layout, KV_LAYOUT_BUILDERS) from None
    return make(profile.options, cache_dtype)


def kv_parts(profile: KvProfile, parts: Iterable[Any]) -> list[Any]:
    """The family's KV parts as this layout stores them (a V cache added where the layout keeps
    one on every non-MLA layer, trait ``v_cache_on_every_layer``)."""
    parts = list(parts)
    return with_v_cache(parts) if profile.has("v_cache_on_every_layer") else parts


def compute_buffer(runtime: str | Runtime) -> Callable[..., Any] | None:
    """The runtime's compute-buffer function, or None when a fixed workspace figure stands for
    it (the record's ``compute_buffer_computed`` is false)."""
    rt = get_runtime(runtime)
    if not rt.capabilities.compute_buffer_computed:
        return None
    fn = COMPUTE_BUFFERS.get(rt.id)
    if fn is None:  # a record says computed but no rule is registered: a packaging fault
        raise VramkitError(f"runtime {rt.id}: no compute-buffer function registered.")
    return fn
