"""Matplotlib figure builders, one module per topic (kv, moe, fit, quant, summary); they return Figures.

Import-light: importing `vramkit.plots` loads no matplotlib. Topic modules load on first use
(``vramkit.plots.summary`` or ``from vramkit.plots import summary``). Call `use_style()`
explicitly (no import-time side effects) and show a figure with `show(fig)`.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import sys
from typing import Any

STYLE: dict[str, Any] = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "svg.hashsalt": "vramkit",
}
"""rcParams every vramkit figure uses (fixed size and dpi keep PNGs reproducible)."""

PALETTE: dict[str, str] = {
    "weights": "#4C72B0",
    "kv": "#DD8452",
    "overhead": "#8C8C8C",
    "activations": "#55A868",
    "active": "#C44E52",
    "free": "#E5E5E5",
}
"""One colour per memory component, shared by all topics."""


def use_style() -> None:
    """Apply `STYLE` to matplotlib's rcParams (call once at the top of a notebook)."""
    import matplotlib as mpl

    mpl.rcParams.update(STYLE)


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A pyplot-free ``(Figure, Axes)`` pair: nothing global to leak or close."""
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    return fig, fig.subplots(nrows, ncols)


def png_bytes(fig: Any) -> bytes:
    """`fig` rendered as PNG (tight bounding box, no software/date metadata: reproducible)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def show(fig: Any) -> None:
    """Display `fig` once as a PNG (whatever the matplotlib backend), then close it if pyplot
    owns it, so the inline backend does not show it a second time."""
    from IPython.display import Image, display

    display(Image(data=png_bytes(fig), format="png"))
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)


def __getattr__(name: str) -> Any:
    """Lazy re-export of topic modules: ``plots.summary`` imports ``vramkit.plots.summary``."""
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
