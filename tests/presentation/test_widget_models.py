"""The dashboard's two panels make no widget model the page does not show: every model a panel
creates (each one a comm the page opens and loads on its first load) is reachable from the panel
it returns, so no default Layout / style is built and then replaced (issue 22: the first load)."""

from __future__ import annotations

from typing import Any

import pytest

w = pytest.importorskip("ipywidgets", reason="ipywidgets is not installed")
from ipywidgets.widgets import widget as widget_mod  # noqa: E402


def _reachable(root: Any) -> set[str]:
    """Model ids reachable from `root` through its traits (children, layout, style …)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        x = todo.pop()
        if isinstance(x, (list, tuple)):
            todo.extend(x)
            continue
        if not isinstance(x, widget_mod.Widget) or x.model_id in seen:
            continue
        seen.add(x.model_id)
        todo.extend(getattr(x, name) for name in x.keys if name not in ("_dom_classes",))
    return seen


def _built(make: Any) -> tuple[set[str], set[str]]:
    before = set(widget_mod._instances)
    root = make()
    return set(widget_mod._instances) - before, _reachable(root)


def test_dashboard_panel_has_no_orphan_models() -> None:
    from vramkit.widgets import dashboard

    created, shown = _built(dashboard.panel)
    assert created - shown == set()
    # 11 controls, each with its note, in one column: no box per control (was 11 more models)
    assert sum(isinstance(widget_mod._instances[m], w.VBox) for m in created) == 4


def test_planner_panel_has_no_orphan_models() -> None:
    from vramkit.widgets import plan

    created, shown = _built(plan.panel)
    assert created - shown == set()
    # the five controls share one Layout; Dropdowns and Comboboxes one style model per kind
    styles = {type(widget_mod._instances[m]).__name__ for m in created if "Style" in
              type(widget_mod._instances[m]).__name__}  # fmt: skip
    layouts = [m for m in created if isinstance(widget_mod._instances[m], w.Layout)]
    assert styles == {"DescriptionStyle", "TextStyle", "HTMLStyle", "ButtonStyle"}
    assert len(layouts) == 6  # controls, HTML panes, button, two columns, the row
