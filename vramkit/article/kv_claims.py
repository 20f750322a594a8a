"""Questions answered with `vramkit.kv`: DeepSeek's "10% / 7% of V3.2's KV cache at 1M" claim,
and the context at which the KV cache outgrows the weights."""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import ModelSpec, get_model
from ..errors import require_int
from ..kv.estimate import kv_cache

CLAIM_CONTEXT = 1024**2
CLAIM = {"deepseek-v4-pro": 0.10, "deepseek-v4-flash": 0.07}
"""DeepSeek: "At 1M tokens, DeepSeek-V4-Pro requires ... 10% of KV cache compared with
DeepSeek-V3.2. V4-Flash ... 10% of the FLOPs and 7% of the KV cache" (huggingface.co/blog/deepseekv4)."""

CLAIM_PAIRS: tuple[tuple[str, tuple[str, str], tuple[str, str]], ...] = (
    ("both BF16 (vLLM blog arithmetic)", ("bf16", "bf16"), ("bf16", "bf16")),
    ("both vLLM fp8_ds_mla + FP8 indexer", ("fp8_ds_mla", "fp8"), ("fp8_ds_mla", "fp8")),
    ("V4 fp8_ds_mla + FP4 indexer vs V3.2 fp8_ds_mla + FP8", ("fp8_ds_mla", "fp4"), ("fp8_ds_mla", "fp8")),
    ("V4 as DeepSeek describes (FP8 + BF16 RoPE, FP4 indexer) vs V3.2 fp8_ds_mla + FP8", ("fp8_bf16_rope", "fp4"), ("fp8_ds_mla", "fp8")),
    ("V4 as DeepSeek describes vs V3.2 in BF16", ("fp8_bf16_rope", "fp4"), ("bf16", "bf16")),
)  # fmt: skip
"""(label, (V4 cache dtype, V4 indexer dtype), (V3.2 cache dtype, V3.2 indexer dtype))."""


@dataclass(frozen=True)
class ClaimRow:
    """One storage-format pairing: V4 KV / V3.2 KV at 1M tokens (reference layout, one sequence)."""

    label: str
    v4_cache_dtype: str
    v4_indexer_dtype: str
    v32_cache_dtype: str
    v32_indexer_dtype: str
    pro_bytes: int
    flash_bytes: int
    v32_bytes: int
    pro_ratio: float
    flash_ratio: float
    pro_holds: bool
    flash_holds: bool


def _holds(ratio: float, claim: float) -> bool:
    # a claim printed as a whole percent holds when the ratio rounds to that percent
    return round(ratio * 100) == round(claim * 100)


def claim_check(context_tokens: int = CLAIM_CONTEXT) -> list[ClaimRow]:
    """V4-Pro and V4-Flash KV over V3.2's at `context_tokens`, for several storage-format pairs.

    Notes
    -----
    ratio = kv_cache(V4, T, fmt_a).total_bytes / kv_cache(V3.2, T, fmt_b).total_bytes, reference
    layout (no paging), compressor state included, MTP excluded. DeepSeek claims 10% (Pro) and
    7% (Flash); a pairing "holds" when the ratio rounds to that whole percent.
    """
    rows = []
    for label, (v4c, v4i), (v3c, v3i) in CLAIM_PAIRS:
        # DeepSeek's claim compares at 1M, past V3.2's 163,840-token limit: a what-if by design
        v32 = kv_cache("deepseek-v3.2", context_tokens, cache_dtype=v3c, indexer_dtype=v3i,
                       allow_extrapolation=True)  # fmt: skip
        pro = kv_cache("deepseek-v4-pro", context_tokens, cache_dtype=v4c, indexer_dtype=v4i)
        flash = kv_cache("deepseek-v4-flash", context_tokens, cache_dtype=v4c, indexer_dtype=v4i)
        pr, fr = pro.total_bytes / v32.total_bytes, flash.total_bytes / v32.total_bytes
        rows.append(
            ClaimRow(
                label=label,
                v4_cache_dtype=pro.cache_dtype,
                v4_indexer_dtype=v4i,
                v32_cache_dtype=v32.cache_dtype,
                v32_indexer_dtype=v3i,
                pro_bytes=pro.total_bytes,
                flash_bytes=flash.total_bytes,
                v32_bytes=v32.total_bytes,
                pro_ratio=pr,
                flash_ratio=fr,
                pro_holds=_holds(pr, CLAIM["deepseek-v4-pro"]),
                flash_holds=_holds(fr, CLAIM["deepseek-v4-flash"]),
            )
        )
    return rows


@dataclass(frozen=True)
class Crossover:
    """The smallest context at which the KV cache of `batch` sequences reaches the weight bytes.

    context_tokens is None when it does not happen within max_context (the model's
    max_position_embeddings); kv_bytes_at_max says how far it got.
    """

    model_id: str
    batch: int
    weight_bytes: int
    recipe: str
    context_tokens: int | None
    max_context: int
    kv_bytes_at_max: int


def kv_overtakes_weights(
    model: ModelSpec | str,
    *,
    batch: int = 1,
    recipe: str | None = None,
    cache_dtype: str = "bf16",
    indexer_dtype: str | None = None,
    runtime: str = "reference",
) -> Crossover:
    """Smallest T with kv_cache(model, T, batch=batch).total_bytes >= weight bytes (binary search).

    Weights: `vramkit.quant.weight_bytes(model, recipe)` (default: the official checkpoint layout).
    KV bytes never decrease with T, so the first crossing is found by bisection over
    [0, max_position_embeddings].
    """
    from ..quant import weight_bytes

    spec = get_model(model)
    batch = require_int("batch", batch, minimum=1)
    w = weight_bytes(spec, recipe)
    max_ctx = int(spec.config["max_position_embeddings"])

    def kv(t: int) -> int:
        return kv_cache(
            spec,
            t,
            batch=batch,
            cache_dtype=cache_dtype,
            indexer_dtype=indexer_dtype,
            runtime=runtime,
        ).total_bytes

    at_max = kv(max_ctx)
    if at_max < w.total_bytes:
        return Crossover(spec.id, batch, w.total_bytes, w.recipe_id, None, max_ctx, at_max)
    lo, hi = 0, max_ctx  # kv(lo) < weights <= kv(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if kv(mid) >= w.total_bytes:
            hi = mid
        else:
            lo = mid
    return Crossover(spec.id, batch, w.total_bytes, w.recipe_id, hi, max_ctx, at_max)
