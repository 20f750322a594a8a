"""GGML block facts, a leaf module (imports nothing of vramkit): (weights per block, bytes per
block) of every GGML type, from the installed `gguf` package's own table, plus the types the
pinned llama.cpp offers ahead of every `gguf` release on PyPI. `formats` (storage formats) and
`llamacpp_mix` (llama-quantize's rules) both read it."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

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
