"""Placement planner: machine (GPUs + host RAM + disk) × model × recipe × runtime → where every
tensor group lives, the runtime flags that realise it, and speed / capacity bounds.

    from vramkit.plan import build_machine, solve
    m = build_machine(["rtx-4090-24gb:2"], ram="128GB")
    r = solve("deepseek-v4-flash", m, runtime="llama.cpp", context=65536, recipe="ds4-q2")
    r.plan, r.flags.command, r.speed.decode_tokens_per_s, r.curve

Goals: ``speed`` (the fastest decode bound that fits at the given context and sequences),
``fit`` (the same plan, reported as fits / does not), ``context`` (the longest context with
any fitting plan), ``concurrency`` (the most sequences at the given context).
`vramkit.budget.budget` is the no-offload special case (tests check they agree).
"""

from __future__ import annotations

# `X as X`: offered here as before the solver moved out, not in `__all__` (the records those
# modules build are ones a count of GPUs builds too: nothing is imported for them alone)
from .machine import (
    Device,
    Machine,
    build_machine,
    local_machine,
    resolve_machine,
)
from .machine import require_machine as require_machine
from .margin import Margin, engine_margin, resolve_margin
from .placement import GOALS
from .placement import any_plan_fits as any_plan_fits
from .placement import best_plan as best_plan
from .placement import candidate_plans as candidate_plans
from .recipes import LLAMACPP_RECIPES as LLAMACPP_RECIPES
from .recipes import smaller_recipes as smaller_recipes
from .record import COMPONENTS, Place, Plan
from .search import max_int as max_int
from .speed import SpeedBound, plan_speed
from .verdict import Verdict
from .verdict import verdict as verdict

__all__ = [
    "COMPONENTS",
    "GOALS",
    "CurvePoint",
    "Device",
    "Disk",
    "Flags",
    "Host",
    "Machine",
    "Margin",
    "Place",
    "Plan",
    "RecipePick",
    "Solution",
    "SpeedBound",
    "Verdict",
    "auto_recipe",
    "build_machine",
    "capacity_note",
    "capacity_table",
    "choose_recipe",
    "context_speed_curve",
    "engine_margin",
    "flags_for",
    "local_machine",
    "plan_for",
    "plan_speed",
    "resolve_machine",
    "resolve_margin",
    "solve",
    "summary",
]

SOLVER_NAMES = frozenset(
    {
        "CURVE_CONTEXTS", "MAX_CURVE_POINTS", "MAX_SEQUENCES", "CurvePoint", "RecipePick",
        "Solution", "auto_recipe", "capacity_note", "capacity_table", "choose_recipe",
        "context_speed_curve", "plan_for", "solve", "summary",
    }
)  # fmt: skip
"""Names this package offers from `vramkit.plan.solver`, imported on first use: `fit` counts GPUs
through `vramkit.plan.count`, which runs this file, and never needs the solver, its records or
the flag writers (Python builds a frozen dataclass's methods at import, ~0.6 ms each)."""


def __getattr__(name: str) -> object:
    """The solver's names, the command line's (`flags_for`, `Flags`) and the host records
    (`Host`, `Disk`) on first use (PEP 562)."""
    if name in SOLVER_NAMES:
        from . import solver as module
    elif name == "flags_for":
        from . import flags as module
    elif name == "Flags":
        from . import command_line as module
    elif name in ("Host", "Disk"):
        from . import host as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *SOLVER_NAMES, "flags_for", "Flags", "Host", "Disk"})
