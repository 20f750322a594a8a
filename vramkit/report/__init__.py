"""The report: every notebook executed with papermill into a folder of executed notebooks, HTML
pages with and without code, and a front page.

    run      executing the notebooks (parameters, the report folder claimed and swapped
             atomically, cell and stall bounds)
    kernel   the kernel client the report runs on: the stall's cause, its fix, the watchdog
    html     HTML pages that stand alone offline
    index    the front page (headline answers, the teaching picture, each notebook)
    records  NotebookRun / Report
"""

from __future__ import annotations

from .records import NotebookRun, Report
from .run import (
    DEFAULT_CELL_TIMEOUT_S,
    DEFAULT_STALL_AFTER_S,
    KERNEL_ARGUMENTS,
    LOCK_NAME,
    MANIFEST_NAME,
    NOTEBOOKS_DIR,
    Interrupted,
    check_out_dir,
    coerce_parameter,
    discover,
    notebook_parameters,
    run_notebook,
    run_report,
)

__all__ = [
    "DEFAULT_CELL_TIMEOUT_S",
    "DEFAULT_STALL_AFTER_S",
    "KERNEL_ARGUMENTS",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "NOTEBOOKS_DIR",
    "Interrupted",
    "NotebookRun",
    "Report",
    "check_out_dir",
    "coerce_parameter",
    "discover",
    "notebook_parameters",
    "run_notebook",
    "run_report",
]
