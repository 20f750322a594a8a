"""MoE explorer: batch size (and routing skew) → experts touched per layer, bytes one decode step
reads, bytes that must be resident.

`step` and `describe` are the pure callbacks (tests call them directly; every figure comes from
`vramkit.moe`); `moe_panel` wires ipywidgets to them (HTML widgets, see its docstring).
"""

from __future__ import annotations

from typing import Any

from ..moe import MAX_ZIPF_S, MoeSplit, expected_experts_touched, step_read_bytes
from ..units import GB

PANEL_BATCHES: tuple[int, ...] = tuple(2**i for i in range(13))
"""Batch sizes on the slider: 1, 2, 4 … 4096 tokens decoded together."""


def step(split: MoeSplit, batch: int, zipf_s: float = 0.0) -> dict[str, Any]:
    """One decode step of `batch` tokens under `split`: experts touched per MoE layer (expected,
    per layer shape), bytes read (`moe.step_read_bytes`: dense + touched experts), bytes that must
    be resident (every weight: `split.total_bytes`) and one token's reads (`split.active_bytes`);
    bytes are ints."""
    shapes = sorted({(x.experts, x.top_k) for x in split.layers})
    return {
        "model_id": split.model_id,
        "recipe_id": split.recipe_id,
        "batch": batch,
        "zipf_s": zipf_s,
        "moe_layers": len(split.layers),
        "touched": [
            (e, k, expected_experts_touched(e, k, batch, zipf_s=zipf_s)) for e, k in shapes
        ],
        "read_bytes": step_read_bytes(split, batch, zipf_s=zipf_s),
        "dense_bytes": split.dense_bytes,
        "resident_bytes": split.total_bytes,
        "active_bytes": split.active_bytes,
    }


def describe(split: MoeSplit, batch: int, zipf_s: float = 0.0) -> str:
    """Text of `step`: experts touched, bytes read and resident (GB = 1e9 B), each as a multiple
    of one token's reads."""
    s = step(split, batch, zipf_s)
    act = s["active_bytes"]
    skew = "uniform routing" if zipf_s == 0 else f"Zipf routing skew s = {zipf_s:g}"
    lines = [f"{s['model_id']} ({s['recipe_id']}): one decode step, batch {batch:,}, {skew}"]
    lines += [
        f"experts touched per MoE layer: {t:,.1f} of {e} (top-{k}; {s['moe_layers']} MoE layers)"
        for e, k, t in s["touched"]
    ]
    read, res = s["read_bytes"], s["resident_bytes"]
    lines += [
        f"read in this step:  {read / GB:8,.2f} GB = dense {s['dense_bytes'] / GB:,.2f} GB + "
        f"touched experts {(read - s['dense_bytes']) / GB:,.2f} GB ({read / act:.1f}x one token)",
        f"one token reads:    {act / GB:8,.2f} GB (active)",
        f"must be resident:   {res / GB:8,.2f} GB, every expert, since the next step may route to "
        f"any ({res / act:.1f}x one token)",
    ]
    return "\n".join(lines)


def moe_panel(split: MoeSplit, *, batch: int = 32, zipf_s: float = 0.0) -> Any:
    """The panel: batch slider (1 … 4096 tokens) and routing skew (0 … 2); redraws `describe`
    and `vramkit.plots.moe.batch_step` (touched curve and linear resident-vs-read bars).

    Both go into HTML widgets (text, and the figure as an embedded PNG), not an Output widget:
    under a headless client (papermill, Voila: nbclient) every output an Output widget captures
    is sent back to the kernel as a comm message on the shell channel while the cell still runs,
    and with ipykernel 7's shell-channel thread that traffic can strand the cell's
    execute_reply (the client then waits, both sides idle: issue 21). An HTML widget only
    publishes its value on IOPub. The report shows HTML widgets from the saved widget state.
    """
    import base64
    import html

    import ipywidgets as widgets

    from ..errors import VramkitError
    from ..plots import moe as moe_plots
    from ..plots import png_bytes
    from ..plots.ticks import fmt_tokens

    near = min(PANEL_BATCHES, key=lambda b: abs(b - batch))
    size = widgets.SelectionSlider(
        options=[(fmt_tokens(b), b) for b in PANEL_BATCHES], value=near, description="batch"
    )
    skew = widgets.FloatSlider(
        value=min(max(zipf_s, 0.0), 2.0),
        min=0.0,
        max=min(2.0, MAX_ZIPF_S),
        step=0.1,
        description="Zipf s",
        readout_format=".1f",
    )
    text = widgets.HTML()
    figure = widgets.HTML()

    def redraw(_change: object = None) -> None:
        try:
            text.value = f"<pre>{html.escape(describe(split, size.value, skew.value))}</pre>"
            fig = moe_plots.batch_step(split, batch=size.value, zipf_s=skew.value)
            png = base64.b64encode(png_bytes(fig)).decode("ascii")
            figure.value = (
                f'<img alt="experts touched and bytes read vs resident, batch {size.value}" '
                f'src="data:image/png;base64,{png}" style="max-width: 100%">'
            )
        except VramkitError as err:
            text.value = f"<pre>vramkit: {html.escape(str(err))}</pre>"
            figure.value = ""

    size.observe(redraw, "value")
    skew.observe(redraw, "value")
    redraw()
    return widgets.VBox([widgets.HBox([size, skew]), text, figure])
