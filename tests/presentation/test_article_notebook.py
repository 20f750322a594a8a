"""notebooks/01_weights_and_quantization.ipynb runs headless with other parameters, and stops
with a VramkitError message on a bad one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NB = ROOT / "notebooks" / "01_weights_and_quantization.ipynb"


@pytest.mark.notebook
def test_runs_for_pro_base(tmp_path):
    import papermill as pm

    out = tmp_path / "out.ipynb"
    params = {"model_id": "deepseek-v4-pro-base", "min_context": 4096, "safer_context": 8192}
    nb = pm.execute_notebook(str(NB), str(out), parameters=params, kernel_name="python3",
                             progress_bar=False, cwd=str(ROOT))  # fmt: skip
    # tables are displayed (HTML with a plain-text twin), prose printed or shown as markdown
    text = "".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert re.search(r"deepseek-v4-base-official\s+1,606\.03", text)  # Pro-Base official row
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.notebook
def test_bad_model_stops_with_message(tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="VramkitError"):
        pm.execute_notebook(str(NB), str(tmp_path / "bad.ipynb"),
                            parameters={"model_id": "deepseek-v4-flsh"}, kernel_name="python3",
                            progress_bar=False, cwd=str(ROOT))  # fmt: skip
