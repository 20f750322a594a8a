"""The `sglang` KV layout: token-granular pool, cell bytes as SGLang's get_cell_size_per_token.

SGLang (model_runner_kv_cache_mixin.py @ 001ccef0): MHA cell = kv_heads_per_rank × (head_dim +
v_head_dim) × layers × element size; MLA (kv_lora_rank + qk_rope_head_dim) × layers; fp8 on the
NSA model (V3.2) "kv_lora_rank + kv_lora_rank // quant_block_size * 4 + qk_rope_head_dim *
rope_storage_dtype.itemsize" = 656 B plus the indexer "index_head_dim + index_head_dim //
128 * 4" = 132 B per layer.
"""

from __future__ import annotations

from pathlib import Path

from vramkit.kv import kv_cache
from vramkit.kv.capacity import sglang_pool
from vramkit.model.configfile import model_from_config_file

EX = Path(__file__).resolve().parents[2] / "data" / "examples"


def test_sglang_layout_matches_the_pool_cell_size():
    m = model_from_config_file(EX / "qwen3-235b-a22b" / "config.json")
    t = 300_000
    per_gpu = kv_cache(m, t, runtime="sglang", tp=4, allow_extrapolation=True).per_gpu_bytes
    assert per_gpu == t * sglang_pool(m, tokens=t, tp=4).cell_bytes == t * 94 * 2 * 128 * 2


def test_sglang_v32_fp8_is_the_656_byte_nsa_latent_plus_indexer_key():
    k = kv_cache("deepseek-v3.2", 1_000, runtime="sglang", cache_dtype="fp8")
    assert k.total_bytes == 1_000 * 61 * ((512 + 512 // 128 * 4 + 64 * 2) + (128 + 128 // 128 * 4))


def test_sglang_sliding_layers():
    g = model_from_config_file(EX / "gpt-oss-120b" / "config.json")
    k = kv_cache(g, 10_000, runtime="sglang")
    assert k.by_kind == {"sliding": 18 * 128 * 2_048, "full": 18 * 10_000 * 2_048}


def test_sglang_v4_rings_and_584_byte_records():
    # SGLang V4: fp8 -> the 584-B record; SWA ring of 128 tokens on all 43 layers; CSA (21 layers)
    # floor(T/4) entries + FP8 indexer keys (132 B), HCA (20) floor(T/128); compressor-state
    # rings 8 (C4) / 128 (C128) rows of FP32 state, equal to the reference's state buffers
    t = 100_000
    k = kv_cache("deepseek-v4-flash", t, runtime="sglang", cache_dtype="fp8")
    ref = kv_cache(
        "deepseek-v4-flash", t, runtime="reference", cache_dtype="fp8_ds_mla", indexer_dtype="fp8"
    )
    assert k.by_kind == ref.by_kind
    assert k.by_kind["window"] == 43 * 128 * 584
    assert k.by_kind["csa"] == 21 * (t // 4) * 584
    assert k.by_kind["indexer"] == 21 * (t // 4) * 132
    assert k.by_kind["hca"] == 20 * (t // 128) * 584
