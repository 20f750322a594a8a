"""The kit's headline numbers as one function: weights per recipe, active-vs-resident ratio.

`headline()` is what `00_summary.ipynb`, the report's index page and the tests all read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..catalog import V4_IDS, ModelSpec, get_model
from ..errors import VramkitError, parse_int
from ..quant import Recipe, get_recipe, tensor_formats, weight_bytes
from ..units import GB, GiB, fmt_params

HEADLINE_RECIPES: tuple[str, ...] = ("official", "gguf-Q4_K_M", "gguf-Q2_K", "deepseek-v4-fp8")
"""Realistic storage recipes; ``official`` stands for each model's own checkpoint layout."""
HEADLINE_CONTEXTS: tuple[int, ...] = (131_072, 1_048_576)
"""128K and 1M tokens (K = 1024, as the model cards count context)."""
HEADLINE_GPUS: tuple[str, ...] = ("h100-sxm-80gb", "h200-sxm-141gb", "b200-180gb", "mi355x-288gb")
"""GPU catalog ids the fit table tries (see data/gpus.yaml)."""
DENSE_BASELINE = "llama-2-13b"
"""The catalog's dense model of V4-Flash's active size (13B): resident = active, every weight
read per token. The teaching picture draws it beside the MoE models (its official FP16 layout,
2 bytes a parameter, catalog layout ``bf16``)."""


@dataclass(frozen=True)
class ActiveRatio:
    """Resident bytes of a whole model vs bytes of only the parameters one token reads.

    resident_bytes: every weight of the main model stored under `recipe_id` (the MTP module is
        left out on both sides: it is loaded only for speculative decoding, as `vramkit.budget`
        assumes, and it is not part of the active count).
    active_bytes: the active parameters (main model; routed experts count `experts_per_token`
        of `count`) stored under the same recipe.
    ratio: resident_bytes / active_bytes — how many times "N B active" understates memory.
    """

    model_id: str
    recipe_id: str
    resident_bytes: int
    active_bytes: int
    main_params: int
    active_params: int

    @property
    def ratio(self) -> float:
        """N = resident_bytes / active_bytes (dimensionless)."""
        return self.resident_bytes / self.active_bytes


def _resolve_recipe(model: ModelSpec, recipe: str | Recipe | None) -> Recipe:
    return get_recipe(recipe, model=model)


def active_bytes(model: str | ModelSpec, recipe: str | Recipe | None = None) -> int:
    """Bytes of the parameters one token reads, stored under `recipe` (default: official layout).

    Formula: Σ over main-model tensors of bytes(format, shape) × n, where n = experts_per_token
    for routed-expert tensors and n = count otherwise (MTP tensors excluded, as in `active`).
    """
    model = get_model(model)
    total = 0
    for t, fmt in tensor_formats(model, _resolve_recipe(model, recipe)):
        if t.mtp:
            continue
        n = t.count if t.experts_per_token is None else t.experts_per_token
        total += n * fmt.tensor_bytes(t.shape)
    return total


def active_ratio(model: str | ModelSpec, recipe: str | Recipe | None = None) -> ActiveRatio:
    """How many times the active parameters understate resident weight memory.

    Formula: N = weight_bytes(model, recipe).main_bytes / active_bytes(model, recipe), both
    under the same recipe (default: the model's official checkpoint layout), MTP excluded.
    """
    model = get_model(model)
    r = _resolve_recipe(model, recipe)
    w = weight_bytes(model, r)
    return ActiveRatio(
        model_id=model.id,
        recipe_id=r.id,
        resident_bytes=w.main_bytes,
        active_bytes=active_bytes(model, r),
        main_params=model.params.main,
        active_params=model.params.active,
    )


@dataclass(frozen=True)
class WeightCell:
    """Weight bytes of one model under one recipe (`recipe` as asked, `recipe_id` as resolved)."""

    model_id: str
    recipe: str
    recipe_id: str
    total_bytes: int


@dataclass(frozen=True)
class KvCell:
    """KV-cache bytes of one sequence of `context` tokens (bf16 cache, reference runtime)."""

    model_id: str
    context: int
    total_bytes: int


@dataclass(frozen=True)
class FitCell:
    """Smallest count of `gpu_id` that fits the model (official layout, one sequence of
    `context` tokens, vLLM, every layout the planner searches); count None: no count in
    `budget.COUNTS` fits. headroom_bytes: free beyond the margin on the fullest GPU (None when
    nothing fits); layout: the plan's ('TP 2 × PP 4 with EP'); verdict: its headline."""

    model_id: str
    gpu_id: str
    context: int
    count: int | None
    per_gpu_bytes: int | None
    headroom_bytes: int | None = None
    layout: str = ""
    verdict: str = ""
    tight: bool = False

    @property
    def text(self) -> str:
        """'8 × (8.8 GB free)', '8 × (tight)' or '-' (nothing fits), GB = 1e9."""
        if not self.count:
            return "-"
        if self.tight:
            return f"{self.count} × (tight)"
        return f"{self.count} × ({(self.headroom_bytes or 0) / GB:,.1f} GB free)"


@dataclass(frozen=True)
class Headline:
    """The headline numbers: weight bytes per (model, recipe), KV bytes per (model, context),
    the smallest GPU sets per (model, GPU, context) and the active ratio per model."""

    model_ids: tuple[str, ...]
    recipes: tuple[str, ...]
    weights: tuple[WeightCell, ...]
    ratios: tuple[ActiveRatio, ...]
    contexts: tuple[int, ...] = ()
    kv: tuple[KvCell, ...] = ()
    gpus: tuple[str, ...] = ()
    fits: tuple[FitCell, ...] = ()

    def weight(self, model_id: str, recipe: str) -> WeightCell:
        """The cell for (model_id, recipe as asked)."""
        for c in self.weights:
            if c.model_id == model_id and c.recipe == recipe:
                return c
        raise VramkitError(f"no weight cell for model {model_id!r} and recipe {recipe!r}.")

    def ratio(self, model_id: str) -> ActiveRatio:
        """The active ratio of `model_id`."""
        for r in self.ratios:
            if r.model_id == model_id:
                return r
        raise VramkitError(f"no active ratio for model {model_id!r}; have {self.model_ids}.")

    def to_frame(self) -> Any:
        """Weights as a pandas DataFrame: one row per model, one GB column per recipe."""
        import pandas as pd

        rows = [
            {"model": c.model_id, "recipe": c.recipe, "GB": c.total_bytes / GB}
            for c in self.weights
        ]
        frame = pd.DataFrame(rows).pivot(index="model", columns="recipe", values="GB")
        return frame.loc[list(self.model_ids), list(self.recipes)]


def split_ids(kind: str, ids: str | Sequence[str]) -> tuple[str, ...]:
    """``"a, b"`` or ``["a", "b"]`` → ``("a", "b")``; refuses an empty list or a duplicate."""
    items = ids.split(",") if isinstance(ids, str) else list(ids)
    out = tuple(str(i).strip() for i in items if str(i).strip())
    if not out:
        raise VramkitError(f"{kind} list is empty, got {ids!r}; give comma-separated ids.")
    dup = sorted({i for i in out if out.count(i) > 1})
    if dup:
        raise VramkitError(f"{kind} list names {dup[0]!r} twice, got {ids!r}.")
    return out


def split_contexts(contexts: str | int | Sequence[int | str]) -> tuple[int, ...]:
    """``"131072, 1048576"`` / ``[131072]`` → whole token counts, each ≥ 1."""
    items = [contexts] if isinstance(contexts, int) else contexts
    return tuple(parse_int("context", c, minimum=1) for c in split_ids("context", items))


def headline(
    model_ids: str | Sequence[str] = V4_IDS,
    recipes: str | Sequence[str] = HEADLINE_RECIPES,
    contexts: str | int | Sequence[int | str] = HEADLINE_CONTEXTS,
    gpus: str | Sequence[str] = HEADLINE_GPUS,
) -> Headline:
    """Weight bytes of each model under each recipe, KV bytes at each context, the smallest GPU
    set per GPU type and context, and each model's active ratio (official layout).

    ``"official"`` in `recipes` means each model's own checkpoint layout; every argument takes
    a list or a comma-separated string. KV: `vramkit.kv.kv_cache` (one sequence, bf16, the
    reference runtime). Fit: `vramkit.budget.min_gpus` (official layout, vLLM; the planner's
    smallest count over every layout it searches, `vramkit.plan.count.min_devices`).
    """
    from ..budget import min_gpus
    from ..hardware import get_gpu
    from ..kv import kv_cache

    model_ids = split_ids("model", model_ids)
    recipes = split_ids("recipe", recipes)
    ctxs = split_contexts(contexts)
    gpu_ids = tuple(get_gpu(g).id for g in split_ids("GPU", gpus))
    models = [get_model(m) for m in model_ids]
    cells = []
    for m in models:
        for rec in recipes:
            r = _resolve_recipe(m, rec)
            cells.append(WeightCell(m.id, rec, r.id, weight_bytes(m, r).total_bytes))
    kv = tuple(KvCell(m.id, c, kv_cache(m, c).total_bytes) for m in models for c in ctxs)
    fits = []
    for m in models:
        for g in gpu_ids:
            for c in ctxs:
                found = min_gpus(m, g, context=c)
                b = found.budget
                v = b.verdict
                fits.append(
                    FitCell(
                        m.id, g, c, found.count, b.total_bytes if found.fits else None,
                        b.headroom_bytes if found.fits else None, b.layout,
                        v.headline if v is not None else "", bool(v is not None and v.tight),
                    )
                )  # fmt: skip
    return Headline(
        model_ids=tuple(m.id for m in models),
        recipes=tuple(recipes),
        weights=tuple(cells),
        ratios=tuple(active_ratio(m) for m in models),
        contexts=ctxs,
        kv=kv,
        gpus=gpu_ids,
        fits=tuple(fits),
    )


def dense_sentence(
    flash: ActiveRatio, dense: ActiveRatio, recipe: str | Recipe = "gguf-Q4_K_M"
) -> str:
    """The MoE model vs the dense model of its active size, in GB (1e9 bytes): each in its own
    official layout, then both under one shared `recipe` (default gguf-Q4_K_M, a recipe both
    families take), so the comparison of equal storage is stated, not implied."""
    a, d = active_ratio(flash.model_id, recipe), active_ratio(dense.model_id, recipe)
    return (
        f"{dense.model_id} (dense, {fmt_params(dense.main_params)} params) holds "
        f"{dense.resident_bytes / GB:,.1f} GB under {dense.recipe_id} "
        f"({dense.resident_bytes / dense.main_params:.0f} bytes a parameter) and reads all of it per "
        f"token; {flash.model_id} holds {flash.resident_bytes / GB:,.1f} GB under "
        f"{flash.recipe_id} to read {flash.active_bytes / GB:,.1f} GB per token. "
        f"Both under {a.recipe_id}: {a.resident_bytes / GB:,.1f} GB resident "
        f"({a.active_bytes / GB:,.1f} GB active) vs {d.resident_bytes / GB:,.1f} GB"
    )


def ratio_sentence(r: ActiveRatio) -> str:
    """One deterministic line: '<model>: N× — resident X GB vs active Y GB (…)'."""
    return (
        f"{r.model_id}: active params understate memory by {r.ratio:.1f}x — "
        f"{r.resident_bytes / GB:,.1f} GB resident ({fmt_params(r.main_params)} params) vs "
        f"{r.active_bytes / GB:,.2f} GB active ({fmt_params(r.active_params)} params), "
        f"both under {r.recipe_id}"
    )


def weight_lines(h: Headline) -> list[str]:
    """One line per (model, recipe): weight bytes in GB and GiB, and the resolved recipe id."""
    return [
        f"  {c.model_id:<24} {c.recipe:<16} {c.total_bytes / GB:>10,.1f} GB "
        f"{c.total_bytes / GiB:>10,.1f} GiB  ({c.recipe_id})"
        for c in h.weights
    ]


def headline_lines(h: Headline) -> list[str]:
    """The headline as plain, deterministic text lines (GB = 1e9 bytes, GiB = 2**30 bytes)."""
    lines = [f"Weights (GB = 1e9 bytes; GiB = 2**30 bytes), recipes: {', '.join(h.recipes)}"]
    lines.extend(weight_lines(h))
    if h.kv:
        lines.append("KV cache, one sequence (bf16 cache, reference runtime):")
        lines.extend(kv_lines(h))
    if h.fits:
        lines.append(
            "Smallest GPU sets (official layout, batch 1, vLLM; the planner's layouts; free = "
            "headroom beyond the margin on the fullest GPU):"
        )
        lines.extend(fit_lines(h))
    lines.append("Active parameters vs resident weights (official layout):")
    lines.extend(f"  {ratio_sentence(r)}" for r in h.ratios)
    return lines


def kv_lines(h: Headline) -> list[str]:
    """One line per (model, context): KV bytes in GB and GiB."""
    return [
        f"  {c.model_id:<24} {c.context:>9,} tokens {c.total_bytes / GB:>8,.2f} GB "
        f"{c.total_bytes / GiB:>8,.2f} GiB"
        for c in h.kv
    ]


def fit_lines(h: Headline) -> list[str]:
    """One line per (model, context): the smallest count of each GPU ('-' = none fits)."""
    out = []
    for m in h.model_ids:
        for ctx in h.contexts:
            cells = [c for c in h.fits if c.model_id == m and c.context == ctx]
            text = ", ".join(f"{c.text} {c.gpu_id}" for c in cells)
            out.append(f"  {m:<24} {ctx:>9,} tokens: {text}")
    return out


def _short(model_id: str) -> str:
    return model_id.removeprefix("deepseek-")


def weight_table(h: Headline) -> Any:
    """Weights as a `Table`: one row per model, one column per recipe, 'GB' (1e9 bytes)."""
    from ..textfmt import Table

    rows = [
        {"model": m, **{f"{r} (GB)": h.weight(m, r).total_bytes / GB for r in h.recipes}}
        for m in h.model_ids
    ]
    return Table(rows, caption="Weights, GB (10^9 bytes)")


def kv_table(h: Headline) -> Any:
    """KV cache of one sequence as a `Table`: one row per model, one GiB column per context."""
    from ..textfmt import Table

    rows = []
    for m in h.model_ids:
        row: dict[str, Any] = {"model": m}
        for c in h.kv:
            if c.model_id == m:
                row[f"{fmt_tokens(c.context)} tokens (GiB)"] = c.total_bytes / GiB
        rows.append(row)
    return Table(rows, caption="KV cache, one sequence, bf16, reference layout; GiB (2^30 bytes)")


def fit_table(h: Headline) -> Any:
    """Smallest GPU sets as a `Table`: one row per (model, context), one column per GPU
    ('-' = no count up to 256 fits)."""
    from ..textfmt import Table

    rows = []
    for m in h.model_ids:
        for ctx in h.contexts:
            row: dict[str, Any] = {"model": m, "context": fmt_tokens(ctx)}
            for c in h.fits:
                if c.model_id == m and c.context == ctx:
                    row[c.gpu_id] = c.text
            rows.append(row)
    return Table(
        rows,
        caption="Smallest GPU count (official layout, batch 1, vLLM; the planner's layouts) and "
        "the headroom beyond the margin on the fullest GPU (GB = 10^9 bytes)",
    )


def fmt_tokens(n: int) -> str:
    """Token counts as people write them: 131072 → '128K', 1048576 → '1M' (K = 1024), 1000 → '1,000'."""
    if n >= 2**20 and n % 2**20 == 0:
        return f"{n // 2**20:,}M"
    if n >= 2**10 and n % 2**10 == 0:
        return f"{n // 2**10:,}K"
    return f"{n:,}"
