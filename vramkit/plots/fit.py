"""Figures of the GPU-fit notebook: per-GPU budget bars and the min-GPU-count heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..budget import Budget
from ..units import GB
from . import PALETTE, new_figure


def budget_bar(b: Budget, *, ax: Any = None) -> Any:
    """One stacked bar of a GPU's bytes (weights, KV, workspace, overhead) against usable memory."""
    fig, ax = new_figure(figsize=(8.0, 2.6)) if ax is None else (ax.figure, ax)
    parts = [
        ("weights", b.weights_bytes, PALETTE["weights"]),
        ("KV cache", b.kv_bytes + b.reserve_bytes, PALETTE["kv"]),
        ("workspace", b.workspace_bytes, PALETTE["activations"]),
        ("overhead", b.overhead_bytes, PALETTE["overhead"]),
    ]
    left = 0.0
    for name, value, color in parts:
        ax.barh([0], [value / GB], left=left, color=color, label=name)
        left += value / GB
    ax.axvline(b.usable_bytes / GB, color="black", linestyle="--", label="usable")
    ax.set_yticks([])
    ax.set_xlabel("GB per GPU (1e9 bytes)")
    verdict = "fits" if b.fits else "does not fit"
    ax.set_title(f"{b.model_id} {b.recipe_id} on {b.count} x {b.gpu_id} ({b.parallel}): {verdict}")
    ax.legend(ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.45))
    return fig


def min_gpus_heatmap(rows: Sequence[Mapping[str, Any]], *, gpu: str, ax: Any = None) -> Any:
    """Heatmap of the smallest GPU count that fits: rows model × recipe, columns context."""
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
    ax.imshow(np.log2(grid), cmap="viridis_r", aspect="auto")
    for i in range(len(keys)):
        for j in range(len(contexts)):
            v = grid[i, j]
            ax.text(
                j,
                i,
                "-" if np.isnan(v) else f"{v:.0f}",
                ha="center",
                va="center",
                color="white" if not np.isnan(v) and v < 16 else "black",
            )
    ax.set_xticks(range(len(contexts)), [f"{c // 1024}K" for c in contexts])
    ax.set_yticks(range(len(keys)), [f"{m.removeprefix('deepseek-')} / {r}" for m, r in keys])
    ax.grid(False)
    ax.set_xlabel("context (tokens, K = 1024)")
    ax.set_title(f"Smallest number of {gpu} that fits ('-': more than 256)")
    return fig
