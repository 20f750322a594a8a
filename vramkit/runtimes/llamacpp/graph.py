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
    parent's memory in place)."""
    align = int(events["align"])
    aligned = [_align(n, align) for n in sizes]  # each row's size rounded up once
    blocks: list[list[int]] = [[0, 1 << 62]]  # [offset, size], sorted by offset
    peak = 0
    offsets: list[int] = []
    for op, a, b, c in zip(events["op"], events["a"], events["b"], events["c"], strict=True):
        if op == 0:
            size = aligned[a]
            best, best_size = -1, 0
            for i in range(len(blocks) - 1):  # best fit among all blocks but the last
                bs = blocks[i][1]
                if bs >= size and (best < 0 or bs <= best_size):
                    best, best_size = i, bs
            if best < 0:
                best = len(blocks) - 1
            blk = blocks[best]
            off = blk[0]
            blk[0] += size
            blk[1] -= size
            if blk[1] == 0:
                del blocks[best]
            peak = max(peak, off + size)
            offsets.append(off)
        else:
            off, size = offsets[a] + sizes[b], aligned[c]
            _free(blocks, off, size)
    return peak


def _free(blocks: list[list[int]], off: int, size: int) -> None:
    """ggml_dyn_tallocr_free_bytes: merge with the block ending at `off` (and the next) or
    starting at `off + size` (and the previous), else insert a new block in address order."""
    for i, blk in enumerate(blocks):
        if blk[0] + blk[1] == off:
            blk[1] += size
            if i < len(blocks) - 1 and blk[0] + blk[1] == blocks[i + 1][0]:
                blk[1] += blocks[i + 1][1]
                del blocks[i + 1]
            return
        if off + size == blk[0]:
            blk[0] = off
            blk[1] += size
            if i > 0 and blocks[i - 1][0] + blocks[i - 1][1] == blk[0]:
                blocks[i - 1][1] += blk[1]
                del blocks[i]
            return
    j = 0
    while j < len(blocks) and blocks[j][0] < off:
        j += 1
    blocks.insert(j, [off, size])


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
