"""Llama-2-13B, the catalog's dense model of V4-Flash's active size (issue 17, item 5): vramkit
counts exactly the published parameter count and the 16-bit checkpoint bytes it implies, from
the catalog entry and from data/examples/llama-2-13b/config.json alike; the teaching picture
draws it.

Published count 13,015,864,320 (sources in data/models.yaml and data/examples/README.md):
"meta-llama/Llama-2-13b-chat-hf": 13015864320 (a model_size_dict, code-index id 2567470270) and a
DeepSpeed log "Reconstructed Trainable fp32 state dict with 363 params 13015864320 elements"
(code-index id 13334078062).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vramkit.article.headline import DENSE_BASELINE, active_ratio
from vramkit.catalog import get_model
from vramkit.configfile import model_from_config_file
from vramkit.quant import get_recipe, weight_bytes

EX = Path(__file__).resolve().parents[2] / "data" / "examples" / "llama-2-13b" / "config.json"

PARAMS = 13_015_864_320
# Written out from the architecture (d=5120, L=40, V=32000, d_ff=13824, 40 heads = 40 KV heads):
# embed + lm_head 2 x 32000 x 5120 = 327,680,000; per layer q,k,v,o 4 x 5120^2 = 104,857,600 +
# gate,up,down 3 x 5120 x 13824 = 212,336,640 + two norms 2 x 5120 = 10,240 -> 317,204,480;
# final norm 5120.  327,680,000 + 40 x 317,204,480 + 5,120 = 13,015,864,320.
ARCH_PARAMS = 2 * 32000 * 5120 + 40 * (4 * 5120**2 + 3 * 5120 * 13824 + 2 * 5120) + 5120
# The official checkpoint is FP16 (torch_dtype float16), 2 bytes a parameter, the same bytes as
# the catalog layout `bf16`: 2 x 13,015,864,320 = 26,031,728,640 B (26.03 GB, 24.24 GiB).
FP16_BYTES = 2 * PARAMS


def test_written_out_arithmetic_matches_the_published_count() -> None:
    assert ARCH_PARAMS == PARAMS
    assert FP16_BYTES == 26_031_728_640


def test_catalog_entry_counts_exactly() -> None:
    m = get_model("llama-2-13b")
    assert m.params.main == PARAMS
    assert m.params.active == PARAMS  # dense: every parameter is read for every token
    assert m.checkpoint.layout == "bf16"
    assert m.checkpoint.total_size_bytes == FP16_BYTES
    assert weight_bytes(m).total_bytes == FP16_BYTES
    assert weight_bytes(m, get_recipe("bf16")).total_bytes == FP16_BYTES


def test_example_config_counts_exactly_under_its_official_fp16_layout() -> None:
    m = model_from_config_file(EX)
    assert m.params.main == PARAMS
    assert m.checkpoint_layout == "uniform:FP16"
    assert weight_bytes(m, get_recipe(m.checkpoint_layout)).total_bytes == FP16_BYTES
    assert weight_bytes(m, get_recipe("bf16")).total_bytes == FP16_BYTES


def test_dense_baseline_reads_all_it_holds() -> None:
    assert DENSE_BASELINE == "llama-2-13b"
    r = active_ratio(DENSE_BASELINE)
    assert r.resident_bytes == r.active_bytes == FP16_BYTES
    assert r.ratio == 1.0
    # a dense model of the MoE's active size: within 10% of V4-Flash's active count (13.8 B)
    assert abs(r.active_params / active_ratio("deepseek-v4-flash").active_params - 1) < 0.1


def test_teaching_picture_draws_the_dense_bar() -> None:
    pytest.importorskip("matplotlib")
    from vramkit import plots
    from vramkit.article import headline

    plots.use_style()
    fig = plots.summary.active_vs_resident(headline.headline())
    ax = fig.axes[0]
    heights = sorted(round(p.get_height()) for p in ax.patches)
    assert round(FP16_BYTES / 1e9) in heights  # 26 GB bar
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[-1] == "Llama-2\n13B dense"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Llama-2-13B, float16 (2 bytes/param)" in t for t in legend)
    lines = sorted(round(line.get_ydata()[0]) for line in ax.get_lines())
    assert lines == [24, 80]
    n_bars = len(ax.patches)
    plain = plots.summary.active_vs_resident(headline.headline(), dense=None)
    assert len(plain.axes[0].patches) == n_bars - 1
