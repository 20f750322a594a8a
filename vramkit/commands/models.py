"""List the model catalog: labels vs parameters derived from the architecture, official sizes."""

from __future__ import annotations

import argparse

from ..catalog import catalog_rows
from ..textfmt import emit_json, table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--fields",
        nargs="?",
        const="all",
        metavar="FAMILY",
        help="list the config.json fields each architecture family reads (or one family's): "
        "keys and aliases, type, unit, default, bounds, GGUF metadata name, meaning",
    )


def _fields(name: str, as_json: bool) -> int:
    """The config fields of one family, or of every family (`Family.config_fields`)."""
    from ..families import FAMILIES, field_rows, get_family

    names = sorted(FAMILIES) if name == "all" else [get_family(name).name]
    out = {n: field_rows(get_family(n).config_fields) for n in names}
    if as_json:
        emit_json({"families": out})
        return 0
    for n in names:
        print(f"{n}: {get_family(n).summary}")
        cols = ("field", "keys", "kind", "unit", "default", "bounds", "gguf", "meaning")
        print(table([{c: r[c] for c in cols} for r in out[n]]) + "\n")
    print("kind dim: a whole number in the bounds (0 refused); count/layers: 0 allowed; "
          "keys: the first set wins, aliases that are both set must agree.")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    if args.fields is not None:
        return _fields(args.fields, args.json)
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
