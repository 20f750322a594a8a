"""The binary layout of a GGUF file, checked before the `gguf` package's reader maps it.

Layout (GGUF v2/v3, the versions ``gguf.READER_SUPPORTED_VERSIONS`` reads): ``GGUF``, u32
version, u64 tensor count, u64 key/value count; each key/value: string key, u32 value type,
value (an array: u32 item type, u64 length, items); each tensor info: string name, u32 n_dims,
n_dims × u64 dims, u32 GGML type, u64 offset into the data section; the data section starts at
the next multiple of ``general.alignment`` (default ``gguf.GGUF_DEFAULT_ALIGNMENT`` = 32).
A string is a u64 length then that many bytes.

The rules are llama.cpp's loader's (``ggml/src/gguf.cpp`` and ``ggml/include/ggml.h`` at
llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f, vendored by llama-cpp-python 0.3.36):
a string may not run past the end of the file (gguf.cpp L352), keys and tensor names are unique
(L575, L665), arrays do not nest (only scalar and string items, L594-611), ``general.alignment``
is a u32 power of two (L623-633), a tensor has at most ``GGML_MAX_DIMS`` = 4 dimensions
(ggml.h L222, gguf.cpp L679), its offset is a multiple of the alignment (gguf.cpp L216) and its
data lies inside the file (L781, L795). vramkit adds: the counts must fit in the file (each
key/value takes at least 13 bytes, each tensor info 24), and tensors' byte ranges may not
overlap. Every walk is bounded by the file size; nothing is allocated from a count.

One walk serves a local file (`read_layout`, the whole file mapped) and a header read over HTTP
(`parse_layout` on the first bytes of a file of known size, `vramkit.ingest.gguf_remote`): a read
past the bytes at hand but inside the file raises `NeedMore`, and the caller fetches more.
The same walk decodes the key/value metadata (`Layout.metadata`), so both read the same values.
"""

from __future__ import annotations

import itertools
import mmap
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VramkitError

GGML_MAX_DIMS = 4
"""Most dimensions a GGML tensor has (ggml.h L222: ``#define GGML_MAX_DIMS 4``)."""
KV_MIN_BYTES = 8 + 4 + 1
"""Smallest key/value entry: key length (u64), value type (u32), a 1-byte value (empty key)."""
TENSOR_INFO_MIN_BYTES = 8 + 4 + 4 + 8
"""Smallest tensor info: name length (u64), n_dims (u32), GGML type (u32), offset (u64)."""
HEADER_BYTES = 4 + 4 + 8 + 8
"""Magic, version, tensor count, key/value count."""

_SCALAR_BYTES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
"""Bytes of each fixed-size GGUF value type (``gguf.GGUFValueType``: UINT8 … FLOAT64)."""
_STRING, _ARRAY, _UINT32 = 8, 9, 4
_SCALAR_FORMAT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q"}
_SCALAR_FORMAT[12] = "d"
"""`struct` codes of the fixed-size value types, as ``GGUFReader`` decodes them."""
COUNTED_PREFIX = "tokenizer.ggml."
"""Keys under this prefix (but ``tokenizer.ggml.model``) are kept as ``KEY.count`` (the number
of items): a vocabulary's token strings are stepped over, never decoded."""


class NeedMore(Exception):
    """The walk needs the file's first `need` bytes and has fewer (a header read in chunks)."""

    def __init__(self, need: int) -> None:
        super().__init__(need)
        self.need = need


@dataclass(frozen=True)
class TensorInfo:
    """One tensor info entry: name, dims (ne0 first), GGML type id, offset in the data section."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int


@dataclass(frozen=True)
class Layout:
    """What the walk found: counts, alignment, where the data section starts (bytes from the
    start of the file) and every tensor info."""

    n_kv: int
    alignment: int
    data_start: int
    tensors: tuple[TensorInfo, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Key → value (Python int / float / bool / str / list); `COUNTED_PREFIX` keys as counts."""
    size: int = 0
    """Bytes in the whole file."""


class _Cursor:
    """Bounded little/big-endian reads over the first ``len(buf)`` bytes of a `size`-byte file:
    past the file's end is a VramkitError, past the buffer's (inside the file) `NeedMore`."""

    def __init__(self, buf: mmap.mmap | bytes, size: int, origin: str, order: str) -> None:
        self.buf, self.size, self.origin, self.order, self.pos = buf, size, origin, order, 0
        self.avail = min(len(buf), size)

    def fail(self, what: str) -> VramkitError:
        return VramkitError(f"{self.origin}: {what}: the GGUF file is truncated or corrupt.")

    def take(self, n: int, what: str) -> int:
        """Advance `n` bytes; return where they start."""
        if n > self.size - self.pos:
            raise self.fail(
                f"{what} needs {n:,} bytes at byte {self.pos:,} but only "
                f"{self.size - self.pos:,} remain"
            )
        if n > self.avail - self.pos:
            raise NeedMore(self.pos + n)
        start, self.pos = self.pos, self.pos + n
        return start

    def u32(self, what: str) -> int:
        return struct.unpack_from(self.order + "I", self.buf, self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack_from(self.order + "Q", self.buf, self.take(8, what))[0]

    def raw_string(self, what: str) -> bytes:
        n = self.u64(f"the length of {what}")
        start = self.take(n, f"{what} ({n:,} bytes long)")
        return bytes(self.buf[start : start + n])

    def string(self, what: str) -> str:
        return self.raw_string(what).decode("utf-8", "replace")

    def skip_string(self, what: str) -> None:
        self.take(self.u64(f"the length of {what}"), what)


def _check_counts(n_tensors: int, n_kv: int, size: int, origin: str) -> None:
    """Refuse counts the file cannot hold (before any loop runs over them)."""
    room = size - HEADER_BYTES
    need = n_kv * KV_MIN_BYTES + n_tensors * TENSOR_INFO_MIN_BYTES
    if need > room:
        raise VramkitError(
            f"{origin}: the header claims {n_tensors:,} tensors and {n_kv:,} key/value pairs, "
            f"which need at least {need:,} bytes, but the file has {room:,} after its header: "
            "the GGUF file is truncated or corrupt."
        )


def _decode(raw: bytes) -> str | None:
    """A GGUF string as ``GGUFReader`` decodes it (strict UTF-8); None when it is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _read_value(cur: _Cursor, vtype: int, key: str, counted: bool) -> Any:
    """Read one value; a `counted` key gives its number of items instead (1 for a scalar)."""
    if vtype in _SCALAR_BYTES:
        start = cur.take(_SCALAR_BYTES[vtype], f"the value of {key!r}")
        if counted:
            return 1
        return struct.unpack_from(cur.order + _SCALAR_FORMAT[vtype], cur.buf, start)[0]
    if vtype == _STRING:
        raw = cur.raw_string(f"the value of {key!r}")
        return 1 if counted else _decode(raw)
    if vtype != _ARRAY:
        raise cur.fail(f"key {key!r} has unknown value type {vtype}")
    itype = cur.u32(f"the item type of {key!r}")
    n = cur.u64(f"the length of {key!r}")
    if itype in _SCALAR_BYTES:
        if n > (cur.size - cur.pos) // _SCALAR_BYTES[itype]:
            raise cur.fail(f"array {key!r} claims {n:,} items, more than the file holds")
        start = cur.take(n * _SCALAR_BYTES[itype], f"array {key!r}")
        if counted:
            return n
        return list(struct.unpack_from(f"{cur.order}{n}{_SCALAR_FORMAT[itype]}", cur.buf, start))
    if itype == _STRING:
        if n > (cur.size - cur.pos) // 8:
            raise cur.fail(f"array {key!r} claims {n:,} strings, more than the file holds")
        if counted:
            _skip_strings(cur, n, key)
            return n
        return [_decode(cur.raw_string(f"item {i:,} of {key!r}")) for i in range(n)]
    # llama.cpp reads no nested arrays (gguf.cpp L606-611)
    raise cur.fail(f"array {key!r} has item type {itype}; GGUF arrays hold scalars or strings")


def _skip_strings(cur: _Cursor, n: int, key: str) -> None:
    """Step over `n` strings (a tokenizer's 262,144 tokens: one tight loop, no per-item call)."""
    unpack, buf, size, avail = (
        struct.Struct(cur.order + "Q").unpack_from,
        cur.buf,
        cur.size,
        cur.avail,
    )
    pos = cur.pos
    for i in range(n):
        if avail - pos < 8 <= size - pos:
            raise NeedMore(pos + 8)
        length = unpack(buf, pos)[0] if size - pos >= 8 else None
        if length is None or length > size - pos - 8:
            cur.pos = pos
            raise cur.fail(f"item {i:,} of {key!r} runs past the end of the file")
        pos += 8 + length
        if pos > avail:
            raise NeedMore(pos)
    cur.pos = pos


def _read_kvs(cur: _Cursor, n_kv: int) -> tuple[int, dict[str, Any]]:
    """Walk the key/value pairs; return ``general.alignment`` (default 32) and the metadata."""
    from gguf import GGUF_DEFAULT_ALIGNMENT

    alignment = GGUF_DEFAULT_ALIGNMENT
    meta: dict[str, Any] = {}
    seen: set[str] = set()
    for i in range(n_kv):
        key = cur.string(f"key {i:,}")
        if key in seen:
            raise cur.fail(f"key {key[:80]!r} appears twice")
        seen.add(key)
        vtype = cur.u32(f"the value type of {key[:80]!r}")
        counted = key.startswith(COUNTED_PREFIX) and key != COUNTED_PREFIX + "model"
        value = _read_value(cur, vtype, key[:80], counted)
        if key == "general.alignment":
            if vtype != _UINT32 or value <= 0 or value & (value - 1):
                raise cur.fail("general.alignment must be a u32 power of two")
            alignment = value
        meta[key + ".count" if counted else key] = value
    return alignment, meta


def _read_tensor_infos(cur: _Cursor, n_tensors: int) -> tuple[TensorInfo, ...]:
    """Walk the tensor infos: names unique, at most GGML_MAX_DIMS dims each."""
    infos: list[TensorInfo] = []
    seen: set[str] = set()
    for i in range(n_tensors):
        name = cur.string(f"the name of tensor {i:,}")
        if name in seen:
            raise cur.fail(f"tensor {name[:80]!r} appears twice")
        seen.add(name)
        n_dims = cur.u32(f"n_dims of tensor {name[:80]!r}")
        if n_dims > GGML_MAX_DIMS:
            raise cur.fail(
                f"tensor {name[:80]!r} has n_dims {n_dims:,}; a GGML tensor has at most "
                f"{GGML_MAX_DIMS} (GGML_MAX_DIMS)"
            )
        dims = tuple(cur.u64(f"dimension {j} of {name[:80]!r}") for j in range(n_dims))
        if any(d >= 2**63 for d in dims):
            raise cur.fail(f"tensor {name[:80]!r} has a dimension of 2**63 or more")
        ggml_type = cur.u32(f"the type of {name[:80]!r}")
        offset = cur.u64(f"the offset of {name[:80]!r}")
        infos.append(TensorInfo(name, dims, ggml_type, offset))
    return tuple(infos)


def tensor_nbytes(info: TensorInfo, origin: str) -> int:
    """Bytes of a tensor: elements / block × type size (``gguf.GGML_QUANT_SIZES``)."""
    import math

    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        kind = GGMLQuantizationType(info.ggml_type)
        block, type_size = GGML_QUANT_SIZES[kind]
    except (ValueError, KeyError):
        raise VramkitError(
            f"{origin}: tensor {info.name[:80]!r} has unknown GGML type {info.ggml_type}."
        ) from None
    n = math.prod(info.dims)  # exact: no int64 wrap
    if n % block:
        raise VramkitError(
            f"{origin}: tensor {info.name[:80]!r} has {n} elements, not a multiple of the "
            f"{kind.name} block of {block}."
        )
    return n // block * type_size


def _check_tensor_ranges(layout: Layout, size: int, origin: str) -> None:
    """Each tensor's bytes aligned, inside the file, and no two tensors sharing a byte."""
    if layout.tensors and layout.data_start > size:
        raise VramkitError(
            f"{origin}: the data section would start at byte {layout.data_start:,} (alignment "
            f"{layout.alignment:,}), past the end of the {size:,}-byte file: the GGUF file is "
            "truncated or corrupt."
        )
    room = size - layout.data_start
    spans = []
    for t in layout.tensors:
        if t.offset % layout.alignment:
            raise VramkitError(
                f"{origin}: tensor {t.name[:80]!r} starts at data offset {t.offset:,}, not a "
                f"multiple of the alignment {layout.alignment:,}: the GGUF file is corrupt."
            )
        nbytes = tensor_nbytes(t, origin)
        if t.offset > room or nbytes > room - t.offset:
            raise VramkitError(
                f"{origin}: tensor {t.name[:80]!r} spans data bytes {t.offset:,}..+{nbytes:,} "
                f"but the data section holds {room:,} bytes: the GGUF file is truncated or "
                "corrupt."
            )
        spans.append((t.offset, t.offset + nbytes, t.name))
    spans.sort()
    for (b0, e0, n0), (b1, _e1, n1) in itertools.pairwise(spans):
        if b1 < e0:
            raise VramkitError(
                f"{origin}: tensors {n0[:80]!r} (data bytes {b0:,}..{e0:,}) and {n1[:80]!r} "
                f"(from byte {b1:,}) overlap; each tensor has its own bytes: the GGUF file is "
                "corrupt."
            )


def read_layout(path: str | Path) -> Layout:
    """Walk a GGUF file's header, key/values and tensor infos and check the layout (module
    docstring); the caller has checked that `path` is a regular file starting with ``GGUF``."""
    p = Path(path)
    origin = p.name
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError as err:
        raise VramkitError(f"cannot read GGUF file {origin}: {err.strerror or err}.") from None
    try:
        size = os.fstat(fd).st_size
        if size < HEADER_BYTES:
            raise VramkitError(
                f"{origin} is {size} bytes: too short for a GGUF header ({HEADER_BYTES} bytes)."
            )
        with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as buf:
            return parse_layout(buf, size, origin)
    finally:
        os.close(fd)


def parse_layout(buf: mmap.mmap | bytes, size: int, origin: str) -> Layout:
    """The layout of a `size`-byte GGUF file from its first ``len(buf)`` bytes (all of them for
    a local file). Raises `NeedMore` when the header runs past `buf` but not past `size`, and a
    VramkitError for anything llama.cpp's loader refuses (module docstring)."""
    from gguf import READER_SUPPORTED_VERSIONS

    if size < HEADER_BYTES:
        raise VramkitError(
            f"{origin} is {size} bytes: too short for a GGUF header ({HEADER_BYTES} bytes)."
        )
    if len(buf) < HEADER_BYTES:
        raise NeedMore(HEADER_BYTES)
    if bytes(buf[:4]) != b"GGUF":
        raise VramkitError(f"{origin} is not a GGUF file (it does not start with b'GGUF').")
    (version,) = struct.unpack_from("<I", buf, 4)
    order = "<" if version & 0xFFFF else ">"  # a big-endian file, as GGUFReader reads
    cur = _Cursor(buf, size, origin, order)
    cur.take(4, "the magic")
    version = cur.u32("the version")
    if version not in READER_SUPPORTED_VERSIONS:
        raise VramkitError(
            f"{origin}: GGUF version {version:,} is not one vramkit reads "
            f"({', '.join(map(str, READER_SUPPORTED_VERSIONS))}): the GGUF file is "
            "truncated or corrupt, or of a newer GGUF version."
        )
    n_tensors, n_kv = cur.u64("the tensor count"), cur.u64("the key/value count")
    _check_counts(n_tensors, n_kv, size, origin)
    alignment, kvs = _read_kvs(cur, n_kv)
    # GGUFReader lists the header's three numbers as fields first; so does the metadata here
    metadata = {"GGUF.version": version, "GGUF.tensor_count": n_tensors, "GGUF.kv_count": n_kv}
    metadata.update(kvs)
    tensors = _read_tensor_infos(cur, n_tensors)
    start = -(-cur.pos // alignment) * alignment
    layout = Layout(n_kv, alignment, start, tensors, metadata, size)
    _check_tensor_ranges(layout, size, origin)
    return layout
