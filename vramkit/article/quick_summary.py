"""The article's Quick Summary (24GB … 2TB+) regenerated from the kit's own estimates.

Each VRAM scale is read as ONE memory pool of that many bytes (GB = 1e9, TB = 1e12) — or, where
the catalog has a unified-memory machine of exactly that size (DGX Spark 128 GB, Mac Studio
512 GB), as that machine under the one unified-memory rule `fit` and `plan` use
(`vramkit.hardware.gpu_working_set`: Apple's Metal working-set cap, else 25% left to the OS) — with llama.cpp's overheads (CUDA context, 1 GiB fit margin, compute buffer), a 32K context and batch 1.
For every V4 variant the kit lists the highest-precision recipe that fits (official layout, then
llama.cpp mixes, never upcast), next to the article's verdicts, with a reason for the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..budget import best_recipe, usable_bytes
from ..catalog import V4_IDS, get_model
from ..hardware import Gpu, get_gpu, gpu_working_set, gpus
from ..quant import get_recipe, weight_bytes
from ..runtimes import get_runtime
from ..units import GB
from .tables import load_article_tables

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
    fits(variant, recipe, pool): the placement planner's verdict for one device
    (`vramkit.plan.count.place` through `vramkit.budget.best_recipe`, the solver `fit` and
    `plan` ask) on `scale_device(pool)` (a unified box where the catalog has one of that size),
    the largest of `RECIPES` that fits; each listed fit carries its headroom beyond the margin.
    """
    rows = []
    sizes = {
        (mid, r): weight_bytes(get_model(mid), _rid(mid, r)).main_bytes
        for mid in V4_IDS
        for r in RECIPES
    }
    for q in load_article_tables().quick_summary:
        pool = scale_device(q.vram_bytes)
        fits, misses, squeezed = [], [], []
        for mid in V4_IDS:
            recipes = [_rid(mid, r) for r in RECIPES]
            best = best_recipe(mid, pool, recipes=recipes, context=context, runtime=runtime)
            if pool.unified:
                whole = best_recipe(
                    mid, pool, recipes=recipes, context=context, runtime=runtime, os_share=0.0
                )
                if whole.fits and whole.recipe_id != best.recipe_id:
                    name = "official" if whole.recipe_id == recipes[0] else whole.recipe_id
                    squeezed.append(
                        f"{_label(mid, name)} ({whole.budget.total_bytes / GB:,.0f} GB)"
                    )
            if best.fits:
                name = "official" if best.recipe_id == _rid(mid, "official") else best.recipe_id
                fits.append(f"{_label(mid, name)} ({_margin_text(best.budget)})")
            else:
                r_min = min(RECIPES, key=lambda r: sizes[(mid, r)])
                smallest = sizes[(mid, r_min)]
                misses.append(
                    f"{SHORT[mid]} (smallest, {_label(mid, r_min).split(' ', 1)[1]} weights: "
                    f"{smallest / GB:,.0f} GB)"
                )
        reason = _reason(q.vram_bytes, sizes, q.realistic)
        if pool.unified:
            usable = usable_bytes(pool, get_runtime(runtime), memory_fraction=None)
            why = gpu_working_set(pool)[1]
            reason = (
                f"read as {pool.name} with the unified-memory rule of `fit --gpu {pool.id}` and "
                f"`plan`: {usable / GB:,.0f} GB usable — {why}"
                + (f"; {', '.join(squeezed)} would need the whole pool" if squeezed else "")
                + "; "
                + reason
            )
        rows.append(
            SummaryRow(
                vram_text=q.vram_text,
                vram_bytes=q.vram_bytes,
                article_realistic=q.realistic,
                article_do_not_expect=q.do_not_expect,
                kit_fits="; ".join(fits) or "no V4 variant",
                kit_does_not_fit="; ".join(misses) or "-",
                reason=reason,
            )
        )
    return rows


def _margin_text(b) -> str:
    """'156 GB, 8.4 GB free beyond the margin' (+ ', tight: …' when the planner's verdict is
    tight): the bytes on the device and the verdict's headroom, GB = 1e9."""
    text = f"{b.total_bytes / GB:,.0f} GB, {b.headroom_bytes / GB:,.1f} GB free beyond the margin"
    v = b.verdict
    if v is not None and v.tight:
        text += ", tight: " + "; ".join(v.reasons)
    return text


def scale_device(vram_bytes: int) -> Gpu:
    """The device a Quick Summary scale is judged on, by the same rule as `fit`: the catalog's
    unified machine of exactly that memory (DGX Spark 128 GB, Mac Studio 512 GB; `usable_bytes`
    applies `vramkit.hardware.gpu_working_set`, the rule the planner uses), otherwise one discrete
    pool of `vram_bytes` bytes."""
    for g in gpus().values():
        if g.unified and g.memory_bytes == vram_bytes:
            return g
    return replace(
        get_gpu("h200-sxm-141gb"),
        id=f"pool-{vram_bytes}",
        memory_bytes=vram_bytes,
        visible_memory_bytes=None,
        unified=False,
    )


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


OFFLOAD_MACHINES = (
    ("24GB", "1 × RTX 4090 + 128 GB DDR5", ("rtx-4090-24gb",), "128GB", "deepseek-v4-flash"),
    ("48GB", "2 × RTX 4090 + 128 GB DDR5", ("rtx-4090-24gb:2",), "128GB", "deepseek-v4-flash"),
    ("80GB", "1 × H100 80GB + 256 GB EPYC DDR5", ("h100-sxm-80gb",), "256GB@ddr5-4800-12ch-epyc9004", "deepseek-v4-flash"),
    ("96GB", "1 × RTX PRO 6000 + 256 GB EPYC DDR5", ("rtx-pro-6000-blackwell-96gb",), "256GB@ddr5-4800-12ch-epyc9004", "deepseek-v4-flash"),
    ("96GB", "1 × RTX PRO 6000 + 512 GB EPYC DDR5", ("rtx-pro-6000-blackwell-96gb",), "512GB@ddr5-4800-12ch-epyc9004", "deepseek-v4-pro"),
)  # fmt: skip
"""(VRAM scale, machine, GPUs, host RAM, variant) of the offload rows: the article's small tiers
with routed experts in host RAM (desktop DDR5: 2 channels; server: one EPYC 9004 socket)."""


@dataclass(frozen=True)
class OffloadRow:
    """One offload row: the best llama.cpp plan of `model` on `machine` at `context` tokens."""

    vram_text: str
    machine: str
    model: str
    recipe: str
    fits: bool
    expert_layers_on_host: int
    moe_layers: int
    gpu_bytes: int
    host_bytes: int
    decode_tokens_per_s: float
    max_context: int
    flags: str
    verdict: str = ""
    """The planner's one-line verdict with its margin (`vramkit.plan.verdict.Verdict.headline`)."""


def offload_rows(*, context: int = 32768) -> list[OffloadRow]:
    """The rows the article only hints at ("24GB: cannot fully run", "80GB: heavy offload"):
    the largest GGUF recipe whose llama.cpp plan fits with routed experts in host RAM
    (`vramkit.plan`), its decode bound (tokens/s, an upper bound) and the flags."""
    from ..plan import auto_recipe, build_machine, flags_for, solve

    rows = []
    for vram, label, gpu_specs, ram, mid in OFFLOAD_MACHINES:
        m = build_machine(list(gpu_specs), ram=ram)
        recipe, _why = auto_recipe(mid, m, runtime="llama.cpp", goal="fit", context=context)
        s = solve(mid, m, recipe=recipe, runtime="llama.cpp", context=context, curve=False)
        p = s.plan
        host = p.place("host")
        rows.append(
            OffloadRow(
                vram_text=vram,
                machine=label,
                model=SHORT[mid],
                recipe=recipe.removeprefix("gguf-"),
                fits=p.fits,
                expert_layers_on_host=len(host.expert_layers),
                moe_layers=sum(1 for q in p.places for _ in q.expert_layers),
                gpu_bytes=sum(q.total_bytes for q in p.places if q.kind == "gpu"),
                host_bytes=host.total_bytes,
                decode_tokens_per_s=s.speed.decode_tokens_per_s if p.fits else 0.0,
                max_context=s.capacity["max_context"],
                flags=flags_for(p).command if p.fits else "",
                verdict=s.verdict.headline,
            )
        )
    return rows
