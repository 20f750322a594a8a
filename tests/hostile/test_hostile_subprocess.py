"""A sample of the hostile corpus as real processes (``python -m vramkit …`` with a timeout and
an environment-based socket guard), and the report under SIGINT, SIGTERM, two runs at once and
a cell that never ends: exit status, one stderr line, no traceback, nothing left behind."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("hostile_corpus", _HERE / "_corpus.py")
corpus = sys.modules.get("hostile_corpus") or importlib.util.module_from_spec(_spec)
if "hostile_corpus" not in sys.modules:
    sys.modules["hostile_corpus"] = corpus
    _spec.loader.exec_module(corpus)

ROOT = corpus.ROOT
TIMEOUT_S = 60
SAMPLE = (
    "path-fifo-config-inspect",
    "path-fifo-in-folder-weights",
    "path-fifo-safetensors-inspect",
    "path-fifo-gguf-kv",
    "path-dev-zero-inspect",
    "path-dev-null-weights",
    "raw-deep-100k-list",
    "raw-utf16-bom",
    "raw-int-5000-digits",
    "named-tie-string-false-weights",
    "named-kv-heads-7-of-32-kv",
    "named-qwen3next-mtp-1e9-inspect",
    "huge-valid-kv-exact",
    "safetensors-overlap",
    "index-metadata-list",
    "gguf-block-count-string-inspect",
    "hubid-long-5000-inspect",
    "hubid-well-formed-uncached-inspect",
    "hubcache-total-size-abc-inspect",
    "hubcache-elements-2p53-plus-1-inspect",
    "flag-moe-zipf-0",
    "cli-kv-context-zero",
    "report-out-empty",
    "report-out-notebooks-other-nb",
    "resource-moe-64k-experts-zipf",
)

GUARD = textwrap.dedent(
    """
    import os, socket
    if os.environ.get("VRAMKIT_TEST_NO_NETWORK") == "1":
        def _refuse(*args, **kwargs):
            with open(os.environ["VRAMKIT_TEST_NETWORK_LOG"], "a") as f:
                f.write(repr(args)[:200] + "\\n")
            raise OSError("network use refused by the test guard")
        socket.socket.connect = _refuse
        socket.socket.connect_ex = _refuse
        socket.create_connection = _refuse
        socket.getaddrinfo = _refuse
    """
)


def _env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    guard = tmp / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(GUARD)
    env = {k: v for k, v in os.environ.items() if k != "VRAMKIT_ALLOW_NETWORK"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(guard), str(ROOT)]),
        VRAMKIT_TEST_NO_NETWORK="1",
        VRAMKIT_TEST_NETWORK_LOG=str(tmp / "network.log"),
        VRAMKIT_CACHE=str(tmp / "w" / "cache"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def _vramkit(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vramkit", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


BY_ID = {c.id: c for c in corpus.all_cases()}


@pytest.mark.parametrize("case_id", SAMPLE)
def test_corpus_sample_as_a_process(case_id, tmp_path):
    case = BY_ID[case_id]
    w = tmp_path / "w"
    w.mkdir()
    if case.setup is not None:
        case.setup(w)
    before = corpus.snapshot(w)
    env = _env(tmp_path, {k: v.replace("{w}", str(w)) for k, v in case.env.items()})
    proc = _vramkit([a.replace("{w}", str(w)) for a in case.argv], w, env)
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"{case_id}: HANG past {TIMEOUT_S} s")
    outcome = corpus.Outcome(proc.returncode, out, err, 0.0)
    found = corpus.problems(case, outcome)
    if (tmp_path / "network.log").exists():
        found.append("network used: " + (tmp_path / "network.log").read_text()[:200])
    if corpus.snapshot(w) != before:
        found.append("wrote into the work folder")
    assert not found, f"{case_id}: " + " | ".join(found)


# ── the report under signals and concurrency ─────────────────────────────────────────────────
def _slow_notebooks(folder: Path, seconds: int = 120) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder.mkdir()
    nb = new_notebook(cells=[new_code_cell(f"import time\ntime.sleep({seconds})")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "01_slow.ipynb")
    return folder


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _kernel_running(w: Path, out_name: str) -> bool:
    return any((p / ".kernel-stderr.log").exists() for p in w.glob(f".{out_name}.*"))


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"report did not stop within {TIMEOUT_S} s: {err[-500:]}")
    return proc.returncode, out, err


@pytest.mark.notebook
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_report_interrupted_leaves_nothing_and_prints_one_line(sig, tmp_path):
    w = tmp_path / "w"
    w.mkdir()
    _slow_notebooks(w / "nbs")
    before = corpus.snapshot(w)
    proc = _vramkit(
        ["report", "--out", "out", "--notebooks", "nbs", "--no-progress"], w, _env(tmp_path)
    )
    assert _wait_for(lambda: _kernel_running(w, "out")), "the kernel never started"
    os.kill(proc.pid, sig)
    rc, out, err = _finish(proc)
    assert rc == 130, (rc, out, err)
    assert err.strip().splitlines() == [f"vramkit: interrupted by {sig.name}."], err
    assert "Traceback" not in out + err
    assert corpus.snapshot(w) == before, "the interrupted report left files behind"


@pytest.mark.notebook
def test_second_report_into_the_same_folder_is_refused(tmp_path):
    w = tmp_path / "w"
    w.mkdir()
    _slow_notebooks(w / "nbs")
    argv = ["report", "--out", "out", "--notebooks", "nbs", "--no-progress"]
    first = _vramkit(argv, w, _env(tmp_path))
    assert _wait_for(lambda: (w / "out" / ".vramkit-report.lock").exists()), "no lock taken"
    for extra in ([], ["--force"]):
        rc, _, err = _finish(_vramkit([*argv, *extra], w, _env(tmp_path)))
        assert rc == 2, err
        assert err.strip().splitlines() == [err.strip()]
        assert "another report run" in err
    os.kill(first.pid, signal.SIGTERM)
    rc, _, err = _finish(first)
    assert rc == 130
    assert "Traceback" not in err
    assert not (w / "out").exists()


@pytest.mark.notebook
def test_two_reports_started_at_once_one_wins(tmp_path):
    w = tmp_path / "w"
    w.mkdir()
    _slow_notebooks(w / "nbs")
    argv = ["report", "--out", "out", "--notebooks", "nbs", "--no-progress"]
    procs = [_vramkit(argv, w, _env(tmp_path)) for _ in range(2)]
    assert _wait_for(lambda: any(p.poll() is not None for p in procs)), "neither was refused"
    loser = next(p for p in procs if p.poll() is not None)
    winner = next(p for p in procs if p is not loser)
    rc, _, err = _finish(loser)
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("vramkit:"), err
    assert winner.poll() is None, "the winner stopped too"
    os.kill(winner.pid, signal.SIGTERM)
    rc, _, err = _finish(winner)
    assert rc == 130
    assert "Traceback" not in err
    assert not (w / "out").exists()


@pytest.mark.notebook
def test_cell_timeout_fails_the_notebook_not_the_run(tmp_path):
    from vramkit.report import run_report

    nbs = _slow_notebooks(tmp_path / "nbs", seconds=600)
    start = time.monotonic()
    report = run_report(tmp_path / "out", notebooks_dir=nbs, progress=False, cell_timeout_s=2)
    assert time.monotonic() - start < 60
    assert [r.ename for r in report.failed] == ["CellTimeoutError"]
    assert (tmp_path / "out" / "index.html").is_file()
    assert [p.name for p in (tmp_path / "out").glob(".*")] == [".vramkit-report.json"]
    assert not list(tmp_path.glob(".out.*")), "the temporary sibling was not removed"
