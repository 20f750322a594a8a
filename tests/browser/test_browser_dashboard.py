"""The Voila dashboard in a real browser: every number shown is exactly what vramkit computes.

Each state is driven through the page (dropdowns, slider readouts), then the per-GPU amounts
(`<span class="vk-<name>-bytes" data-bytes="N">`) are compared, as integers, with
`vramkit.widgets.dashboard.compute(state)` run here with the same inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from vramkit.widgets import plan as plan_panel

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
    # no figure before it is asked for (matplotlib is a third of the first load); once the
    # "bar chart" toggle is on, every change below redraws it
    expect(dash.locator(PLOT_IMG)).to_have_count(0)
    dash.locator(f".{CLS['chart']}").click()
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
    assert dash.outside == []
    assert dash.console_errors == []


FONT_JS = """async () => {
    const faces = await document.fonts.load('900 16px "Font Awesome 5 Free"');
    const files = performance.getEntriesByType('resource').map(e => e.name)
        .filter(n => /\\.(woff2?|ttf|eot)(\\?|#|$)/.test(n));
    return {faces: faces.length, files};
}"""


def test_nothing_leaves_the_machine(dash, screenshot):
    # issue 21 item 4: Voila's lab template linked Font Awesome from cdn.jsdelivr.net (2
    # requests out, 2 console errors offline); vramkit's template drops those links and the
    # icon font comes from Voila's own bundle, served by the same 127.0.0.1 server
    want = expect_numbers(dash, {})
    icons = dash.evaluate(FONT_JS)
    assert icons["faces"] >= 1, "the Font Awesome icon font is not defined on the page"
    assert icons["files"], "no icon font file was loaded"
    assert {urlsplit(url).hostname for url in icons["files"]} == {"127.0.0.1"}, icons["files"]
    # a state change (a redraw through the kernel) fetches nothing from outside either
    select(dash, CLS["gpu"], "b300-288gb")
    expect_numbers(dash, {"gpu": "b300-288gb"})
    assert want["ok"]
    screenshot(dash, "offline")
    assert dash.outside == [], f"requests to other hosts: {dash.outside}"
    assert dash.console_errors == [], f"console errors: {dash.console_errors}"
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
    # a large batch is taken as typed (no slider maximum): past the planner's 4,096 sequences it
    # is refused beside its control; at 4,096 it does not fit, and the page names what would
    type_text(dash, CLS["batch"], "100000")
    assert "4,096" in expect_note(dash, "batch", {"batch": "100000"})
    type_text(dash, CLS["batch"], "4096")
    want = expect_numbers(dash, {"batch": "4096"})
    assert want["fits"] is False
    expect(dash.locator(".vk-suggestion")).to_have_text(want["suggestion"], timeout=TIMEOUT_MS)
    type_text(dash, CLS["batch"], "1")
    # one tensor-parallel group over 24 GPUs cannot split 64 heads (auto would pick a layout)
    select(dash, CLS["parallel"], "tp")
    select(dash, CLS["count"], "24")
    assert "does not divide 64" in expect_note(dash, "count", {"parallel": "tp", "count": 24})
    screenshot(dash, "tp-24-refused")
    assert dash.errors == []


def test_no_fit_names_the_smallest_set(dash, screenshot):
    select(dash, CLS["gpu"], "h100-sxm-80gb")
    select(dash, CLS["count"], "1")
    state = {"gpu": "h100-sxm-80gb", "count": 1}
    want = expect_numbers(dash, state)
    assert want["fits"] is False
    # the smallest set is the one `vramkit fit` names for the same question (one solver)
    cli = _cli_fit("deepseek-v4-flash", "h100-sxm-80gb", None, "vllm")
    assert cli["fits"] is True
    assert want["suggestion"] == (
        f"Smallest set that fits: {cli['count']} × h100-sxm-80gb ({cli['layout']}), same recipe."
    )
    expect(dash.locator(".vk-suggestion")).to_have_text(want["suggestion"], timeout=TIMEOUT_MS)
    screenshot(dash, "no-fit-suggestion")


def _cli_fit(model: str, gpu: str, count: int | None, runtime: str) -> dict[str, Any]:
    """`vramkit fit … --json` at the dashboard's context (128K), in-process."""
    import contextlib
    import io
    import json

    from vramkit.cli import main

    argv = ["fit", "--model", model, "--gpu", gpu, "--runtime", runtime, "--context", "131072",
            "--json"] + ([] if count is None else ["--count", str(count)])  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return json.loads(out.getvalue())


@pytest.mark.parametrize(
    ("model", "gpu", "count", "runtime"),
    [
        ("deepseek-v4-flash", "h200-sxm-141gb", 2, "vllm"),
        ("deepseek-v4-flash", "h100-sxm-80gb", 2, "sglang"),
        ("deepseek-v4-pro", "h200-sxm-141gb", 8, "vllm"),
    ],
)
def test_dashboard_answers_what_the_cli_answers(dash, model, gpu, count, runtime):
    """Issue 25: a few grid points driven through the page give the verdict and the per-GPU
    total that `vramkit fit` prints for the same question (tests/budget/test_one_answer_grid.py
    asks every other face)."""
    select(dash, CLS["model"], model)
    select(dash, CLS["gpu"], gpu)
    select(dash, CLS["count"], str(count))
    select(dash, CLS["runtime"], runtime)
    cli = _cli_fit(model, gpu, count, runtime)
    expect_bytes(dash, int(cli["per_gpu"]["total_bytes"]), cls="vk-total-bytes")
    fits = dash.locator(".vk-fits")
    expect(fits).to_have_attribute("data-fits", str(cli["fits"]).lower(), timeout=TIMEOUT_MS)
    assert_no_traceback(dash)


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


# --- the placement planner section (vramkit.widgets.plan) ---------------------------------

PLAN = plan_panel.CLASSES


def expect_plan(page: Page, state: dict[str, Any]) -> dict[str, Any]:
    """Wait until the planner shows exactly `plan_panel.compute(state)`: the verdict and every
    place's bytes (data-bytes, integers), the flags line; return that result."""
    want = plan_panel.compute(state)
    assert want["ok"], want.get("error")
    s = want["summary"]
    fits = page.locator(".vk-plan-fits")
    expect(fits).to_have_attribute("data-fits", str(s["fits"]).lower(), timeout=TIMEOUT_MS)
    places = page.locator(".vk-plan-place")
    expect(places).to_have_count(len(s["plan"].places), timeout=TIMEOUT_MS)
    for i, p in enumerate(s["plan"].places):
        expect(places.nth(i)).to_have_attribute("data-place", p.name, timeout=TIMEOUT_MS)
        expect(places.nth(i)).to_have_attribute("data-bytes", str(p.total_bytes))
    if s["fits"]:
        expect(page.locator(".vk-plan-flags")).to_have_text(s["flags"], timeout=TIMEOUT_MS)
    expect(page.locator(f".{PLAN['error']}")).to_have_text("")
    assert_no_traceback(page)
    return want


CLIPPED_JS = """(sel) => {
    const out = [];
    for (const root of document.querySelectorAll(sel)) {
        for (const el of [root, ...root.querySelectorAll('*')]) {
            const cs = getComputedStyle(el);
            if (cs.display === 'none' || !(el.innerText || '').trim()) continue;
            if (el.scrollWidth > el.clientWidth + 1 && cs.overflowX !== 'visible'
                && cs.overflowX !== 'auto' && cs.overflowX !== 'scroll')
                out.push(el.tagName + '.' + el.className + ' ' + el.scrollWidth + '>' + el.clientWidth);
            const r = el.getBoundingClientRect();
            if (r.right > document.documentElement.clientWidth + 1)
                out.push(el.tagName + '.' + el.className + ' right=' + Math.round(r.right));
        }
    }
    return out;
}"""


def expect_planner_readable(page: Page) -> None:
    """The planner's output and controls are neither blank nor clipped nor off the page."""
    text = page.locator(f".{PLAN['output']}").inner_text()
    assert len(text.strip()) > 50, f"planner output is (nearly) blank: {text!r}"
    for key in plan_panel.CONTROLS:
        assert page.locator(f".{PLAN[key]}").first.is_visible(), key
    sel = ", ".join(f".{PLAN[k]}" for k in (*plan_panel.CONTROLS, "output", "details_output"))
    assert page.evaluate(CLIPPED_JS, sel) == []


@pytest.fixture
def plan_page(voila, page: Page) -> Page:
    """The dashboard opened until the PLANNER's verdict is drawn: the whole page, the planner
    section last, within the one page-load allowance (PAGE_TIMEOUT_MS, 90 s)."""
    open_voila(page, f"{voila.url}/", ".vk-plan-fits")
    return page


def test_planner_renders_and_follows_its_controls(plan_page, screenshot):
    dash = plan_page
    want = expect_plan(dash, {})
    s = want["summary"]
    # the example: V4-Flash on 2 x RTX 4090 + 128 GB RAM fits under llama.cpp, with
    # routed experts of some layers in host RAM (--n-cpu-moe) and a two-GPU split (-ts)
    assert s["fits"] is True
    assert "--n-cpu-moe" in s["flags"]
    assert " -ts " in s["flags"]
    expect_planner_readable(dash)
    screenshot(dash, "planner-defaults")
    state: dict[str, Any] = {}
    # no host RAM: the experts have nowhere to go, the plan no longer fits
    type_text(dash, PLAN["ram"], "0GB")
    state["ram"] = "0GB"
    assert expect_plan(dash, state)["summary"]["fits"] is False
    screenshot(dash, "planner-no-ram")
    # mixed devices, one of them ad hoc: a 3090 beside a 24 GB card at 1008 GB/s, 192 GB RAM
    type_text(dash, PLAN["ram"], "192GB")
    type_text(dash, PLAN["gpus"], "rtx-3090-24gb,24GB@1008GB/s")
    state |= {"ram": "192GB", "gpus": "rtx-3090-24gb,24GB@1008GB/s"}
    mixed = expect_plan(dash, state)["summary"]
    assert [q["name"] for q in mixed["places"]] == ["GPU0", "GPU1", "host"]
    assert mixed["places"][0]["capacity_gb"] != mixed["places"][1]["capacity_gb"]
    expect_planner_readable(dash)
    screenshot(dash, "planner-mixed")
    # another runtime changes the answer (vLLM: official layout, flags of its own)
    select(dash, PLAN["runtime"], "vllm")
    state["runtime"] = "vllm"
    expect_plan(dash, state)
    select(dash, PLAN["runtime"], "llama.cpp")
    state["runtime"] = "llama.cpp"
    expect_plan(dash, state)
    # capacity and the context-vs-speed curve only on demand, equal to details(state)
    expect(dash.locator(".vk-plan-capacity")).to_have_count(0)
    dash.locator(f".{PLAN['details']} button, button.{PLAN['details']}").first.click()
    more = plan_panel.details(state)["summary"]
    cap = dash.locator(".vk-plan-capacity")
    expect(cap).to_have_attribute("data-max-context", str(more["max_context"]), timeout=TIMEOUT_MS)
    expect(cap).to_have_attribute("data-max-sequences", str(more["max_sequences"]))
    expect_planner_readable(dash)
    screenshot(dash, "planner-curve")
    # a refused value is explained, not drawn
    type_text(dash, PLAN["gpus"], "rtx-9999")
    bad = plan_panel.compute({**state, "gpus": "rtx-9999"})
    assert bad["ok"] is False
    assert bad["field"] == "gpus"
    expect(dash.locator(f".{PLAN['error']}")).to_contain_text(bad["error"], timeout=TIMEOUT_MS)
    expect(dash.locator(".vk-plan-fits")).to_have_count(0)
    assert dash.errors == []


def test_planner_fits_a_900_px_page(plan_page, screenshot):
    dash = plan_page
    dash.set_viewport_size({"width": 900, "height": 1000})
    expect_plan(dash, {})
    width = dash.evaluate("document.documentElement.clientWidth")
    assert dash.evaluate("document.documentElement.scrollWidth") <= width
    expect_planner_readable(dash)
    screenshot(dash, "planner-width-900")


# --- bounded kernel waits (vramkit.present.voila_serve) -----------------------------------


@pytest.fixture(scope="module")
def stuck_voila(start_server, browser, tmp_path_factory):
    """Voila on a notebook whose second cell would run for 10 minutes, with a 3 s cell limit."""
    import nbformat

    folder = tmp_path_factory.mktemp("stuck")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print('first cell ran')"),
        nbformat.v4.new_code_cell("import time\ntime.sleep(600)"),
        nbformat.v4.new_code_cell("print('third cell ran')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "stuck.ipynb"
    nbformat.write(nb, path)
    server = start_server("voila", path, "--VoilaExecutor.timeout=3")
    yield server
    server.stop()


def test_a_stuck_cell_is_stopped_and_said(stuck_voila, page: Page, screenshot):
    # Voila leaves nbclient's cell timeout unset (wait forever); the kit's launcher sets one
    # (--VoilaExecutor.timeout, 120 s by default, here 3 s) and the page says what happened and
    # what to do instead of spinning; the cells after it do not run
    from vramkit.present.voila_serve import TIMEOUT_INSTRUCTION

    page.goto(f"{stuck_voila.url}/", wait_until="commit", timeout=90_000)
    expect(page.locator("body")).to_contain_text("first cell ran", timeout=90_000)
    expect(page.locator("body")).to_contain_text("Cell execution timed out", timeout=60_000)
    expect(page.locator("body")).to_contain_text(TIMEOUT_INSTRUCTION)
    expect(page.locator("body")).not_to_contain_text("third cell ran")
    screenshot(page, "stuck-cell")
    assert page.outside == []
