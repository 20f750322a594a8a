"""Every rule of llama.cpp's ``llama_tensor_get_type`` (src/llama-quant.cpp at the pinned commit
0c1e57098bba43ac29e6e3b677cdceebdd22334f, llama.cpp b11312 as vendored in llama-cpp-python 0.3.36),
one row per branch, named by its source line; expected types read off the C++ source."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.runtimes.llamacpp.mix import (
    GgufTensor,
    ModelFacts,
    category,
    fallback,
    target_types,
    use_more_bits,
)

N = 16  # layers of the synthetic models: n/8 = 2, n/16 = 1, 7n/8 = 14
DIM, FF = 4096, 11264  # rows divisible by 256


def dense(*, n_layer: int = N, tied: bool = False, attn_layers=None, qkv: bool = False):
    """A llama-like model: separate q/k/v (or fused qkv), SwiGLU MLP, norms."""
    out = [GgufTensor("token_embd.weight", (DIM, 32000), "BF16")]
    if not tied:
        out.append(GgufTensor("output.weight", (DIM, 32000), "BF16"))
    out.append(GgufTensor("output_norm.weight", (DIM,), "F32"))
    for i in range(n_layer):
        b = f"blk.{i}."
        out.append(GgufTensor(b + "attn_norm.weight", (DIM,), "F32"))
        if attn_layers is None or i in attn_layers:
            if qkv:
                out.append(GgufTensor(b + "attn_qkv.weight", (DIM, 3 * DIM), "BF16"))
            else:
                for n, rows in (("attn_q", DIM), ("attn_k", 1024), ("attn_v", 1024)):
                    out.append(GgufTensor(b + n + ".weight", (DIM, rows), "BF16"))
            out.append(GgufTensor(b + "attn_output.weight", (DIM, DIM), "BF16"))
        for n, ne in (("ffn_gate", (DIM, FF)), ("ffn_up", (DIM, FF)), ("ffn_down", (FF, DIM))):
            out.append(GgufTensor(b + n + ".weight", ne, "BF16"))
    return out


def moe(*, n_layer: int = N, n_expert: int = 8, shared: bool = False):
    """A Mixtral/DeepSeek-like model: GQA attention, router, stacked experts (+ shared expert)."""
    out = [
        GgufTensor("token_embd.weight", (DIM, 32000), "BF16"),
        GgufTensor("output.weight", (DIM, 32000), "BF16"),
    ]
    for i in range(n_layer):
        b = f"blk.{i}."
        for n, rows in (("attn_q", DIM), ("attn_k", 1024), ("attn_v", 1024), ("attn_output", DIM)):
            out.append(GgufTensor(b + n + ".weight", (DIM, rows), "BF16"))
        out.append(GgufTensor(b + "ffn_gate_inp.weight", (DIM, n_expert), "F32"))
        for n, ne in (("gate", (DIM, 1024)), ("up", (DIM, 1024)), ("down", (1024, DIM))):
            out.append(GgufTensor(b + f"ffn_{n}_exps.weight", (*ne, n_expert), "BF16"))
            if shared:
                out.append(GgufTensor(b + f"ffn_{n}_shexp.weight", ne, "BF16"))
    return out


LLAMA = ModelFacts("llama", N, n_expert=0, n_gqa=4)
LLAMA_MHA = ModelFacts("llama", N, n_expert=0, n_gqa=1)
FALCON = ModelFacts("falcon", N, n_expert=0, n_gqa=4)
LLAMA_70B = ModelFacts("llama", N, n_expert=0, n_gqa=4, is_70b=True)
MIXTRAL = ModelFacts("llama", N, n_expert=8, n_gqa=4)
MOE4 = ModelFacts("qwen3moe", N, n_expert=4, n_gqa=1)
MOE128 = ModelFacts("qwen3moe", N, n_expert=128, n_gqa=1)


def typ(tensors, ftype, facts, name, imatrix=False):
    types = target_types(tensors, ftype, facts, imatrix=imatrix)
    return dict(zip((t.name for t in tensors), types, strict=True))[name]


# (source line, file type, model, facts, tensor, imatrix, expected)
D, DM, QKV, T = dense(), dense(), dense(qkv=True), dense(tied=True)
M8, M4S, M128S = moe(), moe(n_expert=4, shared=True), moe(n_expert=128, shared=True)
ROWS = [
    # output head / tied embedding (L490-511)
    ("L509 output → Q6_K", "Q4_K_M", D, LLAMA, "output.weight", False, "Q6_K"),
    ("L508 output stays Q8_0", "Q8_0", D, LLAMA, "output.weight", False, "Q8_0"),
    ("L497 MXFP4_MOE output → Q8_0", "MXFP4_MOE", M8, MIXTRAL, "output.weight", False, "Q8_0"),
    ("L500 Falcon output → Q8_0", "Q4_K_M", D, FALCON, "output.weight", False, "Q8_0"),
    ("L503 IQ2_XXS output → Q5_K", "IQ2_XXS", D, LLAMA, "output.weight", True, "Q5_K"),
    ("L503 IQ1_M output → Q5_K", "IQ1_M", D, LLAMA, "output.weight", True, "Q5_K"),
    ("L509 Q4_0 output → Q6_K", "Q4_0", D, LLAMA, "output.weight", False, "Q6_K"),
    ("L490 tied token_embd → Q6_K", "Q4_K_M", T, LLAMA, "token_embd.weight", False, "Q6_K"),
    ("L525 untied token_embd default", "Q4_K_M", D, LLAMA, "token_embd.weight", False, "Q4_K"),
    # MXFP4_MOE (L512-524)
    ("L521 MXFP4_MOE experts → MXFP4", "MXFP4_MOE", M8, MIXTRAL, "blk.3.ffn_up_exps.weight", False, "MXFP4"),
    ("L523 MXFP4_MOE 2-D → Q8_0", "MXFP4_MOE", M8, MIXTRAL, "blk.3.attn_q.weight", False, "Q8_0"),
    ("L523 MXFP4_MOE token_embd → Q8_0", "MXFP4_MOE", M8, MIXTRAL, "token_embd.weight", False, "Q8_0"),
    # token embedding (L525-542)
    ("L531 IQ2_XXS token_embd → Q2_K", "IQ2_XXS", D, LLAMA, "token_embd.weight", True, "Q2_K"),
    ("L531 IQ1_S token_embd → Q2_K", "IQ1_S", D, LLAMA, "token_embd.weight", True, "Q2_K"),
    ("L534 IQ2_M token_embd → IQ3_S", "IQ2_M", D, LLAMA, "token_embd.weight", True, "IQ3_S"),
    ("L537 IQ3_XXS token_embd → IQ3_S", "IQ3_XXS", D, LLAMA, "token_embd.weight", True, "IQ3_S"),
    ("L540 TQ1_0 token_embd → Q4_K", "TQ1_0", D, LLAMA, "token_embd.weight", False, "Q4_K"),
    ("L540 TQ2_0 token_embd → Q4_K", "TQ2_0", D, LLAMA, "token_embd.weight", False, "Q4_K"),
    # IQ1/IQ2 branch (L543-566)
    ("L546 IQ2_XXS attn_v, gqa>=4 → Q4_K", "IQ2_XXS", D, LLAMA, "blk.5.attn_v.weight", True, "Q4_K"),
    ("L546 IQ2_XS attn_v, 4 experts → Q4_K", "IQ2_XS", M4S, MOE4, "blk.5.attn_v.weight", True, "Q4_K"),
    ("L547 IQ2_XXS attn_v, MHA → Q2_K", "IQ2_XXS", D, LLAMA_MHA, "blk.5.attn_v.weight", True, "Q2_K"),
    ("L547 IQ2_S attn_v, MHA → IQ3_S", "IQ2_S", D, LLAMA_MHA, "blk.5.attn_v.weight", True, "IQ3_S"),
    ("L551 IQ2_XXS attn_k, 8 experts → Q4_K", "IQ2_XXS", M8, MIXTRAL, "blk.5.attn_k.weight", True, "Q4_K"),
    ("L555 IQ2_XXS first ffn_down → Q2_K", "IQ2_XXS", D, LLAMA, "blk.1.ffn_down.weight", True, "Q2_K"),
    ("L554 IQ2_XXS later ffn_down default", "IQ2_XXS", D, LLAMA, "blk.2.ffn_down.weight", True, "IQ2_XXS"),
    ("L555 IQ2_M first ffn_down → IQ3_S", "IQ2_M", D, LLAMA, "blk.0.ffn_down.weight", True, "IQ3_S"),
    ("L561 IQ2_XXS attn_output, 8 experts → Q5_K", "IQ2_XXS", M8, MIXTRAL, "blk.9.attn_output.weight", True, "Q5_K"),
    ("L563 IQ1_S attn_output → IQ2_XXS", "IQ1_S", D, LLAMA, "blk.9.attn_output.weight", True, "IQ2_XXS"),
    ("L564 IQ2_S attn_output → IQ3_S", "IQ2_S", D, LLAMA, "blk.9.attn_output.weight", True, "IQ3_S"),
    ("L543 IQ2_XXS ffn_up default", "IQ2_XXS", D, LLAMA, "blk.9.ffn_up.weight", True, "IQ2_XXS"),
    ("L543 IQ2_M default type IQ2_S", "IQ2_M", D, LLAMA, "blk.9.attn_q.weight", True, "IQ2_S"),
    ("L543 IQ2_S default type IQ2_XS", "IQ2_S", D, LLAMA, "blk.9.attn_q.weight", True, "IQ2_XS"),
    # attn_v, attn_qkv, attn_kv_b (L567-604)
    ("L569 Q2_K attn_v, gqa>=4 → Q4_K", "Q2_K", D, LLAMA, "blk.5.attn_v.weight", False, "Q4_K"),
    ("L569 Q2_K attn_v, MHA → Q3_K", "Q2_K", D, LLAMA_MHA, "blk.5.attn_v.weight", False, "Q3_K"),
    ("L572 Q2_K_S attn_v, gqa>=4 → Q4_K", "Q2_K_S", D, LLAMA, "blk.5.attn_v.weight", True, "Q4_K"),
    ("L571 Q2_K_S attn_v, MHA default", "Q2_K_S", D, LLAMA_MHA, "blk.5.attn_v.weight", True, "Q2_K"),
    ("L575 IQ3_XXS attn_v, gqa>=4 → Q4_K", "IQ3_XXS", D, LLAMA, "blk.5.attn_v.weight", True, "Q4_K"),
    ("L575 IQ3_XXS attn_v, MHA, no imatrix → IQ3_S", "IQ3_XXS", D, LLAMA_MHA, "blk.5.attn_v.weight", False, "IQ3_S"),
    ("L575 IQ3_XXS attn_v, MHA, imatrix → IQ3_XXS", "IQ3_XXS", D, LLAMA_MHA, "blk.5.attn_v.weight", True, "IQ3_XXS"),
    ("L578 IQ3_XS attn_v, gqa>=4 → Q4_K", "IQ3_XS", D, LLAMA, "blk.5.attn_v.weight", True, "Q4_K"),
    ("L578 IQ3_S attn_v, gqa>=4 → Q4_K", "IQ3_S", D, LLAMA, "blk.5.attn_v.weight", False, "Q4_K"),
    ("L577 IQ3_S attn_v, MHA default", "IQ3_S", D, LLAMA_MHA, "blk.5.attn_v.weight", False, "IQ3_S"),
    ("L581 IQ3_M attn_v → Q4_K", "IQ3_M", D, LLAMA_MHA, "blk.5.attn_v.weight", False, "Q4_K"),
    ("L584 Q3_K_M attn_v, counter 1 → Q5_K", "Q3_K_M", D, LLAMA, "blk.1.attn_v.weight", False, "Q5_K"),
    ("L584 Q3_K_M attn_v, counter 2 → Q4_K", "Q3_K_M", D, LLAMA, "blk.2.attn_v.weight", False, "Q4_K"),
    ("L586 Q3_K_L attn_v → Q5_K", "Q3_K_L", D, LLAMA, "blk.9.attn_v.weight", False, "Q5_K"),
    ("L588 IQ4_NL attn_v, gqa>=4 → Q5_K", "IQ4_NL", D, LLAMA, "blk.9.attn_v.weight", False, "Q5_K"),
    ("L588 IQ4_XS attn_v, gqa>=4 → Q5_K", "IQ4_XS", D, LLAMA, "blk.9.attn_v.weight", False, "Q5_K"),
    ("L587 IQ4_XS attn_v, MHA default", "IQ4_XS", D, LLAMA_MHA, "blk.9.attn_v.weight", False, "IQ4_XS"),
    ("L591 Q4_K_M attn_v, use_more_bits → Q6_K", "Q4_K_M", D, LLAMA, "blk.4.attn_v.weight", False, "Q6_K"),
    ("L590 Q4_K_M attn_v, other layer → Q4_K", "Q4_K_M", D, LLAMA, "blk.5.attn_v.weight", False, "Q4_K"),
    ("L591 Q5_K_M attn_v, use_more_bits → Q6_K", "Q5_K_M", D, LLAMA, "blk.15.attn_v.weight", False, "Q6_K"),
    ("L592 Q4_K_S attn_v, counter 3 → Q5_K", "Q4_K_S", D, LLAMA, "blk.3.attn_v.weight", False, "Q5_K"),
    ("L592 Q4_K_S attn_v, counter 4 → Q4_K", "Q4_K_S", D, LLAMA, "blk.4.attn_v.weight", False, "Q4_K"),
    ("L597 70B: Q4_K attn_v → Q5_K", "Q4_K_M", D, LLAMA_70B, "blk.5.attn_v.weight", False, "Q5_K"),
    ("L597 70B: Q3_K attn_v → Q5_K", "Q3_K_S", D, LLAMA_70B, "blk.5.attn_v.weight", False, "Q5_K"),
    ("L597 70B: Q6_K attn_v kept", "Q4_K_M", D, LLAMA_70B, "blk.4.attn_v.weight", False, "Q6_K"),
    ("L602 8 experts: attn_v → Q8_0", "Q4_K_M", M8, MIXTRAL, "blk.5.attn_v.weight", False, "Q8_0"),
    ("L591 attn_qkv takes the attn_v rules", "Q4_K_M", QKV, LLAMA, "blk.4.attn_qkv.weight", False, "Q6_K"),
    ("L689 attn_qkv branch never reached", "Q4_K_M", QKV, LLAMA, "blk.5.attn_qkv.weight", False, "Q4_K"),
    # attn_k, attn_q (L605-623)
    ("L609 8 experts: attn_k → Q8_0", "Q4_K_M", M8, MIXTRAL, "blk.5.attn_k.weight", False, "Q8_0"),
    ("L612 IQ3_XS attn_k → IQ3_XXS", "IQ3_XS", D, LLAMA, "blk.5.attn_k.weight", True, "IQ3_XXS"),
    ("L615 IQ3_XXS attn_k → IQ2_S", "IQ3_XXS", D, LLAMA, "blk.5.attn_k.weight", True, "IQ2_S"),
    ("L605 Q4_K_M attn_k default", "Q4_K_M", D, LLAMA, "blk.5.attn_k.weight", False, "Q4_K"),
    ("L619 IQ3_XS attn_q → IQ3_XXS", "IQ3_XS", D, LLAMA, "blk.5.attn_q.weight", True, "IQ3_XXS"),
    ("L622 IQ3_XXS attn_q → IQ2_S", "IQ3_XXS", D, LLAMA, "blk.5.attn_q.weight", True, "IQ2_S"),
    # ffn_down (L624-668)
    ("L627 Q2_K ffn_down → Q3_K", "Q2_K", D, LLAMA, "blk.9.ffn_down.weight", False, "Q3_K"),
    ("L629 Q2_K_S first ffn_down → Q4_K", "Q2_K_S", D, LLAMA, "blk.1.ffn_down.weight", True, "Q4_K"),
    ("L628 Q2_K_S later ffn_down default", "Q2_K_S", D, LLAMA, "blk.2.ffn_down.weight", True, "Q2_K"),
    ("L632 IQ3_XXS no imatrix first → Q4_K", "IQ3_XXS", D, LLAMA, "blk.0.ffn_down.weight", False, "Q4_K"),
    ("L632 IQ3_XXS no imatrix later → Q3_K", "IQ3_XXS", D, LLAMA, "blk.9.ffn_down.weight", False, "Q3_K"),
    ("L631 IQ3_XXS imatrix default", "IQ3_XXS", D, LLAMA, "blk.9.ffn_down.weight", True, "IQ3_XXS"),
    ("L635 Q3_K_M first 1/16 → Q5_K", "Q3_K_M", D, LLAMA, "blk.0.ffn_down.weight", False, "Q5_K"),
    ("L636 Q3_K_M non-Falcon → Q4_K (the fixed bug)", "Q3_K_M", D, LLAMA, "blk.5.ffn_down.weight", False, "Q4_K"),
    ("L636 Q3_K_M Falcon, use_more_bits → Q4_K", "Q3_K_M", D, FALCON, "blk.4.ffn_down.weight", False, "Q4_K"),
    ("L637 Q3_K_M Falcon, other → Q3_K", "Q3_K_M", D, FALCON, "blk.5.ffn_down.weight", False, "Q3_K"),
    ("L641 IQ3_M first 1/8 → Q4_K", "IQ3_M", D, LLAMA, "blk.1.ffn_down.weight", False, "Q4_K"),
    ("L640 IQ3_M 8 experts, use_more_bits → Q4_K", "IQ3_M", M8, MIXTRAL, "blk.4.ffn_down_exps.weight", False, "Q4_K"),
    ("L639 IQ3_M other default", "IQ3_M", D, LLAMA, "blk.4.ffn_down.weight", False, "IQ3_S"),
    ("L644 Q3_K_L ffn_down → Q5_K", "Q3_K_L", D, LLAMA, "blk.5.ffn_down.weight", False, "Q5_K"),
    ("L644 Q3_K_L Falcon ffn_down → Q4_K", "Q3_K_L", D, FALCON, "blk.5.ffn_down.weight", False, "Q4_K"),
    ("L651 Q4_K_M use_more_bits → Q6_K", "Q4_K_M", D, LLAMA, "blk.7.ffn_down.weight", False, "Q6_K"),
    ("L651 Q4_K_M other → Q4_K", "Q4_K_M", D, LLAMA, "blk.6.ffn_down.weight", False, "Q4_K"),
    ("L648 Q4_K_M Falcon first 1/16 → Q6_K", "Q4_K_M", D, FALCON, "blk.0.ffn_down.weight", False, "Q6_K"),
    ("L649 Q4_K_M Falcon use_more_bits → Q5_K", "Q4_K_M", D, FALCON, "blk.1.ffn_down.weight", False, "Q5_K"),
    ("L649 Q4_K_M Falcon other → Q4_K", "Q4_K_M", D, FALCON, "blk.5.ffn_down.weight", False, "Q4_K"),
    ("L655 IQ4_NL no imatrix first 1/8 → Q5_K", "IQ4_NL", D, LLAMA, "blk.1.ffn_down.weight", False, "Q5_K"),
    ("L655 IQ4_XS no imatrix first 1/8 → Q5_K", "IQ4_XS", D, LLAMA, "blk.0.ffn_down.weight", False, "Q5_K"),
    ("L654 IQ4_XS imatrix default", "IQ4_XS", D, LLAMA, "blk.0.ffn_down.weight", True, "IQ4_XS"),
    ("L657 Q5_K_M use_more_bits → Q6_K", "Q5_K_M", D, LLAMA, "blk.14.ffn_down.weight", False, "Q6_K"),
    ("L657 Q5_K_M other default", "Q5_K_M", D, LLAMA, "blk.6.ffn_down.weight", False, "Q5_K"),
    ("L659 Q4_K_S first 1/8 → Q5_K", "Q4_K_S", D, LLAMA, "blk.1.ffn_down.weight", False, "Q5_K"),
    ("L658 Q4_K_S Falcon first 1/8 default", "Q4_K_S", D, FALCON, "blk.1.ffn_down.weight", False, "Q4_K"),
    ("L666 Q4_0 imatrix first 1/8 → Q4_1", "Q4_0", D, LLAMA, "blk.1.ffn_down.weight", True, "Q4_1"),
    ("L666 Q5_0 imatrix first 1/8 → Q5_1", "Q5_0", D, LLAMA, "blk.0.ffn_down.weight", True, "Q5_1"),
    ("L661 Q4_0 no imatrix default", "Q4_0", D, LLAMA, "blk.1.ffn_down.weight", False, "Q4_0"),
    ("L626 MoE: layer from the name (shexp of blk.1)", "Q2_K_S", M128S, MOE128, "blk.1.ffn_down_shexp.weight", True, "Q4_K"),
    # attn_output (L669-688)
    ("L676 8 experts Q4_K_M attn_output → Q5_K", "Q4_K_M", M8, MIXTRAL, "blk.5.attn_output.weight", False, "Q5_K"),
    ("L676 8 experts IQ4_XS attn_output → Q5_K", "IQ4_XS", M8, MIXTRAL, "blk.5.attn_output.weight", False, "Q5_K"),
    ("L672 8 experts Q5_K_M attn_output default", "Q5_K_M", M8, MIXTRAL, "blk.5.attn_output.weight", False, "Q5_K"),
    ("L679 Q2_K attn_output → Q3_K", "Q2_K", D, LLAMA, "blk.5.attn_output.weight", False, "Q3_K"),
    ("L680 IQ3_XXS attn_output → IQ3_S", "IQ3_XXS", D, LLAMA, "blk.5.attn_output.weight", True, "IQ3_S"),
    ("L681 Q3_K_M attn_output → Q4_K", "Q3_K_M", D, LLAMA, "blk.5.attn_output.weight", False, "Q4_K"),
    ("L682 Q3_K_L attn_output → Q5_K", "Q3_K_L", D, LLAMA, "blk.5.attn_output.weight", False, "Q5_K"),
    ("L683 IQ3_M attn_output → Q4_K", "IQ3_M", D, LLAMA, "blk.5.attn_output.weight", False, "Q4_K"),
    ("L686 Falcon Q3_K_L attn_output → Q4_K", "Q3_K_L", D, FALCON, "blk.5.attn_output.weight", False, "Q4_K"),
    ("L686 Falcon Q3_K_M attn_output default", "Q3_K_M", D, FALCON, "blk.5.attn_output.weight", False, "Q3_K"),
    # ffn_gate / ffn_up (L696-711)
    ("L700 IQ3_XS middle ffn_gate → IQ3_XXS", "IQ3_XS", D, LLAMA, "blk.5.ffn_gate.weight", True, "IQ3_XXS"),
    ("L699 IQ3_XS first ffn_gate default", "IQ3_XS", D, LLAMA, "blk.1.ffn_gate.weight", True, "IQ3_S"),
    ("L708 IQ3_XS middle ffn_up → IQ3_XXS", "IQ3_XS", D, LLAMA, "blk.13.ffn_up.weight", True, "IQ3_XXS"),
    ("L707 IQ3_XS last ffn_up default", "IQ3_XS", D, LLAMA, "blk.14.ffn_up.weight", True, "IQ3_S"),
    # default types (L881-923)
    ("L889 Q1_0 default", "Q1_0", D, LLAMA, "blk.5.attn_q.weight", False, "Q1_0"),
    ("L886 Q5_1 default", "Q5_1", D, LLAMA, "blk.5.ffn_down.weight", False, "Q5_1"),
    ("L893 MXFP4_MOE default on 3-D", "MXFP4_MOE", M8, MIXTRAL, "blk.5.ffn_down_exps.weight", False, "MXFP4"),
    ("L908 TQ2_0 default", "TQ2_0", D, LLAMA, "blk.5.attn_q.weight", False, "TQ2_0"),
    ("L919 IQ3_M default IQ3_S", "IQ3_M", D, LLAMA, "blk.5.attn_q.weight", False, "IQ3_S"),
    ("L887 F16 file: no mix, output F16", "F16", D, LLAMA, "output.weight", False, "F16"),
    ("L745 BF16 file: no mix on attn_v", "BF16", D, LLAMA, "blk.4.attn_v.weight", False, "BF16"),
    ("L289 COPY keeps the source type", "COPY", D, LLAMA, "blk.4.attn_v.weight", False, "BF16"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("ftype", "tensors", "facts", "name", "imatrix", "expected"),
    [r[1:] for r in ROWS],
    ids=[r[0] for r in ROWS],
)
def test_rule(ftype, tensors, facts, name, imatrix, expected):
    assert typ(tensors, ftype, facts, name, imatrix) == expected


def test_counters_follow_llama_cpp_tensor_order():
    # attn_v counter (L584): attention only on layers 3, 7, 11, 15 (a Qwen3-Next-like hybrid):
    # llama.cpp counts attn_v tensors, so the first two it meets (blk.3, blk.7) get Q5_K
    hybrid = dense(attn_layers={3, 7, 11, 15})
    types = dict(zip((t.name for t in hybrid), target_types(hybrid, "Q3_K_M", LLAMA), strict=True))
    assert [types[f"blk.{i}.attn_v.weight"] for i in (3, 7, 11)] == ["Q5_K", "Q5_K", "Q4_K"]
    # order is (layer, name), not file order: blk.10 comes after blk.9 (weight_name_comparer)
    shuffled = list(reversed(dense()))
    t2 = dict(zip((t.name for t in shuffled), target_types(shuffled, "Q4_K_S", LLAMA), strict=True))
    assert [t2[f"blk.{i}.attn_v.weight"] for i in (3, 4, 10)] == ["Q5_K", "Q4_K", "Q4_K"]
    # IQ2 ffn_down counter (L554) counts every ffn_down* tensor, shared experts included: with
    # 16 layers, n/8 = 2 tensors → blk.0's ffn_down_exps and ffn_down_shexp only
    t3 = dict(zip((t.name for t in M4S), target_types(M4S, "IQ2_XXS", MOE4), strict=True))
    assert t3["blk.0.ffn_down_exps.weight"] == t3["blk.0.ffn_down_shexp.weight"] == "Q2_K"
    assert t3["blk.1.ffn_down_exps.weight"] == "IQ2_XXS"


def test_tensors_llama_cpp_does_not_quantize_keep_their_source_type():
    # tensor_allows_quantization (L287-385)
    t = [
        GgufTensor("output.weight", (DIM, 32000), "BF16"),
        GgufTensor("blk.0.attn_norm.weight", (DIM,), "F32"),  # 1-D
        GgufTensor("blk.0.ffn_gate_inp.weight", (DIM, 256), "BF16"),  # router (L306)
        GgufTensor("blk.0.ffn_gate_tid2eid.weight", (6, 129280), "I32"),  # V4 hash table (L309)
        GgufTensor("blk.0.hc_attn_fn.weight", (16384, 24), "F32"),  # V4: quantized
        GgufTensor("blk.0.attn_compressor_ape.weight", (1024, 4), "F32"),  # V4: quantized
        GgufTensor("blk.0.ssm_conv1d.weight", (4, 8192), "F32"),  # (L323)
        GgufTensor("blk.0.exp_probs_b.bias", (256,), "F32"),  # not a "weight"
    ]
    v4 = ModelFacts("deepseek4", 1, n_expert=256, n_gqa=64)
    got = target_types(t, "Q8_0", v4)
    assert got == ["Q8_0", "F32", "BF16", "I32", "Q8_0", "Q8_0", "F32", "F32"]
    # GLM5-NEXT leaves its hc_ tensors alone (L331-333)
    glm = ModelFacts("glm5-next", 1)
    assert target_types(t[4:5], "Q8_0", glm) == ["F32"]


def test_glm5_next_keeps_q_projections_at_q8_0_or_better():
    t = [GgufTensor("blk.0.attn_q_a.weight", (DIM, 1024), "BF16")]
    assert target_types(t, "Q4_K_M", ModelFacts("glm5-next", 1)) == ["Q8_0"]  # L473-486
    assert target_types(t, "Q4_K_M", ModelFacts("llama", 1)) == ["Q4_K"]


def test_row_fallback():
    # tensor_type_fallback (L390-441): 256-block types fall back to a 32-block type, then F16
    assert fallback("Q4_K", 4000) == "Q5_0"  # L409
    assert fallback("Q5_K", 4000) == "Q5_1"  # L410
    assert fallback("Q6_K", 4000) == "Q8_0"  # L411
    assert fallback("Q2_K", 4000) == fallback("Q3_K", 4000) == fallback("TQ1_0", 4000) == "Q4_0"
    assert fallback("IQ2_XXS", 4000) == fallback("IQ4_XS", 4000) == "IQ4_NL"  # L401
    assert fallback("Q4_K", 100) == "F16"  # the fallback does not fit either (L414-427)
    assert fallback("Q8_0", 100) == "F16"  # 32-block type: straight to F16 (L418-423)
    assert fallback("Q4_K", 4096) == "Q4_K"
    with pytest.raises(VramkitError, match="no tensor type fallback"):
        fallback("Q1_0", 4000)  # 128-block type, no fallback defined (L424)


def test_output_falls_back_when_rows_do_not_fill_blocks():
    # L500: nx % qk_k of the default type → Q8_0 (Gemma-like hidden size 2816 = 11 × 256 fits;
    # 2880 = gpt-oss does not fill 256-blocks)
    t = [GgufTensor("output.weight", (2880, 201088), "BF16")]
    assert target_types(t, "Q4_K_M", LLAMA) == ["Q8_0"]


def test_imatrix_defaults_to_what_the_file_type_needs():
    # llama-quantize refuses IQ3_XXS without an imatrix (tensor_requires_imatrix L856): a real
    # IQ3_XXS file has one, so its mix is the imatrix mix; Q4_K_M never needs one
    assert target_types(D, "IQ3_XXS", LLAMA_MHA) == target_types(
        D, "IQ3_XXS", LLAMA_MHA, imatrix=True
    )
    assert target_types(D, "Q4_K_M", LLAMA) == target_types(D, "Q4_K_M", LLAMA, imatrix=False)


def test_use_more_bits_and_categories():
    # L452 with C integer division: 43 layers → 21 picked, 61 → 30, 16 → 8
    assert sum(use_more_bits(i, 43) for i in range(43)) == 21
    assert sum(use_more_bits(i, 61) for i in range(61)) == 30
    assert [i for i in range(N) if use_more_bits(i, N)] == [0, 1, 4, 7, 10, 13, 14, 15]
    # tensor_get_category (L119): substring matches, first hit wins
    assert category("blk.0.attn_kv_b.weight") == "attn_kv_b"
    assert category("blk.0.attn_kv.weight") == "other"  # DeepSeek V4's single KV projection
    assert category("blk.0.attn_output_a.weight") == "other"
    assert category("blk.0.indexer.attn_k.weight") == "attn_k"
    assert category("blk.0.ffn_gate_up_exps.weight") == "ffn_gate"  # "ffn_up" is not a substring
    assert category("per_layer_token_embd.weight") == "token_embd"


def test_mxfp4_moe_three_d_rule_and_bailingmoe3():
    # L512-524: any 3-D tensor (ne[2] > 1) becomes MXFP4 — DeepSeek's split attn_k_b is 3-D too —
    # except on BailingMoE3, where only ffn_up/gate/down experts do
    kb = GgufTensor("blk.0.attn_k_b.weight", (128, 512, 64), "BF16")
    ex = GgufTensor("blk.0.ffn_down_exps.weight", (1024, DIM, 64), "BF16")
    assert target_types([kb, ex], "MXFP4_MOE", ModelFacts("deepseek2", 1, 64)) == ["MXFP4"] * 2
    bailing = ModelFacts("bailingmoe3", 1, 64)
    assert target_types([kb, ex], "MXFP4_MOE", bailing) == ["Q8_0", "MXFP4"]


def test_converter_source_types():
    from vramkit.runtimes.llamacpp.mix import converter_type

    # conversion/base.py L1084: 1-D and *_norm.weight → F32; L1088-1120: the router and every
    # non-".weight" tensor (biases) → F32; else the checkpoint dtype
    assert converter_type("blk.0.attn_norm.weight", 1, arch="llama", native="BF16") == "F32"
    assert converter_type("blk.0.ffn_gate_inp.weight", 2, arch="qwen3moe", native="BF16") == "F32"
    assert converter_type("blk.0.ffn_down_exps.bias", 2, arch="gpt-oss", native="BF16") == "F32"
    assert converter_type("blk.0.attn_q.weight", 2, arch="llama", native="BF16") == "BF16"
    # conversion/deepseek.py DeepseekV4Model.tensor_force_quant: checkpoint types survive
    v4 = {"arch": "deepseek4", "native": "BF16"}
    assert converter_type("blk.0.attn_q_a.weight", 2, checkpoint="FP8_B128_UE8M0", **v4) == "Q8_0"
    assert converter_type("blk.0.ffn_up_exps.weight", 3, checkpoint="MXFP4", **v4) == "MXFP4"
    assert converter_type("blk.0.ffn_gate_inp.weight", 2, checkpoint="BF16", **v4) == "BF16"
    assert converter_type("blk.0.hc_attn_fn.weight", 2, checkpoint="FP32", **v4) == "F32"
    assert converter_type("blk.0.ffn_gate_tid2eid.weight", 2, checkpoint="I64", **v4) == "I32"
