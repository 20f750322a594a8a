"""llama.cpp's compute buffer by replaying its graph allocator: exact where a trace is recorded.

The compute buffer llama.cpp reserves is ggml-alloc's high-water mark over the worst-case
ubatch graph
(https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/ggml/src/ggml-alloc.c):
every node's output is placed by `ggml_dyn_tallocr_alloc` (best fit among the free blocks but
the last, else the last block, which grows the buffer:
``max_size = MAX(max_size, offset + size)``) and returned by `ggml_dyn_tallocr_free_bytes`
(merged with its neighbours) after its last use. The figure is therefore not a sum of tensor
sizes: where a tensor lands depends on the holes earlier ones left, so it moves non-monotonically
with the context (Qwen3-Next at -ub 512: 312.76 / 340.76 / 308.75 MiB at 4K / 32K / 128K).

vramkit replays that allocator. `benchmarks/engines/alloc_trace.py` records, per model and
variant (flash attention on/off x K cache type), the engine's sequence of allocations and frees
(a trace hook in ggml-alloc.c), checks that the sequence is the same at every setting, and
identifies each size as a sum of products of the setting's quantities — the ubatch `ub`, the
streams `ns`, the cells per stream of each cache (`kv`, `win`, `comp_<kind>`) and the indexer's
top-k `sel` — with byte coefficients (e.g. the F16 mask of a layer: 2 x ub x kv). This module
evaluates those sizes for a `Settings` and runs the same best-fit allocator over the sequence:
the peak is the engine's figure, not a fit of it. Traces live in data/llamacpp_graphs/.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ...datafiles import DATA_DIR, check_document

GRAPHS_DIR = "llamacpp_graphs"


def variant_key(flash_attn: bool, cache_k: str) -> str:
    """Trace variant: the graph differs with flash attention and with the K cache type
    (a quantized cache adds the Hadamard-rotation inputs)."""
    return f"fa_{'on' if flash_attn else 'off'}_{cache_k}"


@functools.cache
def load_trace(model_id: str) -> Mapping[str, Any] | None:
    """data/llamacpp_graphs/<model_id>.json.gz, or None when no trace was recorded."""
    path = DATA_DIR / GRAPHS_DIR / f"{model_id}.json.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    return check_document(doc, path.name, ("basis", "variants", "engine", "llama_cpp_commit"))


def config_digest(cfg: Mapping[str, Any]) -> str:
    """sha256 of the config (sorted JSON): a trace replays only the config it was recorded on."""
    text = json.dumps(dict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def basis_values(names: list[str], quantities: Mapping[str, int]) -> list[int]:
    """Each basis term ("1", "ub", "ub*kv", "ns*comp_csa", …) evaluated on `quantities`."""
    out = []
    for name in names:
        v = 1
        for f in name.split("*"):
            if f != "1":
                v *= quantities[f]
        out.append(v)
    return out


def _align(n: int, to: int) -> int:
    return -(-n // to) * to


def replay(events: Mapping[str, Any], sizes: list[int]) -> int:
    """Peak bytes of ggml_dyn_tallocr over the recorded sequence, single chunk (the CPU buffer
    type has no maximum size). `events["op"][i]` 0 = allocate row `a`; 1 = free `c` bytes at
    `b` bytes past the start of allocation number `a` (a partial free when a node reused its
    parent's memory in place).

    The free blocks are two parallel lists (offsets in address order, sizes), the last block
    open-ended; written out in one loop because a plan search replays the ~6,600 events of a
    DeepSeek V4 graph once per context it visits."""
    align = int(events["align"])
    aligned = [_align(n, align) for n in sizes]  # each row's size rounded up once
    offs: list[int] = [0]  # free blocks: offsets, sorted
    lens: list[int] = [1 << 62]  # and sizes
    peak = 0
    offsets: list[int] = []
    for op, a, b, c in zip(events["op"], events["a"], events["b"], events["c"], strict=True):
        if op == 0:
            size = aligned[a]
            last = len(lens) - 1
            best, best_size = last, 1 << 63
            for i in range(last):  # best fit among all blocks but the last (ties: the later)
                bs = lens[i]
                if size <= bs <= best_size:
                    best, best_size = i, bs
            off = offs[best]
            rest = lens[best] - size
            if rest:
                offs[best] = off + size
                lens[best] = rest
            else:
                del offs[best], lens[best]
            if off + size > peak:
                peak = off + size
            offsets.append(off)
        else:  # _free, written inline (a call per event costs as much as the work)
            off, size = offsets[a] + sizes[b], aligned[c]
            n = len(offs)
            for i in range(n):
                bo = offs[i]
                if bo + lens[i] == off:
                    lens[i] += size
                    if i < n - 1 and bo + lens[i] == offs[i + 1]:
                        lens[i] += lens[i + 1]
                        del offs[i + 1], lens[i + 1]
                    break
                if off + size == bo:
                    offs[i] = off
                    lens[i] += size
                    if i > 0 and offs[i - 1] + lens[i - 1] == off:
                        lens[i - 1] += lens[i]
                        del offs[i], lens[i]
                    break
            else:
                j = 0
                while j < n and offs[j] < off:
                    j += 1
                offs.insert(j, off)
                lens.insert(j, size)
    return peak


def _free(offs: list[int], lens: list[int], off: int, size: int) -> None:
    """ggml_dyn_tallocr_free_bytes: merge with the block ending at `off` (and the next) or
    starting at `off + size` (and the previous), else insert a new block in address order."""
    n = len(offs)
    for i in range(n):
        bo = offs[i]
        if bo + lens[i] == off:
            lens[i] += size
            if i < n - 1 and bo + lens[i] == offs[i + 1]:
                lens[i] += lens[i + 1]
                del offs[i + 1], lens[i + 1]
            return
        if off + size == bo:
            offs[i] = off
            lens[i] += size
            if i > 0 and offs[i - 1] + lens[i - 1] == off:
                lens[i - 1] += lens[i]
                del offs[i], lens[i]
            return
    j = 0
    while j < n and offs[j] < off:
        j += 1
    offs.insert(j, off)
    lens.insert(j, size)


free_bytes = _free  # ggml_dyn_tallocr_free_bytes, shared with the per-architecture replay


def peak_bytes(trace: Mapping[str, Any], key: str, quantities: Mapping[str, int]) -> int | None:
    """The replayed compute buffer (bytes) of variant `key` at `quantities`, or None when the
    trace has no such variant."""
    var = trace["variants"].get(key)
    if var is None:
        return None
    x = basis_values(list(trace["basis"]), quantities)
    # a few index tensors are not sums of products (flagged "inexact_rows" in the trace; each
    # at most a MiB): the trace charges them their largest training size
    sizes = [max(0, round(sum(c * v for c, v in zip(row, x, strict=True)))) for row in var["rows"]]
    return replay(var["events"], sizes)
