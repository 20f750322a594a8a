"""`report --force` into a folder that holds an earlier report and files a user wrote: the new
report replaces the earlier one as a whole in one atomic swap, the user's files are kept (the
same files, hard-linked), a user's file under a report name is refused, and an interruption at
any step leaves the folder exactly as it was (or, once swapped, exactly the new report)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vramkit.errors import VramkitError
from vramkit.report import LOCK_NAME, MANIFEST_NAME, run_report
from vramkit.report import run as rep


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` (hidden ones too): file bytes, None for a folder."""
    out: dict[str, bytes | None] = {}
    for p in sorted(folder.rglob("*")):
        out[p.relative_to(folder).as_posix()] = None if p.is_dir() else p.read_bytes()
    return out


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p != folder)


def _earlier(tmp_path: Path) -> Path:
    """A folder as an earlier report run left it (through the real commit), plus a user's
    notes.txt and data/table.csv written afterwards."""
    out = tmp_path / "work" / "out"
    claim = rep._Claim(out, "'out'")
    for name, text in (("01_a.html", "old a"), ("02_b.html", "old b"), ("index.html", "old")):
        (claim.tmp / name).write_text(text)
    (claim.tmp / "mathjax").mkdir()
    (claim.tmp / "mathjax" / "MathJax.js").write_text("mj")
    claim.commit()
    (out / "notes.txt").write_text("mine")
    (out / "data").mkdir()
    (out / "data" / "table.csv").write_text("a,b\n1,2\n")
    return out


def _new_claim(out: Path) -> rep._Claim:
    claim = rep._Claim(out, "'out'")
    (claim.tmp / "01_a.html").write_text("new a")
    (claim.tmp / "index.html").write_text("new")
    return claim


def test_force_replaces_the_earlier_report_and_keeps_the_users_files(tmp_path):
    out = _earlier(tmp_path)
    inode = (out / "notes.txt").stat().st_ino
    assert sorted(os.listdir(out)) == [
        MANIFEST_NAME, "01_a.html", "02_b.html", "data", "index.html", "mathjax", "notes.txt",
    ]  # fmt: skip
    _new_claim(out).commit()
    assert _snapshot(out) == {
        MANIFEST_NAME: (out / MANIFEST_NAME).read_bytes(),
        "01_a.html": b"new a",
        "data": None,
        "data/table.csv": b"a,b\n1,2\n",
        "index.html": b"new",
        "notes.txt": b"mine",
    }  # the earlier 02_b.html and mathjax/ went with the earlier report
    assert (out / "notes.txt").stat().st_ino == inode  # the same file, not a copy
    assert _siblings(out) == []  # no temporary or earlier folder left beside it


def test_a_file_added_inside_a_report_folder_makes_that_folder_the_users(tmp_path):
    out = _earlier(tmp_path)
    (out / "mathjax" / "my-notes.txt").write_text("mine")
    assert "mathjax" in rep.user_entries(out)
    _new_claim(out).commit()  # this report writes no mathjax/: the user's folder is kept
    assert (out / "mathjax" / "my-notes.txt").read_text() == "mine"
    assert (out / "mathjax" / "MathJax.js").read_text() == "mj"
    with pytest.raises(VramkitError, match="holds 'mathjax'"):
        rep.refuse_overwriting_user_files(out, {"mathjax"}, "'out'")


def test_a_changed_report_file_is_the_users_and_is_never_overwritten(tmp_path):
    out = _earlier(tmp_path)
    (out / "index.html").write_text("my edits")  # no longer the file the report wrote
    before = _snapshot(out)
    claim = _new_claim(out)
    with pytest.raises(VramkitError, match=r"holds 'index.html'.*would overwrite it"):
        claim.commit()
    assert _snapshot(out) == before
    assert _siblings(out) == []


@pytest.mark.parametrize("step", ["while linking", "before the swap", "first rename"])
def test_an_interrupted_commit_leaves_the_folder_as_it_was(tmp_path, monkeypatch, step):
    out = _earlier(tmp_path)
    before = _snapshot(out)
    claim = _new_claim(out)
    if step == "while linking":
        real = rep._keep
        calls = []

        def keep(src, dst):
            calls.append(src)
            if len(calls) == 2:
                raise KeyboardInterrupt
            real(src, dst)

        monkeypatch.setattr(rep, "_keep", keep)
    elif step == "before the swap":

        def exchange(a, b):
            raise KeyboardInterrupt

        monkeypatch.setattr(rep, "_exchange", exchange)
    else:  # no RENAME_EXCHANGE: two renames; the second fails, the first is undone
        monkeypatch.setattr(rep, "_exchange", lambda a, b: False)
        real_rename = os.rename

        def rename(src, dst):
            if Path(src) == claim.tmp:
                raise KeyboardInterrupt
            real_rename(src, dst)

        monkeypatch.setattr(rep.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        claim.commit()
    assert _snapshot(out) == before
    assert not (out / LOCK_NAME).exists()
    assert _siblings(out) == []


def test_interrupted_just_after_the_swap_the_folder_is_the_whole_new_report(tmp_path, monkeypatch):
    out = _earlier(tmp_path)
    real = rep._exchange

    def exchange(a, b):
        assert real(a, b) or (os.rename(b, str(b) + ".x") or os.rename(a, b) or True)
        raise KeyboardInterrupt

    monkeypatch.setattr(rep, "_exchange", exchange)
    with pytest.raises(KeyboardInterrupt):
        _new_claim(out).commit()
    files = _snapshot(out)
    assert files["01_a.html"] == b"new a"
    assert files["notes.txt"] == b"mine"
    assert "02_b.html" not in files
    assert LOCK_NAME not in files
    assert [s for s in _siblings(out) if not s.endswith(".x")] == []


def test_without_an_atomic_exchange_two_renames_do_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(rep, "_exchange", lambda a, b: False)
    out = _earlier(tmp_path)
    _new_claim(out).commit()
    assert (out / "01_a.html").read_text() == "new a"
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "02_b.html").exists()
    assert _siblings(out) == []


def test_a_foreign_manifest_makes_every_entry_the_users(tmp_path):
    """A manifest naming paths outside the folder, or not JSON, protects rather than deletes."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("mine")
    (tmp_path / "x").write_text("outside")
    cases = {
        "not json": [MANIFEST_NAME, "index.html"],
        '{"schema_version": 1, "files": {"../x": "0"}, "folders": {"..": [], "/": []}}': [
            "index.html"
        ],
    }
    for text, users in cases.items():
        (out / MANIFEST_NAME).write_text(text)
        assert rep.user_entries(out) == users
        with pytest.raises(VramkitError, match="holds"):
            rep.refuse_overwriting_user_files(out, rep.report_names([]), "'out'")
    assert (tmp_path / "x").read_text() == "outside"


@pytest.mark.notebook
def test_report_force_end_to_end_keeps_user_files_and_refuses_before_running(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for stem, text in (("01_a", "one"), ("02_b", "two")):
        nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell(f"print('{text}')")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}  # fmt: skip
        nbformat.write(nb, nbs / f"{stem}.ipynb")
    out = tmp_path / "out"
    run_report(out, notebooks_dir=nbs, progress=False)
    (out / "notes.txt").write_text("mine")
    second = run_report(out, notebooks_dir=nbs, only=["02"], force=True, progress=False)
    assert [r.name for r in second.runs] == ["02_b.ipynb"]
    names = set(os.listdir(out))
    assert {"notes.txt", "02_b.html", "index.html", MANIFEST_NAME} <= names
    assert "01_a.html" not in names  # the earlier report was replaced as a whole
    (out / "02_b.nocode.html").write_text("edited by hand")
    before = _snapshot(out)
    with pytest.raises(VramkitError, match=r"02_b\.nocode\.html"):
        run_report(out, notebooks_dir=nbs, force=True, progress=False)
    assert _snapshot(out) == before
    assert _siblings(out) == ["nbs"]
