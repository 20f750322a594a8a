"""A tiny Llama-style model written as a safetensors folder (config.json, two shards,
index), every tensor of its inventory in F16: shared by the ingest tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from vramkit.model.configfile import model_from_config

TINY = {
    "model_type": "llama",
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 64,
    "intermediate_size": 256,
    "vocab_size": 64,
    "torch_dtype": "float16",
}


def write_tiny(folder: Path, extra: dict[str, np.ndarray] | None = None) -> Path:
    """config.json + two shards + index holding every tensor of TINY's inventory, in F16."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(TINY))
    tensors = {
        t.name: np.zeros(t.shape, dtype=np.float16) for t in model_from_config(TINY).inventory
    }
    tensors.update(extra or {})
    names = sorted(tensors)
    half = len(names) // 2
    shards = {"a.safetensors": names[:half], "b.safetensors": names[half:]}
    for fname, keys in shards.items():
        save_file({k: tensors[k] for k in keys}, str(folder / fname))
    total = sum(a.nbytes for a in tensors.values())
    index = {
        "metadata": {"total_size": total},
        "weight_map": {k: f for f, ks in shards.items() for k in ks},
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder
