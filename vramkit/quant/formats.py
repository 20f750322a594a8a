"""Storage formats of weights, with their exact byte size per tensor (scales and zero points included).

Two sources, never hand-copied tables:
- GGML/GGUF block types come from the `gguf` package's own `GGML_QUANT_SIZES`
  (block size in elements, bytes per block), e.g. Q4_K = 144 B per 256 weights = 4.5 bits/weight.
- Safetensors-side formats (FP8 block-scaled, MXFP4, NVFP4, INT4 group-wise …) are data in
  `data/quant_formats.yaml`, each with its source.

Layouts (shape = (out, in) for a matrix; scales run along `in`):
- ``float``: numel * bits/8 (+ per-tensor scale bytes)
- ``block2d``: numel * bits/8 + ceil(out/B) * ceil(in/B) * scale_bytes   (DeepSeek FP8, B = 128)
- ``group``: out * in * bits/8 + out * ceil(in/G) * (scale_bits + zero_bits)/8 + per-tensor bytes
  + in * index_bits/8   (MXFP4/MXFP8/NVFP4, GPTQ/AWQ INT4 with group size G)
- ``gguf``: rows * ceil(in/B) * block_bytes, B and block_bytes from `gguf.GGML_QUANT_SIZES`
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from ..datafiles import load_document
from ..errors import VramkitError, unknown_name
from ..format_facts import (  # noqa: F401 (QuantFormat, LAYOUTS: re-exported here)
    GGML_AHEAD_SOURCE,
    GGML_TYPES_AHEAD_OF_PYPI_GGUF,
    LAYOUTS,
    QuantFormat,
    gguf_constants,
)
from ..runtimes.llamacpp.ftypes import ROW_FALLBACK
from ..sources import parse_sources

_REQUIRED = {"name", "layout", "element_bits", "description", "citation", "sources"}
_OPTIONAL = {"block", "scale_bits", "zero_bits", "tensor_bytes_extra", "index_bits"}


@cache
def _table_formats() -> dict[str, QuantFormat]:
    doc = load_document("quant_formats.yaml", ("formats",))
    formats: dict[str, QuantFormat] = {}
    for rec in doc.get("formats", []):
        missing = _REQUIRED - set(rec)
        unknown = set(rec) - _REQUIRED - _OPTIONAL
        if missing or unknown:
            raise VramkitError(
                f"quant_formats.yaml: format {rec.get('name')!r} "
                + (
                    f"misses {sorted(missing)}"
                    if missing
                    else f"has unknown keys {sorted(unknown)}"
                )
            )
        if rec["layout"] not in ("float", "block2d", "group"):
            raise VramkitError(
                f"quant_formats.yaml: format {rec['name']} has layout {rec['layout']!r}."
            )
        if rec["name"] in formats:
            raise VramkitError(f"quant_formats.yaml: format {rec['name']} is listed twice.")
        rec = dict(rec)
        where = f"quant_formats.yaml format {rec['name']}"
        rec["sources"] = parse_sources(where, rec["sources"])
        rec["source"] = str(rec.pop("citation"))
        formats[rec["name"]] = QuantFormat(**rec)
    return formats


@cache
def _gguf_formats() -> dict[str, QuantFormat]:
    c = gguf_constants()
    out: dict[str, QuantFormat] = {}
    sizes = {c.GGMLQuantizationType(q).name: v for q, v in c.GGML_QUANT_SIZES.items()}
    ahead = {k: v for k, v in GGML_TYPES_AHEAD_OF_PYPI_GGUF.items() if k not in sizes}
    for name, (block, type_size) in {**sizes, **ahead}.items():
        out[name] = QuantFormat(
            name=name,
            layout="gguf",
            element_bits=0,
            block=block,
            block_bytes=type_size,
            description=f"GGML type {name}: {type_size} bytes per block of {block} weights",
            source=GGML_AHEAD_SOURCE
            if name in ahead
            else "gguf Python package, gguf.constants.GGML_QUANT_SIZES (llama.cpp's ggml type traits)",
        )
    return out


_INT4 = re.compile(r"^INT4_G(\d+)(_ACT)?$")


def get_format(name: str) -> QuantFormat:
    """Look a format up by name: the data table first (FP8_B128_UE8M0, MXFP4, NVFP4, BF16 …), then
    GGML types (Q4_K, Q8_0, IQ4_XS …, also as ``gguf:NAME``), then INT4_G<group>[_ACT] (GPTQ/AWQ)."""
    if not isinstance(name, str):
        raise VramkitError(
            f"a weight format name must be text, got {type(name).__name__} {name!r:.60}."
        )
    return _get_format(name)


@cache
def _get_format(name: str) -> QuantFormat:
    key = name.strip()
    table = _table_formats()
    if key in table:
        return table[key]
    aliases = {
        "F32": "FP32",
        "F16": "FP16",
        "GGUF:F32": "FP32",
        "GGUF:F16": "FP16",
        "GGUF:BF16": "BF16",
    }
    if key.upper() in aliases:
        return table[aliases[key.upper()]]
    bare = key.upper().removeprefix("GGUF:")
    if bare and not _INT4.match(bare):
        gg = _gguf_formats()  # imports gguf (and numpy) only when a GGML type is asked for
        if bare in gg and (key.lower().startswith("gguf:") or bare not in table):
            return gg[bare]
    from ..model.checkpoint_formats import checkpoint_format, is_checkpoint_format_name

    if is_checkpoint_format_name(key):  # GPTQ / AWQ / compressed-tensors / bitsandbytes
        return checkpoint_format(key)
    m = _INT4.match(key.upper())
    if m:
        group = int(m.group(1))
        if group < 8 or group & (group - 1):
            raise VramkitError(f"INT4 group size must be a power of two >= 8, got {group}.")
        act = bool(m.group(2))
        return QuantFormat(
            name=key.upper(),
            layout="group",
            element_bits=4,
            block=group,
            scale_bits=16,
            zero_bits=4,
            index_bits=32 if act else 0,
            description=(
                f"INT4 group-wise (GPTQ/AWQ packing), group {group}: qweight 4 bits, fp16 scale and "
                f"4-bit packed zero per group{'; g_idx int32 per input column (act-order)' if act else ''}"
            ),
            source="AutoGPTQ/AWQ packing: qweight int32 [in/8,out], qzeros int32 [in/g,out/8], "
            "scales fp16 [in/g,out], g_idx int32 [in] (docs/research/anchors_survey.md §4.2)",
        )
    raise unknown_name("weight format", name, [*format_names(), "INT4_G128", "INT4_G64"])


def format_names() -> list[str]:
    """All named formats (table formats, then GGML types; INT4_G<g> is open-ended)."""
    table = _table_formats()
    return list(table) + [n for n in _gguf_formats() if n not in table and n not in ("F16", "F32")]


# llama.cpp: when a row is not a multiple of the type's block, quantize falls back to a type with
# 32-element blocks, else F16 (tensor_type_fallback; the table lives in vramkit.runtimes.llamacpp.ftypes).
GGUF_ROW_FALLBACK = ROW_FALLBACK


def storable_format(fmt: QuantFormat, cols: int) -> QuantFormat:
    """The format a tensor with rows of `cols` elements is really stored in (GGUF fallback)."""
    if fmt.fits_rows_of(cols):
        return fmt
    fallback = GGUF_ROW_FALLBACK.get(fmt.name)
    if fallback is None or not get_format(fallback).fits_rows_of(cols):
        return get_format("FP16")
    return get_format(fallback)


def describe_formats() -> list[dict[str, Any]]:
    """One row per named format: name, layout, bits per weight, description, source."""
    return [
        {
            "name": f.name,
            "layout": f.layout,
            "bits_per_weight": f.bits_per_weight,
            "description": f.description,
            "source": f.source,
        }
        for f in (get_format(n) for n in format_names())
    ]
