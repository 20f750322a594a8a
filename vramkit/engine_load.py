"""Weights as an engine holds them after loading, where the engine pads or repacks the checkpoint.

vLLM's MXFP4 MoE (``vllm/model_executor/layers/quantization/mxfp4.py`` @
007d50058a06dec0f82472d63c819244d460c40d, ``Mxfp4MoEMethod.create_weights``) allocates the
expert tensors of gpt-oss at padded sizes, per backend:

=====================================================  ==========================  ============
backend                                                intermediate (per rank)     hidden
=====================================================  ==========================  ============
``marlin`` (GPUs without native FP4: A100, H100 …)      round_up(I, 128)            round_up(H, 256)
``flashinfer_trtllm`` (SM100 MXFP4×MXFP8 / BF16)       round_up(I, 256)            round_up(H, 256)
``flashinfer_cutlass`` (SM100 CUTLASS, SM90 BF16)      round_up(I, 128)            round_up(H, 128)
``triton`` (the remaining CUDA path; Hopper swizzle)   round_up(I, 64)             H
=====================================================  ==========================  ============

with w13 [E, 2·I', H'/2] uint8 + scales [E, 2·I', H'/32] + bias [E, 2·I'] bf16 and w2
[E, H', I'/2] + scales [E, H', I'/32] + bias [E, H'] bf16. Everything else loads as stored.
Marlin's repack keeps these sizes; ROCm's ``get_padding_alignment`` is not modelled.

The Triton backend on Hopper then changes what stays resident
(``Mxfp4MoEMethod.process_weights_after_loading``, TRITON branch, same commit):

- the biases become FP32 (``layer.w13_bias = Parameter(layer.w13_bias.to(torch.float32))``);
- ``_swizzle_mxfp4(layer.w13_weight, layer.w13_weight_scale, num_warps)`` with ``num_warps = 8``
  returns swizzled copies; the value tensors replace the originals (``del layer.w13_weight``),
  but the swizzled *scales* go into ``self.w13_precision_config`` while ``layer.w13_weight_scale``
  and ``layer.w2_weight_scale`` are never deleted: both scale copies stay resident (later vLLM
  deletes them "to free their memory");
- the swizzled layouts (vllm/model_executor/layers/quantization/utils/mxfp4_utils.py
  @01b817dbbd2ea53707c68d39b470e65990d1e6ee: ``make_default_matmul_mxfp4_w_layout(mx_axis=1)``,
  ``make_default_matmul_mxfp4_w_scale_layout(mx_axis=1, num_warps=num_warps)`` on the
  transposed tensors) of triton_kernels' Hopper layouts: the scale rows (the output dimension)
  padded to ``SWIZZLE_ALIGN_M = 2 * num_warps * 2 * 8`` = 256
  (python/triton_kernels/triton_kernels/tensor_details/layout_details/hopper_scale.py @
  triton-lang/triton 14dd7a191e72a5003a67311f7b3cabbf09f74ba5); the value tiles of the
  tuple-API HopperMXValueLayout that vLLM of that time calls pad only to 16 rows × 32 bytes
  (a multiple for gpt-oss, so values keep their size). Newer triton_kernels pads values to
  64 × 256 (``_padded_shape``); that layout is not the one these vLLM versions call.

So per expert, Triton on Hopper holds values + stored scales + swizzled scales + FP32 biases.
Which triton_kernels revision the measured run had installed is not in its log (vLLM's docs
recommend triton v3.5.0): an estimate, −0.12 % off the published load of gpt-oss-120b.
"""

from __future__ import annotations

from .catalog import ModelSpec, get_model
from .errors import VramkitError, require_int, unknown_name
from .quant import get_recipe, weight_bytes

MXFP4_PADDING: dict[str, tuple[int, int]] = {
    "marlin": (128, 256),
    "flashinfer_trtllm": (256, 256),
    "flashinfer_cutlass": (128, 128),
    "triton": (64, 1),
}
"""vLLM MXFP4 backend → (intermediate alignment, hidden alignment) of the expert tensors."""


def _up(x: int, a: int) -> int:
    return -(-x // a) * a


def mxfp4_expert_bytes(experts: int, hidden: int, inter: int) -> int:
    """Bytes of one layer's MXFP4 experts as vLLM allocates them (hidden/inter already padded):
    E·(2I·H/2 + 2I·H/32 + 2·2I) + E·(H·I/2 + H·I/32 + 2·H)."""
    w13 = 2 * inter * (hidden // 2 + hidden // 32 + 2)
    w2 = hidden * (inter // 2 + inter // 32 + 2)
    return experts * (w13 + w2)


TRITON_HOPPER_NUM_WARPS = 8
"""``num_warps`` vLLM passes to ``_swizzle_mxfp4`` outside batched (pplx / DeepEP) MoE."""


def triton_hopper_expert_bytes(experts: int, hidden: int, inter: int) -> int:
    """Bytes one layer's MXFP4 experts hold after vLLM's Triton swizzle on Hopper (hidden/inter
    already padded by create_weights): values E·(2I·H/2 + H·I/2), the stored scales
    E·(2I·H/32 + H·I/32) kept on the layer, the swizzled scales E·(pad(2I, A)·H/32 +
    pad(H, A)·I/32) with A = 2·num_warps·2·8, and FP32 biases E·4·(2I + H)."""
    align = 2 * TRITON_HOPPER_NUM_WARPS * 2 * 8
    values = 2 * inter * (hidden // 2) + hidden * (inter // 2)
    scales = 2 * inter * (hidden // 32) + hidden * (inter // 32)
    swizzled = _up(2 * inter, align) * (hidden // 32) + _up(hidden, align) * (inter // 32)
    return experts * (values + scales + swizzled + 4 * (2 * inter + hidden))


def mxfp4_rank_layer_bytes(model: ModelSpec | str, backend: str = "marlin", tp: int = 1) -> int:
    """One MoE layer's MXFP4 experts on one tensor-parallel rank: ``Mxfp4MoEMethod.create_weights``
    receives ``intermediate_size_per_partition`` = I / tp and pads *that* (per rank), so a rank
    holds per_layer(E, round_up(H, hidden_align), round_up(I / tp, inter_align)) — at TP 2
    gpt-oss-20b's 1440-wide shard becomes 1536 under Marlin (+6.7 %), not half of 2880's padding."""
    spec = get_model(model)
    if backend not in MXFP4_PADDING:
        raise unknown_name("vLLM MXFP4 backend", backend, MXFP4_PADDING)
    cfg = spec.config
    hidden, inter = int(cfg["hidden_size"]), int(cfg["intermediate_size"])
    tp = require_int("tp", tp, minimum=1, maximum=1024)
    if inter % tp:
        raise VramkitError(
            f"{spec.id}: intermediate_size {inter} does not split evenly over tensor parallel "
            f"{tp} (vLLM shards it per rank); use a divisor of {inter}."
        )
    ia, ha = MXFP4_PADDING[backend]
    per_layer = triton_hopper_expert_bytes if backend == "triton" else mxfp4_expert_bytes
    return per_layer(int(cfg["num_local_experts"]), _up(hidden, ha), _up(inter // tp, ia))


def is_mxfp4_moe(model: ModelSpec) -> bool:
    """quantization_config quant_method mxfp4 with num_local_experts (gpt-oss)."""
    q = model.config.get("quantization_config") or {}
    return str(q.get("quant_method", "")).lower() == "mxfp4" and "num_local_experts" in model.config


def vllm_gpt_oss_loaded_bytes(model: ModelSpec | str, backend: str = "marlin", tp: int = 1) -> int:
    """Weight bytes vLLM holds for a gpt-oss checkpoint at tensor parallel 1: the stored layout
    with every expert layer re-sized by `backend`'s padding (``triton``: the Hopper swizzle's
    resident tensors, `triton_hopper_expert_bytes`). One rank at tp > 1 (its shard padded per
    rank, `mxfp4_rank_layer_bytes`) is `vramkit.vllm_memory.vllm_weight_bytes`."""
    spec = get_model(model)
    q = spec.config.get("quantization_config") or {}
    if str(q.get("quant_method", "")).lower() != "mxfp4" or "num_local_experts" not in spec.config:
        raise VramkitError(
            f"{spec.id} is not an MXFP4 MoE checkpoint (quantization_config quant_method mxfp4 "
            "with num_local_experts, as gpt-oss); vLLM's MXFP4 MoE padding applies to those only."
        )
    if backend not in MXFP4_PADDING:
        raise unknown_name("vLLM MXFP4 backend", backend, MXFP4_PADDING)
    tp = require_int("tp", tp, minimum=1, maximum=1024)
    if tp != 1:  # one rank's bytes are vramkit.vllm_memory's (it imports this module)
        raise VramkitError(
            f"this is the whole-model load at tensor parallel 1; one rank at tp={tp} (its expert "
            "shard padded per rank) is vramkit.vllm_memory.vllm_weight_bytes(model, tp=...)."
        )
    cfg = spec.config
    hidden, inter = int(cfg["hidden_size"]), int(cfg["intermediate_size"])
    experts, layers = int(cfg["num_local_experts"]), int(cfg["num_hidden_layers"])
    stored = weight_bytes(spec, get_recipe(spec.checkpoint_layout))
    routed = stored.by_group["routed_experts_gate_up"] + stored.by_group["routed_experts_down"]
    ia, ha = MXFP4_PADDING[backend]
    per_layer = triton_hopper_expert_bytes if backend == "triton" else mxfp4_expert_bytes
    padded = layers * per_layer(experts, _up(hidden, ha), _up(inter, ia))
    unpadded = layers * mxfp4_expert_bytes(experts, hidden, inter)
    if unpadded != routed:  # the stored layout must be the one vLLM loads
        raise VramkitError(
            f"{spec.id}: stored expert bytes {routed:,} differ from MXFP4 blocks + E8M0 scales + "
            f"bf16 biases ({unpadded:,}); is the checkpoint layout MXFP4?"
        )
    return stored.total_bytes - routed + padded
