"""CLI `moe` / `fit` and the two notebooks (03, 04) executed headless."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pytest

from vramkit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_moe_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["moe", "--model", "deepseek-v4-flash", "--batch", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # batch 1 touches exactly top_k experts, so one step reads the active bytes; what must be
    # resident (held) is every weight — one meaning of "resident" everywhere (issue 25 item 6)
    assert out["step_read_bytes"] == out["active_bytes"]
    assert out["resident_bytes"] == out["total_bytes"]
    assert (out["experts"], out["top_k"], out["moe_layers"]) == (256, 6, 43)
    assert out["experts_touched_per_layer"] == pytest.approx(6.0)


def test_fit_cli_smallest_count(capsys: pytest.CaptureFixture[str]) -> None:
    # 156.0 GB of main weights > 138.02 GB usable on one H200 (floor(0.92 × 150,023,207,649 B),
    # the 139.72 GiB CUDA reports: data/gpus.yaml cuda_total_memory, vLLM#23192) → 2 GPUs
    assert main(["fit", "--model", "deepseek-v4-flash", "--gpu", "h200-sxm-141gb", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 2
    assert out["fits"]
    assert out["best_recipe"] == "deepseek-v4-official"
    assert out["per_gpu"]["usable_bytes"] == 138_021_351_037


def test_fit_cli_text_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["fit", "--model", "deepseek-v4-flash", "--gpu", "h200-sxm-141gb", "--count", "1"])
        == 0
    )
    assert "does NOT fit" in capsys.readouterr().out
    # a typed name resolves (vramkit.hardware.resolve_gpu); an unknown one is refused
    assert main(["fit", "--model", "deepseek-v4-flash", "--gpu", "h200"]) == 0
    assert "h200-sxm-141gb" in capsys.readouterr().out
    assert main(["fit", "--model", "deepseek-v4-flash", "--gpu", "h900"]) == 2
    assert "unknown GPU" in capsys.readouterr().err


@pytest.mark.notebook
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("03_moe_active_vs_total.ipynb", {"batch": 8}),
        ("04_gpu_fit_planner.ipynb", {"count": 4}),
    ],
)
def test_notebook_runs(name: str, params: dict[str, object], tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / name
    papermill.execute_notebook(
        str(ROOT / "notebooks" / name),
        str(out),
        parameters=params,
        kernel_name="python3",
        progress_bar=False,
    )
    assert "NBVAL_CHECK_OUTPUT" in out.read_text()


@pytest.mark.notebook
def test_notebook_bad_parameter_stops_with_vramkit_error(tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    with pytest.raises(papermill.PapermillExecutionError, match="VramkitError"):
        papermill.execute_notebook(
            str(ROOT / "notebooks" / "04_gpu_fit_planner.ipynb"),
            str(tmp_path / "bad.ipynb"),
            parameters={"gpu": "h201"},
            kernel_name="python3",
            progress_bar=False,
        )


def test_moe_panel_callback_is_moe_arithmetic() -> None:
    # notebook 03's panel (issue 25 item 6): batch -> experts touched per layer, bytes read in
    # one step, bytes that must be resident; every figure is vramkit.moe's
    from vramkit import moe
    from vramkit.catalog import get_model
    from vramkit.units import GB
    from vramkit.widgets import moe as moe_widgets

    split = moe.moe_split(get_model("deepseek-v4-flash"), "deepseek-v4-official")
    one = moe_widgets.step(split, 1)
    # one token touches exactly top_k experts per layer: the step reads the active bytes
    assert one["touched"] == [(256, 6, 6.0)]
    assert one["read_bytes"] == split.active_bytes
    assert one["resident_bytes"] == split.total_bytes
    # uniform routing, batch 32: E (1 - (1 - k/E)^B) = 256 (1 - (250/256)^32) = 136.149 experts
    s32 = moe_widgets.step(split, 32)
    touched = 256 * (1 - (1 - 6 / 256) ** 32)
    assert s32["touched"][0][2] == pytest.approx(touched, rel=1e-12)
    expert_bytes = sum(x.expert_bytes for x in split.layers)
    assert s32["read_bytes"] == math.ceil(split.dense_bytes + touched * expert_bytes)
    # the 12.7x of the index and notebook 00: every weight over one token's reads
    assert round(s32["resident_bytes"] / s32["active_bytes"], 1) == 12.7
    reads = [moe_widgets.step(split, b, 1.0)["read_bytes"] for b in moe_widgets.PANEL_BATCHES]
    assert reads == sorted(reads)
    assert split.active_bytes <= reads[0]
    assert reads[-1] <= split.total_bytes
    text = moe_widgets.describe(split, 32)
    assert f"{touched:,.1f} of 256 (top-6; 43 MoE layers)" in text
    assert f"must be resident:   {split.total_bytes / GB:8,.2f} GB" in text
    assert f"({split.total_bytes / split.active_bytes:.1f}x one token)" in text


def test_moe_panel_picture_is_linear() -> None:
    # the resident-vs-active gap drawn on a linear axis from 0 (a log axis made 12.7x look ~2x)
    from vramkit import moe
    from vramkit.catalog import get_model
    from vramkit.plots import moe as moe_plots
    from vramkit.units import GB
    from vramkit.widgets import moe as moe_widgets

    split = moe.moe_split(get_model("deepseek-v4-flash"), "deepseek-v4-official")
    fig = moe_plots.batch_step(split, batch=64, zipf_s=1.0)
    bars_ax = fig.axes[1]
    assert bars_ax.get_yscale() == "linear"
    assert bars_ax.get_ylim()[0] == 0
    heights = [p.get_height() for p in bars_ax.patches]
    want = moe_widgets.step(split, 64, 1.0)
    expected = [want["resident_bytes"], want["active_bytes"], want["read_bytes"]]
    assert heights == pytest.approx([v / GB for v in expected], rel=1e-12)
    assert heights[0] / heights[1] == pytest.approx(12.69, abs=0.01)
    # the chosen batch is marked on the touched curve
    assert 64 in {line.get_xdata()[0] for line in fig.axes[0].get_lines()}
    panel = moe_widgets.moe_panel(split, batch=50, zipf_s=1.0)
    (slider, _), text, figure = panel.children[0].children, *panel.children[1:]
    assert slider.value == 64  # the nearest power of two on the slider
    assert html.unescape(text.value) == f"<pre>{moe_widgets.describe(split, 64, 1.0)}</pre>"
    assert 'src="data:image/png;base64,' in figure.value
    # a new batch redraws both, from the same callbacks
    before = figure.value
    slider.value = 256
    assert html.unescape(text.value) == f"<pre>{moe_widgets.describe(split, 256, 1.0)}</pre>"
    assert figure.value != before
    # the panel holds no Output widget (its captured outputs travel back to the kernel on the
    # shell channel under nbclient; see moe_panel's docstring)
    assert not any(type(w).__name__ == "Output" for w in (panel, *panel.children))
