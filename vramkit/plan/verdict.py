"""A plan's verdict a user can act on: fits or not, tight or not, why, and what to try.

fits   every place within its capacity with the margin kept free (`Place.fits`).
tight  it fits, but host RAM is past `HOST_TIGHT` of what was offered (``--ram`` is what the
       runtime may fill; the OS and other processes need their share beyond it), or a GPU planned
       with no margin has less than `GPU_TIGHT` of its memory free.
try    concrete changes the planner checked: a smaller GGUF recipe or a shorter context whose plan
       fits without being tight, and the RAM that would bring the host under `HOST_TIGHT`.
Faces (CLI, JSON, dashboard) only format a `Verdict`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .record import HOST_FILL_WARN, Plan

HOST_TIGHT = HOST_FILL_WARN
"""Share of the host RAM offered above which a fitting plan is 'tight' (0.90, the share past
which the plan's note says the OS is squeezed)."""
GPU_TIGHT = 0.01
"""Share of a GPU's memory below which its free bytes make a plan 'tight' when no margin is kept."""


@dataclass(frozen=True)
class Verdict:
    """fits / tight (bools), reasons (one line each: what is short or tight, with bytes in GB =
    1e9), tries (changes the planner checked, as command-line options with what they give),
    margin (how the per-GPU margin was chosen), room (the GPU with the least headroom beyond its
    margin, in words; "" when no GPU holds anything)."""

    fits: bool
    tight: bool
    reasons: tuple[str, ...]
    tries: tuple[str, ...]
    margin: str
    room: str = ""

    @property
    def headline(self) -> str:
        """'fits (least headroom: …)', 'fits, tight: …; try …' or 'does NOT fit: …' in one line."""
        if not self.fits:
            head = "does NOT fit: " + "; ".join(self.reasons)
        elif self.tight:
            head = "fits, tight: " + "; ".join(self.reasons)
        else:
            head = f"fits ({self.room})" if self.room else "fits"
        if self.tries:
            head += "; try " + " or ".join(self.tries)
        return head

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON: {fits, tight, reasons, try, margin, room, headline}."""
        return {
            "fits": self.fits,
            "tight": self.tight,
            "reasons": list(self.reasons),
            "try": list(self.tries),
            "margin": self.margin,
            "room": self.room,
            "headline": self.headline,
        }


def host_share(plan: Plan) -> float | None:
    """Share of the offered host RAM the plan fills (None: no host RAM offered)."""
    for q in plan.places:
        if q.kind == "host" and q.capacity_bytes:
            return q.total_bytes / q.capacity_bytes
    return None


def plan_reasons(plan: Plan) -> tuple[bool, tuple[str, ...]]:
    """(tight, reasons) of one plan: places short of room when it does not fit, else what makes
    it tight (see the module docstring); no search."""
    reasons = []
    if not plan.fits:
        for q in plan.places:
            if not q.fits:
                extra = f" + {q.margin_bytes / 1e9:,.2f} GB margin" if q.margin_bytes else ""
                reasons.append(
                    f"{q.name} needs {q.total_bytes / 1e9:,.2f} GB{extra} of "
                    f"{q.capacity_bytes / 1e9:,.2f} GB (short {-q.headroom_bytes / 1e9:,.2f} GB)"
                )
        return False, tuple(reasons)
    for q in plan.places:
        if q.kind == "host" and q.capacity_bytes:
            share = q.total_bytes / q.capacity_bytes
            if share > HOST_TIGHT:
                reasons.append(
                    f"host RAM {share:.0%} used ({q.total_bytes / 1e9:,.1f} of "
                    f"{q.capacity_bytes / 1e9:,.1f} GB offered; past {HOST_TIGHT:.0%} the OS and "
                    "other processes are squeezed)"
                )
        elif (
            q.kind == "gpu"
            and q.margin_bytes == 0
            and q.total_bytes
            and q.headroom_bytes < GPU_TIGHT * q.capacity_bytes
        ):
            reasons.append(
                f"{q.name} {q.total_bytes / q.capacity_bytes:.1%} full with no margin kept "
                f"({q.headroom_bytes / 1e9:,.2f} GB free)"
            )
    return bool(reasons), tuple(reasons)


def verdict(
    plan: Plan,
    margin: str,
    *,
    retry: Callable[..., Plan] | None = None,
    smaller_recipes: tuple[str, ...] | Callable[[], tuple[str, ...]] = (),
    min_context: int = 4096,
) -> Verdict:
    """The verdict of `plan`. When it is tight and `retry(**changes)` re-plans with changes
    (recipe=…, context=…), the first of `smaller_recipes` (largest first) and the longest halved
    context ≥ `min_context` whose plan fits without being tight are offered as tries, with the
    RAM that brings the host under `HOST_TIGHT`. `smaller_recipes` may be a function giving
    them: it is called only for a tight plan (sizing every smaller recipe costs a weight sum
    each, which a plan that fits with room, or does not fit, never reads)."""
    tight, reasons = plan_reasons(plan)
    tries: list[str] = []
    if plan.fits and tight:
        host = next((q for q in plan.places if q.kind == "host"), None)
        if retry is not None:
            smaller = smaller_recipes() if callable(smaller_recipes) else smaller_recipes
            for r in smaller:
                q = retry(recipe=r)
                if q.fits and not plan_reasons(q)[0]:
                    tries.append(f"--recipe {r}{_host_text(q)}")
                    break
            ctx = plan.context // 2
            while retry is not None and ctx >= min_context:
                q = retry(context=ctx)
                if q.fits and not plan_reasons(q)[0]:
                    tries.append(f"--context {ctx}{_host_text(q)}")
                    break
                ctx //= 2
        if host is not None and host.total_bytes > HOST_TIGHT * host.capacity_bytes:
            need = math.ceil(host.total_bytes / HOST_TIGHT / 1e9)
            tries.append(f"--ram {need}GB (if installed: host RAM then ≤ {HOST_TIGHT:.0%} used)")
    return Verdict(plan.fits, plan.fits and tight, reasons, tuple(tries), margin, _room(plan))


def _room(plan: Plan) -> str:
    """The used GPU with the least headroom beyond its margin, in words (GB = 1e9)."""
    used = [q for q in plan.places if q.kind == "gpu" and q.total_bytes]
    if not used:
        return ""
    q = min(used, key=lambda p: p.headroom_bytes)
    kept = (
        f"beyond its {q.margin_bytes / 1e9:,.2f} GB margin" if q.margin_bytes else "no margin kept"
    )
    return f"least headroom: {q.name} {q.headroom_bytes / 1e9:,.2f} GB free, {kept}"


def _host_text(plan: Plan) -> str:
    share = host_share(plan)
    return "" if share is None else f" (host RAM {share:.0%} used)"
