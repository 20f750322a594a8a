"""The placement search, engine-neutral: every plan a runtime's knobs allow (`candidate_plans`),
whether any fits (`any_plan_fits`) and the best of them (`best_plan`). Which bytes go where is
the engine's own rule, asked through the registry by the record's ``placement`` capability
(`vramkit.runtimes.planning`): llama.cpp's layer split (`vramkit.runtimes.llamacpp.placement`),
vLLM's and SGLang's ranks (`vramkit.runtimes.vllm.placement`). One `Plan`
(`vramkit.plan.record`) per (model, recipe, machine, runtime, context, sequences and the
engine's knobs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, require_int, shown, unknown_name
from ..kv import parse_tokens
from ..quant import Recipe
from ..runtimes import Runtime, get_runtime, planner_runtimes
from .layers import layer_costs
from .machine import Machine
from .margin import resolve_margin
from .record import Plan, PlanArgs

if TYPE_CHECKING:
    from ..runtimes.planning import PlacementRules

GOALS = ("speed", "fit", "context", "concurrency")


def canonical_runtime(runtime: str) -> str:
    """A runtime id or alias (`vramkit.runtimes.get_runtime`) → the id of a runtime the planner
    places models for (`planner_runtimes`: 'llama.cpp', 'ik_llama.cpp', 'vllm', 'sglang')."""
    rt = None
    if isinstance(runtime, str):
        try:
            rt = get_runtime(runtime)
        except VramkitError:
            rt = None
    if rt is None or not rt.plans:
        raise unknown_name("planner runtime", runtime, planner_runtimes())
    return rt.short_name


def planner_record(runtime: str) -> Runtime:
    """The runtime record of a planner runtime (`canonical_runtime`), for its capabilities."""
    return get_runtime(canonical_runtime(runtime))


# ── the solver ───────────────────────────────────────────────────────────────────────────────
def candidate_plans(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    expert_parallel: bool = True,
    margin: object = None,
    ik: object = None,
) -> list[Plan]:
    """Every placement the runtime's knobs allow at this context (llama.cpp: --n-cpu-moe 0…n).
    `margin`: bytes kept free per GPU (`vramkit.plan.margin.resolve_margin`; None: the engine's)."""
    return list(
        iter_candidate_plans(model, machine, recipe=recipe, runtime=runtime, context=context,
                             sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                             expert_parallel=expert_parallel, margin=margin, ik=ik)
    )  # fmt: skip


def iter_candidate_plans(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    expert_parallel: bool = True,
    margin: object = None,
    ik: object = None,
) -> Iterator[Plan]:
    """`candidate_plans` one at a time (the checks run at the first `next`)."""
    return _candidates(model, machine, recipe=recipe, runtime=runtime, context=context,
                       sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                       expert_parallel=expert_parallel, margin=margin, ik=ik)  # fmt: skip


def any_plan_fits(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    expert_parallel: bool = True,
    margin: object = None,
    ik: object = None,
) -> bool:
    """Whether any of `candidate_plans` (same arguments) fits, stopping at the first that fits
    (no speed bounds): the engine's own `any_fits` (llama.cpp's builds no plan:
    `vramkit.runtimes.llamacpp.placement.any_fits`)."""
    a = resolve_args(model, machine, recipe=recipe, runtime=runtime, context=context,
                     sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                     expert_parallel=expert_parallel, margin=margin, ik=ik)  # fmt: skip
    return engine_rules(a.runtime).any_fits(a)


def fraction_base(machine: Machine, runtime: str) -> int | None:
    """Bytes the runtime's memory fraction (and a margin given as a size) is taken of on the
    smallest GPU: the CUDA total for vLLM / SGLang where recorded (`Device.fraction_total`), else
    what the GPU may fill; None for a machine with no GPU. The one place `plan`, `fit` and the
    API ask."""
    of_cuda = get_runtime(runtime).capabilities.fraction_of_cuda_total
    return min((d.fraction_total(of_cuda) for d in machine.devices), default=None)


def resolve_args(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None,
    runtime: str,
    context: int,
    sequences: int,
    cache_dtype: str | None,
    ubatch: int,
    expert_parallel: bool,
    margin: object,
    ik: object = None,
) -> PlanArgs:
    """The search's arguments checked and resolved once (the model, its layer costs, the
    runtime's planner name, margin and engine options)."""
    from ..validate import require_bool
    from .machine import require_machine

    machine = require_machine(machine)
    expert_parallel = require_bool("expert_parallel", expert_parallel)
    if cache_dtype is not None and not isinstance(cache_dtype, str):
        raise VramkitError(
            f"cache_dtype must be a KV cache dtype id such as 'bf16' or 'q8_0', or None, got "
            f"{type(cache_dtype).__name__} {shown(cache_dtype)}."
        )
    m = get_model(model)
    rt = canonical_runtime(runtime)
    costs = layer_costs(m, recipe)
    ctx = require_int("context", parse_tokens(context), minimum=1)
    seqs = require_int("sequences", sequences, minimum=1, maximum=4096)
    ub = require_int("ubatch", ubatch, minimum=1, maximum=65536)
    caps = get_runtime(rt).capabilities
    mg = resolve_margin(margin, rt, memory_bytes=fraction_base(machine, rt))
    from ..runtimes.engines import engine_options

    ik = engine_options(rt, ik)
    return PlanArgs(m, machine, rt, costs, ctx, seqs, cache_dtype, ub, expert_parallel, mg,
                 caps.placement == "layers", bool(caps.pipeline_parallel), ik)  # fmt: skip


def _candidates(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None,
    runtime: str,
    context: int,
    sequences: int,
    cache_dtype: str | None,
    ubatch: int,
    expert_parallel: bool,
    margin: object,
    ik: object = None,
) -> Iterator[Plan]:
    a = resolve_args(model, machine, recipe=recipe, runtime=runtime, context=context,
                     sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                     expert_parallel=expert_parallel, margin=margin, ik=ik)  # fmt: skip
    yield from engine_rules(a.runtime).candidates(a)


def engine_rules(runtime: str) -> PlacementRules:
    """The runtime's placement rules (`vramkit.runtimes.planning`, by its record's capability)."""
    from ..runtimes.planning import placement_rules

    return placement_rules(runtime)


def best_plan(plans: list[Plan], speed_of) -> Plan:
    """The fitting plan with the highest decode bound (`speed_of(plan)` → tokens/s; within 0.1% of
    the best, the one with the fewest expert layers on the host); if none fits, the one with the
    least overflow (so a report can say by how much)."""
    fitting = [p for p in plans if p.fits]
    if fitting:
        speeds = [speed_of(p) for p in fitting]
        top = max(speeds)
        near = [p for p, s in zip(fitting, speeds, strict=True) if s >= top * (1 - 1e-3)]
        return min(near, key=lambda p: int(p.knobs.get("n_cpu_moe", 0)))  # type: ignore[call-overload]
    return min(plans, key=lambda p: sum(max(0, q.total_bytes - q.capacity_bytes) for q in p.places))
