"""A GGUF file on the Hugging Face Hub sized from its header, read with HTTP Range requests.

``hf://OWNER/REPO/FILE.gguf`` (``hf://OWNER/REPO@REVISION/FILE.gguf`` for another branch, tag
or commit). Only with ``online=True`` (CLI ``--online``) or ``VRAMKIT_ALLOW_NETWORK=1``
(`vramkit.ingest.hub.network_allowed`). The file's address comes from
``huggingface_hub.hf_hub_url`` (which follows ``HF_ENDPOINT``); its first `FIRST_CHUNK` bytes
are fetched, and while the header walk (`gguf_layout.parse_layout`, the same one local files
get) runs past the bytes at hand, the next range is fetched, each request at least doubling
what is held. The walk stops at the end of the tensor infos: no request starts past the header,
and the bytes read are at most max(`FIRST_CHUNK`, 2 × the header). Bounds: `MAX_HEADER_BYTES`
and `MAX_REQUESTS` per file, `MAX_TOTAL_BYTES` over all the parts of a split file
(``-00001-of-0000N.gguf``, each part's header read the same way), as gguf-parser-go reads
remote files (https://github.com/gpustack/gguf-parser-go, ``ParseGGUFFileRemote``). Every
answer is checked: status 206, a ``Content-Range`` that is the range asked for, one total size
in every answer, exactly as many bytes as announced. Nothing is cached: each call reads the
headers again.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import VramkitError
from ..validate import MAX_BYTES_FIELD, MAX_HUB_ID_CHARS
from .gguf_file import measure_parts, split_names
from .gguf_layout import Layout, NeedMore, parse_layout
from .hub import ENV_ALLOW, HUB_ID, network_allowed
from .measured import Measured

SCHEME = "hf://"
MiB = 2**20
FIRST_CHUNK = 1 * MiB
"""Bytes asked for first (a 262,144-token vocabulary takes about 4–6 MiB of header)."""
MAX_HEADER_BYTES = 64 * MiB
"""Most bytes read from one file: a larger header is refused."""
MAX_REQUESTS = 8
"""Most range requests per file (1 MiB doubling to 64 MiB takes 7)."""
MAX_TOTAL_BYTES = 256 * MiB
"""Most bytes read over all the parts of a split file."""
TIMEOUT_S = 30.0
"""Seconds to wait for each answer."""

_FILE = re.compile(r"^(?:[\w.-]+/)*[\w.-]+\.gguf$")
_CONTENT_RANGE = re.compile(r"^bytes (\d{1,20})-(\d{1,20})/(\d{1,20})$")


@dataclass(frozen=True)
class HubFile:
    """A file in a Hub model repo: ``repo_id``, ``revision``, ``filename`` (path in the repo)."""

    repo_id: str
    revision: str
    filename: str

    def __str__(self) -> str:
        rev = "" if self.revision == "main" else f"@{self.revision}"
        return f"{SCHEME}{self.repo_id}{rev}/{self.filename}"

    def sibling(self, name: str) -> HubFile:
        """The file `name` in the same folder of the repo."""
        folder = self.filename.rpartition("/")[0]
        return HubFile(self.repo_id, self.revision, f"{folder}/{name}" if folder else name)


def parse_hub_file(text: str) -> HubFile:
    """``hf://OWNER/REPO[@REVISION]/PATH/FILE.gguf`` → `HubFile` (a VramkitError otherwise)."""
    form = f"{SCHEME}OWNER/REPO/FILE.gguf (or {SCHEME}OWNER/REPO@REVISION/FILE.gguf)"
    if not isinstance(text, str) or not text.startswith(SCHEME) or len(text) > 1_000:
        raise VramkitError(f"{str(text)[:80]!r} is not a Hub GGUF address {form}.")
    owner, _, rest = text[len(SCHEME) :].partition("/")
    repo, _, filename = rest.partition("/")
    name, _, revision = repo.partition("@")
    repo_id = f"{owner}/{name}"
    revision = revision or "main"
    if (
        not HUB_ID.match(repo_id)
        or len(repo_id) > MAX_HUB_ID_CHARS
        or ".." in repo_id
        or not HUB_ID.match(f"r/{revision}")
        or ".." in revision
    ):
        raise VramkitError(
            f"{text[:120]!r}: the repo must be OWNER/NAME and the revision a branch, tag or "
            f"commit (letters, digits, '-', '_', '.'); the form is {form}."
        )
    if not _FILE.match(filename) or ".." in filename.split("/"):
        raise VramkitError(
            f"{text[:120]!r}: the file must be a path inside the repo ending in .gguf (letters, "
            f"digits, '-', '_', '.', folders with '/', no '..'); the form is {form}."
        )
    return HubFile(repo_id, revision, filename)


def hub_file_from_id(repo_id: str, filename: str) -> str:
    """``inspect OWNER/REPO --file NAME.gguf`` as the ``hf://`` address `parse_hub_file` reads."""
    return str(parse_hub_file(f"{SCHEME}{repo_id}/{filename}"))


def file_url(f: HubFile) -> str:
    """The file's resolve URL (``huggingface_hub.hf_hub_url``, honouring ``HF_ENDPOINT``)."""
    from huggingface_hub import hf_hub_url

    endpoint = os.environ.get("HF_ENDPOINT") or None
    return hf_hub_url(f.repo_id, f.filename, revision=f.revision, endpoint=endpoint)


class _Budget:
    """Bytes left over all the parts of one read (`MAX_TOTAL_BYTES`)."""

    def __init__(self, total: int) -> None:
        self.left = total


def _get_range(session: Any, url: str, where: str, start: int, end: int) -> tuple[bytes, int]:
    """Bytes ``start..end`` (inclusive) and the file's total size, from a checked 206 answer."""
    from huggingface_hub.utils import build_hf_headers

    headers = {
        **build_hf_headers(),
        "Range": f"bytes={start}-{end}",
        "Accept-Encoding": "identity",
    }
    with session.stream("GET", url, headers=headers, timeout=TIMEOUT_S) as r:
        status = r.status_code
        if status == 404:
            raise VramkitError(
                f"{where}: not found on the Hub (HTTP 404); check the repo id, the file name "
                "and the revision."
            )
        if status in (401, 403):
            raise VramkitError(
                f"{where}: the Hub refused access (HTTP {status}); a gated or private repo "
                "needs a token (HF_TOKEN or `hf auth login`) with access to it."
            )
        if status == 200:
            raise VramkitError(
                f"{where}: the server ignored the Range request and began sending the whole file "
                "(HTTP 200 instead of 206); vramkit reads GGUF headers only by range and does "
                "not download weights. Download the file and give its local path."
            )
        if status != 206:
            raise VramkitError(
                f"{where}: the Hub answered HTTP {status} to a range request for bytes "
                f"{start:,}-{end:,}."
            )
        m = _CONTENT_RANGE.match(r.headers.get("content-range", "").strip())
        if not m:
            raise VramkitError(
                f"{where}: the answer to a range request has no valid Content-Range header "
                f"(got {r.headers.get('content-range', '')!r:.80}); expected 'bytes A-B/SIZE'."
            )
        got0, got1, total = (int(g) for g in m.groups())
        if got0 != start or got1 > end or got1 < got0 or got1 >= total:
            raise VramkitError(
                f"{where}: asked for bytes {start:,}-{end:,} but the server says it sent "
                f"{got0:,}-{got1:,} of {total:,} (Content-Range): the answer does not match the "
                "request."
            )
        if total > MAX_BYTES_FIELD:
            raise VramkitError(
                f"{where}: the server says the file is {total:,} bytes, more than vramkit "
                f"accepts ({MAX_BYTES_FIELD:,})."
            )
        want = got1 - got0 + 1
        body = bytearray()
        for chunk in r.iter_bytes():
            body += chunk
            if len(body) > want:
                raise VramkitError(
                    f"{where}: the server sent more than the {want:,} bytes its Content-Range "
                    f"announced ({start:,}-{got1:,}); refusing the answer."
                )
        if len(body) != want:
            raise VramkitError(
                f"{where}: the server announced bytes {got0:,}-{got1:,} ({want:,} bytes) but "
                f"sent {len(body):,}: the answer is truncated."
            )
        return bytes(body), total


def read_header(f: HubFile, budget: _Budget | None = None, *, session: Any = None) -> Layout:
    """The layout of a Hub GGUF file from range requests over its first bytes only."""
    if session is None:
        from huggingface_hub.utils import get_session

        session = get_session()
    budget = budget or _Budget(MAX_TOTAL_BYTES)
    url, where = file_url(f), str(f)
    buf, total, requests = b"", None, 0
    want = FIRST_CHUNK
    while True:
        if requests >= MAX_REQUESTS:
            raise VramkitError(
                f"{where}: the GGUF header is still incomplete after {MAX_REQUESTS} range "
                f"requests ({len(buf):,} bytes); vramkit stops there."
            )
        limit = min(MAX_HEADER_BYTES, budget.left + len(buf))
        end = min(want, limit) - 1 if total is None else min(want, limit, total) - 1
        if end < len(buf):
            raise _too_large(where, len(buf) + 1, limit)
        chunk, size = _get_range(session, url, where, len(buf), end)
        requests += 1
        budget.left -= len(chunk)
        if total is not None and size != total:
            raise VramkitError(
                f"{where}: the server gave the file's size as {total:,} bytes, then as "
                f"{size:,} (Content-Range): the file changed or the answers are inconsistent."
            )
        total, buf = size, buf + chunk
        try:
            return parse_layout(buf, total, where)
        except NeedMore as more:
            if more.need > MAX_HEADER_BYTES:
                raise _too_large(where, more.need, MAX_HEADER_BYTES) from None
            want = max(more.need, 2 * len(buf))


def _too_large(where: str, need: int, limit: int) -> VramkitError:
    return VramkitError(
        f"{where}: the GGUF header (metadata and tensor infos) needs at least {need:,} bytes, "
        f"more than the {limit:,} vramkit reads (at most {MAX_HEADER_BYTES:,} bytes a file, "
        f"{MAX_TOTAL_BYTES:,} over all parts of a split file): the file is corrupt or its "
        "header too large to size by range."
    )


def measure_hub_gguf(
    address: str, *, online: bool | None = None
) -> tuple[Measured, dict[str, Any], dict[str, Any]]:
    """`(Measured, config, metadata)` of ``hf://OWNER/REPO/FILE.gguf`` from its header(s)."""
    f = parse_hub_file(address)
    if not network_allowed(online):
        raise VramkitError(
            f"{str(f)!r} is a file on the Hugging Face Hub; vramkit uses no network unless "
            "asked: pass --online on the command line, online=True in Python, or set "
            f"{ENV_ALLOW}=1 to read its GGUF header by HTTP range requests (never the "
            "weights)."
        )
    from huggingface_hub.utils import get_session

    session, budget = get_session(), _Budget(MAX_TOTAL_BYTES)
    try:
        first = read_header(f, budget, session=session)
        names = split_names(f.filename.rpartition("/")[2], first.metadata)
        return measure_parts(
            str(f),
            names,
            first,
            lambda name: read_header(f.sibling(name), budget, session=session),
        )
    except VramkitError:
        raise
    except Exception as err:  # connection errors, timeouts, hub errors: one clear message
        raise VramkitError(
            f"could not read {str(f)!r} from the Hub ({type(err).__name__}: {str(err)[:300]})."
        ) from None
