"""KV-cache explorer: a log-scale context slider up to 1M, batch, cache dtype and runtime.

`describe` is the pure callback (tests call it directly); `kv_panel` wires ipywidgets to it with
``widgets.interactive_output`` (no blocking, safe under papermill).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..kv import kv_cache
from ..units import GB, GiB

PANEL_DTYPES: tuple[str, ...] = (
    "bf16",
    "fp8",
    "fp8_ds_mla",
    "fp8_bf16_rope",
    "fp16",
    "q8_0",
    "q4_0",
)
PANEL_RUNTIMES: tuple[str, ...] = ("reference", "vllm", "llama.cpp")


def describe(model_id: str, context_tokens: int, batch: int, cache_dtype: str, runtime: str) -> str:
    """Text of one KV estimate: total, per kind, constant and slope (GB = 1e9 B, GiB = 2**30 B)."""
    e = kv_cache(model_id, context_tokens, batch=batch, cache_dtype=cache_dtype, runtime=runtime)
    lines = [
        f"{e.model_id}: {e.context_tokens:,} tokens x batch {e.batch}, {e.cache_dtype} "
        f"(indexer {e.indexer_dtype or '-'}), {e.runtime} layout",
        f"total: {e.total_bytes:,} B = {e.total_bytes / GB:,.2f} GB = {e.total_bytes / GiB:,.2f} GiB",
    ]
    lines += [f"  {k:8s} {v / GiB:10,.3f} GiB" for k, v in e.by_kind.items()]
    lines.append(
        f"per sequence: constant {e.constant_bytes / GiB:,.3f} GiB + "
        f"{e.slope_bytes_per_token:,.1f} B per token"
    )
    return "\n".join(lines + [f"note: {n}" for n in e.notes])


def kv_panel(
    models: Sequence[str],
    *,
    context_tokens: int = 131_072,
    batch: int = 1,
    cache_dtype: str = "bf16",
    runtime: str = "reference",
) -> Any:
    """The panel: model, log2 context slider (1K..1M), batch, dtype, runtime; redraws the growth
    plot (`vramkit.plots.kv.growth`, with a marker at the chosen context) and `describe`."""
    import math

    import ipywidgets as widgets

    from ..errors import VramkitError
    from ..plots import kv as kv_plots
    from ..plots import show

    model = widgets.Dropdown(options=list(models), value=models[0], description="model")
    from ..plots.ticks import fmt_tokens

    context = widgets.SelectionSlider(
        options=[(fmt_tokens(2**k), k) for k in range(10, 21)],
        value=min(max(round(math.log2(max(context_tokens, 1))), 10), 20),
        description="context",
    )
    size = widgets.BoundedIntText(value=batch, min=1, max=4096, description="batch")
    dtype = widgets.Dropdown(options=list(PANEL_DTYPES), value=cache_dtype, description="dtype")
    rt = widgets.Dropdown(options=list(PANEL_RUNTIMES), value=runtime, description="runtime")

    def redraw(model: str, log2_ctx: int, batch: int, dtype: str, runtime: str) -> None:
        try:
            print(describe(model, 2**log2_ctx, batch, dtype, runtime))
            fig = kv_plots.growth(list(models), batch=batch, cache_dtype=dtype, runtime=runtime)
            fig.axes[0].axvline(2**log2_ctx, color="black", linewidth=0.8)
            show(fig)
        except VramkitError as err:
            print(f"vramkit: {err}")

    out = widgets.interactive_output(
        redraw, {"model": model, "log2_ctx": context, "batch": size, "dtype": dtype, "runtime": rt}
    )
    controls = widgets.VBox([model, context, size, dtype, rt])
    return widgets.VBox([controls, out])
