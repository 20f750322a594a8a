"""The Voila dashboard in a real browser: every number shown is exactly what vramkit computes.

Each state is driven through the page (dropdowns, slider readouts), then the per-GPU amounts
(`<span class="vk-<name>-bytes" data-bytes="N">`) are compared, as integers, with
`vramkit.widgets.dashboard.compute(state)` run here with the same inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from playwright.sync_api import Page, expect
from vkpage import (
    PLOT_IMG,
    TIMEOUT_MS,
    assert_no_traceback,
    expect_bytes,
    expect_plot_changed,
    open_voila,
    plot_src,
    select,
    shown_bytes,
    type_text,
)

from vramkit.budget import budget
from vramkit.widgets import dashboard

pytestmark = pytest.mark.browser

DASHBOARD = Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"
CLS = dashboard.CLASSES


@pytest.fixture(scope="module")
def voila(start_server, browser):
    assert DASHBOARD.exists(), f"{DASHBOARD} is missing"
    server = start_server("voila", DASHBOARD)
    yield server
    server.stop()


@pytest.fixture
def dash(voila, page: Page) -> Page:
    open_voila(page, f"{voila.url}/", ".vk-total-bytes")
    return page


def expect_numbers(page: Page, state: dict[str, Any]) -> dict[str, Any]:
    """Wait until every amount shown equals `dashboard.compute(state)`; return that result."""
    want = dashboard.compute(state)
    assert want["ok"], want.get("error")
    for name in dashboard.COMPONENTS:
        expect_bytes(page, int(want[f"{name}_bytes"]), cls=f"vk-{name}-bytes")
    fits = page.locator(".vk-fits")
    expect(fits).to_have_attribute("data-fits", str(want["fits"]).lower(), timeout=TIMEOUT_MS)
    expect(fits).to_have_text("fits" if want["fits"] else "does not fit")
    assert_no_traceback(page)
    return want


def test_each_control_updates_numbers_and_plot(dash, screenshot):
    state: dict[str, Any] = {}
    want = expect_numbers(dash, state)
    # the default state is chosen to fit (see dashboard.DEFAULTS)
    assert want["fits"] is True
    src = plot_src(dash)
    screenshot(dash, "defaults")
    steps: list[tuple[str, str, Any, str]] = [
        # (state key, how, value, screenshot name); the model change resets recipe to official
        ("model", "select", "deepseek-v4-pro", "model-v4-pro"),
        # the official V4 layout carries the MTP module (a GGUF recipe does not)
        ("include_mtp", "check", True, "mtp-on"),
        ("recipe", "select", "gguf-Q4_K_M", "recipe-q4km"),
        ("context", "text", "1M", "context-1m"),
        ("batch", "text", "4", "batch-4"),
        ("gpu", "select", "b300-288gb", "gpu-b300"),
        ("count", "select", 8, "count-8"),
        ("parallel", "select", "ep", "parallel-ep"),
        ("cache_dtype", "select", "fp8", "kv-fp8"),
        ("runtime", "select", "sglang", "runtime-sglang"),
    ]
    for key, how, value, name in steps:
        if how == "select":
            select(dash, CLS[key], str(value))
        elif how == "check":
            dash.locator(f".{CLS[key]} input[type=checkbox]").check()
        else:
            type_text(dash, CLS[key], str(value))
        state[key] = value
        expect_numbers(dash, state)
        src = expect_plot_changed(dash, src)
        screenshot(dash, name)
    # the last state once more, straight from vramkit.budget (not through the dashboard module)
    direct = budget(
        "deepseek-v4-pro",
        "b300-288gb",
        count=8,
        recipe="gguf-Q4_K_M",
        context=1_048_576,
        batch=4,
        parallel="ep",
        runtime="sglang",
        cache_dtype="fp8",
        include_mtp=True,
    )
    assert shown_bytes(dash, "vk-total-bytes") == direct.total_bytes
    assert shown_bytes(dash, "vk-weights-bytes") == direct.weights_bytes
    assert shown_bytes(dash, "vk-kv-bytes") == direct.kv_bytes
    assert dash.errors == []


def test_page_shows_no_python_repr(dash):
    # e.g. a check cell ending in a bare `dashboard.check(start)` would print the result dict
    body = dash.locator("body").inner_text()
    assert "Budget(" not in body, "a raw Python repr of a Budget is displayed"
    assert "'ok': True" not in body, "a raw Python repr of a compute() result is displayed"


def expect_message(page: Page, state: dict[str, Any]) -> str:
    """Wait until the error line shows `compute(state)`'s message and no numbers are shown."""
    want = dashboard.compute(state)
    assert want["ok"] is False, f"{state} should be invalid"
    expect(page.locator(f".{CLS['error']}")).to_contain_text(want["error"], timeout=TIMEOUT_MS)
    expect(page.locator(".vk-total-bytes")).to_have_count(0)
    expect(page.locator(PLOT_IMG)).to_have_count(0)  # no stale figure beside the message
    assert_no_traceback(page)
    return want["error"]


def expect_note(page: Page, key: str, state: dict[str, Any]) -> str:
    """The refused value's message appears next to its own control (and in the error line)."""
    msg = expect_message(page, state)
    assert dashboard.compute(state)["field"] == key
    note = page.locator(f".vk-{CLS[key].removeprefix('vk-')}-note")
    expect(note).to_contain_text(msg, timeout=TIMEOUT_MS)
    return msg


def test_invalid_entries_show_messages(dash, screenshot):
    select(dash, CLS["model"], "deepseek-v3")
    expect_numbers(dash, {"model": "deepseek-v3"})
    # DeepSeek-V3's max_position_embeddings is 163,840: 1M is refused, not clamped
    type_text(dash, CLS["context"], "1M")
    message = expect_note(dash, "context", {"model": "deepseek-v3", "context": "1M"})
    assert "163,840" in message
    screenshot(dash, "context-too-long")
    # back to a valid context: the message goes away and the numbers return
    type_text(dash, CLS["context"], "131072")
    expect(dash.locator(f".{CLS['error']}")).to_have_text("", timeout=TIMEOUT_MS)
    expect_numbers(dash, {"model": "deepseek-v3", "context": 131_072})
    # expert parallelism on a dense model (Gemma 4 31B has no routed experts)
    state = {"model": "gemma-4-31b", "context": 131_072, "parallel": "ep"}
    select(dash, CLS["model"], "gemma-4-31b")
    select(dash, CLS["parallel"], "ep")
    assert "no routed experts" in expect_note(dash, "count", state)
    screenshot(dash, "ep-on-dense")
    assert dash.errors == []


def test_out_of_range_values_are_explained_never_clamped(dash, screenshot):
    # the values the issue saw clamped silently: context 2,000,000 and -5, batch 100,000, TP 24
    type_text(dash, CLS["context"], "2000000")
    assert "2,000,000" in expect_note(dash, "context", {"context": "2000000"})
    screenshot(dash, "context-2m-refused")
    type_text(dash, CLS["context"], "-5")
    assert "cannot read context" in expect_note(dash, "context", {"context": "-5"})
    type_text(dash, CLS["context"], "128K")
    expect_numbers(dash, {"context": "128K"})
    type_text(dash, CLS["batch"], "0")
    assert "batch must be >= 1" in expect_note(dash, "batch", {"batch": "0"})
    # a large batch is taken as typed (no slider maximum): it does not fit, and the page names
    # what would
    type_text(dash, CLS["batch"], "100000")
    want = expect_numbers(dash, {"batch": "100000"})
    assert want["fits"] is False
    expect(dash.locator(".vk-suggestion")).to_have_text(want["suggestion"], timeout=TIMEOUT_MS)
    type_text(dash, CLS["batch"], "1")
    select(dash, CLS["count"], "24")
    assert "does not divide 64" in expect_note(dash, "count", {"count": 24})
    screenshot(dash, "tp-24-refused")
    assert dash.errors == []


def test_no_fit_names_the_smallest_set(dash, screenshot):
    select(dash, CLS["gpu"], "h100-sxm-80gb")
    select(dash, CLS["count"], "1")
    state = {"gpu": "h100-sxm-80gb", "count": 1}
    want = expect_numbers(dash, state)
    assert want["fits"] is False
    # V4-Flash official (159.61 GB of weights) needs 4 × H100 under TP at 128K (notebook 00)
    assert want["suggestion"] == "Smallest set that fits: 4 × h100-sxm-80gb (tp), same recipe."
    expect(dash.locator(".vk-suggestion")).to_have_text(want["suggestion"], timeout=TIMEOUT_MS)
    screenshot(dash, "no-fit-suggestion")


def test_layout_works_at_900_px(dash, screenshot):
    dash.set_viewport_size({"width": 900, "height": 1000})
    expect_numbers(dash, {})
    width = dash.evaluate("document.documentElement.clientWidth")
    assert dash.evaluate("document.documentElement.scrollWidth") <= width
    for key in dashboard.CONTROLS:
        box = dash.locator(f".{CLS[key]}").first.bounding_box()
        assert box is not None, key
        assert box["x"] >= 0, key
        assert box["x"] + box["width"] <= width + 1, key
    screenshot(dash, "width-900")
