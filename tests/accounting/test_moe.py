"""vramkit.moe: routing arithmetic, total vs active bytes, decode and all-to-all bounds."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.moe import (
    ExpertLayer,
    MoeSplit,
    all_to_all,
    decode_bound,
    expected_experts_touched,
    moe_split,
    offload_gpu_bytes,
    routing_probabilities,
    step_read_bytes,
)
from vramkit.quant import weight_bytes


def test_uniform_touched_hand_worked() -> None:
    # E=8, k=2: one token touches exactly 2; two tokens 8·(1 − (6/8)^2) = 8·7/16 = 3.5
    assert expected_experts_touched(8, 2, 1) == pytest.approx(2.0)
    assert expected_experts_touched(8, 2, 2) == pytest.approx(3.5)
    assert expected_experts_touched(8, 2, 0) == 0.0
    # k = E: every expert every time
    assert expected_experts_touched(4, 4, 3) == pytest.approx(4.0)


def test_zipf_touched_hand_worked() -> None:
    # E=2, k=1, s=1: p = (1, 1/2)/1.5 = (2/3, 1/3); B=2: (1 − (1/3)^2) + (1 − (2/3)^2) = 13/9
    assert expected_experts_touched(2, 1, 2, zipf_s=1.0) == pytest.approx(13 / 9)
    # caching the popular one leaves only expert 2: 1 − (2/3)^2 = 5/9
    assert expected_experts_touched(2, 1, 2, zipf_s=1.0, cached=1) == pytest.approx(5 / 9)


def test_routing_cap_redistributes() -> None:
    # E=3, k=2, s=4: weights 1, 1/16, 1/81; 2·p_0 > 1 so q_0 = 1 and the remaining mass 1 is
    # shared 1/16 : 1/81 → q_1 = 81/97, q_2 = 16/97
    q = routing_probabilities(3, 2, zipf_s=4.0)
    assert q == pytest.approx((1.0, 81 / 97, 16 / 97))
    assert sum(q) == pytest.approx(2.0)


def test_v4_flash_routed_bytes_hand_worked() -> None:
    # MXFP4 = 4 bits + one 8-bit scale per 32 → 4.25 bits; one 2048×4096 matrix =
    # 2048·4096·4.25/8 = 4,456,448 B; 3 matrices per expert = 13,369,344 B;
    # × 256 experts × 43 layers = 147,169,738,752 B
    s = moe_split(get_model("deepseek-v4-flash"))
    assert s.layers[0].expert_bytes == 13_369_344
    assert (len(s.layers), s.layers[0].experts, s.layers[0].top_k) == (43, 256, 6)
    assert s.routed_bytes == 147_169_738_752
    # active routed = 6 of 256: 43 · 6 · 13,369,344 = 3,449,290,752
    routed_active = sum(
        s.active_bytes_by_group[g] for g in ("routed_experts_gate_up", "routed_experts_down")
    )
    assert routed_active == 3_449_290_752
    # cross-checks against the params / quant modules
    m = get_model("deepseek-v4-flash")
    assert s.active_params == m.params.active
    assert s.total_bytes == weight_bytes(m).main_bytes


def test_resident_at_batch_one_equals_active() -> None:
    # one token touches exactly k experts per layer, so resident(1) = active bytes
    s = moe_split(get_model("deepseek-v4-flash"))
    assert step_read_bytes(s, 1) == s.active_bytes
    assert step_read_bytes(s, 10_000) <= s.total_bytes


def _toy() -> MoeSplit:
    return MoeSplit(
        model_id="toy",
        recipe_id="toy",
        total_params=0,
        active_params=0,
        total_bytes=1400,
        active_bytes=1200,
        dense_bytes=1000,
        embed_bytes=0,
        embed_row_bytes=0,
        bytes_by_group={},
        active_bytes_by_group={},
        layers=(ExpertLayer(0, 4, 2, 100, 0),),
    )


def test_decode_bound_hand_worked() -> None:
    s = _toy()
    # all in GPU: 1000 dense + 2 experts × 100 = 1200 B per token at 1200 B/s → 1 token/s
    d = decode_bound(s, batch=1, hbm_bytes_per_s=1200)
    assert (d.weight_read_bytes, d.tokens_per_s, d.limited_by) == (1200, 1.0, "gpu memory")
    # 2 of 4 experts cached: misses = 2 · 2/4 = 1 expert = 100 B over 50 B/s = 2 s → 0.5 token/s
    o = decode_bound(s, batch=1, hbm_bytes_per_s=1200, cached_experts=2, link_bytes_per_s=50)
    assert o.transfer_bytes == 100
    assert o.tokens_per_s == pytest.approx(0.5)
    assert o.limited_by == "link"
    # KV: 300 B per sequence → (1200 + 300)/1500 = 1 s
    assert (
        decode_bound(s, batch=1, hbm_bytes_per_s=1500, kv_read_bytes_per_sequence=300).step_seconds
        == 1.0
    )
    assert offload_gpu_bytes(s, 2) == 1200
    with pytest.raises(VramkitError, match="link_bytes_per_s"):
        decode_bound(s, batch=1, hbm_bytes_per_s=1, cached_experts=0)


def test_all_to_all_v4_pro_hand_worked() -> None:
    # hidden 7168 × top-6 × (2 + 2 bytes BF16) = 172,032 B per token per layer; remote 7/8 of
    # it at EP=8; 61 MoE layers → 61 · 172,032 · 7/8 = 9,182,208 B per token;
    # 8 GPUs × 50e9 B/s (400 Gb/s NDR) / 9,182,208 = 43,563.2 tokens/s
    a = all_to_all(get_model("deepseek-v4-pro"), ep=8, link_bytes_per_s=50e9)
    assert a.bytes_per_token_per_layer == 172_032
    assert a.bytes_per_token == pytest.approx(9_182_208)
    assert a.tokens_per_s == pytest.approx(8 * 50e9 / 9_182_208)
    assert all_to_all(get_model("deepseek-v4-pro"), ep=1, link_bytes_per_s=1).bytes_per_token == 0


def test_bad_input_is_a_vramkit_error() -> None:
    with pytest.raises(VramkitError, match="top_k"):
        expected_experts_touched(4, 5, 1)
    with pytest.raises(VramkitError, match="zipf_s"):
        expected_experts_touched(4, 2, 1, zipf_s=-1)
    with pytest.raises(VramkitError, match="tokens"):
        expected_experts_touched(4, 2, -3)
    with pytest.raises(VramkitError, match="no routed experts"):
        all_to_all(get_model("gemma-4-31b"), ep=2, link_bytes_per_s=1e9)


@settings(max_examples=60, deadline=None)
@given(
    e=st.integers(1, 400),
    k=st.integers(1, 16),
    b=st.integers(0, 5000),
    s=st.floats(0, 4),
)
def test_touched_bounded_and_monotone_in_batch(e: int, k: int, b: int, s: float) -> None:
    k = min(k, e)
    t = expected_experts_touched(e, k, b, zipf_s=s)
    assert 0 <= t <= min(e, k * b) + 1e-9
    assert expected_experts_touched(e, k, b + 1, zipf_s=s) >= t - 1e-9
    assert math.fsum(routing_probabilities(e, k, zipf_s=s)) == pytest.approx(k)


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 2000), c=st.integers(0, 256))
def test_decode_bound_monotone(b: int, c: int) -> None:
    s = moe_split(get_model("deepseek-v4-flash"))
    one = decode_bound(s, batch=b, hbm_bytes_per_s=4.8e12)
    more = decode_bound(s, batch=b + 1, hbm_bytes_per_s=4.8e12)
    assert more.gpu_read_bytes >= one.gpu_read_bytes  # a bigger batch reads at least as much
    assert more.tokens_per_s >= one.tokens_per_s * (1 - 1e-12)  # and amortises it
    off = decode_bound(s, batch=b, hbm_bytes_per_s=4.8e12, cached_experts=c, link_bytes_per_s=64e9)
    assert off.tokens_per_s <= one.tokens_per_s * (1 + 1e-12)  # offload never speeds up


def test_active_labels_are_counted_without_the_embedding_lookup() -> None:
    from vramkit.moe import active_label_check

    # V4-Flash per token: 13,801,959,511 with the embedding row; minus embed 129,280 × 4,096 =
    # 529,530,880 → 13,272,428,631 ≈ "13B"; V4-Pro minus 129,280 × 7,168 = 926,679,040 →
    # 48,854,729,059 ≈ "49B" (with it 49.78 B would round to 50B); V3 → 36.63 B ≈ "37B"
    flash = active_label_check("deepseek-v4-flash")
    assert flash.without_embedding == flash.all_params - 129_280 * 4_096 == 13_272_428_631
    pro = active_label_check("deepseek-v4-pro")
    assert pro.without_embedding == pro.all_params - 129_280 * 7_168
    assert pro.matches == ("without_embedding",)
    assert active_label_check("deepseek-v3").matches == ("without_embedding",)
    assert "without_embedding" in flash.matches
    # Gemma's "3.8B active" counts the embedding (3.82 B with it, 3.08 B without)
    assert active_label_check("gemma-4-26b-a4b").matches == ("all_params",)
