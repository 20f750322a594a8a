"""Shared test setup: keep Jupyter / IPython / matplotlib state inside the project (as tasks.py
does), so notebook tests run on read-only homes and in CI."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_STATE = ROOT / ".jupyter-state"

for _var, _sub in (
    ("JUPYTER_RUNTIME_DIR", "runtime"),
    ("JUPYTER_DATA_DIR", "data"),
    ("JUPYTER_CONFIG_DIR", "config"),
    ("IPYTHONDIR", "ipython"),
    ("MPLCONFIGDIR", "matplotlib"),
):
    if _var not in os.environ:
        (_STATE / _sub).mkdir(parents=True, exist_ok=True)
        os.environ[_var] = str(_STATE / _sub)
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# The parsed-data cache (vramkit.datafiles) stays off in the suite: every test reads the YAML,
# nothing is written under the user's home; tests/catalog/test_data_cache.py turns it on in
# folders of its own.
os.environ.setdefault("VRAMKIT_NO_CACHE", "1")
