"""The GGUF files the planner tries for llama.cpp runtimes (`LLAMACPP_RECIPES`, largest first)
and those smaller than a given recipe (`smaller_recipes`: what a verdict offers to try)."""

from __future__ import annotations

from ..catalog import ModelSpec
from ..errors import VramkitError

LLAMACPP_RECIPES = (
    "gguf-Q8_0", "gguf-Q6_K", "gguf-Q5_K_M", "gguf-Q4_K_M", "ds4-q4", "gguf-Q3_K_M",
    "gguf-Q2_K", "ds4-q2",
)  # fmt: skip
"""GGUF recipes the planner tries (`vramkit.plan.solver.choose_recipe`, `vramkit.plan.count`) for llama.cpp runtimes (largest file first)."""


def smaller_recipes(m: ModelSpec, recipe: object, runtime: str) -> tuple[str, ...]:
    """`LLAMACPP_RECIPES` with fewer weight bytes than `recipe`, largest first (llama.cpp
    runtimes only; () for vLLM / SGLang, which serve the official layout)."""
    from ..quant import weight_bytes
    from .placement import planner_record

    if not planner_record(runtime).capabilities.serves_gguf:
        return ()
    try:
        size = weight_bytes(m, recipe).total_bytes  # type: ignore[arg-type]
    except VramkitError:
        return ()
    out = []
    for r in LLAMACPP_RECIPES:
        try:
            b = weight_bytes(m, r).total_bytes
        except VramkitError:
            continue
        if b < size:
            out.append((b, r))
    return tuple(r for _, r in sorted(out, reverse=True))
