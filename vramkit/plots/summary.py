"""Figures of the summary notebook: weights per recipe, resident vs active bytes."""

from __future__ import annotations

from typing import Any

from ..summary import Headline
from ..units import GB
from . import PALETTE, new_figure


def weights_by_recipe(h: Headline, *, ax: Any = None) -> Any:
    """Grouped bars: weight GB (1e9 bytes) of each model under each recipe; returns the Figure."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    n = len(h.recipes)
    width = 0.8 / n
    for j, rec in enumerate(h.recipes):
        xs = [i + (j - (n - 1) / 2) * width for i in range(len(h.model_ids))]
        ys = [h.weight(m, rec).total_bytes / GB for m in h.model_ids]
        ax.bar(xs, ys, width=width, label=rec)
    ax.set_xticks(range(len(h.model_ids)), h.model_ids, rotation=10)
    ax.set_ylabel("weights, GB (1e9 bytes)")
    ax.set_title("Weight memory by storage recipe")
    ax.legend(title="recipe")
    return fig


def active_vs_resident(h: Headline, *, ax: Any = None) -> Any:
    """Bars of resident vs active bytes (GB) per model, each annotated with N = resident/active."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    xs = range(len(h.ratios))
    resident = [r.resident_bytes / GB for r in h.ratios]
    active = [r.active_bytes / GB for r in h.ratios]
    ax.bar([x - 0.2 for x in xs], resident, 0.4, label="resident (whole model)")
    ax.bar([x + 0.2 for x in xs], active, 0.4, label="active per token", color=PALETTE["active"])
    for x, r in zip(xs, h.ratios, strict=True):
        ax.annotate(
            f"{r.ratio:.1f}×",
            (x - 0.2, r.resident_bytes / GB),
            ha="center",
            va="bottom",
        )
    ax.set_xticks(list(xs), [r.model_id for r in h.ratios], rotation=10)
    ax.set_ylabel("GB (1e9 bytes), official layout")
    ax.set_title("“N B active” understates memory: resident ÷ active bytes")
    ax.legend()
    return fig


def budget_bars(b: Any, *, ax: Any = None) -> Any:
    """One stacked bar of per-GPU GiB (weights, KV, overhead) against the usable line.

    `b` is a `vramkit.budget.Budget`; overhead = workspace + runtime overhead + reserve.
    """
    from ..units import GiB

    fig, ax = new_figure(figsize=(6.0, 3.0)) if ax is None else (ax.figure, ax)
    parts = (
        ("weights", b.weights_bytes),
        ("kv", b.kv_bytes),
        ("overhead", b.workspace_bytes + b.overhead_bytes + b.reserve_bytes),
    )
    left = 0.0
    for name, n in parts:
        ax.barh([0], [n / GiB], left=left, color=PALETTE[name], label=f"{name} {n / GiB:,.1f} GiB")
        left += n / GiB
    ax.axvline(b.usable_bytes / GiB, color="black", ls="--", label="usable")
    ax.axvline(b.memory_bytes / GiB, color="grey", ls=":", label="device memory")
    ax.set_yticks([])
    ax.set_xlabel("per GPU, GiB (2**30 bytes)")
    verdict = "fits" if b.fits else "does NOT fit"
    ax.set_title(f"{b.model_id} on {b.count} × {b.gpu_id} ({b.parallel}): {verdict}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=5, fontsize=8)
    return fig
