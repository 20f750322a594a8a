"""The headline numbers (`vramkit.article.headline`) and the dashboard's pure `compute`."""

from __future__ import annotations

import pytest

from vramkit.article.headline import active_bytes, active_ratio, headline, headline_lines
from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.quant import weight_bytes
from vramkit.widgets.dashboard import CLASSES, DEFAULTS, check, compute

ROUTED = ("routed_experts_gate_up", "routed_experts_down")


def test_active_bytes_of_v4_flash_by_arithmetic():
    # Every routed expert of a tensor has the same bytes, so the active bytes are the main
    # model's bytes minus the routed bytes plus k/E of them: V4-Flash k = 6 of E = 256.
    m = get_model("deepseek-v4-flash")
    w = weight_bytes(m)
    routed = sum(w.by_group[g] for g in ROUTED)
    assert active_bytes(m) == w.main_bytes - routed + routed * 6 // 256
    r = active_ratio(m)
    assert r.resident_bytes == w.main_bytes
    assert r.ratio == pytest.approx(w.main_bytes / (w.main_bytes - routed + routed * 6 / 256))
    assert 10 < r.ratio < 15  # 284B total / 13B active, experts at ~4.25 bits, the rest at ~8


def test_dense_model_ratio_is_exactly_one():
    r = active_ratio(get_model("gemma-4-31b"))
    assert r.active_bytes == r.resident_bytes
    assert r.ratio == 1.0


def test_headline_cells_and_text():
    h = headline("deepseek-v4-flash", "official,gguf-Q2_K", "131072", "h200-sxm-141gb")
    # model.safetensors.index.json of DeepSeek-V4-Flash: "total_size": 159609485896
    assert h.weight("deepseek-v4-flash", "official").total_bytes == 159_609_485_896
    assert h.weight("deepseek-v4-flash", "official").recipe_id == "deepseek-v4-official"
    assert [c.context for c in h.kv] == [131_072]
    assert h.fits[0].count is not None
    assert h.fits[0].count >= 2
    text = "\n".join(headline_lines(h))
    assert "159.6 GB" in text
    assert "148.6 GiB" in text


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("deepseek-v4-flsh",), "Did you mean 'deepseek-v4-flash'"),
        (("deepseek-v4-flash", ""), "recipe list is empty"),
        (("deepseek-v4-flash", "official,official"), "twice"),
        (("deepseek-v4-flash", "official", "0"), "context must be >= 1"),
        (("deepseek-v4-flash", "official", "131072", "h300"), "unknown"),
    ],
)
def test_headline_refuses_bad_input(args, match):
    with pytest.raises(VramkitError, match=match):
        headline(*args)


def test_dashboard_default_state_fits_and_sums():
    r = compute({})
    assert r["ok"]
    assert r["fits"]
    assert r["total_bytes"] == r["weights_bytes"] + r["kv_bytes"] + r["overhead_bytes"]
    assert f'class="vk-total-bytes" data-bytes="{r["total_bytes"]}"' in r["html"]
    assert "GiB" in r["html"]
    assert "GB" in r["html"]


def test_dashboard_tensor_parallel_halves_the_split_weights():
    one = compute({"count": 1, "gpu": "mi355x-288gb", "parallel": "tp"})
    two = compute({"count": 2, "gpu": "mi355x-288gb", "parallel": "tp"})
    assert two["weights_bytes"] < one["weights_bytes"] / 2 * 1.01


@pytest.mark.parametrize(
    ("state", "match"),
    [
        ({"model": "nope"}, "unknown model"),
        ({"context": 0}, "context 0 tokens is outside 1 … 1,048,576"),
        ({"context": 2**21}, "context 2,097,152 tokens is outside 1 … 1,048,576"),
        ({"parallel": "ep", "model": "gemma-4-31b"}, "no routed experts"),
        ({"colour": "red"}, "unknown dashboard control"),
    ],
)
def test_dashboard_invalid_states_give_a_message_not_a_traceback(state, match):
    r = compute(state)
    assert r["ok"] is False
    assert match in r["error"]
    with pytest.raises(VramkitError, match=match):
        check(state)


def test_dashboard_panel_builds_headless_with_stable_classes():
    pytest.importorskip("ipywidgets")
    from vramkit.widgets.dashboard import panel

    box = panel()
    found = set()

    def walk(w):
        found.update(getattr(w, "_dom_classes", ()))
        for child in getattr(w, "children", ()):
            walk(child)

    walk(box)
    assert set(CLASSES.values()) <= found
    assert set(DEFAULTS) <= set(CLASSES)


def _controls(box) -> dict:
    """The panel's dropdowns by their description."""
    found = {}

    def walk(w):
        if getattr(w, "description", None) and hasattr(w, "options"):
            found[w.description] = w
        for child in getattr(w, "children", ()):
            walk(child)

    walk(box)
    return found


def test_changing_the_model_keeps_a_recipe_the_new_model_takes():
    # issue 25 item 3: the dashboard reset the recipe to "official" on every model change
    pytest.importorskip("ipywidgets")
    from vramkit.widgets.dashboard import panel, recipe_options

    ctl = _controls(panel())
    ctl["recipe"].value = "gguf-Q4_K_M"
    ctl["model"].value = "deepseek-v4-pro"
    assert "gguf-Q4_K_M" in recipe_options("deepseek-v4-pro")
    assert ctl["recipe"].value == "gguf-Q4_K_M"
    # a recipe the new model does not take falls back to its official layout
    ctl["recipe"].value = "ds4-q2"
    ctl["model"].value = "llama-2-13b"
    assert "ds4-q2" not in recipe_options("llama-2-13b")
    assert ctl["recipe"].value == "official"


def test_a_gguf_runtime_moves_official_to_the_file_fit_sizes():
    # issue 25: `fit --runtime llama.cpp` with no recipe sizes a GGUF file (the largest no larger
    # than the checkpoint); the dashboard's "official" with llama.cpp sized the checkpoint, which
    # llama.cpp cannot load. Choosing the runtime now moves the recipe to that file, and the
    # panel's numbers are fit's.
    pytest.importorskip("ipywidgets")
    import contextlib
    import io
    import json

    from vramkit.cli import main
    from vramkit.widgets.dashboard import DEFAULTS, compute, panel

    ctl = _controls(panel())
    assert ctl["recipe"].value == "official"
    ctl["runtime"].value = "llama.cpp"
    recipe = ctl["recipe"].value
    assert recipe.startswith("gguf-")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["fit", "--model", DEFAULTS["model"], "--gpu", DEFAULTS["gpu"], "--count",
                     str(DEFAULTS["count"]), "--runtime", "llama.cpp", "--context",
                     str(DEFAULTS["context"]), "--json"]) == 0  # fmt: skip
    cli = json.loads(out.getvalue())
    assert cli["recipe"] == recipe
    got = compute({"runtime": "llama.cpp", "recipe": recipe})
    assert got["fits"] == cli["fits"]
    assert got["total_bytes"] == cli["per_gpu"]["total_bytes"]
    # a recipe chosen by hand is left alone; a serving runtime keeps "official"
    ctl["recipe"].value = "gguf-Q4_K_M"
    ctl["runtime"].value = "ik-llama.cpp"
    assert ctl["recipe"].value == "gguf-Q4_K_M"
