"""The presentation edge's helpers that are not plots or widgets: plain rows for tables
(`article`), one DataFrame builder (`frames.to_frame`), and the notebooks' parameter checks, one
per topic (`validate`), and the Voila launcher of the dashboard (`voila_serve`, with its page
template under jupyter/). Used by the CLI commands, the notebooks and the widgets; the core never
imports this package."""
