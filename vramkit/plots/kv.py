"""Figures of the KV-cache notebook: KV growth vs context (log-log) and the breakdown by cache kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..kv import kv_grid
from ..units import GiB

KIND_COLORS: dict[str, str] = {
    "window": "#8172B3",
    "csa": "#DD8452",
    "indexer": "#C44E52",
    "hca": "#4C72B0",
    "state": "#8C8C8C",
    "mla": "#55A868",
    "sliding": "#937860",
    "full": "#DA8BC3",
}
"""One colour per cache kind (keys of `KvEstimate.by_kind`)."""


def _figure(ax: Any, **kw: Any) -> tuple[Any, Any]:
    from . import new_figure

    return new_figure(**kw) if ax is None else (ax.figure, ax)


def log_contexts(max_context: int, points: int = 64) -> list[int]:
    """`points` log-spaced whole token counts from 1,024 to `max_context` (ends included)."""
    hi = max(int(max_context), 1024)
    return sorted({round(x) for x in np.geomspace(1024, hi, points)})


def growth(
    models: Sequence[str],
    *,
    max_context: int = 1_048_576,
    batch: int = 1,
    cache_dtype: str = "bf16",
    runtime: str = "reference",
    ax: Any = None,
) -> Any:
    """KV bytes (GiB, 2**30) of `batch` sequences vs context, log-log, one line per model.

    Each model's line stops at its own max_position_embeddings (dotted beyond it, up to
    `max_context`, as a what-if). A model whose runtime lacks `cache_dtype` is skipped with a
    note in the legend.
    """
    from ..catalog import get_model
    from ..errors import VramkitError

    fig, ax = _figure(ax)
    ctx = log_contexts(max_context)
    for mid in models:
        spec = get_model(mid)
        limit = int(spec.config.get("max_position_embeddings") or max_context)
        usable = [c for c in ctx if c <= 8 * limit]
        try:
            # past the model's limit the line is drawn dotted: an explicit what-if
            g = kv_grid(spec, usable, [batch], cache_dtype=cache_dtype, runtime=runtime,
                        allow_extrapolation=True)  # fmt: skip
        except VramkitError as err:
            ax.plot([], [], label=f"{spec.name}: {str(err)[:50]}…")
            continue
        x, y = g["context_tokens"].to_numpy(), g["total_bytes"].to_numpy() / GiB
        inside = x <= limit
        (line,) = ax.plot(x[inside], y[inside], label=spec.name)
        if (~inside).any():
            ax.plot(x[x >= limit], y[x >= limit], linestyle=":", color=line.get_color())
    from .ticks import token_axis

    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    token_axis(ax.xaxis)
    ax.set_xlabel("context (tokens per sequence, log scale; K = 1024, M = 1024²)")
    ax.set_ylabel(f"KV cache, GiB (2**30 B), batch {batch}")
    ax.set_title(
        f"KV cache vs context — {cache_dtype}, {runtime} layout (dotted: beyond max context)"
    )
    ax.legend(fontsize=8, loc="upper left")
    return fig


def breakdown(
    model: str,
    contexts: Sequence[int],
    *,
    batch: int = 1,
    cache_dtype: str = "bf16",
    indexer_dtype: str | None = None,
    runtime: str = "reference",
    ax: Any = None,
) -> Any:
    """Stacked bars of KV bytes (GiB) by cache kind (window / CSA / indexer / HCA / state …) at
    each context in `contexts`."""
    fig, ax = _figure(ax)
    g = kv_grid(
        model,
        contexts,
        [batch],
        cache_dtype=cache_dtype,
        indexer_dtype=indexer_dtype,
        runtime=runtime,
    )
    kinds = [k for k in KIND_COLORS if k in g.columns]
    from .ticks import fmt_tokens

    labels = [fmt_tokens(c) for c in g["context_tokens"]]
    bottom = np.zeros(len(g))
    for k in kinds:
        v = g[k].to_numpy() / GiB
        ax.bar(labels, v, bottom=bottom, color=KIND_COLORS[k], label=k)
        bottom += v
    for i, total in enumerate(bottom):
        ax.annotate(f"{total:,.2f}", (i, total), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("context (tokens per sequence; K = 1024, M = 1024²)")
    ax.set_ylabel(f"KV cache, GiB (2**30 B), batch {batch}")
    ax.set_ylim(0, max(bottom.max(), 1e-9) * 1.35)  # room for the legend above the bars
    ax.set_title(
        f"{g.attrs['model_id']} KV by cache kind — {g.attrs['cache_dtype']} "
        f"(indexer {g.attrs['indexer_dtype'] or '-'}), {runtime} layout"
    )
    ax.legend(ncols=min(len(kinds), 5), fontsize=8, loc="upper left")
    return fig
