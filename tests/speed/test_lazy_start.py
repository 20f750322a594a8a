"""Issue 22's start-up rules, checked by what a fresh process imports (not by timing, which a
busy machine would make flaky), and the two paths the KV layouts now have (one context as a
Python int, many as a numpy array) checked against each other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import contextlib, io, json, sys
from vramkit.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as exit_:  # argparse's --help
        rc = exit_.code
mods = sorted(m for m in sys.modules if m.startswith(("vramkit.commands.", "vramkit.families.")))
print(json.dumps({"rc": rc, "numpy": "numpy" in sys.modules, "gguf": "gguf" in sys.modules,
                  "pandas": "pandas" in sys.modules, "modules": mods}))
"""


def _probe(*args: str) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def _commands(info: dict) -> list[str]:
    return [m for m in info["modules"] if m.startswith("vramkit.commands.")]


def test_help_imports_no_command_module():
    info = _probe("--help")
    assert info["rc"] == 0
    assert _commands(info) == []
    assert not info["numpy"]


def test_usage_error_imports_no_command_module():
    info = _probe("no-such-command")
    assert info["rc"] == 2
    assert _commands(info) == []


def test_kv_imports_its_command_and_the_catalog_families_and_no_numpy():
    info = _probe("kv", "--model", "deepseek-v4-flash", "--context", "128K")
    assert info["rc"] == 0
    assert _commands(info) == ["vramkit.commands.common", "vramkit.commands.kv"]
    families = [m for m in info["modules"] if m.startswith("vramkit.families.")]
    assert "vramkit.families.deepseek_v4" in families
    # the catalog checks each entry's family (DeepSeek, Gemma 4, Llama): only those load; the
    # families no catalog entry uses stay unloaded
    for unused in ("phi", "phi3", "granite", "qwen3_next", "gpt_oss", "glm4_moe", "llama4"):
        assert f"vramkit.families.{unused}" not in families
    assert not info["numpy"]
    assert not info["pandas"]


def test_fit_reads_ggml_blocks_without_importing_gguf_or_numpy():
    info = _probe("fit", "--model", "deepseek-v4-flash", "--gpu", "h200-sxm-141gb")
    assert info["rc"] == 0
    assert not info["gguf"]
    assert not info["numpy"]


def test_gguf_constants_read_alone_match_the_package():
    """`format_facts.gguf_constants` (gguf's constants.py read alone) gives the same block table
    as ``import gguf.constants``."""
    code = (
        "import json; from vramkit.format_facts import gguf_constants as g; c = g(); "
        "a = {t.name: list(c.GGML_QUANT_SIZES[t]) for t in c.GGMLQuantizationType "
        "if t in c.GGML_QUANT_SIZES}; "
        "import gguf.constants as p; "
        "b = {t.name: list(p.GGML_QUANT_SIZES[t]) for t in p.GGMLQuantizationType "
        "if t in p.GGML_QUANT_SIZES}; "
        "print(json.dumps([c.__name__, a == b, len(a)]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    name, same, n = json.loads(r.stdout.strip().splitlines()[-1])
    assert name == "vramkit._gguf_constants"  # read alone: gguf was not imported first
    assert same
    assert n > 30  # Q4_0 … IQ4_XS, MXFP4: the whole table, not an empty one


def test_families_load_lazily_but_list_all():
    code = (
        "import json, sys; import vramkit.families as f; "
        "before = sorted(m for m in sys.modules if m.startswith('vramkit.families.') "
        "and not m.split('.')[-1].startswith('_')); "
        "f.get_family('llama'); "
        "one = sorted(m for m in sys.modules if m.startswith('vramkit.families.') "
        "and not m.split('.')[-1].startswith('_')); "
        "print(json.dumps([before, one, sorted(f.FAMILIES), len(f.model_types())]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, one, names, n_types = json.loads(r.stdout.strip().splitlines()[-1])
    assert "vramkit.families.llama" not in before
    assert "vramkit.families.llama" in one
    assert "vramkit.families.gemma" not in one
    family_modules = sorted(
        p.stem
        for p in (ROOT / "vramkit" / "families").glob("*.py")
        if not p.stem.startswith("_") and "FAMILY = " in p.read_text()
    )
    assert names == family_modules  # FAMILIES loads every family module on first read
    assert n_types >= len(names)


RUNTIMES = ("reference", "vllm", "llama.cpp", "ik-llama.cpp", "sglang")
CONTEXTS = (1, 100, 4095, 4096, 131_072 + 7, 1_048_576)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("model", ["deepseek-v4-flash", "gemma-4-31b", "llama-3.1-70b"])
def test_one_context_as_int_matches_the_array_path(model, runtime):
    """`kv_cache` (one context: Python ints) and `kv_grid` (numpy arrays) give the same bytes
    per kind at every context, below and above the sliding windows and compressor ratios."""
    from vramkit.catalog import get_model
    from vramkit.kv import kv_cache, kv_grid

    m = get_model(model)
    contexts = [c for c in CONTEXTS if c <= 8 * int(m.config["max_position_embeddings"])]
    grid = kv_grid(m, contexts, [1, 3], runtime=runtime, allow_extrapolation=True)
    for batch in (1, 3):
        rows = grid[grid["batch"] == batch]
        for ctx, (_, row) in zip(contexts, rows.iterrows(), strict=True):
            est = kv_cache(m, ctx, batch=batch, runtime=runtime, allow_extrapolation=True)
            assert int(row["context_tokens"]) == ctx
            assert est.total_bytes == int(row["total_bytes"])
            assert est.per_gpu_bytes == int(row["per_gpu_bytes"])
            for kind, b in est.by_kind.items():
                assert b == int(row[kind]), (kind, ctx)


def test_the_cached_plan_refuses_what_it_refused_before():
    """The plan cache keys on argument types too: ``include_mtp=1`` is refused (a switch takes
    True / False) even after ``include_mtp=True`` put an equal key (True == 1) in the cache."""
    from vramkit.catalog import get_model
    from vramkit.errors import VramkitError
    from vramkit.kv import kv_cache

    m = get_model("deepseek-v4-flash")
    with_mtp = kv_cache(m, 4096, include_mtp=True).total_bytes
    assert with_mtp > kv_cache(m, 4096, include_mtp=False).total_bytes
    with pytest.raises(VramkitError, match="include_mtp"):
        kv_cache(m, 4096, include_mtp=1)
