"""ipywidgets panels built only from vramkit functions, one module per topic."""
