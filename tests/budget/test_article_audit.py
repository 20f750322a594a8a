"""First-principles tables and the article diff (vramkit.article.audit), every number pinned to arithmetic."""

from __future__ import annotations

import math

import pytest

from vramkit.article.audit import (
    LABEL_RECIPE,
    TABLE_RECIPES,
    BudgetAssumptions,
    NeedEstimate,
    article_diff,
    bits_per_param,
    first_principles_row,
    first_principles_table,
    fmt_tier,
    tier_for,
)
from vramkit.article.tables import ARTICLE_RULE
from vramkit.catalog import V4_IDS
from vramkit.errors import VramkitError
from vramkit.present.frames import to_frame
from vramkit.units import GB, TB

# Checkpoint parameters (MTP included), the denominators of every bits-per-parameter figure.
FLASH_PARAMS = 290_944_616_402
PRO_PARAMS = 1_598_839_674_782
# Routed experts of the main model: layers × experts × 3 matrices × hidden × moe_intermediate.
FLASH_EXPERT_PARAMS = 43 * 256 * 3 * 4096 * 2048  # = 277,025,390,592
PRO_EXPERT_PARAMS = 61 * 384 * 3 * 7168 * 3072  # = 1,547,396,186,112


@pytest.fixture(scope="module")
def diff():
    return {(d.variant, d.label): d for d in article_diff()}


def test_official_bits_per_param():
    flash = first_principles_row("deepseek-v4-flash", "official")
    # Flash index.json total_size 159,609,485,896 B (docs/research/deepseek_v4_facts.md §2.1):
    # 159,609,485,896 × 8 / 290,944,616,402 = 4.3887 bits per parameter
    assert flash.weight_bytes == 159_609_485_896
    assert flash.params == FLASH_PARAMS
    assert flash.bits_per_param == pytest.approx(159_609_485_896 * 8 / FLASH_PARAMS)
    assert 4.38 < flash.bits_per_param < 4.40
    pro = first_principles_row("deepseek-v4-pro", "official")
    # 864,704,792,696 × 8 / 1,598,839,674,782 = 4.3266 (the article's 864.70 GB)
    assert pro.weight_bytes == 864_704_792_696
    assert 4.32 < pro.bits_per_param < 4.33


def test_article_rows_for_instruct_models_mean_half_the_bits(diff):
    # official × 4/8 etc., as bits: 80e9 × 8 / 290,944,616,402 = 2.1998; 60e9 → 1.6498; 40e9 → 1.0999
    assert diff["deepseek-v4-flash", "Q4"].article_bits_per_param == pytest.approx(
        80e9 * 8 / FLASH_PARAMS
    )
    assert diff["deepseek-v4-flash", "Q4"].article_bits_per_param == pytest.approx(2.1998, abs=1e-4)
    assert diff["deepseek-v4-flash", "Q3"].article_bits_per_param == pytest.approx(1.6498, abs=1e-4)
    assert diff["deepseek-v4-flash", "Q2"].article_bits_per_param == pytest.approx(1.0999, abs=1e-4)
    # Pro Q4: 432e9 × 8 / 1,598,839,674,782 = 2.1616
    assert diff["deepseek-v4-pro", "Q4"].article_bits_per_param == pytest.approx(2.1616, abs=1e-4)


def test_real_q4_is_more_than_twice_the_article(diff):
    d = diff["deepseek-v4-flash", "Q4"]
    assert d.kit_recipe_id == "gguf-Q4_K_M"
    # The routed experts alone at Q4_K (144 B per 256 weights = 4.5 bpw) already weigh
    # 277,025,390,592 × 4.5 / 8 = 155,826,782,208 B, 1.95× the article's 80 GB.
    experts_floor = FLASH_EXPERT_PARAMS * 9 // 16
    assert experts_floor == 155_826_782_208
    assert d.kit_size_bytes > experts_floor
    assert d.size_ratio > 2.0
    assert 4.5 < d.kit_bits_per_param < 5.0  # the M mix lifts some tensors to Q6_K


def test_base_rows_roughly_hold(diff):
    for variant in ("deepseek-v4-flash-base", "deepseek-v4-pro-base"):
        fp8 = diff[variant, "FP8 / official weights"]
        # Base checkpoints: FP8 + F32 block scales (+ FP32 embed/head), 8.04-8.10 bits per param
        assert 8.0 < fp8.article_bits_per_param < 8.11
        # the article prints 0.01 GB: ±0.005 GB / 294.67 GB = ±1.7e-5
        assert fp8.size_ratio == pytest.approx(1.0, abs=2e-5)
        for label, bits in (("Q6", 6), ("Q5", 5), ("Q4", 4), ("Q3", 3)):
            d = diff[variant, label]
            # official × n/8 on an ~8.05-bit file is ~n bits per parameter: off by < 0.11 bit
            assert d.article_bits_per_param == pytest.approx(bits, abs=0.11)
            # the real K-quant file is heavier (scales + mix): within 20 %, Q3 within 25 % (its
            # Q3_K_M mix gives every ffn_down Q4_K or Q5_K on non-Falcon models, llama-quant.cpp
            # L634-638 at 0c1e57098: ~3.66 bits per parameter against 3)
            assert 1.0 < d.size_ratio < (1.25 if label == "Q3" else 1.2)
        # Q2_K: 2.90 bpw vs 2.0 nominal — the largest gap, ~+40 %
        assert 1.35 < diff[variant, "Q2"].size_ratio < 1.45


def test_instruct_rows_are_two_times_off(diff):
    for variant in ("deepseek-v4-flash", "deepseek-v4-pro"):
        for label in ("Q6", "Q5", "Q4", "Q3", "Q2"):
            assert diff[variant, label].size_ratio > 1.9, (variant, label)
            assert "Wrong base" in diff[variant, label].explanation


def test_fp8_label_explanations(diff):
    pro = diff["deepseek-v4-pro", "FP8 / official weights"]
    assert "label wrong" in pro.explanation
    # an all-FP8 Pro holds the experts at ≥ 8 bits: ≥ 1,547,396,186,112 B > 1 TB
    assert "1602.03 GB" in pro.explanation
    assert PRO_EXPERT_PARAMS > TB
    assert "Right:" in diff["deepseek-v4-pro-base", "FP8 / official weights"].explanation


def test_diff_covers_every_article_row(diff):
    assert len(diff) == 24
    assert {label for _, label in diff} == set(LABEL_RECIPE)


def test_tier_for():
    tiers = ARTICLE_RULE.tiers_bytes
    assert tier_for(193 * GB) == 224 * GB  # 192 < 193 ≤ 224
    assert tier_for(192 * GB) == 192 * GB  # a tier is enough for itself
    assert tier_for(2_400 * GB + 1) is None  # above the 2.4 TB top of the ladder
    assert fmt_tier(None) == "> 2.4 TB"
    assert fmt_tier(1_200 * GB) == "1.2 TB"
    assert fmt_tier(tiers[0]) == "48 GB"
    with pytest.raises(VramkitError):
        tier_for(-1)


def test_need_estimate_arithmetic():
    n = NeedEstimate(32_768, 100 * GB, 3 * GB, 2 * GB, 0.92)
    assert n.total_bytes == 105 * GB
    # ⌈105e9 / 0.92⌉ = 114,130,434,783 B
    assert n.memory_bytes == math.ceil(105e9 / 0.92)


def test_rows_add_up_and_tiers_follow():
    a = BudgetAssumptions()
    row = first_principles_row("deepseek-v4-flash", "gguf-Q2_K", a)
    n = row.minimum_need
    assert n.weight_bytes == row.weight_bytes
    assert n.context_tokens == 32_768
    assert row.safer_need.context_tokens == 131_072
    assert n.kv_bytes > 0
    assert row.safer_need.kv_bytes >= n.kv_bytes  # longer context, no smaller cache
    assert n.overhead_bytes == a.overhead_bytes > 0
    assert row.minimum_tier_bytes == tier_for(n.memory_bytes)
    assert row.minimum_tier_bytes >= n.memory_bytes > n.total_bytes  # vLLM fills 0.92 of it


def test_tables_have_every_recipe():
    for mid in V4_IDS:
        rows = first_principles_table(mid)
        ids = [r.recipe_id for r in rows]
        assert len(ids) == len(set(ids))
        assert {"gguf-Q4_K_M", "deepseek-v4-fp8", "deepseek-v4-nvfp4", "uniform:BF16"} <= set(ids)
    base = first_principles_table("deepseek-v4-pro-base")
    assert base[0].recipe_id == "deepseek-v4-base-official"
    # 16 bits per weight on 1.6 T parameters ≈ 3.2 TB: beyond the article's ladder
    bf16 = next(r for r in base if r.recipe_id == "uniform:BF16")
    assert bf16.minimum_tier_bytes is None
    assert len(first_principles_table("deepseek-v4-flash")) == len(TABLE_RECIPES) - 1


def test_bad_input():
    with pytest.raises(VramkitError, match="deepseek-v4-flash"):
        first_principles_row("deepseek-v4-flsh", "official")
    with pytest.raises(VramkitError, match="recipe"):
        first_principles_row("deepseek-v4-flash", "gguf-Q4_K_X")
    with pytest.raises(VramkitError, match="safer_context_tokens"):
        BudgetAssumptions(minimum_context_tokens=131_072, safer_context_tokens=32_768)
    with pytest.raises(VramkitError):
        BudgetAssumptions(runtime="vllmm")
    with pytest.raises(VramkitError):
        bits_per_param(1, 0)


def test_to_frame():
    frame = to_frame(first_principles_table("deepseek-v4-flash", ["official", "gguf-Q2_K"]))
    assert list(frame["recipe_id"]) == ["deepseek-v4-official", "gguf-Q2_K"]
    assert "minimum_need_bytes" in frame.columns
