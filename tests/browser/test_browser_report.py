"""A fresh report opened offline in Chromium (issue 17): every page at 1400 px and 900 px.

Fails on a request that leaves the report folder or fails (404 …), a console error, a page
wider than the window, an element sticking out of the page, text clipped by its box, or an
empty output area. Screenshots go to build/browser-screenshots/report-<page>-<width>.png.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WIDTHS = (1400, 900)

LAYOUT_JS = """
() => {
  const W = document.documentElement.clientWidth;
  const inMath = el => !!el.closest('.MathJax, .MathJax_Display, .MathJax_Preview, mjx-container');
  const scroller = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const cs = getComputedStyle(p);
      if (['auto', 'scroll'].includes(cs.overflowX)) return p;
    }
    return null;
  };
  const describe = el => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
      ? '.' + String(el.className).trim().split(/\\s+/).slice(0, 2).join('.') : '')
      + ' "' + (el.innerText || '').trim().slice(0, 60) + '"';
  const sticking = [], clipped = [], empty = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || inMath(el)) continue;
    if (r.right > W + 1 && !scroller(el)) sticking.push(describe(el) + ' right=' + Math.round(r.right));
    const cs = getComputedStyle(el);
    if (['hidden', 'clip'].includes(cs.overflowX) && el.scrollWidth > el.clientWidth + 1
        && (el.innerText || '').trim() && el !== document.body) clipped.push(describe(el));
  }
  for (const out of document.querySelectorAll('.jp-OutputArea-output')) {
    const text = (out.innerText || '').trim();
    if (!text && !out.querySelector('img, svg, table, canvas')) empty.push(describe(out));
  }
  return {scrollWidth: document.documentElement.scrollWidth, width: W, sticking, clipped, empty};
}
"""


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    """A fresh report, made in a subprocess (Playwright's event loop may already run here)."""
    out = tmp_path_factory.mktemp("offline-report") / "report"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vramkit", "report", "--out", str(out), "--no-progress"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,  # ~20 s alone; generous for a loaded 2-core machine
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"the report did not finish in 600 s:\n{err.stdout}\n{err.stderr}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "running over TCP" not in done.stderr
    return out


@pytest.fixture(scope="module")
def offline_pages(browser, report_dir, screenshot_dir):
    """{(page, width): findings} for every HTML page of the report, one browser context per width."""
    pages = sorted(p.name for p in report_dir.glob("*.html"))
    assert "index.html" in pages
    folder = report_dir.resolve().as_uri() + "/"
    found = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        for name in pages:
            pg = context.new_page()
            requests: list[str] = []
            bad: list[str] = []
            console: list[str] = []
            pg.on("request", lambda r, q=requests: q.append(r.url))
            pg.on("requestfailed", lambda r, b=bad: b.append(f"failed {r.url} {r.failure}"))
            pg.on(
                "response",
                lambda r, b=bad: b.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            pg.on("console", lambda m, c=console: c.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e, c=console: c.append(str(e)))
            pg.goto(folder + name)
            pg.wait_for_load_state("load")
            if pg.locator("script[src*='MathJax']").count():
                pg.wait_for_function(
                    "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue"
                    " && MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running",
                    timeout=20_000,
                )
            layout = pg.evaluate(LAYOUT_JS)
            stem = name.removesuffix(".html").replace(".", "-")
            pg.screenshot(path=str(screenshot_dir / f"report-{stem}-{width}.png"), full_page=True)
            outside = [u for u in requests if not (u.startswith(folder) or u.startswith("data:"))]
            found[(name, width)] = {
                "outside": outside,
                "bad": bad,
                "console": console,
                **layout,
            }
            pg.close()
        context.close()
    return found


def test_no_request_leaves_the_report_folder_or_fails(offline_pages) -> None:
    problems = {k: (v["outside"], v["bad"]) for k, v in offline_pages.items()}
    assert {k: v for k, v in problems.items() if v != ([], [])} == {}


def test_no_console_error(offline_pages) -> None:
    assert {k: v["console"] for k, v in offline_pages.items() if v["console"]} == {}


def test_no_page_wider_than_the_window(offline_pages) -> None:
    wide = {k: v["scrollWidth"] for k, v in offline_pages.items() if v["scrollWidth"] > v["width"]}
    assert wide == {}
    sticking = {k: v["sticking"][:5] for k, v in offline_pages.items() if v["sticking"]}
    assert sticking == {}


def test_no_clipped_text(offline_pages) -> None:
    assert {k: v["clipped"][:5] for k, v in offline_pages.items() if v["clipped"]} == {}


def test_no_empty_output_area(offline_pages) -> None:
    assert {k: v["empty"][:5] for k, v in offline_pages.items() if v["empty"]} == {}


def test_panels_show_their_static_content(report_dir) -> None:
    # a notebook's interactive panel appears on its page as what it showed, and no page names
    # a script or font outside the report folder
    import nbformat

    with_panels = 0
    for page in sorted(report_dir.glob("[0-9][0-9]_*.html")):
        text = page.read_text()
        assert "widget-view+json" not in text, page.name
        assert (
            re.search(r"https?://(?!127\.0\.0\.1)[^\s\"'<>]*\.(js|mjs|css|woff2?)", text) is None
        ), page.name
        stem = page.name.split(".")[0]
        executed = nbformat.read(report_dir / f"{stem}.ipynb", as_version=4)
        views = [
            o
            for c in executed.cells
            for o in c.get("outputs", [])
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        ]
        if views:
            with_panels += 1
            assert "Interactive panel, as it was when the report ran" in text, page.name
    assert with_panels >= 8  # 00, 01, 02, 04, 05 end with panels (two pages each)
