"""vLLM's KV pool (vramkit.kv_capacity.vllm_pool) for page sizes that differ by layer, an fp32 cache,
and the token counts of the llm-d planner's v0.19.0 sweep (data/peer_llmd_sweep.yaml).

Rules: vllm/v1/core/kv_cache_utils.py @ 001cabc1be16a59a70d720ed61a13b678c060a18
(``unify_kv_cache_spec_page_size``: "ratio = max_page_size // layer_page_size; new_block_size =
layer_spec.block_size * ratio"; ``_get_kv_cache_groups_uniform_page_size``; ``get_num_blocks``;
``_report_kv_cache_config``: ``num_tokens = num_blocks // len(kv_cache_groups) * min_block_size``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vramkit.catalog import get_model
from vramkit.configfile import model_from_config_file
from vramkit.kv_capacity import vllm_pool

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "examples"
GIB = 2**30


def test_gemma4_hybrid_pages_are_unified_by_block_size():
    """gemma-4-31b: 50 sliding layers of 16 KV heads × 256 × 2 × 2 B = 16,384 B a token (page
    16 × 16,384 = 262,144 B) and 10 full layers of 4,096 B a token (page 65,536 B): the full
    layers take blocks of 16 × 262,144 / 65,536 = 64 tokens. group_size = 10 (min layers; 50 ≥
    1.5 × 10): 5 sliding groups + 1 full group; 20 GiB → 20 × 2**30 // 262,144 // 10 = 8,192
    blocks → 8,192 // 6 × min(16, 64) = 21,840 tokens reported."""
    p = vllm_pool(get_model("gemma-4-31b"), 20 * GIB, max_model_len=32768)
    assert p.page_bytes == 262_144
    assert p.groups == (("sliding", 50, 5), ("full", 10, 1))
    assert p.num_blocks == 20 * GIB // 262_144 // 10 == 8192
    assert p.reported_tokens == 8192 // 6 * 16 == 21_840
    # per request of 32,768 tokens: 5 × (cdiv(min(1023 + 8192, 32768), 16) + 1) sliding blocks
    # + cdiv(32768, 64) full blocks
    assert p.blocks_per_request == 5 * (-(-(1023 + 8192) // 16) + 1) + 32768 // 64


def test_fp32_cache_is_the_float32_model_s_auto_cache():
    """--dtype float32 with --kv-cache-dtype auto: 4 B values. Llama 3.1 8B at 42.80 GiB: page
    16 × 8 × 128 × 2 × 4 = 131,072 B, 32 layers in one group → 42.80 GiB // 131,072 // 32 ×
    16 = 175,296 tokens, as the sweep's dtf32 run logged."""
    m = model_from_config_file(EXAMPLES / "llama-3.1-8b-instruct")
    p = vllm_pool(m, round(42.80 * GIB), max_model_len=8192, cache_dtype="fp32")
    assert p.page_bytes == 16 * 8 * 128 * 2 * 4
    assert p.reported_tokens == round(42.80 * GIB) // 131_072 // 32 * 16 == 175_296


def test_sweep_token_capacity_from_the_logged_pool():
    """Every run of the sweep with a stored config and one pipeline stage: the token count from
    the logged pool (0.01 GiB resolution) within 0.03 % of the logged count."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import peer_llmd

    checked = 0
    for r in peer_llmd.load_runs():
        m = peer_llmd.model_for(r["model"])[0]
        if m is None or r["pp"] > 1:
            continue
        kv = "fp8" if r["kv_cache_dtype"] == "fp8" else ("fp32" if r["dtype"] == "f32" else "bf16")
        p = vllm_pool(m, round(r["measured"]["kv_pool_gib"] * GIB), cache_dtype=kv, tp=r["tp"],
                      max_model_len=r["max_model_len"])  # fmt: skip
        assert p.reported_tokens == pytest.approx(r["measured"]["kv_tokens"], rel=3e-4), r["id"]
        checked += 1
    assert checked >= 40
