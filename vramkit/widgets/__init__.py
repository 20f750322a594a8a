"""ipywidgets panels built only from vramkit functions, one module per topic.

Import-light: importing `vramkit.widgets` loads no ipywidgets; ``vramkit.widgets.dashboard``
(and every other topic module) loads on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any


def set_options_keeping(control: Any, options: list[str], fallback: str) -> None:
    """Give a dropdown new `options` and keep its value while it is still one of them, else
    `fallback` (issue 25: changing the model no longer resets a recipe the new model takes)."""
    keep = control.value
    control.options = options
    control.value = keep if keep in options else fallback


def style_class(widget_class: type) -> type:
    """The style model class a widget class takes (ipywidgets does not export them all): build
    one and pass it with a shared Layout to look-alike widgets, since a widget built without
    them makes its own default models and the page loads every model."""
    return widget_class.class_traits()["style"].klass


def __getattr__(name: str) -> Any:
    """Lazy re-export of topic modules: ``widgets.dashboard`` imports ``vramkit.widgets.dashboard``."""
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
