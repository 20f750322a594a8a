"""Engine pools and loaded weights against published engine log lines.

vLLM: ``GPU KV cache size: N tokens`` (hybrid allocator: the pool divided across KV-cache groups)
and ``Model loading took X GiB`` (MXFP4 experts padded at load); SGLang: ``KV Cache is allocated.
#tokens: N, K size: X GB, V size: Y GB``. Rules from the engines' code (commit-pinned in
vramkit/kv/capacity.py and vramkit/runtimes/vllm/load.py); logs quoted below with their URLs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vramkit.errors import VramkitError
from vramkit.kv import kv_cache
from vramkit.kv.capacity import sglang_pool, vllm_pool
from vramkit.model.configfile import model_from_config_file
from vramkit.runtimes.vllm.load import vllm_gpt_oss_loaded_bytes

EX = Path(__file__).resolve().parents[2] / "data" / "examples"
GIB = 2**30


def _m(name: str):
    return model_from_config_file(EX / name / "config.json")


# --------------------------------------------------------------------------- vLLM hybrid pool


def test_vllm_gpt_oss_120b_reported_tokens_reproduce_the_log():
    # https://github.com/alvarobartt/hf-mem/issues/60 (vLLM, openai/gpt-oss-120b, BF16 KV):
    # "Available KV cache memory: 5.38 GiB" ... "GPU KV cache size: 78,384 tokens".
    # The log rounds to 0.01 GiB, so any pool in [5.375, 5.385) GiB printed "5.38".
    m = _m("gpt-oss-120b")
    lo = vllm_pool(m, int(5.375 * GIB), max_model_len=131_072)
    hi = vllm_pool(m, int(5.385 * GIB) - 1, max_model_len=131_072)
    assert lo.reported_tokens <= 78_384 <= hi.reported_tokens
    # the arithmetic: 18 sliding + 18 full layers -> 2 groups of 18; page 16 x 2048 B;
    # num_blocks = avail // 32768 // 18; tokens = num_blocks // 2 * 16
    p = vllm_pool(m, int(5.3825 * GIB), max_model_len=131_072)
    assert (p.group_size, p.n_groups, p.page_bytes) == (18, 2, 32_768)
    assert p.num_blocks == int(5.3825 * GIB) // 32_768 // 18
    assert p.reported_tokens == p.num_blocks // 2 * 16 == 78_384


def test_vllm_reported_capacity_is_half_the_naive_slope_capacity_for_gpt_oss():
    # vramkit's per-token slope (18 full layers x 2048 B) would promise 2x the tokens vLLM logs
    m = _m("gpt-oss-120b")
    avail = 40 * GIB
    naive = avail // kv_cache(m, 1_000, runtime="vllm").slope_bytes_per_token
    p = vllm_pool(m, avail, max_model_len=131_072)
    assert abs(naive / p.reported_tokens - 2) < 0.001


def test_vllm_gemma3_groups_follow_the_min_layer_count():
    # 52 sliding + 10 full: group_size 10 (52 >= 1.5 x 10), 6 sliding groups + 1 full group
    p = vllm_pool(_m("medgemma-27b-it"), 20 * GIB, max_model_len=32_768)
    assert p.group_size == 10
    assert p.groups == (("sliding", 52, 6), ("full", 10, 1))
    assert p.reported_tokens == p.num_blocks // 7 * 16


def test_vllm_uniform_model_reports_the_whole_pool():
    # one group: tokens = avail // (page x layers) x block; Mistral 7B: 32 x 16 x 2 x 8 x 128 x 2
    p = vllm_pool(_m("mistral-7b-v0.3"), 10 * GIB, max_model_len=32_768)
    assert p.reported_tokens == 10 * GIB // (16 * 4_096) // 32 * 16
    assert p.max_concurrency == pytest.approx(p.num_blocks / (32_768 // 16))


def test_vllm_pool_refuses_v4_and_bad_input():
    with pytest.raises(VramkitError, match="full / sliding-window"):
        vllm_pool("deepseek-v4-flash", 10 * GIB, max_model_len=4_096)
    with pytest.raises(VramkitError, match="max_model_len"):
        vllm_pool(_m("gpt-oss-120b"), 10 * GIB, max_model_len=0)


# --------------------------------------------------------------------------- SGLang pool


def test_sglang_qwen3_235b_tp4_log_line():
    # https://github.com/vllm-project/vllm/issues/21348 (Qwen3-235B-A22B-FP8, SGLang, --tp 4):
    # "KV Cache is allocated. #tokens: 367404, K size: 8.23 GB, V size: 8.23 GB"
    # 4 KV heads / tp 4 = 1 per rank; K = (367404 + 1) x 94 layers x 1 x 128 x 2 B
    p = sglang_pool(_m("qwen3-235b-a22b"), tokens=367_404, tp=4)
    assert p.k_bytes == 367_405 * 94 * 128 * 2
    assert (
        p.log_line() == "KV Cache is allocated. #tokens: 367404, K size: 8.23 GB, V size: 8.23 GB"
    )


def test_sglang_qwen3_30b_tp1_log_line():
    # https://github.com/sgl-project/sglang/pull/18263 (Qwen3MoeForCausalLM = Qwen3-30B-A3B):
    # "KV Cache is allocated. dtype: torch.bfloat16, #tokens: 1669816, K size: 76.44 GB"
    p = sglang_pool(_m("qwen3-30b-a3b"), tokens=1_669_816)
    assert f"{p.k_bytes / GIB:.2f}" == "76.44"
    assert p.cell_bytes == 4 * (128 + 128) * 48 * 2


def test_sglang_profile_from_memory_and_mem_fraction():
    # profile_max_num_token: int((avail - total x (1 - mfs)) x 2^30) // cell
    m = _m("qwen3-30b-a3b")
    p = sglang_pool(m, available_gib=60.0, total_gib=80.0, mem_fraction_static=0.9)
    assert p.tokens == int(52.0 * GIB) // (4 * 256 * 48 * 2)
    with pytest.raises(VramkitError, match="mem-fraction-static"):
        sglang_pool(m, available_gib=10.0, total_gib=80.0, mem_fraction_static=0.85)


def test_sglang_mla_cell_is_one_latent():
    # DeepSeek-V2-Lite: (512 + 64) x 27 layers x 2 B, not split by tensor parallelism
    p = sglang_pool(_m("deepseek-v2-lite"), tokens=1_000, tp=2)
    assert p.cell_bytes == 576 * 27 * 2
    assert p.log_line().startswith("KV Cache is allocated. #tokens: 1000, KV size:")


# --------------------------------------------------------------------------- vLLM MXFP4 padding


def test_vllm_marlin_loads_gpt_oss_120b_padded():
    # https://github.com/vllm-project/vllm/issues/23278 (H100, "Your GPU does not have native
    # support for FP4 ... Marlin kernel"): "Model loading took 65.9651 GiB".
    # Marlin pads hidden 2880 -> 3072 and intermediate 2880 -> 2944; the stored checkpoint is
    # 65,248,815,744 B (hf-mem #60 prints the same "memory": 65248815744).
    m = _m("gpt-oss-120b")
    stored = 65_248_815_744
    marlin = vllm_gpt_oss_loaded_bytes(m, "marlin")
    per_expert = 2 * 2_944 * (1_536 + 96 + 2) + 3_072 * (1_472 + 92 + 2)
    per_expert_stored = 2 * 2_880 * (1_440 + 90 + 2) + 2_880 * (1_440 + 90 + 2)
    assert marlin - stored == 36 * 128 * (per_expert - per_expert_stored)
    assert abs(marlin / (65.9651 * GIB) - 1) < 0.002  # -0.10%: Marlin workspace etc. not counted
    assert 1.08 < marlin / stored < 1.09


def test_vllm_triton_hopper_keeps_both_scale_copies_and_fp32_biases():
    # https://github.com/vllm-project/vllm/issues/33155 (v0.14.1, one H100, "Using Triton
    # backend"): "Model loading took 64.38 GiB". vLLM mxfp4.py @007d5005 (TRITON branch): biases
    # .to(torch.float32); _swizzle_mxfp4(..., num_warps=8) scales kept beside the never-deleted
    # layer.w13_weight_scale / w2_weight_scale; the Hopper scale layout pads rows to
    # 2 * 8 * 2 * 8 = 256 (triton_kernels hopper_scale.py @14dd7a19). Per expert (I = H = 2880):
    values = 2 * 2_880 * 1_440 + 2_880 * 1_440
    scales = 5_760 * 90 + 2_880 * 90
    swizzled = 5_888 * 90 + 3_072 * 90  # 5760 -> 5888, 2880 -> 3072 rows
    biases = 4 * (5_760 + 2_880)
    stored_expert = values + scales + 2 * (5_760 + 2_880)
    m = _m("gpt-oss-120b")
    triton = vllm_gpt_oss_loaded_bytes(m, "triton")
    assert triton - 65_248_815_744 == 36 * 128 * (
        values + scales + swizzled + biases - stored_expert
    )
    assert abs(triton / (64.38 * GIB) - 1) < 0.002  # -0.12%


def test_mxfp4_padding_refuses_other_families():
    with pytest.raises(VramkitError, match="not an MXFP4 MoE checkpoint"):
        vllm_gpt_oss_loaded_bytes(_m("mistral-7b-v0.3"))
    with pytest.raises(VramkitError, match="backend"):
        vllm_gpt_oss_loaded_bytes(_m("gpt-oss-120b"), "cutlass")


def test_sglang_hybrid_swa_split_by_ratio():
    # set_num_tokens_hybrid_swa: gpt-oss has F = S = 18 layers x 2048 B; profiled pool
    # int(52 GiB) // 73,728 = 757,304 tokens; full = 757,304 x 73,728 / (36,864 + 0.8 x 36,864)
    p = sglang_pool(_m("gpt-oss-120b"), available_gib=60.0, total_gib=80.0, mem_fraction_static=0.9)
    pooled = int(52.0 * GIB) // 73_728
    assert p.tokens == int(pooled * 73_728 / (36_864 + 0.8 * 36_864)) == 841_448
    assert p.swa_tokens == int(p.tokens * 0.8)
