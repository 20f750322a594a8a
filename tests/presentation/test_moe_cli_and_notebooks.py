"""CLI `moe` / `fit` and the two notebooks (03, 04) executed headless."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vramkit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_moe_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["moe", "--model", "deepseek-v4-flash", "--batch", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # batch 1 touches exactly top_k experts, so resident = active
    assert out["resident_bytes"] == out["active_bytes"]
    assert (out["experts"], out["top_k"], out["moe_layers"]) == (256, 6, 43)
    assert out["experts_touched_per_layer"] == pytest.approx(6.0)


def test_fit_cli_smallest_count(capsys: pytest.CaptureFixture[str]) -> None:
    # 156.0 GB of main weights > 129.72 GB usable on one H200 (0.92 × 141 GB) → 2 GPUs
    assert main(["fit", "--model", "deepseek-v4-flash", "--gpu", "h200-sxm-141gb", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 2
    assert out["fits"]
    assert out["best_recipe"] == "deepseek-v4-official"
    assert out["per_gpu"]["usable_bytes"] == 129_720_000_000


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
