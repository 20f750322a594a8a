"""Run every notebook (NN_*.ipynb, sorted; not the dashboard) with papermill into a report
folder: the executed notebooks, an HTML page of each with and without code, and index.html
with the headline numbers. Exit status 1 if any notebook failed (named with its cell)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="report folder (default reports/report-YYYYmmdd-HHMMSS); must be empty unless "
        "--force, and never the notebook folder, inside it or around it",
    )
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="pass a parameter to every notebook that declares it (repeatable)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty DIR: an earlier report there is replaced as a whole, every "
        "file you wrote is kept (one under a report file's name is refused)",
    )
    p.add_argument(
        "--only", nargs="+", default=[], metavar="NB", help="run only these notebooks (name or NN)"
    )
    p.add_argument(
        "--notebooks",
        metavar="DIR",
        type=Path,
        default=None,
        help="notebook folder (default: the kit's notebooks/)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--cell-timeout",
        type=int,
        default=None,
        metavar="S",
        help="seconds one notebook cell may run before the notebook fails (default 120)",
    )
    p.add_argument(
        "--stall-timeout",
        type=int,
        default=None,
        metavar="S",
        help="seconds an idle kernel may stay silent before its notebook is run once more on a "
        "new kernel (a second stall fails it; default 60)",
    )


def run(args: argparse.Namespace) -> int:
    from ..report import DEFAULT_CELL_TIMEOUT_S, DEFAULT_STALL_AFTER_S, NOTEBOOKS_DIR, run_report

    def note(r) -> None:
        if not r.ok:
            print(f"FAILED: {r.error_line}", file=sys.stderr, flush=True)

    report = run_report(
        args.out,
        parameters=dict(args.parameter),
        force=args.force,
        only=args.only,
        notebooks_dir=args.notebooks or NOTEBOOKS_DIR,
        progress=not args.no_progress,
        on_result=note,
        cell_timeout_s=DEFAULT_CELL_TIMEOUT_S if args.cell_timeout is None else args.cell_timeout,
        stall_after_s=DEFAULT_STALL_AFTER_S if args.stall_timeout is None else args.stall_timeout,
    )
    ok = len(report.runs) - len(report.failed)
    print(f"{ok}/{len(report.runs)} notebooks ran; report: {report.out_dir / 'index.html'}")
    for r in report.failed:
        print(f"  {r.error_line}")
    return 1 if report.failed else 0
