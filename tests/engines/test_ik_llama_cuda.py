"""ik_llama.cpp's CUDA terms (vramkit.runtimes.ik_llama_cuda), each pinned to its code at
ikawrakow/ik_llama.cpp@8337e4cd3861406fc04e0854b1409cd1b027fbc9 with the arithmetic written out.
Read from the pinned code, not measured on a GPU (no GPU was used to write or check them).

Held out against published ik_llama.cpp CUDA logs (tests/engines/test_ik_llama_rules.py holds
the KV and attention ones): issue #895 (gpt-oss-120b, experts on the CPU, -ub 512) prints
"CUDA0 compute buffer size = 404.00 MiB"; the kit's ik plan gives CUDA0 409.63 MiB (+1.4 %)
before and after these terms — ik's expert rule moves no expert at that ubatch (4 x 512 < 32 x
128), while llama.cpp's rule (any ubatch >= 32) would add a 537.9 MiB expert copy and its MoE
pool (992.5 MiB, +145.7 %), which the log rules out. The pools (terms 2 and 3) are outside the
printed compute buffer: no published log prints them.
"""

from __future__ import annotations

import pytest

from vramkit.catalog import get_model
from vramkit.model.configfile import model_from_config_file
from vramkit.plan import build_machine
from vramkit.plan.layers import layer_costs
from vramkit.runtimes.ik_llama_cuda import (
    IK_RULES,
    IK_URL,
    MMQ_TAIL,
    expert_offload,
    fa_pool_bytes,
    moe_pool_bytes,
)
from vramkit.runtimes.ik_llama_rules import IkOptions
from vramkit.runtimes.llamacpp import cuda as lc
from vramkit.runtimes.llamacpp.placement import LlamacppContext

MIB = 2**20
EX = "data/examples"


def _model(name: str):
    return model_from_config_file(f"{EX}/{name}/config.json")


def _at(model, recipe, gpus, ram, runtime="ik_llama.cpp", **kw):
    kw = {"context": 16896, "sequences": 1, "cache_dtype": "f16", "ubatch": 512, **kw}
    return LlamacppContext.build(model, layer_costs(model, recipe), build_machine(gpus, ram=ram),
                                 runtime=runtime, margin=None, **kw)  # fmt: skip


def _terms(p, name: str):
    return [t for t in p.cuda_terms if t.name.startswith(name)]


# ── term 1: which host expert matmuls move to CUDA0 ──────────────────────────────────────────
def test_expert_offload_needs_32_tokens_per_expert():
    # ggml-cuda.cu L5194-5206: n_tokens >= 32 and n_tokens x n_used >= 32 x n_expert. PR #520
    # ("Better strategy for GPU offload", https://github.com/ikawrakow/ik_llama.cpp/pull/520)
    # states the same rule: offload "only ... if N_b >= N_tot / N_A x N_min" with N_min 32.
    assert not expert_offload(512, 8, 256)
    assert expert_offload(1024, 8, 256)
    assert not expert_offload(1023, 8, 256)
    assert expert_offload(512, 8, 128)
    assert not expert_offload(511, 8, 128)
    assert not expert_offload(512, 4, 128)  # gpt-oss-120b: needs 1,024
    assert expert_offload(256, 4, 32)
    assert not expert_offload(255, 4, 32)
    assert not expert_offload(16, 8, 4)  # 16 x 8 >= 32 x 4, but fewer than 32 tokens


def test_fmoe_copies_up_and_gate_together():
    # -fmoe: one ggml_moe_up_gate op reads ffn_up_exps and ffn_gate_exps (src/llama-build-
    # context.cpp L1598-1606): both are inputs of one split (ggml-backend.cpp L1764-1771 starts a
    # split per host weight), so CUDA0 holds both. DeepSeek V3, gguf-Q4_K_M: gate and up Q4_K
    # [7168, 2048, 256] = 7168 / 256 x 144 B x 2048 x 256 each; down Q6_K 2048 / 256 x 210 B x
    # 7168 x 256; every ne0 a multiple of 512 (no row padding)
    m = get_model("deepseek-v3")
    sh = lc.weight_shapes(m, "gguf-Q4_K_M")
    q4k, q6k = 7168 // 256 * 144 * 2048 * 256, 2048 // 256 * 210 * 7168 * 256
    assert (q4k, q6k) == (2_113_929_216, 3_082_813_440)
    assert max(sh.big_routed) == q6k
    assert max(sh.fused_routed) == 2 * q4k == 4032 * MIB


def test_plan_moves_v3_experts_only_from_ub_1024():
    m = get_model("deepseek-v3")
    kw = {"context": 32768, "cache_dtype": "q8_0"}
    low = _at(m, "gguf-Q4_K_M", ["h200-sxm-141gb"], "1TB", **kw)
    p = low.plan(61)  # every routed expert on the host
    assert low.cuda.offload
    assert not low.cuda.expert_offload
    assert not _terms(p, "largest host")
    assert not _terms(p, "MoE")
    high = _at(m, "gguf-Q4_K_M", ["h200-sxm-141gb"], "1TB", ubatch=1024, **kw)
    p = high.plan(61)
    (copy,) = _terms(p, "largest host")
    assert copy.bytes == 2 * 2_113_929_216
    assert copy.where == "GPU0 compute buffer"
    assert _terms(p, "MoE")  # CUDA0 runs the host experts' matmuls
    plain = _at(m, "gguf-Q4_K_M", ["h200-sxm-141gb"], "1TB", ubatch=1024,
                ik=IkOptions(fmoe=False), **kw).plan(61)  # fmt: skip
    (copy,) = _terms(plain, "largest host")
    assert copy.bytes == 3_082_813_440  # -no-fmoe: one tensor a split, the Q6_K down


def test_issue_895_no_expert_copy_at_ub_512():
    # https://github.com/ikawrakow/ik_llama.cpp/issues/895 (gpt-oss-120b, n_ctx 16896, n_ubatch
    # 512, flash_attn 1, fused_moe 1, experts on the CPU): "CUDA0 compute buffer size = 404.00
    # MiB". ik's rule: 512 x 4 < 32 x 128, no expert moves; the plan's CUDA0 compute buffer is
    # the device graph alone (f16 cache: no F16 copies; CUDA0 holds no expert: no MoE pool)
    m = _model("gpt-oss-120b")
    at = _at(m, "gguf-MXFP4_MOE", ["rtx-4090-24gb"], "128GB")
    p = at.plan(36)
    cb = p.place("GPU0").bytes_by_component["compute buffer"]
    assert cb == at.compute
    assert cb / (404.00 * MIB) - 1 == pytest.approx(0.014, abs=0.001)  # +1.4 %, before and after
    # llama.cpp's rule on the same layout copies the 128-expert gate tensor in (MXFP4, 2880 x
    # 2880 x 128 values at 17 B per 32, + one row's padding for ne0 = 2880) and runs the pool
    lcp = _at(m, "gguf-MXFP4_MOE", ["rtx-4090-24gb"], "128GB", runtime="llama.cpp")
    q = lcp.plan(36)
    (copy,) = _terms(q, "largest host")
    assert copy.bytes == 2880 * 2880 * 128 // 32 * 17 + (512 - 2880 % 512) // 32 * 17
    big = q.place("GPU0").bytes_by_component["compute buffer"]
    assert big / (404.00 * MIB) - 1 == pytest.approx(1.457, abs=0.001)  # what the log rules out


# ── term 2: the MoE kernels' pool ────────────────────────────────────────────────────────────
def test_moe_pool_mmq_id_fused_qwen3_30b():
    # Qwen3-30B-A3B at -ub 512: t k = 4096 (token, expert) pairs, n_embd 2048, n_ff 768, 128
    # experts; ggml-cuda.cu L3210-3236, each allocation rounded to 128 B (L449-452):
    ids = 4 * (2 * 4096 + 128 + 1)  # 33,284 B, rounded to 33,408
    assert -(-ids // 128) * 128 == 33_408
    q8_in = 4096 * 2048 // 32 * 36 + MMQ_TAIL  # q8_1 rows of pad512(2048) values
    outs = 2 * 4 * 768 * 4096  # F32 up and gate outputs
    assert (q8_in, MMQ_TAIL) == (9_455_616, 128 * 144)
    want = 33_408 + q8_in + outs
    assert moe_pool_bytes(512, 8, 128, 2048, 768, fused=True, mmq=True) == want == 34_654_848
    # unfused (-no-fmoe): each MUL_MAT_ID holds ids (three allocations) + its q8_1 input
    # (L2906-2910 -> mmq_id.cu L394-471); the larger input is n_embd
    unfused = 2 * 16_384 + 640 + q8_in
    assert moe_pool_bytes(512, 8, 128, 2048, 768, fused=False, mmq=True) == unfused
    # llama.cpp's sorted copies for the same ubatch (its term 5) are larger: 44.03 MiB
    assert lc.moe_pool_workspace(512, 8, 2048, 768).bytes == 46_170_112 > want


def test_moe_pool_sorted_path_past_32_tokens_per_expert():
    # -ub 8192 > 32 x 128: the fused op's sorted path (L3353-3385): q8_1 of the 8,192 inputs,
    # F32 up and gate outputs, the down projection's staging (n_embd k t bytes) and an 8-byte
    # row mapping per pair
    tk = 8192 * 8
    want = (8192 * 2048 // 32 * 36 + MMQ_TAIL) + 2 * 4 * 768 * tk + 2048 * tk + 8 * tk
    assert moe_pool_bytes(8192, 8, 128, 2048, 768, fused=True, mmq=True) == want == 556_288_000


# ── term 3: flash attention's F16 copies in the pool ─────────────────────────────────────────
def test_fa_pool_copies_a_quantized_cache():
    # fattn-mma-f16.cuh L1320-1345: K_f16 / V_f16 of ggml_nelements(K / V) halves
    qwen = _model("qwen3-30b-a3b")  # 4 KV heads of 128
    b, how = fa_pool_bytes(qwen, 40960, 512, "q8_0", mla=3, flash_attn=True)
    assert b == 2 * (128 * 4 + 128 * 4) * 40960 == 80 * MIB
    assert "4 KV heads" in how
    assert fa_pool_bytes(qwen, 40960, 512, "f16", mla=3, flash_attn=True)[0] == 0
    assert fa_pool_bytes(qwen, 40960, 512, "q8_0", mla=3, flash_attn=False)[0] == 0
    assert fa_pool_bytes(qwen, 40960, 512, "bf16", mla=3, flash_attn=True)[0] == 80 * MIB
    v3 = get_model("deepseek-v3")  # MLA: latent K of 512 + 64, V a view (fattn-new-mma.cu L1922)
    assert fa_pool_bytes(v3, 32768, 512, "q8_0", mla=3, flash_attn=True)[0] == 2 * 576 * 32768
    # -mla 0: decompressed heads, 128 x (128 + 64) K and 128 x 128 V values a cell
    b0, _ = fa_pool_bytes(v3, 32768, 512, "q8_0", mla=0, flash_attn=True)
    assert b0 == 2 * 128 * (192 + 128) * 32768 == 2560 * MIB
    # gpt-oss: the full layers set it (8 KV heads of 64); a sliding layer reads pad256(512 + 128)
    oss = _model("gpt-oss-120b")
    assert fa_pool_bytes(oss, 16896, 512, "q8_0", mla=3, flash_attn=True)[0] == (
        2 * (2 * 64 * 8) * 16896
    )
    v4 = get_model("deepseek-v4-flash")
    b4, how4 = fa_pool_bytes(v4, 65536, 512, "q8_0", mla=3, flash_attn=True)
    assert b4 == 0
    assert how4.startswith("not sized")


# ── the rules as registered ──────────────────────────────────────────────────────────────────
def test_ik_rules_cite_the_pinned_tree():
    from vramkit.runtimes.engines import cuda_rules

    assert cuda_rules("ik_llama.cpp") is IK_RULES
    assert cuda_rules("llama.cpp") is lc.LLAMACPP_RULES
    for src in (IK_RULES.fa_copies, IK_RULES.op_offload_copy, IK_RULES.moe_pool,
                IK_RULES.row_padding, IK_RULES.output, IK_RULES.pinned_compute):  # fmt: skip
        assert src.startswith(IK_URL)
        assert "#L" in src
    assert "8337e4cd3861406fc04e0854b1409cd1b027fbc9" in IK_URL
    assert lc.KIND == "code (read from the pinned tree; not measured on a GPU)"


@pytest.mark.parametrize("c", [0, 9, 18, 27, 36])
def test_fits_agrees_with_the_built_plan_on_ik(c):
    # the layout's fast check (LlamacppContext.fits) charges ik's terms as the plan does
    m = _model("gpt-oss-120b")
    at = _at(m, "gguf-MXFP4_MOE", ["rtx-4090-24gb", "rtx-3090-24gb"], "128GB", ubatch=1024,
             context=40960, cache_dtype="q8_0")  # fmt: skip
    assert at.cuda is not None
    assert at.cuda.expert_offload  # 1024 x 4 >= 32 x 128
    assert at.fits(c) == at.plan(c).fits
