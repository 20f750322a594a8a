"""The planner's questions (`vramkit.plan`'s front door): `solve` for a goal (speed, fit, the
longest context, the most sequences) with its flags, speed bound, curve and capacity; `plan_for`
(the best plan at one context), `context_speed_curve`, `capacity_table`, `choose_recipe` (the
recipe a goal picks) and `summary` (plain values for a dashboard or report). Imported on first
use through `vramkit.plan`: `fit` counts GPUs with `vramkit.plan.count` and never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, require_int, shown, unknown_name
from ..kv import check_context, parse_tokens
from ..quant import Recipe, get_recipe
from ..validate import require_bool
from .command_line import Flags
from .flags import flags_for
from .machine import Machine, build_machine, require_machine
from .margin import Margin, resolve_margin
from .placement import GOALS, any_plan_fits, best_plan, candidate_plans
from .recipes import LLAMACPP_RECIPES, smaller_recipes
from .record import Plan
from .search import max_int
from .speed import SpeedBound, plan_speed
from .verdict import Verdict, verdict

CURVE_CONTEXTS = (4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576)
"""Contexts the trade-off curve tries (tokens)."""


@dataclass(frozen=True)
class CurvePoint:
    """Best plan at one context: decode bound (tokens/s), experts layers on host, fits."""

    context: int
    fits: bool
    decode_tokens_per_s: float
    host_expert_layers: int
    gpu_bytes: int
    host_bytes: int
    limited_by: str = ""
    """What limits the decode bound at this context (`SpeedBound.limited_by`)."""


@dataclass(frozen=True)
class Solution:
    """A solved plan with its flags (None when it does not fit), speed bound, the curve and the
    verdict (fits / tight, why, what to try; `vramkit.plan.verdict`)."""

    goal: str
    plan: Plan
    flags: Flags | None
    speed: SpeedBound
    curve: tuple[CurvePoint, ...]
    capacity: Mapping[str, int]
    verdict: Verdict | None = None


def plan_for(
    model: str | ModelSpec,
    machine: Machine,
    *,
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    allow_extrapolation: bool = False,
    margin: object = None,
    ik: object = None,
) -> Plan:
    """The fitting plan with the best decode bound (or the least-overflowing one if none fits).
    A context past the model's limit is refused unless `allow_extrapolation` (`check_context`).
    `margin`: kept free per GPU ('1GiB', '10%', bytes; None: the engine's own, `vramkit.plan.margin`)."""
    machine = require_machine(machine)
    m = get_model(model)
    check_context(m, context, allow_extrapolation=allow_extrapolation)
    # a Recipe (resolved once by the caller, e.g. `solve`) is keyed by identity and held
    rkey = ("recipe", id(recipe)) if isinstance(recipe, Recipe) else recipe
    key: tuple[object, ...] | None = (id(m), id(machine), rkey, runtime, context, sequences,
                                      cache_dtype, ubatch, margin, ik)  # fmt: skip
    try:
        hit = _PLAN_MEMO.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable argument (a mapping, a list): not memoised
        key, hit = None, None
    if hit is not None and hit[0] is m and hit[1] is machine and hit[3] is recipe:
        return hit[2]
    plans = candidate_plans(m, machine, recipe=recipe, runtime=runtime, context=context,
                            sequences=sequences, cache_dtype=cache_dtype, ubatch=ubatch,
                            margin=margin, ik=ik)  # fmt: skip
    best = best_plan(plans, lambda p: plan_speed(p, machine, model=m).decode_tokens_per_s)
    if key is not None:
        if len(_PLAN_MEMO) > 512:
            _PLAN_MEMO.clear()
        _PLAN_MEMO[key] = (m, machine, best, recipe)
    return best


_PLAN_MEMO: dict[tuple[object, ...], tuple[ModelSpec, Machine, Plan, object]] = {}
"""`plan_for` per (model record, machine, arguments): a pure result of frozen inputs (the records
are held, so an id is not reused while its entry lives). The curve's contexts and a capacity
search's probes come back on every `solve` of the same model and machine."""


def _fits_at(m: ModelSpec, machine: Machine, **kw: object) -> bool:
    """Whether `plan_for` with these arguments finds a fitting plan: whether any candidate fits
    (`best_plan` returns a fitting one when there is one; `any_plan_fits`), without the speed
    bounds, which only rank the fitting ones."""
    kw = dict(kw)
    check_context(m, kw["context"], allow_extrapolation=kw.pop("allow_extrapolation", False))  # type: ignore[arg-type]
    return any_plan_fits(m, machine, **kw)  # type: ignore[arg-type]


MAX_SEQUENCES = 4096
"""Most concurrent sequences a plan takes, and the ceiling of the capacity search: a capacity
of `MAX_SEQUENCES` means at least that many fit (`capacity_note` says so)."""


MAX_CURVE_POINTS = 64
"""Most contexts one curve or capacity table takes."""


def _contexts(contexts: object, limit: int) -> list[int]:
    """The contexts a curve or table asks for, each read as `solve` reads one (an int or the
    token notation), those past the model's `limit` left out (as before); at most 64."""
    if isinstance(contexts, str | bytes) or not isinstance(contexts, tuple | list | range):
        raise VramkitError(
            f"contexts must be a list of token counts such as (4096, 32768, '1M'), got "
            f"{type(contexts).__name__} {shown(contexts)}."
        )
    if len(contexts) > MAX_CURVE_POINTS:
        raise VramkitError(f"at most {MAX_CURVE_POINTS} contexts, got {len(contexts):,}.")
    out = [require_int("context", parse_tokens(c), minimum=1) for c in contexts]
    return [c for c in out if c <= limit]


def capacity_note(capacity: Mapping[str, int], *, context: int, sequences: int, limit: int) -> str:
    """One line saying what the capacity search found, in words: 'nothing fits' when no plan
    fits even 1 token (or 1 sequence), 'at least N (search ceiling)' at the ceiling, the
    model's limit when the longest context is it."""
    mc, ms = capacity.get("max_context"), capacity.get("max_sequences")
    if mc is None or ms is None:
        return "Capacity: not searched"
    if mc == 0:
        ctx = f"nothing fits at {sequences} sequence(s), not even 1 token"
    else:
        ctx = f"longest context {mc:,} tokens at {sequences} sequence(s)"
        if mc >= limit:
            ctx += " (the model's limit)"
    if ms == 0:
        seq = f"nothing fits at {context:,} tokens, not even 1 sequence"
    elif ms >= MAX_SEQUENCES:
        seq = f"at least {ms:,} sequences of {context:,} tokens (search ceiling)"
    else:
        seq = f"at most {ms:,} sequence(s) of {context:,} tokens"
    return f"Capacity: {ctx}; {seq}"


def context_speed_curve(
    model: str | ModelSpec,
    machine: Machine,
    *,
    contexts: tuple[int, ...] = CURVE_CONTEXTS,
    **kw: object,
) -> tuple[CurvePoint, ...]:
    """Best plan per context: the context vs decode-bound trade-off (longer context → more KV on
    the GPUs → more expert layers pushed to host RAM → slower)."""
    machine = require_machine(machine)
    m = get_model(model)
    limit = int(m.config.get("max_position_embeddings") or 1_048_576)
    out = []
    for c in _contexts(contexts, limit):
        p = plan_for(m, machine, context=c, **kw)  # type: ignore[arg-type]
        s = plan_speed(p, machine, model=m)
        host = next(q for q in p.places if q.kind == "host")
        out.append(
            CurvePoint(
                context=c,
                fits=p.fits,
                decode_tokens_per_s=s.decode_tokens_per_s if p.fits else 0.0,
                host_expert_layers=len(host.expert_layers),
                gpu_bytes=sum(q.total_bytes for q in p.places if q.kind == "gpu"),
                host_bytes=host.total_bytes,
                limited_by=s.limited_by,
            )
        )
    return tuple(out)


def solve(
    model: str | ModelSpec,
    machine: Machine,
    *,
    goal: str = "speed",
    recipe: str | Recipe | None = None,
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    cache_dtype: str | None = None,
    ubatch: int = 512,
    curve: bool = True,
    capacity: bool = True,
    allow_extrapolation: bool = False,
    margin: object = None,
    ik: object = None,
) -> Solution:
    """Solve for `goal` (see the module docstring); returns the plan, its flags, bounds and curve.

    capacity: max_context (tokens, at `sequences`; 0: nothing fits, not even 1 token) and
    max_sequences (at `context`; 0: not even one; `MAX_SEQUENCES`: at least that many, the
    search's ceiling) over any plan (two galloping searches, ~40 plans); with ``capacity=False`` (goals speed and fit only) the
    mapping is empty and only the one plan is solved — what a dashboard's first draw needs.
    margin: kept free per GPU (None: the engine's own; `vramkit.plan.margin.resolve_margin`).
    The verdict searches what to try only when the plan is tight (a few more plans).
    """
    if not isinstance(goal, str) or goal not in GOALS:
        raise unknown_name("goal", goal, GOALS)
    machine = require_machine(machine)
    curve, capacity = require_bool("curve", curve), require_bool("capacity", capacity)
    m = get_model(model)  # the model, its family (m.family_record) and its recipe: resolved once
    rec = get_recipe(recipe if recipe is not None else m.checkpoint_layout)
    # an int, or the token notation "128K" / "1M" as everywhere; past the model's limit only
    # as an explicit what-if (`vramkit.kv.check_context`, the rule of kv and fit too)
    ctx = require_int("context", parse_tokens(context), minimum=1)
    check_context(m, ctx, allow_extrapolation=allow_extrapolation)
    seqs = require_int("sequences", sequences, minimum=1, maximum=MAX_SEQUENCES)
    kw = {"recipe": rec, "runtime": runtime, "cache_dtype": cache_dtype, "ubatch": ubatch,
          "allow_extrapolation": allow_extrapolation, "margin": margin, "ik": ik}  # fmt: skip
    mg = _margin_of(margin, runtime, machine)
    limit = int(m.config.get("max_position_embeddings") or 1_048_576)
    if not capacity and goal in ("context", "concurrency"):
        raise VramkitError(f"goal {goal!r} searches the capacity: it needs capacity=True.")
    max_ctx = max_seq = 0
    if capacity:
        max_ctx = max_int(1, limit, lambda c: _fits_at(m, machine, context=c, sequences=seqs, **kw))
        max_seq = max_int(
            1,
            MAX_SEQUENCES,
            lambda b: _fits_at(m, machine, context=ctx, sequences=b, **kw),
            gallop=True,
        )
    if goal == "context":
        ctx = max_ctx or ctx  # nothing fits: the plan at the asked context, overflowing least
    elif goal == "concurrency":
        seqs = max(max_seq, 1)
    p = plan_for(m, machine, context=ctx, sequences=seqs, **kw)  # type: ignore[arg-type]
    fl = flags_for(p, model=m) if p.fits else None
    pts = context_speed_curve(m, machine, sequences=seqs, **kw) if curve else ()
    base = {**kw, "context": ctx, "sequences": seqs}
    return Solution(
        goal=goal,
        plan=p,
        flags=fl,
        speed=plan_speed(p, machine, model=m),
        curve=pts,
        capacity=(
            {"max_context": max(max_ctx, 0), "max_sequences": max(max_seq, 0)} if capacity else {}
        ),
        verdict=verdict(
            p,
            mg.why,
            retry=lambda **ch: plan_for(m, machine, **{**base, **ch}),  # type: ignore[arg-type]
            smaller_recipes=lambda: smaller_recipes(m, rec, runtime),
        ),
    )


def _margin_of(margin: object, runtime: str, machine: Machine) -> Margin:
    """The margin `solve` keeps per GPU (checked once here; the plans resolve it the same way)."""
    from .placement import canonical_runtime, fraction_base

    rt = canonical_runtime(runtime)
    return resolve_margin(margin, rt, memory_bytes=fraction_base(machine, rt))


def capacity_table(
    model: str | ModelSpec,
    machine: Machine,
    *,
    contexts: tuple[int, ...] = (4096, 32768, 131072, 1048576),
    max_sequences: int = 256,
    **kw: object,
) -> tuple[tuple[int, int], ...]:
    """Concurrency × context capacity: (context, most sequences of that length any plan fits),
    0 when not even one fits (binary search over 1 … `max_sequences`; KV grows with both).
    A count equal to `max_sequences` is the search's ceiling: at least that many fit."""
    machine = require_machine(machine)
    top = require_int("max_sequences", max_sequences, minimum=1, maximum=MAX_SEQUENCES)
    m = get_model(model)
    limit = int(m.config.get("max_position_embeddings") or 1_048_576)
    out = []
    for c in _contexts(contexts, limit):
        best = max_int(1, top, lambda b, c=c: _fits_at(m, machine, context=c, sequences=b, **kw))
        out.append((c, max(best, 0)))
    return tuple(out)


@dataclass(frozen=True)
class RecipePick:
    """The recipe a goal chooses, why, and the runner-up.

    recipe_id / why: the choice and one sentence; runner_up / runner_up_why: the next choice under
    the same rule (None: no other recipe fits, or the runtime serves one layout only); tried:
    (recipe id, weight bytes, fits, decode bound in tokens/s — 0.0 when it does not fit) per
    recipe considered, largest file first."""

    recipe_id: str
    why: str
    runner_up: str | None = None
    runner_up_why: str | None = None
    tried: tuple[tuple[str, int, bool, float], ...] = ()


def choose_recipe(
    model: str | ModelSpec,
    machine: Machine,
    *,
    runtime: str = "llama.cpp",
    goal: str = "speed",
    **kw: object,
) -> RecipePick:
    """The recipe `goal` asks for (ONE rule for the CLI, the planner panel and `summary`).

    llama.cpp runtimes try every GGUF recipe in `LLAMACPP_RECIPES` at the given context and
    sequences: goal ``speed`` takes the fitting plan with the best decode bound (a tie goes to
    the larger file); ``fit``, ``context`` and ``concurrency`` take the largest file whose plan
    fits. None fits: the smallest file. vLLM / SGLang: the model's official checkpoint layout.
    """
    from ..quant import weight_bytes
    from .placement import planner_record

    if not isinstance(goal, str) or goal not in GOALS:
        raise unknown_name("goal", goal, GOALS)
    machine = require_machine(machine)
    m = get_model(model)
    if not planner_record(runtime).capabilities.serves_gguf:
        return RecipePick(
            m.checkpoint_layout, f"the official checkpoint layout ({runtime} serves it)"
        )
    from .speed_estimate import plan_decode_estimate

    tried = []
    est: dict[str, float] = {}  # recipe → decode estimate (tokens/s) where one exists
    for r in LLAMACPP_RECIPES:
        try:
            size = weight_bytes(m, r).total_bytes
        except VramkitError:
            continue
        p = plan_for(m, machine, recipe=r, runtime=runtime, **kw)  # type: ignore[arg-type]
        sp = plan_speed(p, machine, model=m) if p.fits else None
        tok_s = sp.decode_tokens_per_s if sp is not None else 0.0
        e = plan_decode_estimate(p, sp, m) if sp is not None and goal == "speed" else None
        if e is not None:
            est[r] = e.tokens_per_s
        tried.append((r, size, p.fits, tok_s))
    tried.sort(key=lambda t: t[1], reverse=True)
    fitting = [t for t in tried if t[2]]
    if not fitting:
        return RecipePick(tried[-1][0], "the smallest GGUF recipe (none fits)", tried=tuple(tried))

    def gb(t: tuple[str, int, bool, float]) -> str:
        if goal in ("context", "concurrency"):  # its plan is solved at another context / batch
            return f"{t[1] / 1e9:.1f} GB of weights"
        if t[0] in est:
            return (
                f"{t[1] / 1e9:.1f} GB of weights, decode estimate {est[t[0]]:.1f} tokens/s "
                f"(bound ≤ {t[3]:.1f} tokens/s)"
            )
        return f"{t[1] / 1e9:.1f} GB of weights, decode ≤ {t[3]:.1f} tokens/s"

    if goal == "speed":
        # rank by the decode estimate (vramkit.plan.speed_estimate) where one exists, else the bound
        ranked = sorted(fitting, key=lambda t: (est.get(t[0], t[3]), t[1]), reverse=True)
        by = (
            "decode estimate (the bound's step ÷ an efficiency + an overhead fitted on published "
            "runs)"
            if all(t[0] in est for t in fitting)
            else "decode estimate where one exists, else decode bound"
        )
        why = (
            f"goal speed: the best {by} among the {len(fitting)} GGUF recipes whose plan fits "
            f"({gb(ranked[0])})"
        )
    else:
        ranked = fitting
        why = f"goal {goal}: the largest GGUF recipe whose plan fits ({gb(ranked[0])})"
    second = ranked[1] if len(ranked) > 1 else None
    return RecipePick(
        ranked[0][0],
        why,
        second[0] if second else None,
        gb(second) if second else None,
        tuple(tried),
    )


def auto_recipe(
    model: str | ModelSpec,
    machine: Machine,
    *,
    runtime: str = "llama.cpp",
    goal: str = "speed",
    **kw: object,
) -> tuple[str, str]:
    """(recipe id, why) that `choose_recipe` picks for `goal`."""
    pick = choose_recipe(model, machine, runtime=runtime, goal=goal, **kw)
    return pick.recipe_id, pick.why


def _estimate_values(p: Plan, s: Solution, model: str | ModelSpec) -> dict[str, object] | None:
    """The decode estimate beside the plan's bound as plain values (`vramkit.plan.speed_estimate`),
    with the curve's per context; None when the plan does not fit."""
    from .speed_estimate import curve_estimates, plan_decode_estimate

    m = get_model(model)
    e = plan_decode_estimate(p, s.speed, m)
    if e is None:
        return None
    return {
        "tokens_per_s": e.tokens_per_s,
        "low_tokens_per_s": e.low_tokens_per_s,
        "high_tokens_per_s": e.high_tokens_per_s,
        "fitted": e.fitted,
        "limit": e.limit,
        "label": e.label,
        "curve": [None if c is None else c.tokens_per_s for c in curve_estimates(p, s.curve, m)],
    }


def summary(
    model: str,
    *,
    gpus: str | list[str] = "rtx-4090-24gb:2",
    ram: str | None = "128GB",
    runtime: str = "llama.cpp",
    context: int = 32768,
    sequences: int = 1,
    recipe: str | None = None,
    details: bool = True,
    margin: object = None,
) -> dict[str, object]:
    """Plain values for a dashboard or report (no pandas, no widgets): the best plan's fit, bytes
    per place (GB = 1e9 bytes), flags line, decode / prefill bounds and the context curve.

    `gpus` is a comma-separated string or a list of specs ('rtx-4090-24gb:2', '24GB@936GB/s').
    ``details=False`` solves the one plan only: no capacity search and no curve (max_context,
    max_sequences are None, curve is empty) — ~10× less work, for a first draw.
    `margin` as `solve`'s; each place carries its margin and headroom (GB), "verdict" the
    `Verdict` as plain values ({fits, tight, reasons, try, margin, headline}),
    "decode_estimate" the estimate beside the decode bound ({tokens_per_s, low / high, fitted,
    limit, label, curve: per context}; None when nothing fits; `vramkit.plan.speed_estimate`).
    Raises `VramkitError` on bad input.
    """
    details = require_bool("details", details)
    if not isinstance(gpus, str | list | tuple):
        raise VramkitError(
            f"gpus must be text such as 'rtx-4090-24gb:2,24GB@936GB/s' or a list of specs, got "
            f"{type(gpus).__name__} {shown(gpus)}."
        )
    if recipe is not None and not isinstance(recipe, str):
        raise VramkitError(f"recipe must be a recipe id (text) or None, got {shown(recipe)}.")
    specs = [s.strip() for s in gpus.split(",")] if isinstance(gpus, str) else list(gpus)
    machine = build_machine([s for s in specs if s], ram=ram)
    pick = (
        RecipePick(recipe, "given")
        if recipe
        else choose_recipe(
            model, machine, runtime=runtime, context=context, sequences=sequences, margin=margin
        )
    )
    rid, why = pick.recipe_id, pick.why
    s = solve(model, machine, recipe=rid, runtime=runtime, context=context, sequences=sequences,
              curve=details, capacity=details, margin=margin)  # fmt: skip
    p = s.plan
    return {
        "model": p.model_id,
        "machine": machine.describe(),
        "runtime": p.runtime,
        "recipe": p.recipe_id,
        "recipe_why": why,
        "runner_up": pick.runner_up,
        "runner_up_why": pick.runner_up_why,
        "fits": p.fits,
        "verdict": s.verdict.as_dict() if s.verdict else None,
        "places": [
            {
                "name": q.name,
                "total_gb": q.total_bytes / 1e9,
                "capacity_gb": q.capacity_bytes / 1e9,
                "margin_gb": q.margin_bytes / 1e9,
                "headroom_gb": q.headroom_bytes / 1e9,
                "layers": q.layers,
                "expert_layers": len(q.expert_layers),
            }
            for q in p.places
        ],
        "flags": s.flags.command if s.flags else None,
        "decode_tokens_per_s": s.speed.decode_tokens_per_s,
        "prefill_tokens_per_s": s.speed.prefill_tokens_per_s,
        "limited_by": s.speed.limited_by,
        "max_context": s.capacity.get("max_context"),
        "max_sequences": s.capacity.get("max_sequences"),
        "curve": [(c.context, c.fits, c.decode_tokens_per_s) for c in s.curve],
        "decode_estimate": _estimate_values(p, s, model),
        "plan": p,
        "solution": s,
    }
