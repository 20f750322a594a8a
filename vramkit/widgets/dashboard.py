"""The sliders-not-code dashboard (served by Voila from ``notebooks/dashboard.ipynb``).

`compute(state)` is pure (a dict in, a dict out, no widgets) and is what the tests call;
`panel()` wires ipywidgets controls to it. Every control carries a stable CSS class
(`CLASSES`) so browser tests can drive it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError, require_int, unknown_name

CLASSES: dict[str, str] = {
    "model": "vk-model",
    "recipe": "vk-recipe",
    "context": "vk-context",
    "batch": "vk-batch",
    "gpu": "vk-gpu",
    "count": "vk-count",
    "parallel": "vk-parallel",
    "output": "vk-output",
    "error": "vk-error",
    "plot": "vk-plot",
}
"""Control (state key) → CSS class on its widget."""

DEFAULTS: dict[str, Any] = {
    "model": "deepseek-v4-flash",
    "recipe": "official",
    "context": 131072,
    "batch": 1,
    "gpu": "h200-sxm-141gb",
    "count": 2,
    "parallel": "tp",
}
"""A state that fits: V4-Flash, official layout, 128K context, 2 × H200 under tensor parallel."""

COMPONENTS = ("weights", "kv", "overhead", "total", "usable")
"""Per-GPU amounts shown, each in an element of class ``vk-<name>-bytes``."""

MAX_CONTEXT_LOG2 = 20
"""The context slider runs from 2**10 to 2**20 = 1,048,576 tokens."""


def recipe_options(model_id: str) -> list[str]:
    """Recipes offered for `model_id`: ``official`` (its checkpoint layout) then alternatives."""
    from ..budget import candidate_recipes

    return ["official", *candidate_recipes(model_id)[1:]]


def _state(state: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(state) - set(DEFAULTS)
    if unknown:
        raise unknown_name("dashboard control", sorted(unknown)[0], DEFAULTS)
    s = {**DEFAULTS, **state}
    s["context"] = require_int("context", s["context"], minimum=1, maximum=2**MAX_CONTEXT_LOG2)
    s["batch"] = require_int("batch", s["batch"], minimum=1)
    s["count"] = require_int("count", s["count"], minimum=1)
    return s


def compute(state: Mapping[str, Any]) -> dict[str, Any]:
    """Per-GPU memory of one deployment, from a state of `DEFAULTS`' keys.

    Returns ``{"ok": True, "<component>_bytes": int …, "fits": bool, "html": str, …}`` with
    overhead = workspace + runtime overhead + reserve (`vramkit.budget.Budget`), or
    ``{"ok": False, "error": message}`` when the combination is invalid (a VramkitError).
    """
    from ..budget import budget

    try:
        s = _state(state)
        recipe = s["recipe"]  # "official" resolves in vramkit.quant.get_recipe
        b = budget(
            s["model"],
            s["gpu"],
            count=s["count"],
            recipe=recipe,
            context=s["context"],
            batch=s["batch"],
            parallel=s["parallel"],
        )
    except VramkitError as err:
        return {"ok": False, "error": str(err), "state": dict(state)}
    out = {
        "ok": True,
        "state": s,
        "budget": b,
        "weights_bytes": b.weights_bytes,
        "kv_bytes": b.kv_bytes,
        "overhead_bytes": b.workspace_bytes + b.overhead_bytes + b.reserve_bytes,
        "total_bytes": b.total_bytes,
        "usable_bytes": b.usable_bytes,
        "memory_bytes": b.memory_bytes,
        "fits": b.fits,
    }
    out["html"] = render_html(out)
    return out


def check(state: Mapping[str, Any]) -> dict[str, Any]:
    """`compute(state)`, raising the VramkitError message when the state is invalid."""
    result = compute(state)
    if not result["ok"]:
        raise VramkitError(result["error"])
    return result


def render_html(result: Mapping[str, Any]) -> str:
    """The numbers as an HTML table; each amount sits in ``<span class="vk-<name>-bytes"
    data-bytes="N">N</span>`` with the exact integer bytes, then GB (1e9) and GiB (2**30)."""
    b = result["budget"]
    rows = []
    for name in COMPONENTS:
        n = int(result[f"{name}_bytes"])
        rows.append(
            f"<tr><th>{name}</th>"
            f'<td><span class="vk-{name}-bytes" data-bytes="{n}">{n}</span> bytes</td>'
            f"<td>{n / 1e9:,.2f} GB</td><td>{n / 2**30:,.2f} GiB</td></tr>"
        )
    verdict = "fits" if result["fits"] else "does not fit"
    head = (
        f"{html.escape(b.model_id)} · {html.escape(b.recipe_id)} · {b.context:,} tokens × "
        f"{b.batch} · {b.count} × {html.escape(b.gpu_id)} ({b.parallel}) · {b.runtime_id}"
    )
    notes = "".join(f"<li>{html.escape(a)}</li>" for a in b.assumptions)
    return (
        f"<p>{head}</p><p>Per GPU: <b><span class='vk-fits' data-fits="
        f"'{str(result['fits']).lower()}'>{verdict}</span></b> "
        f"(headroom {b.headroom_bytes / 2**30:,.2f} GiB)</p>"
        f"<table><tr><th></th><th>bytes</th><th>GB</th><th>GiB</th></tr>{''.join(rows)}</table>"
        f"<ul>{notes}</ul>"
    )


def context_to_slider(tokens: int) -> float:
    """Tokens → the log2 slider value."""
    return math.log2(tokens)


def panel(**initial: Any) -> Any:
    """The dashboard: controls, numbers (HTML), error line (HTML), stacked bar figure."""
    import ipywidgets as w

    from .. import plots
    from ..budget import COUNTS, PARALLEL
    from ..catalog import model_ids as catalog_ids
    from ..hardware import gpus
    from ..plots import summary as summary_plots

    s = {**DEFAULTS, **initial}
    model_ids = catalog_ids()
    if s["model"] not in model_ids:
        raise unknown_name("model", s["model"], model_ids)
    gpu_ids = list(gpus())
    if s["gpu"] not in gpu_ids:
        raise unknown_name("GPU", s["gpu"], gpu_ids)
    style = {"description_width": "9em"}
    ctl = {
        "model": w.Dropdown(options=model_ids, value=s["model"], description="model"),
        "recipe": w.Dropdown(
            options=list(dict.fromkeys([*recipe_options(s["model"]), s["recipe"]])),
            value=s["recipe"],
            description="recipe",
        ),
        "context": w.FloatLogSlider(
            value=s["context"],
            base=2,
            min=10,
            max=MAX_CONTEXT_LOG2,
            step=1,
            description="context (tokens)",
            readout_format=",.0f",
        ),
        "batch": w.IntSlider(value=s["batch"], min=1, max=256, description="batch"),
        "gpu": w.Dropdown(options=gpu_ids, value=s["gpu"], description="GPU"),
        "count": w.Dropdown(
            options=sorted({*COUNTS, int(s["count"])}), value=int(s["count"]), description="GPUs"
        ),
        "parallel": w.Dropdown(options=PARALLEL, value=s["parallel"], description="parallelism"),
    }
    for key, c in ctl.items():
        c.style = style
        c.add_class(CLASSES[key])
    numbers = w.HTML().add_class(CLASSES["output"])
    error = w.HTML().add_class(CLASSES["error"])
    plot = w.Output().add_class(CLASSES["plot"])

    def on_model(change: Any) -> None:
        ctl["recipe"].options = recipe_options(change["new"])
        ctl["recipe"].value = "official"

    ctl["model"].observe(on_model, names="value")

    def update(**state: Any) -> None:
        state["context"] = round(state["context"])
        result = compute(state)
        if not result["ok"]:
            plot.clear_output()  # no stale figure beside an error
            error.value = f"<p style='color:#b00'>{html.escape(result['error'])}</p>"
            numbers.value = ""
            return
        plot.clear_output(wait=True)
        error.value = ""
        numbers.value = result["html"]
        with plot:
            plots.show(summary_plots.budget_bars(result["budget"]))

    out = w.interactive_output(update, ctl)
    out.add_class("vk-callback")
    left = w.VBox(list(ctl.values()))
    return w.VBox([w.HBox([left, w.VBox([numbers, error])]), plot, out])


def show_panel(**initial: Any) -> None:
    """Display `panel(**initial)` (the notebook's last cell)."""
    from IPython.display import display

    display(panel(**initial))
