"""Hostile Hub answers to the online GGUF reader (vramkit/ingest/gguf_remote.py): a server
without Range support, a lying Content-Range, more or fewer bytes than announced, a total size
that changes, a header that declares more than vramkit reads, too many requests, a stalled server,
403 and 404. Each ends in one VramkitError that says what was wrong; every server is bound to
127.0.0.1 (tests/helpers/range_server.py) and every loop in the reader is bounded.
"""

from __future__ import annotations

import struct

import pytest
from range_server import REPO, converter_file, fake_hub

from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.ingest import gguf_remote, ingest

ADDRESS = f"hf://{REPO}/model.gguf"


def _gguf_head(n_tensors: int, n_kv: int, tail: bytes = b"") -> bytes:
    """A GGUF v3 header: magic, version, counts, then `tail`."""
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + tail


@pytest.fixture
def serve(monkeypatch, tmp_path):
    """serve(head, size, mode) → the `Served` record of a fake Hub holding model.gguf."""
    stack = []

    def start(head: bytes, size: int, mode: str = ""):
        cm = fake_hub(monkeypatch, tmp_path, {"model.gguf": (head, size)})
        served = cm.__enter__()
        served.mode = mode
        stack.append(cm)
        return served

    yield start
    for cm in stack:
        cm.__exit__(None, None, None)


def _refused(match: str) -> VramkitError:
    with pytest.raises(VramkitError, match=match) as info:
        ingest(ADDRESS, online=True)
    return info.value


def test_server_without_range_support_is_refused_and_not_downloaded(serve):
    head, size = converter_file("deepseek-v2-lite.gguf")  # 59 MB
    served = serve(head, size, "no-range")
    _refused(r"ignored the Range request .*HTTP 200 instead of 206.*does not download weights")
    assert len(served.requests) == 1
    assert served.bytes_sent < size // 2  # the reader hung up instead of reading the file


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        ("wrong-start", r"asked for bytes 0-4,095 but the server says it sent 8-"),
        ("extra-bytes", r"sent more than the 4,096 bytes its Content-Range announced"),
        ("short-body", r"truncated|could not read"),
        ("no-content-range", r"no valid Content-Range header"),
        ("huge-total", r"says the file is 18,446,744,073,709,551,616 bytes, more than"),
        ("forbidden", r"refused access \(HTTP 403\).*HF_TOKEN"),
    ],
)
def test_lying_or_refusing_server(serve, monkeypatch, mode, match):
    monkeypatch.setattr(gguf_remote, "FIRST_CHUNK", 4096)
    serve(*converter_file("llama-2.gguf"), mode)
    _refused(match)


def test_total_size_that_changes_between_answers(serve, monkeypatch):
    monkeypatch.setattr(gguf_remote, "FIRST_CHUNK", 4096)  # the 11 KB header takes 3 requests
    served = serve(*converter_file("llama-2.gguf"), "wrong-total")
    _refused(r"gave the file's size as 3,162,176 bytes, then as 3,162,177")
    assert len(served.requests) == 2


def test_missing_file_is_a_404(serve):
    serve(*converter_file("llama-2.gguf"))
    with pytest.raises(VramkitError, match=r"other\.gguf: not found on the Hub \(HTTP 404\)"):
        ingest(f"hf://{REPO}/other.gguf", online=True)


def test_huge_declared_string_is_refused_after_one_request(serve):
    # key 0 claims a 1 GiB name inside a declared 100 GB file: 24 + 8 + 2**30 bytes of header
    head = _gguf_head(0, 1, struct.pack("<Q", 2**30))
    served = serve(head, 100 * 10**9)
    _refused(r"needs at least 1,073,741,856 bytes, more than the 67,108,864 vramkit reads")
    assert len(served.requests) == 1
    assert served.bytes_sent == gguf_remote.FIRST_CHUNK


def test_huge_declared_counts_stop_at_the_byte_bound(serve, monkeypatch):
    """10^8 key/values (19 bytes each: a 6-byte key, u8 0) fit a 10 GB file's counts but not
    the bound on header bytes (lowered to 256 KiB to keep the test fast)."""
    monkeypatch.setattr(gguf_remote, "FIRST_CHUNK", 4096)
    monkeypatch.setattr(gguf_remote, "MAX_HEADER_BYTES", 256 * 1024)
    kvs = b"".join(struct.pack("<Q6sIB", 6, b"%06d" % i, 0, 0) for i in range(50_000))
    served = serve(_gguf_head(0, 10**8, kvs), 10 * 10**9)
    _refused(r"needs at least 262,1\d\d bytes, more than the 262,144 vramkit reads")
    # 4 KiB doubling to 256 KiB: 4, 8, 16, 32, 64, 128, 256 KiB
    assert len(served.requests) == 7
    assert served.bytes_sent == 256 * 1024


def test_request_bound(serve, monkeypatch):
    monkeypatch.setattr(gguf_remote, "FIRST_CHUNK", 4096)
    monkeypatch.setattr(gguf_remote, "MAX_REQUESTS", 2)
    served = serve(*converter_file("llama-2.gguf"))  # 11,328-byte header: 3 requests
    _refused(r"still incomplete after 2 range requests")
    assert len(served.requests) == 2


def test_stalled_server_times_out(serve, monkeypatch):
    monkeypatch.setattr(gguf_remote, "TIMEOUT_S", 0.5)
    serve(*converter_file("llama-2.gguf"), "stall")
    _refused(r"could not read .*Timeout")


def test_not_a_gguf_on_the_hub(serve):
    serve(b"PK\x03\x04" + bytes(60), 64)
    _refused(r"not a GGUF file")


def test_cli_one_error_line(serve, capsys):
    serve(*converter_file("llama-2.gguf"), "no-range")
    assert main(["inspect", ADDRESS, "--online"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("vramkit: error: ")
    assert "Range" in err[0]
