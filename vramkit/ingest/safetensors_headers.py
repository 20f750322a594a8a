"""Safetensors headers: exact bytes per tensor without reading any tensor data.

File layout (https://github.com/huggingface/safetensors, "Format"): 8 bytes little-endian
unsigned header length N, then N bytes of JSON ``{name: {dtype, shape, data_offsets: [b, e]},
"__metadata__": {...}}``, then the data. A tensor's stored bytes are ``e − b`` and must equal
``ceil(numel × bits(dtype) / 8)``. Header lengths above 100 MB are refused (the safetensors
library's own limit), as are offsets past the end of the file.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import VramkitError
from ..validate import (
    MAX_BYTES_FIELD,
    DuplicateKeyError,
    is_dir,
    loads_json,
    path_stat,
    read_bytes,
    read_json_object,
    regular_file,
    require_path,
    require_strict_int,
)
from .measured import Measured, summarise

MAX_HEADER_BYTES = 100_000_000
"""Largest header accepted (safetensors' own limit: ``MAX_HEADER_SIZE = 100_000_000``)."""

DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip
"""Bits per element of each safetensors dtype (the `Dtype` enum of safetensors' tensor.rs)."""

INDEX_NAME = "model.safetensors.index.json"
MAX_RANK = 16
"""Most dimensions a tensor shape may list (real checkpoints: at most 5)."""


def parse_header(header: Mapping[str, Any], *, origin: str, data_bytes: int | None = None):
    """Validate a parsed header; return ``[(name, dtype, shape, nbytes)]`` in data order.

    `data_bytes`: size of the data section (file size − 8 − N) when known, to catch truncation.
    """
    if not isinstance(header, Mapping):
        raise VramkitError(f"{origin}: the safetensors header must be a JSON object.")
    rows = []
    for name, entry in header.items():
        if name == "__metadata__":
            if entry is not None and not isinstance(entry, Mapping):
                raise VramkitError(f"{origin}: __metadata__ must be an object of strings.")
            continue
        if not isinstance(entry, Mapping) or not {"dtype", "shape", "data_offsets"} <= set(entry):
            raise VramkitError(
                f"{origin}: tensor {name!r} needs dtype, shape and data_offsets; got {entry!r}."
            )
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
            raise VramkitError(
                f"{origin}: tensor {name!r} has unknown dtype {dtype!r:.60}; "
                f"safetensors dtypes: {', '.join(DTYPE_BITS)}."
            )
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_RANK
            or not all(_nat(d) and d.bit_length() <= 64 for d in shape)
        ):
            raise VramkitError(
                f"{origin}: tensor {name!r} has a bad shape {shape!r:.80}; allowed: a list of at "
                f"most {MAX_RANK} whole numbers in 0..2**64-1."
            )
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_nat(o) and o.bit_length() <= 64 for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise VramkitError(
                f"{origin}: tensor {name!r} has bad data_offsets {offsets!r:.80}; allowed: "
                "[begin, end] whole numbers with begin <= end < 2**64."
            )
        nbytes = offsets[1] - offsets[0]
        expected = -(-math.prod(shape) * DTYPE_BITS[dtype] // 8)  # exact integer ceil, no float
        if nbytes != expected:
            raise VramkitError(
                f"{origin}: tensor {name!r} ({dtype} {shape}) spans {nbytes:,} bytes but its "
                f"shape needs {expected:,}; the header is corrupt."
            )
        if data_bytes is not None and offsets[1] > data_bytes:
            raise VramkitError(
                f"{origin}: tensor {name!r} ends at byte {offsets[1]:,} of the data but the file "
                f"holds only {data_bytes:,}: the file is truncated."
            )
        rows.append((offsets[0], offsets[1], name, dtype, tuple(shape), nbytes))
    rows.sort()
    for (b0, e0, n0, *_), (b1, _e1, n1, *_) in itertools.pairwise(rows):
        if b1 < e0:
            raise VramkitError(
                f"{origin}: tensors {n0!r} (bytes {b0:,}..{e0:,}) and {n1!r} (from byte {b1:,}) "
                "overlap; each tensor must have its own byte range: the header is corrupt."
            )
    return [(n, d, s, b) for _, _, n, d, s, b in rows]


def _nat(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of one .safetensors file (reads 8 + N bytes, nothing else; a regular
    file only, checked before it is opened)."""
    p = require_path("safetensors file", path)
    size = regular_file(p, "safetensors file").st_size
    if size < 8:
        raise VramkitError(
            f"{p.name} is {size} bytes: too short for a safetensors file "
            "(it starts with an 8-byte header length)."
        )
    (n,) = struct.unpack("<Q", read_bytes(p, "safetensors file", limit=8))
    if n > MAX_HEADER_BYTES:
        raise VramkitError(
            f"{p.name}: header length {n:,} bytes exceeds the {MAX_HEADER_BYTES:,}-byte "
            "limit: not a safetensors file, or a corrupt one."
        )
    if n > size - 8:
        raise VramkitError(
            f"{p.name}: header length {n:,} bytes but the file has only {size - 8:,} "
            "bytes after it: the file is truncated or not a safetensors file."
        )
    raw = read_bytes(p, "safetensors file", limit=8 + n)[8:]
    if len(raw) != n:
        raise VramkitError(f"{p.name}: the file shrank while it was read.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise VramkitError(
            f"{p.name}: the header is not valid UTF-8 JSON: not a safetensors file, or a corrupt one."
        ) from None
    try:
        header = loads_json(text, f"{p.name}: the header")
    except VramkitError as err:
        if isinstance(err, DuplicateKeyError):  # valid JSON, an ambiguous header
            raise VramkitError(f"{err} Each tensor name appears once in a header.") from None
        raise VramkitError(
            f"{err} The header is not valid UTF-8 JSON: not a safetensors file, or a corrupt one."
        ) from None
    if not isinstance(header, dict):
        raise VramkitError(f"{p.name}: the safetensors header must be a JSON object.")
    header["__file_data_bytes__"] = size - 8 - n
    return header


def file_rows(path: str | Path) -> list[tuple[str, str, tuple[int, ...], int]]:
    """``[(name, dtype, shape, nbytes)]`` of one .safetensors file, validated against its size."""
    header = read_header(path)
    data_bytes = header.pop("__file_data_bytes__")
    return parse_header(header, origin=Path(path).name, data_bytes=data_bytes)


def read_index(folder: str | Path) -> dict[str, Any] | None:
    """The parsed ``model.safetensors.index.json`` of `folder`, or None when there is none."""
    p = Path(folder) / INDEX_NAME
    if path_stat(p, INDEX_NAME) is None:
        return None
    doc = read_json_object(p, INDEX_NAME)
    if not isinstance(doc.get("weight_map"), dict):
        raise VramkitError(f"{p.name} must hold a 'weight_map' object (tensor name → file).")
    meta = doc.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise VramkitError(
            f"{p.name}: 'metadata' must be an object (e.g. {{\"total_size\": 123}}), "
            f"got {meta!r:.60}."
        )
    bad = [
        k
        for k, v in doc["weight_map"].items()
        if not isinstance(v, str) or not v or "/" in v or "\\" in v or v.startswith(".")
    ]
    if bad:
        raise VramkitError(
            f"{p.name}: weight_map must map tensor names to shard file names in the same folder; "
            f"bad entries: {', '.join(repr(b)[:60] for b in bad[:5])}."
        )
    index_total_size(doc, origin=p.name)
    return doc


def index_total_size(index: Mapping[str, Any] | None, *, origin: str = INDEX_NAME) -> int | None:
    """``metadata.total_size`` of an index (bytes of all tensors), or None when absent; a value
    that is not a whole number of bytes (a string, negative, NaN …) is refused."""
    if not index:
        return None
    meta = index.get("metadata")
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise VramkitError(f"{origin}: 'metadata' must be an object, got {meta!r:.60}.")
    size = meta.get("total_size")
    if size is None:
        return None
    return require_strict_int(
        f"{origin}: metadata.total_size", size, minimum=0, maximum=MAX_BYTES_FIELD
    )


def _refuse_shared_names(rows: list[tuple[str, Any, Any, int]], files: list[str], folder: Path):
    """A tensor name in two shards would be counted twice: refused, naming it."""
    seen: set[str] = set()
    for name, *_ in rows:
        if name in seen:
            raise VramkitError(
                f"{folder.name}: tensor {name[:80]!r} is stored in more than one of its "
                f"{len(files)} shards; each tensor is stored once."
            )
        seen.add(name)


def measure_safetensors(
    path: str | Path, *, main_layers: int | None = None, source: str | None = None
) -> Measured:
    """Exact bytes of a .safetensors file, or of every shard in a folder (index first, else
    ``*.safetensors`` sorted by name)."""
    p = require_path("safetensors path", path)
    if is_dir(p, "safetensors path"):
        index = read_index(p)
        if index:
            files = sorted(set(index["weight_map"].values()))
        else:
            files = sorted(f.name for f in p.glob("*.safetensors"))
        if not files:
            raise VramkitError(f"{p} holds no .safetensors files.")
        missing = [f for f in files if path_stat(p / f, "shard") is None]
        if missing:
            raise VramkitError(
                f"{p}: the index lists shard(s) that are not there: {', '.join(missing[:5])}."
            )
        rows = [row for f in files for row in file_rows(p / f)]
        _refuse_shared_names(rows, files, p)
    else:
        rows = file_rows(p)
    return summarise(source or str(p), rows, main_layers=main_layers)
