"""vLLM batch > 1: the admission arithmetic (per-request reservation × batch) and the physical
steady state (in-flight window pages once per engine step), each from vLLM's code
(vramkit.runtimes.vllm.batch docstring)."""

from __future__ import annotations

from pathlib import Path

from vramkit.budget import budget
from vramkit.configfile import model_from_config_file
from vramkit.runtimes.vllm.batch import vllm_batch_kv

ROOT = Path(__file__).resolve().parents[2]


def test_gpt_oss_window_pages_by_hand():
    # gpt-oss-120b, bf16, T = 131,072, batch 4, vLLM pages of 16 tokens:
    # entry 2 (K,V) x 8 heads x 64 x 2 B = 2,048 B per token per layer -> page 32,768 B;
    # full layers (18): cdiv(131072, 16) = 8,192 pages;
    # window layers (18), per request as vLLM charges it: cdiv(min(127 + 8192 x 2, T), 16) + 1
    # = 1,033 pages; one decoding sequence: cdiv(min(127 + 1, T), 16) + 1 = 9 pages
    m = model_from_config_file(str(ROOT / "data/examples/gpt-oss-120b/config.json"))
    r = vllm_batch_kv(m, 131_072, batch=4, cache_dtype="bf16")
    page = 32_768
    assert r.in_flight_tokens == 16_384
    assert r.admission_bytes == 4 * 18 * (8_192 + 1_033) * page
    assert r.steady_state_bytes == 4 * 18 * (8_192 + 9) * page + 18 * (1_033 - 9) * page
    one = vllm_batch_kv(m, 131_072, batch=1, cache_dtype="bf16")
    assert one.admission_bytes == one.steady_state_bytes  # batch 1: the same figure


def test_v4_flash_batch_256_admission_vs_physical():
    # the per-request reservation multiplies window pages for 16,384 in-flight tokens by the
    # batch; the physical steady state holds them once
    r = vllm_batch_kv("deepseek-v4-flash", 131_072, batch=256, cache_dtype="fp8")
    assert r.admission_bytes > 10 * r.steady_state_bytes
    full_only = vllm_batch_kv("llama-3.1-70b", 131_072, batch=8, cache_dtype="bf16")
    assert full_only.admission_bytes == full_only.steady_state_bytes  # no window: no gap


def test_budget_charges_the_planners_admission_kv_and_names_the_steady_state():
    # one solver: budget's KV is the planner's (vLLM's per-request admission arithmetic x
    # batch, on one tensor-parallel group of 8: no pipeline split), and it names the lower
    # physical steady state beside it
    b = budget(
        "deepseek-v4-flash", "h200-sxm-141gb", count=8, context=131_072, batch=64, parallel="tp"
    )
    r = vllm_batch_kv("deepseek-v4-flash", 131_072, batch=64, tp=8)
    assert b.plan.knobs["tp"] == 8
    assert b.plan.knobs["pp"] == 1
    assert b.kv_bytes == r.admission_per_gpu_bytes > r.steady_state_per_gpu_bytes
    assert any(
        "physical steady state" in a
        and "admission" in a
        and f"{r.steady_state_per_gpu_bytes:,} B" in a
        for a in b.assumptions
    )
