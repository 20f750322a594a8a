"""NVFP4 sparse-MLA KV records (nvfp4_ds_mla) and SGLang's DeepSeek V4 record bytes, from code.

Sources (data/kv_cache_formats.yaml): FlashInfer PR #4955 (V4: "a 384-byte/token paged NVFP4
cache ABI"), local-inference-lab/vllm PR #82 (V3.2/GLM: "432 B/token/layer (256 B FP4 NoPE + 32
B E4M3 group scales + 16 B alignment pad + 128 B BF16 RoPE)"), SGLang
deepseek_v4_memory_pool.py @ 007bddd4 ("448 + 64 * 2 + 8" = 584 B; indexer "index_head_dim //
2 + index_head_dim // 32" or "index_head_dim + index_head_dim // 128 * 4").
"""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.kv import kv_cache
from vramkit.kv.formats import resolve_cache_dtype, resolve_indexer_dtype
from vramkit.runtimes import get_runtime


def test_nvfp4_ds_mla_record_bytes_by_hand():
    d = resolve_cache_dtype("nvfp4_ds_mla", get_runtime("vllm").kv, "deepseek_v4")
    # V4: 448 NoPE dims / 2 (E2M1) + 448 / 16 E4M3 scales + 64 RoPE dims x 2 B = 380 -> 384 ABI
    assert 448 // 2 + 448 // 16 + 64 * 2 == 380
    assert d.vector_bytes(512, rope_dims=64, family="deepseek_v4") == 384
    # V3.2: 512 // 2 + 512 // 16 + 16 pad + 64 x 2 = 432
    assert (
        d.vector_bytes(576, rope_dims=64, family="deepseek_v3") == 512 // 2 + 512 // 16 + 16 + 128
    )
    with pytest.raises(VramkitError, match="packed layout"):
        d.vector_bytes(128, family="llama")


def test_sglang_v4_records_equal_vllm_fp8_ds_mla_and_indexer_keys():
    fp8 = resolve_cache_dtype("fp8_ds_mla", get_runtime("vllm").kv, "deepseek_v4")
    assert fp8.vector_bytes(512, rope_dims=64, family="deepseek_v4") == 448 + 64 * 2 + 8
    prof = get_runtime("vllm").kv
    assert resolve_indexer_dtype("fp8", prof, fp8).key_bytes(128) == 128 + 128 // 128 * 4
    assert resolve_indexer_dtype("fp4", prof, fp8).key_bytes(128) == 128 // 2 + 128 // 32


def test_v4_flash_slope_with_nvfp4_by_hand():
    # V4-Flash: 21 CSA (ratio 4) + 20 HCA (ratio 128) layers; per token: CSA (entry + indexer
    # key) / 4, HCA entry / 128. nvfp4_ds_mla entries 384 B, FP4 indexer keys 68 B.
    k = kv_cache("deepseek-v4-flash", 1 << 20, cache_dtype="nvfp4_ds_mla", indexer_dtype="fp4")
    assert k.slope_bytes_per_token == 21 * (384 + 68) / 4 + 20 * 384 / 128
    fp8 = kv_cache("deepseek-v4-flash", 1 << 20, cache_dtype="fp8_ds_mla", indexer_dtype="fp8")
    assert fp8.slope_bytes_per_token == 21 * (584 + 132) / 4 + 20 * 584 / 128


def test_nvfp4_ds_mla_is_refused_where_it_has_no_record():
    with pytest.raises(VramkitError, match="packed layout"):
        kv_cache("llama-3.1-70b", 1_000, cache_dtype="nvfp4_ds_mla", runtime="vllm")
    with pytest.raises(VramkitError, match="does not offer"):
        kv_cache("deepseek-v4-flash", 1_000, cache_dtype="nvfp4_ds_mla", runtime="llama.cpp")
