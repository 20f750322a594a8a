"""The article's prose claims and the real-file anchors (vramkit.article.claims)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vramkit.article.claims import CLAIMS, check_claim, check_claims, claim_by_quote, size_findings
from vramkit.errors import VramkitError
from vramkit.units import GB

# Routed experts of the main model: layers × experts × 3 matrices × hidden × moe_intermediate.
FLASH_EXPERT_PARAMS = 43 * 256 * 3 * 4096 * 2048  # = 277,025,390,592
PRO_EXPERT_PARAMS = 61 * 384 * 3 * 7168 * 3072  # = 1,547,396,186,112


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def article_text() -> str:
    for path in (
        REPO / "shared" / "source-article.txt",
        REPO.parent / "shared" / "source-article.txt",
    ):
        if path.is_file():
            return " ".join(path.read_text(encoding="utf-8").split())
    pytest.skip("shared/source-article.txt is not next to this checkout")


@pytest.fixture(scope="module")
def checks():
    return {(c.claim.quote, c.recipe_id): c for c in check_claims()}


def test_every_claim_quote_is_in_the_article(article_text):
    for claim in CLAIMS:
        assert claim.quote in article_text, claim.quote


def test_flash_q4_not_a_24gb_model_holds(checks):
    c = checks["it still probably will not be a 24GB GPU model", "gguf-Q4_K_M"]
    # Q4_K experts alone: 277,025,390,592 × 4.5 / 8 = 155.8 GB > 24 GB
    assert FLASH_EXPERT_PARAMS * 4.5 / 8 > 24 * GB
    assert c.holds
    assert not c.kit_fits


def test_96_to_128gb_starting_point_fails(checks):
    c = checks["A more realistic starting point is 96GB to 128GB total VRAM", "gguf-Q4_K_M"]
    # even at the generous upper end: 155.8 GB of Q4_K experts > 128 GB
    assert FLASH_EXPERT_PARAMS * 4.5 / 8 > 128 * GB
    assert not c.holds
    assert c.need_bytes > c.weight_bytes > 128 * GB
    assert "does NOT hold" in c.explanation


def test_flash_q2_in_80gb_fails(checks):
    c = checks["Theoretically try V4-Flash Q2/Q3 or heavy offload", "gguf-Q2_K"]
    # Q2_K is the narrowest type of the Q2_K mix: 277,025,390,592 × 2.625 / 8 = 90.9 GB > 80 GB
    assert FLASH_EXPERT_PARAMS * 2.625 / 8 > 80 * GB
    assert not c.holds


def test_pro_fp8_in_1tb_fails(checks):
    c = checks["V4-Pro FP8 and low-bit Pro-Base are more realistic", "deepseek-v4-fp8"]
    # FP8 experts: 1,547,396,186,112 × 8 / 8 = 1547.4 GB > 1 TB
    assert PRO_EXPERT_PARAMS > 1000 * GB
    assert not c.holds


def test_holding_claims(checks):
    assert checks["Pro-Base FP8 class", "deepseek-v4-base-official"].holds  # 1606 GB in 2 TB
    assert checks["V4-Pro FP8", "deepseek-v4-fp8"].holds  # not in 512 GB: right
    assert checks["Stable V4-Flash Q4", "gguf-Q4_K_M"].holds  # not in 48 GB: right


def test_claim_lookup():
    assert len(claim_by_quote("FP8/Q6")) == 2
    with pytest.raises(VramkitError, match="claim quote"):
        claim_by_quote("runs on a phone")


def test_check_claim_is_consistent_with_its_need():
    for claim in CLAIMS[:3]:
        c = check_claim(claim)
        assert c.kit_fits == (c.need_bytes <= claim.vram_bytes)


def test_size_findings():
    found = {f.topic: f for f in size_findings()}
    assert found["smallest V4-Flash"].verdict == "half right"
    assert "80.8 GiB" in found["smallest V4-Flash"].explanation
    assert "1602.03 GB" in found["Pro 'FP8 / official weights'"].explanation
    assert "8.10 bits" in found["Flash-Base note"].explanation
    # a real Pro Q4_K_M (950.87 GB at llama.cpp b11312) is heavier than the official 864.70 GB file
    assert "950.87 GB" in found["Pro at 4-bit"].explanation
    assert "2.16-bit" in found["Pro at 4-bit"].explanation  # 432e9 × 8 / 1,598,839,674,782
