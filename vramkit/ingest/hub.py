"""Hugging Face Hub models by id: config.json, index and safetensors headers, never the weights.

Offline by default. With ``online=True`` (CLI ``--online``) or ``VRAMKIT_ALLOW_NETWORK=1``, it
downloads config.json and reads each shard's header with HTTP range requests
(`huggingface_hub.get_safetensors_metadata`), then caches what it read as one JSON file under
``$VRAMKIT_CACHE`` (default ``~/.cache/vramkit/hub``); later offline calls read that cache.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import VramkitError
from ..validate import (
    MAX_BYTES_FIELD,
    MAX_HUB_ID_CHARS,
    path_stat,
    read_json_object,
    regular_file,
    require_strict_int,
    require_text,
)

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
ENV_ALLOW = "VRAMKIT_ALLOW_NETWORK"


def looks_like_hub_id(text: str) -> bool:
    """``owner/name`` (at most `MAX_HUB_ID_CHARS` characters) that is not an existing local path."""
    return (
        isinstance(text, str)
        and len(text) <= MAX_HUB_ID_CHARS
        and bool(HUB_ID.match(text))
        and path_stat(text) is None
    )


def network_allowed(online: bool | None = None) -> bool:
    """True when the caller passed online=True or the environment sets VRAMKIT_ALLOW_NETWORK=1."""
    if online:
        return True
    return os.environ.get(ENV_ALLOW, "").strip().lower() in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    """Where hub reads are cached (``$VRAMKIT_CACHE/hub`` or ``~/.cache/vramkit/hub``)."""
    root = os.environ.get("VRAMKIT_CACHE") or Path.home() / ".cache" / "vramkit"
    return Path(root) / "hub"


@dataclass(frozen=True)
class HubSnapshot:
    """What the Hub said about a repo: its config.json (or None), index ``metadata.total_size``
    (or None) and per-file safetensors headers ``{file: {tensor: {dtype, shape, data_offsets}}}``."""

    repo_id: str
    revision: str
    config: dict[str, Any] | None
    total_size: int | None
    headers: dict[str, dict[str, Any]]


def _cache_path(repo_id: str, revision: str) -> Path:
    return cache_dir() / f"{repo_id.replace('/', '--')}@{revision.replace('/', '--')}.json"


def fetch(repo_id: str, *, online: bool | None = None, revision: str = "main") -> HubSnapshot:
    """Config + safetensors headers of a Hub repo (cache first; network only when allowed)."""
    repo_id = require_text("Hub id", repo_id, max_chars=MAX_HUB_ID_CHARS)
    if not HUB_ID.match(repo_id) or ".." in repo_id:
        raise VramkitError(
            f"{repo_id!r:.80} is not a local path nor a Hub id of the form owner/name "
            "(letters, digits, '-', '_', '.')."
        )
    revision = require_text("revision", revision, max_chars=MAX_HUB_ID_CHARS)
    if not HUB_ID.match(f"r/{revision}") or ".." in revision:
        raise VramkitError(f"revision {revision!r:.80} must be a branch, tag or commit name.")
    path = _cache_path(repo_id, revision)
    if path_stat(path, "Hub cache entry") is not None:
        return _read_cache(path, repo_id, revision)
    if not network_allowed(online):
        raise VramkitError(
            f"{repo_id!r} is not a local path and is not in vramkit's Hub cache ({cache_dir()}). "
            "vramkit uses no network unless asked: pass --online on the command line, "
            f"online=True in Python, or set {ENV_ALLOW}=1 to read its config and safetensors "
            "headers (a few hundred kB, never the weights)."
        )
    snap = _download(repo_id, revision)
    _write_cache(
        path,
        json.dumps({"config": snap.config, "total_size": snap.total_size, "headers": snap.headers}),
    )
    return snap


def _write_cache(path: Path, text: str) -> None:
    """Write a cache entry atomically (a temporary sibling renamed into place): an interrupted
    write never leaves half an entry behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise VramkitError(
            f"cannot write the Hub cache entry {str(path)!r}: {err.strerror}."
        ) from None


def _read_cache(path: Path, repo_id: str, revision: str) -> HubSnapshot:
    """A cache entry, validated like a download: a JSON object with ``config`` (object or null),
    ``total_size`` (whole bytes or null) and ``headers`` ({file: header object}). A poisoned or
    broken entry is refused with what was wrong (vramkit never deletes what it did not write)."""
    where = f"Hub cache entry {str(path)!r}"
    regular_file(path, "Hub cache entry")
    doc = read_json_object(path, where)
    missing = {"config", "total_size", "headers"} - set(doc)
    if missing:
        raise VramkitError(f"{where} lacks {sorted(missing)}; delete it to read the Hub again.")
    config, total, headers = doc["config"], doc["total_size"], doc["headers"]
    if config is not None and not isinstance(config, dict):
        raise VramkitError(f"{where}: 'config' must be an object or null; delete the entry.")
    if total is not None:
        total = require_strict_int(
            f"{where}: total_size", total, minimum=0, maximum=MAX_BYTES_FIELD
        )
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in headers.items()
    ):
        raise VramkitError(
            f"{where}: 'headers' must map file names to header objects; delete the entry."
        )
    return HubSnapshot(repo_id, revision, config, total, headers)


def _download(repo_id: str, revision: str) -> HubSnapshot:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()
    config: dict[str, Any] | None = None
    try:
        try:
            cfg_path = api.hf_hub_download(repo_id, "config.json", revision=revision)
            config = read_json_object(cfg_path, f"the Hub's config.json of {repo_id!r}")
        except HfHubHTTPError as err:
            if getattr(err.response, "status_code", None) != 404:
                raise
        meta = api.get_safetensors_metadata(repo_id, revision=revision)
    except VramkitError:
        raise
    except Exception as err:  # hub errors, HTTP errors, timeouts: one clear message
        raise VramkitError(
            f"could not read {repo_id!r} from the Hub ({type(err).__name__}: {str(err)[:300]})."
        ) from None
    headers = {
        fname: {
            name: {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": list(t.data_offsets)}
            for name, t in fmeta.tensors.items()
        }
        for fname, fmeta in meta.files_metadata.items()
    }
    total = (meta.metadata or {}).get("total_size") if meta.sharded else None
    return HubSnapshot(repo_id, revision, config, int(total) if total else None, headers)
