"""Playwright helpers for ipywidgets 8 controls found by their vramkit CSS class (vk-*).

Locators follow shared/TOOLCHAIN.md (the project brief): slider readout `.widget-readout` (contenteditable:
click, Ctrl+A, type, Enter), dropdown `<select>`, text inputs commit on Enter.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

TIMEOUT_MS = 30_000
PLOT_IMG = ".vk-plot img, img.vk-plot"


PAGE_TIMEOUT_MS = 90_000
"""A Voila page starts a kernel and runs the notebook before it loads: slow on 2 busy cores."""


def open_voila(page: Page, url: str, selector: str = ".vk-output") -> None:
    """Open a Voila page and wait until the widget panel rendered (`selector` is visible)."""
    page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
    expect(page.locator(selector).first).to_be_visible(timeout=PAGE_TIMEOUT_MS)


def select(page: Page, cls: str, label: str) -> None:
    """Choose `label` in the Dropdown carrying class `cls`."""
    page.locator(f".{cls} select").select_option(label=label)


def type_readout(page: Page, cls: str, text: str) -> None:
    """Type `text` into the slider readout of the widget with class `cls`, then Enter."""
    readout = page.locator(f".{cls} .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def type_text(page: Page, cls: str, text: str) -> None:
    """Replace the text of the Text widget with class `cls` by `text`, then Enter (commits)."""
    box = page.locator(f".{cls} input")
    box.fill(text)
    box.press("Enter")


def shown_bytes(page: Page, cls: str = "vk-total-bytes") -> int:
    """The integer byte count shown in the first `.cls` element (data-bytes wins over text)."""
    el = page.locator(f".{cls}").first
    raw = el.get_attribute("data-bytes") or el.inner_text()
    digits = re.sub(r"[,\s_]", "", raw)
    assert digits.isdigit(), f".{cls} should hold an integer byte count, shows {raw!r}"
    return int(digits)


def expect_bytes(page: Page, expected: int, cls: str = "vk-total-bytes") -> None:
    """Wait until `.cls` shows exactly `expected` bytes (the text or its data-bytes)."""
    el = page.locator(f".{cls}").first
    pattern = re.compile(rf"^\s*{expected:,}\s*$|^\s*{expected}\s*$")
    if el.get_attribute("data-bytes", timeout=TIMEOUT_MS) is not None:
        expect(el).to_have_attribute("data-bytes", str(expected), timeout=TIMEOUT_MS)
    else:
        expect(el).to_have_text(pattern, timeout=TIMEOUT_MS)


def plot_src(page: Page) -> str:
    """The src of the figure image in the vk-plot area (waits for it)."""
    img = page.locator(PLOT_IMG).first
    expect(img).to_be_visible(timeout=TIMEOUT_MS)
    return img.get_attribute("src") or ""


def expect_plot_changed(page: Page, before: str) -> str:
    """Wait until the figure's src differs from `before`; return the new src."""
    expect(page.locator(PLOT_IMG).first).not_to_have_attribute("src", before, timeout=TIMEOUT_MS)
    return plot_src(page)


def assert_no_traceback(page: Page) -> None:
    """No Python traceback text anywhere in the page."""
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, f"page shows a traceback:\n{body[-2000:]}"


def open_in_lab(page: Page, server, notebook_name: str, workspace: str) -> None:
    """Open `notebook_name` in JupyterLab (fresh workspace) and wait for an idle kernel."""
    page.goto(
        f"{server.url}/lab/workspaces/{workspace}/tree/{notebook_name}?reset&token={server.token}",
        wait_until="commit",
        timeout=PAGE_TIMEOUT_MS,
    )
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return k && k.status === 'idle';
        }""",
        timeout=PAGE_TIMEOUT_MS,
    )


def run_all_in_lab(page: Page) -> None:
    """Run every cell of the current notebook (JupyterLab command `notebook:run-all-cells`)."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
