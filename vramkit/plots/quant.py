"""Figures of the quantization notebook: bits-per-weight anatomy, variants × recipes, the audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..anatomy import FormatAnatomy
from ..article.audit import DiffRow, FirstPrinciplesRow
from ..units import GB
from . import PALETTE, new_figure


def bits_anatomy(rows: Sequence[FormatAnatomy], *, ax: Any = None) -> Any:
    """Stacked horizontal bars: nominal bits + scale overhead = bits per weight; returns the Figure."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    ys = range(len(rows))
    nominal = [r.nominal_bits for r in rows]
    extra = [r.overhead_bits for r in rows]
    ax.barh(ys, nominal, color=PALETTE["weights"], label="nominal element bits")
    ax.barh(ys, extra, left=nominal, color=PALETTE["kv"], label="scales / block metadata")
    for y, r in zip(ys, rows, strict=True):
        ax.annotate(f"{r.bits_per_weight:.4g}", (r.bits_per_weight, y), xytext=(3, 0),
                    textcoords="offset points", va="center")  # fmt: skip
    ax.set_yticks(list(ys), [r.name for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, max(r.bits_per_weight for r in rows) * 1.15)
    ax.set_xlabel("bits per weight")
    ax.set_title("What a weight really costs: element bits + scale overhead")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
    return fig


def variants_by_recipe(
    tables: Mapping[str, Sequence[FirstPrinciplesRow]],
    *,
    article_sizes: Mapping[str, int] | None = None,
    ax: Any = None,
) -> Any:
    """Grouped bars: weight GB (1e9 bytes) of each variant under each recipe (rows of
    `audit.first_principles_table`); optional dashed lines at the article's official sizes."""
    fig, ax = new_figure(figsize=(9.0, 5.0)) if ax is None else (ax.figure, ax)
    models = list(tables)
    recipes = list(dict.fromkeys(r.recipe_id for mid in models for r in tables[mid]))
    labels = [_short(rid) for rid in recipes]
    n = len(models)
    width = 0.8 / n
    for j, mid in enumerate(models):
        by_id = {r.recipe_id: r.weight_bytes for r in tables[mid]}
        xs = [i + (j - (n - 1) / 2) * width for i, rid in enumerate(recipes) if rid in by_id]
        ys = [by_id[rid] / GB for rid in recipes if rid in by_id]
        ax.bar(xs, ys, width=width, label=mid)
    for mid, size in (article_sizes or {}).items():
        ax.axhline(size / GB, ls="--", lw=0.8, color="grey")
        ax.annotate(f"article {mid}", (len(labels) - 0.5, size / GB), fontsize=7, ha="right",
                    va="bottom", color="grey")  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    from .ticks import log_number_axis

    ax.set_yscale("log")
    log_number_axis(ax.yaxis)
    ax.set_ylabel("weights, GB (1e9 bytes), log scale")
    ax.set_title("DeepSeek V4 variants under real storage recipes")
    ax.legend(title="model", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def article_vs_kit(rows: Sequence[DiffRow], *, ax: Any = None) -> Any:
    """Paired bars per article row: the article's size vs the real file its label names (GB)."""
    fig, ax = new_figure(figsize=(9.0, 5.0)) if ax is None else (ax.figure, ax)
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r.article_size_bytes / GB for r in rows], 0.4,
           label="article (official × bits / 8)", color=PALETTE["overhead"])  # fmt: skip
    ax.bar([x + 0.2 for x in xs], [r.kit_size_bytes / GB for r in rows], 0.4,
           label="kit (real recipe on the real layout)", color=PALETTE["weights"])  # fmt: skip
    for x, r in zip(xs, rows, strict=True):
        ax.annotate(f"{r.size_ratio:.2f}×", (x + 0.2, r.kit_size_bytes / GB), ha="center",
                    va="bottom", fontsize=7)  # fmt: skip
    ax.set_xticks(list(xs), [f"{_variant(r.variant)} {r.label.split(' ')[0]}" for r in rows],
                  rotation=90, fontsize=8)  # fmt: skip
    from .ticks import log_number_axis

    ax.set_yscale("log")
    log_number_axis(ax.yaxis)
    ax.set_ylabel("weights, GB (1e9 bytes), log scale")
    ax.set_title("Article estimate vs real file, per row (label above = kit ÷ article)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncols=2)
    return fig


def _short(recipe_id: str) -> str:
    return recipe_id.removeprefix("deepseek-v4-").removeprefix("gguf-")


def _variant(model_id: str) -> str:
    return model_id.removeprefix("deepseek-v4-")
