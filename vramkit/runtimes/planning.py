"""Each engine's placement, as the planner asks it: the record's ``placement`` capability (one of
`vramkit.runtimes.PLACEMENTS`) names its `PlacementRules`. The planner (`vramkit.plan.placement`)
asks here and never compares a runtime's id; its command line (``flag_style``) has its own
registry, `vramkit.runtimes.flag_writers`.

A registry of Python functions, beside `vramkit.runtimes.engines` (the KV and compute-buffer
rules the accounting asks): this one sits above `vramkit.plan`'s records and costs, which the
engines' placements build on, so the accounting never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ..errors import VramkitError
from ..plan.record import Plan, PlanArgs
from . import Runtime, get_runtime
from ._on_first_use import OnFirstUse


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


def _layers() -> PlacementRules:
    from .llamacpp import placement as layers

    return PlacementRules(
        layers.candidates, layers.any_fits, layers.llamacpp_plan, layers.host_compute_buffer
    )


def _ranks() -> PlacementRules:
    from .vllm import placement as ranks

    return PlacementRules(ranks.candidates, ranks.any_fits, ranks.served_plan)


PLACEMENT_RULES: Mapping[str, PlacementRules] = OnFirstUse({"layers": _layers, "ranks": _ranks})
"""Record capability ``placement`` → its rules (llama.cpp's layer split; vLLM's ranks, which
SGLang shares)."""


def placement_rules(runtime: str | Runtime) -> PlacementRules:
    """The placement rules of a runtime the planner places models for."""
    rt = get_runtime(runtime)
    kind = rt.capabilities.placement
    if kind is None:
        raise VramkitError(f"runtime {rt.short_name} has no placement: the planner places none.")
    return PLACEMENT_RULES[kind]
