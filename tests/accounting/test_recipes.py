"""Real-file anchors (antirez/ds4 GGUFs, NVIDIA NVFP4) and the bits-per-weight anatomy."""

from __future__ import annotations

import pytest

from vramkit.anatomy import ANATOMY_FORMATS, anatomy_table, format_anatomy
from vramkit.article.claims import DS4_Q2, DS4_Q4, anchor_checks
from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.quant import get_recipe, tensor_formats, weight_bytes
from vramkit.units import GiB


@pytest.fixture(scope="module")
def anchors():
    return {a.recipe_id: a for a in anchor_checks()}


def test_flash_official_is_exact(anchors):
    # index.json total_size 159,609,485,896 (shared/facts/deepseek_v4.md §2.1)
    assert anchors["deepseek-v4-official"].kit_bytes == 159_609_485_896


def test_ds4_q2_gguf_within_rounding(anchors):
    a = anchors["ds4-q2"]
    # published 80.8 GiB = 80.8 × 2**30 = 86,758,339,379 B, rounded to 0.1 GiB: the file lies in
    # [80.75, 80.85) GiB; the kit (hc_*_fn and ape F16, tid2eid I32) gives 80.759 GiB
    assert a.published_bytes == round(80.8 * GiB)
    assert 80.75 * GiB <= a.kit_bytes < 80.85 * GiB
    assert a.kit_bytes == 86_714_775_900


def test_ds4_q4_gguf_within_rounding(anchors):
    a = anchors["ds4-q4"]
    # published 153.3 GiB: in [153.25, 153.35) GiB (±0.03 %); the kit gives 153.322 GiB
    # (before the F16 hyper-connection / I32 tid2eid fix it was 153.396 GiB, outside the rounding)
    assert a.published_bytes == round(153.3 * GiB)
    assert 153.25 * GiB <= a.kit_bytes < 153.35 * GiB


def test_nvfp4_pro_anchor(anchors):
    # nvidia/DeepSeek-V4-Pro-NVFP4 913.09 GB (vllm-project/recipes PR #779)
    assert abs(anchors["deepseek-v4-nvfp4"].error_pct) < 0.2


def test_ds4_recipes_place_the_right_types():
    flash = get_model("deepseek-v4-flash")
    types = {(t.group, t.role): f.name for t, f in tensor_formats(flash, DS4_Q2) if not t.mtp}
    assert types["routed_experts_gate_up", "gate"] == "IQ2_XXS"
    assert types["routed_experts_down", "down"] == "Q2_K"
    assert types["attention", "wq_a"] == "Q8_0"
    assert types["router", "gate"] == "FP16"
    assert types["norms", "attn_norm"] == "FP32"
    # antirez's card: "F16 … HC", "blk.*.ffn_gate_tid2eid | I32"; deepseek4-quantize.c
    # is_loader_plain_f16_tensor: hc_attn_fn / hc_ffn_fn / hc_head_fn F16; 1-D tensors keep F32
    assert types["hyper_connections", "hc_fn"] == "FP16"
    assert types["hyper_connections", "hc_head_fn"] == "FP16"
    assert types["hyper_connections", "hc_base"] == "FP32"
    assert types["router", "tid2eid"] == "I32"
    assert types["compressor", "ape"] == types["indexer", "compressor_ape"] == "FP16"
    assert not get_recipe(DS4_Q2).include_mtp
    assert not get_recipe(DS4_Q4).include_mtp
    # q4 − q2 = experts only: 277,025,390,592 params × (4.5 − (2·2.0625 + 2.625)/3) / 8 bytes
    # = 277,025,390,592 × 2.25 / 8 = 77,913,391,104 B
    diff = weight_bytes(flash, DS4_Q4).total_bytes - weight_bytes(flash, DS4_Q2).total_bytes
    assert diff == 277_025_390_592 * 9 // 32 == 77_913_391_104


@pytest.mark.parametrize(
    ("name", "nominal", "bpw"),
    [
        ("Q4_K", 4, 144 * 8 / 256),  # 144 bytes per 256-weight block = 4.5
        ("Q6_K", 6, 210 * 8 / 256),  # 6.5625
        ("Q2_K", 2, 84 * 8 / 256),  # 2.625
        ("Q8_0", 8, 34 * 8 / 32),  # 8.5
        ("MXFP4", 4, 4 + 8 / 32),  # E2M1 + one E8M0 scale per 32 = 4.25
        ("NVFP4", 4, 4 + 8 / 16),  # E2M1 + one E4M3 scale per 16 = 4.5
        ("FP8_B128_UE8M0", 8, 8 + 8 / (128 * 128)),  # one 8-bit scale per 128×128 block
        ("FP8_B128_F32", 8, 8 + 32 / (128 * 128)),  # one F32 scale per 128×128 block
        ("BF16", 16, 16.0),
    ],
)
def test_anatomy(name, nominal, bpw):
    a = format_anatomy(name)
    assert a.nominal_bits == nominal
    assert a.bits_per_weight == pytest.approx(bpw)
    assert a.overhead_bits == pytest.approx(bpw - nominal)
    assert f"{bpw:.6g}" in a.formula


def test_anatomy_table_and_errors():
    assert [a.name for a in anatomy_table()] == list(ANATOMY_FORMATS)
    with pytest.raises(VramkitError, match="Q4_K"):
        format_anatomy("Q4_KK")
