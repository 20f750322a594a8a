"""The planner's searches for the largest value that fits: `max_int`, a bisection over a monotone
yes/no (the capacity searches of `vramkit.plan.solver`, `fit`'s longest context in
`vramkit.plan.count`)."""

from __future__ import annotations

from collections.abc import Callable


def max_int(lo: int, hi: int, ok: Callable[[int], bool], *, gallop: bool = False) -> int:
    """Largest x in [lo, hi] with ok(x), given ok is monotone (True then False); lo-1 if none.

    Bisection after trying lo and hi; with `gallop`, lo+1, lo+2, lo+4 … first (fewer plans when
    the answer is small, as sequence counts are). Every value returned was tried, and lo-1
    means nothing in [lo, hi] fits."""
    if not ok(lo):
        return lo - 1
    good, bad = lo, hi + 1
    if gallop:
        step = 1
        while good < hi:
            probe = min(hi, good + step)
            if not ok(probe):
                bad = probe
                break
            good, step = probe, step * 2
    elif ok(hi):
        return hi
    else:
        bad = hi
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if ok(mid) else (good, mid)
    return good
