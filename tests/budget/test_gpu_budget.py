"""vramkit.budget: per-GPU shares, runtime overheads, GPU fit, longest context, best recipe."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vramkit.budget import (
    best_recipe,
    budget,
    max_context,
    min_gpus,
    weights_per_gpu,
)
from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.hardware import get_gpu
from vramkit.quant import weight_bytes

FLASH = "deepseek-v4-flash"


def test_weight_shares_hand_worked() -> None:
    m = get_model(FLASH)
    w = weight_bytes(m)
    main = w.main_bytes  # MTP not loaded by default
    routed = w.by_group["routed_experts_gate_up"] + w.by_group["routed_experts_down"]
    replicated = w.by_group["norms"] + w.by_group["hyper_connections"] + w.by_group["router"]
    rec = m.checkpoint_layout
    assert weights_per_gpu(m, rec, count=1, parallel="tp") == main
    assert weights_per_gpu(m, rec, count=8, parallel="dp") == main
    # tp=2: replicated groups whole + half of the rest (rounded up)
    assert weights_per_gpu(m, rec, count=2, parallel="tp") == replicated + math.ceil(
        (main - replicated) / 2
    )
    # ep=4: 256 experts / 4 = 64 per GPU → a quarter of the routed bytes; the rest replicated
    assert weights_per_gpu(m, rec, count=4, parallel="ep") == main - routed + routed // 4
    # ep=4 with attention tensor-parallel over 2 (vLLM: experts over DP x TP, attention TP):
    # the non-expert rest is halved (rounded up), its replicated groups stay whole
    rest = main - routed
    assert (
        weights_per_gpu(m, rec, count=4, parallel="ep", attention_tp=2)
        == replicated + math.ceil((rest - replicated) / 2) + routed // 4
    )
    assert weights_per_gpu(m, rec, count=1, parallel="tp", include_mtp=True) == w.total_bytes


def test_budget_components_and_usable() -> None:
    b = budget(FLASH, "h100-sxm-80gb", count=4, context=8192)
    assert b.total_bytes == (
        b.weights_bytes + b.kv_bytes + b.workspace_bytes + b.overhead_bytes + b.reserve_bytes
    )
    # vLLM: 0.92 × the device total CUDA reports, 79.19 GiB (data/gpus.yaml cuda_total_memory:
    # round(79.19 × 2**30) = 85,029,615,043; not nvidia-smi's 81559 MiB)
    # = floor(0.92 × 85,029,615,043) = 78,227,245,839 usable; split → CUDA context 287,047,680 +
    # NCCL 2.1 GiB (round(2.1 · 2**30) = 2,254,857,830)
    assert b.usable_bytes == 78_227_245_839
    assert b.overhead_bytes == 287_047_680 + 2_254_857_830
    assert b.fits == (b.total_bytes <= b.usable_bytes)
    # unified DGX Spark: 128e9 × (1 − 0.25 OS share) = 96e9, × 0.92 = 88.32e9
    assert budget(FLASH, "dgx-spark-gb10-128gb", context=1024).usable_bytes == 88_320_000_000


def test_trtllm_reserve_is_kv_over_fraction() -> None:
    # TensorRT-LLM gives 0.9 of the FREE memory to KV: KV ≤ 0.9·free ⇔ reserve = KV·(1/0.9 − 1)
    b = budget(FLASH, "b200-180gb", runtime="trtllm", context=4096)
    assert b.reserve_bytes == math.ceil(b.kv_bytes * (1 / 0.9 - 1))
    # the B200's nvidia-smi total is what TensorRT-LLM sees (183359 MiB, NVIDIA/TensorRT-LLM#10278;
    # was pytorch/ao#4002's "178.35 GB" read as decimal, which is the CUDA total in GiB):
    # 183359 × 2**20 = 192,265,846,784 B
    assert b.usable_bytes == 183359 * 2**20 == 192_265_846_784


def test_min_gpus_flash_on_h200() -> None:
    # main weights 156.0 GB > 0.92 × 141 GB = 129.72 GB usable, so one H200 cannot hold them;
    # two (78.1 GB weights each + KV + workspace + overhead ≈ 86 GB) do
    assert not budget(FLASH, "h200-sxm-141gb", count=1).fits
    found = min_gpus(FLASH, "h200-sxm-141gb")
    assert found.fits
    assert found.count == 2
    assert found.budget.count == 2
    # 512 sequences of 1M tokens of V4-Pro: its KV alone (~25.5 GB a sequence, bf16) is
    # 13 TB, more than 256 RTX 4090s hold: a result that says why, not None
    none = min_gpus("deepseek-v4-pro", "rtx-4090-24gb", context=1_048_576, batch=512)
    assert not none.fits
    assert none.count is None
    assert "no count up to 256 fits" in none.reason
    assert none.budget.headroom_bytes < 0
    assert not none.budget.verdict.fits


def test_max_context_is_the_edge() -> None:
    kw = {"count": 24, "parallel": "ep", "recipe": None, "batch": 4}
    t = max_context("deepseek-v4-pro", "h100-sxm-80gb", **kw)
    assert 0 < t < 1_048_576
    assert budget("deepseek-v4-pro", "h100-sxm-80gb", context=t, **kw).fits
    assert not budget("deepseek-v4-pro", "h100-sxm-80gb", context=t + 1, **kw).fits


def test_best_recipe_prefers_official_and_never_upcasts() -> None:
    b = best_recipe(FLASH, "h200-sxm-141gb", count=2)
    assert b.fits
    assert b.recipe_id == "deepseek-v4-official"
    assert "official layout fits" in b.reason
    # one H200 under vLLM: no checkpoint layout fits, and a GGUF file is never proposed to it
    served = best_recipe(FLASH, "h200-sxm-141gb", count=1)
    assert not served.fits
    assert not any(r.startswith(("gguf-", "ds4-")) for r, _, _ in served.tried)
    # under llama.cpp: GGUF files only, the official layout first is not one of them; the pick
    # is smaller than the official checkpoint (never an up-cast)
    one = best_recipe(FLASH, "h200-sxm-141gb", count=1, runtime="llama.cpp")
    assert one.fits
    assert all(r.startswith(("gguf-", "ds4-")) for r, _, _ in one.tried)
    m = get_model(FLASH)
    assert weight_bytes(m, one.recipe_id).total_bytes < weight_bytes(m).total_bytes


def test_bad_input() -> None:
    with pytest.raises(VramkitError, match="parallelism"):
        budget(FLASH, "h200-sxm-141gb", parallel="cp")  # context parallel: not modelled (pp is)
    with pytest.raises(VramkitError, match="context"):
        budget(FLASH, "h200-sxm-141gb", context=0)
    with pytest.raises(VramkitError, match="GPU"):
        budget(FLASH, "h201")
    with pytest.raises(VramkitError, match="no routed experts"):
        budget("gemma-4-31b", "h200-sxm-141gb", count=2, parallel="ep")


@settings(max_examples=30, deadline=None)
@given(
    mem_gb=st.integers(8, 400),
    extra=st.integers(1, 200),
    parallel=st.sampled_from(["tp", "ep", "dp"]),
    count=st.sampled_from([1, 2, 4, 8]),
)
def test_fit_monotone_in_gpu_memory(mem_gb: int, extra: int, parallel: str, count: int) -> None:
    base = get_gpu("h100-sxm-80gb")
    small = dataclasses.replace(base, memory_bytes=mem_gb * 10**9)
    big = dataclasses.replace(base, memory_bytes=(mem_gb + extra) * 10**9)
    kw = {"count": count, "parallel": parallel, "context": 16384}
    if budget(FLASH, small, **kw).fits:
        assert budget(FLASH, big, **kw).fits


@settings(max_examples=20, deadline=None)
@given(ctx=st.integers(1, 500_000), more=st.integers(1, 500_000), batch=st.integers(1, 64))
def test_total_monotone_in_context_and_batch(ctx: int, more: int, batch: int) -> None:
    kw = {"count": 4, "parallel": "tp"}
    a = budget(FLASH, "h200-sxm-141gb", context=ctx, batch=batch, **kw)
    assert (
        budget(FLASH, "h200-sxm-141gb", context=ctx + more, batch=batch, **kw).total_bytes
        >= a.total_bytes
    )
    assert (
        budget(FLASH, "h200-sxm-141gb", context=ctx, batch=batch + 1, **kw).total_bytes
        >= a.total_bytes
    )
