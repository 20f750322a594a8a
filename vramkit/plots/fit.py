"""Figures of the GPU-fit notebook: per-GPU budget bars and the min-GPU-count heatmap.

Device memory is in GiB (2**30 bytes) in every figure here, as in the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..budget import Budget
from ..units import GiB
from . import PALETTE, new_figure


def budget_bar(b: Budget, *, ax: Any = None) -> Any:
    """One stacked bar of a GPU's GiB (weights, KV, workspace, overhead), each labelled with its
    size, against the usable line (dashed) and the device memory (dotted)."""
    fig, ax = new_figure(figsize=(8.0, 2.8)) if ax is None else (ax.figure, ax)
    parts = [
        ("weights", b.weights_bytes, PALETTE["weights"]),
        ("KV cache", b.kv_bytes + b.reserve_bytes, PALETTE["kv"]),
        ("workspace", b.workspace_bytes, PALETTE["activations"]),
        ("overhead", b.overhead_bytes, PALETTE["overhead"]),
    ]
    left = 0.0
    for name, value, color in parts:
        ax.barh([0], [value / GiB], left=left, color=color, label=f"{name} {value / GiB:,.1f}")
        left += value / GiB
    ax.axvline(b.usable_bytes / GiB, color="black", linestyle="--",
               label=f"usable {b.usable_bytes / GiB:,.1f}")  # fmt: skip
    ax.axvline(b.memory_bytes / GiB, color="grey", linestyle=":",
               label=f"device {b.memory_bytes / GiB:,.1f}")  # fmt: skip
    ax.set_xlim(0, max(left, b.memory_bytes / GiB) * 1.04)
    ax.set_yticks([])
    ax.set_xlabel("GiB per GPU (2^30 bytes)")
    verdict = "fits" if b.fits else "does NOT fit"
    ax.set_title(
        f"{b.model_id} · {b.recipe_id}\n{b.count} × {b.gpu_id} ({b.parallel}): {verdict}",
        fontsize=10,
    )
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.42), title="GiB", fontsize=8)
    return fig


def text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on a cell of colour `rgba` (WCAG relative
    luminance L = 0.2126 R + 0.7152 G + 0.0722 B of the linearised channels; black if L > 0.179)."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgba[:3])
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "white"


def min_gpus_heatmap(rows: Sequence[Mapping[str, Any]], *, gpu: str, ax: Any = None) -> Any:
    """Heatmap of the smallest GPU count that fits: rows model × recipe, columns context; colour
    = log2(count) with a colour bar in counts; '-' (grey) = no count up to 256 fits."""
    import matplotlib as mpl
    import numpy as np

    fig, ax = new_figure(figsize=(8.0, 5.5)) if ax is None else (ax.figure, ax)
    keys = list(dict.fromkeys((r["model"], r["recipe"]) for r in rows))
    contexts = sorted({r["context"] for r in rows})
    grid = np.full((len(keys), len(contexts)), np.nan)
    for r in rows:
        if r["min_gpus"] is not None:
            grid[keys.index((r["model"], r["recipe"])), contexts.index(r["context"])] = r[
                "min_gpus"
            ]
    cmap = mpl.colormaps["cividis"].with_extremes(bad="#d9d9d9")
    norm = mpl.colors.Normalize(vmin=0, vmax=8)  # 2**0 … 2**8 = 256 GPUs
    image = ax.imshow(np.ma.masked_invalid(np.log2(grid)), cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(keys)):
        for j in range(len(contexts)):
            v = grid[i, j]
            colour = "black" if np.isnan(v) else text_colour(cmap(norm(np.log2(v))))
            ax.text(j, i, "-" if np.isnan(v) else f"{v:.0f}", ha="center", va="center",
                    color=colour, fontsize=11)  # fmt: skip
    bar = fig.colorbar(image, ax=ax, ticks=range(0, 9), fraction=0.05, pad=0.02)
    bar.ax.set_yticklabels([str(2**k) for k in range(0, 9)])
    bar.set_label("GPUs (log scale)")
    from .ticks import fmt_tokens

    ax.set_xticks(range(len(contexts)), [fmt_tokens(c) for c in contexts])
    ax.set_yticks(range(len(keys)), [f"{m.removeprefix('deepseek-')} / {r}" for m, r in keys])
    ax.grid(False)
    ax.set_xlabel("context (tokens; K = 1024, M = 1024²)")
    ax.set_title(f"Smallest number of {gpu} that fits ('-': more than 256)")
    return fig
