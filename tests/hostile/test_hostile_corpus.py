"""The hostile corpus (tests/hostile/_corpus.py), in process: every case is refused with one
`vramkit:` line (exit 2) or answered with sane figures, within its time bound, without network,
writing nothing outside the folder it names; plus the corpus' own size and coverage."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("hostile_corpus", _HERE / "_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("hostile_corpus", corpus)
_spec.loader.exec_module(corpus)

CASES = corpus.all_cases()
PROTECTED = [corpus.ROOT / "notebooks", corpus.ROOT / "data"]


def test_corpus_size_and_categories():
    assert len(CASES) >= 800
    cats = {c.category for c in CASES}
    assert {
        "cli",
        "config",
        "encoding",
        "safetensors",
        "index",
        "gguf",
        "paths",
        "hub",
        "hub-cache",
        "api",
        "report",
        "resources",
    } <= cats


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_case(case, tmp_path):
    w = tmp_path / "w"
    w.mkdir()
    if case.setup is not None:
        case.setup(w)
    before = corpus.snapshot(w)
    protected = [corpus.snapshot(p) for p in PROTECTED]
    outcome = corpus.run_case(case, w, setup=False)
    found = corpus.problems(case, outcome)
    after = corpus.snapshot(w)
    changed = sorted(
        k
        for k in set(before) | set(after)
        if before.get(k) != after.get(k) and not (case.may_write and k.startswith(case.may_write))
    )
    if changed:
        found.append(f"wrote outside its folder: {changed[:5]}")
    if [corpus.snapshot(p) for p in PROTECTED] != protected:
        found.append("changed the project's notebooks/ or data/")
    assert not found, f"{case.id}: " + " | ".join(found)
