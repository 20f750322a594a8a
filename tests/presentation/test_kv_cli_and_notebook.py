"""The `kv` command and the KV notebook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vramkit.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_kv_cli_json(capsys):
    assert main(["kv", "--model", "deepseek-v4-pro", "--context", "1M", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # vLLM blog, state excluded: 10,334,371,840 B (see tests/accounting/test_kv_cache.py for the arithmetic)
    assert out["total_bytes"] - out["by_kind"]["state"] == 10_334_371_840
    assert out["slope_bytes_per_token"] == 9_848
    assert out["context_tokens"] == 1_048_576


def test_kv_cli_text_labels_units(capsys):
    assert main(["kv", "--model", "llama-3.1-70b", "--context", "128K", "--tp", "8"]) == 0
    text = capsys.readouterr().out
    # 131,072 tokens x 327,680 B = 42,949,672,960 B = 40.000 GiB; per GPU 1/8 = 5.000 GiB
    assert "42,949,672,960 B" in text
    assert "= 5.000 GiB" in text
    assert "GB = 1e9 bytes, GiB = 2**30 bytes." in text


def test_kv_cli_bad_input_is_one_line(capsys):
    assert main(["kv", "--model", "deepseek-v4-flash", "--context", "1M", "--runtime", "vlm"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'vllm'" in err
    assert "Traceback" not in err


@pytest.mark.notebook
def test_kv_notebook_runs_with_small_parameters(tmp_path):
    import papermill as pm

    out = tmp_path / "02.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "02_kv_cache_growth.ipynb"),
        str(out),
        parameters={
            "models": ["deepseek-v4-flash", "llama-3.1-70b"],
            "focus": "deepseek-v4-flash",
            "max_context": 65536,
            "runtime": "vllm",
            "cache_dtype": "fp8",
        },
        kernel_name="python3",
        progress_bar=False,
    )
    nb = json.loads(out.read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "deepseek-v4-flash at 65,536 tokens x batch 1, fp8_ds_mla (indexer fp8), vllm" in text


def test_widget_callback_and_plots():
    from vramkit.plots import kv as kv_plots
    from vramkit.widgets.kv import describe

    text = describe("llama-3.1-70b", 1024, 2, "bf16", "reference")
    # 2 x 1,024 tokens x 327,680 B = 671,088,640 B
    assert "total: 671,088,640 B" in text
    fig = kv_plots.growth(["deepseek-v4-flash", "gemma-4-31b"], max_context=65536)
    assert len(fig.axes[0].get_lines()) == 2
    bars = kv_plots.breakdown("deepseek-v4-flash", [4096, 65536])
    assert {t.get_text() for t in bars.axes[0].get_legend().get_texts()} == {
        "window", "csa", "indexer", "hca", "state",
    }  # fmt: skip
