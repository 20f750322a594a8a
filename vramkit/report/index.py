"""The report's front page: the headline answers (weights per variant and recipe, KV at 128K and
1M, the smallest GPU sets, the active-vs-resident ratio), the teaching picture, each notebook by
the question it answers, and how to open the dashboard. One self-contained HTML file."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..units import GB

if TYPE_CHECKING:
    from .records import Report

CSS = """<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.5;color:#1f2328;
  max-width:1100px;margin:0 auto;padding:1.2em 1.5em}
h1{font-size:1.7em;margin:.2em 0 .1em}
h2{font-size:1.3em;margin:1.6em 0 .4em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
p,li{overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.5em 0 1em;display:block;max-width:100%;overflow-x:auto}
caption{text-align:left;font-weight:600;padding:.2em 0}
td,th{padding:.25em .7em;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto}
code{background:#f6f8fa;padding:0 .25em;border-radius:4px}
pre{background:#f6f8fa;padding:.6em .8em;border-radius:6px;white-space:pre-wrap;
  overflow-wrap:anywhere}
.failed{color:#b00}
.muted{color:#57606a;font-size:92%}
.notebook{margin:.6em 0 1em}
.notebook h3{margin:.1em 0;font-size:1.05em}
</style>
"""


def notebook_question(path: Path) -> tuple[str, str]:
    """(title, question) from a notebook's first markdown cell: its '# NN · Title' line and the
    sentence after '**Question.**' / '**Question:**' (empty when absent)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        first = next(c for c in nb.get("cells", []) if c.get("cell_type") == "markdown")
    except (OSError, ValueError, StopIteration):
        return Path(path).stem, ""
    text = "".join(first.get("source", ""))
    title = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), "")
    m = re.search(r"\*\*Question[.:]?\*\*:?\s*(.+?)(?:\n\s*\n|$)", text, re.S)
    question = " ".join(m.group(1).split()) if m else ""
    return title or Path(path).stem, question


def _md_inline(text: str) -> str:
    """Escape, then render `code`, **bold** and *italic* (the markup the questions use)."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    return re.sub(r"\*([^*]+)\*", r"<i>\1</i>", out)


def _weights_html(h: Any) -> str:
    head = "".join(f"<th>{html.escape(r)}</th>" for r in h.recipes)
    rows = []
    for m in h.model_ids:
        cells = "".join(
            f'<td class="n" data-bytes="{h.weight(m, r).total_bytes}">'
            f"{h.weight(m, r).total_bytes / GB:,.1f}</td>"
            for r in h.recipes
        )
        rows.append(f"<tr><th>{html.escape(m)}</th>{cells}</tr>")
    return (
        '<table class="headline"><caption>Weights, GB (10<sup>9</sup> bytes); “official” is '
        f"each model's own checkpoint layout</caption><tr><th>model</th>{head}</tr>"
        f"{''.join(rows)}</table>"
    )


def _teaching_png(h: Any) -> str:
    from .. import plots
    from ..plots import summary as summary_plots

    plots.use_style()
    data = plots.png_bytes(summary_plots.active_vs_resident(h))
    return base64.b64encode(data).decode("ascii")


def headline_html() -> str:
    """The headline answers as HTML: four tables, the ratio sentences and the teaching picture."""
    from ..article.headline import (
        DENSE_BASELINE,
        active_ratio,
        dense_sentence,
        fit_table,
        headline,
        kv_table,
        ratio_sentence,
    )

    h = headline()
    ratios = "".join(f"<li>{html.escape(ratio_sentence(r))}</li>" for r in h.ratios)
    flash = h.ratio(h.model_ids[0])
    return (
        "<h2>Headline answers</h2>\n"
        f"{_weights_html(h)}\n{kv_table(h)._repr_html_()}\n{fit_table(h)._repr_html_()}\n"
        f"{consumer_html()}"
        "<h2>“13B active” does not mean “fits like 13B”</h2>\n"
        f"<p>Every expert must be resident: {html.escape(flash.model_id)} holds "
        f"{flash.resident_bytes / GB:,.1f} GB of weights while one token reads "
        f"{flash.active_bytes / GB:,.1f} GB — <b>{flash.ratio:.1f}×</b>. The red bars are what one "
        "token reads (each model's official layout); the hatched bar is a real dense model of "
        "that size, which reads everything it holds; the lines are a 24 GB and an 80 GB GPU. "
        f"{html.escape(dense_sentence(flash, active_ratio(DENSE_BASELINE)))}.</p>\n"
        f'<img alt="resident vs active weights per model" src="data:image/png;base64,'
        f'{_teaching_png(h)}">\n<ul>{ratios}</ul>\n'
    )


def consumer_html(context: int = 32768) -> str:
    """The consumer box beside the data-centre counts (issue 25 item 6): a desk machine's GPUs
    plus host RAM, llama.cpp with routed experts in RAM, each row the planner's own answer
    (`vramkit.article.quick_summary.offload_rows`, i.e. `vramkit.plan.solve`)."""
    from ..article.quick_summary import offload_rows

    rows = []
    for r in offload_rows(context=context):
        speed = f"≤ {r.decode_tokens_per_s:,.1f}" if r.fits else "—"
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    r.machine,
                    r.model,
                    r.recipe,
                    f"{r.expert_layers_on_host} of {r.moe_layers}",
                    f"{r.gpu_bytes / GB:,.1f}",
                    f"{r.host_bytes / GB:,.1f}",
                    speed,
                    f"{r.max_context:,}",
                    r.verdict,
                )
            )
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "machine", "model", "recipe", "expert layers in RAM", "GPU GB", "host GB",
            "decode tokens/s (upper bound)", "longest context", "verdict",
        )
    )  # fmt: skip
    return (
        f"<h3>On a desk: GPUs plus host RAM (llama.cpp, {context:,} tokens)</h3>\n"
        "<p>The counts above keep every weight on data-centre GPUs. With llama.cpp the routed "
        "experts can live in host RAM instead (<code>-ot exps=CPU</code> / "
        "<code>--n-cpu-moe</code>): each row is the planner's largest GGUF file that fits, "
        "its verdict with the margin it keeps, and a decode <em>bound</em> (bytes ÷ bandwidth, "
        "not a measurement). GB = 10<sup>9</sup> bytes. Run <code>vramkit plan</code> for the "
        "flags.</p>\n"
        f'<table class="consumer"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
        "</tbody></table>\n"
    )


def dashboard_html() -> str:
    """How to open the interactive dashboard (the panels of the report pages are snapshots)."""
    return (
        '<h2 id="dashboard">Open the dashboard</h2>\n'
        "<p>The panels at the end of each page are snapshots of the interactive widgets. To "
        "change the model, recipe, context, batch, GPU, count, parallelism, runtime, KV dtype or "
        "MTP yourself, run from the project folder:</p>\n"
        "<pre>python3 tasks.py dashboard        # Voila on http://127.0.0.1, sliders, no code\n"
        ".venv/bin/jupyter lab notebooks/   # every notebook, live; add --allow-root as root"
        "</pre>\n"
    )


def index_html(report: Report, notebooks_dir: Path) -> str:
    """The whole front page of `report` (see the module docstring)."""
    parts = []
    for r in report.runs:
        stem = r.name.removesuffix(".ipynb")
        title, question = notebook_question(Path(notebooks_dir) / r.name)
        status = "" if r.ok else f' <span class="failed">{html.escape(r.error_line)}</span>'
        parts.append(
            f'<div class="notebook"><h3>{html.escape(title)}</h3>'
            + (f"<p>{_md_inline(question)}</p>" if question else "")
            + f'<p class="muted"><a href="{stem}.nocode.html">read it</a> · '
            f'<a href="{stem}.html">with code</a> · '
            f'<a href="{html.escape(r.name)}">executed notebook</a> · {r.seconds:.1f} s'
            f"{status}</p></div>"
        )
    params = ", ".join(f"{k}={v}" for k, v in report.parameters.items()) or "defaults"
    failed = (
        f'<p class="failed">{len(report.failed)} notebook(s) failed; see below.</p>'
        if report.failed
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>vramkit report</title>{CSS}</head><body>\n"
        "<h1>How much GPU memory does DeepSeek V4 really need?</h1>\n"
        f'<p class="muted">vramkit report · parameters: {html.escape(params)} · '
        f"GB = 10<sup>9</sup> bytes (files), GiB = 2<sup>30</sup> bytes (device memory)</p>\n"
        f"{failed}{headline_html()}"
        f"<h2>The notebooks, by the question each answers</h2>\n{''.join(parts)}\n"
        f"{dashboard_html()}</body></html>\n"
    )
