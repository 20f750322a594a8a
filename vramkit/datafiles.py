"""Where the project's data files live, and the one loader every data module reads them with
(`load_document`: YAML, safe loader, ``schema_version: 1``, required top-level keys)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import VramkitError

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


def check_document(doc: Any, origin: str, keys: tuple[str, ...] = ()) -> Mapping[str, Any]:
    """`doc` as a data document: a mapping with ``schema_version: 1`` and the top-level `keys`,
    else a `VramkitError` naming `origin` and what is wrong."""
    if not isinstance(doc, Mapping):
        raise VramkitError(f"{origin}: expected a mapping with 'schema_version' and {list(keys)}.")
    if doc.get("schema_version") != 1:
        raise VramkitError(
            f"{origin}: schema_version must be 1, got {doc.get('schema_version')!r}."
        )
    missing = [k for k in keys if k not in doc]
    if missing:
        raise VramkitError(f"{origin}: missing top-level key(s) {missing}.")
    return doc


def load_document(path: str | Path, keys: tuple[str, ...] = ()) -> Mapping[str, Any]:
    """The one data-file reader: a YAML file (a name under `DATA_DIR`, or a path) parsed with the
    safe loader and checked by `check_document`; a missing file or bad YAML is a `VramkitError`."""
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = DATA_DIR / p
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VramkitError(f"data file {p} does not exist.") from None
    try:
        doc = load_yaml_text(text)
    except yaml.YAMLError as err:
        raise VramkitError(f"{p.name} is not valid YAML: {err}") from None
    return check_document(doc, p.name, keys)
