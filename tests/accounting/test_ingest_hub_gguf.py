"""A GGUF on the Hub sized from its header by HTTP range requests (issue 23, item 2), against a
fake Hub on 127.0.0.1 (tests/helpers/range_server.py) serving the converter-written fixtures of
tests/accounting/gguf_converter/ (header + zeros to the converter's file size); no real network.

The figures must equal those of the same file read locally, and the bytes sent must be the header
(plus at most one chunk of growth), never the weights.
"""

from __future__ import annotations

import json
import math

import pytest
from range_server import CONVERTER, REPO, converter_file, fake_hub, sparse_file

from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.ingest import gguf_remote, ingest
from vramkit.ingest.gguf_file import measure_gguf
from vramkit.ingest.gguf_layout import read_layout

WHOLE = ["llama-2.gguf", "deepseek-v2-lite.gguf", "qwen3-moe.gguf", "gemma-3.gguf", "gpt-oss.gguf"]


@pytest.fixture
def hub(monkeypatch, tmp_path):
    files = {name: converter_file(name) for name in [*WHOLE, "phi-4.gguf"]}
    for part in ("phi-4-00001-of-00002.gguf", "phi-4-00002-of-00002.gguf"):
        files[f"split/{part}"] = converter_file(part)
    with fake_hub(monkeypatch, tmp_path, files) as served:
        yield served


def _local(tmp_path, name):
    head, size = converter_file(name)
    return sparse_file(tmp_path, name, head, size)


def test_offline_by_default(hub):
    with pytest.raises(VramkitError, match="--online"):
        ingest(f"hf://{REPO}/llama-2.gguf")
    assert hub.requests == []  # nothing was asked of the server


@pytest.mark.parametrize("name", WHOLE)
def test_hub_figures_equal_the_local_file(hub, tmp_path, name):
    online = ingest(f"hf://{REPO}/{name}", online=True)
    m, cfg, meta = measure_gguf(_local(tmp_path, name))
    assert online.kind == "gguf"
    assert online.source == f"hf://{REPO}/{name}"
    assert online.measured.total_bytes == m.total_bytes
    assert online.measured.by_group == m.by_group
    assert online.measured.by_dtype == m.by_dtype
    assert dict(online.config) == cfg
    assert dict(online.gguf_metadata) == meta
    assert online.model is not None
    # one request of FIRST_CHUNK bytes holds these headers (10-37 KB): never the whole file
    _head, size = converter_file(name)
    assert hub.requests == [(name, f"bytes=0-{gguf_remote.FIRST_CHUNK - 1}")]
    assert hub.bytes_sent == min(gguf_remote.FIRST_CHUNK, size)
    assert hub.bytes_sent < size


@pytest.mark.parametrize("name", WHOLE)
def test_chunks_grow_and_stop_at_the_tensor_infos(hub, tmp_path, monkeypatch, name):
    """With a 4 KiB first chunk the reads double until the tensor infos end: the bytes sent
    are under twice the header, and no request starts inside the data section."""
    monkeypatch.setattr(gguf_remote, "FIRST_CHUNK", 4096)
    online = ingest(f"hf://{REPO}/{name}", online=True)
    data_start = read_layout(_local(tmp_path, name)).data_start
    assert online.measured.total_bytes == measure_gguf(_local(tmp_path, name))[0].total_bytes
    starts = [int(r.removeprefix("bytes=").split("-")[0]) for _, r in hub.requests]
    assert starts[0] == 0
    assert all(s < data_start for s in starts)
    assert hub.bytes_sent < 2 * data_start
    # held bytes at least double per request: 4 KiB · 2^(k-1) ≥ header → k ≤ 1 + ⌈log2(h/4K)⌉
    assert len(hub.requests) <= 1 + math.ceil(math.log2(data_start / 4096))
    assert len(hub.requests) >= 2  # these headers are all over 4 KiB


@pytest.mark.parametrize("first_chunk", [gguf_remote.FIRST_CHUNK, 4096])
def test_split_file_reads_each_part_header(hub, tmp_path, monkeypatch, first_chunk):
    monkeypatch.setattr(gguf_remote, "FIRST_CHUNK", first_chunk)
    split = ingest(f"hf://{REPO}/split/phi-4-00001-of-00002.gguf", online=True)
    whole, _, _ = measure_gguf(_local(tmp_path, "phi-4.gguf"))
    assert split.measured.total_bytes == whole.total_bytes
    assert split.measured.by_group == whole.by_group
    parts = ["phi-4-00001-of-00002.gguf", "phi-4-00002-of-00002.gguf"]
    assert sorted({name for name, _ in hub.requests}) == [f"split/{p}" for p in parts]
    sent = sum(
        min(2 * read_layout(_local(tmp_path, p)).data_start, converter_file(p)[1]) for p in parts
    )
    if first_chunk == 4096:  # each part: under twice its header
        assert hub.bytes_sent < sent
    else:  # one FIRST_CHUNK (or the whole part when it is smaller) per part
        assert hub.bytes_sent == sum(min(first_chunk, converter_file(p)[1]) for p in parts)


def test_split_later_part_is_refused_by_name(hub):
    with pytest.raises(VramkitError, match="give the first part"):
        ingest(f"hf://{REPO}/split/phi-4-00002-of-00002.gguf", online=True)


def test_missing_split_part_is_a_404(hub):
    del hub.files["split/phi-4-00002-of-00002.gguf"]
    with pytest.raises(VramkitError, match=r"phi-4-00002-of-00002\.gguf: not found .*404"):
        ingest(f"hf://{REPO}/split/phi-4-00001-of-00002.gguf", online=True)


def _json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_inspect_file_and_from_equal_the_local_file(hub, tmp_path, capsys):
    local = _local(tmp_path, "qwen3-moe.gguf")
    by_file = _json(["inspect", REPO, "--online", "--file", "qwen3-moe.gguf", "--json"], capsys)
    by_address = _json(["inspect", f"hf://{REPO}/qwen3-moe.gguf", "--online", "--json"], capsys)
    here = _json(["inspect", str(local), "--json"], capsys)
    for r in (by_file, by_address, here):
        r.pop("source")
    assert by_file == by_address == here
    weights = _json(
        ["weights", "--from", f"hf://{REPO}/qwen3-moe.gguf", "--online", "--json"], capsys
    )
    assert (
        weights["total_bytes"]
        == _json(["weights", "--from", str(local), "--json"], capsys)["total_bytes"]
    )


def test_layout_walk_reads_what_gguf_reader_reads(tmp_path):
    """The one walk (local and remote) decodes the same metadata and tensors as the `gguf`
    package's GGUFReader, on every converter fixture."""
    from gguf import GGUFReader

    from vramkit.ingest.gguf_file import read_metadata, tensor_rows

    manifest = json.loads((CONVERTER / "manifest.json").read_text())
    for row in manifest["files"]:
        path = _local(tmp_path, row["file"])
        r = GGUFReader(path, "r")
        expected = {}
        for key, f in r.fields.items():
            if key.startswith("tokenizer.ggml.") and key != "tokenizer.ggml.model":
                expected[key + ".count"] = len(f.data)
            else:
                expected[key] = f.contents()
        assert read_metadata(path) == expected, row["file"]
        rows = [(t.name, t.tensor_type.name, tuple(int(d) for d in t.shape)) for t in r.tensors]
        assert [x[:3] for x in tensor_rows(path)] == rows, row["file"]
