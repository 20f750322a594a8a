"""Property tests of vramkit.kv: monotone in context, linear in batch, sliding windows saturate."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

kv = pytest.importorskip("vramkit.kv")

from vramkit.catalog import model_ids  # noqa: E402
from vramkit.errors import VramkitError  # noqa: E402
from vramkit.runtimes import runtime_ids  # noqa: E402

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RUNTIMES = runtime_ids()
DTYPES = kv.cache_dtypes()


def _kv(model, context, **kw):
    try:
        return kv.kv_cache(model, context, **kw)
    except VramkitError:
        assume(False)  # a dtype the runtime does not offer: not this property's business


@FAST
@given(
    model=st.sampled_from(model_ids()),
    runtime=st.sampled_from(RUNTIMES),
    dtype=st.sampled_from(DTYPES),
    t1=st.integers(1, 1 << 20),
    dt=st.integers(0, 1 << 18),
)
def test_monotone_in_context(model, runtime, dtype, t1, dt):
    a = _kv(model, t1, runtime=runtime, cache_dtype=dtype)
    b = _kv(model, t1 + dt, runtime=runtime, cache_dtype=dtype)
    assert 0 < a.total_bytes <= b.total_bytes
    for kind, v in a.by_kind.items():
        assert 0 <= v <= b.by_kind[kind], kind  # every part grows or stays, none shrinks
    assert a.total_bytes == sum(a.by_kind.values())


@FAST
@given(
    model=st.sampled_from(model_ids()),
    runtime=st.sampled_from(RUNTIMES),
    context=st.integers(1, 1 << 20),
    batch=st.integers(1, 512),
)
def test_linear_in_batch(model, runtime, context, batch):
    one = _kv(model, context, runtime=runtime)
    many = _kv(model, context, runtime=runtime, batch=batch)
    if one.layout == "ik_llama.cpp" and any(k in one.by_kind for k in ("csa", "hca")):
        # ik_llama.cpp sizes DeepSeek V4's compressed caches by the total context, once per
        # stream (src/llama-dsv4.cpp L886-L888, L946-L964 at 8337e4cd): more than linear
        assert many.total_bytes >= batch * one.total_bytes
        assert many.total_bytes == batch * many.per_sequence_bytes
        return
    # every sequence holds its own cache: batch × one sequence, exactly
    assert many.total_bytes == batch * one.total_bytes
    assert many.per_sequence_bytes == one.per_sequence_bytes
    assert many.per_gpu_bytes <= many.total_bytes or many.tp > 1


@pytest.mark.parametrize("model", ["gemma-4-31b", "gemma-4-26b-a4b"])
def test_gemma_sliding_part_saturates_at_the_window(model):
    # reference layout: sliding layers keep min(T, window=1024) tokens, so beyond the window
    # only the global ("full") layers grow
    w = 1024
    at = kv.kv_cache(model, w).by_kind
    for t in (w + 1, 4 * w, 64 * w, 256 * w):
        later = kv.kv_cache(model, t).by_kind
        assert later["sliding"] == at["sliding"], t
        assert later["full"] > at["full"]
    assert kv.kv_cache(model, w - 1).by_kind["sliding"] < at["sliding"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("model", ["gemma-4-31b", "deepseek-v4-flash", "deepseek-v4-pro"])
def test_windowed_parts_constant_at_long_context(model, runtime):
    # every runtime's window / state buffers stop growing somewhere below 200K tokens
    # (vLLM sizes them by window − 1 + max_num_batched_tokens, llama.cpp pads by the ubatch)
    kinds = ("sliding", "window", "state")
    # ik_llama.cpp keeps its windows at full context unless --swa-compress (cache_size)
    opts = {"swa_compress": True} if runtime == "ik-llama.cpp" else {}
    opts["allow_extrapolation"] = True  # 1M is past some models' limit: an explicit what-if
    a = kv.kv_cache(model, 200_000, runtime=runtime, **opts).by_kind
    b = kv.kv_cache(model, 1_000_000, runtime=runtime, **opts).by_kind
    present = [k for k in kinds if k in a]
    assert present
    for k in present:
        assert a[k] == b[k], (k, a[k], b[k])


def test_v4_per_token_growth_far_below_v32():
    # V4-Pro at 1M in bf16: 9.62 GiB (vLLM blog) vs 83.9 GiB for a V3.2-style stack: ≈ 8.7×
    pro = kv.kv_cache("deepseek-v4-pro", "1M").total_bytes
    v32 = kv.kv_cache("deepseek-v3.2", "1M", allow_extrapolation=True).total_bytes
    assert 8.0 < v32 / pro < 9.0
