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
from . import ik_llama_rules as ik_rules
from .ik_llama import IkLlamaLayout
from .llamacpp.cuda import IK_RULES, LLAMACPP_RULES, CudaRules
from .llamacpp.kv import LlamaCppLayout, with_v_cache
from .llamacpp.memory import budget_compute_bytes
from .reference import ReferenceLayout
from .sglang import SglangLayout
from .sglang_draft import sglang_draft
from .vllm.kv import VllmLayout
from .vllm.memory import budget_workspace_bytes

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
    "ik-llama.cpp": ik_rules.budget_compute_bytes,
    "vllm": budget_workspace_bytes,
}
"""Runtime id → its compute-buffer function (model, context=, batch=, cache_dtype=, n_ubatch=)
→ bytes or (bytes, note); only runtimes whose record says ``compute_buffer_computed``."""


CUDA_RULES: Mapping[str, CudaRules] = {"llama.cpp": LLAMACPP_RULES, "ik-llama.cpp": IK_RULES}
"""Runtime id → the terms its CUDA backend adds to a GPU plan (`vramkit.runtimes.llamacpp.cuda`)."""


def cuda_rules(runtime: str | Runtime) -> CudaRules | None:
    """The CUDA terms of a runtime's engine, or None (no llama.cpp-style CUDA backend)."""
    return CUDA_RULES.get(get_runtime(runtime).id)


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


MTP_DRAFTS: Mapping[str, Callable[..., Any]] = {"sglang": sglang_draft}
"""Runtime id → its own MTP/NextN draft sizing (model, recipe, tp=, experts_split=) → the draft
per GPU; a runtime without one spreads the MTP module over the GPUs (`vramkit.plan.count`)."""


def mtp_draft(runtime: str | Runtime) -> Callable[..., Any] | None:
    """The runtime's own draft-model sizing, or None (see `MTP_DRAFTS`)."""
    return MTP_DRAFTS.get(get_runtime(runtime).id)


# ── engine options: switches a runtime's plans take beyond the shared ones ───────────────────
ENGINE_OPTIONS: Mapping[str, type] = {"ik-llama.cpp": ik_rules.IkOptions}
"""Runtime id → the options type its plans take (ik_llama.cpp: -mla, -amb, -fmoe, -fa)."""

KV_COMPONENT_RULES: Mapping[str, Callable[..., list[Any]]] = {
    "ik_llama.cpp": ik_rules.ik_components,
}
"""KV layout name → its own rule from parts to components (ik_llama.cpp: -mla, q8_KV rows)."""


def engine_options(runtime: str | Runtime, options: object) -> object:
    """`options` checked for `runtime` (None stays None); a runtime that takes none refuses any."""
    if options is None:
        return None
    rt = get_runtime(runtime)
    kind = ENGINE_OPTIONS.get(rt.id)
    if kind is None:
        names = ", ".join(get_runtime(r).short_name for r in ENGINE_OPTIONS)
        raise VramkitError(
            f"engine options (-mla, -amb, -fmoe) apply to runtime {names} only, not "
            f"{rt.short_name}; leave them unset."
        )
    if kind is ik_rules.IkOptions:
        return ik_rules.require_options(options)
    return options


def kv_options(runtime: str | Runtime, options: object) -> dict[str, object]:
    """The `vramkit.kv.kv_cache` keywords a runtime's engine options set (ik_llama.cpp: mla,
    flash_attn); {} without options."""
    if options is None or ENGINE_OPTIONS.get(get_runtime(runtime).id) is not ik_rules.IkOptions:
        return {}
    o = ik_rules.require_options(options)
    return {"mla": o.mla, "flash_attn": o.flash_attn, "swa_compress": o.swa_compress}


def host_expert_sequence(runtime: str | Runtime, options: object) -> Callable[..., Any] | None:
    """The host expert layer's intermediates a runtime's engine allocates when not llama.cpp's
    (ik_llama.cpp with -fmoe, its default: one fused up/gate output); None: llama.cpp's."""
    if ENGINE_OPTIONS.get(get_runtime(runtime).id) is not ik_rules.IkOptions:
        return None
    return ik_rules.fused_expert_sequence if ik_rules.require_options(options).fmoe else None


def option_flags(options: object) -> tuple[str, ...]:
    """The command-line flags a plan's engine options spell (defaults left out)."""
    flags = getattr(options, "flags", ())
    return tuple(flags)


def kv_components(profile: KvProfile, parts: Iterable[Any], cfg: Mapping[str, Any], cache: Any,
                  build: Callable[[Any], Any], make: Callable[..., Any]) -> list[Any]:  # fmt: skip
    """The KV components of `parts` under this layout: its own rule when it has one
    (`KV_COMPONENT_RULES`), else `build(part)` for each (the shared per-vector rule)."""
    rule = KV_COMPONENT_RULES.get(profile.layout)
    if rule is None:
        return [build(p) for p in parts]
    o = profile.options
    return rule(
        list(parts), cfg, cache, build, make, mla=o["mla"], flash_attn=bool(o["flash_attn"])
    )
