"""ik_llama.cpp as its own runtime profile, from its code (llama_model::cache_size at
ikawrakow/ik_llama.cpp@8337e4cd3861406fc04e0854b1409cd1b027fbc9, src/llama-model.cpp
L2463-L2532; llama_kv_layer_rows / llama_swa_compact_rows in src/llama-hparams.h L406-L427)."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.kv import kv_cache

MIB = 2**20


def test_v4_raw_k_per_context_cell_on_every_layer():
    # V4-Flash, 131,072 ctx, f16: k_rows = kv_size on all 43 layers (no --swa-compress):
    # 43 x 131,072 x 512 x 2 B = 5,504 MiB; CSA 21 x 32,768 x 1024 B; indexer 21 x 32,768 x 256 B
    # (-ictk f16); HCA 20 x 1,024 x 1024 B; states as llama.cpp's
    est = kv_cache("deepseek-v4-flash", 131_072, runtime="ik_llama.cpp", cache_dtype="f16")
    assert est.by_kind["window"] == 43 * 131_072 * 1024 == 5504 * MIB
    assert est.by_kind["csa"] == 21 * 32_768 * 1024
    assert est.by_kind["indexer"] == 21 * 32_768 * 256
    assert est.by_kind["hca"] == 20 * 1024 * 1024
    # the per-token slope includes the raw rows: 43 x 1024 + (21 x (1024 + 256)) / 4 + 20 x 1024 / 128
    assert est.slope_bytes_per_token == 43 * 1024 + 21 * 1280 / 4 + 20 * 1024 / 128
    # llama.cpp's window holds 768 cells: its total is 85.8 % below ik_llama.cpp's
    lc = kv_cache("deepseek-v4-flash", 131_072, runtime="llama.cpp", cache_dtype="f16")
    assert lc.total_bytes / est.total_bytes - 1 == pytest.approx(-0.858, abs=0.001)


def test_swa_compress_compacts_the_window():
    # --swa-compress: rows = pad(sink 0 + 128 + max(512, 256), 256) = 768 per layer
    est = kv_cache("deepseek-v4-flash", 131_072, runtime="ik_llama.cpp", cache_dtype="f16",
                   swa_compress=True)  # fmt: skip
    assert est.by_kind["window"] == 43 * 768 * 1024
    # -ub 2048: pad(128 + 2048, 256) = 2304
    ub = kv_cache("deepseek-v4-flash", 131_072, runtime="ik_llama.cpp", cache_dtype="f16",
                  swa_compress=True, n_ubatch=2048)  # fmt: skip
    assert ub.by_kind["window"] == 43 * 2304 * 1024


def test_separate_indexer_cache_type():
    # -ictk q8_0 with -ctk f16: indexer keys 128 / 32 x 34 = 136 B, the rest f16
    est = kv_cache("deepseek-v4-flash", 131_072, runtime="ik_llama.cpp", cache_dtype="f16",
                   indexer_dtype="q8_0")  # fmt: skip
    assert est.by_kind["indexer"] == 21 * 32_768 * 136
    assert est.by_kind["csa"] == 21 * 32_768 * 1024
    # llama.cpp has no separate indexer type
    with pytest.raises(VramkitError, match="no separate indexer cache type"):
        kv_cache("deepseek-v4-flash", 131_072, runtime="llama.cpp", cache_dtype="f16",
                 indexer_dtype="q8_0")  # fmt: skip


def test_options_belong_to_their_runtime():
    with pytest.raises(VramkitError, match=r"ik_llama\.cpp only"):
        kv_cache("deepseek-v4-flash", 4096, runtime="llama.cpp", swa_compress=True)
