#!/usr/bin/env python3
"""Execute notebooks with papermill (default parameters) and write back ONLY the outputs of cells
tagged ``keep_output`` (with their execution counts, which nbval needs); every other output and
execution count is cleared, metadata normalised,
JSON deterministic. The source notebook is untouched if execution fails.

    .venv/bin/python tools/nb_sync.py notebooks/00_summary.ipynb [more.ipynb …]
    .venv/bin/python tools/nb_sync.py --all          # every notebooks/*.ipynb
    .venv/bin/python tools/nb_sync.py --strip-only NB  # no execution: just clear and normalise
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KEEP = "keep_output"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
CELL_METADATA_KEPT = ("tags",)


def _clean_output(out: Any) -> Any:
    out = nbformat.from_dict(dict(out))
    if "execution_count" in out:
        out["execution_count"] = None
    if "metadata" in out:
        out["metadata"] = {}
    return out


def normalise(nb: Any, executed: Any | None = None) -> Any:
    """Clear outputs except keep_output cells (taken from `executed`, matched by cell id),
    drop other execution counts and non-tag metadata, and give every cell a stable id."""
    by_id = {c.get("id"): c for c in executed.cells} if executed is not None else {}
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        cid = cell.get("id")
        if not cid or cid in seen:
            cid = f"cell-{i:02d}"
            cell["id"] = cid
        seen.add(cid)
        tags = list(cell.get("metadata", {}).get("tags", []))
        cell["metadata"] = {"tags": tags} if tags else {}
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        if KEEP not in tags:
            cell["execution_count"] = None
            cell["outputs"] = []
        elif cid in by_id:  # nbval refuses stored outputs without an execution count
            cell["execution_count"] = by_id[cid].get("execution_count")
            cell["outputs"] = [_clean_output(o) for o in by_id[cid].get("outputs", [])]
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def execute(path: Path) -> Any:
    """Run `path` with papermill (default parameters, kernel python3); return the executed nb."""
    import papermill

    fd, tmp = tempfile.mkstemp(suffix=".ipynb")
    os.close(fd)
    try:
        from vramkit.report import KERNEL_ARGUMENTS

        papermill.execute_notebook(
            str(path),
            tmp,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(path.parent),
            extra_arguments=list(KERNEL_ARGUMENTS),
        )
        return nbformat.read(tmp, as_version=4)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write(nb: Any, path: Path) -> None:
    """Deterministic JSON (nbformat's sorted keys, indent 1, trailing newline), atomically."""
    nbformat.validate(nb)
    text = nbformat.writes(nb) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def sync(path: Path, *, run: bool = True) -> None:
    """Execute (unless `run` is False) and write back the normalised notebook."""
    nb = nbformat.read(path, as_version=4)
    executed = execute(path) if run else None
    write(normalise(nb, executed), path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--all", action="store_true", help="every notebooks/*.ipynb")
    ap.add_argument("--strip-only", action="store_true", help="do not execute; clear + normalise")
    args = ap.parse_args(argv)
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) if args.all else args.notebooks
    if not paths:
        ap.error("name notebooks or pass --all")
    failed = 0
    for p in paths:
        try:
            sync(p, run=not args.strip_only)
            print(f"synced {p}")
        except Exception as err:  # report every notebook, then fail
            failed += 1
            print(f"FAILED {p}: {type(err).__name__}: {err}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
