"""Parameter accounting from an architecture config: every weight tensor, by tensor group.

The types (`TensorSpec`, `ParamCounts`, `GROUPS`, `count_params`) live in `vramkit.tensors`; the
builders, one module per family, in `vramkit.families`: `deepseek_v4` (CSA/HCA compressed
attention, mHC, hash routing; shapes from DeepSeek's reference `inference/model.py`),
`deepseek_v3` (MLA; V3.2 adds the lightning indexer), `gemma4` (sliding + global attention),
`llama` (plain GQA decoders, dense or MoE), `qwen3_next`, `gpt_oss`, `glm4_moe`. This module is
the registry: `inventory(family, config)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import unknown_name
from .families.deepseek_v3 import deepseek_v3_inventory
from .families.deepseek_v4 import deepseek_v4_inventory
from .families.gemma4 import gemma4_inventory, gemma4_layer_types
from .families.glm4_moe import glm4_moe_inventory
from .families.gpt_oss import gpt_oss_inventory
from .families.llama import llama_inventory
from .families.qwen3_next import qwen3_next_inventory
from .tensors import GROUPS, KINDS, ROUTED_GROUPS, ParamCounts, TensorSpec, count_params
from .validate import check_config

__all__ = [
    "FAMILIES", "GROUPS", "KINDS", "ROUTED_GROUPS", "ParamCounts", "TensorSpec", "count_params",
    "deepseek_v3_inventory", "deepseek_v4_inventory", "gemma4_inventory", "gemma4_layer_types",
    "glm4_moe_inventory", "gpt_oss_inventory", "inventory", "llama_inventory",
    "qwen3_next_inventory",
]  # fmt: skip

FAMILIES: dict[str, Callable[[Mapping[str, Any]], tuple[TensorSpec, ...]]] = {
    "deepseek_v4": deepseek_v4_inventory,
    "deepseek_v3": deepseek_v3_inventory,
    "gemma4": gemma4_inventory,
    "llama": llama_inventory,
    "qwen3_next": qwen3_next_inventory,
    "gpt_oss": gpt_oss_inventory,
    "glm4_moe": glm4_moe_inventory,
}


def inventory(family: str, config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """The tensor inventory of an architecture `family` with `config` (config.json fields)."""
    try:
        build = FAMILIES[family]
    except KeyError:
        raise unknown_name("architecture family", family, FAMILIES) from None
    check_config(config)
    return build(config)
