"""JupyterLab: open a copy of the dashboard notebook, run all cells, see the widget panel render
with the numbers vramkit computes for the notebook's parameters."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from playwright.sync_api import expect
from vkpage import TIMEOUT_MS, assert_no_traceback, open_in_lab, run_all_in_lab

from vramkit.widgets import dashboard
from vramkit.widgets import plan as plan_panel

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"


def parameters(path: Path) -> dict[str, Any]:
    """The literals of the notebook's `parameters` cell (`name: type = value  # help` lines)."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    return {
        node.target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }


def test_lab_runs_dashboard_notebook(start_server, browser, page, screenshot):
    lab = start_server("lab", NOTEBOOK)
    open_in_lab(page, lab, NOTEBOOK.name, "vk-dashboard")
    screenshot(page, "opened")
    run_all_in_lab(page)
    control = page.locator(".jp-OutputArea-output .vk-context").first
    expect(control).to_be_visible(timeout=TIMEOUT_MS)
    params = parameters(NOTEBOOK)
    want = dashboard.compute({k: v for k, v in params.items() if k in dashboard.DEFAULTS})
    assert want["ok"], want.get("error")
    total = page.locator(".jp-OutputArea-output .vk-total-bytes").first
    expect(total).to_have_attribute("data-bytes", str(want["total_bytes"]), timeout=TIMEOUT_MS)
    # the planner section below it, for the notebook's planner parameters
    plan_state = {"model": params["model"], "gpus": params["plan_gpus"], "ram": params["plan_ram"],
                  "runtime": params["plan_runtime"]}  # fmt: skip
    planned = plan_panel.compute(plan_state)
    assert planned["ok"], planned.get("error")
    verdict = page.locator(".jp-OutputArea-output .vk-plan-fits").first
    fits = str(planned["summary"]["fits"]).lower()
    expect(verdict).to_have_attribute("data-fits", fits, timeout=TIMEOUT_MS)
    control.scroll_into_view_if_needed()
    screenshot(page, "ran-all")
    assert_no_traceback(page)
    assert page.errors == []
