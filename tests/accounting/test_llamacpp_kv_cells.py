"""llama.cpp's KV cell rules, stated once (`vramkit.runtimes.llamacpp.kv.cells`) and used by both
the KV layout and the engine's per-cache lines (`vramkit.runtimes.llamacpp.memory`). Expected
values are GGML_PAD arithmetic written out (src/llama-kv-cache.cpp; pads of 256 and -ub 512
from data/runtimes.yaml llama.cpp kv.options)."""

from __future__ import annotations

import numpy as np

from vramkit.runtimes import get_runtime
from vramkit.runtimes.llamacpp import memory
from vramkit.runtimes.llamacpp.kv import cells

OPTS = {"ctx_pad": 256, "swa_pad": 256, "comp_pad": 256, "n_ubatch": 512}


def test_the_record_holds_the_pads_the_arithmetic_below_uses():
    opts = get_runtime("llama.cpp").kv.options
    assert {k: opts[k] for k in OPTS} == OPTS


def test_cells_by_rule():
    # full: the context cells as given (already padded): 10,240 = GGML_PAD(10,000, 256)
    assert cells("full", 1, 10_240, OPTS) == 10_240
    # window 4,096 + -ub 512 = 4,608 < 10,240; 4,608 = 18 x 256 already padded
    assert cells("window", 4_096, 10_240, OPTS) == 4_608
    # window 1,000 + 512 = 1,512 → GGML_PAD(1,512, 256) = 6 x 256 = 1,536
    assert cells("window", 1_000, 10_240, OPTS) == 1_536
    # window larger than the context: min(256, …) = 256
    assert cells("window", 4_096, 256, OPTS) == 256
    # compressed ratio 4: ceil(10,240 / 4) = 2,560 = 10 x 256
    assert cells("compressed", 4, 10_240, OPTS) == 2_560
    # compressed ratio 128 on 256 cells: max(1, 2) = 2 → GGML_PAD(2, 256) = 256
    assert cells("compressed", 128, 256, OPTS) == 256


def test_ints_and_arrays_agree():
    kv = [256, 4_096, 10_240, 1 << 20]
    for rule, w in (("full", 1), ("window", 4_096), ("compressed", 4)):
        arr = cells(rule, w, np.array(kv, dtype=object), OPTS)
        assert [int(x) for x in arr] == [cells(rule, w, k, OPTS) for k in kv]


def test_memory_lines_count_cells_with_the_same_rule():
    s = memory.Settings(n_ctx=10_000, n_ubatch=512)
    assert s.n_ctx_seq == 10_240  # GGML_PAD(GGML_PAD(10,000, 256) / 1, 256)

    class Part:
        rule, tokens = "window", 1_000

    assert memory._cells(Part(), s) == 1_536
