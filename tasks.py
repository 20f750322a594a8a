#!/usr/bin/env python3
"""The project's one task entry point; needs only Python 3.11+ to start.

    python3 tasks.py report [ARGS…]   run every notebook into an HTML report (the main job)
    python3 tasks.py test [PYTEST ARGS…]  lint + the whole test suite (what CI runs)
    python3 tasks.py dashboard        serve the widget dashboard with Voila on 127.0.0.1
    python3 tasks.py setup            only create/refresh the local virtual environment
    python3 tasks.py engines [ARGS…]  build/reuse the pinned llama.cpp, re-measure its fixtures,
                                      refit compute buffers, rewrite benchmarks/README.md table

Each task creates or reuses `.venv/` (with uv, installed from PyPI into it) and installs the
project with its extras when pyproject.toml changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".vramkit-install-stamp"
STATE = ROOT / ".jupyter-state"


def sh(*cmd: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=check).returncode


def setup() -> None:
    """Create .venv and install the project + extras when pyproject.toml changed."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PY.exists():
        sh(sys.executable, "-m", "venv", VENV)
    uv = VENV / "bin" / "uv"
    if not uv.exists():
        sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv")
    env = {**os.environ, "VIRTUAL_ENV": str(VENV), "UV_COMPILE_BYTECODE": "1"}
    sh(
        uv,
        "pip",
        "install",
        "--python",
        PY,
        "--compile-bytecode",
        "-e",
        ".[notebooks,test]",
        env=env,
    )
    STAMP.write_text(wanted)


def jupyter_env() -> dict[str, str]:
    """Keep Jupyter/IPython/matplotlib state inside the project (CI-safe)."""
    env = dict(os.environ)
    for var, sub in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "matplotlib"),
    ):
        path = STATE / sub
        path.mkdir(parents=True, exist_ok=True)
        env.setdefault(var, str(path))
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def ensure_browser() -> None:
    """Debian's chromium for the browser tests (never a downloaded browser)."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            "note: chromium is not installed and cannot be installed here; browser tests will skip"
        )
        return
    sh("apt-get", "update", "-qq", check=False)
    # fonts-liberation: chromium only recommends it; without a font, screenshots show boxes
    sh(
        "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-liberation",
        check=False,
    )  # fmt: skip


def task_test(extra: list[str]) -> int:
    setup()
    ensure_browser()
    # the engine tests re-measure with the pinned llama.cpp: build it once (cached outside
    # the repo, ~5-15 min on 2 cores on a fresh machine); without a compiler they skip
    if shutil.which("cmake") and shutil.which("c++"):
        build_engine()
    env = jupyter_env()
    sh(VENV / "bin" / "ruff", "check", "vramkit", "tests", "benchmarks", "tasks.py", env=env)
    sh(
        VENV / "bin" / "ruff",
        "format",
        "--check",
        "vramkit",
        "tests",
        "benchmarks",
        "tasks.py",
        env=env,
    )
    return sh(PY, "-m", "pytest", *(extra or ["-q"]), env=env, check=False)


def build_engine() -> int:
    """Build (or reuse) the pinned llama.cpp in the cache outside the repo (stdlib only)."""
    return sh(sys.executable, ROOT / "benchmarks" / "engines" / "llamacpp.py", check=False)


def task_engines(extra: list[str]) -> int:
    """Build/reuse the engine, re-measure every fixture, refit the fallback compute lines,
    replay the recorded allocator traces against the fixtures (alloc_trace.py --check; record
    them anew with `.venv/bin/python benchmarks/engines/alloc_trace.py`), rewrite the
    engine-vs-vramkit table in benchmarks/README.md."""
    setup()
    rc = build_engine()
    if rc:
        return rc
    env = jupyter_env()
    here = ROOT / "benchmarks" / "engines"
    steps = (
        ("measure.py", extra),
        ("measure_mtp.py", []),
        ("fit_compute.py", []),
        ("alloc_trace.py", ["--check"]),
        ("report.py", []),
        ("plan_vs_engine.py", []),
        ("plan_vs_engine.py", ["--rpc"]),
    )
    for script, args in steps:
        rc = sh(PY, here / script, *args, env=env, check=False)
        if rc:
            return rc
    return 0


def task_report(extra: list[str]) -> int:
    setup()
    return sh(PY, "-m", "vramkit", "report", *extra, env=jupyter_env(), check=False)


def task_dashboard(extra: list[str]) -> int:
    """Voila through vramkit's launcher: 127.0.0.1, a page that fetches nothing from outside,
    each cell stopped after --VoilaExecutor.timeout seconds, a pre-run kernel waiting for the
    next visitor (--preheat_kernel=False: none) (vramkit/present/voila_serve.py)."""
    setup()
    nb = ROOT / "notebooks" / "dashboard.ipynb"
    return sh(
        PY, "-m", "vramkit.present.voila_serve", nb, "--no-browser", *extra,
        env=jupyter_env(), check=False,
    )  # fmt: skip


TASKS = {
    "setup": lambda extra: setup() or 0,
    "test": task_test,
    "report": task_report,
    "engines": task_engines,
    "dashboard": task_dashboard,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TASKS:
        print(__doc__)
        return 2
    try:
        return TASKS[argv[0]](argv[1:])
    except subprocess.CalledProcessError as err:
        print(
            f"tasks.py {argv[0]}: step failed (exit {err.returncode}): {' '.join(map(str, err.cmd))}"
        )
        return err.returncode or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
