"""Token capacity under pipeline parallelism (issue 24): each stage's pool is sized from its own
weights and its own layers, and the capacity is the smallest over the stages — vLLM keeps every
worker's smallest block count (``get_kv_cache_configs``: "Change the num_blocks of each rank to the
smallest among all ranks", vllm/v1/core/kv_cache_utils.py @ 001cabc1be16a59a70d720ed61a13b678c060a18).
`fit` (budget), `fits_at` and `longest_context` ask the one solver (vramkit.plan.count) and agree
with the arithmetic written out here."""

from __future__ import annotations

import pytest

from vramkit.budget import budget
from vramkit.catalog import get_model
from vramkit.plan.count import fits_at, longest_context, place

MODEL, GPU, N, SEQS = "llama-3.1-70b", "a100-sxm4-40gb", 6, 2

# Llama 3.1 70B config: 80 layers, hidden 8192, 64 heads / 8 KV heads of 128, FFN 28672, vocab
# 128256 (a multiple of 64: no vLLM padding), untied head; bf16 checkpoint.
H, KV, FF, V = 8192, 8 * 128, 28672, 128256
LAYER = 2 * (2 * H * H + 2 * KV * H + 3 * FF * H + 2 * H)  # q, o, k, v, gate/up/down, 2 norms
EMBED = HEAD = 2 * V * H
# get_pp_indices: 80 // 6 = 13 each, the remainder 2 to the two stages before the last
STAGE_LAYERS = [13, 13, 13, 14, 14, 13]
STAGE_WEIGHTS = [
    13 * LAYER + EMBED,
    13 * LAYER,
    13 * LAYER,
    14 * LAYER,
    14 * LAYER,
    13 * LAYER + HEAD + 2 * H,
]  # fmt: skip  (the last: head + final norm)
KV_TOKEN_LAYER = 2 * KV * 2  # K and V, bf16: 4,096 B per token per layer
PAGE = 16  # vLLM's block of 16 tokens


def _plan(context: int):
    return place(MODEL, GPU, N, runtime="vllm", context=context, sequences=SEQS, layout="pp").plan


def _expected_capacity() -> tuple[int, list[int]]:
    """Longest context at SEQS sequences: per stage, the pages its free bytes hold for SEQS
    requests of its own layers; the smallest stage decides."""
    gpus = [q for q in _plan(8192).places if q.kind == "gpu"]
    g = gpus[0].bytes_by_component
    fixed = g["compute buffer"] + g["runtime overhead"]  # the same on every stage
    usable = gpus[0].capacity_bytes - gpus[0].margin_bytes  # 0.92 × the card (vLLM default)
    pages = [
        (usable - w - fixed) // (SEQS * PAGE * n * KV_TOKEN_LAYER)
        for w, n in zip(STAGE_WEIGHTS, STAGE_LAYERS, strict=True)
    ]
    return PAGE * min(pages), pages


def test_each_stage_is_charged_its_own_weights_and_its_own_layers_kv() -> None:
    gpus = [q for q in _plan(8192).places if q.kind == "gpu"]
    assert [q.layers for q in gpus] == [(0, 13), (13, 26), (26, 39), (39, 53), (53, 67), (67, 80)]
    assert [q.bytes_by_component["attention+dense"] for q in gpus] == STAGE_WEIGHTS
    assert [q.bytes_by_component["KV cache"] for q in gpus] == [
        SEQS * 8192 * n * KV_TOKEN_LAYER for n in STAGE_LAYERS
    ]


def test_the_token_capacity_is_the_smallest_stage_and_every_face_agrees() -> None:
    ctx, pages = _expected_capacity()
    # the 14-layer stages limit (fewer tokens), not the heaviest-weights stages 0 and 5
    assert pages.index(min(pages)) == 3
    assert min(pages) < min(pages[0], pages[5])
    m = get_model(MODEL)
    assert ctx < int(m.config["max_position_embeddings"])  # the memory limits, not the model
    assert longest_context(MODEL, GPU, N, runtime="vllm", sequences=SEQS, layout="pp") == ctx
    assert fits_at(MODEL, GPU, N, runtime="vllm", context=ctx, sequences=SEQS, layout="pp")
    assert not fits_at(MODEL, GPU, N, runtime="vllm", context=ctx + 1, sequences=SEQS,
                       layout="pp")  # fmt: skip
    fit = budget(MODEL, GPU, count=N, runtime="vllm", parallel="pp", context=ctx, batch=SEQS)
    over = budget(MODEL, GPU, count=N, runtime="vllm", parallel="pp", context=ctx + 1,
                  batch=SEQS)  # fmt: skip
    assert fit.fits
    assert not over.fits
    # fit reports the fullest GPU: a 14-layer stage at the capacity
    assert fit.kv_bytes == SEQS * ctx * 14 * KV_TOKEN_LAYER


def test_the_old_charge_heaviest_weights_plus_most_layers_was_short() -> None:
    """Charging every GPU the heaviest stage's weights (stage 0 or 5) together with the longest
    stage's KV (14 layers) — what the planner did before — undercounts the capacity."""
    ctx, _ = _expected_capacity()
    gpus = [q for q in _plan(8192).places if q.kind == "gpu"]
    g = gpus[0].bytes_by_component
    usable = gpus[0].capacity_bytes - gpus[0].margin_bytes
    free = usable - max(STAGE_WEIGHTS) - g["compute buffer"] - g["runtime overhead"]
    old = PAGE * (free // (SEQS * PAGE * 14 * KV_TOKEN_LAYER))
    assert old < ctx
    assert (ctx - old) / old == pytest.approx(0.0377, abs=0.002)
