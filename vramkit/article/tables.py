"""The source article's tables (data/article_tables.yaml) and its own method, cell by cell.

The article sizes a variant as official size × bits / 8 and reads Minimum / Safer VRAM off a
ladder of memory tiers. `ARTICLE_RULE` is the rule that reproduces it; `reproduce_article` audits.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..datafiles import DATA_DIR, load_document
from ..errors import VramkitError, require_int, unknown_name
from ..units import GB, TB, parse_size

if TYPE_CHECKING:
    pass

DEFAULT_PATH = DATA_DIR / "article_tables.yaml"
COLUMNS = ("size", "minimum", "safer")
"""Numeric columns of a variant table: Estimated Weight Size, Minimum VRAM, Safer VRAM."""

_CELL_TEXT = re.compile(r"^\d+(\.\d+)?(GB|TB)\+?$")


# ── records ──────────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ArticleSource:
    """Where the tables come from: the article's title, the supplied document, its URL if known."""

    title: str
    document: str
    url: str | None
    url_note: str


@dataclass(frozen=True)
class QuickSummaryRow:
    """A Quick Summary row: VRAM scale as printed and in bytes (GB=1e9, TB=1e12), two verdicts."""

    vram_text: str
    vram_bytes: int
    realistic: str
    do_not_expect: str

    @property
    def or_more(self) -> bool:
        """True when the printed scale ends in '+' ('or more')."""
        return self.vram_text.endswith("+")


@dataclass(frozen=True)
class OfficialSizeRow:
    """An 'Official Weight Sizes' row: the article's checkpoint size (GB = 1e9 B) of a variant."""

    variant: str
    model: str
    parameter_scale: str
    size_text: str
    size_bytes: int
    notes: str


@dataclass(frozen=True)
class ArticleRow:
    """A variant-table row: each *_text is a printed cell, *_bytes it parsed (GB=1e9, TB=1e12)."""

    variant: str
    label: str
    bits: int
    size_text: str
    size_bytes: int
    minimum_text: str
    minimum_bytes: int
    safer_text: str
    safer_bytes: int
    best_for: str

    def cell(self, column: str) -> tuple[str, int]:
        """(printed text, bytes) of a numeric column: 'size', 'minimum' or 'safer'."""
        if column not in COLUMNS:
            raise unknown_name("column", column, COLUMNS)
        return getattr(self, f"{column}_text"), getattr(self, f"{column}_bytes")


@dataclass(frozen=True)
class ArticleTables:
    """The article's tables: source, Quick Summary, Official Weight Sizes and the variant rows."""

    source: ArticleSource
    quick_summary: tuple[QuickSummaryRow, ...]
    official_sizes: tuple[OfficialSizeRow, ...]
    rows: tuple[ArticleRow, ...]

    def official_bytes(self, variant: str) -> int:
        """The article's official weight size of `variant`, in bytes."""
        for row in self.official_sizes:
            if row.variant == variant:
                return row.size_bytes
        raise unknown_name("variant", variant, (r.variant for r in self.official_sizes))


# ── loading and validation ───────────────────────────────────────────────────────────────────────
_SPECS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "top": {"schema_version": int, "source": dict, "quick_summary": dict,
            "official_sizes": dict, "variant_tables": list},
    "source": {"title": str, "document": str, "url": (str, type(None)), "url_note": str},
    "quick_summary": {"heading": str, "columns": list, "rows": list},
    "quick_row": {"vram_text": str, "vram_bytes": int, "realistic": str, "do_not_expect": str},
    "official_sizes": {"heading": str, "columns": list, "quote": str, "rows": list},
    "official_row": {"variant": str, "model": str, "parameter_scale": str, "size_text": str,
                     "size_bytes": int, "notes": str},
    "variant_table": {"variant": str, "heading": str, "quote": str, "rows": list},
    "row": {"label": str, "bits": int, "size_text": str, "size_bytes": int, "minimum_text": str,
            "minimum_bytes": int, "safer_text": str, "safer_bytes": int, "best_for": str},
}  # fmt: skip


def _fields(raw: object, spec: str, where: str) -> dict[str, Any]:
    """Check that `raw` is a mapping with exactly the fields of `spec`, each of the right type."""
    allowed = _SPECS[spec]
    if not isinstance(raw, dict):
        raise VramkitError(f"{where}: expected a mapping with fields {', '.join(allowed)}.")
    for key in raw:
        if key not in allowed:
            raise VramkitError(f"{where}: {unknown_name('key', key, allowed)}")
    for key, kind in allowed.items():
        if key not in raw:
            raise VramkitError(f"{where}: missing field {key!r} (required: {', '.join(allowed)}).")
        value = raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise VramkitError(f"{where}.{key}: expected {_kind_name(kind)}, got {value!r}.")
    return raw


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def parse_article_size(text: str) -> int:
    """Bytes of a printed cell ('159.61GB', '1TB', '1.2TB+'): GB = 1e9, TB = 1e12, '+' dropped."""
    if not isinstance(text, str) or not _CELL_TEXT.match(text):
        raise VramkitError(
            f"cannot read article cell {text!r}: expected a number with GB or TB and an optional "
            "'+' (or more), e.g. '159.61GB', '1.2TB+'."
        )
    return parse_size(text.removesuffix("+"))


def _checked_bytes(raw: dict[str, Any], name: str, where: str) -> None:
    text, given = raw[f"{name}_text"], raw[f"{name}_bytes"]
    parsed = parse_article_size(text)
    if given != parsed:
        raise VramkitError(
            f"{where}.{name}_bytes: {given} does not match {name}_text {text!r} = {parsed} bytes "
            "(GB = 1e9, TB = 1e12)."
        )


def _label_bits(label: str) -> int | None:
    if label == "FP8 / official weights":
        return 8
    match = re.fullmatch(r"Q([2-8])", label)
    return int(match.group(1)) if match else None


def load_article_tables(path: str | Path | None = None) -> ArticleTables:
    """Load and validate the article's tables (default: the repo's data/article_tables.yaml)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    raw = load_document(path)
    top = _fields(raw, "top", str(path))
    source = ArticleSource(**_fields(top["source"], "source", "source"))

    qs = _fields(top["quick_summary"], "quick_summary", "quick_summary")
    quick = []
    for i, item in enumerate(qs["rows"]):
        where = f"quick_summary.rows[{i}]"
        row = _fields(item, "quick_row", where)
        _checked_bytes(row, "vram", where)
        quick.append(QuickSummaryRow(**row))

    off = _fields(top["official_sizes"], "official_sizes", "official_sizes")
    official = []
    for i, item in enumerate(off["rows"]):
        where = f"official_sizes.rows[{i}]"
        row = _fields(item, "official_row", where)
        _checked_bytes(row, "size", where)
        if row["variant"] in {o.variant for o in official}:
            raise VramkitError(f"{where}: duplicate variant {row['variant']!r}.")
        official.append(OfficialSizeRow(**row))

    rows: list[ArticleRow] = []
    for t, table in enumerate(top["variant_tables"]):
        where = f"variant_tables[{t}]"
        table = _fields(table, "variant_table", where)
        variant = table["variant"]
        if variant not in {o.variant for o in official}:
            known = (o.variant for o in official)
            raise VramkitError(f"{where}.variant: {unknown_name('variant', variant, known)}")
        if variant in {r.variant for r in rows}:
            raise VramkitError(f"{where}: duplicate variant table {variant!r}.")
        labels: set[str] = set()
        for i, item in enumerate(table["rows"]):
            rwhere = f"{where}.rows[{i}]"
            row = _fields(item, "row", rwhere)
            for name in COLUMNS:
                _checked_bytes(row, name, rwhere)
            if _label_bits(row["label"]) != row["bits"]:
                raise VramkitError(
                    f"{rwhere}: bits {row['bits']} does not match label {row['label']!r} "
                    "('FP8 / official weights' is 8, 'Qn' is n)."
                )
            if row["label"] in labels:
                raise VramkitError(f"{rwhere}: duplicate label {row['label']!r} in {variant}.")
            labels.add(row["label"])
            rows.append(ArticleRow(variant=variant, **row))
    return ArticleTables(source, tuple(quick), tuple(official), tuple(rows))


# ── the article's method ─────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ArticleRule:
    """The rule that reproduces the article's VRAM columns, found by sweeping factors and tiers.

    minimum = smallest tier ≥ size × minimum_factor; safer = the tier `safer_steps` above minimum,
    where size is the printed size (official figure at 8 bits, else nearest `size_step_bytes`).
    All amounts are bytes; `rationale` says why these values (see also the sweep in the tests).
    """

    tiers_bytes: tuple[int, ...]
    minimum_factor: Fraction
    minimum_factor_bounds: tuple[Fraction, Fraction]
    """Every factor f with low < f ≤ high gives the same 24 minimum cells (rounded sizes)."""
    safer_steps: int
    size_step_bytes: int
    rationale: str = field(repr=False)

    def __post_init__(self) -> None:
        tiers = self.tiers_bytes
        if not tiers or any(a >= b for a, b in itertools.pairwise(tiers)) or tiers[0] <= 0:
            raise VramkitError(
                f"tiers_bytes must be positive and strictly increasing, got {tiers}."
            )
        if self.minimum_factor <= 0 or self.safer_steps < 0 or self.size_step_bytes < 1:
            raise VramkitError(
                "minimum_factor must be > 0, safer_steps >= 0 and size_step_bytes >= 1, got "
                f"{self.minimum_factor}, {self.safer_steps}, {self.size_step_bytes}."
            )


_TIERS_GB = (48, 64, 80, 96, 128, 160, 192, 224, 256, 320, 384, 512, 640, 768, 1000, 1200, 1500,
             2000, 2400)  # fmt: skip
"""The article's memory tiers in GB: every VRAM figure its four tables print (1000 GB = '1TB')."""

ARTICLE_RULE = ArticleRule(
    tiers_bytes=tuple(n * GB for n in _TIERS_GB),
    minimum_factor=Fraction(11, 10),
    minimum_factor_bounds=(Fraction(160, 147), Fraction(128, 111)),
    safer_steps=1,
    size_step_bytes=GB,
    rationale=(
        "Tiers: exactly the 19 distinct VRAM figures the four tables print (48 GB … 768 GB, then "
        "1, 1.2, 1.5, 2, 2.4 TB; 1 TB = 1e12 B). A sweep showed each one is needed (dropping any "
        "loses 1-4 cells) and adding common sizes (24, 32, 40, 288 GB …) changes nothing. "
        "Minimum factor: any f in (160/147, 128/111] = (1.088, 1.153] reproduces all 24 minimum "
        "cells (Flash-Base Q4 147 GB needs > 160, Flash-Base Q3 111 GB needs ≤ 128); 1.1 is the "
        "simplest value inside. Safer: one tier above the minimum, no extra parameter; a size "
        "factor in (4/3, 1200/864.70] reproduces the same 23 of 24 cells and no factor gets "
        "Flash FP8's 256 GB (it needs > 224/159.61 = 1.403)."
    ),
)


def _round_half_up(value: Fraction, step: int) -> int:
    return math.floor(value / step + Fraction(1, 2)) * step


def article_weight_bytes(official_bytes: int, bits: int) -> int:
    """Article weight estimate in bytes: official_bytes × bits / 8 (official checkpoint = 8-bit).

    Exact for the article's sizes (multiples of 10 MB); otherwise rounded half up to a whole byte.
    """
    official = require_int("official_bytes", official_bytes, minimum=1)
    width = require_int("bits", bits, minimum=1, maximum=8)
    return _round_half_up(Fraction(official * width, 8), 1)


def article_printed_size_bytes(
    official_bytes: int, bits: int, *, rule: ArticleRule = ARTICLE_RULE
) -> int:
    """The size the article prints, bytes: official × bits/8, to the nearest whole GB (half up).

    The 8-bit row is the official figure itself (printed to 0.01 GB, not rounded).
    """
    exact = article_weight_bytes(official_bytes, bits)
    return exact if bits == 8 else _round_half_up(Fraction(exact), rule.size_step_bytes)


def article_minimum_bytes(size_bytes: int, *, rule: ArticleRule = ARTICLE_RULE) -> int:
    """Article 'Minimum VRAM', bytes: the smallest tier ≥ size_bytes × rule.minimum_factor."""
    size = require_int("size_bytes", size_bytes, minimum=0)
    need = size * rule.minimum_factor
    for tier in rule.tiers_bytes:
        if tier >= need:
            return tier
    raise VramkitError(
        f"size {_gb(size)} × {_dec(rule.minimum_factor)} = {_gb(need)} is above the article's "
        f"largest tier {_tier(rule.tiers_bytes[-1])}; its method gives no figure there."
    )


def article_safer_bytes(size_bytes: int, *, rule: ArticleRule = ARTICLE_RULE) -> int:
    """Article 'Safer VRAM', bytes: the tier rule.safer_steps above article_minimum_bytes(size)."""
    minimum = article_minimum_bytes(size_bytes, rule=rule)
    index = rule.tiers_bytes.index(minimum) + rule.safer_steps
    if index >= len(rule.tiers_bytes):
        raise VramkitError(
            f"minimum {_tier(minimum)} has no tier {rule.safer_steps} above it in the article's "
            f"ladder (largest {_tier(rule.tiers_bytes[-1])}); no safer figure."
        )
    return rule.tiers_bytes[index]


# ── the audit ────────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class CellCheck:
    """One numeric cell: printed vs reproduced bytes, whether they agree, and why (with numbers)."""

    variant: str
    label: str
    column: str
    printed_text: str
    printed_bytes: int
    reproduced_bytes: int
    matches: bool
    reason: str


def _dec(value: Fraction | int) -> str:
    f = Fraction(value)
    return f"{(Decimal(f.numerator) / Decimal(f.denominator)).normalize():f}"


def _gb(n_bytes: Fraction | int) -> str:
    return f"{_dec(Fraction(n_bytes) / GB)} GB"


def _tier(n_bytes: int) -> str:
    return f"{_dec(Fraction(n_bytes, TB))} TB" if n_bytes >= TB else _gb(n_bytes)


def reproduce_article(
    tables: ArticleTables | None = None, *, rule: ArticleRule = ARTICLE_RULE
) -> list[CellCheck]:
    """Re-run the article's method for every numeric cell of the four variant tables (72 cells)."""
    tables = tables if tables is not None else load_article_tables()
    checks: list[CellCheck] = []
    for row in tables.rows:
        official = tables.official_bytes(row.variant)
        exact = article_weight_bytes(official, row.bits)
        size = article_printed_size_bytes(official, row.bits, rule=rule)
        minimum = article_minimum_bytes(size, rule=rule)
        safer = article_safer_bytes(size, rule=rule)
        reasons = {
            "size": _size_reason(tables, row, official, exact, size),
            "minimum": f"{_gb(size)} × {_dec(rule.minimum_factor)} = "
            f"{_gb(size * rule.minimum_factor)} → smallest tier ≥ it: {_tier(minimum)}",
            "safer": _safer_reason(tables, row, minimum, safer, rule),
        }
        for column, value in zip(COLUMNS, (size, minimum, safer), strict=True):
            text, printed = row.cell(column)
            reason = reasons[column]
            if value != printed and column == "minimum":
                reason += f"; the article prints {text!r}"
            if text.endswith("+"):
                reason += (
                    f"; {text!r}: '+' means 'or more'; the rule gives the number before the '+'"
                )
            checks.append(
                CellCheck(
                    row.variant, row.label, column, text, printed, value, value == printed, reason
                )
            )
    return checks


def _size_reason(
    tables: ArticleTables, row: ArticleRow, official: int, exact: int, size: int
) -> str:
    arithmetic = f"{_gb(official)} × {row.bits}/8 = {_gb(exact)}"
    if row.bits == 8:
        return f"8-bit row prints the official size itself: {arithmetic}"
    if size == row.size_bytes:
        return f"{arithmetic} → nearest whole GB: {_gb(size)}"
    reason = (
        f"{arithmetic}; the nearest whole GB (half up, as every other row rounds) is {_gb(size)}, "
        f"but the article prints {row.size_text!r}"
    )
    floor = exact // GB * GB
    if floor == row.size_bytes:
        others = [
            (r, article_weight_bytes(tables.official_bytes(r.variant), r.bits))
            for r in tables.rows
            if r.bits != 8 and r is not row
        ]
        broken = [(r, e) for r, e in others if e // GB * GB != r.size_bytes]
        reason += f": here it truncated, which would break {len(broken)} other rows"
        if broken:
            r, e = broken[0]
            floored = _gb(e // GB * GB)
            reason += (
                f" (e.g. {r.variant} {r.label}: {_gb(e)} → {floored}, printed {r.size_text!r})"
            )
    base = official // GB * GB
    if base != official and base * row.bits // 8 == row.size_bytes and base * row.bits % 8 == 0:
        reason += (
            f"; equivalently it used {_gb(base)} instead of {_gb(official)} as the base "
            f"({_gb(base)} × {row.bits}/8 = {_gb(base * row.bits // 8)})"
        )
    return reason


def _safer_reason(
    tables: ArticleTables, row: ArticleRow, minimum: int, safer: int, rule: ArticleRule
) -> str:
    tiers = rule.tiers_bytes
    reason = (
        f"the tier {rule.safer_steps} step(s) above the minimum {_tier(minimum)}: {_tier(safer)}"
    )
    if safer == row.safer_bytes:
        return reason
    reason += f"; the article prints {row.safer_text!r}"
    if row.safer_bytes not in tiers or row.safer_bytes == tiers[0]:
        return reason + ", which no tier step from the minimum reaches"
    steps = tiers.index(row.safer_bytes) - tiers.index(minimum)
    below = tiers[tiers.index(row.safer_bytes) - 1]
    # A size factor f (safer = smallest tier >= size x f) would need f > below/size, while each
    # other printed safer cell bounds f to (its tier below / its size, its safer / its size].
    bounds = []
    for other in tables.rows:
        if other is not row and other.safer_bytes in tiers[1:]:
            i = tiers.index(other.safer_bytes)
            name = f"{other.variant} {other.label}"
            low = Fraction(tiers[i - 1], other.size_bytes)
            bounds.append((low, Fraction(other.safer_bytes, other.size_bytes), name))
    low, low_name = max((b[0], b[2]) for b in bounds)
    high, high_name = min((b[1], b[2]) for b in bounds)
    return reason + (
        f", {steps} tiers above the minimum. No size factor f (safer = smallest tier ≥ size × f) "
        f"gives it either: it needs {_gb(row.size_bytes)} × f > {_tier(below)}, "
        f"f > {float(Fraction(below, row.size_bytes)):.3f}, while the other safer cells need "
        f"{float(low):.3f} < f ≤ {float(high):.3f} (bounds set by {low_name} and {high_name})"
    )
