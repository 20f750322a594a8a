"""List weight storage formats with their real bits per weight (scales and zero points included)."""

from __future__ import annotations

import argparse

from ..quant.formats import describe_formats
from ..textfmt import emit_json, table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    rows = describe_formats()
    if args.json:
        emit_json({"formats": rows})
        return 0
    print(
        table(
            [{k: r[k] for k in ("name", "layout", "bits_per_weight", "description")} for r in rows]
        )
    )
    return 0
