"""Ingest from local files the tests write: tiny safetensors (safetensors.numpy) and GGUF
(gguf.GGUFWriter). Bytes pinned by arithmetic written out in each test."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from tiny_model import write_tiny

from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.ingest import compare_with_estimate, ingest
from vramkit.ingest.gguf_file import measure_gguf
from vramkit.ingest.safetensors_headers import measure_safetensors


def test_f16_tensor_bytes_exact(tmp_path):
    # a [64, 128] F16 tensor = 64 × 128 × 2 = 16,384 bytes
    save_file({"model.layers.0.self_attn.q_proj.weight": np.zeros((64, 128), np.float16)},
              str(tmp_path / "m.safetensors"))  # fmt: skip
    m = measure_safetensors(tmp_path / "m.safetensors")
    assert m.total_bytes == 16_384
    assert m.by_group["attention"] == 16_384
    assert m.by_dtype == {"F16": 16_384}
    assert m.params_by_group["attention"] == 64 * 128


def test_folder_matches_architecture_estimate_per_group(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    ing = ingest(folder)
    assert ing.kind == "safetensors"
    assert ing.model is not None
    assert ing.model.family == "llama"
    # embed = vocab 64 × hidden 128 × 2 B = 16,384; attention per layer = q (128×128) + k, v
    # (64×128 each) + o (128×128) = 49,152 elements; × 2 layers × 2 B = 196,608
    assert ing.measured.by_group["embed"] == 64 * 128 * 2 == 16_384
    assert ing.measured.by_group["attention"] == 2 * (128 * 128 * 2 + 64 * 128 * 2) * 2
    for row in compare_with_estimate(ing):
        assert row["diff_bytes"] == 0, row
    assert ing.official_total_size == ing.measured.total_bytes
    assert ing.measured.total_params == ing.model.params.total


def test_unknown_tensor_goes_to_other_and_scales_follow_weight(tmp_path):
    extra = {
        "rotary.inv_freq_custom": np.zeros((32,), np.float32),  # 32 × 4 = 128 B → other
        # FP8-style companion: its bytes count with the routed expert it scales
        "model.layers.0.mlp.experts.0.down_proj.weight_scale_inv": np.zeros((2, 2), np.float32),
    }
    ing = ingest(write_tiny(tmp_path / "tiny", extra))
    assert ing.measured.other_names == ("rotary.inv_freq_custom",)
    assert ing.measured.by_group["other"] == 128
    assert ing.measured.by_group["routed_experts_down"] == 2 * 2 * 4
    assert ing.measured.params_by_group["routed_experts_down"] == 0  # scales are not parameters


def test_config_only_and_bare_safetensors_file(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    cfg = ingest(folder / "config.json")
    assert cfg.model.params.main == ingest(folder).model.params.main
    one = ingest(folder / "a.safetensors")
    assert one.measured.total_bytes < ingest(folder).measured.total_bytes


def _header_file(path: Path, header: bytes, n: int | None = None, tail: bytes = b"") -> Path:
    path.write_bytes(struct.pack("<Q", len(header) if n is None else n) + header + tail)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: (p.write_bytes(b"abc"), p)[1], "too short"),
        (lambda p: _header_file(p, b"{}", n=2**40), "exceeds"),
        (lambda p: _header_file(p, b"{}", n=1000), "truncated"),
        (lambda p: _header_file(p, b"{not json"), "not valid UTF-8 JSON"),
        (lambda p: _header_file(p, b"[1, 2]"), "JSON object"),
        (
            lambda p: _header_file(
                p,
                json.dumps(
                    {"x": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 6]}}
                ).encode(),
                tail=b"\0" * 8,
            ),
            "corrupt",
        ),
        (
            lambda p: _header_file(
                p,
                json.dumps({"x": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 2]}}).encode(),
                tail=b"\0" * 2,
            ),
            "unknown dtype",
        ),
    ],
)
def test_bad_safetensors_files(tmp_path, make, message):
    path = make(tmp_path / "bad.safetensors")
    with pytest.raises(VramkitError, match=message):
        measure_safetensors(path)


def test_truncated_safetensors_data(tmp_path):
    p = tmp_path / "m.safetensors"
    save_file({"w": np.zeros((64, 128), np.float16)}, str(p))
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(VramkitError, match="truncated"):
        measure_safetensors(p)


def test_wrong_file_types(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(VramkitError, match=r"reads config\.json"):
        ingest(tmp_path / "notes.txt")
    (tmp_path / "fake.gguf").write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(VramkitError, match="not a GGUF file"):
        ingest(tmp_path / "fake.gguf")
    with pytest.raises(VramkitError, match="does not exist"):
        ingest(tmp_path / "missing" / "config.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VramkitError, match="holds no"):
        ingest(tmp_path / "empty")


# ----------------------------------------------------------------------------- GGUF


def _write_gguf(path: Path, *, nextn: int = 0) -> Path:
    import gguf
    from gguf import GGMLQuantizationType as Q

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(2 + nextn)
    w.add_embedding_length(256)
    w.add_feed_forward_length(512)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_key_length(64)
    w.add_value_length(64)
    w.add_context_length(4096)
    w.add_vocab_size(32)
    w.add_sliding_window(128)
    if nextn:
        w.add_nextn_predict_layers(nextn)
    q8 = gguf.quants.quantize(np.ones((32, 256), np.float32), Q.Q8_0)
    w.add_tensor("blk.0.ffn_down.weight", q8, raw_dtype=Q.Q8_0)
    w.add_tensor("blk.0.attn_q.weight", np.zeros((64, 128), np.float16))
    w.add_tensor("token_embd.weight", np.zeros((32, 256), np.float32))
    w.add_tensor("blk.1.mystery.weight", np.zeros((8,), np.float32))
    if nextn:
        w.add_tensor("blk.2.nextn.eh_proj.weight", np.zeros((16, 16), np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_gguf_bytes_and_config(tmp_path):
    m, cfg, meta = measure_gguf(_write_gguf(tmp_path / "tiny.gguf"))
    # Q8_0 [32, 256]: 32 rows × 256/32 blocks × 34 B = 8,704; F16 [64, 128]: 16,384;
    # F32 [32, 256] = 32,768; F32 [8] = 32
    assert m.by_group["dense_mlp"] == 32 * (256 // 32) * 34 == 8_704
    assert m.by_group["attention"] == 16_384
    assert m.by_group["embed"] == 32 * 256 * 4
    assert m.by_group["other"] == 32
    assert m.by_dtype["Q8_0"] == 8_704
    assert m.dtype_counts == {"Q8_0": 1, "F16": 1, "F32": 2}
    assert m.params_by_group["dense_mlp"] == 32 * 256
    assert cfg["model_type"] == "llama"
    assert cfg["num_hidden_layers"] == 2
    assert cfg["num_key_value_heads"] == 2
    assert cfg["head_dim"] == 64
    assert cfg["sliding_window"] == 128
    assert meta["general.architecture"] == "llama"


def test_gguf_mtp_blocks(tmp_path):
    m, cfg, _ = measure_gguf(_write_gguf(tmp_path / "mtp.gguf", nextn=1))
    assert cfg["num_hidden_layers"] == 2  # block_count 3 − 1 nextn layer
    assert m.by_group["mtp"] == 16 * 16 * 2


def test_gguf_ingest_builds_model(tmp_path):
    ing = ingest(_write_gguf(tmp_path / "tiny.gguf"))
    assert ing.kind == "gguf"
    assert ing.model is not None
    assert ing.model.family == "llama"


def test_truncated_gguf(tmp_path):
    p = _write_gguf(tmp_path / "t.gguf")
    p.write_bytes(p.read_bytes()[:-4000])
    with pytest.raises(VramkitError, match=r"truncated|corrupt|past the end"):
        ingest(p)
    p.write_bytes(b"GGUF" + b"\xff" * 20)
    with pytest.raises(VramkitError, match="truncated or corrupt"):
        ingest(p)


# ----------------------------------------------------------------------------- CLI


def test_cli_inspect_json(tmp_path, capsys):
    folder = write_tiny(tmp_path / "tiny")
    assert main(["inspect", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["family"] == "llama"
    assert out["measured"]["total_bytes"] == out["official_total_size"]
    assert {d["dtype"] for d in out["measured"]["dtypes"]} == {"F16"}
    assert all(c["diff_bytes"] == 0 for c in out["compare"])
    assert out["attention_layers"] == 2


def test_cli_inspect_text_and_weights_from(tmp_path, capsys):
    folder = write_tiny(tmp_path / "tiny")
    assert main(["inspect", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "dtype histogram" in text
    assert "GiB" in text
    assert main(["weights", "--from", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_bytes"] == ingest(folder).measured.total_bytes


def test_cli_offline_hub_id_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VRAMKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VRAMKIT_ALLOW_NETWORK", raising=False)
    assert main(["inspect", "someone/some-model"]) == 2
    err = capsys.readouterr().err
    assert "--online" in err
    assert "VRAMKIT_ALLOW_NETWORK=1" in err
