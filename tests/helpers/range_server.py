"""A fake Hugging Face Hub on 127.0.0.1 that serves GGUF files with HTTP Range support, counting
the requests and the bytes it sends; `mode` makes it misbehave on purpose (no Range support, a
lying Content-Range, more or fewer bytes than announced). Shared by the online GGUF tests.

A file is served as its header followed by zeros up to its size (as the converter-fixture tests
pad headers to a sparse file), so a test can serve a multi-MB file without holding it.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = "acme/tiny-gguf"
CONVERTER = Path(__file__).resolve().parents[1] / "accounting" / "gguf_converter"


@dataclass
class Served:
    """What the server holds and what it did: files ``{path in repo: (header, size)}``,
    ``requests`` [(path, Range header or None)] to files of the repo, ``other`` (paths outside
    it, such as huggingface_hub's own ``/api/…`` calls, answered 404), ``bytes_sent``, and the misbehaviour `mode`:
    "" (honest), "no-range" (200 + whole file), "wrong-start", "wrong-total" (the total changes
    after the first answer), "extra-bytes", "short-body", "no-content-range", "huge-total", "forbidden" (403), "stall" (3 s before each
    answer)."""

    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    mode: str = ""
    sent: int = 0
    in_flight: int = 0
    idle: threading.Condition = field(default_factory=threading.Condition)

    @property
    def bytes_sent(self) -> int:
        """Bytes written to clients, read once no request is being answered (the handler thread
        may still be writing when the client has its answer; bounded wait)."""
        with self.idle:
            self.idle.wait_for(lambda: self.in_flight == 0, timeout=30)
            return self.sent

    def content(self, name: str, start: int, end: int) -> bytes:
        head, size = self.files[name]
        end = min(end, size - 1)
        body = head[start : end + 1]
        return body + bytes(end + 1 - start - len(body))


def _handler(served: Served) -> type[http.server.BaseHTTPRequestHandler]:
    prefix = f"/{REPO}/resolve/main/"

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _send(self, body: bytes) -> None:
            try:
                self.wfile.write(body)
                served.sent += len(body)
            except OSError:  # the client hung up (as it should on a refused answer)
                pass

        def do_GET(self):
            with served.idle:
                served.in_flight += 1
            try:
                self._get()
            finally:
                with served.idle:
                    served.in_flight -= 1
                    served.idle.notify_all()

        def _get(self) -> None:
            rng = self.headers.get("Range")
            if not self.path.startswith(prefix):  # huggingface_hub's own calls (/api/…)
                served.other.append(self.path)
                name = ""
            else:
                name = self.path[len(prefix) :].split("?")[0]
                served.requests.append((name, rng))
            if name not in served.files:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if served.mode == "stall":  # answers after the client's timeout
                time.sleep(3)
            if served.mode == "forbidden":
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = served.files[name][1]
            m = re.fullmatch(r"bytes=(\d+)-(\d+)", rng or "")
            if served.mode == "no-range" or not m:
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                for start in range(0, size, 1 << 20):  # streamed: the client stops reading
                    self._send(served.content(name, start, start + (1 << 20) - 1))
                return
            start, end = int(m.group(1)), min(int(m.group(2)), size - 1)
            body = served.content(name, start, end)
            said0, said1, total = start, end, size
            if served.mode == "wrong-start":
                said0, said1 = start + 8, end + 8
            if served.mode == "wrong-total" and len(served.requests) > 1:
                total = size + 1
            if served.mode == "huge-total":
                total = 2**64
            if served.mode == "extra-bytes":
                body += b"\0" * 64
            length = len(body)
            if served.mode == "short-body":
                body = body[: len(body) // 2]
            self.send_response(206)
            self.send_header("Content-Length", str(length))
            if served.mode != "no-content-range":
                self.send_header("Content-Range", f"bytes {said0}-{said1}/{total}")
            self.end_headers()
            self._send(body)
            if served.mode == "short-body":
                self.close_connection = True

    return Handler


@contextlib.contextmanager
def fake_hub(monkeypatch, tmp_path: Path, files: dict[str, tuple[bytes, int]]) -> Iterator[Served]:
    """Serve `files` under ``REPO`` on 127.0.0.1 and point huggingface_hub at it (HF_ENDPOINT);
    the server stops when the block ends."""
    import huggingface_hub.constants as hc

    served = Served(files=dict(files))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(hc, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        hc, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("VRAMKIT_CACHE", str(tmp_path / "vramkit-cache"))
    monkeypatch.delenv("VRAMKIT_ALLOW_NETWORK", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def converter_file(name: str) -> tuple[bytes, int]:
    """A converter fixture (tests/accounting/gguf_converter): its header and its file size."""
    import json

    manifest = json.loads((CONVERTER / "manifest.json").read_text())
    row = next(r for r in manifest["files"] if r["file"] == name)
    return (CONVERTER / row["header"]).read_bytes(), row["size"]


def sparse_file(folder: Path, name: str, head: bytes, size: int) -> Path:
    """The same file on disk: `head`, then zeros to `size` (sparse)."""
    path = folder / name
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path
