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
``triton`` (the remaining CUDA path)                   round_up(I, 64)             H
=====================================================  ==========================  ============

with w13 [E, 2·I', H'/2] uint8 + scales [E, 2·I', H'/32] + bias [E, 2·I'] bf16 and w2
[E, H', I'/2] + scales [E, H', I'/32] + bias [E, H'] bf16. Everything else loads as stored.
The Triton path's later swizzle (``_swizzle_mxfp4``) and Marlin's repack keep these sizes in
vramkit's model; ROCm's ``get_padding_alignment`` is not modelled.
"""

from __future__ import annotations

from .catalog import ModelSpec, get_model
from .errors import VramkitError, unknown_name
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


def vllm_gpt_oss_loaded_bytes(model: ModelSpec | str, backend: str = "marlin", tp: int = 1) -> int:
    """Weight bytes vLLM holds for a gpt-oss checkpoint on one rank at tensor parallel 1 (the
    stored layout with every expert layer re-sized by `backend`'s padding)."""
    spec = get_model(model)
    q = spec.config.get("quantization_config") or {}
    if str(q.get("quant_method", "")).lower() != "mxfp4" or "num_local_experts" not in spec.config:
        raise VramkitError(
            f"{spec.id} is not an MXFP4 MoE checkpoint (quantization_config quant_method mxfp4 "
            "with num_local_experts, as gpt-oss); vLLM's MXFP4 MoE padding applies to those only."
        )
    if backend not in MXFP4_PADDING:
        raise unknown_name("vLLM MXFP4 backend", backend, MXFP4_PADDING)
    if tp != 1:
        raise VramkitError(
            "only tensor parallel 1 is modelled (per-rank sharding pads each shard)."
        )
    cfg = spec.config
    hidden, inter = int(cfg["hidden_size"]), int(cfg["intermediate_size"])
    experts, layers = int(cfg["num_local_experts"]), int(cfg["num_hidden_layers"])
    stored = weight_bytes(spec, get_recipe(spec.checkpoint_layout))
    routed = stored.by_group["routed_experts_gate_up"] + stored.by_group["routed_experts_down"]
    ia, ha = MXFP4_PADDING[backend]
    padded = layers * mxfp4_expert_bytes(experts, _up(hidden, ha), _up(inter, ia))
    unpadded = layers * mxfp4_expert_bytes(experts, hidden, inter)
    if unpadded != routed:  # the stored layout must be the one vLLM loads
        raise VramkitError(
            f"{spec.id}: stored expert bytes {routed:,} differ from MXFP4 blocks + E8M0 scales + "
            f"bf16 biases ({unpadded:,}); is the checkpoint layout MXFP4?"
        )
    return stored.total_bytes - routed + padded
