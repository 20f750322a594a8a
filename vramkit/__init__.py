"""vramkit: how much GPU memory a large model really needs, and why.

The Python API, one import away (modules load on first use, so `import vramkit` stays fast)::

    import vramkit
    m = vramkit.get_model("deepseek-v4-flash")
    vramkit.weight_bytes(m).total_bytes                      # 159609485896 (bytes)
    vramkit.kv_cache(m, 1_048_576).total_bytes               # KV of one 1M-token sequence
    vramkit.budget(m, "h200-sxm-141gb", count=2).fits        # per-GPU budget under vLLM
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "get_model": "vramkit.catalog",
    "models": "vramkit.catalog",
    "weight_bytes": "vramkit.quant",
    "get_recipe": "vramkit.quant",
    "get_format": "vramkit.formats",
    "kv_cache": "vramkit.kv",
    "kv_grid": "vramkit.kv",
    "moe_split": "vramkit.moe",
    "budget": "vramkit.budget",
    "min_gpus": "vramkit.budget",
    "max_context": "vramkit.budget",
    "best_recipe": "vramkit.budget",
    "min_devices": "vramkit.plan.count",
    "model_from_config_file": "vramkit.configfile",
    "ingest": "vramkit.ingest",
    "VramkitError": "vramkit.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        module = importlib.import_module(_API[name])
        if module.__name__ == f"vramkit.{name}":
            # budget, ingest: the submodule itself, made callable (vramkit.callable_module), so
            # the name means the same before and after Python binds the submodule here
            return module
        return getattr(module, name)
    raise AttributeError(f"module 'vramkit' has no attribute {name!r}")
