"""Storage-format facts, a leaf of the format layer: the `QuantFormat` record (exact bytes of a
tensor under a layout, scales and zero points included) and GGML block sizes ((weights per block,
bytes per block) of every GGML type, from the installed `gguf` package's own table, plus the types
the pinned llama.cpp offers ahead of every `gguf` release on PyPI). `formats` (the registry of
named formats), `quant_checkpoints` (GPTQ / AWQ / … layouts) and `runtimes.llamacpp.mix` (llama-quantize's
rules) read it; it reads none of them."""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from .errors import VramkitError
from .sources import Source

LAYOUTS = ("float", "block2d", "group", "gguf")


@dataclass(frozen=True)
class QuantFormat:
    """A weight storage format and its exact bytes per tensor (layouts: `vramkit.formats`).

    source: the one-line citation `describe_formats` shows; sources: the `Source` records it
    rests on (data/quant_formats.yaml; empty for GGML and INT4 formats, whose `source` names
    the code that defines them)."""

    name: str
    layout: str
    element_bits: int
    block: int = 0
    block_bytes: int = 0
    scale_bits: int = 0
    zero_bits: int = 0
    tensor_bytes_extra: int = 0
    index_bits: int = 0
    description: str = ""
    source: str = ""
    sources: tuple[Source, ...] = ()

    def tensor_bytes(self, shape: tuple[int, ...]) -> int:
        """Exact bytes of one tensor of `shape` stored in this format."""
        numel = math.prod(shape)
        if self.layout == "float":
            return ceil_div(numel * self.element_bits, 8) + self.tensor_bytes_extra
        if len(shape) < 2:
            raise VramkitError(f"format {self.name} quantises matrices; got a 1-D tensor {shape}.")
        cols = shape[-1]
        rows = numel // cols
        if self.layout == "block2d":
            blocks = ceil_div(rows, self.block) * ceil_div(cols, self.block)
            return numel * self.element_bits // 8 + blocks * self.scale_bits // 8
        if self.layout == "group":
            groups = rows * ceil_div(cols, self.block)
            data = ceil_div(numel * self.element_bits, 8)
            scales = ceil_div(groups * (self.scale_bits + self.zero_bits), 8)
            index = ceil_div(cols * self.index_bits, 8)
            return data + scales + self.tensor_bytes_extra + index
        # gguf: llama.cpp quantises whole rows of `block` elements
        return rows * ceil_div(cols, self.block) * self.block_bytes

    @property
    def bits_per_weight(self) -> float:
        """Bits per weight of a large matrix (per-tensor constants ignored), scales included."""
        if self.layout == "float":
            return float(self.element_bits)
        if self.layout == "block2d":
            return self.element_bits + self.scale_bits / (self.block * self.block)
        if self.layout == "group":
            return self.element_bits + (self.scale_bits + self.zero_bits) / self.block
        return 8 * self.block_bytes / self.block

    def fits_rows_of(self, cols: int) -> bool:
        """llama.cpp refuses a GGUF type whose block does not divide the row length."""
        return self.layout != "gguf" or cols % self.block == 0


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for positive integers, exactly."""
    return -(-a // b)


GGML_TYPES_AHEAD_OF_PYPI_GGUF: dict[str, tuple[int, int]] = {"Q2_0": (64, 2 + 16)}
"""GGML types that llama-quantize of the pinned llama.cpp offers but no `gguf` release on PyPI
knows yet (gguf 0.19.0, the newest there, stops at Q1_0): name → (weights per block, bytes per
block), as the pinned llama.cpp's *own* gguf-py declares them —
ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f gguf-py/gguf/constants.py
``GGMLQuantizationType.Q2_0:    (64, 2 + 16),`` and ggml/src/ggml-common.h ``#define QK2_0 64``,
``static_assert(sizeof(block_q2_0) == sizeof(ggml_half) + QK2_0 / 4, ...)`` (an FP16 scale and
64 two-bit values). Used only while the installed gguf lacks the type; a test checks that an
installed gguf which has it agrees."""

GGML_AHEAD_SOURCE = (
    "llama.cpp@0c1e57098bba gguf-py/gguf/constants.py GGML_QUANT_SIZES (the pinned llama.cpp's "
    "own gguf-py; no gguf release on PyPI has this type yet)"
)


def ggml_block(name: str) -> tuple[int, int] | None:
    """(weights per block, bytes per block) of a GGML type: the installed gguf package's
    GGML_QUANT_SIZES, else `GGML_TYPES_AHEAD_OF_PYPI_GGUF`; None when neither knows it."""
    c = gguf_constants()
    member = c.GGMLQuantizationType.__members__.get(name)
    if member is not None:
        return c.GGML_QUANT_SIZES[member]
    return GGML_TYPES_AHEAD_OF_PYPI_GGUF.get(name)


@cache
def gguf_constants() -> ModuleType:
    """The installed gguf package's ``gguf/constants.py`` (GGML_QUANT_SIZES, GGMLQuantizationType):
    the package's own module when gguf is imported already, else that one file read alone — it
    imports only the standard library, while ``import gguf`` imports numpy (a tenth of a second
    of CLI start-up). vramkit reads names and sizes from it, never compares its enum members."""
    own = sys.modules.get("gguf.constants")
    if own is not None:
        return own
    spec = importlib.util.find_spec("gguf")  # finds the package without importing it
    where = list(spec.submodule_search_locations or []) if spec is not None else []
    path = Path(where[0]) / "constants.py" if where else None
    name = "vramkit._gguf_constants"
    file_spec = None
    if path is not None and path.is_file():
        file_spec = importlib.util.spec_from_file_location(name, path)
    if file_spec is None or file_spec.loader is None:
        import gguf.constants  # an unusual install: import it the ordinary way

        return gguf.constants
    module = importlib.util.module_from_spec(file_spec)
    sys.modules[name] = module
    file_spec.loader.exec_module(module)
    return module
