"""Parameter accounting from an architecture config: every weight tensor, by tensor group.

The types (`TensorSpec`, `ParamCounts`, `GROUPS`, `count_params`) live in `vramkit.model.tensors`; the
builders, one module per family, in `vramkit.families`: `deepseek_v4` (CSA/HCA compressed
attention, mHC, hash routing; shapes from DeepSeek's reference `inference/model.py`),
`deepseek_v3` (MLA; V3.2 adds the lightning indexer), `gemma4` (sliding + global attention),
`llama` (plain GQA decoders, dense or MoE), `qwen3_next`, `gpt_oss`, `glm4_moe`. This module is
a thin front of the registry `vramkit.families`: `inventory(family, config)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..families import FAMILIES, check_config, get_family
from .tensors import GROUPS, KINDS, ROUTED_GROUPS, ParamCounts, TensorSpec, count_params

__all__ = [
    "FAMILIES", "GROUPS", "KINDS", "ROUTED_GROUPS", "ParamCounts", "TensorSpec", "count_params",
    "inventory",
]  # fmt: skip


def inventory(family: str, config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
    """The tensor inventory of an architecture `family` with `config` (config.json fields)."""
    fam = get_family(family)
    check_config(config)
    return fam.inventory(config)
