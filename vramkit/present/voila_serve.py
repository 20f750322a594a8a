"""Serve a notebook with Voila the way the kit does: on 127.0.0.1, with vramkit's page template
(no request leaves the machine), bounded kernel waits (a cell that runs past its limit is
stopped and the page says so) and a pre-run kernel waiting for the next visitor (`POOL_SIZE`).
`python -m vramkit.present.voila_serve NOTEBOOK [VOILA ARGS…]`."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

JUPYTER_ROOT = Path(__file__).resolve().parent / "jupyter"
"""A Jupyter data root holding voila/templates/vramkit (put first on JUPYTER_PATH)."""
TEMPLATE = "vramkit"
"""Voila's `lab` template without its Font Awesome CDN links (see the template's header)."""
CELL_TIMEOUT_S = 120
"""Seconds one dashboard cell may run (nbclient's `timeout`, which Voila leaves unset: wait
forever). The dashboard's cells take under 5 s together on 2 busy cores
(benchmarks/dashboard_load.py); 120 s leaves 25x for a loaded machine."""
STARTUP_TIMEOUT_S = 60
"""Seconds the kernel may take to start (Voila's default, stated here so it is one of ours)."""
TIMEOUT_INSTRUCTION = (
    f"The dashboard stops a cell after --VoilaExecutor.timeout seconds ({CELL_TIMEOUT_S} s by "
    "default): reload the page, or start it with a larger value, e.g. "
    "`python3 tasks.py dashboard --VoilaExecutor.timeout=300`."
)
KERNEL_CLIENT = "vramkit.report.kernel.WatchedKernelClient"
"""The kernel client Voila's executor runs the dashboard with: the report's fix for the lost
wake-up (an Output widget's state sent back on the shell channel while the executor waits there
for a cell's reply; `vramkit.report.kernel`) and its sliced waits, without the report's stall
bound (a dashboard cell is bounded by `CELL_TIMEOUT_S`)."""

POOL_SIZE = 1
"""Pre-run kernels Voila keeps per notebook (`--VoilaConfiguration.preheat_kernel`): a visitor
gets a kernel that has already started and run the notebook, so the page's HTML is there at once
and only the browser's part of the first load is left (the kernel's start and the cells were
~1.3 s of a ~2.6 s load on a quiet 2-core machine: benchmarks/README.md, "Dashboard: seventh
pass"). The price: one idle kernel (~65 MB resident) kept per notebook while the server runs, its
notebook run once before anyone asks (so the page shows what the notebook computed then: restart
the server after changing the kit or its data), and the pool refilled as a visitor takes its
kernel. `--preheat_kernel=False` serves every visitor a fresh kernel as Voila does by default."""
FILL_DELAY_S = 0.0
"""Seconds Voila waits before refilling the pool after a visitor takes its kernel (Voila's
default 1 s): 0 starts the next kernel at once, so a visitor right behind the last one waits
less for it (back to back on a quiet machine: 1.47-1.64 s to both panels vs 1.62-1.76 s)."""


DEFAULTS = {
    "--Voila.ip": "127.0.0.1",
    "--VoilaConfiguration.template": TEMPLATE,
    "--VoilaExecutor.timeout": str(CELL_TIMEOUT_S),
    "--VoilaExecutor.startup_timeout": str(STARTUP_TIMEOUT_S),
    "--VoilaExecutor.cell_timeout_instruction": TIMEOUT_INSTRUCTION,
    "--ServerKernelManager.client_factory": KERNEL_CLIENT,
    "--VoilaConfiguration.preheat_kernel": "True",
    "--VoilaConfiguration.default_pool_size": str(POOL_SIZE),
    "--VoilaKernelManager.fill_delay": str(FILL_DELAY_S),
}
"""The kit's Voila settings; one given on the command line replaces its default here."""
_ALIASES = {
    "--template": "--VoilaConfiguration.template",
    "--ip": "--Voila.ip",
    "--preheat_kernel": "--VoilaConfiguration.preheat_kernel",
    "--pool_size": "--VoilaConfiguration.default_pool_size",
    "--progressive_rendering": "--VoilaConfiguration.progressive_rendering",
}
_PREHEAT = "--VoilaConfiguration.preheat_kernel"
_INCOMPATIBLE_WITH_PREHEAT = ("--VoilaConfiguration.progressive_rendering",)
"""Voila refuses to start with a pre-run kernel pool and these; one given on (not `=False`), the
kit's preheat default is left out (a preheat setting given too is kept: Voila says why it stops)."""


def voila_args(given: Sequence[str] = ()) -> list[str]:
    """`DEFAULTS` as `--Key=value` arguments, less those `given` sets itself (traitlets refuses a
    setting given twice), followed by `given`."""
    pairs = [a.split("=", 1) for a in given if a.startswith("--")]
    named = {_ALIASES.get(p[0], p[0]) for p in pairs}
    if any(_ALIASES.get(p[0], p[0]) in _INCOMPATIBLE_WITH_PREHEAT
           and (p[1:] or ["True"])[0].lower() not in ("false", "0") for p in pairs):  # fmt: skip
        named.add(_PREHEAT)
    return [*(f"{k}={v}" for k, v in DEFAULTS.items() if k not in named), *given]


def jupyter_path(current: str | None) -> str:
    """JUPYTER_PATH with the kit's template root first (an existing value is kept after it)."""
    return os.pathsep.join([str(JUPYTER_ROOT), *([current] if current else [])])


def main(argv: Sequence[str] | None = None) -> None:
    """Run Voila in this process with `voila_args(argv)` (argv defaults to sys.argv[1:])."""
    os.environ["JUPYTER_PATH"] = jupyter_path(os.environ.get("JUPYTER_PATH"))
    from voila.app import main as voila_main

    voila_main(argv=voila_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
