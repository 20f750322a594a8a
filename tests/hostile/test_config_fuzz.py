"""Fuzzing the readers: malformed configs, safetensors headers and GGUF files raise only
VramkitError (any other exception type fails the test), never hang, never return nonsense."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vramkit.catalog import get_model, model_ids
from vramkit.errors import VramkitError
from vramkit.model.configfile import model_from_config

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
BAD_VALUES = [None, -1, 0, 2**62, 1.5, float("nan"), "12", "", [], {}, True, [1, 2]]


def _accepts_or_vramkit_error(cfg) -> None:
    try:
        spec = model_from_config(cfg)
    except VramkitError as err:
        message = str(err).strip()
        if not message:
            pytest.fail(f"an empty VramkitError for {cfg!r}")
        return
    p = spec.params
    assert 0 <= p.active <= p.main <= p.total


# --------------------------------------------------------------------------- config.json


@FAST
@given(st.dictionaries(st.text(max_size=12), JSON, max_size=8))
def test_random_dicts(cfg):
    _accepts_or_vramkit_error(cfg)


@FAST
@given(
    model_id=st.sampled_from(model_ids()),
    key_index=st.integers(0, 10**6),
    value=st.sampled_from(BAD_VALUES) | JSON,
)
def test_one_field_of_a_real_config_broken(model_id, key_index, value):
    cfg = dict(get_model(model_id).config)
    keys = sorted(cfg)
    key = keys[key_index % len(keys)]
    cfg[key] = value
    _accepts_or_vramkit_error(cfg)


@pytest.mark.parametrize("model_id", model_ids())
def test_each_field_of_a_real_config_removed(model_id):
    base = dict(get_model(model_id).config)
    for key in sorted(base):
        cfg = {k: v for k, v in base.items() if k != key}
        _accepts_or_vramkit_error(cfg)


NEW_FAMILY_EXAMPLES = ("phi-2", "granite-3.1-2b-instruct", "granite-3.1-1b-a400m-instruct")
"""Example configs of families outside the catalog (granite, phi): broken like the catalog's."""


def _example(name: str) -> dict:
    root = Path(__file__).resolve().parents[2] / "data" / "examples"
    return json.loads((root / name / "config.json").read_text())


@pytest.mark.parametrize("name", NEW_FAMILY_EXAMPLES)
def test_each_field_of_an_example_config_removed_or_broken(name):
    base = _example(name)
    for key in sorted(base):
        _accepts_or_vramkit_error({k: v for k, v in base.items() if k != key})
        for value in BAD_VALUES:
            _accepts_or_vramkit_error({**base, key: value})


@pytest.mark.parametrize("qc", [-1, "fp8", [1]])
def test_quantization_config_of_the_wrong_type(qc):
    cfg = {**dict(get_model("deepseek-v4-flash").config), "quantization_config": qc}
    with pytest.raises(VramkitError):
        model_from_config(cfg)


@pytest.mark.parametrize("top", [[], "x", 3, None, [{"model_type": "llama"}]])
def test_not_a_mapping(top):
    with pytest.raises(VramkitError):
        model_from_config(top)


# --------------------------------------------------------------------------- safetensors

st_mod = pytest.importorskip("vramkit.ingest.safetensors_headers")


def _safetensors_bytes(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _good_safetensors() -> bytes:
    header = {
        "__metadata__": {"format": "pt"},
        "a.weight": {"dtype": "BF16", "shape": [4, 8], "data_offsets": [0, 64]},
        "b.bias": {"dtype": "F32", "shape": [8], "data_offsets": [64, 96]},
    }
    return _safetensors_bytes(header, bytes(96))


def _safetensors_cases() -> list[tuple[str, bytes]]:
    rng = random.Random(1234)
    good = _good_safetensors()
    cases: list[tuple[str, bytes]] = [("empty", b""), ("seven bytes", b"\x01" * 7)]
    for cut in sorted(rng.sample(range(1, len(good)), 30)):
        cases.append((f"truncated at {cut}", good[:cut]))
    for i in range(30):
        cases.append((f"random {i}", rng.randbytes(rng.randint(8, 400))))
    raw_len = len(good) - 8 - 96
    for n in (0, 1, raw_len - 1, raw_len + 1, len(good), 2**31, 2**63, 2**64 - 1, 100_000_001):
        cases.append((f"header length {n}", struct.pack("<Q", n) + good[8:]))
    for i in range(20):  # flip bytes inside the JSON
        b = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(8, 8 + raw_len)] = rng.randrange(256)
        cases.append((f"flipped {i}", bytes(b)))
    wrong = [
        [],
        "x",
        {"t": []},
        {"t": {"dtype": "BF16"}},
        {"t": {"dtype": "NOPE", "shape": [1], "data_offsets": [0, 2]}},
        {"t": {"dtype": "BF16", "shape": "4", "data_offsets": [0, 8]}},
        {"t": {"dtype": "BF16", "shape": [-4], "data_offsets": [0, 8]}},
        {"t": {"dtype": "BF16", "shape": [2.5], "data_offsets": [0, 5]}},
        {"t": {"dtype": "BF16", "shape": [True, 2], "data_offsets": [0, 4]}},
        {"t": {"dtype": "BF16", "shape": [4], "data_offsets": [8, 0]}},
        {"t": {"dtype": "BF16", "shape": [4], "data_offsets": [0]}},
        {"t": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 7]}},
        {"t": {"dtype": "BF16", "shape": [4], "data_offsets": [0, "8"]}},
        {"t": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8000]}},  # past the end
        {"t": {"dtype": "BF16", "shape": [2**40, 2**40], "data_offsets": [0, 8]}},
        {"t": {"dtype": None, "shape": None, "data_offsets": None}},
        {"t": 5},
        {"__metadata__": 3, "t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
    ]
    for i, header in enumerate(wrong):
        cases.append((f"wrong types {i}", _safetensors_bytes(header, bytes(8))))
    cases.append(("not utf-8", struct.pack("<Q", 4) + b"\xff\xfe\xfd\xfc"))
    cases.append(("json null", struct.pack("<Q", 4) + b"null"))
    cases.append(("nested deep", _safetensors_bytes(json.loads("[" * 50 + "]" * 50), b"")))
    return cases


SAFETENSORS_CASES = _safetensors_cases()


def _ingest(path):
    """The top-level reader (`vramkit.ingest.ingest`), offline."""
    from vramkit.ingest import ingest

    return ingest(path, online=False)


def test_safetensors_case_count():
    assert len(SAFETENSORS_CASES) >= 100


def test_good_safetensors_reads(tmp_path):
    p = tmp_path / "good.safetensors"
    p.write_bytes(_good_safetensors())
    rows = st_mod.file_rows(p)
    # a.weight: 4 × 8 BF16 = 64 B; b.bias: 8 F32 = 32 B
    assert [(name, nbytes) for name, _, _, nbytes in rows] == [("a.weight", 64), ("b.bias", 32)]


def test_malformed_safetensors_only_vramkit_error(tmp_path):
    accepted = []
    for label, blob in SAFETENSORS_CASES:
        p = tmp_path / "x.safetensors"
        p.write_bytes(blob)
        for fn in (st_mod.file_rows, st_mod.measure_safetensors, _ingest):
            try:
                fn(p)
            except VramkitError:
                continue
            except Exception as err:
                pytest.fail(f"{label}: {fn.__name__} raised {type(err).__name__}: {err}")
            accepted.append(label)
    # only the intact file and prefix-preserving mutations may be accepted
    assert all(not lbl.startswith(("truncated", "random", "header length")) for lbl in accepted), (
        accepted
    )


def test_malformed_index_only_vramkit_error(tmp_path):
    (tmp_path / "a.safetensors").write_bytes(_good_safetensors())
    for text in [
        "",
        "{",
        "[]",
        '{"weight_map": []}',
        '{"weight_map": {"t": "missing.safetensors"}}',
        '{"weight_map": {"t": 5}}',
    ]:
        (tmp_path / "model.safetensors.index.json").write_text(text)
        try:
            st_mod.measure_safetensors(tmp_path)
        except VramkitError:
            continue
        except Exception as err:
            pytest.fail(f"index {text!r}: {type(err).__name__}: {err}")


# --------------------------------------------------------------------------- GGUF

gguf_mod = pytest.importorskip("vramkit.ingest.gguf_file")


def _good_gguf(path: Path) -> bytes:
    import numpy as np
    from gguf import GGUFWriter

    w = GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_context_length(128)
    w.add_embedding_length(32)
    w.add_feed_forward_length(64)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_tensor("token_embd.weight", np.zeros((16, 32), dtype=np.float32))
    w.add_tensor("output_norm.weight", np.zeros((32,), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()


@pytest.fixture(scope="module")
def good_gguf(tmp_path_factory) -> bytes:
    return _good_gguf(tmp_path_factory.mktemp("gguf") / "good.gguf")


def _gguf_cases(good: bytes) -> list[tuple[str, bytes]]:
    rng = random.Random(4321)
    cases: list[tuple[str, bytes]] = [("empty", b""), ("magic only", b"GGUF")]
    for cut in sorted(rng.sample(range(5, len(good)), 40)):
        cases.append((f"truncated at {cut}", good[:cut]))
    for i in range(20):
        cases.append((f"random {i}", b"GGUF" + rng.randbytes(rng.randint(0, 300))))
    for i in range(40):  # corrupt the header/metadata region (versions, counts, lengths, types)
        b = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(4, min(len(b), 400))] = rng.randrange(256)
        cases.append((f"flipped {i}", bytes(b)))
    for n in (0, 2**32 - 1, 2**63, 2**64 - 1):  # huge tensor / kv counts
        b = bytearray(good)
        b[8:16] = struct.pack("<Q", n)
        cases.append((f"tensor count {n}", bytes(b)))
        b = bytearray(good)
        b[16:24] = struct.pack("<Q", n)
        cases.append((f"kv count {n}", bytes(b)))
    for v in (0, 1, 2, 4, 2**31):
        b = bytearray(good)
        b[4:8] = struct.pack("<I", v)
        cases.append((f"version {v}", bytes(b)))
    return cases


def test_good_gguf_reads(tmp_path, good_gguf):
    p = tmp_path / "g.gguf"
    p.write_bytes(good_gguf)
    rows = {name: nbytes for name, _, _, nbytes in gguf_mod.tensor_rows(p)}
    # token_embd 16 × 32 F32 = 2048 B; output_norm 32 F32 = 128 B
    assert rows == {"token_embd.weight": 2048, "output_norm.weight": 128}


def test_malformed_gguf_only_vramkit_error(tmp_path, good_gguf):
    cases = _gguf_cases(good_gguf)
    assert len(cases) >= 100
    failures = []
    for label, blob in cases:
        p = tmp_path / "x.gguf"
        p.write_bytes(blob)
        for fn in (gguf_mod.read_metadata, gguf_mod.tensor_rows, _ingest):
            try:
                fn(p)
            except VramkitError:
                continue
            except Exception as err:
                failures.append(f"{label}: {fn.__name__} raised {type(err).__name__}: {err}")
    assert not failures, "\n".join(failures[:15]) + f"\n({len(failures)} in all)"
