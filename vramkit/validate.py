"""The one validation layer: the rules every boundary applies to what a user hands vramkit.

Boundaries: config.json (and a Hub config, and a config built from GGUF metadata), safetensors
headers and index files, the Hub cache, the command line, the Python API and notebook
parameters. Each uses the checks here, so one rule is stated once:

- files: regular files only (FIFOs, devices, sockets and folders are refused *before* they are
  opened: ``os.stat`` then ``stat.S_ISREG``, and again on the opened descriptor), at most
  `MAX_JSON_BYTES`; text is UTF-8 (a UTF-8 BOM is dropped; UTF-16/32 is named and refused);
- JSON: nesting at most `MAX_JSON_DEPTH` levels (checked before parsing, so Python's recursion
  limit is never reached), integers at most `MAX_INT_DIGITS` digits, no NaN/Infinity literals,
  no key twice in one object (a safetensors header listing a tensor twice is refused, not read
  last-wins);
- config fields: integers are JSON integers (``true`` and ``"12"`` are refused), booleans are
  JSON booleans (``"false"`` is refused, not read as true), dimensions positive and at most the
  bounds below, heads divisible as the architecture needs — each field's kind and bound declared
  once in the families' schema (`vramkit.families.check_config`, ``CONFIG_BOUNDS``), which
  checks them with the rules here (`require_strict_int`, `require_bool`);
- Python API arguments: whole numbers are ints, numpy integers or whole floats, never text
  (``batch="2"`` is refused: `vramkit.errors.require_int` / `require_number`); the command line
  and report parameters parse their own text (`vramkit.errors.parse_int`). Context lengths are
  the one exception: the token notation ("128K", "1M") is read everywhere (`kv.parse_tokens`);
- every failure is one `VramkitError` naming the field, the value and what is allowed.

The upper bounds are far above any real model (largest real values in the catalog: hidden 8,192,
layers 94, experts 512, vocab 262,144, context 1,048,576) and keep every computation bounded.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import VramkitError, require_int, shown

# ── bounds (stated once) ─────────────────────────────────────────────────────────────────────
MAX_JSON_BYTES = 100_000_000
"""Largest config / index / cache JSON file read (safetensors' own header limit, 100 MB)."""
MAX_JSON_DEPTH = 64
"""Deepest JSON nesting accepted (real configs nest 3 levels; Python's recursion limit is 1000)."""
MAX_INT_DIGITS = 30
"""Longest integer literal accepted in a JSON file (2**64 has 20 digits)."""
MAX_DIM = 1 << 24
"""Largest width of a tensor dimension in a config (hidden, head_dim, intermediate …)."""
MAX_HEADS = 1 << 16
"""Largest attention / KV / indexer head count."""
MAX_VOCAB = 1 << 24
"""Largest vocabulary."""
MAX_LAYERS = 10_000
"""Largest layer count (main or MTP): no real decoder has more."""
MAX_EXPERTS = 1 << 16
"""Largest routed-expert count per layer (real models: at most 512)."""
MAX_POSITIONS = 1 << 27
"""Largest ``max_position_embeddings`` (134,217,728 tokens)."""
MAX_BATCH = 1_000_000
"""Largest batch (concurrent sequences or tokens per step)."""
MAX_GPUS = 4096
"""Largest GPU count of a deployment."""
MAX_PARALLEL = 1024
"""Largest tensor- / data-parallel size."""
MAX_BYTES_FIELD = 2**64 - 1
"""Largest byte count a file format field may hold (an unsigned 64-bit integer)."""
MAX_GRID_CELLS = 100_000
"""Largest contexts × batches grid `kv_grid` computes."""
MAX_HUB_ID_CHARS = 200
"""Longest Hub id (``owner/name``; the Hub allows 96 characters per part)."""
MAX_LIST_ITEMS = 1_000_000
"""Longest list read from a config (``layer_types``, ``compress_ratios`` …)."""


# ── files ────────────────────────────────────────────────────────────────────────────────────
def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def path_stat(path: str | Path, what: str = "path") -> os.stat_result | None:
    """``os.stat`` of `path`, None when nothing is there; a name too long, a loop of links or a
    folder without permission is a VramkitError instead of an OSError."""
    try:
        return os.stat(Path(path))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as err:
        raise VramkitError(f"cannot look at {what} {_short(str(path))}: {_reason(err)}.") from None


def is_dir(path: str | Path, what: str = "path") -> bool:
    """True when `path` is a folder (see `path_stat`)."""
    st = path_stat(path, what)
    return st is not None and stat.S_ISDIR(st.st_mode)


def is_file(path: str | Path, what: str = "path") -> bool:
    """True when `path` is a regular file (see `path_stat`)."""
    st = path_stat(path, what)
    return st is not None and stat.S_ISREG(st.st_mode)


def regular_file(path: str | Path, what: str = "file") -> os.stat_result:
    """``os.stat`` of `path` if it is a regular file; else VramkitError (nothing is opened)."""
    p = Path(path)
    st = path_stat(p, what)
    if st is None:
        raise VramkitError(f"{what} {_short(str(p))} does not exist.")
    if not stat.S_ISREG(st.st_mode):
        raise VramkitError(
            f"{what} {_short(str(p))} is {_kind(st.st_mode)}; vramkit reads regular files only."
        )
    return st


def _reason(err: BaseException) -> str:
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


def read_bytes(
    path: str | Path,
    what: str = "file",
    *,
    max_bytes: int = MAX_JSON_BYTES,
    limit: int | None = None,
) -> bytes:
    """The bytes of a regular file (or its first `limit` bytes), refusing anything larger than
    `max_bytes` and anything that is not a regular file (checked before and after opening)."""
    p = Path(path)
    st = regular_file(p, what)
    if limit is None and st.st_size > max_bytes:
        raise VramkitError(
            f"{what} {str(p)!r} is {st.st_size:,} bytes; at most {max_bytes:,} are read."
        )
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise VramkitError(f"cannot read {what} {str(p)!r}: {_reason(err)}.") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between stat and open
            raise VramkitError(f"{what} {str(p)!r} is not a regular file.")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit if limit is not None else max_bytes + 1)
    except OSError as err:
        raise VramkitError(f"cannot read {what} {str(p)!r}: {_reason(err)}.") from None
    finally:
        os.close(fd)
    if limit is None and len(data) > max_bytes:
        raise VramkitError(f"{what} {str(p)!r} is larger than {max_bytes:,} bytes.")
    return data


_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def decode_text(raw: bytes, what: str) -> str:
    """`raw` as UTF-8 text (a UTF-8 byte-order mark is dropped); UTF-16/32 and other encodings
    are refused with the offset of the first bad byte."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise VramkitError(f"{what} is {name} text; save it as UTF-8.")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if len(raw) >= 2 and (raw[0] == 0 or raw[1] == 0):
        raise VramkitError(f"{what} looks like UTF-16/32 text (NUL bytes); save it as UTF-8.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise VramkitError(
            f"{what} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start:,}); "
            "save it as UTF-8."
        ) from None


# ── JSON ─────────────────────────────────────────────────────────────────────────────────────
_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)  # possessive: no backtracking


def json_depth(text: str | bytes) -> int:
    """Deepest ``[`` / ``{`` nesting of a JSON text, strings skipped; linear time, no recursion,
    memory bounded (1 MiB chunks). When the text holds at most `MAX_JSON_DEPTH` brackets in
    all, their count is returned instead (an upper bound of the depth, and small enough)."""
    import numpy as np

    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    opens = raw.count(b"[") + raw.count(b"{")
    if opens <= MAX_JSON_DEPTH:
        return opens
    skeleton = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    chunk = 1 << 20
    for start in range(0, len(skeleton), chunk):
        part = np.frombuffer(
            skeleton, np.uint8, count=min(chunk, len(skeleton) - start), offset=start
        )
        steps = np.where((part == ord("[")) | (part == ord("{")), 1, -1)
        running = np.cumsum(steps, dtype=np.int64) + depth
        deepest = max(deepest, int(running.max()))
        depth = int(running[-1])
    return deepest


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _bounded_int(what: str):
    def parse(literal: str) -> int:
        if len(literal.lstrip("-")) > MAX_INT_DIGITS:
            raise VramkitError(
                f"{what} holds a {len(literal.lstrip('-')):,}-digit integer; at most "
                f"{MAX_INT_DIGITS} digits are accepted."
            )
        return int(literal)

    return parse


def _finite_float(what: str):
    def parse(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise VramkitError(
                f"{what} holds the number {literal[:40]}, beyond the range of a float; use a "
                "finite number."
            )
        return value

    return parse


def _no_constant(what: str):
    def parse(literal: str) -> Any:
        raise VramkitError(f"{what} holds {literal}, which is not a JSON number; use a number.")

    return parse


class DuplicateKeyError(VramkitError):
    """A JSON object that gives one key twice (valid JSON, ambiguous content)."""


def _unique_keys(what: str):
    """An ``object_pairs_hook`` that refuses a key given twice in one object: `json` would
    keep the last silently (a safetensors header listing a tensor twice, a config.json
    setting a field twice)."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise DuplicateKeyError(
                    f"{what} lists the key {_short(key)} twice in one object; keys must be "
                    "unique (a JSON reader would silently keep the last)."
                )
            out[key] = value
        return out

    return build


def loads_json(text: str | bytes, what: str) -> Any:
    """Parse JSON text with bounded depth, integer length, no NaN/Infinity and no key given
    twice in one object (see module doc)."""
    if isinstance(text, bytes):
        text = decode_text(text, what)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise VramkitError(
            f"{what} nests {depth:,} levels deep; at most {MAX_JSON_DEPTH} are accepted."
        )
    import json  # imported by the readers of JSON only

    try:
        return json.loads(
            text,
            parse_int=_bounded_int(what),
            parse_float=_finite_float(what),
            parse_constant=_no_constant(what),
            object_pairs_hook=_unique_keys(what),
        )
    except json.JSONDecodeError as err:
        raise VramkitError(f"{what} is not valid JSON (line {err.lineno}: {err.msg}).") from None
    except (ValueError, RecursionError, MemoryError) as err:
        if isinstance(err, VramkitError):
            raise
        raise VramkitError(f"{what} is not valid JSON ({type(err).__name__}).") from None


def read_json_file(path: str | Path, what: str, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A bounded read + `loads_json` of a regular file."""
    label = what if str(path) in what or what == Path(path).name else f"{what} {Path(path).name!r}"
    return loads_json(decode_text(read_bytes(path, what, max_bytes=max_bytes), label), label)


def read_json_object(path: str | Path, what: str, *, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """`read_json_file` that must hold a JSON object."""
    doc = read_json_file(path, what, max_bytes=max_bytes)
    if not isinstance(doc, dict):
        raise VramkitError(
            f"{what} must hold a JSON object, got a JSON {type(doc).__name__.replace('dict', 'object')}."
        )
    return doc


# ── values ───────────────────────────────────────────────────────────────────────────────────
def require_bool(name: str, value: object) -> bool:
    """`value` if it is a real bool (True/False); strings such as "false" and numbers refused."""
    if isinstance(value, bool):
        return value
    import numpy as np

    if isinstance(value, np.bool_):
        return bool(value)
    raise VramkitError(f"{name} must be true or false (a boolean), got {_short(value)}.")


def require_optional_bool(name: str, value: object) -> bool | None:
    """None or a real bool (see `require_bool`)."""
    return None if value is None else require_bool(name, value)


def require_strict_int(
    name: str, value: object, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """An int in [minimum, maximum]: a whole float (1e6) is accepted, strings and bools are not."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    allowed = f"in {minimum:,}..{maximum:,}" if maximum is not None else f">= {minimum:,}"
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "text" if isinstance(value, str) else type(value).__name__
        raise VramkitError(
            f"{name} must be a whole number {allowed} (a JSON integer), got {kind} {_short(value)}."
        )
    if value < minimum or (maximum is not None and value > maximum):
        raise VramkitError(f"{name} must be {allowed}, got {_short(value)}.")
    return value


def _short(value: object, limit: int = 80) -> str:
    return shown(value, limit)


def require_text(name: str, value: object, *, max_chars: int = 4096, empty: bool = False) -> str:
    """A str of at most `max_chars` characters (non-empty unless `empty`)."""
    if not isinstance(value, str):
        raise VramkitError(f"{name} must be text, got {type(value).__name__} {_short(value)}.")
    if not empty and not value.strip():
        raise VramkitError(f"{name} must not be empty.")
    if len(value) > max_chars:
        raise VramkitError(f"{name} is {len(value):,} characters long; at most {max_chars:,}.")
    return value


def require_path(name: str, value: object) -> Path:
    """A str or os.PathLike, not empty, no NUL byte."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes) or not isinstance(value, str):
        raise VramkitError(
            f"{name} must be a path (text), got {type(value).__name__} {_short(value)}."
        )
    if not value.strip():
        raise VramkitError(f"{name} must not be empty.")
    if "\x00" in value:
        raise VramkitError(f"{name} must not contain a NUL byte.")
    return Path(value)


def require_finite_figures(owner: str, **figures: object) -> None:
    """Refuse a negative, NaN or infinite figure of a result record (`__post_init__` use)."""
    for name, value in figures.items():
        if value is None:
            continue
        values = value.values() if isinstance(value, Mapping) else (value,)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            if isinstance(v, float) and not math.isfinite(v):
                raise VramkitError(f"{owner}.{name} would be {v}: not a finite number.")
            if v < 0:
                raise VramkitError(f"{owner}.{name} would be negative ({v:,}).")


def check_record(record: object) -> None:
    """`require_finite_figures` over every field of a dataclass result record: call it from
    ``__post_init__`` so no record holds a negative, NaN or infinite figure."""
    import dataclasses

    require_finite_figures(
        type(record).__name__,
        **{f.name: getattr(record, f.name) for f in dataclasses.fields(record)},  # type: ignore[arg-type]
    )


def check_selectors(model: Any, rules: Mapping[str, str]) -> None:
    """Every ``group.role`` selector of a user's recipe map names a tensor `model` has; a
    misspelled role (``attention.qq``) is refused instead of silently matching nothing."""
    from .errors import unknown_name

    roles: dict[str, set[str]] = {}
    for t in model.inventory:
        roles.setdefault(t.group, set()).add(t.role)
        roles.setdefault("mtp." + t.group, set()).add(t.role)
    for key in rules:
        parts = key.split(".")
        if key.startswith("mtp."):
            parts = [f"mtp.{parts[1]}", *parts[2:]] if len(parts) > 1 else parts
        if len(parts) < 2:
            continue
        group, role = parts[0], ".".join(parts[1:])
        known = roles.get(group, set())
        if role not in known:
            err = unknown_name("tensor role", role, known or {"(none)"})
            raise VramkitError(
                f"recipe map selector {key!r} matches no tensor of {model.id}: {err}"
            )


__all__ = [
    "MAX_BATCH",
    "MAX_BYTES_FIELD",
    "MAX_DIM",
    "MAX_EXPERTS",
    "MAX_GPUS",
    "MAX_GRID_CELLS",
    "MAX_HEADS",
    "MAX_HUB_ID_CHARS",
    "MAX_INT_DIGITS",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LAYERS",
    "MAX_PARALLEL",
    "MAX_POSITIONS",
    "MAX_VOCAB",
    "DuplicateKeyError",
    "check_record",
    "check_selectors",
    "decode_text",
    "is_dir",
    "is_file",
    "json_depth",
    "loads_json",
    "path_stat",
    "read_bytes",
    "read_json_file",
    "read_json_object",
    "regular_file",
    "require_bool",
    "require_finite_figures",
    "require_int",
    "require_optional_bool",
    "require_path",
    "require_strict_int",
    "require_text",
]
