"""HTML of an executed notebook that stands alone offline: every figure embedded, formulas from
the report's own MathJax copy, and each interactive panel replaced by what it showed when the
report ran (its figures, numbers and control values, taken from the saved widget state) plus a
pointer to the live dashboard — never an empty output, never a script from a CDN.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping
from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
DASHBOARD_HINT = (
    "Interactive in JupyterLab or the dashboard: <code>python3 tasks.py dashboard</code> "
    '(see <a href="index.html#dashboard">how to open it</a>).'
)

CSS = """<style>
:root{--vk-max:1100px}
.jp-Notebook,main{max-width:var(--vk-max);margin:0 auto}
.jp-OutputArea-output pre,.jp-InputArea pre{white-space:pre-wrap;overflow-wrap:anywhere;
  word-break:normal}
.jp-OutputArea-output img{max-width:100%;height:auto}
.jp-RenderedHTMLCommon table,.jp-OutputArea-output table{display:block;max-width:100%;
  overflow-x:auto;border-collapse:collapse}
.jp-RenderedHTMLCommon td,.jp-RenderedHTMLCommon th{white-space:normal}
.jp-RenderedHTMLCommon p,.jp-RenderedHTMLCommon li{overflow-wrap:anywhere}
.MathJax_Display{overflow-x:auto;overflow-y:hidden;max-width:100%}
.vk-static{border:1px solid #d0d7de;border-radius:6px;padding:.6em .9em;margin:.4em 0;
  background:#f6f8fa}
.vk-static .vk-static-head{font-weight:600;margin:0 0 .3em}
.vk-static .vk-controls{color:#444;font-size:90%;margin:0 0 .4em}
</style>
"""
"""Pages never wider than the window: text wraps, wide tables scroll inside their own box."""

MATHJAX_FONTS = (
    "<script>window.MathJax={'HTML-CSS':{availableFonts:['STIX-Web'],preferredFont:'STIX-Web',"
    "webFont:'STIX-Web',imageFont:null,linebreaks:{automatic:true},"
    "styles:{'@font-face':{src:\"local('vramkit-no-such-font')\"}}}};</script>\n"
)
"""MathJax 2 reads `window.MathJax` before it loads: the copy shipped by jupyter-server-mathjax
holds only the STIX-Web fonts (its default TeX font data would 404), and its font probe
'MathJax_Blank' would fetch about:blank (a console error on file:// pages); a local() source
makes no request."""

NO_REQUIREJS = "vramkit-no-requirejs"
"""nbconvert's lab template always loads require.js (from a CDN); the pages need no script
loader, so the exporter gets this placeholder URL and `finish_page` removes the tag."""


def _ref(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        return value.removeprefix("IPY_MODEL_")
    return None


def _control_text(st: Mapping[str, Any]) -> str | None:
    """'description = value' of a control (dropdown, slider, text, toggle), None otherwise."""
    desc = st.get("description") or ""
    if "_options_labels" in st and st.get("index") is not None:
        labels = st["_options_labels"]
        idx = st["index"]
        value: Any = labels[idx] if isinstance(idx, int) and 0 <= idx < len(labels) else "-"
    elif "value" in st and not isinstance(st["value"], (dict, list)):
        value = st["value"]
        if isinstance(value, float) and "base" in st:  # log slider: the value itself
            value = f"{value:,.0f}"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
    else:
        return None
    return f"{desc or 'value'} = {value}"


def static_outputs(model_id: str, state: Mapping[str, Any]) -> tuple[list[Any], list[str]]:
    """What the widget `model_id` showed: the outputs of its Output widgets and the HTML of its
    HTML widgets (in display order), and the 'description = value' of its controls."""
    outputs: list[Any] = []
    controls: list[str] = []
    seen: set[str] = set()

    def walk(mid: str) -> None:
        if mid in seen or mid not in state:
            return
        seen.add(mid)
        m = state[mid]
        name = m.get("model_name", "")
        st = m.get("state", {})
        if name == "OutputModel":
            outputs.extend(st.get("outputs", []))
        elif name in ("HTMLModel", "HTMLMathModel") and st.get("value"):
            outputs.append(
                {"output_type": "display_data", "data": {"text/html": st["value"]}, "metadata": {}}
            )
        elif name.endswith("Model") and "children" not in st:
            text = _control_text(st)
            if text and not name.startswith(("Layout", "Style")):
                controls.append(text)
        for child in st.get("children", []):
            ref = _ref(child)
            if ref:
                walk(ref)

    walk(model_id)
    return outputs, controls


def _panel_html(controls: list[str]) -> str:
    shown = (
        f'<p class="vk-controls">Shown for: {html.escape(" · ".join(controls))}</p>'
        if controls
        else ""
    )
    return (
        '<div class="vk-static"><p class="vk-static-head">Interactive panel, as it was when the '
        f"report ran</p>{shown}<p>{DASHBOARD_HINT}</p></div>"
    )


def offline_notebook(nb: Any) -> Any:
    """A copy of `nb` with every widget view replaced by its static content (see module doc) and
    the widget state removed, so nbconvert emits no widget scripts."""
    import nbformat

    nb = copy.deepcopy(nb)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        new_outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                new_outputs.append(out)
                continue
            inner, controls = static_outputs(data[WIDGET_VIEW].get("model_id", ""), state)
            new_outputs.append(
                nbformat.from_dict(
                    {
                        "output_type": "display_data",
                        "data": {"text/html": _panel_html(controls)},
                        "metadata": {},
                    }
                )
            )
            new_outputs.extend(nbformat.from_dict(o) for o in inner)
        cell.outputs = new_outputs
    nb.metadata.pop("widgets", None)
    return nb


_HEAD = re.compile(r"<head[^>]*>", re.IGNORECASE)
_MERMAID = re.compile(
    r'<script type="module">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>', re.S
)
"""nbconvert's loader for Mermaid diagrams (imported from a CDN when a page has one); the
notebooks draw none, so the pages drop it and name no outside URL at all."""


def finish_page(body: str, *, local_mathjax: bool) -> str:
    """Add the report CSS (and the MathJax font setting when MathJax is local) to nbconvert's page."""
    body = body.replace(f'<script src="{NO_REQUIREJS}"></script>', "")
    if 'class="jp-Mermaid' not in body:
        body = _MERMAID.sub("", body)
    if local_mathjax:
        body = _HEAD.sub(lambda m: m.group(0) + "\n" + MATHJAX_FONTS, body, count=1)
    return body.replace("</head>", f"{CSS}</head>", 1)
