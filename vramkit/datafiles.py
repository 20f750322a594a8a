"""Where the project's data files live, and the one YAML loader every data module uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_PACKAGED = Path(__file__).resolve().parent / "data"
_CHECKOUT = Path(__file__).resolve().parent.parent / "data"
DATA_DIR = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT
"""The data files: ``vramkit/data`` inside an installed wheel (pyproject maps the repository's
data/ there), else the checkout's data/ folder (``pip install -e .``, or running from the repo)."""

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when available (about 10x faster on the catalog), else PyYAML's."""


def load_yaml_text(text: str) -> Any:
    """Parse YAML text with the safe loader."""
    return yaml.load(text, Loader=YAML_LOADER)
