"""The sliders-not-code dashboard (served by Voila from ``notebooks/dashboard.ipynb``).

`compute(state)` is pure (a dict in, a dict out, no widgets) and is what the tests call;
`panel()` wires ipywidgets controls to it. Every control carries a stable CSS class
(`CLASSES`) so browser tests can drive it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError, parse_int, require_int, unknown_name
from . import set_options_keeping, style_class

CLASSES: dict[str, str] = {
    "model": "vk-model",
    "recipe": "vk-recipe",
    "context": "vk-context",
    "batch": "vk-batch",
    "gpu": "vk-gpu",
    "count": "vk-count",
    "parallel": "vk-parallel",
    "runtime": "vk-runtime",
    "cache_dtype": "vk-cache-dtype",
    "include_mtp": "vk-mtp",
    "ram": "vk-ram",
    "output": "vk-output",
    "error": "vk-error",
    "plot": "vk-plot",
    "chart": "vk-chart",
    "slot": "vk-offload-slot",
}
"""Control (state key) → CSS class on its widget; the note beside control K has class
``vk-<K>-note`` (e.g. ``vk-context-note``): why a value was refused, never silently changed."""

DEFAULTS: dict[str, Any] = {
    "model": "deepseek-v4-flash",
    "recipe": "official",
    "context": 131072,
    "batch": 1,
    "gpu": "h200-sxm-141gb",
    "count": 2,
    "parallel": "auto",
    "runtime": "vllm",
    "cache_dtype": "default",
    "include_mtp": False,
    "ram": "",
}
"""A state that fits: V4-Flash, official layout, 128K context, 2 × H200 in the layout the
planner picks (parallel 'auto': TP × PP × EP as `plan`), vLLM with its default (bf16) KV cache,
no MTP module, no host RAM offered ('' = none; llama.cpp only: e.g. '128GB')."""

CONTROLS = tuple(DEFAULTS)
"""State keys, in the order the controls appear."""

CACHE_DTYPES = ("default", "bf16", "fp16", "fp8", "q8_0", "q4_0")
"""KV cache dtypes offered ('default': the runtime's own; fp8 as the runtime stores it)."""

COMPONENTS = ("weights", "kv", "overhead", "total", "usable")
"""Per-GPU amounts shown, each in an element of class ``vk-<name>-bytes``."""

MAX_BATCH = 1_000_000
SUGGESTION_CLASS = "vk-suggestion"
"""Class of the no-fit line that names the smallest set (or recipe) that fits."""


def recipe_options(model_id: str) -> list[str]:
    """Recipes offered for `model_id`: ``official`` (its checkpoint layout) then alternatives."""
    from ..budget import candidate_recipes

    return ["official", *candidate_recipes(model_id)[1:]]


def gguf_default(model_id: str, runtime: str) -> str | None:
    """The GGUF recipe `fit` sizes for a runtime that loads GGUF files when no recipe is given
    (`vramkit.plan.count.default_recipe`); None for a runtime that serves checkpoints."""
    from ..plan.count import default_recipe
    from ..runtimes import get_runtime

    if not get_runtime(runtime).capabilities.serves_gguf:
        return None
    return default_recipe(model_id, runtime)


class _Refused(VramkitError):
    """A control's value that cannot be used; `key` names the control."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _field(key: str, fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except VramkitError as err:
        raise _Refused(key, str(err)) from None


def _state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Validated state: every value as given or refused with the control it belongs to."""
    from ..budget import check_parallel
    from ..catalog import get_model
    from ..kv import parse_tokens

    unknown = set(state) - set(DEFAULTS)
    if unknown:
        raise unknown_name("dashboard control", sorted(unknown)[0], DEFAULTS)
    s = {**DEFAULTS, **state}
    model = _field("model", get_model, s["model"])
    limit = int(model.config.get("max_position_embeddings") or 1_048_576)
    tokens = _field("context", parse_tokens, str(s["context"]).strip())
    if tokens < 1 or tokens > limit:
        raise _Refused(
            "context",
            f"context {tokens:,} tokens is outside 1 … {limit:,}, the longest {model.id} takes "
            "(its max_position_embeddings); nothing computed.",
        )
    s["context"] = tokens
    from ..plan import MAX_SEQUENCES
    from ..runtimes import get_runtime

    # the planner's runtimes take at most MAX_SEQUENCES sequences (the one solver's limit)
    most = MAX_SEQUENCES if _field("runtime", get_runtime, s["runtime"]).plans else MAX_BATCH
    s["batch"] = _field("batch", parse_int, "batch", str(s["batch"]),  # a text box: its digits
                        minimum=1, maximum=most)  # fmt: skip
    s["count"] = _field("count", require_int, "count", s["count"], minimum=1, maximum=4096)
    _field("count", check_parallel, model, s["parallel"], s["count"])
    if s["cache_dtype"] not in CACHE_DTYPES:
        raise _Refused("cache_dtype", str(unknown_name("KV cache dtype", s["cache_dtype"],
                                                       CACHE_DTYPES)))  # fmt: skip
    s["include_mtp"] = bool(s["include_mtp"])
    ram = str(s["ram"] or "").strip()
    if ram:
        from ..plan.machine import parse_host
        from ..runtimes import get_runtime

        _field("ram", parse_host, ram)  # a size with its unit ('128' is refused)
        rt = _field("runtime", get_runtime, s["runtime"])
        if rt.capabilities.offload != "tensors":  # llama.cpp's -ot / --n-cpu-moe
            raise _Refused(
                "ram",
                f"host RAM is what llama.cpp offloads routed experts to; {rt.id} does not "
                "offload here (leave RAM empty).",
            )
    s["ram"] = ram or None
    return s


def _budget_kw(s: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "recipe": s["recipe"],  # "official" resolves in vramkit.quant.get_recipe
        "context": s["context"],
        "batch": s["batch"],
        "parallel": s["parallel"],
        "runtime": s["runtime"],
        "cache_dtype": None if s["cache_dtype"] == "default" else s["cache_dtype"],
        "include_mtp": s["include_mtp"],
        **({"ram": s["ram"]} if s.get("ram") else {}),
    }


def smallest_fit(s: Mapping[str, Any]) -> str:
    """What would fit when this state does not: the planner's smallest count of the same GPU
    (`vramkit.budget.min_gpus`, the question `fit` asks), else the best recipe at this count,
    else a sentence saying nothing up to the largest count fits."""
    from ..budget import COUNTS, best_recipe, min_gpus

    kw = _budget_kw(s)
    found = min_gpus(s["model"], s["gpu"], **kw)
    if found.fits:
        layout = found.budget.layout or s["parallel"]
        return f"Smallest set that fits: {found.count} × {s['gpu']} ({layout}), same recipe."
    rest = {k: v for k, v in kw.items() if k != "recipe"}
    best = best_recipe(s["model"], s["gpu"], count=s["count"], **rest)
    if best.fits:
        return f"On {s['count']} × {s['gpu']}, the recipe {best.recipe_id} fits."
    return (
        f"No count up to {COUNTS[-1]} × {s['gpu']} fits with this recipe, and no recipe fits "
        f"{s['count']} of them: choose a larger GPU or a lower-bit recipe."
    )


def compute(state: Mapping[str, Any]) -> dict[str, Any]:
    """Per-GPU memory of one deployment, from a state of `DEFAULTS`' keys.

    Returns ``{"ok": True, "<component>_bytes": int …, "fits": bool, "tight": bool, "verdict":
    {fits, tight, reasons, try, margin, room, headline} (the planner's), "layout": str,
    "headroom_bytes", "margin_bytes", "html": str, …}`` with overhead = workspace + runtime
    overhead + reserve (`vramkit.budget.Budget`, the planner's plan on its fullest GPU), or
    ``{"ok": False, "error": message, "field": control or ""}`` when a value is refused (never
    clamped) or the combination is invalid (a VramkitError).
    """
    from ..budget import budget

    try:
        s = _state(state)
        b = budget(s["model"], s["gpu"], count=s["count"], **_budget_kw(s))
    except _Refused as err:
        return {"ok": False, "error": str(err), "field": err.key, "state": dict(state)}
    except VramkitError as err:
        text = str(err)
        field = "cache_dtype" if "cache dtype" in text else ""
        return {"ok": False, "error": text, "field": field, "state": dict(state)}
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
        "tight": bool(b.verdict is not None and b.verdict.tight),
        "verdict": b.verdict.as_dict() if b.verdict is not None else None,
        "layout": b.layout,
        "headroom_bytes": b.headroom_bytes,
        "margin_bytes": b.margin_bytes,
        "suggestion": "" if b.fits else smallest_fit(s),
    }
    out["html"] = render_html(out)
    return out


def check(state: Mapping[str, Any]) -> dict[str, Any]:
    """`compute(state)`, raising the VramkitError message when the state is invalid."""
    result = compute(state)
    if not result["ok"]:
        raise VramkitError(result["error"])
    return result


def _bar_html(result: Mapping[str, Any]) -> str:
    """The per-GPU amounts as one CSS bar (no figure): weights, KV, overhead as % of the device
    memory (red outline when their sum is larger), the usable limit as a dark line."""
    from ..plots import PALETTE
    from ..units import GiB

    cap = max(int(result["memory_bytes"]), 1)
    segs = []
    for name, colour in (("weights", PALETTE["weights"]), ("kv", PALETTE["kv"]),
                         ("overhead", PALETTE["overhead"])):  # fmt: skip
        n = int(result[f"{name}_bytes"])
        if n > 0:
            segs.append(
                f"<div title='{name}: {n / GiB:,.2f} GiB' style='width:{min(100.0, 100 * n / cap):.2f}%;"
                f"background:{colour};height:100%'></div>"
            )
    usable = min(100.0, 100 * int(result["usable_bytes"]) / cap)
    over = "outline:2px solid #b00;" if int(result["total_bytes"]) > cap else ""
    return (
        f"<div class='vk-bar' style='position:relative;display:flex;width:100%;height:1em;"
        f"background:#eee;margin:0.3em 0;{over}'>{''.join(segs)}<div title='usable "
        f"{int(result['usable_bytes']) / GiB:,.2f} GiB' style='position:absolute;left:"
        f"{usable:.2f}%;top:-0.2em;height:1.4em;border-left:2px dashed #000'></div></div>"
    )


def render_html(result: Mapping[str, Any]) -> str:
    """The numbers as an HTML table in GiB (device memory, 2**30 bytes) and GB (1e9); each amount
    sits in ``<span class="vk-<name>-bytes" data-bytes="N">`` with the exact integer bytes."""
    from ..units import GiB

    b = result["budget"]
    s = result["state"]
    rows = []
    for name in COMPONENTS:
        n = int(result[f"{name}_bytes"])
        rows.append(
            f"<tr><th>{name}</th>"
            f'<td style="text-align:right"><span class="vk-{name}-bytes" data-bytes="{n}">'
            f"{n / GiB:,.2f}</span> GiB</td>"
            f'<td style="text-align:right">{n / 1e9:,.2f} GB</td></tr>'
        )
    verdict = "fits" if result["fits"] else "does not fit"
    v = result.get("verdict")  # the planner's, with its margin and "tight" (vk-verdict)
    why = (
        f"<p class='vk-verdict' data-tight='{str(bool(result.get('tight'))).lower()}' "
        f"style='overflow-wrap:anywhere'>{html.escape(v['headline'])}<br><small>margin: "
        f"{html.escape(v['margin'])}</small></p>"
        if v
        else ""
    )
    layout = html.escape(b.layout or b.parallel)
    head = (
        f"{html.escape(b.model_id)} · {html.escape(b.recipe_id)} · {b.context:,} tokens × "
        f"{b.batch:,} · {b.count} × {html.escape(b.gpu_id)} ({layout}) · {b.runtime_id} · "
        f"KV {html.escape(str(s['cache_dtype']))} · MTP {'on' if s['include_mtp'] else 'off'}"
    )
    notes = "".join(f"<li>{html.escape(a)}</li>" for a in b.assumptions)
    suggestion = (
        f"<p class='{SUGGESTION_CLASS}'><b>{html.escape(result['suggestion'])}</b></p>"
        if result.get("suggestion")
        else ""
    )
    return (
        f"<p style='overflow-wrap:anywhere'>{head}</p><p>Per GPU: <b><span class='vk-fits' "
        f"data-fits='{str(result['fits']).lower()}'>{verdict}</span></b> "
        f"(headroom {b.headroom_bytes / GiB:,.2f} GiB beyond a {b.margin_bytes / GiB:,.2f} GiB "
        f"margin)</p>{why}{suggestion}{_bar_html(result)}"
        f"<table><tr><th></th><th>GiB (2^30 B)</th><th>GB (10^9 B)</th></tr>"
        f"{''.join(rows)}</table>"
        f"<details><summary>assumptions</summary><ul>{notes}</ul></details>"
    )


def panel(**initial: Any) -> Any:
    """The dashboard: controls (each with a note for a refused value), numbers (HTML, with a bar
    of the same amounts), the no-fit suggestion, an error line and, when asked for (the
    ``bar chart`` toggle), the budget bar figure (GiB, `vramkit.plots.fit.budget_bar`). A
    wrapping layout: controls and numbers sit side by side on a wide page and stack on a narrow
    one (900 px).

    No figure before it is asked for: matplotlib's import and the first PNG cost ~0.6 s of CPU,
    about a third of the page's first load on 2 busy cores (`benchmarks/dashboard_load.py`);
    once the toggle is on, every change redraws the figure."""
    import ipywidgets as w

    from .. import plots
    from ..article.headline import fmt_tokens
    from ..budget import COUNTS, PARALLEL
    from ..catalog import model_ids as catalog_ids
    from ..hardware import gpus
    from ..plots import summary as summary_plots
    from ..runtimes import runtimes

    s = {**DEFAULTS, **initial}
    model_ids = catalog_ids()
    if s["model"] not in model_ids:
        raise unknown_name("model", s["model"], model_ids)
    gpu_ids = list(gpus())
    if s["gpu"] not in gpu_ids:
        raise unknown_name("GPU", s["gpu"], gpu_ids)
    # one Layout / style model shared by the widgets that look alike (a widget built without
    # them makes its own default models first, and the page loads each model: ~60 fewer)
    full = w.Layout(width="100%", max_width="26em")
    dd = {"layout": full, "style": style_class(w.Dropdown)(description_width="8em")}
    tx = {"layout": full, "style": style_class(w.Text)(description_width="8em")}
    ctl = {
        "model": w.Dropdown(options=model_ids, value=s["model"], description="model", **dd),
        "recipe": w.Dropdown(
            options=list(dict.fromkeys([*recipe_options(s["model"]), s["recipe"]])),
            value=s["recipe"],
            description="recipe",
            **dd,
        ),
        "context": w.Text(
            value=fmt_tokens(int(s["context"])) if str(s["context"]).isdigit() else s["context"],
            description="context",
            placeholder="128K, 1M or 131072",
            continuous_update=False,
            **tx,
        ),
        "batch": w.Text(value=str(s["batch"]), description="batch", continuous_update=False, **tx),
        "gpu": w.Dropdown(options=gpu_ids, value=s["gpu"], description="GPU", **dd),
        "count": w.Dropdown(
            options=sorted({*COUNTS, int(s["count"])}),
            value=int(s["count"]),
            description="GPUs",
            **dd,
        ),
        "parallel": w.Dropdown(
            options=PARALLEL, value=s["parallel"], description="parallelism", **dd
        ),
        "runtime": w.Dropdown(
            options=list(runtimes()), value=s["runtime"], description="runtime", **dd
        ),
        "cache_dtype": w.Dropdown(
            options=list(CACHE_DTYPES), value=s["cache_dtype"], description="KV dtype", **dd
        ),
        "include_mtp": w.Checkbox(
            value=bool(s["include_mtp"]),
            description="load the MTP module",
            indent=False,
            layout=full,
        ),
        "ram": w.Text(
            value=str(s["ram"] or ""),
            description="host RAM",
            placeholder="llama.cpp offload, e.g. 128GB",
            continuous_update=False,
            **tx,
        ),
    }
    plain = w.Layout()  # the default layout, one model for every widget that takes it
    text = {"layout": plain, "style": style_class(w.HTML)()}  # the HTML panes' defaults
    notes = {k: w.HTML(**text).add_class(f"vk-{CLASSES[k].removeprefix('vk-')}-note") for k in ctl}
    for key, c in ctl.items():
        c.add_class(CLASSES[key])
    numbers = w.HTML(**text).add_class(CLASSES["output"])
    error = w.HTML(**text).add_class(CLASSES["error"])
    plot = w.Output(layout=plain).add_class(CLASSES["plot"])
    chart = w.ToggleButton(
        value=False,
        description="bar chart",
        tooltip="draw the per-GPU budget bar (GiB) under the numbers, and on every change",
        layout=plain,
    ).add_class(CLASSES["chart"])
    last: dict[str, Any] = {}
    # RAM / offload controls from the placement planner go here (kept empty until it lands)
    slot = w.VBox([], layout=plain).add_class(CLASSES["slot"])

    def on_model(change: Any) -> None:
        set_options_keeping(ctl["recipe"], recipe_options(change["new"]), "official")

    ctl["model"].observe(on_model, names="value")

    def on_runtime(change: Any) -> None:
        """A llama.cpp runtime loads GGUF files, not the official checkpoint: with "official"
        chosen the recipe moves to the file `fit` sizes when no recipe is given (issue 25: one
        answer), and the dropdown shows which."""
        if ctl["recipe"].value != "official":
            return
        try:
            file = gguf_default(ctl["model"].value, change["new"])
        except VramkitError:
            return
        if file is not None:
            opts = list(dict.fromkeys([*ctl["recipe"].options, file]))
            ctl["recipe"].options = opts
            ctl["recipe"].value = file

    ctl["runtime"].observe(on_runtime, names="value")

    def draw() -> None:
        """The figure of the last valid state, when the toggle asks for it; else none."""
        result = last.get("result")
        plot.clear_output(wait=chart.value)
        if chart.value and result is not None and result["ok"]:
            with plot:
                plots.show(summary_plots.budget_bars(result["budget"]))

    chart.observe(lambda change: draw(), names="value")

    def update(**state: Any) -> None:
        result = compute(state)
        last["result"] = result
        for note in notes.values():
            note.value = ""
        if not result["ok"]:
            plot.clear_output()  # no stale figure beside an error
            message = html.escape(result["error"])
            error.value = f"<p style='color:#b00;overflow-wrap:anywhere'>{message}</p>"
            if result["field"] in notes:
                notes[result["field"]].value = (
                    f"<div style='color:#b00;font-size:90%;max-width:26em;"
                    f"overflow-wrap:anywhere'>{message}</div>"
                )
            numbers.value = ""
            return
        error.value = ""
        numbers.value = result["html"]
        draw()

    out = w.interactive_output(update, ctl)
    out.add_class("vk-callback")
    # each control with its note under it, in one column (no box per pair: 11 fewer models)
    left = w.VBox(
        [x for k in ctl for x in (ctl[k], notes[k])] + [slot],
        layout=w.Layout(flex="0 1 27em", min_width="18em"),
    )
    right = w.VBox([numbers, chart, error], layout=w.Layout(flex="1 1 24em", min_width="18em"))
    top = w.Box([left, right], layout=w.Layout(display="flex", flex_flow="row wrap",
                                               width="100%"))  # fmt: skip
    return w.VBox([top, plot, out], layout=w.Layout(width="100%", max_width="1100px"))


def show_panel(**initial: Any) -> None:
    """Display `panel(**initial)` (the notebook's last cell)."""
    from IPython.display import display

    display(panel(**initial))
