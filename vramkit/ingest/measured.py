"""Measured tensors (name, dtype, shape, exact bytes) and their sums per group and per dtype.

Shared by the safetensors, GGUF and Hub readers. Bytes are what the file stores for the tensor
(safetensors: ``data_offsets`` end − begin; GGUF: rows × blocks × block bytes), never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..validate import check_record
from .names import ALL_GROUPS, OTHER, group_of, is_scale_tensor, strip_scale_suffix

PACKED_4BIT_DTYPES = frozenset({"U8", "I8"})
"""Integer dtypes that hold two 4-bit values per byte when the tensor has a scale companion
(gpt-oss MXFP4 ``*_blocks``, DeepSeek V4 FP4 experts)."""


@dataclass(frozen=True)
class TensorInfo:
    """One stored tensor: its name, storage dtype (safetensors dtype or GGML type name), shape as
    the file lists it, exact stored bytes, and its breakdown group."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    group: str = OTHER

    def __post_init__(self) -> None:
        check_record(self)

    @property
    def numel(self) -> int:
        """Stored elements (product of the shape)."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class Measured:
    """Exact stored bytes of a checkpoint, per tensor group and per dtype.

    Attributes
    ----------
    source: where it was read (file, folder or hub id).
    tensors: every tensor, in file order.
    total_bytes: Σ nbytes over all tensors (tensor data only; headers excluded).
    by_group: bytes per group of `names.ALL_GROUPS` (zeros included).
    by_dtype: bytes per storage dtype, largest first.
    params_by_group: parameters per group: elements of weight tensors (scale companions
        excluded); 4-bit packed integer tensors with a scale companion count 2 per byte.
    other_names: names of the tensors no rule recognised (group ``other``).
    """

    source: str
    tensors: tuple[TensorInfo, ...]
    total_bytes: int
    by_group: Mapping[str, int]
    by_dtype: Mapping[str, int]
    params_by_group: Mapping[str, int]
    other_names: tuple[str, ...]

    def __post_init__(self) -> None:
        check_record(self)

    @property
    def total_params(self) -> int:
        """Σ params_by_group (see there)."""
        return sum(self.params_by_group.values())

    @property
    def dtype_counts(self) -> Mapping[str, int]:
        """Number of tensors per storage dtype (the dtype histogram)."""
        counts: dict[str, int] = {}
        for t in self.tensors:
            counts[t.dtype] = counts.get(t.dtype, 0) + 1
        return MappingProxyType(counts)

    def to_frame(self):  # pragma: no cover - presentation helper
        """One row per group: bytes, GB, GiB, params (pandas imported here, lazily)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "group": g,
                    "bytes": b,
                    "GB": b / 1e9,
                    "GiB": b / 2**30,
                    "params": self.params_by_group[g],
                }
                for g, b in self.by_group.items()
                if b
            ]
        )


def summarise(
    source: str,
    raw: Iterable[tuple[str, str, tuple[int, ...], int]],
    *,
    main_layers: int | None = None,
) -> Measured:
    """Group raw ``(name, dtype, shape, nbytes)`` rows into a `Measured`.

    Group of each tensor: `names.group_of(name, main_layers=…)`; scale companions share their
    weight's group (the rules read the module path).
    """
    tensors = tuple(
        TensorInfo(n, d, tuple(s), b, group_of(n, main_layers=main_layers)) for n, d, s, b in raw
    )
    by_group = dict.fromkeys(ALL_GROUPS, 0)
    by_dtype: dict[str, int] = {}
    params = dict.fromkeys(ALL_GROUPS, 0)
    weights_with_scale = {strip_scale_suffix(t.name) for t in tensors if is_scale_tensor(t.name)}
    for t in tensors:
        by_group[t.group] += t.nbytes
        by_dtype[t.dtype] = by_dtype.get(t.dtype, 0) + t.nbytes
        if is_scale_tensor(t.name):
            continue
        packed = t.dtype in PACKED_4BIT_DTYPES and _base(t.name) in weights_with_scale
        params[t.group] += t.numel * (2 if packed else 1)
    return Measured(
        source=source,
        tensors=tensors,
        total_bytes=sum(by_group.values()),
        by_group=MappingProxyType(by_group),
        by_dtype=MappingProxyType(dict(sorted(by_dtype.items(), key=lambda kv: -kv[1]))),
        params_by_group=MappingProxyType(params),
        other_names=tuple(t.name for t in tensors if t.group == OTHER),
    )


def _base(name: str) -> str:
    """``x.weight`` / ``x_blocks`` → the stem its scale companion strips to."""
    for suffix in (".weight", "_blocks", ".qweight", ".weight_packed"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
