"""nbval over every committed notebook (lax mode: the `# NBVAL_CHECK_OUTPUT` cells' stored
outputs must match a fresh run; every cell must run), one pytest subprocess per notebook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_nbval(path: Path):
    cmd = [
        sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
        "--nbval-sanitize-with", "nbval_sanitize.cfg", "-p", "no:cacheprovider", "-q",
        str(path.relative_to(ROOT)),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
