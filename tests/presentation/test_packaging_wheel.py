"""`pip wheel .` ships every subpackage, every data file and the report notebooks, and the CLI
runs from the installed copy (outside the checkout) with the same output as in the checkout,
the report included (one notebook, into a temporary folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a clean copy of what the wheel is made of: a `build/` folder left in a checkout
    would otherwise ship modules and data files that no longer exist (seen: the engine fixtures
    after they moved to tests/fixtures/)."""
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src")
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in ("vramkit", "data", "notebooks"):
        shutil.copytree(ROOT / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    (found,) = out.glob("vramkit-*.whl")
    return found


def test_wheel_holds_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "vramkit").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules <= names, f"missing modules: {sorted(modules - names)}"
    data = {
        "vramkit/data/" + p.relative_to(ROOT / "data").as_posix()
        for p in (ROOT / "data").rglob("*")
        if p.is_file()
    }
    assert data <= names, f"missing data files: {sorted(data - names)}"
    # engine fixtures are the tests' data (tests/fixtures/measured/, issue 22): none in the wheel
    fixtures = [n for n in names if "fixtures" in n or "/llamacpp_quantize/" in n or "/rpc/" in n]
    assert not fixtures, f"engine fixtures in the wheel: {fixtures[:5]}"
    assert (ROOT / "tests" / "fixtures" / "measured" / "llamacpp").is_dir()
    notebooks = {"vramkit/notebooks/" + p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert "vramkit/notebooks/00_summary.ipynb" in notebooks
    assert notebooks <= names, f"missing notebooks: {sorted(notebooks - names)}"
    # the dashboard's Voila page template (vramkit.present.voila_serve)
    templates = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "vramkit" / "present" / "jupyter").rglob("*")
        if p.is_file()
    }
    assert len(templates) == 2
    assert templates <= names, f"missing templates: {sorted(templates - names)}"
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The wheel installed into a folder outside the checkout, and the environment that puts it
    first on the import path."""
    target = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return target, {**os.environ, "PYTHONPATH": str(target)}


def test_cli_runs_from_the_installed_wheel(installed, tmp_path):
    target, env = installed
    where = subprocess.run(
        [sys.executable, "-c", "import vramkit, vramkit.datafiles as d, vramkit.report as r; "
         "print(vramkit.__file__); print(d.DATA_DIR); print(r.NOTEBOOKS_DIR)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    module_file, data_dir, notebooks_dir = where.stdout.split()
    assert Path(module_file).is_relative_to(target)
    assert Path(data_dir) == target / "vramkit" / "data"
    assert Path(notebooks_dir) == target / "vramkit" / "notebooks"
    argv = ["kv", "--model", "deepseek-v4-flash", "--context", "1M", "--runtime", "vllm", "--json"]
    installed = subprocess.run(
        [sys.executable, "-m", "vramkit", *argv],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    checkout = subprocess.run(
        [sys.executable, "-m", "vramkit", *argv], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert installed.stdout == checkout.stdout
    script = target / "bin" / "vramkit"
    if script.exists():  # pip writes the console script next to the package with --target
        models = subprocess.run(
            [sys.executable, str(script), "models", "--json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert models.returncode == 0, models.stderr[-3000:]
        assert '"deepseek-v4-flash"' in models.stdout


@pytest.mark.notebook
def test_report_runs_from_the_installed_wheel(installed, tmp_path):
    """`python -m vramkit report` outside the checkout finds the notebooks the wheel ships and
    writes its folder (one notebook keeps this fast: the full report is `test_report.py`'s)."""
    target, env = installed
    out = tmp_path / "report"
    run = subprocess.run(
        [sys.executable, "-m", "vramkit", "report", "--out", str(out), "--only", "00",
         "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "1/1 notebooks ran" in run.stdout
    for name in ("00_summary.ipynb", "00_summary.html", "00_summary.nocode.html", "index.html"):
        assert (out / name).is_file(), name
    executed = (out / "00_summary.ipynb").read_text()
    assert str(ROOT) not in executed  # nothing of the checkout was read or printed
    assert not (target / "vramkit" / "notebooks" / "00_summary.html").exists()
