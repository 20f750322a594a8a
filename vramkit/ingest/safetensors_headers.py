"""Safetensors headers: exact bytes per tensor without reading any tensor data.

File layout (https://github.com/huggingface/safetensors, "Format"): 8 bytes little-endian
unsigned header length N, then N bytes of JSON ``{name: {dtype, shape, data_offsets: [b, e]},
"__metadata__": {...}}``, then the data. A tensor's stored bytes are ``e − b`` and must equal
``ceil(numel × bits(dtype) / 8)``. Header lengths above 100 MB are refused (the safetensors
library's own limit), as are offsets past the end of the file.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import VramkitError
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


def parse_header(header: Mapping[str, Any], *, origin: str, data_bytes: int | None = None):
    """Validate a parsed header; return ``[(name, dtype, shape, nbytes)]`` in data order.

    `data_bytes`: size of the data section (file size − 8 − N) when known, to catch truncation.
    """
    if not isinstance(header, Mapping):
        raise VramkitError(f"{origin}: the safetensors header must be a JSON object.")
    rows = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, Mapping) or not {"dtype", "shape", "data_offsets"} <= set(entry):
            raise VramkitError(
                f"{origin}: tensor {name!r} needs dtype, shape and data_offsets; got {entry!r}."
            )
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPE_BITS:
            raise VramkitError(
                f"{origin}: tensor {name!r} has unknown dtype {dtype!r}; "
                f"safetensors dtypes: {', '.join(DTYPE_BITS)}."
            )
        if not isinstance(shape, list) or not all(_nat(d) for d in shape):
            raise VramkitError(f"{origin}: tensor {name!r} has a bad shape {shape!r}.")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_nat(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise VramkitError(f"{origin}: tensor {name!r} has bad data_offsets {offsets!r}.")
        nbytes = offsets[1] - offsets[0]
        expected = math.ceil(math.prod(shape) * DTYPE_BITS[dtype] / 8)
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
        rows.append((offsets[0], name, dtype, tuple(shape), nbytes))
    rows.sort()
    return [(n, d, s, b) for _, n, d, s, b in rows]


def _nat(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of one .safetensors file (reads 8 + N bytes, nothing else)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise VramkitError(
                    f"{p.name} is {size} bytes: too short for a safetensors file "
                    "(it starts with an 8-byte header length)."
                )
            (n,) = struct.unpack("<Q", head)
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
            raw = f.read(n)
    except FileNotFoundError:
        raise VramkitError(f"safetensors file {p} does not exist.") from None
    except IsADirectoryError:
        raise VramkitError(
            f"{p} is a folder; pass a .safetensors file or use read_folder."
        ) from None
    except OSError as err:
        raise VramkitError(f"cannot read {p}: {err.strerror}.") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise VramkitError(
            f"{p.name}: the header is not valid UTF-8 JSON: not a safetensors file, or a corrupt one."
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
    if not p.exists():
        return None
    try:
        doc = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise VramkitError(f"{p.name} is not readable JSON ({err}).") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("weight_map"), dict):
        raise VramkitError(f"{p.name} must hold a 'weight_map' object (tensor name → file).")
    bad = [
        k
        for k, v in doc["weight_map"].items()
        if not isinstance(v, str) or "/" in v or v.startswith(".")
    ]
    if bad:
        raise VramkitError(
            f"{p.name}: weight_map must map tensor names to shard file names in the same folder; "
            f"bad entries: {', '.join(map(repr, bad[:5]))}."
        )
    return doc


def index_total_size(index: Mapping[str, Any] | None) -> int | None:
    """``metadata.total_size`` of an index (bytes of all tensors), or None."""
    if not index:
        return None
    size = (index.get("metadata") or {}).get("total_size")
    return int(size) if _nat(size) or (isinstance(size, float) and size.is_integer()) else None


def measure_safetensors(
    path: str | Path, *, main_layers: int | None = None, source: str | None = None
) -> Measured:
    """Exact bytes of a .safetensors file, or of every shard in a folder (index first, else
    ``*.safetensors`` sorted by name)."""
    p = Path(path)
    if p.is_dir():
        index = read_index(p)
        if index:
            files = sorted(set(index["weight_map"].values()))
        else:
            files = sorted(f.name for f in p.glob("*.safetensors"))
        if not files:
            raise VramkitError(f"{p} holds no .safetensors files.")
        missing = [f for f in files if not (p / f).is_file()]
        if missing:
            raise VramkitError(
                f"{p}: the index lists shard(s) that are not there: {', '.join(missing[:5])}."
            )
        rows = [row for f in files for row in file_rows(p / f)]
    else:
        rows = file_rows(p)
    return summarise(source or str(p), rows, main_layers=main_layers)
