"""Real-browser fixtures: Debian chromium driven by Playwright, Voila and JupyterLab servers.

Servers bind 127.0.0.1 on free ports, run in their own session and are stopped at teardown.
Every test here is skipped (with the reason) when /usr/bin/chromium or Playwright is absent.
See shared/TOOLCHAIN.md (the project brief) "Real-browser tests" for the recipe this follows.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "browser-screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_S = 60.0
WIDGET_TIMEOUT_MS = 30_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running Jupyter-family server: base url, token ("" if none) and its log file."""

    url: str
    token: str
    log: Path
    root: Path
    proc: subprocess.Popen[bytes] = field(repr=False, compare=False)

    def stop(self) -> None:
        """Stop the server now (a module's server must not compete with the next module's)."""
        _stop(self.proc)


def _server_env(state: Path) -> dict[str, str]:
    """Jupyter/IPython/matplotlib state kept out of $HOME (tasks.py's dirs win when set)."""
    env = dict(os.environ)
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "matplotlib"),
    ):
        if var not in env:
            (state / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(state / sub)
    (state / "runtime").mkdir(parents=True, exist_ok=True)
    env["JUPYTER_RUNTIME_DIR"] = str(state / "runtime")
    # the kernelspec's "python" must be this venv's python
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.pop("MPLBACKEND", None)
    return env


def _log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Factory: start_server(kind, notebook, *extra_args) → Server; every server is stopped at
    session end.

    kind is "voila" (serves `notebook` in place) or "lab" (serves a *copy* in a tmp dir, since
    JupyterLab autosaves).
    """
    procs: list[subprocess.Popen[bytes]] = []
    logs: list = []

    def start(kind: str, notebook: Path, *extra: str) -> Server:
        state = tmp_path_factory.mktemp(f"{kind}-state")
        env = _server_env(state)
        port = free_port()
        token = ""
        if kind == "voila":
            root = notebook.parent
            # the kit's own launcher (127.0.0.1, its page template, bounded cell waits), as
            # `python3 tasks.py dashboard` runs it
            cmd = [sys.executable, "-m", "vramkit.present.voila_serve", str(notebook)]
            cmd += ["--no-browser", f"--port={port}", "--Voila.port_retries=0", *extra]
        elif kind == "lab":
            root = state / "lab-root"
            root.mkdir()
            shutil.copy2(notebook, root / notebook.name)
            token = secrets.token_hex(16)
            settings = state / "lab-settings" / "@jupyterlab" / "apputils-extension"
            settings.mkdir(parents=True)
            (settings / "notification.jupyterlab-settings").write_text(
                json.dumps({"fetchNews": "false", "checkForUpdates": False})
            )
            env["JUPYTERLAB_SETTINGS_DIR"] = str(state / "lab-settings")
            env["JUPYTERLAB_WORKSPACES_DIR"] = str(state / "lab-workspaces")
            cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root"]
            cmd += [f"--port={port}", "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0"]
            cmd += [f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}"]
            cmd += ["--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None"]
            cmd += ["--LabApp.extension_manager=readonly"]  # no PyPI look-ups
        else:
            raise ValueError(f"unknown server kind {kind!r}; allowed: 'voila', 'lab'")
        log = state / f"{kind}.log"
        fh = log.open("wb")
        logs.append(fh)
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{kind} exited with {proc.returncode}:\n{_log_tail(log)}")
            try:
                api = f"{url}/api" + (f"?token={token}" if token else "")
                with urllib.request.urlopen(api, timeout=2) as r:
                    if r.status == 200:
                        break
            except urllib.error.HTTPError:
                # Voila serving one notebook answers /api with 403/404: it is up all the same
                if kind == "voila":
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{kind} did not answer in {SERVER_START_S} s:\n{_log_tail(log)}")
            time.sleep(0.2)
        return Server(url=url, token=token, log=log, root=root, proc=proc)

    yield start
    for proc in procs:
        _stop(proc)
    for fh in logs:
        fh.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian chromium for the session (never a Playwright-downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (python3 tasks.py test installs it with apt as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def is_local(url: str) -> bool:
    """True for a URL that stays on this machine (127.0.0.1, localhost, data:, blob:)."""
    if url.startswith(("data:", "blob:")):
        return True
    return urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def _local_only(route) -> None:
    """Offline by rule: abort anything that leaves this machine (CDN fonts, mathjax...)."""
    if is_local(route.request.url):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="session")
def browser_context(browser) -> Iterator[object]:
    """One context for the session, so the large widget JS bundles come from the HTTP cache."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", _local_only)
    yield context
    context.close()


@pytest.fixture
def page(browser_context) -> Iterator[object]:
    """A fresh page per test. Collected on the page: `errors` (uncaught page errors),
    `console_errors` (console messages of type error, e.g. a failed resource load) and
    `outside` (every request to a host other than this machine, aborted by the context's route
    but counted here)."""
    pg = browser_context.new_page()
    pg.set_default_timeout(WIDGET_TIMEOUT_MS)
    errors: list[str] = []
    console_errors: list[str] = []
    outside: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    pg.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
    pg.errors = errors  # type: ignore[attr-defined]
    pg.console_errors = console_errors  # type: ignore[attr-defined]
    pg.outside = outside  # type: ignore[attr-defined]
    yield pg
    pg.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """build/browser-screenshots/, emptied of the previous run's PNGs."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


@pytest.fixture
def screenshot(
    request: pytest.FixtureRequest, tmp_path: Path, screenshot_dir: Path
) -> Callable[[object, str], Path]:
    """screenshot(page, state) → PNG `<test>-<state>.png` in build/browser-screenshots/ and in
    pytest's tmp_path."""

    def take(pg, state: str) -> Path:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{request.node.name}-{state}") + ".png"
        kept = screenshot_dir / name
        pg.screenshot(path=str(kept), full_page=True)
        shutil.copy2(kept, tmp_path / name)
        return kept

    return take
