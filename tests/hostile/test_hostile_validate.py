"""The validation layer's own rules, one by one (vramkit/validate.py)."""

from __future__ import annotations

import json
import os
import re

import pytest

from vramkit.errors import VramkitError
from vramkit.families import check_config
from vramkit.kv import kv_cache
from vramkit.kv.estimate import KvEstimate
from vramkit.validate import (
    MAX_JSON_DEPTH,
    decode_text,
    json_depth,
    loads_json,
    read_json_object,
    regular_file,
    require_bool,
    require_finite_figures,
    require_strict_int,
)


def test_file_kinds_refused_before_opening(tmp_path):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    with pytest.raises(VramkitError, match="FIFO"):
        read_json_object(fifo, "config file")  # would block forever if it were opened
    with pytest.raises(VramkitError, match="character device"):
        regular_file("/dev/zero")
    with pytest.raises(VramkitError, match="folder"):
        regular_file(tmp_path)
    with pytest.raises(VramkitError, match="does not exist"):
        regular_file(tmp_path / "nope")


def test_encodings():
    assert decode_text(b"\xef\xbb\xbf{}", "f") == "{}"  # a UTF-8 BOM is dropped
    for raw, name in (("{}".encode("utf-16"), "UTF-16"), ("{}".encode("utf-32"), "UTF-32")):
        with pytest.raises(VramkitError, match=name):
            decode_text(raw, "f")
    with pytest.raises(VramkitError, match=r"byte 0xe9 at offset 7"):
        decode_text('{"a": "\u00e9"}'.encode("latin-1"), "f")


def test_json_bounds():
    assert json_depth('{"a": [[1]], "b": "[[[[[[[["}') == 11  # few brackets: their count, a bound
    assert json_depth('{"a": [[1]], "b": "' + "[" * 100 + '"}') == 3  # strings skipped
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert json_depth(deep) == MAX_JSON_DEPTH + 1
    assert json_depth('["' + "[" * 100 + '"]') == 1  # brackets inside a string do not nest
    with pytest.raises(VramkitError, match="levels deep"):
        loads_json(deep, "t")
    assert loads_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "t") is not None
    for text, needle in (("1" * 31, "digit"), ("NaN", "NaN"), ("1e999", "float")):
        with pytest.raises(VramkitError, match=needle):
            loads_json(text, "t")
    assert loads_json(str(2**64), "t") == 2**64


def test_booleans_and_integers_are_strict():
    assert require_bool("b", False) is False
    for bad in ("false", "no", 0, 1, None, [True]):
        with pytest.raises(VramkitError, match="boolean"):
            require_bool("b", bad)
    assert require_strict_int("n", 4096.0, minimum=1) == 4096
    for bad in ("32", True, 1.5, float("nan"), None, [1]):
        with pytest.raises(VramkitError, match="whole number >= 1"):
            require_strict_int("n", bad, minimum=1)
    with pytest.raises(VramkitError, match=r"must be in 1\.\.10"):
        require_strict_int("n", 11, minimum=1, maximum=10)


def test_config_rules_name_field_value_and_allowed():
    base = {"num_attention_heads": 32, "num_key_value_heads": 8, "hidden_size": 4096}
    check_config(base)
    cases = {
        "tie_word_embeddings": ("false", "boolean"),
        "num_key_value_heads": (7, "must divide num_attention_heads 32"),
        "hidden_size": (0, "hidden_size must be in 1..16,777,216, got 0"),
        "num_hidden_layers": (10_001, "num_hidden_layers must be in 1..10,000"),
        "sliding_window": (-1, "sliding_window"),
        "compress_ratios": ([4, "x"], "compress_ratios[1]"),
        "layer_types": ("full", "layer_types"),
    }
    for field, (value, needle) in cases.items():
        with pytest.raises(VramkitError, match=re.escape(needle)):
            check_config({**base, field: value})
    check_config({**base, "q_lora_rank": None, "num_nextn_predict_layers": 0})  # null / 0 allowed


def test_records_refuse_negative_nan_and_infinite_figures():
    est = kv_cache("llama-3.1-70b", 1024)
    fields = {f: getattr(est, f) for f in est.__dataclass_fields__}
    for name, bad in (("total_bytes", -1), ("slope_bytes_per_token", float("nan"))):
        with pytest.raises(VramkitError, match=name):
            KvEstimate(**{**fields, name: bad})
    with pytest.raises(VramkitError, match="by_kind"):
        require_finite_figures("R", by_kind={"full": float("inf")})


def test_kv_bytes_exact_beyond_int64():
    cfg = json.loads(json.dumps({
        "model_type": "llama", "hidden_size": 1 << 24, "num_hidden_layers": 10_000,
        "num_attention_heads": 1 << 16, "num_key_value_heads": 1 << 16, "head_dim": 1 << 24,
        "vocab_size": 32000, "intermediate_size": 1024, "max_position_embeddings": 1 << 27,
    }))  # fmt: skip
    from vramkit.model.configfile import model_from_config

    spec = model_from_config(cfg)
    est = kv_cache(spec, 1 << 27, batch=10**6)
    # GQA: T · 2 (K and V) · kv_heads · head_dim · 2 bytes (bf16) · layers · batch, exactly
    expected = (1 << 27) * 2 * (1 << 16) * (1 << 24) * 2 * 10_000 * 10**6
    assert est.total_bytes == expected > 2**63
