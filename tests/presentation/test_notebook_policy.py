"""The committed notebooks follow notebooks/README.md: names, kernelspec, one literal
`parameters` cell, outputs only in keep_output cells, widget cells tagged nbval-ignore-output."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAME = re.compile(r"^(\d\d_[a-z0-9_]+|dashboard)\.ipynb$")
WIDGET_HINTS = ("ipywidgets", "vramkit.widgets", "interactive_output", "show_panel(", "panel(")


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert "00_summary.ipynb" in names
    assert "dashboard.ipynb" in names


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_name_and_kernelspec(nb):
    path, book = nb
    assert NAME.match(path.name), f"{path.name}: name must be NN_snake_case.ipynb"
    assert book.metadata.get("kernelspec", {}).get("name") == "python3"
    nbformat.validate(book)


def test_first_cell_is_markdown_title(nb):
    _, book = nb
    first = book.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.lstrip().startswith("# ")


def test_one_literal_annotated_parameters_cell(nb):
    import papermill

    path, book = nb
    cells = [c for c in book.cells if "parameters" in _tags(c)]
    assert len(cells) == 1, f"{path.name}: exactly one cell tagged parameters"
    cell = cells[0]
    assert book.cells.index(cell) == 1, "the parameters cell is the second cell"
    tree = ast.parse(cell.source)
    names = []
    for stmt in tree.body:
        assert isinstance(stmt, ast.AnnAssign), f"{path.name}: `{ast.unparse(stmt)}` not annotated"
        assert isinstance(stmt.target, ast.Name)
        ast.literal_eval(stmt.value)  # raises on anything but a literal
        names.append(stmt.target.id)
    for line in cell.source.splitlines():
        if line.startswith("#"):  # e.g. `# fmt: off`, so ruff format keeps one literal a line
            continue
        assert re.match(r"^\w+: \w+ = .+  # \S", line), f"{path.name}: `{line}` lacks `  # help`"
    declared = papermill.inspect_notebook(str(path))
    assert list(declared) == names, "papermill --help-notebook must see every parameter"
    assert all(d["help"] for d in declared.values())


def test_outputs_only_in_keep_output_cells(nb):
    path, book = nb
    for i, cell in enumerate(book.cells):
        if cell.cell_type != "code":
            continue
        if "keep_output" in _tags(cell):
            assert cell.source.startswith("# NBVAL_CHECK_OUTPUT"), f"{path.name} cell {i}"
            assert cell.outputs, f"{path.name} cell {i}: keep_output cell has no stored output"
            for o in cell.outputs:  # deterministic text (plain, or an HTML table / markdown
                # with its plain-text twin, which nbval compares), no figures
                data = set(o.get("data", {}))
                assert o.output_type == "stream" or (
                    "text/plain" in data and data <= {"text/plain", "text/html", "text/markdown"}
                )
        else:
            assert not cell.outputs, f"{path.name} cell {i}: outputs must be stripped"
            assert cell.execution_count is None, f"{path.name} cell {i}: execution count"


def test_widget_cells_last_and_ignored(nb):
    path, book = nb
    code = [c for c in book.cells if c.cell_type == "code"]
    widget = [c for c in code if any(h in c.source for h in WIDGET_HINTS)]
    panels = [c for c in widget if "nbval-ignore-output" in _tags(c)]
    # the panels close the notebook: no computing cell after one (the dashboard has two)
    assert code[len(code) - len(panels) :] == panels, (
        f"{path.name}: the widget panels must be the last code cells"
    )
    for cell in widget:
        if "nbval-ignore-output" in _tags(cell):
            continue
        else:  # an import of the widgets module alone is fine; building a panel is not
            assert "panel(" not in cell.source, path.name
            assert "interactive" not in cell.source, path.name
