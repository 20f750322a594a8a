"""Widget cells under a headless client: how often a cell's execute_reply stalls (issue 21).

    .venv/bin/python benchmarks/widget_reply_stall.py [--runs 4] [--cells 25] [--timeout 20]

Builds two throwaway notebooks of `--cells` identical widget cells each and runs each `--runs`
times with papermill (nbclient), every cell limited to `--timeout` seconds:

- ``output``: a slider + ``ipywidgets.interactive_output`` (an Output widget) whose callback
  prints a line and displays a PNG, as the kit's kv/quant/fit panels do. nbclient mirrors each
  output an Output widget captures back to the kernel as a ``comm_msg`` on the SHELL channel
  (nbclient/output_widget.py, ``OutputWidget._publish_msg``) while the cell still runs;
- ``html``: the same slider writing the same text and an image into an ``ipywidgets.HTML``
  (as `vramkit.widgets.moe.moe_panel` does): only IOPub traffic, nothing sent back;
- ``output-nomirror``: the ``output`` notebook again with nbclient's Output-widget mirror
  switched off in this process (``NotebookClient.on_comm_open_jupyter_widget`` returns None), so
  the client sends nothing back: same kernel-side code, no shell traffic. (The mirror is also
  what fills an Output widget's saved state, so this is an experiment, not a fix.)
- ``output-fixed``: the ``output`` notebook on the report's kernel client
  (`vramkit.report.kernel`: the mirror's ``comm_msg`` is sent through the asyncio socket, which
  wakes the pending wait for the reply; the cause is written up there). Its stall bound is set
  above ``--timeout`` so that a stall still shows here as a cell at the limit.

A cell that takes the whole `--timeout` waited for an execute_reply that did not come while the
kernel was idle: the report's hang (issue 21), cut short here by the limit. Prints, per kind,
runs, runs with a stalled cell, stalled cells and seconds per run. Not a test (timings vary with
the machine's load); run it beside CPU burners to see it more often.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

OUTPUT_CELL = """import ipywidgets as w
from IPython.display import Image, display
s = w.IntSlider(value=3)
def f(x):
    print("x =", x)
    display(Image(data=bytes(range(256)) * 40, format="png"))
w.VBox([s, w.interactive_output(f, {"x": s})])"""

HTML_CELL = """import ipywidgets as w
s = w.IntSlider(value=3)
h = w.HTML()
def f(change=None):
    h.value = "<pre>x = %d</pre>" % s.value + '<img src="data:image/png;base64,' + "A" * 13000 + '">'
s.observe(f, "value")
f()
w.VBox([s, h])"""


def _notebook(source: str, cells: int, path: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for _ in range(cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def run(kind: str, path: Path, *, runs: int, timeout_s: int) -> dict[str, object]:
    """Run `path` `runs` times; count cells whose papermill duration reached the limit."""
    import nbclient.client

    client = nbclient.client.NotebookClient
    mirror = client.on_comm_open_jupyter_widget
    if kind == "output-nomirror":
        client.on_comm_open_jupyter_widget = lambda self, msg: None
    try:
        return _run(kind, path, runs=runs, timeout_s=timeout_s)
    finally:
        client.on_comm_open_jupyter_widget = mirror


def _run(kind: str, path: Path, *, runs: int, timeout_s: int) -> dict[str, object]:
    import nbformat
    import papermill

    extra: dict[str, object] = {}
    if kind == "output-fixed":
        from vramkit.report.kernel import kernel_manager_class

        extra["kernel_manager_class"] = kernel_manager_class(10 * timeout_s)

    seconds: list[float] = []
    stalled: list[int] = []
    for i in range(runs):
        out = path.with_name(f"{path.stem}-out-{i}.ipynb")
        start = time.monotonic()
        try:
            papermill.execute_notebook(
                str(path), str(out), kernel_name="python3", progress_bar=False,
                execution_timeout=timeout_s, **extra,
            )  # fmt: skip
        except Exception as err:  # a timeout may surface as an error: count it, go on
            print(f"  {kind} run {i}: {type(err).__name__}", file=sys.stderr)
        seconds.append(time.monotonic() - start)
        nb = nbformat.read(out, as_version=4)
        durations = [c.metadata.get("papermill", {}).get("duration") or 0.0 for c in nb.cells]
        stalled.append(sum(d >= timeout_s - 0.5 for d in durations))
        print(f"  {kind} run {i}: {seconds[-1]:.1f} s, {stalled[-1]} stalled cell(s)", flush=True)
    return {
        "kind": kind,
        "runs": runs,
        "runs_with_stall": sum(n > 0 for n in stalled),
        "stalled_cells": sum(stalled),
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--cells", type=int, default=25)
    ap.add_argument("--timeout", type=int, default=20, help="seconds one cell may run")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            run(
                kind,
                _notebook(src, args.cells, Path(tmp) / f"{kind}.ipynb"),
                runs=args.runs,
                timeout_s=args.timeout,
            )
            for kind, src in (
                ("output", OUTPUT_CELL),
                ("html", HTML_CELL),
                ("output-nomirror", OUTPUT_CELL),
                ("output-fixed", OUTPUT_CELL),
            )
        ]
    for r in rows:
        print(
            f"{r['kind']:15s}: {r['runs_with_stall']} of {r['runs']} runs stalled "
            f"({r['stalled_cells']} cells of {args.cells * args.runs}), "
            f"median {r['median_s']:.1f} s, max {r['max_s']:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
