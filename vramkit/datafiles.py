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


MAX_YAML_NODES = 10_000
"""Most YAML nodes a user's file may expand to, aliases counted each time they are used (an
alias bomb of nine nested lists of nine aliases expands to 9**9 nodes: refused, not built)."""
MAX_YAML_CHARS = 1_000_000
"""Most characters of scalar text a user's file may expand to, aliases counted likewise."""


def load_user_yaml(text: str, what: str) -> Any:
    """Parse a user's small YAML file (a machine file) with the safe loader, bounded: at most
    `MAX_YAML_NODES` nodes and `MAX_YAML_CHARS` characters of scalars once aliases are expanded
    (checked on the node graph before any Python value is built), and no key twice in a mapping
    (YAML 1.2 forbids it; PyYAML would keep the last silently). Errors are one VramkitError."""
    loader = YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, what)
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise VramkitError(
            f"{what}: not valid YAML{where}: {getattr(err, 'problem', None) or type(err).__name__}."
        ) from None
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as err:
        if isinstance(err, VramkitError):
            raise
        raise VramkitError(f"{what}: not valid YAML ({type(err).__name__}).") from None
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node, what: str) -> None:
    """Walk the node graph as the constructed value would be expanded (iterative, bounded)."""
    nodes = chars = 0
    stack = [root]
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > MAX_YAML_NODES:
            raise VramkitError(
                f"{what}: more than {MAX_YAML_NODES:,} YAML nodes once aliases are expanded (an "
                "alias bomb?); a machine file needs a few dozen."
            )
        if isinstance(node, yaml.ScalarNode):
            chars += len(node.value)
            if chars > MAX_YAML_CHARS:
                raise VramkitError(
                    f"{what}: more than {MAX_YAML_CHARS:,} characters of text once aliases are "
                    "expanded; a machine file needs a few hundred."
                )
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    ident = (key.tag, key.value)
                    if ident in seen:
                        line = key.start_mark.line + 1 if key.start_mark else "?"
                        raise VramkitError(
                            f"{what}: key {key.value[:80]!r} appears twice in one mapping (line "
                            f"{line}); each key may appear once."
                        )
                    seen.add(ident)
                stack.extend((key, value))


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
