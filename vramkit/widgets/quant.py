"""Compose a custom recipe (a format per tensor group) and see its size and the GPU memory tier.

`describe` is the pure callback (tests call it directly); `recipe_panel` wires ipywidgets to it
with ``widgets.interactive_output`` (no blocking, safe under papermill).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..article.audit import BudgetAssumptions, first_principles_row, fmt_tier
from ..catalog import V4_IDS
from ..units import GB, GiB

PANEL_GROUPS: tuple[str, ...] = (
    "routed_experts", "shared_experts", "attention", "indexer", "compressor", "router", "embed",
    "lm_head",
)  # fmt: skip
"""Recipe selectors the panel offers (MTP tensors follow their group's choice)."""

PANEL_FORMATS: tuple[str, ...] = (
    "BF16", "FP8_B128_UE8M0", "FP8_B128_F32", "MXFP4", "NVFP4", "Q8_0", "Q6_K", "Q5_K", "Q4_K",
    "Q3_K", "Q2_K", "IQ2_XXS",
)  # fmt: skip

OFFICIAL_CHOICE: dict[str, str] = {
    "routed_experts": "MXFP4",
    "shared_experts": "FP8_B128_UE8M0",
    "attention": "FP8_B128_UE8M0",
    "indexer": "BF16",
    "compressor": "BF16",
    "router": "BF16",
    "embed": "BF16",
    "lm_head": "BF16",
}
"""The panel's starting point: close to the instruct checkpoint (data/recipes.yaml
deepseek-v4-official, except indexer.wq_b, which is FP8 there)."""


def describe(model_id: str, context_tokens: int, formats: Mapping[str, str]) -> str:
    """Text report of `model_id` stored with `formats` (group → format): weight bytes, bits per
    parameter, and the article tier ≥ (weights + KV(context) + overhead) / memory fraction."""
    a = BudgetAssumptions(
        minimum_context_tokens=context_tokens, safer_context_tokens=context_tokens
    )
    row = first_principles_row(model_id, dict(formats), a)
    n = row.minimum_need
    return (
        f"{model_id}, recipe {row.recipe_id}\n"
        f"weights: {row.weight_bytes:,} bytes = {row.weight_bytes / GB:,.2f} GB = "
        f"{row.weight_bytes / GiB:,.2f} GiB ({row.bits_per_param:.3f} bits per parameter)\n"
        f"+ KV at {context_tokens:,} tokens: {n.kv_bytes / GB:,.2f} GB\n"
        f"+ {a.overhead_label}\n"
        f"= {n.memory_bytes / GB:,.2f} GB of GPU memory → tier {fmt_tier(row.minimum_tier_bytes)}"
    )


def recipe_panel(model_id: str = V4_IDS[0], context_tokens: int = 32_768) -> Any:
    """The ipywidgets panel: model, context and one dropdown per group; output = `describe`."""
    import ipywidgets as widgets

    model = widgets.Dropdown(options=list(V4_IDS), value=model_id, description="model")
    context = widgets.IntSlider(
        value=context_tokens, min=1024, max=1_048_576, step=1024, description="context"
    )
    picks = {
        g: widgets.Dropdown(options=list(PANEL_FORMATS), value=OFFICIAL_CHOICE[g], description=g)
        for g in PANEL_GROUPS
    }

    def show(**kw: Any) -> None:
        from ..errors import VramkitError

        try:
            print(describe(kw.pop("model"), kw.pop("context"), kw))
        except VramkitError as err:
            print(f"vramkit: {err}")

    out = widgets.interactive_output(show, {"model": model, "context": context, **picks})
    controls = widgets.VBox([model, context, *picks.values()])
    return widgets.HBox([controls, out])
