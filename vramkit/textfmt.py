"""Plain-text tables and JSON output for the CLI (no pandas: the CLI must start fast)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Left-aligned text columns, numbers right-aligned; None shows as '-'."""
    if not rows:
        return "(no rows)"
    cols = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    numeric = [all(_is_num(r.get(c)) for r in rows) for c in cols]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(cols), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _is_num(v: Any) -> bool:
    return v is None or (isinstance(v, int | float) and not isinstance(v, bool))


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def emit_json(payload: Any) -> None:
    """Write `payload` as indented JSON to stdout."""
    import json  # only for --json output

    json.dump(payload, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def _default(o: Any) -> Any:
    if isinstance(o, Mapping):
        return dict(o)
    if hasattr(o, "__dataclass_fields__"):
        return {k: getattr(o, k) for k in o.__dataclass_fields__ if not k.startswith("_")}
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


class Table:
    """Rows shown as an HTML table in notebooks and reports (`_repr_html_`) and as aligned text
    everywhere else (`repr`, what nbval compares as text/plain). Numbers are right-aligned;
    floats get two decimals and thousands separators, None shows as '-'."""

    def __init__(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[str] | None = None,
        caption: str = "",
    ) -> None:
        self.rows = [dict(r) for r in rows]
        self.columns = list(columns or (self.rows[0].keys() if self.rows else []))
        self.caption = caption

    def __repr__(self) -> str:
        body = table(self.rows, self.columns)
        return f"{self.caption}\n{body}" if self.caption else body

    def _repr_html_(self) -> str:
        import html

        numeric = [all(_is_num(r.get(c)) for r in self.rows) for c in self.columns]
        head = "".join(
            f'<th style="text-align:{"right" if n else "left"}">{html.escape(c)}</th>'
            for c, n in zip(self.columns, numeric, strict=True)
        )
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:{"right" if n else "left"}">{html.escape(_cell(r.get(c)))}</td>'
                for c, n in zip(self.columns, numeric, strict=True)
            )
            + "</tr>"
            for r in self.rows
        )
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f'<table class="vk-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
