"""Report folders the operating system refuses (read-only parent, a file in the path, a name
too long) end in one VramkitError and leave nothing behind, also when running as root (where
permissions do not bite, a refused mkdir is simulated)."""

from __future__ import annotations

import errno
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from vramkit.errors import VramkitError
from vramkit.report import LOCK_NAME, check_out_dir, run_report


@pytest.fixture
def nbs(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("print(1)")]), folder / "01_one.ipynb")
    return folder


def test_read_only_parent(tmp_path, nbs, monkeypatch):
    parent = tmp_path / "ro"
    parent.mkdir()
    real_mkdir = os.mkdir

    def refuse(path, *args, **kwargs):
        if str(path).startswith(str(parent)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", refuse)
    with pytest.raises(VramkitError, match=r"cannot create report folder.*Permission denied"):
        run_report(parent / "out", notebooks_dir=nbs, progress=False)
    assert list(parent.iterdir()) == []


def test_file_in_the_path_and_long_name(tmp_path, nbs):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(VramkitError, match="cannot create report folder"):
        run_report(tmp_path / "afile" / "out", notebooks_dir=nbs, progress=False)
    with pytest.raises(VramkitError, match="too long"):
        run_report(tmp_path / ("n" * 300), notebooks_dir=nbs, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "nbs"]
    assert (tmp_path / "afile").read_text() == "mine"


def test_out_folder_rules(tmp_path, nbs):
    with pytest.raises(VramkitError, match="empty"):
        check_out_dir("", force=True, notebooks_dir=nbs)
    for bad in (nbs, nbs / "sub", tmp_path):  # is, inside, contains
        with pytest.raises(VramkitError, match="notebook folder"):
            check_out_dir(bad, force=True, notebooks_dir=nbs)
    (tmp_path / "link").symlink_to(nbs)
    with pytest.raises(VramkitError, match="notebook folder"):
        check_out_dir(tmp_path / "link" / "x", force=True, notebooks_dir=nbs)
    claimed = tmp_path / "claimed"
    claimed.mkdir()
    (claimed / LOCK_NAME).write_text("")
    with pytest.raises(VramkitError, match="another report run"):
        check_out_dir(claimed, force=True, notebooks_dir=nbs)
