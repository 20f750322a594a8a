"""The notebooks' parameters checked in one call per topic, before anything is computed: a bad
value stops the notebook with a `VramkitError` naming it and what is allowed (papermill and
Voila show that message). Each returns the values resolved (canonical ids, tokens as ints)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..article.audit import BudgetAssumptions
from ..catalog import get_model
from ..errors import VramkitError, require_int, require_number
from ..hardware import get_gpu
from ..kv import check_context
from ..kv.formats import canonical_dtype, resolve_cache_dtype
from ..moe import MAX_ZIPF_S
from ..quant import get_recipe
from ..runtimes import get_runtime


def weights_params(
    model_id: str, min_context: int, safer_context: int, runtime: str
) -> BudgetAssumptions:
    """Notebook 01: the model, both contexts (within what the model can be estimated at) and the
    runtime whose overheads apply; returns the audit's `BudgetAssumptions`."""
    spec = get_model(model_id)
    a = BudgetAssumptions(min_context, safer_context, runtime=runtime)
    check_context(spec, a.safer_context_tokens)
    return a


@dataclass(frozen=True)
class KvParams:
    """Notebook 02's parameters, resolved: catalog ids, tokens, batch, dtype and runtime ids."""

    models: tuple[str, ...]
    focus: str
    max_context: int
    batch: int
    cache_dtype: str
    runtime: str


def kv_params(
    models: Sequence[str], focus: str, max_context: int | str, batch: int, cache_dtype: str,
    runtime: str,
) -> KvParams:  # fmt: skip
    """Notebook 02: every model id, the focus model at `max_context`, the batch, a cache dtype
    the runtime offers for the focus model, and the runtime."""
    if isinstance(models, str) or not models:
        raise VramkitError("models must be a non-empty list of catalog ids.")
    ids = tuple(get_model(m).id for m in models)
    spec = get_model(focus)
    tokens, _ = check_context(spec, max_context)
    rt = get_runtime(runtime)
    canonical_dtype(cache_dtype)
    keys = spec.family_record.format_keys(spec.config)
    key = next((k for k in keys if k in rt.kv.fp8_means), keys[0])
    stored = resolve_cache_dtype(cache_dtype, rt.kv, key)
    return KvParams(
        ids, spec.id, tokens, require_int("batch", batch, minimum=1), stored.name, rt.id
    )


@dataclass(frozen=True)
class MoeParams:
    """Notebook 03's parameters, resolved."""

    model: str
    recipe: str
    batch: int
    zipf_s: float
    cached_experts: int
    gpu: str


def moe_params(
    model: str, recipe: str, batch: int, zipf_s: float, cached_experts: int, gpu: str
) -> MoeParams:
    """Notebook 03: the model, a recipe for it, the decode batch, the routing skew, the experts
    per layer kept on the GPU and the GPU."""
    spec = get_model(model)
    return MoeParams(
        spec.id,
        get_recipe(recipe, model=spec).id,
        require_int("batch", batch, minimum=1),
        require_number("zipf_s", zipf_s, minimum=0.0, maximum=MAX_ZIPF_S),
        require_int("cached_experts", cached_experts, minimum=0),
        get_gpu(gpu).id,
    )
