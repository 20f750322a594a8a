"""The top-level Python API: lazy names resolve to the functions of their modules."""

import pytest

import vramkit


def test_api_names_resolve_and_compute():
    m = vramkit.get_model("deepseek-v4-flash")
    # official index total_size of DeepSeek-V4-Flash
    assert vramkit.weight_bytes(m).total_bytes == 159_609_485_896
    # vLLM blog: V4-Pro at 1M tokens in bf16, state excluded = 10,334,371,840 B
    pro = vramkit.kv_cache("deepseek-v4-pro", 1_048_576)
    assert pro.total_bytes - pro.by_kind["state"] == 10_334_371_840
    for name in vramkit.__all__:
        assert getattr(vramkit, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = vramkit.nope
