"""The dashboard's planner section (`vramkit.widgets.plan`): pure compute, refusals per control,
capacity and curve only on demand."""

from __future__ import annotations

import pytest

from vramkit.plan import build_machine, solve, summary
from vramkit.widgets import plan as panel_mod


def test_first_draw_solves_one_plan_equal_to_the_planner() -> None:
    r = panel_mod.compute({})
    assert r["ok"] is True
    s = r["summary"]
    # the same plan the planner solves for the defaults (2 x RTX 4090 + 128 GB, 32K, llama.cpp)
    full = solve("deepseek-v4-flash", build_machine(["rtx-4090-24gb:2"], ram="128GB"),
                 recipe=s["recipe"], context=32 * 1024, curve=False)  # fmt: skip
    assert [p.total_bytes for p in s["plan"].places] == [p.total_bytes for p in full.plan.places]
    assert s["flags"] == full.flags.command
    # no capacity search and no curve in the first draw
    assert s["max_context"] is None
    assert s["curve"] == []
    for p in s["plan"].places:
        assert f"data-bytes='{p.total_bytes}'" in r["html"]
    assert "class='vk-plan-fits' data-fits='true'" in r["html"]


def test_details_on_demand_equal_summary() -> None:
    d = panel_mod.details({"context": "64K"})
    want = summary("deepseek-v4-flash", gpus="rtx-4090-24gb:2", ram="128GB", context=65536)
    assert d["summary"]["max_context"] == want["max_context"] > 65536
    assert d["summary"]["max_sequences"] == want["max_sequences"] >= 1
    assert d["summary"]["curve"] == want["curve"]
    assert f"data-max-context='{want['max_context']}'" in d["html"]


@pytest.mark.parametrize(
    ("state", "field", "words"),
    [
        ({"gpus": "rtx-9999"}, "gpus", "unknown GPU"),
        ({"gpus": "24GB@fast"}, "gpus", ""),
        ({"ram": "12XB"}, "ram", "cannot read host RAM size"),
        ({"context": "-5"}, "context", "cannot read context"),
        ({"runtime": "trtllm"}, "runtime", "planner runtime"),
        ({"model": "no-such-model"}, "model", "unknown model"),
    ],
)
def test_refused_values_name_their_control(state, field, words) -> None:
    r = panel_mod.compute(state)
    assert r["ok"] is False
    assert r["field"] == field
    assert words in r["error"]


def test_no_ram_no_fit_and_html_says_so() -> None:
    r = panel_mod.compute({"ram": "0GB"})
    assert r["summary"]["fits"] is False
    assert "data-fits='false'" in r["html"]
    assert "No speed bound" in r["html"]


def test_panel_builds_headless_with_stable_classes() -> None:
    box = panel_mod.panel(gpus="rtx-3090-24gb,rtx-4090-24gb", ram="192GB")
    widgets = list(_walk(box))
    classes = {c for w in widgets for c in getattr(w, "_dom_classes", ())}
    assert set(panel_mod.CLASSES.values()) <= classes
    html_out = next(w for w in widgets if "vk-plan-output" in getattr(w, "_dom_classes", ()))
    assert "data-fits='true'" in html_out.value


def _walk(w):
    yield w
    for c in getattr(w, "children", ()):
        yield from _walk(c)
