"""The article's prose claims checked against the kit, and sanity anchors against real files.

A fit claim holds when the kit's need (weights + KV at the minimum context + overhead) agrees
with the article's 'fits' / 'does not fit' at the VRAM it names. An anchor compares the kit's
weight bytes for a published file's recipe with the file's published size: error = kit / published − 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import get_model
from ..errors import unknown_name
from ..quant import Recipe, weight_bytes
from ..units import GB, GiB
from .audit import BudgetAssumptions, bits_per_param, first_principles_row, fmt_tier
from .tables import load_article_tables

# ── anchors: real files ──────────────────────────────────────────────────────────────────────────
DS4_Q2 = "ds4-q2"
DS4_Q4 = "ds4-q4"
"""antirez/ds4 GGUF recipes, data in data/recipes.yaml with their source."""


@dataclass(frozen=True)
class Anchor:
    """A published file: its model, the recipe that rebuilds it, its size as published."""

    name: str
    model_id: str
    recipe: Recipe | str
    published_bytes: int
    published_text: str
    source: str


ANCHOR_FIGURES: tuple[tuple[str, str], ...] = (
    ("DeepSeek-V4-Flash official checkpoint", "v4-flash-official-total-size"),
    (
        "antirez DeepSeek-V4-Flash-IQ2XXS-w2Q2K-AProjQ8-SExpQ8-OutQ8-chat-v2.gguf",
        "v4-flash-antirez-q2",
    ),
    (
        "antirez DeepSeek-V4-Flash-Q4KExperts-…-Q8Attn-Q8Shared-Q8Out-chat-v2.gguf",
        "v4-flash-antirez-q4",
    ),
    ("nvidia/DeepSeek-V4-Pro-NVFP4", "v4-pro-nvfp4"),
)
"""Published files the kit rebuilds from the tensor layout: (file, figure id in
data/ground_truth.yaml, which holds the size, its unit, the recipe and the source). Published
sizes are rounded to 0.1 GiB / 0.01 GB, so errors below ±0.1 % are within their rounding."""


def anchors() -> tuple[Anchor, ...]:
    """`ANCHOR_FIGURES` read from data/ground_truth.yaml (one place for each published size)."""
    from ..accuracy import load_ground_truth

    figures = {f.id: f for f in load_ground_truth()}
    out = []
    for name, fid in ANCHOR_FIGURES:
        f = figures[fid]
        text = f"{int(f.value):,} {f.unit}" if f.unit == "B" else f"{f.value:g} {f.unit}"
        source = str(f.source)
        recipe = str(f.estimate["recipe"])
        out.append(Anchor(name, f.model, recipe, round(f.base_value), text, source))
    return tuple(out)


@dataclass(frozen=True)
class AnchorCheck:
    """Kit bytes vs published bytes of one file; error_pct = 100 × (kit / published − 1)."""

    name: str
    model_id: str
    recipe_id: str
    published_text: str
    published_bytes: int
    kit_bytes: int
    source: str

    @property
    def error_pct(self) -> float:
        """100 × (kit_bytes / published_bytes − 1), percent."""
        return 100 * (self.kit_bytes / self.published_bytes - 1)


def anchor_checks(files: tuple[Anchor, ...] | None = None) -> list[AnchorCheck]:
    """Rebuild each anchor file's size from the tensor layout and compare (default: `anchors()`)."""
    out = []
    for a in anchors() if files is None else files:
        w = weight_bytes(get_model(a.model_id), a.recipe)
        out.append(
            AnchorCheck(
                a.name, a.model_id, w.recipe_id, a.published_text, a.published_bytes,
                w.total_bytes, a.source,
            )
        )  # fmt: skip
    return out


# ── claims: does it fit where the article says? ──────────────────────────────────────────────────
@dataclass(frozen=True)
class FitClaim:
    """An article statement that `model_id` stored as `recipe` does (or does not) fit in
    `vram_bytes` of GPU memory. `quote` is verbatim; `where` says which part of the article."""

    where: str
    quote: str
    model_id: str
    recipe: str
    vram_bytes: int
    asserts_fit: bool


def _c(where: str, quote: str, model: str, recipe: str, gb: int, fits: bool) -> FitClaim:
    return FitClaim(where, quote, model, recipe, gb * GB, fits)


_F, _P, _PB = "deepseek-v4-flash", "deepseek-v4-pro", "deepseek-v4-pro-base"
CLAIMS: tuple[FitClaim, ...] = (
    _c("Quick Summary, 48GB row, Do Not Expect", "Stable V4-Flash Q4", _F, "gguf-Q4_K_M", 48,
       False),
    _c("Quick Summary, 80GB row", "Theoretically try V4-Flash Q2/Q3 or heavy offload", _F,
       "gguf-Q2_K", 80, True),
    _c("Quick Summary, 128GB row", "V4-Flash Q4 becomes more realistic; Q5/Q6 still tight", _F,
       "gguf-Q4_K_M", 128, True),
    _c("Quick Summary, 128GB row, Do Not Expect", "V4-Pro Q4", _P, "gguf-Q4_K_M", 128, False),
    _c("Quick Summary, 192GB row", "V4-Flash FP8/Q6 is more comfortable", _F, "deepseek-v4-fp8",
       192, True),
    _c("Quick Summary, 192GB row", "V4-Flash FP8/Q6 is more comfortable", _F, "gguf-Q6_K", 192,
       True),
    _c("Quick Summary, 192GB row", "Pro Q2 enters experimental range", _P, "gguf-Q2_K", 192,
       True),
    _c("Quick Summary, 256GB row", "V4-Flash FP8 is fairly comfortable", _F, "deepseek-v4-fp8",
       256, True),
    _c("Quick Summary, 256GB row", "Pro Q2/Q3 can be tested", _P, "gguf-Q3_K_M", 256, True),
    _c("Quick Summary, 256GB row, Do Not Expect", "V4-Pro Q5 and above", _P, "gguf-Q5_K_M", 256,
       False),
    _c("Quick Summary, 512GB row", "V4-Pro Q4 starts to become discussable", _P, "gguf-Q4_K_M",
       512, True),
    _c("Quick Summary, 512GB row, Do Not Expect", "V4-Pro FP8", _P, "deepseek-v4-fp8", 512,
       False),
    _c("Quick Summary, 1TB+ row", "V4-Pro FP8 and low-bit Pro-Base are more realistic", _P,
       "deepseek-v4-fp8", 1000, True),
    _c("Quick Summary, 1TB+ row", "V4-Pro FP8 and low-bit Pro-Base are more realistic", _PB,
       "gguf-Q2_K", 1000, True),
    _c("Quick Summary, 2TB+ row", "Pro-Base FP8 class", _PB, "official", 2000, True),
    _c("after the Flash table", "it still probably will not be a 24GB GPU model", _F,
       "gguf-Q4_K_M", 24, False),
    _c("after the Flash table", "A more realistic starting point is 96GB to 128GB total VRAM", _F,
       "gguf-Q4_K_M", 128, True),
)  # fmt: skip
"""The article's fit statements, each tied to the real file its words name (Q4 → Q4_K_M, FP8 →
the all-FP8 layout, Pro-Base FP8 → its official FP8 checkpoint). A range ('96GB to 128GB') is
checked at its upper end, the most generous reading."""


@dataclass(frozen=True)
class ClaimCheck:
    """A claim, the kit's need for it, and whether the article is right (holds)."""

    claim: FitClaim
    recipe_id: str
    weight_bytes: int
    need_bytes: int
    kit_fits: bool
    explanation: str

    @property
    def holds(self) -> bool:
        """True when the kit agrees with the article (fits ↔ fits)."""
        return self.kit_fits == self.claim.asserts_fit


def check_claim(claim: FitClaim, assumptions: BudgetAssumptions | None = None) -> ClaimCheck:
    """Check one fit claim: (weights + KV(minimum context) + overhead) / memory fraction ≤ vram."""
    a = assumptions or BudgetAssumptions()
    row = first_principles_row(claim.model_id, claim.recipe, a)
    n = row.minimum_need
    need = n.memory_bytes
    fits = need <= claim.vram_bytes
    says = "fits" if claim.asserts_fit else "does not fit"
    verdict = "holds" if fits == claim.asserts_fit else "does NOT hold"
    explanation = (
        f"Article: {says} in {fmt_tier(claim.vram_bytes)}. Kit: {row.recipe_id} weighs "
        f"{row.weight_bytes / GB:.1f} GB; + KV at {a.minimum_context_tokens:,} tokens "
        f"{n.kv_bytes / GB:.1f} GB + overhead {n.overhead_bytes / GB:.1f} GB = "
        f"{n.total_bytes / GB:.1f} GB; ÷ {n.memory_fraction:g} memory fraction = {need / GB:.1f} "
        f"GB of GPU memory, {'within' if fits else 'above'} {fmt_tier(claim.vram_bytes)} "
        f"(smallest tier: {fmt_tier(row.minimum_tier_bytes)}). The claim {verdict}."
    )
    return ClaimCheck(claim, row.recipe_id, row.weight_bytes, need, fits, explanation)


def check_claims(assumptions: BudgetAssumptions | None = None) -> list[ClaimCheck]:
    """Every claim in `CLAIMS`, checked."""
    return [check_claim(c, assumptions) for c in CLAIMS]


# ── statements about sizes ───────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class SizeFinding:
    """A statement of the article about weight sizes, the kit's figures, and a verdict."""

    topic: str
    quote: str
    verdict: str
    explanation: str


SIZE_CLOSE = 0.05
"""'close to' a size: within 5%; a 'smaller' file: more than 5% below."""
FP8_BITS_MIN, FP8_BITS_MAX = 7.5, 9.0
"""Bits per parameter of a file that is FP8 throughout (8 bits + block scales + a few BF16/F32
tensors): FP8 128x128 blocks add 32/16384 bits; V4-Flash-Base is 8.10."""


def size_findings() -> list[SizeFinding]:
    """The article's size statements: 'close to 160GB' (smallest Flash), the Pro 'FP8' label,
    Base 'closer to full FP8', and Pro 'hundreds of GB at 4-bit'. Verdicts follow the numbers:
    close = within `SIZE_CLOSE`; FP8 = `FP8_BITS_MIN`..`FP8_BITS_MAX` bits per parameter; the
    4-bit statement is understated when a real Q4_K_M is larger than the official file."""
    flash, pro = get_model(_F), get_model(_P)
    off_f, off_p = weight_bytes(flash), weight_bytes(pro)
    q2 = weight_bytes(flash, DS4_Q2).total_bytes
    fp8_p = weight_bytes(pro, "deepseek-v4-fp8").total_bytes
    q4_p = weight_bytes(pro, "gguf-Q4_K_M")
    base = weight_bytes(get_model("deepseek-v4-flash-base"))
    q4_row = next(r for r in load_article_tables().rows if r.variant == _P and r.label == "Q4")
    near_160 = abs(off_f.total_bytes / (160 * GB) - 1) <= SIZE_CLOSE
    smaller_exists = q2 < (1 - SIZE_CLOSE) * off_f.total_bytes
    smallest = ("half right" if smaller_exists else "holds") if near_160 else "does not hold"
    pro_is_fp8 = off_p.bits_per_weight >= FP8_BITS_MIN
    base_is_fp8 = FP8_BITS_MIN <= base.bits_per_weight <= FP8_BITS_MAX
    q4_above_official = q4_p.total_bytes > off_p.total_bytes
    return [
        SizeFinding(
            "smallest V4-Flash",
            "Even the smallest V4-Flash is already close to 160GB of official weights.",
            smallest,
            f"The official Flash checkpoint is {off_f.total_bytes / GB:.2f} GB, but it is already "
            f"{off_f.bits_per_weight:.2f} bits per parameter (MXFP4 experts). Smaller real files "
            f"exist: antirez's q2 GGUF is {q2 / GiB:.1f} GiB = {q2 / GB:.1f} GB.",
        ),
        SizeFinding(
            "Pro 'FP8 / official weights'",
            "FP8 / official weights 864.70GB 1TB 1.2TB+",
            "holds" if pro_is_fp8 else "label wrong",
            f"The official Pro is MXFP4 experts + FP8, {off_p.bits_per_weight:.2f} bits per "
            f"parameter ({off_p.total_bytes / GB:.2f} GB). An all-FP8 Pro would weigh "
            f"{fp8_p / GB:.2f} GB, about the Pro-Base file.",
        ),
        SizeFinding(
            "Flash-Base note",
            "Base model, closer to full FP8 weight size",
            "holds" if base_is_fp8 else "does not hold",
            f"Flash-Base is {base.bits_per_weight:.2f} bits per parameter "
            f"({base.total_bytes / GB:.2f} GB): FP8 with block scales (and, by the kit's layout "
            "hypothesis, FP32 embedding and head).",
        ),
        SizeFinding(
            "Pro at 4-bit",
            "Even at 4-bit quantization, the full weights remain in the hundreds of GB.",
            "understated" if q4_above_official else "holds",
            f"A real Pro Q4_K_M is {q4_p.total_bytes / GB:.2f} GB ({q4_p.bits_per_weight:.2f} "
            f"bpw): larger than the official {off_p.total_bytes / GB:.2f} GB, whose experts are "
            f"already 4-bit; the article's {q4_row.size_text} Q4 row is a "
            f"{bits_per_param(q4_row.size_bytes, off_p.total_params):.2f}-bit file.",
        ),
    ]


def claim_by_quote(text: str) -> list[FitClaim]:
    """The claims whose quote contains `text` (case-insensitive); VramkitError if none."""
    found = [c for c in CLAIMS if text.lower() in c.quote.lower()]
    if not found:
        raise unknown_name("claim quote", text, (c.quote for c in CLAIMS))
    return found


__all__ = [
    "ANCHOR_FIGURES", "CLAIMS", "DS4_Q2", "DS4_Q4", "Anchor", "AnchorCheck", "ClaimCheck", "FitClaim",
    "SizeFinding", "anchor_checks", "anchors", "check_claim", "check_claims", "claim_by_quote",
    "size_findings",
]  # fmt: skip
