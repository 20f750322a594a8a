"""Re-measure one case per model with the engine itself and compare with the fixtures.

Uses the pinned llama.cpp built outside the repo (benchmarks/engines/llamacpp.py; `python3
tasks.py test` builds it first on a fresh machine, ~5-15 min on 2 cores). A fixture the
engine no longer reproduces fails here. The measurement runs in a subprocess: it imports the
engine's own gguf-py, which must not replace the `gguf` package the rest of the suite uses.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import llamacpp  # noqa: E402
import measure  # noqa: E402


@pytest.fixture(scope="module")
def engine():
    found = llamacpp.cached()
    if found is None:
        if not (shutil.which("cmake") and shutil.which("c++")):
            pytest.skip("no cmake / C++ compiler to build the pinned llama.cpp")
        try:
            found = llamacpp.build()
        except Exception as err:  # no PyPI access, build failure: say so
            pytest.skip(
                f"could not build llama-cpp-python=={llamacpp.LLAMA_CPP_PYTHON_VERSION}: {err}"
            )
    return found


@pytest.mark.slow
def test_engine_reproduces_a_case_per_model(engine):
    # measure.py --sample: one case per model (131,072 ctx, q8_0, -ub 512, fa on, 1 seq) plus
    # every file layout at 4K, compared with tests/fixtures/measured/llamacpp/<model>.json
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engines" / "measure.py"), "--sample"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    lines = [ln for ln in res.stdout.splitlines() if ln.endswith(" cases)")]
    assert len(lines) == len(measure.MODELS)
    assert all(": reproduced (" in ln for ln in lines), lines


@pytest.mark.slow
def test_engine_reproduces_the_v4_mtp_draft(engine):
    # measure_mtp.py --check: the --mtp draft file through the engine's loader and the MTP draft
    # context (mtp_context.cpp, compiled against the engine) over its grid, for V4-Flash
    if not shutil.which("c++"):
        pytest.skip("no C++ compiler for benchmarks/engines/mtp_context.cpp")
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "engines" / "measure_mtp.py"),
            "--check",
            "--models",
            "deepseek-v4-flash",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "deepseek-v4-flash: reproduced" in res.stdout
