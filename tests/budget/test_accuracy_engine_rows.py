"""The issue-14 ground-truth rows: example-config models and engine measures in the benchmark."""

from __future__ import annotations

import pytest

from vramkit.article import ground_truth as accuracy


@pytest.fixture(scope="module")
def rows():
    figs = [f for f in accuracy.load_ground_truth() if f.model.startswith("examples/")]
    return {r.figure.id: r for r in accuracy.evaluate(figs)}


@pytest.mark.parametrize(
    "fig_id",
    [
        "medgemma-27b-it-total-size",
        "gemma-2-2b-it-total-size",
        "phi-3-mini-4k-total-size",
        "deepseek-v2-lite-total-size",
        "mistral-7b-v0.3-total-size",
        "qwen1.5-moe-a2.7b-total-size",
        "gpt-oss-120b-checkpoint-bytes",
        "qwen3-235b-a22b-keras-params",
    ],
)
def test_checkpoint_sizes_and_param_counts_are_exact(rows, fig_id):
    assert rows[fig_id].error_pct == 0.0


def test_engine_log_lines_within_their_rounding(rows):
    # SGLang prints K size to 0.01 GiB; vramkit must land inside that rounding
    assert rows["qwen3-235b-sglang-k-size"].within_precision
    assert rows["qwen3-30b-sglang-k-size"].within_precision
    # vLLM's token count from the rounded 5.38 GiB: within one 16-token block x 3 of the log
    assert abs(rows["gpt-oss-120b-vllm-reported-tokens"].estimate - 78_384) <= 48
    assert abs(rows["gpt-oss-120b-vllm-marlin-load"].error_pct) < 0.2
