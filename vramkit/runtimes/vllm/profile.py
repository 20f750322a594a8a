"""vLLM's whole memory profile on one GPU (`vllm_profile`): the terms of
`vramkit.runtimes.vllm.memory` (weights as loaded, the profiling run's activation peak, non-torch
memory) against ``gpu_memory_utilization`` × the driver's total, and the KV pool that leaves
(``Available KV cache memory: X GiB``; ``Worker.determine_available_memory``,
vllm/v1/worker/gpu_worker.py, v0.19):

    available_kv = gpu_memory_utilization × total − (weights + torch peak increase + non-torch increase)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...catalog import ModelSpec, get_model
from ...errors import require_number
from .memory import (
    DEFAULT_MAX_NUM_BATCHED_TOKENS,
    DEFAULT_MAX_NUM_SEQS,
    DTYPE_BYTES,
    cuda_total_bytes,
    vllm_activation_bytes,
    vllm_non_torch_bytes,
    vllm_weight_bytes,
)


@dataclass(frozen=True)
class VllmProfile:
    """One GPU's vLLM memory profile, bytes: requested = fraction × total; non_kv = weights +
    activation + non_torch; kv_pool = requested − non_kv (the ``Available KV cache memory``)."""

    total_bytes: int
    requested_bytes: int
    weights_bytes: int
    activation_bytes: int
    non_torch_bytes: int

    @property
    def non_kv_bytes(self) -> int:
        """Weights + activation peak + non-torch increase."""
        return self.weights_bytes + self.activation_bytes + self.non_torch_bytes

    @property
    def kv_pool_bytes(self) -> int:
        """requested − non_kv (negative: vLLM refuses to start)."""
        return self.requested_bytes - self.non_kv_bytes


def vllm_profile(
    model: ModelSpec | str,
    gpu: str = "h100-sxm-80gb",
    *,
    tp: int = 1,
    pp: int = 1,
    gpu_memory_utilization: float = 0.9,
    dtype: str | None = None,
    quantization: str | None = None,
    max_num_batched_tokens: int = DEFAULT_MAX_NUM_BATCHED_TOKENS,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
) -> VllmProfile:
    """vLLM's profile on pipeline stage 0, tensor rank 0 (the rank whose lines the log prints)."""
    spec = get_model(model)
    frac = require_number(
        "gpu_memory_utilization", gpu_memory_utilization, minimum=0.01, maximum=1.0
    )
    total = cuda_total_bytes(gpu)
    return VllmProfile(
        total_bytes=total,
        requested_bytes=math.floor(total * frac),
        weights_bytes=vllm_weight_bytes(
            spec, tp=tp, pp=pp, pp_rank=0, dtype=dtype, quantization=quantization
        ),
        activation_bytes=vllm_activation_bytes(
            spec,
            tp=tp,
            last_stage=pp == 1,
            max_num_batched_tokens=max_num_batched_tokens,
            max_num_seqs=max_num_seqs,
            dtype_bytes=DTYPE_BYTES.get(dtype or "bf16", 2),
        ),
        non_torch_bytes=vllm_non_torch_bytes(tp=tp, pp=pp),
    )
