"""Every CLI command's --json output over the catalog × recipes × contexts × runtimes × GPUs is
byte-identical to tests/golden/cli_json.golden (written by tools/golden.py, run in-process).

A change here is either a bug or a deliberate change of a figure: then regenerate with
``.venv/bin/python tools/golden.py`` and say so in the commit message."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
while not (ROOT / "tools" / "golden.py").exists():  # works from any tests/ sub-folder
    ROOT = ROOT.parent


def _golden_tool():
    spec = importlib.util.spec_from_file_location(
        "vramkit_golden_tool", ROOT / "tools" / "golden.py"
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_json_outputs_match_the_golden_file():
    golden = _golden_tool()
    expected = golden.GOLDEN.read_text(encoding="utf-8")
    actual = golden.render()
    if actual != expected:  # pytest.fail: the message, not pytest's diff of two 1 MB strings
        pytest.fail(
            "CLI --json output differs from tests/golden/cli_json.golden.\n"
            + golden.diff(expected, actual)
            + "\nIf the change is deliberate, regenerate: .venv/bin/python tools/golden.py "
            "(and say which figure changed, and why, in the commit message).",
            pytrace=False,
        )


def test_the_golden_file_covers_every_command_and_is_not_empty():
    golden = _golden_tool()
    blocks = golden._blocks(golden.GOLDEN.read_text(encoding="utf-8"))
    commands = {argv.split()[0] for argv in blocks}
    from vramkit.cli import COMMANDS

    assert commands == set(COMMANDS) - {"report"}  # report runs notebooks: not a --json command
    ok = [b for b in blocks.values() if b.startswith("rc 0\n")]
    assert len(ok) > 500, "most cases must succeed, or the golden file pins only errors"
