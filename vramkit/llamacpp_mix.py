"""llama.cpp's per-tensor type choice for a GGUF file type (Q2_K … Q8_0 mixes).

A file type such as Q4_K_M is not one block type: llama.cpp's ``llama_tensor_get_type``
(src/llama-quant.cpp) starts from a default type and bumps some tensors — the output head,
attn_v, ffn_down in the layers `use_more_bits` picks, attn_output of 8-expert models — and keeps
1-D tensors and the MoE router (ffn_gate_inp) in F32. This module re-implements those rules for
the K-quant and Q8_0 file types, keyed on the `gguf_class` of each `TensorSpec`.

Source: ggml-org/llama.cpp src/llama-quant.cpp at 007dbbf3fd17eefe9b47fee45f48f7ba5e62b714
(``llama_tensor_get_type_impl``, ``tensor_get_category``, ``use_more_bits``,
``llama_ftype_get_default_type``, ``tensor_allows_quantization``). Tensor classes are matched by
substring there, so DeepSeek's MLA and V4 projections (attn_q_a, attn_kv, attn_output_a/b,
compressor, indexer, hc_*) fall in "other" and get the file type's default type; only
attn_v / attn_qkv / attn_kv_b get the attn_v bumps, and the MoE bump is for exactly 8 experts.
"""

from __future__ import annotations

from .errors import unknown_name
from .tensors import TensorSpec

# ftype → the default GGML type of its matrices (llama_model_quantize_impl's switch)
FTYPE_DEFAULT: dict[str, str] = {
    "Q2_K": "Q2_K",
    "Q2_K_S": "Q2_K",
    "Q3_K_S": "Q3_K",
    "Q3_K_M": "Q3_K",
    "Q3_K_L": "Q3_K",
    "Q4_K_S": "Q4_K",
    "Q4_K_M": "Q4_K",
    "Q5_K_S": "Q5_K",
    "Q5_K_M": "Q5_K",
    "Q6_K": "Q6_K",
    "Q8_0": "Q8_0",
    "Q4_0": "Q4_0",
    "Q5_0": "Q5_0",
}


def use_more_bits(i_layer: int, n_layers: int) -> bool:
    """llama.cpp: ``i_layer < n_layers/8 || i_layer >= 7*n_layers/8 || (i_layer - n_layers/8)%3 == 2``
    (integer division, as in C)."""
    eighth = n_layers // 8
    return i_layer < eighth or i_layer >= 7 * n_layers // 8 or (i_layer - eighth) % 3 == 2


def ftype_names() -> list[str]:
    """The llama.cpp file types this module can mix."""
    return list(FTYPE_DEFAULT)


def gguf_type_for(
    t: TensorSpec, ftype: str, *, n_layers: int, n_experts: int, n_gqa: int, tied: bool = False
) -> str:
    """The GGML type llama.cpp's quantize gives tensor `t` under file type `ftype`.

    `n_layers` counts the blocks in the file (ffn_down
    and attn_v indexes run over them); `n_experts` is the routed expert count (llama.cpp bumps
    attn_v, attn_k and attn_output of models with exactly 8 experts); `n_gqa` is heads / kv_heads
    (Q2_K gives attn_v Q4_K when >= 4); `tied`: the file has no output.weight, so token_embd
    takes the output rule.
    """
    if ftype not in FTYPE_DEFAULT:
        raise unknown_name("llama.cpp file type", ftype, FTYPE_DEFAULT)
    if t.kind == "table":
        return (
            "I32"  # ffn_gate_tid2eid: "do not quantize the i32 token-id -> expert-id routing table"
        )
    if t.kind == "vector" or t.gguf_class in ("ffn_gate_inp", "ffn_gate_inp_shexp"):
        return "F32"  # 1-D tensors, *_norm and ffn_gate_inp are not quantised; converted as F32
    new = FTYPE_DEFAULT[ftype]
    cls = t.gguf_class
    i = t.layer or 0
    if cls == "output" or (cls == "token_embd" and tied):
        if t.shape[-1] % 256:
            return "Q8_0"  # "nx % qk_k != 0" → Q8_0
        return new if new == "Q8_0" else "Q6_K"
    if cls == "token_embd":
        return new
    if cls in ("attn_v", "attn_qkv", "attn_kv_b"):
        if ftype == "Q2_K":
            new = "Q4_K" if n_gqa >= 4 else "Q3_K"
        elif ftype == "Q2_K_S" and n_gqa >= 4:
            new = "Q4_K"
        elif ftype == "Q3_K_M":
            new = "Q5_K" if i < 2 else "Q4_K"
        elif ftype == "Q3_K_L":
            new = "Q5_K"
        elif ftype in ("Q4_K_M", "Q5_K_M") and use_more_bits(i, n_layers):
            new = "Q6_K"
        elif ftype == "Q4_K_S" and i < 4:
            new = "Q5_K"
        if n_experts == 8:
            new = "Q8_0"
        return new
    if cls == "attn_k" and n_experts == 8:
        return "Q8_0"
    if cls.startswith("ffn_down"):
        if ftype == "Q2_K":
            return "Q3_K"
        if ftype == "Q2_K_S":
            return "Q4_K" if i < n_layers // 8 else new
        if ftype == "Q3_K_M":
            return (
                "Q5_K" if i < n_layers // 16 else ("Q4_K" if use_more_bits(i, n_layers) else "Q3_K")
            )
        if ftype == "Q3_K_L":
            return "Q5_K"
        if ftype in ("Q4_K_M", "Q5_K_M") and use_more_bits(i, n_layers):
            return "Q6_K"
        if ftype == "Q4_K_S" and i < n_layers // 8:
            return "Q5_K"
        return new
    if cls == "attn_output":
        if n_experts == 8:
            if ftype in ("Q2_K", "Q3_K_S", "Q3_K_M", "Q4_K_S", "Q4_K_M"):
                return "Q5_K"
            return new
        if ftype == "Q2_K":
            return "Q3_K"
        if ftype == "Q3_K_M":
            return "Q4_K"
        if ftype == "Q3_K_L":
            return "Q5_K"
        return new
    return new
