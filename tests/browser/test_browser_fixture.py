"""The browser harness itself, checked on the tiny fixture notebook served by Voila.

The fixture computes `total_bytes = weights[model] + context * batch * 1000` with
weights = {"small": 1_000_000, "large": 7_000_000} (see fixture_widgets.ipynb).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from playwright.sync_api import expect
from vkpage import (
    assert_no_traceback,
    expect_bytes,
    expect_plot_changed,
    open_voila,
    plot_src,
    select,
    type_readout,
)

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).with_name("fixture_widgets.ipynb")


@pytest.fixture(scope="module")
def voila(start_server, browser):
    server = start_server("voila", FIXTURE)
    yield server
    server.stop()


def test_fixture_panel_follows_controls(voila, page, screenshot):
    open_voila(page, f"{voila.url}/")
    # initial: small (1_000_000) + 4096 tokens * batch 1 * 1000 = 5_096_000
    expect_bytes(page, 5_096_000)
    first = plot_src(page)
    screenshot(page, "initial")

    select(page, "vk-model", "large")
    # 7_000_000 + 4096 * 1 * 1000 = 11_096_000
    expect_bytes(page, 11_096_000)
    second = expect_plot_changed(page, first)

    type_readout(page, "vk-batch", "8")
    # 7_000_000 + 4096 * 8 * 1000 = 39_768_000
    expect_bytes(page, 39_768_000)
    expect_plot_changed(page, second)
    screenshot(page, "large-batch8")

    type_readout(page, "vk-context", "65536")
    # 7_000_000 + 65536 * 8 * 1000 = 531_288_000
    expect_bytes(page, 531_288_000)

    type_readout(page, "vk-batch", "0")
    expect(page.locator(".vk-error")).to_contain_text("batch must be at least 1, got 0")
    assert_no_traceback(page)
    screenshot(page, "batch0-error")
    assert page.errors == []
