"""Figures of the placement notebook: bytes per place by component, context vs decode bound."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..plan import COMPONENTS, CurvePoint, Plan
from ..units import GB
from . import PALETTE, new_figure

_COLORS = {
    "attention+dense": PALETTE["weights"],
    "shared experts": "#64B5CD",
    "routed experts": PALETTE["active"],
    "embeddings/output": "#8172B3",
    "KV cache": PALETTE["kv"],
    "compute buffer": PALETTE["activations"],
    "runtime overhead": PALETTE["overhead"],
}


def placement_bars(plan: Plan, *, ax: Any = None) -> Any:
    """Stacked bars (GB = 1e9 bytes), one per place (GPUs, host), by component, with each place's
    capacity marked. Returns the Figure."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    names = [p.name for p in plan.places]
    bottom = [0.0] * len(names)
    for comp in COMPONENTS:
        vals = [p.bytes_by_component[comp] / GB for p in plan.places]
        if any(vals):
            ax.bar(names, vals, bottom=bottom, label=comp, color=_COLORS[comp])
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    for i, p in enumerate(plan.places):
        ax.hlines(p.capacity_bytes / GB, i - 0.4, i + 0.4, colors="black", linestyles="--")
    ax.set_ylabel("GB (1e9 bytes); dashed: capacity")
    ax.set_title(f"{plan.model_id} ({plan.recipe_id}, {plan.runtime}) at {plan.context:,} tokens")
    ax.legend(fontsize=8, ncols=2)
    return fig


def context_speed(curves: Mapping[str, Sequence[CurvePoint]], *, ax: Any = None) -> Any:
    """Decode bound (tokens/s, an upper bound) vs context (log2 axis), one line per machine;
    contexts where no plan fits are left out. Returns the Figure."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    for label, pts in curves.items():
        ok = [p for p in pts if p.fits]
        if ok:
            ax.plot(
                [p.context for p in ok],
                [p.decode_tokens_per_s for p in ok],
                marker="o",
                label=label,
            )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("context (tokens)")
    ax.set_ylabel("decode bound (tokens/s, upper bound)")
    ax.set_title("Longer context → more KV on the GPUs → more experts in RAM → slower")
    ax.legend(fontsize=8)
    return fig
