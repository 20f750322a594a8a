"""Bring-your-own-model panel: a path box; each path (or Hub id) is read and compared with the
architecture estimate.

`describe` is the pure callback (tests call it directly); `ingest_panel` wires ipywidgets to it
with ``widgets.interactive_output`` (no blocking, safe under papermill).
"""

from __future__ import annotations

from typing import Any

from ..errors import VramkitError
from ..ingest import compare_with_estimate, ingest
from ..textfmt import table


def describe(path: str, *, online: bool = False) -> str:
    """The measured-vs-estimate table of `path` (bytes per group), or the error in one line."""
    try:
        return table(compare_with_estimate(ingest(path, online=online)))
    except VramkitError as err:
        return f"vramkit: {err}"


def ingest_panel(path: str, *, online: bool = False) -> Any:
    """The panel: a text box (updates on Enter) above the `describe` output."""
    import ipywidgets as widgets

    box = widgets.Text(
        value=path,
        description="model",
        continuous_update=False,
        layout=widgets.Layout(width="70%"),
    )

    def show(path: str) -> None:
        print(describe(path, online=online))

    return widgets.VBox([box, widgets.interactive_output(show, {"path": box})])
