"""The ggml types ik_llama.cpp adds that the `gguf` package lacks (q6_0, q8_KV), stated once with
their source: ikawrakow/ik_llama.cpp@8337e4cd3861406fc04e0854b1409cd1b027fbc9. A leaf module
(only `vramkit.errors`): the cache-dtype table (`vramkit.kv.formats`) and the ik_llama.cpp rules
(`vramkit.ik_llama_rules`, which re-exports it) both read it. Units: bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import VramkitError, require_int

IK_COMMIT = "8337e4cd3861406fc04e0854b1409cd1b027fbc9"
SOURCE = f"https://github.com/ikawrakow/ik_llama.cpp/blob/{IK_COMMIT}/"


@dataclass(frozen=True)
class IkType:
    """A ggml type of ik_llama.cpp: `block` values take `type_size` bytes, plus `row_meta` bytes
    once per row (ggml_row_size = row_meta + type_size * n / block, ggml/src/ggml.c L4808-4811)."""

    name: str
    block: int
    type_size: int
    row_meta: int
    source: str


IK_TYPES: Mapping[str, IkType] = {
    "Q6_0": IkType(
        "q6_0", 32, 26, 0,
        SOURCE + "ggml/src/ggml-common.h#L218-L224 (block_q6_0: ggml_half d + qh[32/4] + "
        "qs[32/2] = 2 + 8 + 16 = 26 B per 32 values); ggml/src/ggml.c L823-L826",
    ),
    "Q8_KV": IkType(
        "q8_KV", 32, 32, 8,
        SOURCE + "ggml/src/ggml.c#L1462-L1472 (GGML_TYPE_Q8_KV: blck_size 32, type_size 32, "
        "row_meta_size 8): a 576-value row is 8 + 576 = 584 B",
    ),
}  # fmt: skip
"""ik_llama.cpp's cache types that gguf.GGML_QUANT_SIZES lacks (ggml/include/ggml.h L434
GGML_TYPE_Q6_0 = 133, L452 GGML_TYPE_Q8_KV = 151). The -ctk / -ctv names it accepts:
common/common.cpp L4184-L4220 (f32 f16 bf16 q8_0 q4_0 q4_1 iq4_nl q5_0 q5_1 q6_0 q8_KV)."""


def ik_type(ggml_type: str) -> IkType:
    """The `IkType` named `ggml_type` (Q6_0, Q8_KV), else a `VramkitError` naming the known ones."""
    t = IK_TYPES.get(str(ggml_type).upper())
    if t is None:
        raise VramkitError(
            f"{ggml_type!r} is not one of ik_llama.cpp's own ggml types ({', '.join(IK_TYPES)})."
        )
    return t


def row_bytes(ggml_type: str, n: int) -> int:
    """ggml_row_size for an ik type: row_meta + type_size * n / block (n a whole number of
    blocks, as ggml asserts: ggml/src/ggml.c L4808-4811)."""
    t = ik_type(ggml_type)
    n = require_int("values per row", n, minimum=1, maximum=1 << 40)
    if n % t.block:
        raise VramkitError(
            f"cache type {t.name} packs blocks of {t.block} values; a {n}-value row does not "
            "divide into them."
        )
    return t.row_meta + n // t.block * t.type_size
