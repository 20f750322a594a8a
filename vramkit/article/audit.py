"""First-principles weight and VRAM tables for the four DeepSeek V4 variants, and their diff with
the source article (real recipes on the real tensor layout instead of official size × bits / 8).

    need = (weights(recipe) + KV(context) + overhead) / memory_fraction;
    tier = smallest article tier ≥ need
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..catalog import V4_IDS, ModelSpec, get_model
from ..errors import VramkitError, require_int, unknown_name
from ..quant import Recipe, WeightBytes, get_recipe, weight_bytes
from ..runtimes import get_runtime
from ..units import GB, TB
from .tables import ARTICLE_RULE, ArticleRow, article_weight_bytes, load_article_tables

if TYPE_CHECKING:
    pass

OFFICIAL = "official"
"""Stands for each model's own checkpoint layout in recipe lists."""

TABLE_RECIPES: tuple[str, ...] = (
    OFFICIAL,
    "deepseek-v4-fp8",
    "deepseek-v4-official",
    "deepseek-v4-nvfp4",
    "gguf-Q8_0",
    "gguf-Q6_K",
    "gguf-Q5_K_M",
    "gguf-Q4_K_M",
    "gguf-Q3_K_M",
    "gguf-Q2_K",
    "uniform:BF16",
    "uniform:FP8_B128_UE8M0",
    "uniform:Q4_K",
    "uniform:MXFP4",
)
"""Recipes of the first-principles tables: the official layout, FP8, MXFP4 (the instruct layout)
and NVFP4 variants, llama.cpp file types, and uniform single-format ones for comparison."""

LABEL_RECIPE: dict[str, str] = {
    "FP8 / official weights": OFFICIAL,
    "Q6": "gguf-Q6_K",
    "Q5": "gguf-Q5_K_M",
    "Q4": "gguf-Q4_K_M",
    "Q3": "gguf-Q3_K_M",
    "Q2": "gguf-Q2_K",
}
"""The real file each article row label stands for: its own official checkpoint for the 8-bit
row, and the llama.cpp file type people download under that name (Q4 → Q4_K_M …)."""


DEFAULT_RUNTIME = "vllm"
"""The runtime whose overheads the first-principles columns charge (data/runtimes.yaml)."""


@dataclass(frozen=True)
class BudgetAssumptions:
    """What the first-principles VRAM columns assume (stated in every table).

    minimum_context_tokens / safer_context_tokens: KV cache sized for `batch` sequences of this
    length; runtime: whose overheads (CUDA context, non-torch memory, activation workspace — the
    one-GPU figures of data/runtimes.yaml, estimates) and memory fraction apply.
    """

    minimum_context_tokens: int = 32_768
    safer_context_tokens: int = 131_072
    batch: int = 1
    runtime: str = DEFAULT_RUNTIME

    def __post_init__(self) -> None:
        for name, top in (
            ("minimum_context_tokens", None),
            ("safer_context_tokens", None),
            ("batch", 1_000_000),
        ):
            value = require_int(name, getattr(self, name), minimum=1, maximum=top)
            object.__setattr__(self, name, value)  # stored as the int checked (1e6 → 1000000)
        get_runtime(self.runtime)
        if self.safer_context_tokens < self.minimum_context_tokens:
            raise VramkitError(
                f"safer_context_tokens ({self.safer_context_tokens:,}) must be >= "
                f"minimum_context_tokens ({self.minimum_context_tokens:,})."
            )

    @property
    def overhead_bytes(self) -> int:
        """Runtime overhead, bytes (estimate): CUDA context + non-torch + margin + workspace."""
        rt = get_runtime(self.runtime)
        return rt.overhead_bytes(split=False) + rt.workspace_bytes

    @property
    def memory_fraction(self) -> float:
        """Share of total GPU memory the runtime fills (1.0 when it has no such knob)."""
        rt = get_runtime(self.runtime)
        return rt.memory_fraction if rt.fraction_of == "total" and rt.memory_fraction else 1.0

    @property
    def overhead_label(self) -> str:
        """'2.50 GB runtime overhead (vllm, estimate), ÷ 0.92 memory fraction'."""
        label = f"{self.overhead_bytes / GB:.2f} GB runtime overhead ({self.runtime}, estimate)"
        if self.memory_fraction < 1.0:
            label += f", ÷ {self.memory_fraction:g} memory fraction"
        return label


@dataclass(frozen=True)
class NeedEstimate:
    """Memory one deployment needs, bytes: total = weights + kv + overhead, and the GPU memory
    that holds it when the runtime fills only `memory_fraction` of it: ⌈total / fraction⌉."""

    context_tokens: int
    weight_bytes: int
    kv_bytes: int
    overhead_bytes: int
    memory_fraction: float

    @property
    def total_bytes(self) -> int:
        """weights + KV + overhead, bytes."""
        return self.weight_bytes + self.kv_bytes + self.overhead_bytes

    @property
    def memory_bytes(self) -> int:
        """GPU memory needed, bytes: ⌈total_bytes / memory_fraction⌉."""
        return math.ceil(self.total_bytes / self.memory_fraction)


def kv_bytes(
    model: str | ModelSpec, context_tokens: int, batch: int = 1, runtime: str = "vllm"
) -> int:
    """KV cache bytes of `model` for `batch` sequences of `context_tokens` (`vramkit.kv`)."""
    from ..kv import kv_cache

    return int(
        kv_cache(model, context_tokens, batch=batch, runtime=runtime, tp=1, dp=1).total_bytes
    )


def need_bytes(
    model: ModelSpec, weights: WeightBytes, context_tokens: int, a: BudgetAssumptions
) -> NeedEstimate:
    """The memory `model` stored as `weights` needs at `context_tokens`: weights + KV + overhead."""
    return NeedEstimate(
        context_tokens=context_tokens,
        weight_bytes=weights.total_bytes,
        kv_bytes=kv_bytes(model, context_tokens, a.batch, a.runtime),
        overhead_bytes=a.overhead_bytes,
        memory_fraction=a.memory_fraction,
    )


def resolve_recipe(model_id: str, recipe: str | Recipe | Mapping[str, str]) -> Recipe:
    """`recipe` as a Recipe, ``official`` being the model's checkpoint layout (`get_recipe`)."""
    return get_recipe(recipe, model=model_id)


def tier_for(need: int, tiers: Sequence[int] = ARTICLE_RULE.tiers_bytes) -> int | None:
    """The smallest tier (bytes) ≥ `need` bytes, or None when `need` is above the largest tier."""
    if need < 0:
        raise VramkitError(f"need must be >= 0 bytes, got {need}.")
    return next((t for t in tiers if t >= need), None)


def fmt_tier(tier: int | None, tiers: Sequence[int] = ARTICLE_RULE.tiers_bytes) -> str:
    """'192 GB', '1.2 TB' as the article prints them; '> 2.4 TB' when above the ladder (None)."""
    if tier is None:
        return f"> {fmt_tier(tiers[-1])}"
    return f"{tier / TB:g} TB" if tier >= TB else f"{tier / GB:g} GB"


def bits_per_param(n_bytes: int, params: int) -> float:
    """Average stored bits per parameter: n_bytes × 8 / params."""
    if params <= 0:
        raise VramkitError(f"params must be > 0, got {params}.")
    return n_bytes * 8 / params


@dataclass(frozen=True)
class FirstPrinciplesRow:
    """One model × recipe: weight bytes, bits per parameter, and the VRAM tiers its budget needs.

    minimum = tier ≥ (weights + KV(minimum context) + overhead) / memory fraction;
    safer = the same at the safer context (None = above the article's ladder).
    """

    model_id: str
    recipe_id: str
    recipe_name: str
    weight_bytes: int
    params: int
    bits_per_param: float
    minimum_need: NeedEstimate
    safer_need: NeedEstimate
    minimum_tier_bytes: int | None
    safer_tier_bytes: int | None

    def row(self) -> dict[str, object]:
        """A table row: the fields, with each need as its GPU-memory bytes."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["minimum_need_bytes"] = d.pop("minimum_need").memory_bytes
        d["safer_need_bytes"] = d.pop("safer_need").memory_bytes
        return d


def first_principles_row(
    model_id: str,
    recipe: str | Recipe | Mapping[str, str],
    assumptions: BudgetAssumptions | None = None,
) -> FirstPrinciplesRow:
    """The first-principles row of `model_id` stored under `recipe` (``official``, a recipe id,
    a Recipe or a group → format mapping)."""
    a = assumptions or BudgetAssumptions()
    model = get_model(model_id)
    r = resolve_recipe(model.id, recipe)
    w = _weights(model.id, r.id) if r.kind != "custom" else weight_bytes(model, r)
    low = need_bytes(model, w, a.minimum_context_tokens, a)
    high = need_bytes(model, w, a.safer_context_tokens, a)
    return FirstPrinciplesRow(
        model_id=model.id,
        recipe_id=r.id,
        recipe_name=r.name,
        weight_bytes=w.total_bytes,
        params=w.total_params,
        bits_per_param=w.bits_per_weight,
        minimum_need=low,
        safer_need=high,
        minimum_tier_bytes=tier_for(low.memory_bytes),
        safer_tier_bytes=tier_for(high.memory_bytes),
    )


def first_principles_table(
    model_id: str,
    recipes: Sequence[str] = TABLE_RECIPES,
    assumptions: BudgetAssumptions | None = None,
) -> list[FirstPrinciplesRow]:
    """Rows for `model_id` under each recipe (``official`` = its own layout; duplicates dropped)."""
    if model_id not in V4_IDS:
        get_model(model_id)  # unknown ids raise here with nearest names
    seen: set[str] = set()
    rows = []
    for recipe in recipes:
        r = resolve_recipe(model_id, recipe)
        if r.id not in seen:
            seen.add(r.id)
            rows.append(first_principles_row(model_id, r, assumptions))
    return rows


# ── the diff with the article's variant tables ───────────────────────────────────────────────────
@dataclass(frozen=True)
class DiffRow:
    """An article row next to the real file its label stands for, with an explanation.

    article_bits_per_param = article_size_bytes × 8 / params (params: the full checkpoint's,
    MTP included, i.e. what the official size holds); kit_* come from `first_principles_row`.
    """

    variant: str
    label: str
    article_size_bytes: int
    article_bits_per_param: float
    article_minimum_bytes: int
    article_safer_bytes: int
    kit_recipe_id: str
    kit_size_bytes: int
    kit_bits_per_param: float
    kit_minimum_tier_bytes: int | None
    kit_safer_tier_bytes: int | None
    explanation: str

    @property
    def size_ratio(self) -> float:
        """kit_size_bytes / article_size_bytes (2.0 = the real file is twice the article's)."""
        return self.kit_size_bytes / self.article_size_bytes


@lru_cache(maxsize=256)
def _weights(model_id: str, recipe_id: str) -> WeightBytes:
    """weight_bytes of a catalog model under a named (non-custom) recipe, memoised."""
    return weight_bytes(get_model(model_id), recipe_id)


def _official_bits(model_id: str) -> tuple[int, int, float]:
    w = _weights(model_id, get_model(model_id).checkpoint_layout)
    return w.total_bytes, w.total_params, w.bits_per_weight


def diff_row(row: ArticleRow, assumptions: BudgetAssumptions | None = None) -> DiffRow:
    """Compare one article row with the real recipe its label names (see `LABEL_RECIPE`)."""
    if row.label not in LABEL_RECIPE:
        raise unknown_name("article row label", row.label, LABEL_RECIPE)
    a = assumptions or BudgetAssumptions()
    official_bytes, params, official_bits = _official_bits(row.variant)
    kit = first_principles_row(row.variant, LABEL_RECIPE[row.label], a)
    article_bits = bits_per_param(row.size_bytes, params)
    return DiffRow(
        variant=row.variant,
        label=row.label,
        article_size_bytes=row.size_bytes,
        article_bits_per_param=article_bits,
        article_minimum_bytes=row.minimum_bytes,
        article_safer_bytes=row.safer_bytes,
        kit_recipe_id=kit.recipe_id,
        kit_size_bytes=kit.weight_bytes,
        kit_bits_per_param=kit.bits_per_param,
        kit_minimum_tier_bytes=kit.minimum_tier_bytes,
        kit_safer_tier_bytes=kit.safer_tier_bytes,
        explanation=_explain(row, kit, official_bytes, official_bits, article_bits, a),
    )


def _explain(
    row: ArticleRow,
    kit: FirstPrinciplesRow,
    official_bytes: int,
    official_bits: float,
    article_bits: float,
    a: BudgetAssumptions,
) -> str:
    base = "Base" in get_model(row.variant).name
    tiers = (
        f"GPU memory (weights + KV + {a.overhead_label}): {kit.minimum_need.memory_bytes / GB:.1f} GB "
        f"at {a.minimum_context_tokens:,} tokens → {fmt_tier(kit.minimum_tier_bytes)}; "
        f"{kit.safer_need.memory_bytes / GB:.1f} GB at {a.safer_context_tokens:,} → "
        f"{fmt_tier(kit.safer_tier_bytes)} (article: {fmt_tier(row.minimum_bytes)} / "
        f"{fmt_tier(row.safer_bytes)})."
    )
    if row.bits == 8:
        fp8 = _weights(row.variant, "deepseek-v4-fp8").total_bytes
        if base:
            return (
                f"Right: the Base checkpoint is FP8 (block-scaled e4m3), {official_bits:.2f} bits "
                f"per parameter; kit layout {kit.weight_bytes:,} B = {kit.weight_bytes / GB:.2f} GB. "
                + tiers
            )
        return (
            f"Size right, label wrong: the official checkpoint ({kit.weight_bytes / GB:.2f} GB) "
            f"is MXFP4 routed experts + FP8 rest, {official_bits:.2f} bits per parameter, not FP8. "
            f"A real all-FP8 {get_model(row.variant).name} would be {fp8 / GB:.2f} GB. " + tiers
        )
    treat = (
        f"{official_bytes / GB:.2f} GB × {row.bits}/8 = "
        f"{article_weight_bytes(official_bytes, row.bits) / GB:.2f} GB"
    )
    if base:
        return (
            f"Roughly right in method: {treat} is {article_bits:.2f} bits per parameter, since the "
            f"Base checkpoint is FP8 ({official_bits:.2f} bits). A real {kit.recipe_id} is "
            f"{kit.bits_per_param:.2f} bpw (block scales, and the mix keeps some tensors wider): "
            f"{kit.weight_bytes / GB:.2f} GB, {100 * (kit.weight_bytes / row.size_bytes - 1):+.1f}"
            "% vs the article. " + tiers
        )
    return (
        f"Wrong base: {treat} treats the official checkpoint as 8-bit, but it is already "
        f"{official_bits:.2f} bits per parameter (MXFP4 experts), so the row means "
        f"{article_bits:.2f} bits per parameter. A real {kit.recipe_id} is "
        f"{kit.bits_per_param:.2f} bpw = {kit.weight_bytes / GB:.2f} GB, "
        f"{kit.weight_bytes / row.size_bytes:.2f}× the article's {row.size_text}. " + tiers
    )


def article_diff(assumptions: BudgetAssumptions | None = None) -> list[DiffRow]:
    """Every row of the article's four variant tables next to the real file (24 rows)."""
    return [diff_row(row, assumptions) for row in load_article_tables().rows]
