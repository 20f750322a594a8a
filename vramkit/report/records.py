"""The report's records: one notebook's run and a finished report (frozen; built by `run`,
read by the front page `index` and the command line)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of one notebook: files written (relative to the report folder) and any error.

    cell_index is papermill's index of the failing cell (None when the notebook ran).
    """

    name: str
    ok: bool
    seconds: float
    files: tuple[str, ...] = ()
    cell_index: int | None = None
    ename: str = ""
    evalue: str = ""

    @property
    def error_line(self) -> str:
        """'NN_x.ipynb failed in cell 7: KeyError: …' (empty when ok)."""
        if self.ok:
            return ""
        return f"{self.name} failed in cell {self.cell_index}: {self.ename}: {self.evalue}"


@dataclass(frozen=True)
class Report:
    """A finished report: its folder, each notebook's run, and the parameters passed."""

    out_dir: Path
    runs: tuple[NotebookRun, ...]
    parameters: Mapping[str, str]

    @property
    def failed(self) -> tuple[NotebookRun, ...]:
        """The runs that raised."""
        return tuple(r for r in self.runs if not r.ok)
