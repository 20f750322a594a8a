"""GGUF files through the `gguf` package's `GGUFReader`: exact bytes per tensor and a config.

A GGML tensor of ``n`` elements in type T stores ``n / block(T) × type_size(T)`` bytes, with
``(block, type_size)`` from ``gguf.GGML_QUANT_SIZES`` (e.g. Q8_0: 32 elements in 34 bytes).
The architecture metadata (``{arch}.block_count``, ``{arch}.attention.head_count_kv`` …) is
mapped to config.json field names so the KV and weight estimates can run on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import VramkitError
from ..families import GGUF_KEYS, family_of_model_type, gguf_model_types
from ..validate import MAX_LAYERS, path_stat, read_bytes, regular_file, require_strict_int
from .gguf_layout import Layout, read_layout, tensor_nbytes
from .measured import Measured, summarise

MAX_SPLITS = 65_535
"""``split.count`` is a uint16 in llama.cpp (gguf-split)."""

_KEYS = GGUF_KEYS
"""``{arch}.<key>`` → config.json field, declared once beside the family config fields
(`vramkit.families.GGUF_KEYS`; each `ConfigField.gguf` names the keys mapped to it).
``attention.sliding_window_pattern`` is read by `_sliding_window_pattern` (an int or a list)."""


def _layout(path: Path) -> Layout:
    """The checked layout and metadata of a local GGUF file (`gguf_layout.read_layout`)."""
    regular_file(path, "GGUF file")  # FIFOs, devices and folders refused before opening
    magic = read_bytes(path, "GGUF file", limit=4)
    if magic != b"GGUF":
        raise VramkitError(f"{path.name} is not a GGUF file (it does not start with b'GGUF').")
    return read_layout(path)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """All GGUF key/value metadata as plain Python values (token lists shortened to a count)."""
    return dict(_layout(Path(path)).metadata)


def config_from_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """config.json-style fields from GGUF metadata (``model_type`` from the architecture).

    ``num_hidden_layers`` is the main layer count: llama.cpp's ``block_count`` includes the
    ``nextn_predict_layers`` MTP blocks, which are subtracted. Per-layer arrays (e.g.
    ``head_count_kv`` of hybrid models) are kept as lists under the mapped name + ``_per_layer``,
    and their maximum under the mapped name.
    """
    arch = meta.get("general.architecture") or ""
    if not isinstance(arch, str) or not arch:
        raise VramkitError(
            f"the GGUF file's general.architecture must be a non-empty string, got {arch!r:.60}."
        )
    cfg: dict[str, Any] = {
        "model_type": gguf_model_types().get(arch, arch),
        "gguf_architecture": arch,
    }
    for key, name in _KEYS.items():
        value = meta.get(f"{arch}.{key}")
        if value is None:
            continue
        where = f"GGUF metadata {arch}.{key}"
        if isinstance(value, list):
            if len(value) > MAX_LAYERS:
                raise VramkitError(f"{where} lists {len(value):,} values; at most {MAX_LAYERS:,}.")
            value = [require_strict_int(f"{where}[{i}]", v) for i, v in enumerate(value)]
            cfg[f"{name}_per_layer"] = value
            value = max(value) if value else 0
        cfg[name] = require_strict_int(where, value)
    if "vocab_size" not in cfg and "tokenizer.ggml.tokens.count" in meta:
        cfg["vocab_size"] = meta["tokenizer.ggml.tokens.count"]
    if "vocab_size" in cfg:
        cfg["vocab_size"] = require_strict_int("GGUF vocabulary size", cfg["vocab_size"])
    if cfg.get("num_nextn_predict_layers") and "num_hidden_layers" in cfg:
        if cfg["num_nextn_predict_layers"] >= cfg["num_hidden_layers"]:
            raise VramkitError(
                f"GGUF metadata {arch}.nextn_predict_layers {cfg['num_nextn_predict_layers']:,} "
                f"must be below {arch}.block_count {cfg['num_hidden_layers']:,} (the block count "
                "includes the MTP blocks)."
            )
        cfg["num_hidden_layers"] -= cfg["num_nextn_predict_layers"]
    _sliding_window_pattern(meta, arch, cfg)
    family = family_of_model_type(cfg["model_type"])
    if family is not None:
        family.from_gguf(cfg)
    return cfg


def _sliding_window_pattern(meta: Mapping[str, Any], arch: str, cfg: dict[str, Any]) -> None:
    """``{arch}.attention.sliding_window_pattern`` → config fields, in place.

    The loader reads it as a per-layer bool array (true = sliding) or else as a period N (N − 1
    sliding layers, then one full): ``llama_model_base::load_swa_pattern`` and
    ``llama_hparams::set_swa_pattern`` (https://github.com/ggml-org/llama.cpp/blob/
    0c1e57098bba43ac29e6e3b677cdceebdd22334f/src/llama-model.cpp#L3434-L3441, src/llama-hparams.cpp
    #L8-L22). The array becomes ``layer_types``, the period ``sliding_window_pattern`` (0: every
    layer sliding); absent, the family's ``from_gguf`` applies its loader's default."""
    key = f"{arch}.attention.sliding_window_pattern"
    value = meta.get(key)
    if value is None:
        return
    where = f"GGUF metadata {key}"
    if not isinstance(value, list):
        period = require_strict_int(where, value, maximum=MAX_LAYERS)
        if period:
            cfg["sliding_window_pattern"] = period
        else:  # "n_pattern == 0": every layer sliding
            cfg["layer_types"] = ["sliding_attention"] * int(cfg.get("num_hidden_layers") or 0)
        return
    if len(value) > MAX_LAYERS:
        raise VramkitError(f"{where} lists {len(value):,} values; at most {MAX_LAYERS:,}.")
    bad = next((v for v in value if not isinstance(v, bool)), None)
    if bad is not None:
        raise VramkitError(
            f"{where} must be an integer or a list of booleans (true = sliding layer), "
            f"got an element {bad!r:.40}."
        )
    cfg["layer_types"] = ["sliding_attention" if v else "full_attention" for v in value]


Row = tuple[str, str, tuple[int, ...], int]


def rows_of(layout: Layout, origin: str) -> list[Row]:
    """``[(name, ggml_type, shape, nbytes)]`` of a layout; shape as GGUF lists it (ne0 = row
    length first); nbytes = n_elements / block × type_size (`gguf_layout.tensor_nbytes`), each
    tensor already checked to lie inside its file."""
    from gguf import GGMLQuantizationType

    return [
        (t.name, GGMLQuantizationType(t.ggml_type).name, t.dims, tensor_nbytes(t, origin))
        for t in layout.tensors
    ]


def tensor_rows(path: str | Path) -> list[Row]:
    """`rows_of` a local GGUF file: a tensor whose data runs past the end of the file is an
    error."""
    p = Path(path)
    return rows_of(_layout(p), p.name)


def split_names(name: str, meta: Mapping[str, Any]) -> list[str]:
    """The file names of every part of a split GGUF, from its first part's name and metadata
    (``[name]`` for a whole file).

    As the pinned loader does (https://github.com/ggml-org/llama.cpp/blob/
    0c1e57098bba43ac29e6e3b677cdceebdd22334f/src/llama-model-loader.cpp#L595-L672 and
    src/llama.cpp#L545-L590): ``split.count`` > 1 means parts named ``<prefix>-%05d-of-%05d.gguf``
    (numbered from 1) beside the first, which must be given (``split.no`` 0); each part's
    ``split.no`` must be its index, and ``split.tensors.count`` the tensors of all parts (checked
    by `measure_parts`). A later part or a renamed first part is refused.
    """
    count = meta.get("split.count")
    if count is None:
        return [name]
    count = require_strict_int("GGUF metadata split.count", count, maximum=MAX_SPLITS)
    if count <= 1:
        return [name]
    no = require_strict_int("GGUF metadata split.no", meta.get("split.no"), maximum=count - 1)
    tail = f"-{no + 1:05d}-of-{count:05d}.gguf"
    first = f"-00001-of-{count:05d}.gguf"
    if no != 0:
        hint = name[: -len(tail)] + first if name.endswith(tail) else f"…{first}"
        raise VramkitError(
            f"{name} is part {no + 1} of a {count}-part GGUF: give the first part ({hint}); "
            "its tensors are read from every part."
        )
    if not name.endswith(tail) or len(name) == len(tail):
        raise VramkitError(
            f"{name} is the first part of a {count}-part GGUF (split.count {count}) but is not "
            f"named <prefix>{tail}, so its other parts cannot be found (llama.cpp names them "
            "<prefix>-%05d-of-%05d.gguf)."
        )
    prefix = name[: -len(tail)]
    return [f"{prefix}-{i + 1:05d}-of-{count:05d}.gguf" for i in range(count)]


def split_parts(path: str | Path, meta: Mapping[str, Any]) -> list[Path]:
    """Every part of a local split GGUF (`split_names`) beside its first part; a missing part
    is refused, naming it."""
    p = Path(path)
    parts = [p.with_name(n) for n in split_names(p.name, meta)]
    missing = [q.name for q in parts if path_stat(q) is None]
    if missing:
        count = len(parts)
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise VramkitError(
            f"{p.name}: {len(missing)} of the {count} parts of this split GGUF are missing "
            f"beside it: {shown}. Download every part into the same folder."
        )
    return parts


def _check_split_tensors(name: str, meta: Mapping[str, Any], rows: list[Any]) -> None:
    """``split.tensors.count`` must equal the tensors found in all parts, each name once."""
    expected = meta.get("split.tensors.count")
    if expected is not None:
        expected = require_strict_int("GGUF metadata split.tensors.count", expected)
        if expected != len(rows):
            raise VramkitError(
                f"{name}: split.tensors.count says {expected:,} tensors but the parts hold "
                f"{len(rows):,}: a part is truncated or from another download."
            )
    seen: set[str] = set()
    for tname, *_ in rows:
        if tname in seen:
            raise VramkitError(f"{name}: tensor {tname!r} appears in more than one part.")
        seen.add(tname)


def _check_part(name: str, meta: Mapping[str, Any], index: int, count: int) -> None:
    """A later part must say it is part `index` of `count` (``split.no``, ``split.count``)."""
    got = (meta.get("split.no"), meta.get("split.count"))
    if got != (index, count):
        raise VramkitError(
            f"{name}: split.no / split.count are {got[0]!r} / {got[1]!r}, expected "
            f"{index} / {count} for part {index + 1} of this split GGUF."
        )


def measure_parts(
    source: str,
    names: Sequence[str],
    first: Layout,
    read_part: Callable[[str], Layout],
) -> tuple[Measured, dict[str, Any], dict[str, Any]]:
    """`(Measured, config, metadata)` of a GGUF from its first part's layout and the names of
    all its parts (`split_names`); `read_part(name)` gives a later part's layout (a local file
    or a header read over HTTP). MTP blocks (index ≥ main layers) → ``mtp``."""
    meta = dict(first.metadata)
    cfg = config_from_metadata(meta)
    rows = rows_of(first, names[0])
    for i, name in enumerate(names[1:], start=1):
        part = read_part(name)
        _check_part(name, part.metadata, i, len(names))
        rows += rows_of(part, name)
    if len(names) > 1:
        _check_split_tensors(names[0], meta, rows)
    main = cfg.get("num_hidden_layers") if cfg.get("num_nextn_predict_layers") else None
    return summarise(source, rows, main_layers=main), cfg, meta


def measure_gguf(path: str | Path) -> tuple[Measured, dict[str, Any], dict[str, Any]]:
    """`(Measured, config, metadata)` of a local GGUF file (`measure_parts`).

    A split GGUF is read from its first part: the metadata of the first part, the tensors of
    every part (`split_parts`)."""
    p = Path(path)
    first = _layout(p)
    parts = split_parts(p, first.metadata)
    return measure_parts(
        str(path), [q.name for q in parts], first, lambda name: _layout(p.with_name(name))
    )
