"""Why "4-bit" is not 4 bits: each format's bits per weight split into the nominal element width
and the scale overhead, with the formula written out from `vramkit.quant.formats`' own numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..quant.formats import get_format
from .checkpoint_formats import CheckpointFormat

ANATOMY_FORMATS: tuple[str, ...] = (
    "BF16", "FP8_B128_UE8M0", "FP8_B128_F32", "Q8_0", "Q6_K", "Q5_K", "Q4_K", "MXFP4", "NVFP4",
    "Q3_K", "Q2_K", "IQ2_XXS",
)  # fmt: skip
"""The formats the quantization notebook dissects (names as `vramkit.quant.formats.get_format` takes)."""

_GGUF_NOMINAL = re.compile(r"^I?Q(\d)_")


@dataclass(frozen=True)
class FormatAnatomy:
    """Bits per weight of one format: nominal_bits (the element width its name promises) +
    overhead_bits (block scales, minima, …) = bits_per_weight; `formula` shows the arithmetic."""

    name: str
    layout: str
    nominal_bits: int
    bits_per_weight: float
    formula: str

    @property
    def overhead_bits(self) -> float:
        """bits_per_weight − nominal_bits: what the scales cost per weight."""
        return self.bits_per_weight - self.nominal_bits


def format_anatomy(name: str) -> FormatAnatomy:
    """The anatomy of format `name` (VramkitError with nearest names if unknown).

    gguf: bpw = block_bytes × 8 / block (Q4_K: 144 × 8 / 256 = 4.5);
    block2d: bpw = element_bits + scale_bits / block² (FP8 128×128, UE8M0: 8 + 8/16384);
    group: bpw = element_bits + (scale_bits + zero_bits) / block (MXFP4: 4 + 8/32 = 4.25).
    """
    f = get_format(name)
    bpw = f.bits_per_weight
    if f.layout == "gguf":
        m = _GGUF_NOMINAL.match(f.name)
        nominal = int(m.group(1)) if m else round(bpw)
        formula = (
            f"{f.block_bytes} bytes per block of {f.block} weights: {f.block_bytes} × 8 / {f.block}"
        )
    elif f.layout == "block2d":
        nominal = f.element_bits
        formula = (
            f"{f.element_bits} bits + one {f.scale_bits}-bit scale per {f.block}×{f.block} block: "
            f"{f.element_bits} + {f.scale_bits}/{f.block * f.block}"
        )
    elif f.layout == "group":
        nominal = f.element_bits
        extra = f.scale_bits + f.zero_bits
        formula = (
            f"{f.element_bits} bits + {extra} bits of scale per group of {f.block}: "
            f"{f.element_bits} + {extra}/{f.block}"
        )
    elif isinstance(f, CheckpointFormat):  # the tensors a quantizer writes
        nominal = f.element_bits
        parts = ", ".join(f"{n} {d}{list(s)}" for n, d, s in f.stored_tensors((4096, 4096)))
        formula = (
            f"a 4096×4096 linear stored as {parts}: {f.tensor_bytes((4096, 4096))} B × 8 / 4096²"
        )
    else:
        nominal = f.element_bits
        formula = f"{f.element_bits} bits, no scales"
    return FormatAnatomy(f.name, f.layout, nominal, bpw, f"{formula} = {bpw:.6g} bits per weight")


def anatomy_table(names: Sequence[str] = ANATOMY_FORMATS) -> list[FormatAnatomy]:
    """`format_anatomy` of each name, in order."""
    return [format_anatomy(n) for n in names]
