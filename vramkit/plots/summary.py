"""Figures of the summary notebook: weights per recipe, resident vs active bytes."""

from __future__ import annotations

from typing import Any

from ..article.headline import DENSE_BASELINE, Headline, active_ratio
from ..catalog import get_model
from ..units import GB
from . import PALETTE, new_figure


def _short(model_id: str) -> str:
    """'deepseek-v4-flash-base' → 'V4-Flash\nBase' (two short lines under a bar group)."""
    name = model_id.removeprefix("deepseek-")
    parts = [p.capitalize() if p.isalpha() else p.upper() for p in name.split("-")]
    return "-".join(parts[:2]) + ("\n" + " ".join(parts[2:]) if len(parts) > 2 else "")


def weights_by_recipe(h: Headline, *, ax: Any = None) -> Any:
    """Grouped bars: weight GB (1e9 bytes) of each model under each recipe; returns the Figure."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    n = len(h.recipes)
    width = 0.8 / n
    for j, rec in enumerate(h.recipes):
        xs = [i + (j - (n - 1) / 2) * width for i in range(len(h.model_ids))]
        ys = [h.weight(m, rec).total_bytes / GB for m in h.model_ids]
        ax.bar(xs, ys, width=width, label=rec)
    ax.set_xticks(range(len(h.model_ids)), [_short(m) for m in h.model_ids])
    ax.set_ylabel("weights, GB (1e9 bytes)")
    ax.set_title("Weight memory by storage recipe")
    ax.legend(title="recipe", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


GPU_LINES_GB = (("24 GB GPU", 24), ("80 GB GPU", 80))
"""Reference lines of the teaching picture: a 24 GB consumer card and an 80 GB datacentre GPU."""


def active_vs_resident(h: Headline, *, dense: str | None = DENSE_BASELINE, ax: Any = None) -> Any:
    """The teaching picture: per model, the weights that must be resident (whole model) next to
    what one token reads, both in GB (1e9 bytes) on a linear axis from 0 (a log axis drew the
    12.7× of V4-Flash about 2× tall) under each model's official
    layout, with 24 GB and 80 GB GPU lines; N = resident ÷ active on top. `dense` (a catalog id,
    default Llama-2-13B; None leaves it out) adds a real dense model of the active size, whose
    resident bytes are its active bytes (its own official layout: FP16 for Llama 2)."""
    fig, ax = new_figure(figsize=(8.6, 4.8)) if ax is None else (ax.figure, ax)
    ratios = list(h.ratios)
    xs = range(len(ratios))
    resident = [r.resident_bytes / GB for r in ratios]
    active = [r.active_bytes / GB for r in ratios]
    ax.bar([x - 0.2 for x in xs], resident, 0.4, label="MoE resident: every expert in memory",
           color=PALETTE["weights"])  # fmt: skip
    ax.bar([x + 0.2 for x in xs], active, 0.4, color=PALETTE["active"],
           label="MoE active: what one token reads")  # fmt: skip
    for x, r in zip(xs, ratios, strict=True):
        ax.annotate(f"{r.ratio:.1f}×", (x - 0.2, r.resident_bytes / GB), ha="center",
                    va="bottom", fontsize=10, fontweight="bold")  # fmt: skip
        ax.annotate(f"{r.active_params / 1e9:.1f} B", (x + 0.2, r.active_bytes / GB),
                    ha="center", va="bottom", fontsize=8)  # fmt: skip
    ticks = [_short(r.model_id) for r in ratios]
    if dense is not None:
        d = active_ratio(dense)
        x, gb = len(ratios), d.resident_bytes / GB
        bpp = d.resident_bytes / d.main_params  # 2 bytes a parameter for a 16-bit checkpoint
        dtype = get_model(dense).config.get("torch_dtype", d.recipe_id)
        name = _short(d.model_id).replace("\n", "-")
        ax.bar([x], [gb], 0.5, color=PALETTE["active"], edgecolor=PALETTE["weights"], hatch="//",
               label=f"dense {name}, {dtype} ({bpp:.0f} bytes/param): resident = active")  # fmt: skip
        ax.annotate(f"1.0×, {d.main_params / 1e9:.1f} B", (x, gb), ha="center", va="bottom",
                    fontsize=8, fontweight="bold")  # fmt: skip
        ticks.append(_short(d.model_id) + " dense")
        resident.append(gb)
        active.append(gb)
    for label, gb in GPU_LINES_GB:  # in the legend: on a linear axis the two lines sit close
        ax.axhline(gb, color="black", linestyle=":" if gb < 50 else "--", linewidth=1, label=label)
    ax.set_ylim(0, max(resident) * 1.12)
    ax.set_xlim(-0.6, len(ticks) - 0.4)
    ax.set_xticks(range(len(ticks)), ticks)
    ax.set_ylabel("GB (1e9 bytes), official layout, linear scale")
    ax.set_title("“N B active” is not “fits like N B”: resident vs active weights")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return fig


def budget_bars(b: Any, *, ax: Any = None) -> Any:
    """The per-GPU budget bar (`vramkit.plots.fit.budget_bar`, GiB): one picture everywhere."""
    from .fit import budget_bar

    return budget_bar(b, ax=ax)
