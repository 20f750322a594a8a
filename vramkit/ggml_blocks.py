"""GGML block facts, a leaf module (imports nothing of vramkit): (weights per block, bytes per
block) of every GGML type, from the installed `gguf` package's own table, plus the types the
pinned llama.cpp offers ahead of every `gguf` release on PyPI. `formats` (storage formats) and
`llamacpp_mix` (llama-quantize's rules) both read it."""

from __future__ import annotations

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
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    member = GGMLQuantizationType.__members__.get(name)
    if member is not None:
        return GGML_QUANT_SIZES[member]
    return GGML_TYPES_AHEAD_OF_PYPI_GGUF.get(name)
