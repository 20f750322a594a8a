"""List the model catalog: labels vs parameters derived from the architecture, official sizes."""

from __future__ import annotations

import argparse

from ..catalog import catalog_rows
from ..textfmt import emit_json, table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    rows = catalog_rows()
    if args.json:
        emit_json({"models": rows})
        return 0
    shown = [
        {
            "id": r["id"],
            "label total": f"{r['total_params_label'] / 1e9:,.1f}B",
            "label active": f"{r['active_params_label'] / 1e9:,.1f}B",
            "derived main": f"{r['main_params'] / 1e9:,.2f}B",
            "derived active": f"{r['active_params'] / 1e9:,.2f}B",
            "layout": r["layout"],
            "checkpoint GB": r["checkpoint_gb"],
            "checkpoint GiB": r["checkpoint_gib"],
            "status": r["checkpoint_status"],
        }
        for r in rows
    ]
    print(table(shown))
    print("\nGB = 1e9 bytes, GiB = 2**30 bytes. Parameters in B = 1e9.")
    return 0
