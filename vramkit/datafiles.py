"""Where the project's data files live, and the one loader every data module reads them with
(`load_document`: YAML, safe loader, ``schema_version: 1``, required top-level keys).

The project's own data files (under `DATA_DIR`) are parsed once per content and kept, parsed, in
a cache outside the project (`cache_dir`): about 20 ms of PyYAML's constructor saved on every
command's start. The cache is a convenience, never a source: an entry is used only when its key
(package version, Python's marshal format, the YAML file's BLAKE2b hash) and its own checksum match,
anything else falls back to the YAML; ``VRAMKIT_NO_CACHE=1`` turns it off; a folder that cannot
be written is skipped silently.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import VramkitError

if TYPE_CHECKING:
    import yaml

_PACKAGED = Path(__file__).resolve().parent / "data"
_CHECKOUT = Path(__file__).resolve().parent.parent / "data"
DATA_DIR = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT
"""The data files: ``vramkit/data`` inside an installed wheel (pyproject maps the repository's
data/ there), else the checkout's data/ folder (``pip install -e .``, or running from the repo)."""


@cache
def yaml_loader() -> type:
    """libyaml's safe loader when available (about 10x faster on the catalog), else PyYAML's.
    PyYAML is imported here, on the first parse: a command whose data files all come from the
    parsed-data cache never imports it (its import compiles large regexes, ~10 ms)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_text(text: str) -> Any:
    """Parse YAML text with the safe loader."""
    import yaml

    return yaml.load(text, Loader=yaml_loader())


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
    import yaml

    loader = yaml_loader()(text)
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
    import yaml

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
    safe loader and checked by `check_document`; a missing file or bad YAML is a `VramkitError`.
    A project data file's parse is kept in the parsed-data cache (`cached_parse`)."""
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = DATA_DIR / p
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise VramkitError(f"data file {p} does not exist.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise VramkitError(f"{p.name} is not UTF-8 text: {err.reason}.") from None
    doc = cached_parse(p.name, raw, text) if p.parent == DATA_DIR else _parse(p.name, text)
    return check_document(doc, p.name, keys)


def _parse(name: str, text: str) -> Any:
    import yaml

    try:
        return load_yaml_text(text)
    except yaml.YAMLError as err:
        raise VramkitError(f"{name} is not valid YAML: {err}") from None


# ── the parsed-data cache ──────────────────────────────────────────────────────────────────────
NO_CACHE_ENV = "VRAMKIT_NO_CACHE"
"""Set to 1 (any value but "" and "0") to read every data file from its YAML, writing no cache."""
_MAGIC = b"vramkit parsed data 1\n"
_DIGEST = 32  # bytes of the BLAKE2b digest kept in an entry


def _digest(data: bytes) -> bytes:
    """BLAKE2b-256 of `data` (from CPython's own `_blake2` module when present: importing
    `hashlib` loads OpenSSL first, ~3.5 ms of a command's start; `hashlib.blake2b` is the same
    function)."""
    try:
        from _blake2 import blake2b
    except ImportError:  # another Python implementation
        from hashlib import blake2b
    return blake2b(data, digest_size=_DIGEST).digest()


def cache_dir() -> Path | None:
    """Where parsed data files are kept: ``$VRAMKIT_CACHE/data``, else
    ``$XDG_CACHE_HOME/vramkit/data``, else ``~/.cache/vramkit/data``; None when
    ``VRAMKIT_NO_CACHE`` is set (or no home folder is known)."""
    if os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return None
    root = os.environ.get("VRAMKIT_CACHE")
    if root:
        return Path(root) / "data"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "vramkit" / "data"
    home = os.path.expanduser("~")
    return None if home == "~" else Path(home) / ".cache" / "vramkit" / "data"


def cache_key(name: str, raw: bytes) -> str:
    """The cache key of a data file's bytes: BLAKE2b-256 (hex) over the package version,
    Python's version and marshal format, the file's name and its content."""
    from . import __version__

    head = f"{__version__}\0{sys.version_info[:2]}\0{marshal.version}\0{name}\0".encode()
    return _digest(head + raw).hex()


def cached_parse(name: str, raw: bytes, text: str, parse: Callable[[], Any] | None = None) -> Any:
    """The parsed YAML of data file `name` (bytes `raw`, decoded `text`): the cache entry when
    one with the same key is whole and well formed, else the YAML parsed and the entry written
    (atomically; silently not when the folder is not writable). `parse`: another reader of the
    same bytes (a gzipped JSON document of the project), whose result is kept the same way."""
    read = parse if parse is not None else (lambda: _parse(name, text))
    folder = cache_dir()
    if folder is None:
        return read()
    key = cache_key(name, raw)
    entry = folder / f"{Path(name).stem}-{key[:24]}.bin"
    doc = _read_entry(entry, key)
    if doc is not _MISSING:
        return doc
    doc = read()
    _write_entry(entry, key, doc)
    return doc


_MISSING = object()


MAX_ENTRY_BYTES = 64 * 2**20
"""Largest cache entry read (bytes); the biggest entry is ~0.5 MB (a llama.cpp architecture
template, `runtimes.llamacpp.arch.load_template`; a YAML data file: ~0.1 MB)."""


def _read_entry(entry: Path, key: str) -> Any:
    """The document kept in `entry` if it is a regular file of this user, whole (checksum) and
    of `key`; else `_MISSING` (a link, a FIFO, a device, a folder, a stranger's file: not read)."""
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(entry, flags)
    except (OSError, ValueError):
        return _MISSING
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES:
            return _MISSING
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            return _MISSING  # not written by this user: not trusted
        with os.fdopen(fd, "rb", closefd=False) as f:
            blob = f.read(MAX_ENTRY_BYTES + 1)
    except (OSError, ValueError):
        return _MISSING
    finally:
        os.close(fd)
    head = len(_MAGIC) + _DIGEST
    if len(blob) <= head or len(blob) > MAX_ENTRY_BYTES or not blob.startswith(_MAGIC):
        return _MISSING
    body = blob[head:]
    if _digest(body) != blob[len(_MAGIC) : head]:
        return _MISSING  # truncated or corrupted
    try:
        stored = marshal.loads(body)
        if type(stored) is not tuple or len(stored) != 3:
            return _MISSING
        stored_key, doc, dates = stored
        if stored_key != key or type(dates) is not tuple:
            return _MISSING
        for where, iso in dates:
            _put(doc, where, iso)
    except Exception:  # a whole entry that is not ours in shape: ignore it
        return _MISSING
    return doc


def _put(doc: Any, where: tuple[Any, ...], iso: tuple[str, str]) -> None:
    """Restore the date or datetime `iso` (kind, ISO text) at path `where` inside `doc`."""
    kind, text = iso
    value = date.fromisoformat(text) if kind == "date" else datetime.fromisoformat(text)
    node = doc
    for step in where[:-1]:
        node = node[step]
    if node[where[-1]] is not None:
        raise ValueError("a date's place holds something else")
    node[where[-1]] = value


def _marshallable(doc: Any) -> tuple[Any, tuple[tuple[tuple[Any, ...], tuple[str, str]], ...]]:
    """`doc` with each YAML date / timestamp replaced by None, and where they were (path, (kind,
    ISO text)); a value marshal cannot keep (a date as a key or in a set) raises TypeError."""
    dates: list[tuple[tuple[Any, ...], tuple[str, str]]] = []

    def walk(node: Any, where: tuple[Any, ...]) -> Any:
        if isinstance(node, datetime):
            dates.append((where, ("datetime", node.isoformat())))
            return None
        if isinstance(node, date):
            dates.append((where, ("date", node.isoformat())))
            return None
        if isinstance(node, dict):
            return {k: walk(v, (*where, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*where, i)) for i, v in enumerate(node)]
        if isinstance(node, str | int | float | bool | bytes | tuple | frozenset | set) or (
            node is None
        ):
            marshal.dumps(node)  # TypeError for a date inside a set or tuple
            return node
        raise TypeError(f"cannot keep a {type(node).__name__}")

    return walk(doc, ()), tuple(dates)


def _write_entry(entry: Path, key: str, doc: Any) -> None:
    """Write `doc` under `entry` atomically (a temporary file renamed over it); any failure (a
    folder that cannot be written, a full disk, a value marshal cannot keep) leaves no entry."""
    import tempfile

    try:
        plain, dates = _marshallable(doc)
        body = marshal.dumps((key, plain, dates))
        blob = _MAGIC + _digest(body) + body
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".bin")
    except (OSError, TypeError, ValueError, RecursionError):
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _prune(entry)


KEEP_ENTRIES = 4
"""Entries kept per data file (the newest): several checkouts or versions may share one cache."""


def _prune(entry: Path) -> None:
    """Remove all but the `KEEP_ENTRIES` newest entries of `entry`'s data file (best effort)."""
    stem = entry.name.rsplit("-", 1)[0]
    try:
        mine = [p for p in entry.parent.glob(f"{stem}-*.bin") if p.name.rsplit("-", 1)[0] == stem]
        mine.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in mine[KEEP_ENTRIES:]:
            old.unlink()
    except OSError:
        pass
