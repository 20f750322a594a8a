"""The one `Source` record every data file's figures carry, and its one parser.

A source says where a figure comes from (an https `url`, or a `document` in the repository such as
``docs/research/…``) and exactly what it says (`quote`); optionally its kind (code, measured,
secondary, survey-cited …), when it was read, and whether it is unconfirmed. A link without a
quote, or a quote without a link or document, is an error — never an empty source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import VramkitError

SOURCE_KEYS = frozenset(
    {
        "url",
        "document",
        "quote",
        "kind",
        "retrieved",
        "status",
        "note",
        "version",
        "formula",
        "moving",
        "moving_reason",
    }
)
"""Keys a source mapping may hold in data/*.yaml."""


MOVING_URL = re.compile(
    r"/(blob|tree|resolve|raw)/(main|master)/"
    r"|raw\.githubusercontent\.com/[^/]+/[^/]+/(main|master)/|/en/latest/"
)
"""A url on a moving branch: its text may change under the quote. Such a source says
``moving: true`` and why (data/*.yaml; checked by tests/catalog/test_sources.py)."""


@dataclass(frozen=True)
class Source:
    """Where a figure comes from: `url` (https) and/or `document`, and the exact `quote`.

    kind: code | measured | primary | secondary | survey-cited | press | derived … ('' = unsaid);
    retrieved: the date it was read (YYYY-MM-DD) or None; unconfirmed: the data marks it so;
    moving: the url names a moving branch (``blob/main`` …), not a commit, and moving_reason
    says why (see `MOVING_URL`).
    """

    quote: str
    url: str | None = None
    document: str | None = None
    kind: str = ""
    retrieved: str | None = None
    unconfirmed: bool = False
    note: str = ""
    moving: bool = False
    moving_reason: str = ""

    def __str__(self) -> str:
        where = self.url or self.document or "?"
        return f"{where} — {self.quote}"


def parse_source(where: str, raw: Any, *, strict_keys: bool = False) -> Source:
    """A `Source` from a data mapping, or a `VramkitError` naming `where` and what is missing.

    strict_keys: refuse keys other than quote / url / document (the model catalog's rule)."""
    if not isinstance(raw, Mapping):
        raise VramkitError(
            f"{where}: source must be a mapping with 'quote' and 'url' or 'document'."
        )
    allowed = (
        {"quote", "url", "document", "moving", "moving_reason"} if strict_keys else SOURCE_KEYS
    )
    unknown = set(raw) - allowed
    if unknown:
        raise VramkitError(f"{where}: source has unknown keys {sorted(unknown)}.")
    if not raw.get("quote"):
        raise VramkitError(f"{where}: source needs a non-empty 'quote' (what exactly it says).")
    if not raw.get("url") and not raw.get("document"):
        raise VramkitError(f"{where}: source needs a 'url' or a 'document'.")
    url = raw.get("url")
    if url and not str(url).startswith("https://"):
        raise VramkitError(f"{where}: source url must be https, got {url!r}.")
    moving = bool(raw.get("moving", False))
    if moving and not str(raw.get("moving_reason") or "").strip():
        raise VramkitError(f"{where}: a moving source needs a moving_reason.")
    retrieved = raw.get("retrieved")
    return Source(
        quote=str(raw["quote"]).strip(),
        url=None if url is None else str(url),
        document=raw.get("document"),
        kind=str(raw.get("kind") or ""),
        retrieved=None if retrieved is None else str(retrieved),
        unconfirmed=raw.get("status") == "unconfirmed",
        note=" ".join(str(raw.get("note") or "").split()),
        moving=moving,
        moving_reason=" ".join(str(raw.get("moving_reason") or "").split()),
    )


def parse_sources(where: str, raw: Any) -> tuple[Source, ...]:
    """The `Source` records of one data record's ``sources:`` list: non-empty, each parsed by
    `parse_source` (a VramkitError names `where` and the index of a bad one)."""
    if not isinstance(raw, list) or not raw:
        raise VramkitError(f"{where}: sources must be a non-empty list of source mappings.")
    return tuple(parse_source(f"{where}.sources[{i}]", s) for i, s in enumerate(raw))
