"""Parameter accounting from the architecture: pinned to official labels and hand arithmetic."""

import pytest

from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.families.deepseek_v4 import deepseek_v4_inventory
from vramkit.model.params import count_params, inventory


def test_v4_flash_routed_experts_per_layer():
    # 256 experts × 3 matrices × 4096 × 2048 = 6,442,450,944 per layer (facts §1.3: "6.442 B")
    m = get_model("deepseek-v4-flash")
    per_layer = sum(
        t.params for t in m.inventory if t.layer == 5 and t.group.startswith("routed_experts")
    )
    assert per_layer == 256 * 3 * 4096 * 2048 == 6_442_450_944


def test_v4_flash_totals_match_labels():
    # Official label "284B total / 13B active" (model card). Derived: main 284.33 B, active 13.80 B.
    p = get_model("deepseek-v4-flash").params
    assert p.main == pytest.approx(284e9, rel=0.002)
    assert p.total - p.main == p.by_group["mtp"]
    # active per token: every non-expert tensor + 6 of 256 experts in each of the 43 layers
    experts_all = 43 * 256 * 3 * 4096 * 2048
    experts_active = 43 * 6 * 3 * 4096 * 2048
    non_expert_main = p.main - experts_all
    assert p.active == non_expert_main + experts_active
    assert p.active == pytest.approx(13.80e9, rel=0.001)


def test_v4_pro_active_exceeds_49b_label():
    # 61 layers × 6 of 384 experts × 3 × 7168 × 3072 = 24.18 B routed + 25.6 B non-expert → 49.78 B
    p = get_model("deepseek-v4-pro").params
    assert p.active == pytest.approx(49.78e9, rel=0.001)
    assert p.main == pytest.approx(1573.0e9, rel=0.001)  # label "1.6T" is rounded up (1.7% above)


def test_v4_layer_kinds_flash_and_pro():
    # Flash: 21 CSA (indexer) layers, 20 HCA, 2 SWA-only (C++ port test: "Indexer on 21 layers")
    flash = get_model("deepseek-v4-flash")
    idx_layers = {t.layer for t in flash.inventory if t.group == "indexer" and not t.mtp}
    comp_layers = {t.layer for t in flash.inventory if t.group == "compressor" and not t.mtp}
    assert len(idx_layers) == 21
    assert len(comp_layers) == 41  # "Compressor present on layers 2..42 == 41 layers"
    pro = get_model("deepseek-v4-pro")
    assert len({t.layer for t in pro.inventory if t.group == "indexer" and not t.mtp}) == 30


def test_v3_main_plus_mtp_matches_readme():
    # DeepSeek-V3 README: "685B ... includes 671B of the Main Model weights and 14B of the MTP"
    p = get_model("deepseek-v3").params
    assert p.main == pytest.approx(671e9, rel=0.001)
    assert p.by_group["mtp"] == pytest.approx(14e9, rel=0.05)
    assert p.active == pytest.approx(37e9, rel=0.02)  # "37B activated for each token"


def test_gemma4_counts_match_model_card():
    # 31B: 30.7B; 26B-A4B: 25.2B total / 3.8B active (model card figures, facts §5)
    g31 = get_model("gemma-4-31b").params
    assert g31.total == pytest.approx(30.7e9, rel=0.002)
    moe = get_model("gemma-4-26b-a4b").params
    assert moe.total == pytest.approx(25.2e9, rel=0.005)
    assert moe.active == pytest.approx(3.8e9, rel=0.01)


def test_gemma4_global_layers_have_no_v_proj_when_k_eq_v():
    inv = get_model("gemma-4-31b").inventory
    v_layers = {t.layer for t in inv if t.role == "v"}
    assert len(v_layers) == 50  # 60 layers, 10 global (K = V) without v_proj
    k_global = [t for t in inv if t.role == "k" and t.layer == 5]
    assert k_global[0].shape == (4 * 512, 5376)  # 4 global KV heads × global_head_dim 512


def test_llama_uses_config_head_dim_not_hidden_over_heads():
    cfg = {
        "hidden_size": 1024, "num_hidden_layers": 2, "num_attention_heads": 8,
        "num_key_value_heads": 2, "head_dim": 256, "intermediate_size": 3000, "vocab_size": 1000,
    }  # fmt: skip
    inv = inventory("llama", cfg)
    q = next(t for t in inv if t.role == "q")
    assert q.shape == (8 * 256, 1024)  # head_dim 256, not 1024 / 8 = 128
    c = count_params(inv)
    # per layer: q 2048·1024 + k,v 512·1024 each + o 1024·2048 + mlp 3·3000·1024 + 2 norms·1024
    per_layer = 2048 * 1024 + 2 * 512 * 1024 + 1024 * 2048 + 3 * 3000 * 1024 + 2 * 1024
    assert c.total == 2 * per_layer + 2 * 1000 * 1024 + 1024


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"compress_ratios": [0, 4]}, "compress_ratios has 2 entries"),
        ({"compress_ratios": [3] * 44}, "use 0, 4 or 128"),
        ({"hidden_size": None}, "missing 'hidden_size'"),
        ({"hidden_size": -5}, "whole number in 1.."),
    ],
)
def test_bad_v4_config_is_a_clear_error(change, message):
    cfg = {**get_model("deepseek-v4-flash").config, **change}
    with pytest.raises(VramkitError, match=message):
        deepseek_v4_inventory(cfg)


def test_unknown_family_suggests():
    with pytest.raises(VramkitError, match="deepseek_v4"):
        inventory("deepseek_v5", {})
