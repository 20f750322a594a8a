"""Run every notebook with papermill into a report folder: executed notebooks, HTML with and
without code, and an ``index.html`` with the headline numbers. Files are written atomically."""

from __future__ import annotations

import ast
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import VramkitError, unknown_name

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
"""Report notebooks are numbered ``NN_snake_case.ipynb``; ``dashboard.ipynb`` is not one."""


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


def discover(notebooks_dir: Path = NOTEBOOKS_DIR, only: Sequence[str] = ()) -> list[Path]:
    """Report notebooks of `notebooks_dir`, sorted; `only` keeps those named (with or without
    ``.ipynb``, or by their ``NN`` prefix)."""
    notebooks_dir = Path(notebooks_dir)
    if not notebooks_dir.is_dir():
        raise VramkitError(f"notebook folder {str(notebooks_dir)!r} does not exist.")
    found = sorted(p for p in notebooks_dir.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))
    if not found:
        raise VramkitError(f"no NN_name.ipynb notebooks in {str(notebooks_dir)!r}.")
    if not only:
        return found
    picked = []
    for want in only:
        stem = want.removesuffix(".ipynb")
        match = [p for p in found if p.stem == stem or p.name[:2] == stem]
        if not match:
            raise unknown_name("notebook", want, [p.stem for p in found])
        picked.extend(m for m in match if m not in picked)
    return sorted(picked)


def default_out_dir(now: datetime | None = None) -> Path:
    """``reports/report-YYYYmmdd-HHMMSS`` under the current directory."""
    return Path("reports") / f"report-{(now or datetime.now()):%Y%m%d-%H%M%S}"


def coerce_parameter(name: str, value: str, inferred_type: str | None) -> Any:
    """Turn a command-line string into the type a notebook declares (``name: int = …``).

    int / float / bool / str follow the annotation; list / tuple take ``a,b`` or ``[1, 2]``
    (items coerced as unannotated values); without one, the value is tried as int,
    then float, then True/False/None, then kept as a string.
    """
    t = (inferred_type or "").strip()
    try:
        if t == "int":
            return int(value)
        if t == "float":
            return float(value)
    except ValueError:
        raise VramkitError(f"parameter {name} must be {t}, got {value!r}.") from None
    if t == "bool":
        if value.lower() not in ("true", "false", "1", "0"):
            raise VramkitError(f"parameter {name} must be true or false, got {value!r}.")
        return value.lower() in ("true", "1")
    if t == "str":
        return value
    if t.startswith(("list", "tuple")):
        text = value.strip()
        if text.startswith(("[", "(")):
            try:
                return list(ast.literal_eval(text))
            except (ValueError, SyntaxError):
                raise VramkitError(f"parameter {name} must be a list, got {value!r}.") from None
        return [coerce_parameter(name, v.strip(), None) for v in text.split(",") if v.strip()]
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(value, value)


def notebook_parameters(path: Path, given: Mapping[str, str]) -> dict[str, Any]:
    """The subset of `given` that the notebook at `path` declares, coerced to its types."""
    import papermill

    declared = papermill.inspect_notebook(str(path))
    return {
        k: coerce_parameter(k, v, declared[k].get("inferred_type_name"))
        for k, v in given.items()
        if k in declared
    }


def check_out_dir(out_dir: Path, *, force: bool, notebooks_dir: Path = NOTEBOOKS_DIR) -> Path:
    """Refuse a folder inside `notebooks_dir` or a non-empty one (unless `force`); create it."""
    out = Path(out_dir).resolve()
    nbs = Path(notebooks_dir).resolve()
    if out == nbs or nbs in out.parents:
        raise VramkitError(
            f"report folder {str(out_dir)!r} is inside {str(nbs)!r}; choose another."
        )
    if out.exists() and not out.is_dir():
        raise VramkitError(f"report folder {str(out_dir)!r} exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise VramkitError(
            f"report folder {str(out_dir)!r} is not empty; pass --force to overwrite it."
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def _file_mode() -> int:
    """0o666 minus the process umask (what a plain ``open(…, "w")`` would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to a temporary file beside `path`, then `os.replace` it into place."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


MATHJAX_DIR = "mathjax"
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def copy_mathjax(out_dir: Path) -> bool:
    """Copy MathJax (from the `jupyter-server-mathjax` package) beside the HTML pages so the
    formulas render offline; False (pages fall back to nbconvert's CDN URL) when it is absent."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return False
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dst = out_dir / MATHJAX_DIR
    if not dst.exists():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("localization", "*.py"))
    return True


def render_html(nb: Any, *, with_code: bool, local_mathjax: bool = False) -> str:
    """nbconvert's HTML of an executed notebook (figures embedded as data:image/png), standing
    alone offline (`vramkit.report_html`): interactive panels shown as they were when the report
    ran, no widget script; with `local_mathjax`, formulas load MathJax from the report folder."""
    from nbconvert import HTMLExporter

    from .report_html import NO_REQUIREJS, finish_page, offline_notebook

    extra = {"mathjax_url": MATHJAX_URL} if local_mathjax else {}
    exporter = HTMLExporter(
        exclude_input=not with_code,
        exclude_input_prompt=not with_code,
        exclude_output_prompt=not with_code,
        require_js_url=NO_REQUIREJS,
        **extra,
    )
    body, _ = exporter.from_notebook_node(offline_notebook(nb))
    return finish_page(body, local_mathjax=local_mathjax)


KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL",)
"""Passed to each report kernel: papermill's kernels listen on 127.0.0.1 over TCP, and ipykernel
warns about that on every start ("Kernel is running over TCP without encryption"), and logs a
KeyboardInterrupt when a busy machine makes jupyter_client stop it by signal. Neither concerns the
report: a cell's error is recorded in the executed notebook and named by `NotebookRun`."""


def run_notebook(path: Path, out_dir: Path, parameters: Mapping[str, Any]) -> NotebookRun:
    """Execute one notebook with papermill into `out_dir`; write .ipynb, .html, .nocode.html."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{path.stem}.", suffix=".ipynb")
    os.close(fd)
    tmp = Path(tmp_name)
    error: PapermillExecutionError | None = None
    try:
        try:
            papermill.execute_notebook(
                str(path),
                str(tmp),
                parameters=dict(parameters),
                kernel_name="python3",
                progress_bar=False,
                cwd=str(path.parent),
                extra_arguments=list(KERNEL_ARGUMENTS),
            )
        except PapermillExecutionError as err:
            error = err
        nb = nbformat.read(tmp, as_version=4)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, out_dir / path.name)
    finally:
        tmp.unlink(missing_ok=True)
    files = [path.name]
    for suffix, with_code in ((".html", True), (".nocode.html", False)):
        html = render_html(nb, with_code=with_code, local_mathjax=(out_dir / MATHJAX_DIR).exists())
        atomic_write(out_dir / f"{path.stem}{suffix}", html)
        files.append(f"{path.stem}{suffix}")
    return NotebookRun(
        name=path.name,
        ok=error is None,
        seconds=time.perf_counter() - start,
        files=tuple(files),
        cell_index=None if error is None else error.cell_index,
        ename="" if error is None else str(error.ename),
        evalue="" if error is None else str(error.evalue),
    )


def index_html(report: Report, notebooks_dir: Path = NOTEBOOKS_DIR) -> str:
    """The report's front page (`vramkit.report_index`): headline answers, the teaching
    picture, each notebook by its question (links, time, status), how to open the dashboard."""
    from .report_index import index_html as front_page

    return front_page(report, notebooks_dir)


def run_report(
    out_dir: Path | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    force: bool = False,
    only: Sequence[str] = (),
    notebooks_dir: Path = NOTEBOOKS_DIR,
    progress: bool = True,
    on_result: Callable[[NotebookRun], None] | None = None,
) -> Report:
    """Execute the report notebooks of `notebooks_dir` into `out_dir` and write ``index.html``.

    Each `parameters` entry goes to every notebook that declares it; a name no notebook
    declares is refused. A failing notebook is recorded and the others still run.
    """
    paths = discover(notebooks_dir, only)
    given = dict(parameters or {})
    per_nb = {p: notebook_parameters(p, given) for p in paths}
    unused = set(given) - {k for d in per_nb.values() for k in d}
    if unused:
        import papermill

        declared = {k for p in paths for k in papermill.inspect_notebook(str(p))}
        if not declared:
            names = ", ".join(p.name for p in paths)
            raise VramkitError(f"parameter {sorted(unused)[0]!r} given, but {names} declare none.")
        raise unknown_name("notebook parameter", sorted(unused)[0], declared)
    out = check_out_dir(out_dir or default_out_dir(), force=force, notebooks_dir=notebooks_dir)
    copy_mathjax(out)
    from tqdm.auto import tqdm

    runs = []
    bar = tqdm(paths, desc="notebooks", unit="nb", disable=not progress)
    for p in bar:
        bar.set_postfix_str(p.name)
        run = run_notebook(p, out, per_nb[p])
        runs.append(run)
        if on_result is not None:
            on_result(run)
    report = Report(out_dir=out, runs=tuple(runs), parameters=given)
    atomic_write(out / "index.html", index_html(report, notebooks_dir))
    return report
