"""`python -m vramkit report` end to end, plus its refusals (no execution needed for those)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vramkit import cli
from vramkit.errors import VramkitError
from vramkit.report import MANIFEST_NAME, NOTEBOOKS_DIR, coerce_parameter, discover, run_report

# non-default values, passed to every notebook that declares the name
NON_DEFAULT = {
    "models": "deepseek-v3,gemma-4-31b",
    "recipes": "official,gguf-Q4_K_M",
    "contexts": "32768",
    "gpus": "h100-sxm-80gb",
    "model": "deepseek-v4-pro",
    "context": "32768",
    "context_tokens": "32768",
}


def _tiny(path: Path, *cells) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# tiny"), *cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _params_cell(src: str):
    cell = new_code_cell(src)
    cell.metadata["tags"] = ["parameters"]
    return cell


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    import papermill

    declared = {k for p in discover() for k in papermill.inspect_notebook(str(p))}
    params = {k: v for k, v in NON_DEFAULT.items() if k in declared}
    out = tmp_path_factory.mktemp("report") / "out"
    return run_report(out, parameters=params, progress=False), params


@pytest.mark.notebook
def test_every_notebook_runs_with_non_default_parameters(full_report):
    report, params = full_report
    assert params["models"] == NON_DEFAULT["models"]
    assert [r.error_line for r in report.failed] == []
    names = {p.name for p in discover()}
    assert {r.name for r in report.runs} == names
    for r in report.runs:
        for f in r.files:
            assert (report.out_dir / f).is_file()
    hidden = [p.name for p in report.out_dir.glob(".*")]
    assert hidden == [MANIFEST_NAME], "no temporary files left behind, only the manifest"
    assert not [p for p in report.out_dir.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.notebook
def test_report_html_has_figures_numbers_and_parameters(full_report):
    report, _ = full_report
    page = (report.out_dir / "00_summary.nocode.html").read_text()
    assert "data:image/png" in page
    assert "deepseek-v3" in page
    assert "gemma-4-31b" in page
    assert "NBVAL_CHECK_OUTPUT" not in page  # the no-code rendering hides inputs
    assert "NBVAL_CHECK_OUTPUT" in (report.out_dir / "00_summary.html").read_text()
    executed = nbformat.read(report.out_dir / "00_summary.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'models = "deepseek-v3,gemma-4-31b"' in injected[0].source
    index = (report.out_dir / "index.html").read_text()
    # headline: V4-Flash official layout = 159,609,485,896 bytes (tests/accounting/test_weight_bytes.py pins it)
    assert 'data-bytes="159609485896"' in index
    assert "00_summary.nocode.html" in index
    assert "understate memory by" in index


@pytest.mark.notebook
def test_failing_notebook_named_with_cell_others_still_run(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _tiny(nbs / "01_ok.ipynb", _params_cell("n: int = 1  # a number"), new_code_cell("print(n)"))
    _tiny(nbs / "02_broken.ipynb", new_code_cell("x = 1"), new_code_cell("raise KeyError('boom')"))
    _tiny(nbs / "03_ok.ipynb", new_code_cell("print('three')"))
    out = tmp_path / "out"
    argv = ["report", "--notebooks", str(nbs), "--out", str(out), "--no-progress", "-p", "n", "7"]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "02_broken.ipynb failed in cell 2: KeyError" in captured.out + captured.err
    assert "2/3 notebooks ran" in captured.out
    for stem in ("01_ok", "02_broken", "03_ok"):
        assert (out / f"{stem}.html").is_file()
    ok = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert ok.cells[-1].outputs[0]["text"] == "7\n"  # "7" coerced to int by the annotation
    assert "failed in cell 2" in (out / "index.html").read_text()
    # the folder is now non-empty: refused without --force, accepted with it
    assert cli.main([*argv, "--only", "03"]) == 2  # 03 declares no parameter n
    assert "03_ok.ipynb declare none" in capsys.readouterr().err
    assert cli.main([*argv[:-3], "--only", "03"]) == 2
    assert "not empty; pass --force" in capsys.readouterr().err
    assert cli.main([*argv[:-3], "--only", "03_ok", "--force"]) == 0


def test_refuses_non_empty_dir_before_running(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(VramkitError, match="not empty; pass --force"):
        run_report(tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_refuses_writing_into_notebooks(tmp_path):
    with pytest.raises(VramkitError, match="inside"):
        run_report(NOTEBOOKS_DIR / "out", progress=False)
    assert not (NOTEBOOKS_DIR / "out").exists()


def test_unknown_parameter_and_notebook_are_refused(tmp_path):
    with pytest.raises(VramkitError, match=r"unknown notebook parameter 'modle'.*'model"):
        run_report(tmp_path / "a", parameters={"modle": "x"}, progress=False)
    with pytest.raises(VramkitError, match="unknown notebook '99_nope'"):
        run_report(tmp_path / "b", only=["99_nope"], progress=False)
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()


def test_discover_sorted_numbered_without_dashboard():
    names = [p.name for p in discover()]
    assert names == sorted(names)
    assert names[0] == "00_summary.ipynb"
    assert "dashboard.ipynb" not in names


def test_coerce_parameter_follows_annotation():
    assert coerce_parameter("n", "7", "int") == 7
    assert coerce_parameter("x", "0.5", "float") == 0.5
    assert coerce_parameter("b", "false", "bool") is False
    assert coerce_parameter("s", "007", "str") == "007"
    assert coerce_parameter("u", "3", None) == 3
    assert coerce_parameter("l", "a, b", "list") == ["a", "b"]
    assert coerce_parameter("l", "[1, 2]", "list[int]") == [1, 2]
    assert coerce_parameter("l", "4096,8192", "list") == [4096, 8192]
    with pytest.raises(VramkitError, match="n must be int"):
        coerce_parameter("n", "seven", "int")


def test_report_help_lists_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    text = capsys.readouterr().out
    for opt in ("--out", "-p NAME VALUE", "--force", "--only"):
        assert opt in text
