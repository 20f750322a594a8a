"""Every table of the source article as data, and every numeric cell re-derived by its own method.

Expected values are pinned to the printed article text (shared/source-article.txt); the arithmetic
in the comments is the article's method: size = official × bits/8, minimum = smallest tier ≥
size × 1.1, safer = one tier up (GB = 1e9 B, TB = 1e12 B).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from vramkit.article.tables import (
    ARTICLE_RULE,
    COLUMNS,
    DEFAULT_PATH,
    CellCheck,
    article_minimum_bytes,
    article_printed_size_bytes,
    article_safer_bytes,
    article_weight_bytes,
    load_article_tables,
    parse_article_size,
    reproduce_article,
)
from vramkit.errors import VramkitError
from vramkit.present.frames import to_frame
from vramkit.units import GB, TB

REPO = Path(__file__).resolve().parents[2]
FLASH, PRO = "deepseek-v4-flash", "deepseek-v4-pro"
FLASH_BASE, PRO_BASE = "deepseek-v4-flash-base", "deepseek-v4-pro-base"
FP8 = "FP8 / official weights"

# (variant, row label, column, printed text, bytes the article's method gives, does it match?)
EXPECTED = [
    # deepseek-v4-flash: official 159.61 GB
    # FP8: 159.61 × 8/8 = 159.61 GB, printed as is; × 1.1 = 175.571 → tier 192 GB; next tier 224 GB
    (FLASH, FP8, "size", "159.61GB", 159_610_000_000, True),
    (FLASH, FP8, "minimum", "192GB", 192 * GB, True),
    # ✗ one tier above 192 GB is 224 GB; the article prints 256 GB (two tiers up)
    (FLASH, FP8, "safer", "256GB", 224 * GB, False),
    # Q6: 159.61 × 6/8 = 119.7075 GB → 120 GB; × 1.1 = 132 → tier 160 GB; next tier 192 GB
    (FLASH, "Q6", "size", "120GB", 120 * GB, True),
    (FLASH, "Q6", "minimum", "160GB", 160 * GB, True),
    (FLASH, "Q6", "safer", "192GB", 192 * GB, True),
    # Q5: 159.61 × 5/8 = 99.75625 GB → 100 GB; × 1.1 = 110 → tier 128 GB; next tier 160 GB
    (FLASH, "Q5", "size", "100GB", 100 * GB, True),
    (FLASH, "Q5", "minimum", "128GB", 128 * GB, True),
    (FLASH, "Q5", "safer", "160GB", 160 * GB, True),
    # Q4: 159.61 × 4/8 = 79.805 GB → 80 GB; × 1.1 = 88 → tier 96 GB; next tier 128 GB
    (FLASH, "Q4", "size", "80GB", 80 * GB, True),
    (FLASH, "Q4", "minimum", "96GB", 96 * GB, True),
    (FLASH, "Q4", "safer", "128GB", 128 * GB, True),
    # Q3: 159.61 × 3/8 = 59.85375 GB → 60 GB; × 1.1 = 66 → tier 80 GB; next tier 96 GB
    (FLASH, "Q3", "size", "60GB", 60 * GB, True),
    (FLASH, "Q3", "minimum", "80GB", 80 * GB, True),
    (FLASH, "Q3", "safer", "96GB", 96 * GB, True),
    # Q2: 159.61 × 2/8 = 39.9025 GB → 40 GB; × 1.1 = 44 → tier 48 GB; next tier 64 GB
    (FLASH, "Q2", "size", "40GB", 40 * GB, True),
    (FLASH, "Q2", "minimum", "48GB", 48 * GB, True),
    (FLASH, "Q2", "safer", "64GB", 64 * GB, True),
    # deepseek-v4-pro: official 864.70 GB
    # FP8: 864.70 × 8/8 = 864.70 GB, printed as is; × 1.1 = 951.17 → tier 1 TB; next tier 1.2 TB
    (PRO, FP8, "size", "864.70GB", 864_700_000_000, True),
    (PRO, FP8, "minimum", "1TB", 1 * TB, True),
    (PRO, FP8, "safer", "1.2TB+", 1200 * GB, True),
    # Q6: 864.70 × 6/8 = 648.525 GB → 649 GB; × 1.1 = 713.9 → tier 768 GB; next tier 1 TB
    # ✗ 648.525 rounds to 649; the article prints 648 (truncated, or 864 × 6/8 = 648)
    (PRO, "Q6", "size", "648GB", 649 * GB, False),
    (PRO, "Q6", "minimum", "768GB", 768 * GB, True),
    (PRO, "Q6", "safer", "1TB", 1 * TB, True),
    # Q5: 864.70 × 5/8 = 540.4375 GB → 540 GB; × 1.1 = 594 → tier 640 GB; next tier 768 GB
    (PRO, "Q5", "size", "540GB", 540 * GB, True),
    (PRO, "Q5", "minimum", "640GB", 640 * GB, True),
    (PRO, "Q5", "safer", "768GB", 768 * GB, True),
    # Q4: 864.70 × 4/8 = 432.35 GB → 432 GB; × 1.1 = 475.2 → tier 512 GB; next tier 640 GB
    (PRO, "Q4", "size", "432GB", 432 * GB, True),
    (PRO, "Q4", "minimum", "512GB", 512 * GB, True),
    (PRO, "Q4", "safer", "640GB", 640 * GB, True),
    # Q3: 864.70 × 3/8 = 324.2625 GB → 324 GB; × 1.1 = 356.4 → tier 384 GB; next tier 512 GB
    (PRO, "Q3", "size", "324GB", 324 * GB, True),
    (PRO, "Q3", "minimum", "384GB", 384 * GB, True),
    (PRO, "Q3", "safer", "512GB", 512 * GB, True),
    # Q2: 864.70 × 2/8 = 216.175 GB → 216 GB; × 1.1 = 237.6 → tier 256 GB; next tier 320 GB
    (PRO, "Q2", "size", "216GB", 216 * GB, True),
    (PRO, "Q2", "minimum", "256GB", 256 * GB, True),
    (PRO, "Q2", "safer", "320GB", 320 * GB, True),
    # deepseek-v4-flash-base: official 294.67 GB
    # FP8: 294.67 × 8/8 = 294.67 GB, printed as is; × 1.1 = 324.137 → tier 384 GB; next tier 512 GB
    (FLASH_BASE, FP8, "size", "294.67GB", 294_670_000_000, True),
    (FLASH_BASE, FP8, "minimum", "384GB", 384 * GB, True),
    (FLASH_BASE, FP8, "safer", "512GB", 512 * GB, True),
    # Q6: 294.67 × 6/8 = 221.0025 GB → 221 GB; × 1.1 = 243.1 → tier 256 GB; next tier 320 GB
    (FLASH_BASE, "Q6", "size", "221GB", 221 * GB, True),
    (FLASH_BASE, "Q6", "minimum", "256GB", 256 * GB, True),
    (FLASH_BASE, "Q6", "safer", "320GB", 320 * GB, True),
    # Q5: 294.67 × 5/8 = 184.16875 GB → 184 GB; × 1.1 = 202.4 → tier 224 GB; next tier 256 GB
    (FLASH_BASE, "Q5", "size", "184GB", 184 * GB, True),
    (FLASH_BASE, "Q5", "minimum", "224GB", 224 * GB, True),
    (FLASH_BASE, "Q5", "safer", "256GB", 256 * GB, True),
    # Q4: 294.67 × 4/8 = 147.335 GB → 147 GB; × 1.1 = 161.7 → tier 192 GB; next tier 224 GB
    (FLASH_BASE, "Q4", "size", "147GB", 147 * GB, True),
    (FLASH_BASE, "Q4", "minimum", "192GB", 192 * GB, True),
    (FLASH_BASE, "Q4", "safer", "224GB", 224 * GB, True),
    # Q3: 294.67 × 3/8 = 110.50125 GB → 111 GB; × 1.1 = 122.1 → tier 128 GB; next tier 160 GB
    (FLASH_BASE, "Q3", "size", "111GB", 111 * GB, True),
    (FLASH_BASE, "Q3", "minimum", "128GB", 128 * GB, True),
    (FLASH_BASE, "Q3", "safer", "160GB", 160 * GB, True),
    # Q2: 294.67 × 2/8 = 73.6675 GB → 74 GB; × 1.1 = 81.4 → tier 96 GB; next tier 128 GB
    (FLASH_BASE, "Q2", "size", "74GB", 74 * GB, True),
    (FLASH_BASE, "Q2", "minimum", "96GB", 96 * GB, True),
    (FLASH_BASE, "Q2", "safer", "128GB", 128 * GB, True),
    # deepseek-v4-pro-base: official 1606.03 GB
    # FP8: 1606.03 × 8/8 = 1606.03 GB, printed as is; × 1.1 = 1766.633 → tier 2 TB; next tier 2.4 TB
    (PRO_BASE, FP8, "size", "1606.03GB", 1_606_030_000_000, True),
    (PRO_BASE, FP8, "minimum", "2TB", 2 * TB, True),
    (PRO_BASE, FP8, "safer", "2.4TB+", 2400 * GB, True),
    # Q6: 1606.03 × 6/8 = 1204.5225 GB → 1205 GB; × 1.1 = 1325.5 → tier 1.5 TB; next tier 2 TB
    (PRO_BASE, "Q6", "size", "1205GB", 1205 * GB, True),
    (PRO_BASE, "Q6", "minimum", "1.5TB", 1500 * GB, True),
    (PRO_BASE, "Q6", "safer", "2TB", 2 * TB, True),
    # Q5: 1606.03 × 5/8 = 1003.76875 GB → 1004 GB; × 1.1 = 1104.4 → tier 1.2 TB; next tier 1.5 TB
    (PRO_BASE, "Q5", "size", "1004GB", 1004 * GB, True),
    (PRO_BASE, "Q5", "minimum", "1.2TB", 1200 * GB, True),
    (PRO_BASE, "Q5", "safer", "1.5TB", 1500 * GB, True),
    # Q4: 1606.03 × 4/8 = 803.015 GB → 803 GB; × 1.1 = 883.3 → tier 1 TB; next tier 1.2 TB
    (PRO_BASE, "Q4", "size", "803GB", 803 * GB, True),
    (PRO_BASE, "Q4", "minimum", "1TB", 1 * TB, True),
    (PRO_BASE, "Q4", "safer", "1.2TB", 1200 * GB, True),
    # Q3: 1606.03 × 3/8 = 602.26125 GB → 602 GB; × 1.1 = 662.2 → tier 768 GB; next tier 1 TB
    (PRO_BASE, "Q3", "size", "602GB", 602 * GB, True),
    (PRO_BASE, "Q3", "minimum", "768GB", 768 * GB, True),
    (PRO_BASE, "Q3", "safer", "1TB", 1 * TB, True),
    # Q2: 1606.03 × 2/8 = 401.5075 GB → 402 GB; × 1.1 = 442.2 → tier 512 GB; next tier 640 GB
    (PRO_BASE, "Q2", "size", "402GB", 402 * GB, True),
    (PRO_BASE, "Q2", "minimum", "512GB", 512 * GB, True),
    (PRO_BASE, "Q2", "safer", "640GB", 640 * GB, True),
]


@pytest.fixture(scope="module")
def tables():
    return load_article_tables()


@pytest.fixture(scope="module")
def checks(tables) -> dict[tuple[str, str, str], CellCheck]:
    return {(c.variant, c.label, c.column): c for c in reproduce_article(tables)}


# ── the data file ────────────────────────────────────────────────────────────────────────────────
def test_default_path_is_the_repo_data_file():
    assert DEFAULT_PATH == REPO / "data" / "article_tables.yaml"


def test_tables_load_with_source(tables):
    assert tables.source.title == (
        "Running DeepSeek V4 Locally: VRAM Estimates for Pro, Flash, and Base Versions"
    )
    assert tables.source.document == "shared/source-article.txt"
    assert tables.source.url is None
    assert "No URL is known" in tables.source.url_note
    assert len(tables.quick_summary) == 9
    assert [o.variant for o in tables.official_sizes] == [FLASH, PRO, FLASH_BASE, PRO_BASE]
    assert len(tables.rows) == 24
    for variant in (FLASH, PRO, FLASH_BASE, PRO_BASE):
        rows = [r for r in tables.rows if r.variant == variant]
        assert [r.label for r in rows] == [FP8, "Q6", "Q5", "Q4", "Q3", "Q2"]
        assert [r.bits for r in rows] == [8, 6, 5, 4, 3, 2]


def test_official_sizes_are_the_articles(tables):
    # "Official Weight Sizes": 159.61GB, 864.70GB, 294.67GB, 1606.03GB (GB = 1e9 B)
    assert [o.size_bytes for o in tables.official_sizes] == [
        159_610_000_000,
        864_700_000_000,
        294_670_000_000,
        1_606_030_000_000,
    ]
    assert tables.official_bytes(PRO) == 864_700_000_000
    with pytest.raises(VramkitError, match=r"unknown variant 'deepseek-v4-pr'.*deepseek-v4-pro"):
        tables.official_bytes("deepseek-v4-pr")


def test_quick_summary_scales(tables):
    texts = [q.vram_text for q in tables.quick_summary]
    assert texts == ["24GB", "48GB", "80GB", "128GB", "192GB", "256GB", "512GB", "1TB+", "2TB+"]
    assert [q.or_more for q in tables.quick_summary][-2:] == [True, True]
    assert tables.quick_summary[-2].vram_bytes == 1 * TB  # the article's "1TB" is 1e12 B
    assert tables.quick_summary[4].do_not_expect == "V4-Pro Q4"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("159.61GB", 159_610_000_000), ("1TB", 10**12), ("1.2TB+", 1_200_000_000_000),
     ("2.4TB+", 2_400_000_000_000), ("48GB", 48 * 10**9)],
)  # fmt: skip
def test_parse_article_size(text, expected):
    assert parse_article_size(text) == expected


@pytest.mark.parametrize("text", ["1.2 TB", "96GiB", "GB", "1,2TB", "+1TB", ""])
def test_parse_article_size_refuses_other_spellings(text):
    with pytest.raises(VramkitError, match="cannot read article cell"):
        parse_article_size(text)


def _article_lines() -> set[str] | None:
    for path in (
        REPO / "shared" / "source-article.txt",
        REPO.parent / "shared" / "source-article.txt",
    ):
        if path.is_file():
            return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    return None


def test_every_row_is_verbatim_in_the_article(tables):
    lines = _article_lines()
    if lines is None:
        pytest.skip("shared/source-article.txt is not next to this checkout")
    for r in tables.rows:
        cells = [r.label, r.size_text, r.minimum_text, r.safer_text, r.best_for]
        assert " ".join(cells) in lines, cells
    for q in tables.quick_summary:
        assert f"{q.vram_text} {q.realistic} {q.do_not_expect}" in lines
    for o in tables.official_sizes:
        assert f"{o.model} {o.parameter_scale} {o.size_text} {o.notes}" in lines


# ── every numeric cell ───────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("variant", "label", "column", "text", "reproduced", "matches"),
    EXPECTED,
    ids=[f"{v}|{lab}|{col}" for v, lab, col, *_ in EXPECTED],
)
def test_cell(checks, variant, label, column, text, reproduced, matches):
    check = checks[(variant, label, column)]
    assert check.printed_text == text
    assert check.printed_bytes == parse_article_size(text)
    assert check.reproduced_bytes == reproduced
    assert check.matches is matches
    assert check.matches is (check.printed_bytes == check.reproduced_bytes)
    assert check.reason


def test_every_cell_is_checked_once(checks):
    assert len(checks) == 72 == len(EXPECTED)  # 4 tables × 6 rows × 3 numeric columns
    assert set(checks) == {(v, lab, col) for v, lab, col, *_ in EXPECTED}
    assert sum(c.matches for c in checks.values()) == 70


def test_pro_q6_size_mismatch_is_explained(checks):
    # 864.70 GB × 6/8 = 648.525 GB: nearest whole GB is 649, the article prints 648
    reason = checks[(PRO, "Q6", "size")].reason
    assert "864.7 GB × 6/8 = 648.525 GB" in reason
    assert "649 GB" in reason
    assert "'648GB'" in reason
    # truncating everywhere would break 10 rows, e.g. Flash Q6 119.7075 → 119 (printed 120)
    assert "would break 10 other rows" in reason
    assert "864 GB × 6/8 = 648 GB" in reason


def test_flash_fp8_safer_mismatch_is_explained(checks):
    # minimum 192 GB, one tier up is 224 GB; the article prints 256 GB (two tiers up). A factor
    # would need 159.61 × f > 224, f > 1.403; Pro FP8 caps f at 1200/864.70 = 1.388.
    reason = checks[(FLASH, FP8, "safer")].reason
    assert "192 GB: 224 GB" in reason
    assert "'256GB', 2 tiers above" in reason
    assert "f > 1.403" in reason
    assert "1.333 < f ≤ 1.388" in reason
    assert f"{PRO} {FP8}" in reason


@pytest.mark.parametrize(("variant", "tier"), [(PRO, 1_200_000_000_000), (PRO_BASE, 2_400 * GB)])
def test_or_more_cells_match_the_number_before_plus(checks, variant, tier):
    check = checks[(variant, FP8, "safer")]
    assert check.printed_text.endswith("+")
    assert check.matches
    assert check.reproduced_bytes == tier
    assert "'+' means 'or more'" in check.reason


def test_to_frame(checks):
    frame = to_frame(list(checks.values()))
    assert len(frame) == 72
    assert list(frame.columns)[:3] == ["variant", "label", "column"]
    assert int((~frame["matches"]).sum()) == 2


# ── the rule ─────────────────────────────────────────────────────────────────────────────────────
def test_tiers_are_exactly_the_printed_vram_figures(tables):
    printed = {r.minimum_bytes for r in tables.rows} | {r.safer_bytes for r in tables.rows}
    assert set(ARTICLE_RULE.tiers_bytes) == printed
    assert list(ARTICLE_RULE.tiers_bytes) == sorted(printed)
    assert len(ARTICLE_RULE.tiers_bytes) == 19


def _minimum_mismatches(rule) -> list[tuple[str, str]]:
    return [
        (c.variant, c.label)
        for c in reproduce_article(rule=rule)
        if c.column == "minimum" and not c.matches
    ]


def test_minimum_factor_bounds_are_tight():
    low, high = ARTICLE_RULE.minimum_factor_bounds
    assert low < ARTICLE_RULE.minimum_factor <= high
    # 147 GB × 160/147 = 160 GB lands on the 160 GB tier, the article prints 192GB
    assert _minimum_mismatches(dataclasses.replace(ARTICLE_RULE, minimum_factor=low)) == [
        (FLASH_BASE, "Q4")
    ]
    assert _minimum_mismatches(dataclasses.replace(ARTICLE_RULE, minimum_factor=high)) == []
    # 111 GB × (128/111 + ε) > 128 GB → 160 GB, the article prints 128GB
    over = dataclasses.replace(ARTICLE_RULE, minimum_factor=high + Fraction(1, 10**6))
    assert _minimum_mismatches(over) == [(FLASH_BASE, "Q3")]


def test_no_safer_factor_reproduces_every_safer_cell(tables):
    # safer = smallest tier ≥ size × f, swept over 1.000 … 2.000: at best 23 of 24, never Flash FP8
    tiers = ARTICLE_RULE.tiers_bytes
    best = 0
    for step in range(0, 1001):
        f = 1 + Fraction(step, 1000)
        hits = 0
        for r in tables.rows:
            need = r.size_bytes * f
            hits += next((t for t in tiers if t >= need), None) == r.safer_bytes
        best = max(best, hits)
    assert best == 23


def test_weight_bytes_is_official_times_bits_over_8():
    assert article_weight_bytes(159_610_000_000, 6) == 119_707_500_000  # 159.61 × 6/8 = 119.7075
    assert article_weight_bytes(1_606_030_000_000, 3) == 602_261_250_000  # 1606.03 × 3/8
    assert article_weight_bytes(159_610_000_000, 8) == 159_610_000_000
    assert article_weight_bytes(3, 1) == 0  # 0.375 B rounds half up to 0
    assert article_weight_bytes(4, 1) == 1  # 0.5 B rounds half up to 1


def test_printed_size_rounds_half_up_to_whole_gb():
    assert article_printed_size_bytes(1_606_030_000_000, 6) == 1205 * GB  # 1204.5225 → 1205
    assert article_printed_size_bytes(294_670_000_000, 3) == 111 * GB  # 110.50125 → 111
    assert article_printed_size_bytes(4 * GB, 1) == 1 * GB  # exactly 0.5 GB → 1 GB (half up)
    assert article_printed_size_bytes(864_700_000_000, 8) == 864_700_000_000  # official as is


@pytest.mark.parametrize(
    ("size", "minimum", "safer"),
    [(40 * GB, 48 * GB, 64 * GB), (80 * GB, 96 * GB, 128 * GB), (0, 48 * GB, 64 * GB),
     (1818 * GB, 2 * TB, 2_400 * GB)],
)  # fmt: skip
def test_minimum_and_safer(size, minimum, safer):
    # 80 GB × 1.1 = 88 → 96 GB; 1818 GB × 1.1 = 1999.8 → 2 TB, then 2.4 TB
    assert article_minimum_bytes(size) == minimum
    assert article_safer_bytes(size) == safer


def test_beyond_the_ladder_is_an_error():
    # 2200 GB × 1.1 = 2420 GB is above the 2.4 TB top tier
    with pytest.raises(VramkitError, match=r"above the article's largest tier 2\.4 TB"):
        article_minimum_bytes(2200 * GB)
    # 1900 GB × 1.1 = 2090 GB → minimum 2.4 TB, which has no tier above it
    with pytest.raises(VramkitError, match=r"minimum 2\.4 TB has no tier 1 above it"):
        article_safer_bytes(1900 * GB)


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda: article_weight_bytes(-1, 4), "official_bytes must be >= 1"),
     (lambda: article_weight_bytes(10 * GB, 16), "bits must be <= 8"),
     (lambda: article_weight_bytes(10 * GB, 4.5), "bits must be a whole number"),
     (lambda: article_minimum_bytes("80GB"), "size_bytes must be a whole number")],
)  # fmt: skip
def test_bad_arguments(call, message):
    with pytest.raises(VramkitError, match=message):
        call()


def test_rule_validates_itself():
    with pytest.raises(VramkitError, match="strictly increasing"):
        dataclasses.replace(ARTICLE_RULE, tiers_bytes=(96 * GB, 48 * GB))
    assert COLUMNS == ("size", "minimum", "safer")


# ── schema errors ────────────────────────────────────────────────────────────────────────────────
def _raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "article_tables.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_missing_field_is_named(tmp_path):
    raw = _raw()
    del raw["variant_tables"][1]["rows"][2]["safer_text"]
    with pytest.raises(
        VramkitError, match=r"variant_tables\[1\]\.rows\[2\]: missing field 'safer_text'"
    ):
        load_article_tables(_write(tmp_path, raw))


def test_unknown_key_is_named(tmp_path):
    raw = _raw()
    raw["official_sizes"]["rows"][0]["size_gib"] = 148.65
    with pytest.raises(VramkitError, match=r"official_sizes\.rows\[0\]: unknown key 'size_gib'"):
        load_article_tables(_write(tmp_path, raw))


def test_bytes_must_match_text(tmp_path):
    raw = _raw()
    raw["variant_tables"][0]["rows"][1]["size_bytes"] = 119_707_500_000
    with pytest.raises(
        VramkitError, match=r"size_bytes: 119707500000 does not match size_text '120GB'"
    ):
        load_article_tables(_write(tmp_path, raw))


@pytest.mark.parametrize(
    ("edit", "message"),
    [(lambda r: r.update(schema_version=2), "schema_version must be 1, got 2"),
     (lambda r: r["source"].update(title=7), r"source\.title: expected str, got 7"),
     (lambda r: r["variant_tables"][0]["rows"][0].update(bits=6), "bits 6 does not match label"),
     (lambda r: r["variant_tables"][2].update(variant="deepseek-v4-flashbase"),
      "unknown variant 'deepseek-v4-flashbase'"),
     (lambda r: r["variant_tables"][0]["rows"].append(r["variant_tables"][0]["rows"][0]),
      "duplicate label 'FP8 / official weights'"),
     (lambda r: r["quick_summary"]["rows"][0].update(vram_text="24 GB"),
      "cannot read article cell '24 GB'"),
     (lambda r: r.pop("quick_summary"), "missing field 'quick_summary'")],
)  # fmt: skip
def test_other_schema_errors(tmp_path, edit, message):
    raw = _raw()
    edit(raw)
    with pytest.raises(VramkitError, match=message):
        load_article_tables(_write(tmp_path, raw))


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(VramkitError, match="does not exist"):
        load_article_tables(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: [1\n", encoding="utf-8")
    with pytest.raises(VramkitError, match="not valid YAML"):
        load_article_tables(bad)
