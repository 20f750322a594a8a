"""Figures of the bring-your-own-model notebook: bytes per tensor group, measured vs estimated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..units import GB
from . import PALETTE, new_figure


def group_bars(rows: Sequence[Mapping[str, Any]], *, title: str = "", ax: Any = None) -> Any:
    """Horizontal bars per group in GB (1e9 bytes): the architecture estimate and, where the
    headers were read, the measured bytes. `rows` from `vramkit.ingest.compare_with_estimate`."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    groups = [r["group"] for r in rows]
    ys = range(len(groups))
    est = [(r["estimate_bytes"] or 0) / GB for r in rows]
    meas = [(r["measured_bytes"] or 0) / GB for r in rows]
    has_measured = any(r["measured_bytes"] for r in rows)
    has_estimate = any(r["estimate_bytes"] for r in rows)
    h = 0.4 if has_measured and has_estimate else 0.8
    if has_estimate:
        off = -h / 2 if has_measured else 0.0
        ax.barh([y + off for y in ys], est, height=h, color=PALETTE["weights"],
                label="architecture estimate")  # fmt: skip
    if has_measured:
        off = h / 2 if has_estimate else 0.0
        ax.barh([y + off for y in ys], meas, height=h, color=PALETTE["kv"],
                label="measured (file headers)")  # fmt: skip
    ax.set_yticks(list(ys), groups)
    ax.invert_yaxis()
    ax.set_xlabel("GB (1e9 bytes)")
    ax.set_title(title or "Weight bytes per tensor group")
    ax.legend(loc="lower right")
    return fig
