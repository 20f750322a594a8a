"""Property tests (hypothesis) over vramkit's public API: monotone, bounded, never negative/NaN."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vramkit.catalog import get_model, model_ids
from vramkit.errors import VramkitError, require_int, require_number
from vramkit.model.params import GROUPS
from vramkit.quant import custom_recipe, weight_bytes
from vramkit.quant.formats import format_names, get_format
from vramkit.units import GB, TB, GiB, KiB, MiB, fmt_gb, fmt_gib, parse_size, to_gb, to_gib

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODELS = model_ids()


@pytest.mark.parametrize("model_id", MODELS)
def test_weights_monotone_in_bits(model_id):
    # fewer bits per weight never gives more bytes: Q2_K (2.625 bpw) ≤ Q4_K (4.5) ≤ Q8_0 (8.5)
    # ≤ BF16 (16) ≤ FP32 (32), all over the same tensors
    m = get_model(model_id)
    sizes = [
        weight_bytes(m, f"uniform:{f}").total_bytes
        for f in ("Q2_K", "Q4_K", "Q8_0", "BF16", "FP32")
    ]
    assert sizes == sorted(sizes)
    assert sizes[0] > 0


@pytest.mark.parametrize("model_id", MODELS)
def test_llamacpp_file_types_monotone(model_id):
    # llama.cpp mixes: each file type spends at least as many bytes as the one below it
    m = get_model(model_id)
    ladder = ("Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")
    sizes = [weight_bytes(m, f"gguf-{t}").total_bytes for t in ladder]
    assert sizes == sorted(sizes), dict(zip(ladder, sizes, strict=True))
    # the S variants sit at or below their M variant
    assert weight_bytes(m, "gguf-Q4_K_S").total_bytes <= weight_bytes(m, "gguf-Q4_K_M").total_bytes
    assert weight_bytes(m, "gguf-Q5_K_S").total_bytes <= weight_bytes(m, "gguf-Q5_K_M").total_bytes


@pytest.mark.parametrize("model_id", MODELS)
def test_counts_are_consistent(model_id):
    m = get_model(model_id)
    p = m.params
    assert 0 < p.active <= p.main <= p.total
    w = weight_bytes(m)
    assert 0 < w.main_bytes <= w.total_bytes
    assert sum(w.by_group.values()) == w.total_bytes
    assert sum(w.by_format.values()) == w.total_bytes
    assert all(v >= 0 for v in w.by_group.values())
    assert sum(w.params_by_group.values()) == w.total_params == p.total
    assert math.isfinite(w.bits_per_weight)
    assert w.bits_per_weight > 0


_MATRIX_FORMATS = [
    f for f in format_names() if get_format(f).layout in ("float", "block2d", "group", "gguf")
]
_MATRIX_FORMATS = [f for f in _MATRIX_FORMATS if get_format(f).bits_per_weight > 0]


@FAST
@given(
    fmt=st.sampled_from(_MATRIX_FORMATS),
    rows=st.integers(1, 4096),
    blocks=st.integers(1, 64),
)
def test_tensor_bytes_monotone_and_close_to_bpw(fmt, rows, blocks):
    f = get_format(fmt)
    cols = blocks * max(f.block, 1) * (1 if f.layout == "gguf" else 128 // max(f.block, 1) or 1)
    b = f.tensor_bytes((rows, cols))
    assert b >= 0
    assert f.tensor_bytes((rows + 1, cols)) >= b
    # whole blocks: bytes = numel × bits_per_weight / 8 up to per-tensor constants and block
    # rounding of rows (block2d rounds rows up to the block: at most one extra row of scales)
    approx = rows * cols * f.bits_per_weight / 8
    assert b >= approx * 0.999 - 16
    assert b <= approx * 1.001 + f.tensor_bytes_extra + cols * (f.index_bits + f.scale_bits) + 64


_GROUP_KEYS = [g for g in GROUPS if g != "mtp"] + ["routed_experts", "*"]


@FAST
@given(
    model_id=st.sampled_from(MODELS),
    rules=st.dictionaries(
        st.sampled_from(_GROUP_KEYS), st.sampled_from(["Q2_K", "Q4_K", "Q8_0", "BF16"]), min_size=1
    ),
)
def test_custom_mix_between_its_extremes(model_id, rules):
    # any mix of Q2_K…BF16 lies between all-Q2_K and all-BF16 (same vectors, same tables)
    m = get_model(model_id)
    rules = {**rules, "*": rules.get("*", "Q8_0")}
    mixed = weight_bytes(m, custom_recipe(rules)).total_bytes
    low = weight_bytes(m, custom_recipe({"*": "Q2_K"})).total_bytes
    high = weight_bytes(m, custom_recipe({"*": "BF16"})).total_bytes
    assert low <= mixed <= high


# --------------------------------------------------------------------------- units

_UNITS = {"B": 1, "KB": 1000, "MB": 10**6, "GB": GB, "TB": TB, "KiB": KiB, "MiB": MiB, "GiB": GiB}


@FAST
@given(n=st.integers(0, 10**6), unit=st.sampled_from(sorted(_UNITS)), space=st.booleans())
def test_parse_size_whole_numbers(n, unit, space):
    text = f"{n}{' ' if space else ''}{unit}"
    assert parse_size(text) == n * _UNITS[unit]
    assert parse_size(text.lower()) == n * _UNITS[unit]


@FAST
@given(n_bytes=st.integers(0, 999 * GB))
def test_fmt_then_parse_round_trip_below_a_thousand(n_bytes):
    # fmt_gb prints 2 decimals: parsing it back lands within 0.005 GB
    assert abs(parse_size(fmt_gb(n_bytes)) - n_bytes) <= 0.005 * GB + 1
    assert abs(parse_size(fmt_gib(n_bytes)) - n_bytes) <= 0.005 * GiB + 1
    assert to_gb(n_bytes) * GB == pytest.approx(n_bytes)
    assert to_gib(n_bytes) * GiB == pytest.approx(n_bytes)


def test_fmt_then_parse_round_trip_with_thousands_separator():
    assert parse_size(fmt_gb(1_234_500_000_000)) == 1_234_500_000_000


@FAST
@given(
    st.one_of(
        st.text(max_size=20),
        st.floats(),
        st.integers(-(10**6), -1),
        st.booleans(),
        st.none(),
    )
)
def test_parse_size_only_raises_vramkit_error(value):
    try:
        out = parse_size(value)
    except VramkitError:
        return
    assert isinstance(out, int)
    assert out >= 0


@FAST
@given(
    st.one_of(
        st.text(max_size=12), st.floats(allow_nan=True), st.integers(), st.booleans(), st.none()
    )
)
def test_validators_only_raise_vramkit_error(value):
    for fn in (require_int, require_number):
        try:
            out = fn("x", value, minimum=0)
        except VramkitError:
            continue
        assert out >= 0
        assert out == out
