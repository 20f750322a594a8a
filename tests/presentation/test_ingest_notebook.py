"""Notebook 05 runs headless with a non-default model_path (a tiny safetensors folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_model import write_tiny

ROOT = Path(__file__).resolve().parents[2]
NB = ROOT / "notebooks" / "05_bring_your_own_model.ipynb"


@pytest.mark.notebook
def test_notebook_05_with_local_safetensors(tmp_path):
    import papermill as pm

    folder = write_tiny(tmp_path / "tiny")
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(NB), str(out), parameters={"model_path": str(folder)},
                        cwd=str(ROOT), progress_bar=False, kernel_name="python3")  # fmt: skip
    text = "".join(
        "".join(o.get("text", ""))
        for c in json.loads(out.read_text())["cells"]
        for o in c.get("outputs", [])
    )
    # the tiny F16 model: measured bytes = estimate bytes in every group (diff column all 0)
    assert "measured from headers" in text
    assert "architecture family: llama" in text
