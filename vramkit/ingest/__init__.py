"""Bring your own model: a catalog-compatible `ModelSpec` plus exact measured bytes from a local
config.json, safetensors files (headers only), a GGUF file, a Hugging Face Hub id, or a GGUF
file on the Hub (``hf://OWNER/REPO/FILE.gguf``: its header by HTTP range requests, with --online).

``ingest(path_or_id)`` → `Ingested`: ``model`` (built by `vramkit.model.configfile.model_from_config`
when a config is present and its architecture is known; else None with ``model_note`` saying
why), ``measured`` (exact stored bytes per tensor group and dtype; None for a bare config),
``official_total_size`` (``metadata.total_size`` of model.safetensors.index.json).
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..callable_module import make_callable
from ..catalog import ModelSpec
from ..datafiles import DATA_DIR
from ..errors import VramkitError
from ..model.configfile import model_from_config, read_config, text_config
from ..validate import path_stat, read_bytes, regular_file, require_optional_bool, require_path
from . import gguf_remote, hub
from .gguf_file import measure_gguf
from .measured import Measured, TensorInfo, summarise
from .names import ALL_GROUPS, OTHER, group_of
from .safetensors_headers import index_total_size, measure_safetensors, parse_header, read_index

__all__ = [
    "ALL_GROUPS",
    "OTHER",
    "Ingested",
    "Measured",
    "TensorInfo",
    "compare_with_estimate",
    "group_of",
    "ingest",
]

PROJECT_ROOT = DATA_DIR.parent
"""Relative paths that do not exist from the working directory are tried from here."""


@dataclass(frozen=True)
class Ingested:
    """A model read from outside the catalog (see module docstring)."""

    source: str
    kind: str
    config: Mapping[str, Any] | None
    model: ModelSpec | None
    model_note: str
    measured: Measured | None
    official_total_size: int | None = None
    gguf_metadata: Mapping[str, Any] = field(default_factory=dict)

    def require_model(self) -> ModelSpec:
        """The `ModelSpec`, or a VramkitError saying why there is none."""
        if self.model is None:
            raise VramkitError(f"{self.source}: no architecture estimate: {self.model_note}")
        return self.model


def _main_layers(cfg: Mapping[str, Any] | None) -> int | None:
    if not cfg:
        return None
    n = cfg.get("num_hidden_layers")
    return n if isinstance(n, int) and cfg.get("num_nextn_predict_layers") else None


def _model(cfg: Mapping[str, Any] | None, name: str, total: int | None):
    if cfg is None:
        return None, "no config.json found next to the weights."
    try:
        return model_from_config(cfg, name=name, total_size_bytes=total), ""
    except VramkitError as err:
        return None, str(err)


def ingest(path_or_id: str | Path, *, online: bool | None = None) -> Ingested:
    """Read a local config.json / folder / .safetensors / .gguf, or a Hub id (see module doc).

    Only regular files and folders are read: FIFOs, devices and sockets are refused before
    they are opened (`vramkit.validate`)."""
    online = require_optional_bool("online", online)
    if isinstance(path_or_id, str) and path_or_id.strip().startswith(gguf_remote.SCHEME):
        return _from_hub_gguf(path_or_id.strip(), online)  # before a path would merge its '//'
    text = str(require_path("model path or Hub id", path_or_id)).strip()
    p = Path(text).expanduser()
    if path_stat(p) is None and not p.is_absolute() and path_stat(PROJECT_ROOT / p) is not None:
        p = PROJECT_ROOT / p  # e.g. data/examples/… from a notebook's folder
    st = path_stat(p, "model path")
    if st is None:
        if hub.looks_like_hub_id(text):
            return _from_hub(text, online)
        raise VramkitError(
            f"{text!r:.200} does not exist: give a config.json, a model folder, a .safetensors or "
            ".gguf file, a Hugging Face Hub id such as 'Qwen/Qwen3-30B-A3B', or a GGUF file on "
            "the Hub as hf://OWNER/REPO/FILE.gguf (with --online)."
        )
    folder_given = stat.S_ISDIR(st.st_mode)
    if not folder_given:
        regular_file(p, "model file")  # FIFOs, devices, sockets: refused before opening
    if not folder_given and (p.suffix == ".gguf" or _magic(p) == b"GGUF"):
        return _from_gguf(p, text)
    folder = p if folder_given else p.parent
    if not folder_given and p.suffix not in (".json", ".safetensors"):
        raise VramkitError(
            f"{p.name}: vramkit reads config.json, .safetensors and .gguf files, got {p.suffix!r}."
        )
    cfg_path = p if p.suffix == ".json" and not folder_given else folder / "config.json"
    cfg = text_config(read_config(cfg_path)) if path_stat(cfg_path) is not None else None
    total = index_total_size(read_index(folder))
    measured = None
    if p.suffix == ".safetensors" and not folder_given:
        measured = measure_safetensors(p, main_layers=_main_layers(cfg))
    elif folder_given and any(folder.glob("*.safetensors")):
        measured = measure_safetensors(folder, main_layers=_main_layers(cfg))
    elif folder_given and cfg is None:
        ggufs = sorted(folder.glob("*.gguf"))
        if ggufs:
            return _from_gguf(ggufs[0], str(ggufs[0]))
        raise VramkitError(f"{p} holds no config.json, .safetensors or .gguf file.")
    model, note = _model(cfg, str(cfg_path), total)
    kind = "safetensors" if measured else "config"
    return Ingested(text, kind, cfg, model, note, measured, total)


def _magic(p: Path) -> bytes:
    try:
        return read_bytes(p, "model file", limit=4)
    except VramkitError:
        return b""


def _from_gguf(p: Path, source: str) -> Ingested:
    measured, cfg, meta = measure_gguf(p)
    model, note = _model(cfg, str(p), None)
    return Ingested(source, "gguf", cfg, model, note, measured, None, meta)


def _from_hub_gguf(address: str, online: bool | None) -> Ingested:
    measured, cfg, meta = gguf_remote.measure_hub_gguf(address, online=online)
    model, note = _model(cfg, measured.source, None)
    return Ingested(measured.source, "gguf", cfg, model, note, measured, None, meta)


def _from_hub(repo_id: str, online: bool | None) -> Ingested:
    snap = hub.fetch(repo_id, online=online)
    cfg = text_config(snap.config) if snap.config else None
    rows = [
        row
        for fname in sorted(snap.headers)
        for row in parse_header(snap.headers[fname], origin=f"{repo_id}/{fname}")
    ]
    measured = summarise(f"hub:{repo_id}", rows, main_layers=_main_layers(cfg)) if rows else None
    model, note = _model(cfg, f"{repo_id}/config.json", snap.total_size)
    return Ingested(f"hub:{repo_id}", "hub", cfg, model, note, measured, snap.total_size)


def compare_with_estimate(ing: Ingested) -> list[dict[str, Any]]:
    """Rows per group: measured bytes (exact, from headers) vs vramkit's architecture estimate
    under the stored layout the config declares (`quant.weight_bytes`); None where unavailable.
    ``diff_bytes`` = measured − estimate."""
    from ..quant import weight_bytes

    est = None
    if ing.model is not None:
        try:
            est = weight_bytes(ing.model).by_group
        except VramkitError:
            est = None
    rows = []
    for g in ALL_GROUPS:
        m = ing.measured.by_group[g] if ing.measured else None
        e = est.get(g) if est is not None else None
        if not m and not e:
            continue
        rows.append(
            {
                "group": g,
                "measured_bytes": m,
                "estimate_bytes": e,
                "diff_bytes": m - e if m is not None and e is not None else None,
            }
        )
    return rows


make_callable(__name__)  # vramkit.ingest(...) calls ingest() (vramkit.callable_module)
