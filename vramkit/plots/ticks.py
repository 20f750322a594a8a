"""Human tick labels shared by every figure: token counts as 1K … 1M, never 2^10 or '1,024K'."""

from __future__ import annotations

from typing import Any


def fmt_tokens(n: float) -> str:
    """131072 → '128K', 1048576 → '1M' (K = 1024, M = 1024**2), 1536 → '1.5K', 100 → '100'."""
    n = float(n)
    for size, unit in ((2**20, "M"), (2**10, "K")):
        if n >= size:
            value = n / size
            return f"{value:,.0f}{unit}" if value.is_integer() else f"{value:,.3g}{unit}"
    return f"{n:,.0f}"


def token_axis(axis: Any, ticks: list[int] | None = None) -> None:
    """Put token-count ticks (powers of two by default, every other one) on a matplotlib axis
    (`ax.xaxis`), labelled by `fmt_tokens`, with no minor ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if ticks is None:
        lo, hi = axis.get_view_interval()
        ticks = [2**k for k in range(0, 31, 2) if lo * 0.999 <= 2**k <= hi * 1.001]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_tokens(v)))
    axis.set_minor_locator(NullLocator())


def log_number_axis(axis: Any) -> None:
    """Label a log axis at 1-2-5 steps (…, 50, 100, 200, 500, 1,000, …) in plain numbers with
    thousands separators, instead of matplotlib's bare powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
