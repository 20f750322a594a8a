"""Re-measure one case per family with the engine itself and compare with the fixtures.

Uses the pinned llama.cpp built outside the repo (benchmarks/engines/llamacpp.py; `python3
tasks.py test` builds it first on a fresh machine, ~5-15 min on 2 cores). A fixture the
engine no longer reproduces fails here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import fitparams  # noqa: E402
import llamacpp  # noqa: E402
import measure  # noqa: E402

SAMPLE = fitparams.Case(131072, "q8_0", "q8_0", 512, "on", 1)


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
    llamacpp.use_vendored_gguf(found)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("mid", [m for m, _ in measure.MODELS])
def test_engine_reproduces_the_fixture(engine, mid):
    import json

    old = json.loads(measure.fixture_path(mid).read_text())
    assert old["llama_cpp_commit"] == engine.llama_cpp_commit
    new = measure.measure_model(engine, mid, dict(measure.MODELS)[mid], [SAMPLE])
    assert new["files"] == old["files"], "the sparse files changed (writer or vramkit types)"
    assert measure.compare(old, new) == []
