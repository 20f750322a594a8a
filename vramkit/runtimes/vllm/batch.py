"""vLLM with batch > 1: the admission arithmetic vLLM reports, and what B sequences hold.

Two figures, both for `batch` sequences of `context` tokens:

admission_bytes — vLLM's own per-request arithmetic, times the batch. A request is charged
``max_memory_usage_bytes`` of every cache group at max_model_len, which for a sliding-window
(type) cache is ``(cdiv(min(W − 1 + max_num_batched_tokens, max_model_len), block) + 1)`` pages
(vllm/v1/kv_cache_interface.py); ``get_max_concurrency_for_kv_cache_config`` divides the pool
by it (vllm-project/vllm@001cabc1be16a59a70d720ed61a13b678c060a18
vllm/v1/core/kv_cache_utils.py: "max_concurrency = kv_cache_config.num_blocks /
num_block_per_request") and logs "Maximum concurrency for N tokens per request". Every request
carries window pages for a whole engine step's worth of in-flight tokens.

steady_state_bytes — what B sequences physically hold while decoding: the window-type caches
free every block behind the window (SlidingWindowManager.remove_skipped_blocks,
vllm-project/vllm@002f34915134cfd1a7d6ed777edd67dcc2289466
vllm/v1/core/single_type_kv_cache_manager.py: "last_useful_token = num_computed_tokens -
self.sliding_window + 1"), so each sequence holds its full-attention pages plus a window of
W − 1 + its own new token, and the in-flight chunk (max_num_batched_tokens × concurrent
batches) belongs to the engine step, once, not to each sequence:

    steady(B) = B × per_request(in_flight = 1) + [per_request(in_flight) − per_request(1)]

vLLM enforces the pool only at run time, block by block (a request that cannot get blocks is
preempted), plus one start-up check that a single max_model_len request fits
(check_enough_kv_cache_memory). The budget for batch > 1 therefore uses steady_state_bytes and
says so; admission_bytes is what vLLM's concurrency log line and a per-request planner assume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ...kv.estimate import kv_cache


@dataclass(frozen=True)
class VllmBatchKv:
    """Both vLLM batch figures (bytes): whole batch and one GPU's share."""

    batch: int
    context_tokens: int
    admission_bytes: int
    steady_state_bytes: int
    admission_per_gpu_bytes: int
    steady_state_per_gpu_bytes: int
    in_flight_tokens: int


def vllm_batch_kv(
    model: Any, context: int, *, batch: int, runtime: Any = "vllm", tp: int = 1, dp: int = 1,
    **kw: Any,
) -> VllmBatchKv:  # fmt: skip
    """Admission (vLLM's per-request reservation × batch) and physical steady state of `batch`
    sequences of `context` tokens on a vLLM-paged runtime (see the module docstring)."""
    full = kv_cache(model, context, batch=batch, runtime=runtime, tp=tp, dp=dp, **kw)
    one = kv_cache(model, context, batch=1, runtime=runtime, tp=tp, dp=dp, **kw)
    dec = kv_cache(
        model, context, batch=1, runtime=runtime, tp=tp, dp=dp,
        max_num_batched_tokens=1, concurrent_batches=1, **kw,
    )  # fmt: skip
    rank_one = one.per_gpu_bytes
    rank_dec = dec.per_gpu_bytes
    per_rank_batch = math.ceil(batch / dp)
    o = full  # the in-flight tokens of the profile used
    from .. import get_runtime

    opts = get_runtime(runtime).kv.options
    in_flight = int(opts.get("max_num_batched_tokens", 0)) * int(opts.get("concurrent_batches", 1))
    return VllmBatchKv(
        batch=batch,
        context_tokens=o.context_tokens,
        admission_bytes=full.total_bytes,
        steady_state_bytes=batch * dec.per_sequence_bytes
        + (one.per_sequence_bytes - dec.per_sequence_bytes),
        admission_per_gpu_bytes=full.per_gpu_bytes,
        steady_state_per_gpu_bytes=per_rank_batch * rank_dec + (rank_one - rank_dec),
        in_flight_tokens=in_flight,
    )
