"""A published config with its layer count stepped, for tests that walk a family over layer
counts (the layer-position rules of llama.cpp's mix, stamped layer kinds)."""

from __future__ import annotations


def stepped(cfg: dict, n: int) -> dict:
    """`cfg` with `n` layers, its per-layer lists cut to match (as benchmarks/speed.py's
    sweep builds its configs)."""
    layers = int(cfg.get("num_hidden_layers") or 0)
    out = dict(cfg, num_hidden_layers=n)
    for key, value in cfg.items():
        if isinstance(value, list) and len(value) == layers:
            out[key] = value[:n]
    return out
