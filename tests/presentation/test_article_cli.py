"""`python -m vramkit article` and the recipe-composer callback."""

from __future__ import annotations

import json

import pytest

from vramkit.catalog import V4_IDS, get_model
from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.quant import weight_bytes
from vramkit.widgets.quant import OFFICIAL_CHOICE, PANEL_GROUPS, describe


def test_article_json(capsys):
    assert main(["article", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["reproduced"]) == 72  # 4 tables × 6 rows × 3 numeric columns
    assert sum(c["matches"] for c in data["reproduced"]) == 70  # vramkit.article: 70/72
    assert list(data["tables"]) == list(V4_IDS)
    assert len(data["diff"]) == 24
    assert all(d["explanation"] for d in data["diff"])
    assert data["assumptions"]["minimum_context_tokens"] == 32_768
    flash = {r["recipe"]: r for r in data["tables"]["deepseek-v4-flash"]}
    assert flash["deepseek-v4-official"]["weight_bytes"] == 159_609_485_896


def test_article_text(capsys):
    assert main(["article", "--min-context", "4096", "--safer-context", "65536"]) == 0
    out = capsys.readouterr().out
    assert "70/72 cells match" in out
    assert "4,096 tokens" in out
    assert "ds4-q2" in out


def test_article_bad_context(capsys):
    assert main(["article", "--min-context", "65536", "--safer-context", "1024"]) == 2
    assert "safer_context_tokens" in capsys.readouterr().err


def test_describe_uniform_matches_uniform_recipe():
    # every panel group in Q4_K = the uniform:Q4_K recipe (vectors stay native in both)
    text = describe("deepseek-v4-flash", 32_768, dict.fromkeys(PANEL_GROUPS, "Q4_K"))
    expected = weight_bytes(get_model("deepseek-v4-flash"), "uniform:Q4_K").total_bytes
    assert f"{expected:,} bytes" in text
    assert "→ tier" in text


def test_describe_official_choice_is_near_official():
    text = describe("deepseek-v4-flash", 32_768, OFFICIAL_CHOICE)
    composed = int(text.split("weights: ")[1].split(" bytes")[0].replace(",", ""))
    # differs from the 159,609,485,896 B checkpoint only by indexer.wq_b, BF16 here and FP8
    # there: ≤ 1 extra byte per indexer parameter (< 0.3 B parameters in Flash incl. MTP)
    assert 159_609_485_896 < composed < 159_609_485_896 + 300_000_000


def test_describe_bad_format():
    with pytest.raises(VramkitError, match="format"):
        describe("deepseek-v4-flash", 32_768, {**OFFICIAL_CHOICE, "attention": "Q4_Z"})
