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

# Each engine's module is imported by the rule that calls it, on its first call: a question about
# one runtime (`fit` on vLLM) imports that engine's rules only, not every engine's. The imports
# are written out (not "module:function" strings) so the import-layer tests see every edge.


def _reference_layout(options: Mapping[str, int], cache_dtype: str) -> KvLayout:
    from .reference import ReferenceLayout

    return ReferenceLayout.build(options, cache_dtype)


def _vllm_layout(options: Mapping[str, int], cache_dtype: str) -> KvLayout:
    from .vllm.kv import VllmLayout

    return VllmLayout.build(options, cache_dtype)


def _llamacpp_layout(options: Mapping[str, int], cache_dtype: str) -> KvLayout:
    from .llamacpp.kv import LlamaCppLayout

    return LlamaCppLayout.build(options, cache_dtype)


def _sglang_layout(options: Mapping[str, int], cache_dtype: str) -> KvLayout:
    from .sglang import SglangLayout

    return SglangLayout.build(options, cache_dtype)


def _ik_llama_layout(options: Mapping[str, int], cache_dtype: str) -> KvLayout:
    from .ik_llama import IkLlamaLayout

    return IkLlamaLayout.build(options, cache_dtype)


KV_LAYOUT_BUILDERS: Mapping[str, Callable[[Mapping[str, int], str], KvLayout]] = {
    "reference": _reference_layout,
    "vllm": _vllm_layout,
    "llama.cpp": _llamacpp_layout,
    "sglang": _sglang_layout,
    "ik_llama.cpp": _ik_llama_layout,
}
"""KV layout name (data/runtimes.yaml ``kv.layout``) → its builder (options, cache dtype)."""


def _llamacpp_compute(*args: Any, **kwargs: Any) -> Any:
    from .llamacpp.memory import budget_compute_bytes

    return budget_compute_bytes(*args, **kwargs)


def _ik_llama_compute(*args: Any, **kwargs: Any) -> Any:
    from .ik_llama_rules import budget_compute_bytes

    return budget_compute_bytes(*args, **kwargs)


def _vllm_workspace(*args: Any, **kwargs: Any) -> Any:
    from .vllm.memory import budget_workspace_bytes

    return budget_workspace_bytes(*args, **kwargs)


COMPUTE_BUFFERS: Mapping[str, Callable[..., Any]] = {
    "llama.cpp": _llamacpp_compute,
    "ik-llama.cpp": _ik_llama_compute,
    "vllm": _vllm_workspace,
}
"""Runtime id → its compute-buffer function (model, context=, batch=, cache_dtype=, n_ubatch=)
→ bytes or (bytes, note); only runtimes whose record says ``compute_buffer_computed``."""


def _llamacpp_cuda() -> Any:
    from .llamacpp.cuda import LLAMACPP_RULES

    return LLAMACPP_RULES


def _ik_llama_cuda() -> Any:
    from .ik_llama_cuda import IK_RULES

    return IK_RULES


CUDA_RULES: Mapping[str, Callable[[], Any]] = {
    "llama.cpp": _llamacpp_cuda,
    "ik-llama.cpp": _ik_llama_cuda,
}
"""Runtime id → its CUDA backend's rules (`vramkit.runtimes.llamacpp.cuda.CudaRules`: the terms
it adds to a GPU plan), each in its engine's own module, read on first use like the other
engines' rules."""


def cuda_rules(runtime: str | Runtime) -> Any:
    """The CUDA terms of a runtime's engine (`vramkit.runtimes.llamacpp.cuda.CudaRules`), or None
    (no llama.cpp-style CUDA backend)."""
    load = CUDA_RULES.get(get_runtime(runtime).id)
    return load() if load is not None else None


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
    if not profile.has("v_cache_on_every_layer"):
        return parts
    from .llamacpp.kv import with_v_cache

    return with_v_cache(parts)


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


def _sglang_draft(*args: Any, **kwargs: Any) -> Any:
    from .sglang_draft import sglang_draft

    return sglang_draft(*args, **kwargs)


MTP_DRAFTS: Mapping[str, Callable[..., Any]] = {"sglang": _sglang_draft}
"""Runtime id → its own MTP/NextN draft sizing (model, recipe, tp=, experts_split=) → the draft
per GPU; a runtime without one spreads the MTP module over the GPUs (`vramkit.plan.count`)."""


def mtp_draft(runtime: str | Runtime) -> Callable[..., Any] | None:
    """The runtime's own draft-model sizing, or None (see `MTP_DRAFTS`)."""
    return MTP_DRAFTS.get(get_runtime(runtime).id)


# ── engine options: switches a runtime's plans take beyond the shared ones ───────────────────
def _ik_options(options: object) -> Any:
    from .ik_llama_rules import require_options

    return require_options(options)


ENGINE_OPTIONS: Mapping[str, Callable[[object], Any]] = {"ik-llama.cpp": _ik_options}
"""Runtime id → the check of the options its plans take, returning them typed (ik_llama.cpp:
`IkOptions`: -mla, -amb, -fmoe, -fa)."""


def _ik_components(*args: Any, **kwargs: Any) -> list[Any]:
    from .ik_llama_rules import ik_components

    return ik_components(*args, **kwargs)


KV_COMPONENT_RULES: Mapping[str, Callable[..., list[Any]]] = {
    "ik_llama.cpp": _ik_components,
}
"""KV layout name → its own rule from parts to components (ik_llama.cpp: -mla, q8_KV rows)."""


def engine_options(runtime: str | Runtime, options: object) -> object:
    """`options` checked for `runtime` (None stays None); a runtime that takes none refuses any."""
    if options is None:
        return None
    rt = get_runtime(runtime)
    check = ENGINE_OPTIONS.get(rt.id)
    if check is None:
        names = ", ".join(get_runtime(r).short_name for r in ENGINE_OPTIONS)
        raise VramkitError(
            f"engine options (-mla, -amb, -fmoe) apply to runtime {names} only, not "
            f"{rt.short_name}; leave them unset."
        )
    return check(options)


def kv_options(runtime: str | Runtime, options: object) -> dict[str, object]:
    """The `vramkit.kv.kv_cache` keywords a runtime's engine options set (ik_llama.cpp: mla,
    flash_attn); {} without options."""
    check = None if options is None else ENGINE_OPTIONS.get(get_runtime(runtime).id)
    if check is None:
        return {}
    o = check(options)
    return {"mla": o.mla, "flash_attn": o.flash_attn, "swa_compress": o.swa_compress}


def host_expert_sequence(runtime: str | Runtime, options: object) -> Callable[..., Any] | None:
    """The host expert layer's intermediates a runtime's engine allocates when not llama.cpp's
    (ik_llama.cpp with -fmoe, its default: one fused up/gate output); None: llama.cpp's."""
    check = ENGINE_OPTIONS.get(get_runtime(runtime).id)
    if check is None or not check(options).fmoe:
        return None
    from .ik_llama_rules import fused_expert_sequence

    return fused_expert_sequence


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
