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
    type_readout,
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
        ("recipe", "select", "gguf-Q4_K_M", "recipe-q4km"),
        ("context", "readout", 1_048_576, "context-1m"),
        ("batch", "readout", 4, "batch-4"),
        ("gpu", "select", "b300-288gb", "gpu-b300"),
        ("count", "select", 8, "count-8"),
        ("parallel", "select", "ep", "parallel-ep"),
    ]
    for key, how, value, name in steps:
        if how == "select":
            select(dash, CLS[key], str(value))
        else:
            type_readout(dash, CLS[key], str(value))
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


def test_invalid_entries_show_messages(dash, screenshot):
    select(dash, CLS["model"], "deepseek-v3")
    expect_numbers(dash, {"model": "deepseek-v3"})
    # the slider runs to 2**20 tokens; DeepSeek-V3's max_position_embeddings is 163,840
    type_readout(dash, CLS["context"], "1048576")
    message = expect_message(dash, {"model": "deepseek-v3", "context": 1_048_576})
    assert "163,840" in message
    screenshot(dash, "context-too-long")
    # back to a valid context: the message goes away and the numbers return
    type_readout(dash, CLS["context"], "131072")
    expect(dash.locator(f".{CLS['error']}")).to_have_text("", timeout=TIMEOUT_MS)
    expect_numbers(dash, {"model": "deepseek-v3", "context": 131_072})
    # expert parallelism on a dense model (Gemma 4 31B has no routed experts)
    state = {"model": "gemma-4-31b", "context": 131_072, "parallel": "ep"}
    select(dash, CLS["model"], "gemma-4-31b")
    select(dash, CLS["parallel"], "ep")
    assert "no routed experts" in expect_message(dash, state)
    screenshot(dash, "ep-on-dense")
    assert dash.errors == []


def test_batch_zero_and_too_few_gpus(dash, screenshot):
    # ipywidgets clamps a typed 0 to the slider minimum (batch 1): no error, no traceback
    type_readout(dash, CLS["batch"], "0")
    expect(dash.locator(f".{CLS['batch']} .widget-readout")).to_have_text("1")
    expect_numbers(dash, {"batch": 1})
    screenshot(dash, "batch-0-clamped")
    # V4-Pro on one 24 GB card cannot hold its weights: the page says so in words
    select(dash, CLS["model"], "deepseek-v4-pro")
    select(dash, CLS["gpu"], "rtx-4090-24gb")
    select(dash, CLS["count"], "1")
    want = expect_numbers(dash, {"model": "deepseek-v4-pro", "gpu": "rtx-4090-24gb", "count": 1})
    assert want["fits"] is False
    assert want["total_bytes"] > want["usable_bytes"]
    screenshot(dash, "does-not-fit")
    assert dash.errors == []
