"""Placement planner panel: model, GPUs (mixed), host RAM, runtime and context →
`vramkit.plan.summary` → HTML (verdict, bytes per place as bars, flags, speed bounds).

`compute(state)` is pure and cached (a dict in, a dict out, no widgets; what the tests call);
`panel()` wires ipywidgets controls to it. The first draw solves one plan (`summary(...,
details=False)`: no capacity search, no curve, no figure); the capacity and the context-vs-speed
curve are computed when asked (`details(state)`, the panel's button). Every control carries a
stable CSS class (`CLASSES`) for browser tests.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError, unknown_name
from ..units import GB
from . import style_class

GPU_SETS = (
    "rtx-4090-24gb",
    "rtx-4090-24gb:2",
    "rtx-3090-24gb,rtx-4090-24gb",
    "rtx-3090-24gb,24GB@1008GB/s",
    "h100-sxm-80gb",
    "rtx-pro-6000-blackwell-96gb",
    "h200-sxm-141gb:2",
    "mac-studio-m3-ultra-512gb",
)
"""Offered GPU sets (any other comma-separated list of specs may be typed: catalog ids with
`:N`, ad-hoc `MEM@BW`)."""
RAM = ("0GB", "32GB", "64GB", "128GB", "192GB", "256GB", "512GB")
"""Offered host RAM sizes ('0GB' = none; `SIZE@BW` may be typed)."""
CONTEXTS = ("4K", "16K", "32K", "64K", "128K", "256K", "1M")

CLASSES: dict[str, str] = {
    "model": "vk-plan-model",
    "gpus": "vk-plan-gpus",
    "ram": "vk-plan-ram",
    "runtime": "vk-plan-runtime",
    "context": "vk-plan-context",
    "output": "vk-plan-output",
    "error": "vk-plan-error",
    "details": "vk-plan-details",
    "details_output": "vk-plan-details-output",
}
"""Control (state key) → CSS class; the verdict is ``<span class="vk-plan-fits" data-fits
data-tight>`` (its text the verdict's headline), each place's total ``<span class="vk-plan-place"
data-place data-bytes>`` and headroom ``<span class="vk-plan-headroom" data-place data-bytes>``, the flags line
``<code class="vk-plan-flags">``."""

DEFAULTS: dict[str, Any] = {
    "model": "deepseek-v4-flash",
    "gpus": "rtx-4090-24gb:2",
    "ram": "128GB",
    "runtime": "llama.cpp",
    "context": "32K",
}
"""V4-Flash on two RTX 4090 plus 128 GB of RAM under llama.cpp at 32K (the issue's example)."""
CONTROLS = tuple(DEFAULTS)

_COLORS = {
    "attention+dense": "#4C72B0",
    "shared experts": "#64B5CD",
    "routed experts": "#DD8452",
    "embeddings/output": "#8172B3",
    "KV cache": "#55A868",
    "compute buffer": "#C44E52",
    "runtime overhead": "#937860",
}


class _Refused(VramkitError):
    """A control's value that cannot be used; `key` names the control."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _normalise(state: Mapping[str, Any]) -> tuple[str, str, str, str, int]:
    """(model, gpus, ram, runtime, context tokens) or `_Refused` naming the control."""
    from ..catalog import get_model
    from ..kv import parse_tokens
    from ..plan.machine import build_machine, parse_host
    from ..plan.placement import canonical_runtime

    unknown = set(state) - set(DEFAULTS)
    if unknown:
        raise unknown_name("planner control", sorted(unknown)[0], DEFAULTS)
    s = {**DEFAULTS, **state}
    out = []
    for key, fn in (("model", get_model), ("runtime", canonical_runtime)):
        try:
            fn(str(s[key]))
        except VramkitError as err:
            raise _Refused(key, str(err)) from None
        out.append(str(s[key]))
    gpus = [p.strip() for p in str(s["gpus"]).split(",") if p.strip()]
    ram = str(s["ram"]).strip()
    for key, fn, arg in (("context", parse_tokens, str(s["context"]).strip()),
                         ("gpus", build_machine, gpus), ("ram", parse_host, ram or "0")):  # fmt: skip
        try:
            value = fn(arg)
        except VramkitError as err:
            raise _Refused(key, str(err)) from None
        if key == "context":
            tokens = value
    return out[0], ",".join(gpus), ram, out[1], tokens


@functools.lru_cache(maxsize=128)
def _summary(model: str, gpus: str, ram: str, runtime: str, context: int, details: bool) -> Any:
    from ..plan import summary
    from ..units import parse_size

    ram_arg = None if not ram or parse_size(ram.split("@")[0]) == 0 else ram
    return summary(model, gpus=gpus, ram=ram_arg, runtime=runtime, context=context,
                   details=details)  # fmt: skip


def _run(state: Mapping[str, Any], details: bool) -> dict[str, Any]:
    try:
        key = _normalise(state)
        s = _summary(*key, details)
    except _Refused as err:
        return {"ok": False, "error": str(err), "field": err.key}
    except VramkitError as err:
        return {"ok": False, "error": str(err), "field": ""}
    return {"ok": True, "key": key, "summary": s}


def compute(state: Mapping[str, Any]) -> dict[str, Any]:
    """The best plan for a state of `DEFAULTS`' keys (one plan: no capacity search, no curve).

    Returns ``{"ok": True, "summary": plan.summary(...), "html": str}`` or ``{"ok": False,
    "error": message, "field": control or ""}``. Results are cached per state (LRU, 128)."""
    r = _run(state, details=False)
    if r["ok"]:
        r["html"] = render_html(r["summary"])
    return r


def details(state: Mapping[str, Any]) -> dict[str, Any]:
    """Capacity (longest context, most sequences) and the context-vs-decode-bound curve for a
    state: ~40 plans, computed on demand and cached. ``{"ok", "summary", "html"}`` as `compute`."""
    r = _run(state, details=True)
    if r["ok"]:
        r["html"] = render_details_html(r["summary"])
    return r


def _bar(plan_place: Any) -> str:
    """One place as a CSS bar: component segments as % of the place's capacity, then the margin
    kept free (hatched; capped at 100%, an overflow is outlined red)."""
    cap = max(int(plan_place.capacity_bytes), 1)
    segs = []
    for comp, b in plan_place.bytes_by_component.items():
        if b <= 0:
            continue
        pct = min(100.0, 100.0 * b / cap)
        segs.append(
            f"<div title='{html.escape(comp)}: {b / GB:,.2f} GB' style='width:{pct:.2f}%;"
            f"background:{_COLORS.get(comp, '#999')};height:100%'></div>"
        )
    kept = int(getattr(plan_place, "margin_bytes", 0))
    if kept > 0:  # the margin kept free, hatched after the components
        pct = min(100.0, 100.0 * kept / cap)
        segs.append(
            f"<div class='vk-plan-margin' title='margin kept free: {kept / GB:,.2f} GB' "
            f"style='width:{pct:.2f}%;height:100%;background:repeating-linear-gradient(45deg,"
            "#bbb 0 2px,#eee 2px 5px)'></div>"
        )
    over = "outline:2px solid #b00;" if plan_place.total_bytes + kept > cap else ""
    return (
        f"<div style='display:flex;width:100%;min-width:8em;height:0.9em;background:#eee;{over}'>"
        f"{''.join(segs)}</div>"
    )


def render_html(s: Mapping[str, Any]) -> str:
    """The plan as HTML: verdict, one row per place (GB of GB and a bar by component), the
    runtime flags, decode / prefill bounds. GB = 1e9 bytes."""
    plan = s["plan"]
    v = s.get("verdict") or {}
    verdict = v.get("headline") or ("fits" if s["fits"] else "does not fit")
    rows = []
    for q, p in zip(s["places"], plan.places, strict=True):
        layers = f"layers {p.layers[0]}–{p.layers[1] - 1}" if p.layers else ""
        experts = f"experts of {len(p.expert_layers)} layers" if p.expert_layers else ""
        what = ", ".join(x for x in (layers, experts) if x)
        rows.append(
            f"<tr><th style='text-align:left'>{html.escape(q['name'])}</th>"
            f"<td style='text-align:right;white-space:nowrap'><span class='vk-plan-place' "
            f"data-place='{html.escape(q['name'])}' data-bytes='{p.total_bytes}'>"
            f"{q['total_gb']:,.1f}</span> of {q['capacity_gb']:,.1f} GB"
            + (f" · margin {q['margin_gb']:,.1f}" if q["margin_gb"] else "")
            + f" · <span class='vk-plan-headroom' data-place='{html.escape(q['name'])}' "
            f"data-bytes='{p.headroom_bytes}'>{q['headroom_gb']:,.1f} GB free</span></td>"
            f"<td style='width:40%'>{_bar(p)}</td>"
            f"<td style='overflow-wrap:anywhere'>{html.escape(what)}</td></tr>"
        )
    legend = " ".join(
        f"<span style='white-space:nowrap'><span style='display:inline-block;width:0.8em;"
        f"height:0.8em;background:{c}'></span> {html.escape(k)}</span>"
        for k, c in _COLORS.items()
    )
    if s["fits"]:
        est = _estimate(s)
        speed = (
            f"<p>decode ≤ <b>{s['decode_tokens_per_s']:,.1f}</b> tokens/s, prefill ≤ "
            f"{s['prefill_tokens_per_s']:,.0f} tokens/s (upper bounds; limited by "
            f"{html.escape(str(s['limited_by']))})"
            + (
                ""
                if est is None
                else f"<br><span class='vk-plan-estimate' data-tokens-per-s="
                f"'{est.tokens_per_s:.6g}'>decode estimate <b>{est.tokens_per_s:,.1f}</b> "
                f"tokens/s (held-out range {est.low_tokens_per_s:,.1f}–"
                f"{est.high_tokens_per_s:,.1f}; fitted on published runs, not a measurement"
                + ("" if est.fitted else "; no published run of this class: a wider median")
                + ")</span>"
            )
            + "</p>"
        )
        flags = (
            f"<p>flags:<br><code class='vk-plan-flags' style='overflow-wrap:anywhere;"
            f"white-space:pre-wrap'>{html.escape(str(s['flags']))}</code></p>"
        )
    else:
        speed = "<p>No speed bound: the plan does not fit (more RAM, more GPUs or a shorter context).</p>"
        flags = "<p>flags: none (nothing to run)</p>"
    head = (
        f"{html.escape(s['model'])} · {html.escape(s['recipe'])} ({html.escape(s['recipe_why'])}) "
        f"· {html.escape(s['machine'])} · {html.escape(s['runtime'])} · {plan.context:,} tokens"
    )
    if s.get("runner_up"):
        head += f" · runner-up {html.escape(str(s['runner_up']))} ({html.escape(str(s['runner_up_why']))})"
    return (
        f"<p style='overflow-wrap:anywhere'>{head}</p>"
        f"<p>Plan: <b><span class='vk-plan-fits' data-fits='{str(s['fits']).lower()}' "
        f"data-tight='{str(bool(v.get('tight'))).lower()}'>{html.escape(verdict)}</span></b>"
        + (
            f"<br><span style='font-size:85%'>margin per GPU: {html.escape(str(v['margin']))}"
            "</span>"
            if v.get("margin")
            else ""
        )
        + "</p>"
        f"<table style='width:100%;table-layout:auto'>{''.join(rows)}</table>"
        f"<p style='font-size:85%'>{legend}</p>{speed}{flags}"
    )


def _estimate(s: Mapping[str, Any]) -> Any:
    """The decode estimate beside the summary's bound (`vramkit.plan.speed_estimate`), or None."""
    from ..catalog import get_model
    from ..plan.speed_estimate import plan_decode_estimate

    return plan_decode_estimate(s["plan"], s["solution"].speed, get_model(s["model"]))


def render_details_html(s: Mapping[str, Any]) -> str:
    """Capacity and the curve as HTML: longest context, most sequences, then one row per context
    with the decode bound (tokens/s, upper bound) and the estimate beside it (with its held-out
    range), or 'does not fit'."""
    from ..catalog import get_model
    from ..plan.speed_estimate import curve_estimates

    sol = s.get("solution")
    ests = (
        curve_estimates(s["plan"], sol.curve, get_model(s["model"]))
        if sol is not None
        else [None] * len(s["curve"])
    )
    rows = "".join(
        f"<tr><td style='text-align:right'>{c:,}</td><td style='text-align:right'>"
        + (f"{v:,.1f}" if ok else "does not fit")
        + "</td><td style='text-align:right'>"
        + (
            "-"
            if e is None
            else f"{e.tokens_per_s:,.1f} ({e.low_tokens_per_s:,.1f}–{e.high_tokens_per_s:,.1f})"
        )
        + "</td></tr>"
        for (c, ok, v), e in zip(s["curve"], ests, strict=True)
    )
    from ..plan import MAX_SEQUENCES

    mc, ms = s["max_context"], s["max_sequences"]
    longest = f"<b>{mc:,}</b> tokens" if mc else "<b>nothing fits</b> (not even 1 token)"
    most = (
        "<b>nothing fits</b>"
        if not ms
        else f"<b>at least {ms:,}</b> (search ceiling)"
        if ms >= MAX_SEQUENCES
        else f"<b>{ms:,}</b>"
    )
    return (
        f"<p class='vk-plan-capacity' data-max-context='{mc}' "
        f"data-max-sequences='{ms}'>Longest context that fits: {longest}; most sequences at "
        f"this context: {most}</p>"
        "<table><tr><th>context (tokens)</th><th>decode ≤ tokens/s (bound)</th>"
        f"<th>decode estimate tokens/s (range)</th></tr>{rows}</table>"
    )


def describe(model: str, gpus: str, ram: str, runtime: str, context: int) -> str:
    """Plain text of one plan: fit, bytes per place, bound and flags (tests call this)."""
    r = compute({"model": model, "gpus": gpus, "ram": ram, "runtime": runtime,
                 "context": str(context)})  # fmt: skip
    if not r["ok"]:
        return f"vramkit: {r['error']}"
    s = r["summary"]
    v = s["verdict"] or {}
    lines = [f"{s['model']} {s['recipe']} on {s['machine']} ({s['runtime']}): "
             + (v.get("headline") or ("fits" if s["fits"] else "does NOT fit"))]  # fmt: skip
    for q in s["places"]:
        lines.append(
            f"  {q['name']:5} {q['total_gb']:8.1f} GB of {q['capacity_gb']:8.1f} GB, margin "
            f"{q['margin_gb']:5.1f} GB, headroom {q['headroom_gb']:6.1f} GB"
        )
    if s["fits"]:
        lines.append(f"decode <= {s['decode_tokens_per_s']:,.1f} tokens/s (upper bound)")
        est = _estimate(s)
        if est is not None:
            lines.append(f"decode {est.label} (fitted on published runs, not a measurement)")
    lines.append(f"flags: {s['flags'] or '-'}")
    return "\n".join(lines)


def panel(**initial: Any) -> Any:
    """The planner panel (a VBox, not displayed): controls (GPU set and RAM typed or picked),
    the plan as HTML, a button for capacity and the context-vs-speed curve (on demand)."""
    import ipywidgets as w

    from ..catalog import model_ids
    from ..runtimes import planner_runtimes

    s = {**DEFAULTS, **initial}
    ids = model_ids()
    if s["model"] not in ids:
        raise unknown_name("model", s["model"], ids)
    # one Layout and one style model per control kind, shared (as the dashboard's panel does: a
    # widget built without them makes its own default models, and the page loads every model)
    full = w.Layout(width="100%", max_width="26em")
    dd = {"layout": full, "style": style_class(w.Dropdown)(description_width="8em")}
    cb = {"layout": full, "style": style_class(w.Combobox)(description_width="8em"),
          "ensure_option": False, "continuous_update": False}  # fmt: skip
    ctl = {
        "model": w.Dropdown(options=ids, value=s["model"], description="model", **dd),
        "gpus": w.Combobox(options=list(dict.fromkeys([*GPU_SETS, s["gpus"]])), value=s["gpus"],
                           description="GPUs",
                           placeholder="rtx-3090-24gb,rtx-4090-24gb or 24GB@1008GB/s", **cb),
        "ram": w.Combobox(options=list(RAM), value=s["ram"], description="host RAM",
                          placeholder="128GB or 128GB@89.6GB/s", **cb),
        "runtime": w.Dropdown(options=list(planner_runtimes()), value=s["runtime"],
                              description="runtime", **dd),
        "context": w.Combobox(options=list(CONTEXTS), value=str(s["context"]),
                              description="context", placeholder="32K, 128K, 1M", **cb),
    }  # fmt: skip
    for key, c in ctl.items():
        c.add_class(CLASSES[key])
    text = {"layout": w.Layout(), "style": style_class(w.HTML)()}  # the HTML panes' defaults
    numbers = w.HTML(**text).add_class(CLASSES["output"])
    error = w.HTML(**text).add_class(CLASSES["error"])
    button = w.Button(description="capacity and context-vs-speed curve",
                      layout=w.Layout(width="auto", max_width="100%"))  # fmt: skip
    button.add_class(CLASSES["details"])
    more = w.HTML(**text).add_class(CLASSES["details_output"])

    def state() -> dict[str, Any]:
        return {k: c.value for k, c in ctl.items()}

    def update(change: Any = None) -> None:
        r = compute(state())
        more.value = ""
        if not r["ok"]:
            msg = html.escape(r["error"])
            where = f" (control: {r['field']})" if r["field"] else ""
            error.value = f"<p style='color:#b00;overflow-wrap:anywhere'>{msg}{where}</p>"
            numbers.value = ""
            return
        error.value = ""
        numbers.value = r["html"]

    def on_details(_: Any) -> None:
        more.value = "<p>computing capacity and curve …</p>"
        r = details(state())
        more.value = r["html"] if r["ok"] else ""

    for c in ctl.values():
        c.observe(update, names="value")
    button.on_click(on_details)
    update()
    left = w.VBox(list(ctl.values()), layout=w.Layout(flex="0 1 27em", min_width="18em"))
    right = w.VBox([numbers, error, button, more],
                   layout=w.Layout(flex="1 1 24em", min_width="18em"))  # fmt: skip
    return w.Box([left, right], layout=w.Layout(display="flex", flex_flow="row wrap",
                                                width="100%", max_width="1100px"))  # fmt: skip


def show_panel(**initial: Any) -> None:
    """Display `panel(**initial)` (a notebook's or the dashboard's last cell)."""
    from IPython.display import display

    display(panel(**initial))


__all__ = ["CLASSES", "DEFAULTS", "compute", "describe", "details", "panel", "show_panel"]
