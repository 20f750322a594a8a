"""KV-cache accounting pinned to published figures and to arithmetic written out here."""

from __future__ import annotations

import pytest

from vramkit.article.kv_claims import claim_check, kv_overtakes_weights
from vramkit.errors import VramkitError
from vramkit.kv import cache_dtypes, kv_cache, kv_grid, parse_tokens
from vramkit.runtimes import runtime_ids

M = 1024**2
GiB = 2**30


def test_v4_pro_1m_bf16_matches_vllm_blog():
    # vLLM blog (vllm.ai/blog/deepseek-v4): "With bf16 KV cache, DeepSeek V4 only has 9.62 GiB KV
    # cache per sequence at 1M context". Their arithmetic, state excluded (facts §3.3):
    # window 61 x 128 x 1024 = 7,995,392; CSA 30 x 262,144 x (1024 + 256) = 10,066,329,600;
    # HCA 31 x 8,192 x 1024 = 260,046,848; sum = 10,334,371,840 B.
    est = kv_cache("deepseek-v4-pro", "1M")
    assert est.by_kind["window"] == 61 * 128 * 1024
    assert est.by_kind["csa"] + est.by_kind["indexer"] == 30 * (M // 4) * (1024 + 256)
    assert est.by_kind["hca"] == 31 * (M // 128) * 1024
    assert est.total_bytes - est.by_kind["state"] == 10_334_371_840
    assert (est.total_bytes - est.by_kind["state"]) / GiB == pytest.approx(9.62, abs=0.01)
    # FP32 compressor state: CSA 2x(8x1024)x4 = 64 KiB + indexer 2x(8x256)x4 = 16 KiB; HCA
    # 2x(128x512)x4 = 512 KiB -> 30 x 80 KiB + 31 x 512 KiB = 17.84 MiB (facts §3.1)
    assert est.by_kind["state"] == 30 * 80 * 1024 + 31 * 512 * 1024
    assert est.constant_bytes == est.by_kind["window"] + est.by_kind["state"]
    # slope: 30 x (1024 + 256)/4 + 31 x 1024/128 = 9,600 + 248 = 9,848 B per token (facts §3.3)
    assert est.slope_bytes_per_token == 9_848


def test_v4_flash_slopes_from_facts():
    # facts §3.3: Flash bf16 6,880 B/token; vLLM fp8 + fp8 indexer 3,850 B; + fp4 indexer 3,514 B
    # (21 CSA, 20 HCA): 21 x (1024+256)/4 + 20 x 8 = 6,720 + 160 = 6,880
    assert kv_cache("deepseek-v4-flash", 1).slope_bytes_per_token == 6_880
    # 21 x (584 + 132)/4 + 20 x 584/128 = 3,759 + 91.25 = 3,850.25
    fp8 = kv_cache("deepseek-v4-flash", 1, cache_dtype="fp8_ds_mla", indexer_dtype="fp8")
    assert fp8.slope_bytes_per_token == pytest.approx(3_850.25)
    fp4 = kv_cache("deepseek-v4-flash", 1, cache_dtype="fp8_ds_mla", indexer_dtype="fp4")
    assert fp4.slope_bytes_per_token == pytest.approx(21 * (584 + 68) / 4 + 20 * 584 / 128)


def test_v32_stack_1m_bf16_is_83_9_gib():
    # vLLM blog: "83.9 GiB estimate for a 61-layer DeepSeek V3.2-style stack":
    # ((512 + 64) x 2 + 128 x 2) = 1,408 B/token/layer x 61 x 1,048,576 = 90,060,095,488 B
    est = kv_cache("deepseek-v3.2", "1M", allow_extrapolation=True)  # past its 163,840 limit
    assert est.total_bytes == 1408 * 61 * M == 90_060_095_488
    assert est.total_bytes / GiB == pytest.approx(83.9, abs=0.05)
    assert est.notes  # beyond V3.2's 163,840-token max_position_embeddings: labelled a what-if


def test_v3_mla_bytes_per_token():
    # MLA: one latent (kv_lora 512 + rope 64) per token per layer, not per head, no x2:
    # 576 x 2 B x 61 layers = 70,272 B per token (facts §4)
    assert kv_cache("deepseek-v3", 1).total_bytes == 70_272
    assert kv_cache("deepseek-v3", 1000).slope_bytes_per_token == 70_272
    # vLLM fp8_ds_mla on V3.2: 656 B + FP8 indexer 132 B = 788 x 61 = 48,068 B/token (facts §4)
    v32 = kv_cache("deepseek-v3.2", 256, runtime="vllm", cache_dtype="fp8")
    assert v32.cache_dtype == "fp8_ds_mla"
    assert v32.slope_bytes_per_token == 48_068
    assert v32.total_bytes == 48_068 * 256  # 256 tokens = 16 whole pages of 16 tokens


def test_gemma4_hybrid_k_eq_v():
    # 31B at 256K bf16 (facts §5: 10.8 GiB with K=V stored once): sliding 50 x 1024 x 2 x 16 x
    # 256 x 2 = 838,860,800; global 10 x 262,144 x 1 x 4 x 512 x 2 = 10,737,418,240
    est = kv_cache("gemma-4-31b", 262_144)
    assert est.by_kind["sliding"] == 50 * 1024 * 2 * 16 * 256 * 2
    assert est.by_kind["full"] == 10 * 262_144 * 4 * 512 * 2
    assert est.total_bytes / GiB == pytest.approx(10.78, abs=0.01)
    # the window caps the sliding layers: min(T, 1024)
    assert kv_cache("gemma-4-31b", 100).by_kind["sliding"] == 50 * 100 * 2 * 16 * 256 * 2


def test_gqa_uses_head_dim_and_tp_split():
    # Llama 3.1 70B: 2 x 8 KV heads x 128 x 2 B x 80 layers = 327,680 B per token
    est = kv_cache("llama-3.1-70b", 1000, batch=3, tp=4)
    assert est.total_bytes == 3 * 1000 * 327_680
    assert est.per_gpu_bytes == est.total_bytes // 4  # 8 heads split over 4 ranks
    # 16 ranks > 8 heads: each rank holds one replicated head -> 1/8 of the cache
    assert kv_cache("llama-3.1-70b", 1000, tp=16).per_gpu_bytes == 1000 * 327_680 // 8


def test_latent_replicated_under_tp_split_under_dp():
    one = kv_cache("deepseek-v4-flash", 65_536, batch=8)
    assert kv_cache("deepseek-v4-flash", 65_536, batch=8, tp=8).per_gpu_bytes == one.total_bytes
    dp = kv_cache("deepseek-v4-flash", 65_536, batch=7, dp=4)  # ceil(7/4) = 2 sequences per rank
    assert dp.per_gpu_bytes == 2 * dp.per_sequence_bytes


def test_vllm_v4_pages():
    # block 256, fp8_ds_mla: C4 page 64 x 584 = 37,376 -> padded to 576 B: 37,440 (65 x 576);
    # C128 page 2 x 584 = 1,168 -> 1,728; indexer fp8 page 64 x 132 = 8,448 -> 8,640
    est = kv_cache("deepseek-v4-pro", 256 * 10, runtime="vllm", cache_dtype="fp8")
    assert est.by_kind["csa"] == 30 * 10 * 37_440
    assert est.by_kind["hca"] == 31 * 10 * 1_728
    assert est.by_kind["indexer"] == 30 * 10 * 8_640
    # window: block 64, page 37,440; cdiv(min(127 + 8192, 2560), 64) + 1 = 41 pages per layer
    assert est.by_kind["window"] == 61 * 41 * 37_440


def test_llamacpp_v4_layout():
    # facts/research a.5: Flash, 1 seq, 131,072 ctx, f16, n_ubatch 512, without MTP (43 layers):
    # raw 43 x 768 x 1024; CSA 21 x 32,768 x 1024; HCA 20 x 1024 x 1024; LID 21 x 32,768 x 256
    est = kv_cache("deepseek-v4-flash", 131_072, runtime="llama.cpp", cache_dtype="f16",
                   include_mtp=False)  # fmt: skip
    assert est.by_kind["window"] == 43 * 768 * 1024
    assert est.by_kind["csa"] == 21 * 32_768 * 1024
    assert est.by_kind["hca"] == 20 * 1024 * 1024
    assert est.by_kind["indexer"] == 21 * 32_768 * 256
    assert est.by_kind["state"] == 21 * 80 * 1024 + 20 * 512 * 1024
    # default: the main context has no MTP layer (src/llama-model.cpp L2797-2803 @ 0c1e57098
    # filters il < n_layer(); the engine's own projection shows the raw window on 43 layers,
    # tests/fixtures/measured/llamacpp/deepseek-v4-flash.json)
    dflt = kv_cache("deepseek-v4-flash", 131_072, runtime="llama.cpp", cache_dtype="f16")
    assert not dflt.include_mtp
    assert dflt.by_kind["window"] == 43 * 768 * 1024
    # -ub 2048: the window holds pad(128 + 2048, 256) = 2304 cells
    ub = kv_cache("deepseek-v4-flash", 131_072, runtime="llama.cpp", cache_dtype="f16",
                  n_ubatch=2048)  # fmt: skip
    assert ub.by_kind["window"] == 43 * 2304 * 1024
    # q8_0: 34 B per 32 values (gguf GGML_QUANT_SIZES) -> 512-d row = 544 B
    q8 = kv_cache("deepseek-v4-flash", 131_072, runtime="llama.cpp", cache_dtype="q8_0")
    assert q8.by_kind["hca"] == 20 * 1024 * 544


def test_claim_check_which_formats_hold():
    rows = {r.label: r for r in claim_check()}
    bf16 = rows["both BF16 (vLLM blog arithmetic)"]
    assert not bf16.pro_holds
    assert bf16.pro_ratio == pytest.approx(0.115, abs=0.001)
    ds = [r for r in rows.values() if r.v4_cache_dtype == "fp8_bf16_rope"]
    holds = [r for r in ds if r.pro_holds and r.flash_holds]
    assert len(holds) == 1
    assert holds[0].v32_cache_dtype == "fp8_ds_mla"


def test_kv_overtakes_weights():
    c = kv_overtakes_weights("llama-3.1-70b", batch=8)
    assert c.context_tokens is not None
    # first crossing: weights reached at T, not at T - 1
    assert kv_cache("llama-3.1-70b", c.context_tokens, batch=8).total_bytes >= c.weight_bytes
    assert kv_cache("llama-3.1-70b", c.context_tokens - 1, batch=8).total_bytes < c.weight_bytes
    assert kv_overtakes_weights("deepseek-v4-pro").context_tokens is None


def test_grid_matches_scalar():
    ctx = [0, 1, 127, 128, 4096, 131_072, M]
    g = kv_grid("deepseek-v4-flash", ctx, [1, 4], runtime="vllm", cache_dtype="fp8")
    for row in g.itertuples():
        e = kv_cache("deepseek-v4-flash", row.context_tokens, batch=row.batch, runtime="vllm",
                     cache_dtype="fp8")  # fmt: skip
        assert row.total_bytes == e.total_bytes
        assert row.state == e.by_kind["state"]
    # its speed is benchmarks/speed.py's grid figure, not a timed test (a busy machine is no defect)
    big = kv_grid("deepseek-v4-pro", range(0, M + 1, 256), [1, 2, 4, 8, 16, 32, 64])
    assert len(big) == (M // 256 + 1) * 7
    assert (big.groupby("batch")["total_bytes"].diff().dropna() >= 0).all()


@pytest.mark.parametrize("model", ["deepseek-v4-pro", "deepseek-v3.2", "gemma-4-26b-a4b",
                                   "llama-3.1-70b"])  # fmt: skip
@pytest.mark.parametrize("runtime", ["reference", "vllm", "llama.cpp"])
def test_monotone_and_linear_in_batch(model, runtime):
    dtype = "fp16" if runtime == "llama.cpp" else "bf16"
    prev = -1
    for t in (0, 1, 100, 1000, 5000, 70_000):
        e = kv_cache(model, t, batch=3, runtime=runtime, cache_dtype=dtype)
        assert e.total_bytes == 3 * e.per_sequence_bytes >= prev
        prev = e.total_bytes


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"runtime": "vlm"}, "Did you mean 'vllm'"),
        ({"cache_dtype": "fp9"}, "unknown cache dtype"),
        ({"cache_dtype": "q8_0"}, "does not offer cache dtype"),
        ({"runtime": "llama.cpp", "cache_dtype": "fp16", "indexer_dtype": "fp4"}, "no separate"),
        ({"batch": 0}, "batch must be >= 1"),
        ({"tp": 3}, "does not divide"),
    ],
)
def test_bad_input_is_a_vramkit_error(kwargs, needle):
    model = "llama-3.1-70b" if "tp" in kwargs else "deepseek-v4-flash"
    with pytest.raises(VramkitError, match=needle):
        kv_cache(model, 1000, **kwargs)


def test_context_parsing_and_cap():
    assert parse_tokens("1M") == 1_048_576
    assert parse_tokens("128K") == 131_072
    assert parse_tokens("1_048_576") == 1_048_576
    with pytest.raises(VramkitError, match="1048576, 128K or 1M"):
        parse_tokens("lots")
    with pytest.raises(VramkitError, match="max_position_embeddings"):
        kv_cache("deepseek-v3", 163_840 * 8 + 1)
    with pytest.raises(VramkitError, match="no lightning indexer"):
        kv_cache("deepseek-v3", 10, indexer_dtype="fp8")
    assert "fp8_ds_mla" in cache_dtypes()
    assert runtime_ids() == ["vllm", "llama.cpp", "ik-llama.cpp", "sglang", "trtllm", "reference"]
