"""Presentation helpers live in the package: one to_frame, the article report, one parameter
check per notebook topic, and the bring-your-own-model panel's callback."""

from __future__ import annotations

from pathlib import Path

import pytest

from vramkit.anatomy import anatomy_table
from vramkit.article.audit import first_principles_table
from vramkit.errors import VramkitError
from vramkit.present.article import article_report
from vramkit.present.frames import record_row, to_frame
from vramkit.present.validate import kv_params, moe_params, weights_params
from vramkit.widgets.ingest import describe


def test_one_to_frame_for_every_record_kind():
    rows = first_principles_table("deepseek-v4-flash", ["official"])
    frame = to_frame(rows)
    # FirstPrinciplesRow.row(): needs become their GPU-memory bytes
    assert frame.loc[0, "minimum_need_bytes"] == rows[0].minimum_need.memory_bytes
    assert "minimum_need" not in frame.columns
    assert len(to_frame(anatomy_table())) == len(anatomy_table())
    assert record_row({"a": 1}) == {"a": 1}
    with pytest.raises(TypeError):
        record_row(3)


def test_article_report_is_the_article_command_payload():
    data = article_report(32_768, 131_072)
    assert set(data) == {
        "assumptions",
        "reproduced",
        "tables",
        "diff",
        "claims",
        "sizes",
        "anchors",
    }
    assert data["anchors"][0]["published_bytes"] == 159_609_485_896


def test_validate_helpers_resolve_and_refuse():
    p = kv_params(["deepseek-v4-flash", "llama-3.1-70b"], "deepseek-v4-pro", "1M", 2, "fp8", "vllm")
    assert p.max_context == 1_048_576
    assert p.cache_dtype == "fp8_ds_mla"  # what vLLM stores for "fp8" on V4
    with pytest.raises(VramkitError, match="does not offer cache dtype"):
        kv_params(["deepseek-v4-flash"], "deepseek-v4-flash", 4096, 1, "fp8", "llama.cpp")
    with pytest.raises(VramkitError, match="batch"):
        kv_params(["deepseek-v4-flash"], "deepseek-v4-flash", 4096, 0, "bf16", "reference")
    m = moe_params("deepseek-v4-flash", "official", 32, 1.0, 32, "rtx-pro-6000-blackwell-96gb")
    assert m.recipe == "deepseek-v4-official"
    with pytest.raises(VramkitError, match="zipf_s"):
        moe_params("deepseek-v4-flash", "official", 32, -1.0, 32, "h100-sxm-80gb")
    assert weights_params("deepseek-v4-pro", 32_768, 131_072, "llama.cpp").runtime == "llama.cpp"
    with pytest.raises(VramkitError, match="context"):
        weights_params("deepseek-v4-pro", 32_768, 10**9, "vllm")


def test_ingest_panel_callback():
    example = Path(__file__).resolve().parents[2] / "data" / "examples" / "qwen3-30b-a3b"
    assert "routed_experts" in describe(str(example))
    assert describe("no/such/file.gguf").startswith("vramkit: ")
