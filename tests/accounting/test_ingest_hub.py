"""The Hub path against a fake repo served on 127.0.0.1 (config.json, index, two safetensors
shards with HTTP Range support); no real network. Offline behaviour and the cache."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from safetensors.numpy import save_file

from vramkit.errors import VramkitError
from vramkit.ingest import ingest

REPO = "acme/tiny-moe"
CONFIG = {
    "model_type": "qwen3_moe",
    "hidden_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
    "intermediate_size": 128,
    "moe_intermediate_size": 32,
    "num_experts": 4,
    "num_experts_per_tok": 2,
    "vocab_size": 16,
    "torch_dtype": "float16",
}


def _repo_files(tmp: Path) -> dict[str, bytes]:
    shard_a = {"model.embed_tokens.weight": np.zeros((16, 64), np.float16)}  # 16×64×2 = 2,048 B
    shard_b = {  # 4 experts × down [64, 32] × 2 B = 16,384 B
        f"model.layers.0.mlp.experts.{e}.down_proj.weight": np.zeros((64, 32), np.float16)
        for e in range(4)
    }
    save_file(shard_a, str(tmp / "a.safetensors"))
    save_file(shard_b, str(tmp / "b.safetensors"))
    index = {
        "metadata": {"total_size": 2_048 + 16_384},
        "weight_map": {
            **dict.fromkeys(shard_a, "model-00001-of-00002.safetensors"),
            **dict.fromkeys(shard_b, "model-00002-of-00002.safetensors"),
        },
    }
    return {
        "config.json": json.dumps(CONFIG).encode(),
        "model.safetensors.index.json": json.dumps(index).encode(),
        "model-00001-of-00002.safetensors": (tmp / "a.safetensors").read_bytes(),
        "model-00002-of-00002.safetensors": (tmp / "b.safetensors").read_bytes(),
    }


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    ranges: ClassVar[list[str]] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _lookup(self) -> bytes | None:
        prefix = f"/{REPO}/resolve/main/"
        if not self.path.startswith(prefix):
            return None
        return self.files.get(self.path[len(prefix) :].split("?")[0])

    def _headers(self, body: bytes, status: int, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest() + '"')
        self.send_header("X-Repo-Commit", "0" * 40)
        self.end_headers()

    def do_HEAD(self):
        body = self._lookup()
        if body is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.end_headers()
            return
        self._headers(body, 200, len(body))

    def do_GET(self):
        body = self._lookup()
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rng = self.headers.get("Range") or self.headers.get("range")
        if rng:
            type(self).ranges.append(rng)
            start, _, end = rng.removeprefix("bytes=").partition("-")
            chunk = body[int(start) : min(int(end) + 1, len(body)) if end else len(body)]
            self._headers(body, 206, len(chunk))
            self.wfile.write(chunk)
            return
        self._headers(body, 200, len(body))
        self.wfile.write(body)


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    import huggingface_hub.constants as hc

    _Handler.files = _repo_files(tmp_path)
    _Handler.ranges = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(hc, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        hc, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("VRAMKIT_CACHE", str(tmp_path / "vramkit-cache"))
    monkeypatch.delenv("VRAMKIT_ALLOW_NETWORK", raising=False)
    yield _Handler
    server.shutdown()
    server.server_close()


def test_offline_by_default(fake_hub):
    with pytest.raises(VramkitError, match="--online"):
        ingest(REPO)
    assert fake_hub.ranges == []  # nothing was fetched


def test_online_reads_headers_by_range_then_cache(fake_hub, monkeypatch):
    ing = ingest(REPO, online=True)
    assert ing.kind == "hub"
    assert fake_hub.ranges, "headers must be read with HTTP Range requests"
    # embed 16 × 64 × 2 B = 2,048; routed down: 4 × 64 × 32 × 2 B = 16,384
    assert ing.measured.by_group["embed"] == 2_048
    assert ing.measured.by_group["routed_experts_down"] == 16_384
    assert ing.official_total_size == 18_432 == ing.measured.total_bytes
    assert ing.model is not None
    assert ing.model.family == "llama"
    # the second read comes from vramkit's cache: no network allowed, none used
    fake_hub.ranges.clear()
    again = ingest(REPO)
    assert again.measured.by_group == ing.measured.by_group
    assert fake_hub.ranges == []


def test_env_allows_network_and_missing_repo_is_clear(fake_hub, monkeypatch):
    monkeypatch.setenv("VRAMKIT_ALLOW_NETWORK", "1")
    with pytest.raises(VramkitError, match="could not read 'acme/missing'"):
        ingest("acme/missing")
