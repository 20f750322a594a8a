"""Run every notebook with papermill into a report folder: executed notebooks, HTML with and
without code, and an ``index.html`` with the headline numbers. Files are written atomically.

Every wait is bounded. A report run used to stall on a loaded machine at a widget cell; the cause
(a wake-up lost when nbclient sends an Output widget's state on the shell channel through
jupyter_client's synchronous shadow socket while it waits there for the cell's reply), the fix
and the watchdog are written up in `vramkit.report.kernel`. Here: a cell may run
`DEFAULT_CELL_TIMEOUT_S`; a kernel idle and silent for `DEFAULT_STALL_AFTER_S` is a stall, and
its notebook runs once more on a new kernel before it fails with one line (`run_notebook`)."""

from __future__ import annotations

import ast
import contextlib
import math
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import VramkitError, require_int, require_number, unknown_name
from ..validate import (
    is_dir,
    json_depth,
    path_stat,
    regular_file,
    require_bool,
    require_path,
    require_text,
)
from .records import NotebookRun, Report

_PACKAGED_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS_DIR = (
    _PACKAGED_NOTEBOOKS
    if _PACKAGED_NOTEBOOKS.is_dir()
    else Path(__file__).resolve().parents[2] / "notebooks"
)
"""The report notebooks: ``vramkit/notebooks`` inside an installed wheel (pyproject maps the
repository's notebooks/ there), else the checkout's notebooks/ folder."""
MAX_PARAMETER_CHARS = 4096
"""Longest notebook parameter value accepted."""
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
"""Report notebooks are numbered ``NN_snake_case.ipynb``; ``dashboard.ipynb`` is not one."""


def discover(notebooks_dir: Path = NOTEBOOKS_DIR, only: Sequence[str] = ()) -> list[Path]:
    """Report notebooks of `notebooks_dir`, sorted; `only` keeps those named (with or without
    ``.ipynb``, or by their ``NN`` prefix)."""
    notebooks_dir = require_path("notebook folder", notebooks_dir)
    if not is_dir(notebooks_dir, "notebook folder"):
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
    value = require_text(f"parameter {name}", value, max_chars=MAX_PARAMETER_CHARS, empty=True)
    try:
        if t == "int":
            return int(value)
        if t == "float":
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
    except ValueError:
        raise VramkitError(f"parameter {name} must be {t}, got {value!r:.80}.") from None
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
                if json_depth(text) > 2:
                    raise ValueError("nested")
                return list(ast.literal_eval(text))
            except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
                raise VramkitError(
                    f"parameter {name} must be a flat list such as [1, 2], got {value!r:.80}."
                ) from None
        return [coerce_parameter(name, v.strip(), None) for v in text.split(",") if v.strip()]
    for conv in (int, float):
        try:
            number = conv(value)
        except ValueError:
            continue
        if isinstance(number, float) and not math.isfinite(number):
            raise VramkitError(f"parameter {name} must be a finite number, got {value!r:.80}.")
        return number
    return {"True": True, "False": False, "None": None}.get(value, value)


def notebook_parameters(path: Path, given: Mapping[str, str]) -> dict[str, Any]:
    """The subset of `given` that the notebook at `path` declares, coerced to its types and
    checked by the same rules as the CLI and the Python API (`check_parameter`)."""
    declared = _declared(path)
    out = {
        k: coerce_parameter(k, v, declared[k].get("inferred_type_name"))
        for k, v in given.items()
        if k in declared
    }
    for k, v in out.items():
        check_parameter(k, v)
    return out


def _ids(value: Any) -> list[Any]:
    return [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)


def _model_id(name: str, value: Any) -> None:
    from ..catalog import get_model

    if not isinstance(value, str):
        raise VramkitError(f"parameter {name} must be a catalog model id, got {value!r:.80}.")
    get_model(value)


def _positive(name: str, value: Any, maximum: int) -> None:
    require_int(f"parameter {name}", value, minimum=1, maximum=maximum)


def check_parameter(name: str, value: Any) -> None:
    """The CLI's rules for a notebook parameter the kit's notebooks share: catalog model ids,
    GPU ids, positive batch / count / context, cached experts and the routing skew in range.
    Parameters of other names (a user's own notebooks) pass unchecked."""
    from ..hardware import get_gpu
    from ..moe import MAX_ZIPF_S
    from ..validate import MAX_BATCH, MAX_EXPERTS, MAX_POSITIONS

    contexts = ("context", "context_tokens", "min_context", "safer_context", "max_context")
    if name == "model_id":  # notebook 01 compares the four DeepSeek V4 variants
        from ..catalog import V4_IDS

        if value not in V4_IDS:
            raise VramkitError(
                f"parameter model_id must be a DeepSeek V4 variant ({', '.join(V4_IDS)}), "
                f"got {value!r:.80}."
            )
    elif name in ("model", "focus"):
        _model_id(name, value)
    elif name == "models":
        for item in _ids(value):
            _model_id(name, item)
    elif name in ("gpu", "gpus"):
        for item in _ids(value) if name == "gpus" else [value]:
            get_gpu(str(item))
    elif name in ("batch", "count"):
        _positive(name, value, MAX_BATCH)
    elif name in contexts:
        _positive(name, value, 8 * MAX_POSITIONS)
    elif name == "contexts":
        for item in _ids(value):
            _positive(name, int(item) if str(item).isdigit() else item, 8 * MAX_POSITIONS)
    elif name == "cached_experts":
        require_int(f"parameter {name}", value, minimum=0, maximum=MAX_EXPERTS)
    elif name == "zipf_s":
        require_number(f"parameter {name}", value, minimum=0.0, maximum=MAX_ZIPF_S)
    else:
        check_plan_parameter(name, value)


PARALLEL_MODES = ("tp", "ep", "dp")
"""What notebook 04 and the dashboard's ``parallel`` parameter take."""


def check_plan_parameter(name: str, value: Any) -> None:
    """The planner's parameters (notebook 06, the dashboard), checked before any kernel starts
    as `plan` checks its flags: ``ram`` a size with its unit ('128GB', '512GB@89.6GB/s'; '128'
    is refused), ``sequences`` 1..4096, ``parallel`` tp, ep or dp. Other names pass."""
    if name == "ram":
        from ..plan.machine import parse_host

        if not isinstance(value, str):
            raise VramkitError(f"parameter ram must be a size such as 128GB, got {value!r:.80}.")
        parse_host(value)
    elif name == "sequences":
        from ..plan import MAX_SEQUENCES

        require_int(f"parameter {name}", value, minimum=1, maximum=MAX_SEQUENCES)
    elif name == "parallel" and value not in PARALLEL_MODES:
        raise unknown_name("parameter parallel value", value, PARALLEL_MODES)


LOCK_NAME = ".vramkit-report.lock"
"""Created (O_EXCL) inside the report folder while a run writes it: a second run is refused."""
DEFAULT_CELL_TIMEOUT_S = 120
"""Longest one notebook cell may run (papermill ``execution_timeout``), seconds. Sized to the
notebooks: their slowest cell took 8.1 s in 30 full runs on 2 cores beside two CPU-burning processes
(benchmarks/report_soak.py prints it)."""
DEFAULT_STALL_AFTER_S = 60
"""Seconds an idle kernel may stay silent while the report waits on it before the run counts
as stalled (`vramkit.report.kernel`): an idle kernel answers in milliseconds."""


def _real(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError) as err:
        raise VramkitError(f"cannot resolve the path {str(path)!r:.200}: {err}.") from None


def _overlaps(a: Path, b: Path) -> bool:
    """True when `a` is `b`, lies inside it, or contains it (real paths)."""
    return a == b or b in a.parents or a in b.parents


def _declared(path: Path) -> dict[str, Any]:
    """papermill's view of a notebook's parameters cell; an unreadable notebook is one error."""
    import papermill

    regular_file(path, "notebook")
    try:
        return dict(papermill.inspect_notebook(str(path)))
    except Exception as err:  # nbformat / JSON / papermill parse errors of a foreign notebook
        raise VramkitError(
            f"cannot read notebook {path.name!r}: {type(err).__name__}: {str(err)[:200]}."
        ) from None


def check_out_dir(out_dir: Path | str, *, force: bool, notebooks_dir: Path = NOTEBOOKS_DIR) -> Path:
    """The real path of a report folder vramkit may write, or a VramkitError.

    Refused: an empty name; a folder that is, contains or lies inside the kit's notebooks/ or
    `notebooks_dir` (real paths, symlinks resolved); something that is not a folder; a
    non-empty folder unless `force`. Nothing is created here (see `_claim`)."""
    if isinstance(out_dir, str) and not out_dir.strip():
        raise VramkitError("report folder must not be empty; give a folder name (--out DIR).")
    given = require_path("report folder", out_dir)
    out = _real(given.expanduser())
    for nbs in {_real(Path(NOTEBOOKS_DIR)), _real(Path(notebooks_dir))}:
        if _overlaps(out, nbs):
            raise VramkitError(
                f"report folder {str(given)!r:.200} is, contains or lies inside the notebook "
                f"folder {str(nbs)!r}; choose another (reports never write beside notebooks)."
            )
    st = path_stat(out, "report folder")
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise VramkitError(f"report folder {str(given)!r:.200} exists and is not a folder.")
    if st is not None:
        try:
            entries = [e.name for e in os.scandir(out)]
        except OSError as err:
            raise VramkitError(
                f"cannot read report folder {str(given)!r:.200}: {err.strerror}."
            ) from None
        if LOCK_NAME in entries:
            raise VramkitError(
                f"report folder {str(given)!r:.200} is being written by another report run "
                f"({LOCK_NAME} is there); wait for it or choose another folder."
            )
        if entries and not force:
            raise VramkitError(
                f"report folder {str(given)!r:.200} is not empty; pass --force to overwrite it."
            )
    return out


MANIFEST_NAME = ".vramkit-report.json"
"""Written into every report folder: the names this run wrote (files with their sha256, and
folders with the files in them). A later ``--force`` run replaces exactly those (when unchanged) and keeps every other
entry of the folder, which a user wrote; a user's entry named like a report file is refused."""


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
    )


def _earlier_report(out: Path) -> set[str]:
    """Entries of `out` an earlier report run wrote and nobody changed since: the files its
    manifest lists with the same sha256, the folders it lists, and the manifest itself. An
    unreadable or foreign manifest counts as none (then every entry is the user's)."""
    from ..validate import read_json_object

    path = out / MANIFEST_NAME
    if path_stat(path) is None:
        return set()
    try:
        doc = read_json_object(path, "report manifest", max_bytes=10_000_000)
    except VramkitError:
        return set()
    files, folders = doc.get("files"), doc.get("folders")
    if (
        doc.get("schema_version") != 1
        or not isinstance(files, dict)
        or not isinstance(folders, dict)
    ):
        return set()
    ours = {MANIFEST_NAME}
    for name, digest in files.items():
        p = out / name
        if _plain_name(name) and p.is_file() and not p.is_symlink() and _sha256(p) == digest:
            ours.add(name)
    for name, listed in folders.items():
        p = out / name
        if (
            _plain_name(name)
            and p.is_dir()
            and not p.is_symlink()
            and isinstance(listed, list)
            and set(_folder_files(p)) <= set(listed)
        ):
            ours.add(name)  # nothing added inside it since (a file added there is the user's)
    return ours


def _folder_files(folder: Path) -> list[str]:
    """Every file and link under `folder`, as paths relative to it, sorted."""
    out = []
    for top, dirs, files in os.walk(folder):
        rel = Path(top).relative_to(folder)
        out += [(rel / f).as_posix() for f in files]
        out += [(rel / d).as_posix() for d in dirs if (Path(top) / d).is_symlink()]
    return sorted(out)


def user_entries(out: Path) -> list[str]:
    """Names in report folder `out` that no earlier report run wrote (the user's), sorted."""
    if not is_dir(out, "report folder"):
        return []
    ours = _earlier_report(out) | {LOCK_NAME}
    return sorted(e.name for e in os.scandir(out) if e.name not in ours)


def report_names(paths: Sequence[Path]) -> set[str]:
    """Every name a report of the notebooks `paths` writes into its folder."""
    names = {"index.html", MATHJAX_DIR, MANIFEST_NAME}
    for p in paths:
        names |= {p.name, f"{p.stem}.html", f"{p.stem}.nocode.html"}
    return names


def refuse_overwriting_user_files(out: Path, names: set[str], label: str) -> None:
    """A VramkitError when report folder `out` holds an entry a user wrote (not an unchanged
    file of an earlier report) under a name this report writes: nothing a user wrote is ever
    overwritten, --force or not."""
    clash = [n for n in user_entries(out) if n in names]
    if clash:
        raise VramkitError(
            f"report folder {label} holds {clash[0]!r}, which no earlier report wrote (or which "
            f"was changed since); the report would overwrite it. Move it away or choose another "
            f"folder."
        )


def _keep(src: Path, dst: Path) -> None:
    """Put the user's entry `src` at `dst` without touching `src`: files are hard-linked (the
    same file, not a copy; copied where the filesystem has no hard links), folders rebuilt
    entry by entry, symbolic links re-made as links."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        os.mkdir(dst)
        shutil.copystat(src, dst)
        for entry in os.scandir(src):
            _keep(Path(entry.path), dst / entry.name)
    else:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            shutil.copy2(src, dst, follow_symlinks=False)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(…, RENAME_EXCHANGE)``); False where
    the system or filesystem does not offer it (nothing changed then)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _signals_held():
    """SIGINT / SIGTERM wait (blocked, then delivered) while the block runs: a multi-step swap
    is never cut in the middle by a signal (main thread, POSIX; elsewhere a no-op)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Claim:
    """A report folder claimed for one run: created if new (``mkdir``, atomic), locked with
    `LOCK_NAME` (``O_CREAT | O_EXCL``, atomic) and written in a temporary sibling folder
    (``.NAME.XXXX``). `commit` completes the sibling (the user's entries of the folder kept in
    it, hard-linked, and the manifest) and swaps it with the folder in one atomic step, so the
    folder always holds either the earlier content or the whole new report, whenever a run is
    interrupted; `release` removes the sibling, the lock and a folder this run created."""

    def __init__(self, out: Path, label: str) -> None:
        self.out, self.label, self.created, self.tmp, self.locked = out, label, False, None, False
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(out)
                self.created = True
            except FileExistsError:
                if not out.is_dir():
                    raise VramkitError(
                        f"report folder {label} exists and is not a folder."
                    ) from None
            try:
                os.close(os.open(out / LOCK_NAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                raise VramkitError(
                    f"report folder {label} is being written by another report run; "
                    "wait for it or choose another folder."
                ) from None
            self.locked = True
            self.tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
        except BaseException as err:  # a refusal, an OS error or a signal mid-claim: undo it
            self.release()
            if isinstance(err, OSError):
                raise VramkitError(
                    f"cannot create report folder {label}: {_os_reason(err)}."
                ) from None
            raise

    def commit(self) -> None:
        """Finish the temporary folder and swap it into place (see the class docstring).

        1. the manifest of what this run wrote; 2. every entry of the report folder a user
        wrote, hard-linked in (a user's entry under a report name is refused, nothing changes);
        3. one swap: ``renameat2(RENAME_EXCHANGE)``, or where that is missing two renames with
        SIGINT/SIGTERM held; 4. the earlier folder, now in the sibling's place, is removed."""
        assert self.tmp is not None
        tmp, out = self.tmp, self.out
        try:
            written = sorted(os.listdir(tmp))
            manifest = {
                "schema_version": 1,
                "files": {n: _sha256(tmp / n) for n in written if (tmp / n).is_file()},
                "folders": {n: _folder_files(tmp / n) for n in written if (tmp / n).is_dir()},
            }
            import json

            atomic_write(tmp / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True))
            refuse_overwriting_user_files(out, set(written) | {MANIFEST_NAME}, self.label)
            kept = user_entries(out)
            for name in kept:
                _keep(out / name, tmp / name)
            os.chmod(tmp, 0o777 & ~_umask())
            with _signals_held():
                if _exchange(tmp, out):
                    self.locked = False  # the lock went with the earlier folder (now at tmp)
                else:
                    old = out.parent / f".{out.name}.old.{os.getpid()}.{time.monotonic_ns()}"
                    os.rename(out, old)
                    try:
                        os.rename(tmp, out)
                    except BaseException:
                        os.rename(old, out)
                        raise
                    self.locked = False
                    self.tmp = old
                self.created = False  # the folder is the finished report now: never removed
            self._adopt_late_entries(set(kept))
        except OSError as err:
            raise VramkitError(
                f"cannot finish report folder {self.label}: {_os_reason(err)}."
            ) from None
        finally:
            self.release(keep_out=True)

    def _adopt_late_entries(self, kept: set[str]) -> None:
        """Entries a user wrote into the earlier folder while the swap ran (after their files
        were linked): moved into the finished folder under their own name when it is free."""
        old = self.tmp
        if old is None or not old.is_dir():
            return
        ours = _earlier_report(old) | {LOCK_NAME} | kept
        for entry in os.scandir(old):
            dst = self.out / entry.name
            if entry.name not in ours and not os.path.lexists(dst):
                with contextlib.suppress(OSError):
                    os.rename(entry.path, dst)

    def release(self, *, keep_out: bool = False) -> None:
        """Remove what this run made: the temporary folder, the lock, and (unless `keep_out`)
        the report folder if this run created it."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if self.locked:
            with contextlib.suppress(OSError):
                os.unlink(self.out / LOCK_NAME)
            self.locked = False
        if self.created and not keep_out:
            with contextlib.suppress(OSError):
                os.rmdir(self.out)
            self.created = False


def _os_reason(err: OSError) -> str:
    return f"{err.strerror or type(err).__name__}" + (f" ({err.filename})" if err.filename else "")


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while a report ran (everything it wrote has been removed)."""


@contextlib.contextmanager
def _interrupts_raise():
    """Within the block SIGTERM raises `Interrupted` like Ctrl-C does (main thread only), so
    cleanup code runs; the previous handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _file_mode() -> int:
    """0o666 minus the process umask (what a plain ``open(…, "w")`` would give)."""
    return 0o666 & ~_umask()


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
    alone offline (`vramkit.report.html`): interactive panels shown as they were when the report
    ran, no widget script; with `local_mathjax`, formulas load MathJax from the report folder."""
    from nbconvert import HTMLExporter

    from .html import NO_REQUIREJS, finish_page, offline_notebook

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


KERNEL_LOG = ".kernel-stderr.log"
"""The kernel's own stderr (its warnings, its shutdown noise) goes here, in the temporary
folder, not to the terminal; it is removed with that folder."""


@contextlib.contextmanager
def _child_stderr_to(path: Path):
    """Point file descriptor 2 at `path` while a kernel starts and runs: the kernel inherits
    it, so its warnings and shutdown tracebacks never reach the terminal (papermill's own log
    lines during the run go there too); fd 2 is restored after."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. an embedded interpreter)
        yield
        return
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(log, 2)
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log)


RETRY_NOTE = (
    "the kernel stalled (idle and silent for {s:.0f} s{cell}); running it once more on a new kernel"
)
STALL_REASON = (
    "the kernel stalled twice (idle and silent for {s:.0f} s{cell}; see vramkit.report.kernel)"
)


def _running_cell(nb_path: Path) -> int | None:
    """Index of the last cell papermill started (it has a ``start_time``) in a notebook whose
    run was stopped; None when unknown."""
    import nbformat

    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # an empty or half-written file: the cell is unknown
        return None
    running = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time") is not None
    ]
    return running[-1] if running else None


def _execute(
    path: Path, tmp: Path, parameters: Mapping[str, Any], cell_timeout_s: int, stall_after_s: int
) -> None:
    """One papermill run of `path` into `tmp` on a new kernel, watched (`report.kernel`): a
    kernel idle and silent for `stall_after_s` seconds raises `KernelStalled`; a reply whose
    IOPub output is later than that raises nbclient's IOPub timeout (outputs are never dropped
    silently)."""
    import papermill

    from .kernel import kernel_manager_class

    papermill.execute_notebook(
        str(path),
        str(tmp),
        parameters=dict(parameters),
        kernel_name="python3",
        progress_bar=False,
        cwd=str(path.parent),
        execution_timeout=cell_timeout_s,
        start_timeout=120,
        extra_arguments=list(KERNEL_ARGUMENTS),
        kernel_manager_class=kernel_manager_class(stall_after_s),
        iopub_timeout=stall_after_s,
        raise_on_iopub_timeout=True,
    )


def _is_iopub_timeout(err: BaseException) -> bool:
    return isinstance(err, TimeoutError) and "IOPub" in str(err)


def run_notebook(
    path: Path,
    out_dir: Path,
    parameters: Mapping[str, Any],
    *,
    cell_timeout_s: int = DEFAULT_CELL_TIMEOUT_S,
    stall_after_s: int = DEFAULT_STALL_AFTER_S,
) -> NotebookRun:
    """Execute one notebook with papermill into `out_dir`; write .ipynb, .html, .nocode.html.

    A cell running longer than `cell_timeout_s` seconds fails the notebook (papermill
    ``execution_timeout``). A run whose kernel is idle and silent for `stall_after_s` seconds
    (`vramkit.report.kernel`) is stopped, its kernel shut down, and the notebook run once more
    on a new kernel; a second stall fails it with a one-line reason. No wait is unbounded."""
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    from .kernel import stalled as stall_behind

    start = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{path.stem}.", suffix=".ipynb")
    os.close(fd)
    tmp = Path(tmp_name)
    error: PapermillExecutionError | None = None
    try:
        for attempt in (1, 2):
            error = None
            try:
                with _child_stderr_to(out_dir / KERNEL_LOG):
                    _execute(path, tmp, parameters, cell_timeout_s, stall_after_s)
            except PapermillExecutionError as err:
                error = err
            except TimeoutError as err:  # nbclient's CellTimeoutError / kernel start timeout
                stalled = stall_behind(err) is not None or _is_iopub_timeout(err)
                cell = _running_cell(tmp)
                if stalled and attempt == 1:
                    where = "" if cell is None else f" in cell {cell}"
                    print(
                        f"vramkit: {path.name}: {RETRY_NOTE.format(s=stall_after_s, cell=where)}",
                        file=sys.stderr,
                        flush=True,
                    )
                    continue
                where = "" if cell is None else f" in cell {cell}"
                evalue = (
                    STALL_REASON.format(s=stall_after_s, cell=where)
                    if stalled
                    else f"a cell ran longer than {cell_timeout_s} s (--cell-timeout)"
                )
                error = PapermillExecutionError(
                    cell_index=-1 if cell is None else cell,
                    exec_count=None,
                    source="",
                    ename="KernelStalled" if stalled else type(err).__name__,
                    evalue=evalue,
                    traceback=[],
                )
            break
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
    """The report's front page (`vramkit.report.index`): headline answers, the teaching
    picture, each notebook by its question (links, time, status), how to open the dashboard."""
    from .index import index_html as front_page

    return front_page(report, notebooks_dir)


def run_report(
    out_dir: Path | str | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    force: bool = False,
    only: Sequence[str] = (),
    notebooks_dir: Path = NOTEBOOKS_DIR,
    progress: bool = True,
    on_result: Callable[[NotebookRun], None] | None = None,
    cell_timeout_s: int = DEFAULT_CELL_TIMEOUT_S,
    stall_after_s: int = DEFAULT_STALL_AFTER_S,
) -> Report:
    """Execute the report notebooks of `notebooks_dir` into `out_dir` and write ``index.html``.

    Each `parameters` entry goes to every notebook that declares it; a name no notebook
    declares is refused. A failing notebook is recorded and the others still run. The folder
    is checked (`check_out_dir`), claimed atomically and written in a temporary sibling swapped
    with it in one step at the end (`_Claim.commit`): with `force`, an earlier report there is
    replaced as a whole and every entry a user wrote is kept (one under a name the report
    writes is refused before anything runs). On an error, SIGINT or SIGTERM everything this
    run wrote is removed and the folder is as it was (`Interrupted` is raised for the signals).
    """
    force = require_bool("force", force)
    progress = require_bool("progress", progress)
    cell_timeout_s = require_int("cell_timeout_s", cell_timeout_s, minimum=1, maximum=86_400)
    stall_after_s = require_int("stall_after_s", stall_after_s, minimum=1, maximum=86_400)
    notebooks_dir = require_path("notebook folder", notebooks_dir)
    if isinstance(only, str) or not all(isinstance(o, str) for o in only):
        raise VramkitError(f"only must be a list of notebook names, got {only!r:.80}.")
    given = _string_parameters(parameters)
    paths = discover(notebooks_dir, only)
    per_nb = {p: notebook_parameters(p, given) for p in paths}
    unused = set(given) - {k for d in per_nb.values() for k in d}
    if unused:
        declared = {k for p in paths for k in _declared(p)}
        if not declared:
            names = ", ".join(p.name for p in paths)
            raise VramkitError(f"parameter {sorted(unused)[0]!r} given, but {names} declare none.")
        raise unknown_name("notebook parameter", sorted(unused)[0], declared)
    target = default_out_dir() if out_dir is None else out_dir
    out = check_out_dir(target, force=force, notebooks_dir=notebooks_dir)
    refuse_overwriting_user_files(out, report_names(paths), repr(str(target))[:200])
    from tqdm.auto import tqdm

    with _interrupts_raise():
        claim = _Claim(out, repr(str(target))[:200])
        try:
            assert claim.tmp is not None
            work = claim.tmp
            copy_mathjax(work)
            runs = []
            bar = tqdm(paths, desc="notebooks", unit="nb", disable=not progress)
            for p in bar:
                bar.set_postfix_str(p.name)
                run = run_notebook(
                    p,
                    work,
                    per_nb[p],
                    cell_timeout_s=cell_timeout_s,
                    stall_after_s=stall_after_s,
                )
                runs.append(run)
                if on_result is not None:
                    on_result(run)
            (work / KERNEL_LOG).unlink(missing_ok=True)
            report = Report(out_dir=out, runs=tuple(runs), parameters=given)
            atomic_write(work / "index.html", index_html(report, notebooks_dir))
            claim.commit()
        except BaseException as err:
            claim.release()
            if isinstance(err, OSError):
                raise VramkitError(f"cannot write the report: {_os_reason(err)}.") from None
            raise
    return report


def _string_parameters(parameters: object) -> dict[str, str]:
    """Notebook parameters as {name: text}: names are identifiers, values text of at most
    `MAX_PARAMETER_CHARS` characters (each is coerced later to the type the notebook declares)."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise VramkitError(f"parameters must be a mapping of name to text, got {parameters!r:.80}.")
    out = {}
    for k, v in parameters.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise VramkitError(f"notebook parameter name {k!r:.80} is not a Python identifier.")
        out[k] = require_text(f"parameter {k}", v, max_chars=MAX_PARAMETER_CHARS, empty=True)
    return out
