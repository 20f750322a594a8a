"""`plan.count.fits_at` (the yes/no `min_devices` and `longest_context` ask below the answer)
agrees with the full plan's verdict, `place(...).fits`, on every case tried: vLLM and SGLang
(the `any_plan_fits` path), llama.cpp and fixed layouts (`place` itself), counts 1–8, short to
long contexts and a tight margin — so the faster count cannot move an answer."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.plan.count import fits_at, min_devices, place

CASES = [
    ("deepseek-v4-flash", "h200-sxm-141gb", "vllm", "auto"),
    ("deepseek-v4-flash", "h100-sxm-80gb", "sglang", "auto"),
    ("deepseek-v4-flash", "h200-sxm-141gb", "vllm", "tp"),
    ("deepseek-v4-flash", "rtx-4090-24gb", "llama.cpp", "auto"),
]


@pytest.mark.parametrize(("model", "gpu", "runtime", "layout"), CASES)
@pytest.mark.parametrize("count", [1, 2, 4, 8])
@pytest.mark.parametrize("context", [4096, 131072, 1048576])
def test_fits_at_is_the_full_plans_verdict(model, gpu, runtime, layout, count, context):
    kw = {"runtime": runtime, "context": context, "layout": layout}
    assert fits_at(model, gpu, count, **kw) == place(model, gpu, count, **kw).fits


def test_fits_at_changes_its_answer_across_counts():
    """Not a constant: V4-Flash on H200 under vLLM does not fit on 1 GPU and fits on 2 at 32K
    (`weight_bytes` of its official FP8/FP4 checkpoint: 159.6 GB, above one GPU's 141 GB)."""
    kw = {"runtime": "vllm", "context": 32768}
    assert not fits_at("deepseek-v4-flash", "h200-sxm-141gb", 1, **kw)
    assert fits_at("deepseek-v4-flash", "h200-sxm-141gb", 2, **kw)
    assert min_devices("deepseek-v4-flash", "h200-sxm-141gb", **kw).count == 2


def test_fits_at_refuses_what_place_refuses():
    with pytest.raises(VramkitError):
        fits_at("deepseek-v4-flash", "h200-sxm-141gb", 0)
    with pytest.raises(VramkitError):
        fits_at("deepseek-v4-flash", "h200-sxm-141gb", 1, ram="128GB")
    with pytest.raises(VramkitError):
        fits_at("deepseek-v4-flash", "h200-sxm-141gb", 1, context=10**9)
