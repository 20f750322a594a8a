"""llama.cpp's layer → device split (`vramkit.runtimes.llamacpp.flags.llamacpp_layer_devices`) is computed in
single precision, as llama.cpp's C does (src/llama-model.cpp load_tensors: the cumulative
tensor-split fractions and each layer's position are floats). vramkit reproduces it without
numpy; numpy's float32 arithmetic is the reference here."""

from __future__ import annotations

import random

import numpy as np

from vramkit.runtimes.llamacpp.flags import llamacpp_layer_devices


def _numpy_devices(n_layer: int, n_gpu_layers: int, split: tuple[int, ...]) -> list[int]:
    """The same rule written with numpy float32 (what llamacpp/flags.py did before it dropped numpy)."""
    start = max(n_layer + 1 - n_gpu_layers, 0)
    act = min(n_gpu_layers, n_layer + 1)
    cum = np.cumsum(np.asarray(split, dtype=np.float32), dtype=np.float32)
    splits = (cum / np.float32(cum[-1])).astype(np.float32)
    out = []
    for il in range(n_layer + 1):
        if il < start or il - start >= act:
            out.append(-1)
        else:
            x = np.float32(il - start) / np.float32(act)
            out.append(int(np.searchsorted(splits, x, side="right")))
    return out


def test_single_precision_split_equals_numpy_float32():
    rng = random.Random(22)
    values = [0, 1, 2, 3, 5, 7, 24, 48, 80, 96, 141, 1000, 24_000, 2**24 + 1, 2**25 + 3]
    checked = 0
    for _ in range(5000):
        split = tuple(
            rng.choice([*values, rng.randint(0, 10**6)]) for _ in range(rng.randint(1, 8))
        )
        if sum(split) <= 0:
            continue
        n_layer = rng.randint(1, 130)
        ngl = rng.randint(0, n_layer + 5)
        assert llamacpp_layer_devices(n_layer, ngl, split) == _numpy_devices(n_layer, ngl, split)
        checked += 1
    assert checked > 4000


def test_a_fraction_that_rounds_differently_in_double():
    """3 GPUs split 1:1:1 over 61 layers: 1/3 and 2/3 are not exact in float32 either; the layer
    at the boundary goes where float32 puts it (checked against numpy)."""
    assert llamacpp_layer_devices(61, 62, (1, 1, 1)) == _numpy_devices(61, 62, (1, 1, 1))
