"""Hypothesis strategies for hostile configs, safetensors headers and JSON texts: every input is
refused with a VramkitError or answered with exact, non-negative integers that obey the rules
the validation layer states (acceptance implies validity)."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vramkit.errors import VramkitError
from vramkit.ingest.safetensors_headers import DTYPE_BITS, parse_header
from vramkit.kv import kv_cache
from vramkit.model.configfile import model_from_config
from vramkit.quant import weight_bytes
from vramkit.validate import MAX_DIM, MAX_HEADS, MAX_LAYERS, loads_json

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE_VALUE = (
    st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, 2, 7, 8, 32, 64, 128, MAX_DIM, MAX_DIM + 1, 2**53 + 1])
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.lists(st.integers(0, 8), max_size=3)
)
FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
    "head_dim",
    "intermediate_size",
    "max_position_embeddings",
    "sliding_window",
    "tie_word_embeddings",
    "num_experts",
    "num_experts_per_tok",
    "moe_intermediate_size",
)


def _attempt(fn):
    """(result, None) or (None, the VramkitError): any other exception fails the test."""
    try:
        return fn(), None
    except VramkitError as err:
        return None, err


def _build(cfg):
    spec = model_from_config(cfg)
    return spec, weight_bytes(spec), kv_cache(spec, 1024, batch=3)


BASE = {
    "model_type": "qwen3_moe",
    "hidden_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "vocab_size": 1000,
    "head_dim": 64,
    "intermediate_size": 1024,
    "max_position_embeddings": 4096,
    "num_experts": 16,
    "num_experts_per_tok": 2,
    "moe_intermediate_size": 256,
}


@FAST
@given(st.dictionaries(st.sampled_from(FIELDS), HOSTILE_VALUE, min_size=1, max_size=4))
def test_hostile_config_refused_or_exact(changes):
    cfg = {**BASE, **changes}
    got, err = _attempt(lambda: _build(cfg))
    if err is not None:
        assert str(err).strip()
        assert "\n" not in str(err)
        return
    spec, w, kv = got
    c = spec.config
    # acceptance implies validity: the stated rules hold for what was accepted
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        assert type(c[key]) is int
        assert c[key] >= 1
    assert c["num_hidden_layers"] <= MAX_LAYERS
    assert c["num_attention_heads"] <= MAX_HEADS
    kv_heads = c.get("num_key_value_heads") or c["num_attention_heads"]  # None: one per head
    assert c["num_attention_heads"] % kv_heads == 0
    tie = c.get("tie_word_embeddings")
    assert tie is None or type(tie) is bool  # None: the family default (untied here)
    p = spec.params
    assert 0 <= p.active <= p.main <= p.total
    assert type(w.total_bytes) is int
    assert w.total_bytes > 0
    assert type(kv.total_bytes) is int
    assert kv.total_bytes == 3 * kv.per_sequence_bytes >= 0
    tied = c.get("tie_word_embeddings", False)
    assert (w.by_group["lm_head"] == 0) == bool(tied)


ENTRY = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from([*DTYPE_BITS, "Q9", ""])
        | st.lists(st.sampled_from(list(DTYPE_BITS)), max_size=1),
        "shape": st.lists(st.integers(-2, 2**40) | st.booleans() | st.floats(0, 8), max_size=4),
        "data_offsets": st.lists(st.integers(-2, 2**54), min_size=0, max_size=3),
    }
)


@FAST
@given(st.dictionaries(st.text(min_size=1, max_size=6), ENTRY | HOSTILE_VALUE, max_size=5))
def test_hostile_header_refused_or_exact(header):
    rows, err = _attempt(lambda: parse_header(header, origin="h"))
    if err is not None:
        assert str(err).strip()
        return
    spans = []
    for name, dtype, shape, nbytes in rows:
        entry = header[name]
        assert nbytes == -(-math.prod(shape) * DTYPE_BITS[dtype] // 8)  # exact, no float
        spans.append(tuple(entry["data_offsets"]))
    nonempty = sorted(s for s in spans if s[0] < s[1])
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(nonempty)), "overlap accepted"


def test_element_count_above_2_53_is_exact():
    n = 2**53 + 1
    rows = parse_header({"w": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}, origin="h")
    assert rows == [("w", "U8", (n,), n)]


@FAST
@given(st.text(max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_hostile_json_text_refused_or_parsed(text):
    _, err = _attempt(lambda: loads_json(text, "t"))
    assert err is None or str(err).strip()


@FAST
@given(
    st.recursive(
        st.integers() | st.text(max_size=3), lambda x: st.lists(x, max_size=2), max_leaves=80
    )
)
def test_nested_json_depth_bound_is_exact(doc):
    text = json.dumps(doc)
    got, err = _attempt(lambda: loads_json(text, "t"))
    if err is None:
        assert got == doc
    else:
        assert "deep" in str(err) or "digit" in str(err)


def test_subprocess_socket_guard_is_active(tmp_path):
    """The env-based guard of test_hostile_subprocess.py really blocks connects."""
    import importlib.util

    here = os.path.dirname(__file__)
    spec = importlib.util.spec_from_file_location(
        "hostile_sub", os.path.join(here, "test_hostile_subprocess.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    env = mod._env(tmp_path)
    code = "import socket\ntry:\n socket.create_connection(('127.0.0.1', 9), timeout=1)\nexcept OSError as e:\n print(e)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert "refused by the test guard" in out.stdout
    assert (tmp_path / "network.log").exists()
