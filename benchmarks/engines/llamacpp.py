"""Build (or reuse) the pinned llama.cpp that llama-cpp-python vendors, CPU only.

The engine is a registry package, never a downloaded binary: `pip download --no-deps
--no-binary :all: llama-cpp-python==VERSION` fetches the sdist from PyPI, whose
`vendor/llama.cpp` is built here with the flags of the project's ENGINES recipe plus
GGML_RPC=ON, only the targets the harness needs (`llama-fit-params`, `llama-quantize`,
`ggml-rpc-server`). The build lives in a cache directory outside the repository and is reused
when present:

    ${XDG_CACHE_HOME:-~/.cache}/vramkit/engines/llama.cpp-<VERSION>/
        src/llama_cpp_python-<VERSION>/vendor/llama.cpp   the unpacked engine source
        src/.../vendor/llama.cpp/build/bin/                the three binaries + shared libraries
        engine.json                                        version, build number, commit, paths

Stdlib only, so `python3 tasks.py engines` and the test suite can call it before any venv.
Run `python3 benchmarks/engines/llamacpp.py` to build it (prints the engine record as JSON).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

#: The pinned engine: llama-cpp-python's sdist version (it vendors llama.cpp with DeepSeek V4,
#: `vendor/llama.cpp/src/llama-kv-cache-dsv4.cpp`).
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
TARGETS = ("llama-fit-params", "llama-quantize", "ggml-rpc-server")
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DGGML_OPENMP=OFF",
    "-DGGML_RPC=ON",
)
"""One build serves every check: GGML_RPC=ON only adds ggml's RPC backend, whose devices exist
only when `llama-fit-params --rpc` names servers; without `--rpc` the projection is the plain
CPU one (the fixtures re-measured on this build reproduce)."""


def cache_root() -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/vramkit/engines` (overridable with VRAMKIT_ENGINE_CACHE)."""
    if os.environ.get("VRAMKIT_ENGINE_CACHE"):
        return Path(os.environ["VRAMKIT_ENGINE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vramkit" / "engines"


def engine_dir(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    return cache_root() / f"llama.cpp-{version}"


@dataclass(frozen=True)
class Engine:
    """A built llama.cpp: where its binaries are and which source it came from."""

    package: str  # "llama-cpp-python==0.3.36"
    llama_cpp_build_number: int  # LLAMA_BUILD_NUMBER of the vendored tree
    llama_cpp_commit: str  # LLAMA_BUILD_COMMIT of the vendored tree ("" if not recorded)
    source_dir: str  # vendor/llama.cpp
    bin_dir: str  # build/bin (binaries and shared libraries)
    gguf_py_dir: str  # vendor/llama.cpp/gguf-py (the same tree's gguf package)

    @property
    def fit_params(self) -> Path:
        return Path(self.bin_dir) / "llama-fit-params"

    @property
    def quantize(self) -> Path:
        return Path(self.bin_dir) / "llama-quantize"

    def env(self) -> dict[str, str]:
        """Environment for running the binaries (shared libraries sit next to them)."""
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (self.bin_dir, env.get("LD_LIBRARY_PATH", "")) if p
        )
        return env


def _log(msg: str) -> None:
    print(f"[engines] {msg}", file=sys.stderr, flush=True)


def _download_sdist(dest: Path, version: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    found = sorted(dest.glob(f"llama_cpp_python-{version}.tar.gz"))
    if found:
        return found[0]
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        "--disable-pip-version-check", "-d", str(dest), f"llama-cpp-python=={version}",
    ]  # fmt: skip
    _log(" ".join(cmd))
    subprocess.run(cmd, check=True)
    found = sorted(dest.glob("llama_cpp_python-*.tar.gz"))
    if not found:
        raise RuntimeError(f"pip download left no llama_cpp_python sdist in {dest}")
    return found[0]


def _unpack(sdist: Path, dest: Path) -> Path:
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        if not (dest / top).exists():
            tar.extractall(dest, filter="data")
    return dest / top / "vendor" / "llama.cpp"


def _vendored_build_info(src: Path) -> tuple[int, str]:
    """(build number, full commit) of the vendored llama.cpp.

    The sdist's CHANGELOG names the upstream commit ("update llama.cpp to
    ggml-org/llama.cpp@<sha>"); the vendored tree is a one-commit shallow clone, so cmake's
    build number (a `git rev-list --count`) is 1 and says nothing: recorded as-is.
    """
    number, commit = 0, ""
    info = src / "build" / "common" / "build-info.cpp"
    if info.exists():
        m = re.search(r"LLAMA_BUILD_NUMBER\s*=\s*(\d+)", info.read_text())
        number = int(m.group(1)) if m else 0
    try:
        commit = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        changelog = src.parent.parent / "CHANGELOG.md"
        m = re.search(r"llama\.cpp@([0-9a-f]{7,40})", changelog.read_text())
        commit = m.group(1) if m else ""
    return number, commit


def build(version: str = LLAMA_CPP_PYTHON_VERSION, jobs: int = 2) -> Engine:
    """Download, unpack and build the pinned engine into the cache; reuse a finished build."""
    root = engine_dir(version)
    record = root / "engine.json"
    if record.exists():
        engine = Engine(**json.loads(record.read_text()))
        if _ready(engine):
            return engine
    root.mkdir(parents=True, exist_ok=True)
    sdist = _download_sdist(root / "sdist", version)
    src = _unpack(sdist, root / "src")
    build_dir = src / "build"
    t0 = time.monotonic()
    cache = build_dir / "CMakeCache.txt"
    if not cache.exists() or "GGML_RPC:BOOL=ON" not in cache.read_text():
        # a build folder configured before GGML_RPC was on is reconfigured, not rebuilt whole
        cmd = ["cmake", "-S", str(src), "-B", str(build_dir), *CMAKE_FLAGS]
        _log(" ".join(cmd))
        subprocess.run(cmd, check=True)
    cmd = ["cmake", "--build", str(build_dir), f"-j{jobs}", "--target", *TARGETS]
    _log(" ".join(cmd) + "  (about 10+ min on 2 cores)")
    subprocess.run(cmd, check=True)
    _log(f"built in {time.monotonic() - t0:.0f} s")
    number, commit = _vendored_build_info(src)
    engine = Engine(
        package=f"llama-cpp-python=={version}",
        llama_cpp_build_number=number,
        llama_cpp_commit=commit,
        source_dir=str(src),
        bin_dir=str(build_dir / "bin"),
        gguf_py_dir=str(src / "gguf-py"),
    )
    record.write_text(json.dumps(asdict(engine), indent=2) + "\n")
    return engine


def _ready(engine: Engine) -> bool:
    return (
        engine.fit_params.exists()
        and engine.quantize.exists()
        and (Path(engine.bin_dir) / "ggml-rpc-server").exists()
    )


def build_rpc(version: str = LLAMA_CPP_PYTHON_VERSION, jobs: int = 2) -> Engine:
    """The build whose `ggml-rpc-server` on 127.0.0.1 is one more device for
    `llama-fit-params --rpc`, so a CPU-only machine gets the engine's per-device projection of
    a GPU split (plan_vs_engine.py --rpc): the one `build()` (GGML_RPC=ON there)."""
    return build(version, jobs)


def cached_rpc() -> Engine | None:
    """The finished build with its RPC server, or None (never builds)."""
    return cached()


def cached() -> Engine | None:
    """The finished cached build, or None (never builds)."""
    record = engine_dir() / "engine.json"
    if not record.exists():
        return None
    engine = Engine(**json.loads(record.read_text()))
    return engine if _ready(engine) else None


def use_vendored_gguf(engine: Engine) -> None:
    """Import `gguf` from the engine's own gguf-py (its constants match the engine)."""
    path = engine.gguf_py_dir
    if path not in sys.path:
        sys.path.insert(0, path)
    mod = sys.modules.get("gguf")
    if mod is not None and not str(getattr(mod, "__file__", "")).startswith(path):
        for name in [n for n in sys.modules if n == "gguf" or n.startswith("gguf.")]:
            del sys.modules[name]


def main() -> int:
    engine = build()
    print(json.dumps(asdict(engine), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
