"""The article's Quick Summary (24GB … 2TB+) regenerated from the kit's own estimates.

Each VRAM scale is read as ONE memory pool of that many bytes (GB = 1e9, TB = 1e12) with
llama.cpp's overheads (CUDA context, 1 GiB fit margin, compute buffer), a 32K context and batch 1.
For every V4 variant the kit lists the highest-precision recipe that fits (official layout, then
llama.cpp mixes, never upcast), next to the article's verdicts, with a reason for the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .article import load_article_tables
from .budget import budget
from .catalog import V4_IDS, get_model
from .hardware import get_gpu
from .quant import get_recipe, weight_bytes
from .units import GB

if TYPE_CHECKING:
    pass

RECIPES = (
    "official",
    "gguf-Q8_0",
    "gguf-Q6_K",
    "gguf-Q5_K_M",
    "gguf-Q4_K_M",
    "ds4-q4",
    "gguf-Q3_K_M",
    "gguf-Q2_K",
    "ds4-q2",
)
"""Tried in this order per variant (highest precision first); 'official' is the variant's
checkpoint layout; ds4-q4 / ds4-q2 are antirez's published V4 GGUF recipes (data/recipes.yaml)."""
SHORT = {"deepseek-v4-flash": "Flash", "deepseek-v4-pro": "Pro",
         "deepseek-v4-flash-base": "Flash-Base", "deepseek-v4-pro-base": "Pro-Base"}  # fmt: skip


@dataclass(frozen=True)
class SummaryRow:
    """One Quick Summary row: the article's verdicts and the kit's, with the reason they differ."""

    vram_text: str
    vram_bytes: int
    article_realistic: str
    article_do_not_expect: str
    kit_fits: str
    kit_does_not_fit: str
    reason: str


def _label(model_id: str, recipe: str) -> str:
    return f"{SHORT[model_id]} {recipe.removeprefix('gguf-').replace('deepseek-v4-', '')}"


def quick_summary(*, context: int = 32768, runtime: str = "llama.cpp") -> list[SummaryRow]:
    """The article's Quick Summary rows next to the kit's (see the module docstring for the setup).

    Notes
    -----
    fits(variant, recipe, pool) = weights + KV(context, batch 1) + workspace + overhead ≤ pool,
    computed by `vramkit.budget.budget` on a device of `pool` bytes.
    """
    base = get_gpu("h200-sxm-141gb")
    rows = []
    sizes = {
        (mid, r): weight_bytes(get_model(mid), _rid(mid, r)).main_bytes
        for mid in V4_IDS
        for r in RECIPES
    }
    for q in load_article_tables().quick_summary:
        pool = replace(
            base,
            id=f"pool-{q.vram_text}",
            memory_bytes=q.vram_bytes,
            visible_memory_bytes=None,
            unified=False,
        )
        fits, misses = [], []
        for mid in V4_IDS:
            official = sizes[(mid, "official")]
            best = None
            for r in RECIPES:
                if r != "official" and sizes[(mid, r)] > official:
                    continue
                b = budget(mid, pool, recipe=_rid(mid, r), context=context, runtime=runtime)
                if b.fits:
                    best = (r, b.total_bytes)
                    break
            if best:
                fits.append(f"{_label(mid, best[0])} ({best[1] / GB:,.0f} GB)")
            else:
                r_min = min(RECIPES, key=lambda r: sizes[(mid, r)])
                smallest = sizes[(mid, r_min)]
                misses.append(
                    f"{SHORT[mid]} (smallest, {_label(mid, r_min).split(' ', 1)[1]} weights: "
                    f"{smallest / GB:,.0f} GB)"
                )
        rows.append(
            SummaryRow(
                vram_text=q.vram_text,
                vram_bytes=q.vram_bytes,
                article_realistic=q.realistic,
                article_do_not_expect=q.do_not_expect,
                kit_fits="; ".join(fits) or "no V4 variant",
                kit_does_not_fit="; ".join(misses) or "-",
                reason=_reason(q.vram_bytes, sizes, q.realistic),
            )
        )
    return rows


def _rid(model_id: str, recipe: str) -> str:
    return get_recipe(recipe, model=model_id).id


def _reason(pool: int, sizes: dict[tuple[str, str], int], realistic: str = "") -> str:
    flash, pro = sizes[("deepseek-v4-flash", "official")], sizes[("deepseek-v4-pro", "official")]
    q4 = sizes[("deepseek-v4-flash", "gguf-Q4_K_M")]
    flash_min = sizes[("deepseek-v4-flash", "ds4-q2")]
    pro_min, pro_q4 = (
        sizes[("deepseek-v4-pro", "ds4-q2")],
        sizes[("deepseek-v4-pro", "gguf-Q4_K_M")],
    )
    if pool < flash_min:
        q2 = sizes[("deepseek-v4-flash", "gguf-Q2_K")]
        if "Q2" in realistic or "Q3" in realistic:  # the article suggests a low-bit Flash here
            return (
                f"disagrees: even Flash at ~2.4 bits (ds4-q2) needs {flash_min / GB:,.0f} GB of "
                f"weights and llama.cpp's Q2_K {q2 / GB:,.0f} GB; only offload (experts in CPU "
                "RAM) runs here."
            )
        return (
            f"agrees: even Flash at ~2.4 bits (ds4-q2) needs {flash_min / GB:,.0f} GB of weights; "
            "only offload (experts in CPU RAM) runs here."
        )
    if pool < flash:
        return (
            "the article halves the 8-bit size for Q4 (Flash ≈ 80 GB); the official Flash already "
            f"stores its experts in FP4 ({flash / GB:,.0f} GB), and llama.cpp's Q4_K_M is larger "
            f"({q4 / GB:,.0f} GB): only ~2-3-bit mixes fit here."
        )
    if pool < pro_min:
        return (
            f"the official Flash ({flash / GB:,.0f} GB, FP4 experts) fits: the article treats it as "
            "'FP8' needing 192–256 GB, but V4's released weights are mostly 4-bit, so no "
            "re-quantisation is needed; Pro does not fit: even a ~2.4-bit mix (ds4-q2) is "
            f"{pro_min / GB:,.0f} GB of weights."
        )
    if pool < pro:
        return (
            f"Pro fits only as a ~2.4-bit mix (ds4-q2, {pro_min / GB:,.0f} GB of weights); a real "
            f"Q4_K_M Pro is {pro_q4 / GB:,.0f} GB, more than the official FP4 checkpoint "
            f"({pro / GB:,.0f} GB), so 'Pro Q4' is not a 512 GB model."
        )
    return (
        f"the official Pro ({pro / GB:,.0f} GB, FP4 experts) fits; the article's 'Pro FP8' "
        "(≈1.6 TB) is the Base model's size, because the instruct checkpoints are not 8-bit."
    )
