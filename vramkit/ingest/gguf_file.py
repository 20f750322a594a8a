"""GGUF files through the `gguf` package's `GGUFReader`: exact bytes per tensor and a config.

A GGML tensor of ``n`` elements in type T stores ``n / block(T) × type_size(T)`` bytes, with
``(block, type_size)`` from ``gguf.GGML_QUANT_SIZES`` (e.g. Q8_0: 32 elements in 34 bytes).
The architecture metadata (``{arch}.block_count``, ``{arch}.attention.head_count_kv`` …) is
mapped to config.json field names so the KV and weight estimates can run on it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import VramkitError
from ..families import family_of_model_type, gguf_model_types
from ..validate import MAX_LAYERS, read_bytes, regular_file, require_strict_int
from .gguf_layout import read_layout
from .measured import Measured, summarise

_KEYS: dict[str, str] = {
    "block_count": "num_hidden_layers",
    "embedding_length": "hidden_size",
    "feed_forward_length": "intermediate_size",
    "context_length": "max_position_embeddings",
    "vocab_size": "vocab_size",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.key_length": "head_dim",
    "attention.value_length": "v_head_dim",
    "attention.sliding_window": "sliding_window",
    "attention.kv_lora_rank": "kv_lora_rank",
    "attention.q_lora_rank": "q_lora_rank",
    "rope.dimension_count": "qk_rope_head_dim",
    "expert_count": "num_experts",
    "expert_used_count": "num_experts_per_tok",
    "expert_feed_forward_length": "moe_intermediate_size",
    "expert_shared_count": "n_shared_experts",
    "leading_dense_block_count": "first_k_dense_replace",
    "nextn_predict_layers": "num_nextn_predict_layers",
    "full_attention_interval": "full_attention_interval",
    "interleave_moe_layer_step": "interleave_moe_layer_step",
    "ssm.conv_kernel": "ssm_conv_kernel",
    "ssm.inner_size": "ssm_inner_size",
    "ssm.state_size": "ssm_state_size",
    "ssm.group_count": "ssm_group_count",
    "ssm.time_step_rank": "ssm_time_step_rank",
}
"""``{arch}.<key>`` → config.json field (llama.cpp's gguf-py constants, ``Keys.LLM``)."""


def _reader(path: Path):
    from gguf import GGUFReader

    regular_file(path, "GGUF file")  # FIFOs, devices and folders refused before opening
    magic = read_bytes(path, "GGUF file", limit=4)
    if magic != b"GGUF":
        raise VramkitError(f"{path.name} is not a GGUF file (it does not start with b'GGUF').")
    read_layout(path)  # counts, strings, dims, offsets checked before the reader maps the file
    try:
        return GGUFReader(path, "r")
    except (
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        OSError,
        OverflowError,
        MemoryError,
        struct.error,
    ) as err:
        raise VramkitError(
            f"{path.name}: the GGUF file is truncated or corrupt ({type(err).__name__}: {err})."
        ) from None


def _scalar(field: Any) -> Any:
    try:
        return field.contents()
    except (ValueError, IndexError, TypeError):  # pragma: no cover - malformed field
        return None


def read_metadata(path: str | Path) -> dict[str, Any]:
    """All GGUF key/value metadata as plain Python values (token lists shortened to a count)."""
    r = _reader(Path(path))
    out: dict[str, Any] = {}
    for key, field in r.fields.items():
        if key.startswith("tokenizer.ggml.") and key != "tokenizer.ggml.model":
            out[key + ".count"] = len(field.data)
            continue
        out[key] = _scalar(field)
    return out


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
    if "num_experts" in cfg and arch == "deepseek2":
        cfg["n_routed_experts"] = cfg["num_experts"]
    family = family_of_model_type(cfg["model_type"])
    if family is not None:
        family.from_gguf(cfg)
    return cfg


def tensor_rows(path: str | Path) -> list[tuple[str, str, tuple[int, ...], int]]:
    """``[(name, ggml_type, shape, nbytes)]``; shape as GGUF lists it (ne0 = row length first).

    nbytes = n_elements / block × type_size (``gguf.GGML_QUANT_SIZES``), checked against the
    file: a tensor whose data runs past the end of the file is an error.
    """
    from gguf import GGML_QUANT_SIZES

    p = Path(path)
    r = _reader(p)
    size = p.stat().st_size
    rows = []
    for t in r.tensors:
        kind = t.tensor_type
        if kind not in GGML_QUANT_SIZES:
            raise VramkitError(f"{p.name}: tensor {t.name!r} has unknown GGML type {kind!r}.")
        block, type_size = GGML_QUANT_SIZES[kind]
        n = math.prod(int(d) for d in t.shape)  # exact: numpy's product could wrap
        if n % block:
            raise VramkitError(
                f"{p.name}: tensor {t.name!r} has {n} elements, not a multiple of the "
                f"{kind.name} block of {block}."
            )
        nbytes = n // block * type_size
        if int(t.data_offset) + nbytes > size:
            raise VramkitError(f"{p.name}: tensor {t.name!r} runs past the end of the file.")
        rows.append((t.name, kind.name, tuple(int(d) for d in t.shape), nbytes))
    return rows


def measure_gguf(path: str | Path) -> tuple[Measured, dict[str, Any], dict[str, Any]]:
    """`(Measured, config, metadata)` of a GGUF file; MTP blocks (index ≥ main layers) → ``mtp``."""
    meta = read_metadata(path)
    cfg = config_from_metadata(meta)
    rows = tensor_rows(path)
    main = cfg.get("num_hidden_layers") if cfg.get("num_nextn_predict_layers") else None
    return summarise(str(path), rows, main_layers=main), cfg, meta
