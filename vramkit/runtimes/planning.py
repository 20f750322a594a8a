"""Each engine's placement and command line, as the planner asks them: the record's
``placement`` capability (one of `vramkit.runtimes.PLACEMENTS`) names its `PlacementRules`, its
``flag_style`` (`FLAG_STYLES`) its `FlagWriter`. The planner (`vramkit.plan.placement`,
`vramkit.plan.flags`) asks here and never compares a runtime's id.

A registry of Python functions, beside `vramkit.runtimes.engines` (the KV and compute-buffer
rules the accounting asks): this one sits above `vramkit.plan`'s records and costs, which the
engines' placements build on, so the accounting never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ..errors import VramkitError
from ..plan.record import Flags, Plan, PlanArgs
from . import Runtime, get_runtime
from .ik_llama_flags import ik_llama_flags
from .llamacpp import flags as llamacpp_flags
from .llamacpp import placement as layers
from .sglang_flags import sglang_flags
from .vllm import placement as ranks
from .vllm.flags import vllm_flags


@dataclass(frozen=True)
class PlacementRules:
    """One placement kind: `candidates` (every plan its knobs allow, in order), `any_fits` (the
    same yes/no, stopping at the first that fits), `plan` (one plan at fixed knobs: the kind's
    own keywords) and `host_compute` (the host's compute buffer and its note, where the engine
    runs layers on the CPU; None where it does not)."""

    candidates: Callable[[PlanArgs], Iterator[Plan]]
    any_fits: Callable[[PlanArgs], bool]
    plan: Callable[..., Plan]
    host_compute: Callable[..., tuple[int, str]] | None = None


PLACEMENT_RULES: Mapping[str, PlacementRules] = {
    "layers": PlacementRules(
        layers.candidates, layers.any_fits, layers.llamacpp_plan, layers.host_compute_buffer
    ),
    "ranks": PlacementRules(ranks.candidates, ranks.any_fits, ranks.served_plan),
}
"""Record capability ``placement`` → its rules (llama.cpp's layer split; vLLM's ranks, which
SGLang shares)."""


@dataclass(frozen=True)
class FlagWriter:
    """One command-line style: `write(plan, model=…, **options)` → `Flags`; `options`: the
    keywords it takes beyond the model."""

    write: Callable[..., Flags]
    options: tuple[str, ...] = ()


_LLAMA_OPTIONS = ("flash_attn", "use_n_cpu_moe")
FLAG_WRITERS: Mapping[str, FlagWriter] = {
    "llama-server": FlagWriter(llamacpp_flags.llamacpp_flags, _LLAMA_OPTIONS),
    "ik-llama-server": FlagWriter(ik_llama_flags, _LLAMA_OPTIONS),
    "vllm-serve": FlagWriter(vllm_flags),
    "sglang-launch": FlagWriter(sglang_flags),
}
"""Record capability ``flag_style`` → its writer."""
FLAG_OPTIONS = tuple(sorted({o for w in FLAG_WRITERS.values() for o in w.options}))
"""Every option some writer takes (`vramkit.plan.flags.flags_for` refuses any other)."""


def placement_rules(runtime: str | Runtime) -> PlacementRules:
    """The placement rules of a runtime the planner places models for."""
    rt = get_runtime(runtime)
    kind = rt.capabilities.placement
    if kind is None:
        raise VramkitError(f"runtime {rt.short_name} has no placement: the planner places none.")
    return PLACEMENT_RULES[kind]


def flag_writer(runtime: str | Runtime) -> FlagWriter:
    """The command-line writer of a runtime (its record's ``flag_style``)."""
    rt = get_runtime(runtime)
    style = rt.capabilities.flag_style
    if style is None:
        raise VramkitError(f"runtime {rt.short_name} has no command line the kit writes.")
    return FLAG_WRITERS[style]
