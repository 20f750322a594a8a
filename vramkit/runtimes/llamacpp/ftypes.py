"""llama-quantize's file types and the tables its mix rules start from: the pinned llama.cpp source,
its QUANT_OPTIONS (`FileType`, data/llamacpp_ftypes.yaml), each file type's default GGML type
(`FTYPE_DEFAULT`) and the 32-element fallback of a row a block does not divide (`ROW_FALLBACK`).
The per-tensor rules that use them are `vramkit.runtimes.llamacpp.mix`; the recipe catalog
(`vramkit.quant`) lists the file types from here without loading those rules.

Line numbers ``Lnnn`` refer to
https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/src/llama-quant.cpp
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ...datafiles import load_document
from ...errors import unknown_name

LLAMA_CPP_COMMIT = "0c1e57098bba43ac29e6e3b677cdceebdd22334f"
LLAMA_CPP_BUILD = "b11312"
QUANT_SOURCE = f"https://github.com/ggml-org/llama.cpp/blob/{LLAMA_CPP_COMMIT}/src/llama-quant.cpp"

# llama_ftype_get_default_type (L881-923): the file type's default GGML type. "COPY" keeps every
# tensor's source type (only_copy, L290); F16/BF16/F32 are not quantized types, so no mix applies.
FTYPE_DEFAULT: dict[str, str] = {
    "Q4_0": "Q4_0", "Q4_1": "Q4_1", "Q5_0": "Q5_0", "Q5_1": "Q5_1", "Q8_0": "Q8_0",
    "F16": "F16", "BF16": "BF16", "F32": "F32", "Q1_0": "Q1_0", "Q2_0": "Q2_0",
    "MXFP4_MOE": "MXFP4",
    "Q2_K_S": "Q2_K", "Q2_K": "Q2_K", "IQ3_XS": "IQ3_S",
    "Q3_K_S": "Q3_K", "Q3_K_M": "Q3_K", "Q3_K_L": "Q3_K",
    "Q4_K_S": "Q4_K", "Q4_K_M": "Q4_K", "Q5_K_S": "Q5_K", "Q5_K_M": "Q5_K", "Q6_K": "Q6_K",
    "TQ1_0": "TQ1_0", "TQ2_0": "TQ2_0",
    "IQ2_XXS": "IQ2_XXS", "IQ2_XS": "IQ2_XS", "IQ2_S": "IQ2_XS", "IQ2_M": "IQ2_S",
    "IQ3_XXS": "IQ3_XXS", "IQ1_S": "IQ1_S", "IQ1_M": "IQ1_M", "IQ4_NL": "IQ4_NL",
    "IQ4_XS": "IQ4_XS", "IQ3_S": "IQ3_S", "IQ3_M": "IQ3_S",
}  # fmt: skip

# tensor_type_fallback (L390-441): a row that a block does not divide falls back to these types
ROW_FALLBACK: dict[str, str] = {
    "IQ1_S": "IQ4_NL", "IQ1_M": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL",
    "IQ2_S": "IQ4_NL", "IQ3_XXS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ4_XS": "IQ4_NL",
    "Q2_0": "Q4_0", "Q2_K": "Q4_0", "Q3_K": "Q4_0", "TQ1_0": "Q4_0", "TQ2_0": "Q4_0",
    "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0",
}  # fmt: skip


@dataclass(frozen=True)
class FileType:
    """One entry of llama-quantize's QUANT_OPTIONS (data/llamacpp_ftypes.yaml)."""

    name: str
    ftype: str
    line: int
    description: str

    @property
    def canonical(self) -> str:
        """The file type it selects: aliases (Q4_K → Q4_K_M) resolve to their target."""
        if self.name == "COPY":
            return "COPY"
        return "F32" if self.ftype == "LLAMA_FTYPE_ALL_F32" else self.ftype.split("MOSTLY_")[1]


@cache
def file_types() -> tuple[FileType, ...]:
    """llama-quantize's file types, in its own order (data/llamacpp_ftypes.yaml)."""
    doc = load_document("llamacpp_ftypes.yaml", ("ftypes",))
    return tuple(FileType(**rec) for rec in doc["ftypes"])


def ftype_names() -> list[str]:
    """The file types vramkit mixes (canonical names: aliases such as Q4_K are left out)."""
    out: list[str] = []
    for ft in file_types():
        if ft.canonical not in out:
            out.append(ft.canonical)
    return out


def resolve_ftype(name: str) -> str:
    """The canonical file type for `name` (case-insensitive, aliases resolved, as llama-quantize)."""
    for ft in file_types():
        if ft.name.upper() == str(name).strip().upper():
            return ft.canonical
    raise unknown_name("llama.cpp file type", name, [ft.name for ft in file_types()])


CONVERT_SOURCE = f"https://github.com/ggml-org/llama.cpp/blob/{LLAMA_CPP_COMMIT}/conversion"
"""The pinned converter's modules (convert_hf_to_gguf.py imports them from conversion/)."""

MXFP4_REPACK_ARCHS = frozenset({"deepseek4", "gpt-oss"})
"""llama.cpp archs whose converter writes the checkpoint's MXFP4 tensors as GGML MXFP4 blocks
as they are, whatever ``--outtype`` says: gpt-oss ``GptOssModel.repack_mxfp4`` writes each
``*_blocks`` / ``*_scales`` pair with ``add_tensor(…, raw_dtype=MXFP4)`` from
``generate_extra_tensors`` (conversion/gpt_oss.py L49-82), before and outside the ``--outtype``
loop (base.py L1057, L1142-1156), and ``dequant_model`` skips MXFP4 checkpoints (L19-22);
DeepSeek V4 the same way (conversion/deepseek.py L734-744)."""

CONVERTER_OUTTYPES = ("F32", "F16", "BF16", "Q8_0")
"""``convert_hf_to_gguf.py --outtype`` values vramkit models (f32, f16, bf16, q8_0; ``auto``
is the checkpoint's 16-bit type, `converter_type`'s default; tq1_0 / tq2_0 are not modelled)."""
