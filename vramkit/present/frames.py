"""One DataFrame builder for every list of result records (pandas imported here only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def record_row(record: Any) -> dict[str, Any]:
    """One table row of a record: its `row()` when it defines one, a mapping as is, else its
    dataclass fields (private ones left out)."""
    if hasattr(record, "row"):
        return dict(record.row())
    if isinstance(record, Mapping):
        return dict(record)
    fields = getattr(record, "__dataclass_fields__", None)
    if fields is None:
        raise TypeError(f"cannot make a table row of {type(record).__name__}")
    return {k: getattr(record, k) for k in fields if not k.startswith("_")}


def to_frame(records: Iterable[Any]) -> pd.DataFrame:
    """The records (dataclass results, mappings) as a pandas DataFrame, one row each."""
    import pandas as pd

    return pd.DataFrame([record_row(r) for r in records])
