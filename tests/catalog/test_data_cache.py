"""The parsed-data cache (`vramkit.datafiles.cached_parse`): the same documents as the YAML for
every data file, kept outside the project, keyed by version + content, written atomically, off
with VRAMKIT_NO_CACHE=1, skipped silently where it cannot write, never trusted when damaged.

The suite runs with VRAMKIT_NO_CACHE=1 (tests/conftest.py); these tests turn it on, each with
its own folder."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import vramkit
from vramkit import datafiles
from vramkit.datafiles import DATA_DIR, cache_dir, cache_key, load_document

ROOT = Path(__file__).resolve().parents[2]
DATA_FILES = sorted(p.name for p in DATA_DIR.glob("*.yaml"))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """The cache on, in a folder of this test: returns the folder entries go to."""
    monkeypatch.setenv("VRAMKIT_CACHE", str(tmp_path / "c"))
    monkeypatch.delenv("VRAMKIT_NO_CACHE", raising=False)
    return tmp_path / "c" / "data"


def _entry(folder: Path, name: str) -> Path:
    key = cache_key(name, (DATA_DIR / name).read_bytes())
    return folder / f"{Path(name).stem}-{key[:24]}.bin"


def _yaml(name: str):
    return yaml.load((DATA_DIR / name).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)


def _no_yaml(monkeypatch) -> None:
    """Make any YAML parse fail loudly: what loads now must come from the cache."""

    def refuse(*a, **k):
        raise AssertionError("parsed the YAML although a cache entry was there")

    monkeypatch.setattr(datafiles, "load_yaml_text", refuse)


def _same(a, b) -> bool:
    """Equal, and of the same types all the way down (a date stays a date, not its text)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_data_file_reads_back_from_the_cache_as_its_yaml(name, cache, monkeypatch):
    first = load_document(name)
    assert _entry(cache, name).is_file()
    _no_yaml(monkeypatch)
    second = load_document(name)
    assert _same(second, _yaml(name))
    assert _same(first, second)


def test_dates_come_back_as_dates(cache, monkeypatch):
    """gpus.yaml holds YAML dates (a source's retrieval date): restored as `datetime.date`."""
    load_document("gpus.yaml")
    _no_yaml(monkeypatch)
    doc = load_document("gpus.yaml")
    found = []

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, datetime.date):
            found.append(node)

    walk(doc)
    assert found
    assert all(type(d) is datetime.date for d in found)


def test_no_cache_env_reads_yaml_and_writes_nothing(cache, monkeypatch):
    monkeypatch.setenv("VRAMKIT_NO_CACHE", "1")
    assert cache_dir() is None
    assert _same(load_document("models.yaml"), _yaml("models.yaml"))
    assert not cache.exists()


def test_cache_dir_lives_outside_the_project(monkeypatch, tmp_path):
    monkeypatch.delenv("VRAMKIT_NO_CACHE", raising=False)
    monkeypatch.delenv("VRAMKIT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "vramkit" / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec: relative is ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "vramkit" / "data"
    monkeypatch.setenv("VRAMKIT_CACHE", str(tmp_path / "v"))
    assert cache_dir() == tmp_path / "v" / "data"
    for folder in (cache_dir(), tmp_path / "home" / ".cache" / "vramkit" / "data"):
        assert ROOT not in folder.parents
        assert DATA_DIR not in folder.parents


def test_a_file_outside_the_data_folder_is_never_cached(cache, tmp_path):
    """A user's own catalog (`load_models(path)`) is read from its YAML every time."""
    mine = tmp_path / "mine.yaml"
    mine.write_text("schema_version: 1\nmodels: []\n")
    assert load_document(mine, ("models",))["models"] == []
    assert not cache.exists()


def test_key_follows_content_and_version(monkeypatch):
    raw = (DATA_DIR / "links.yaml").read_bytes()
    k = cache_key("links.yaml", raw)
    assert k == cache_key("links.yaml", raw)
    assert k != cache_key("links.yaml", raw + b"\n# edited\n")
    assert k != cache_key("gpus.yaml", raw)
    monkeypatch.setattr(vramkit, "__version__", "99.0.0")
    assert k != cache_key("links.yaml", raw)


def test_an_edited_data_file_is_parsed_again(cache, monkeypatch, tmp_path):
    """A data file whose content changed gets a new key: the old entry is not used."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setattr(datafiles, "DATA_DIR", folder)
    f = folder / "toy.yaml"
    f.write_text("schema_version: 1\nvalue: 1\n")
    assert load_document("toy.yaml")["value"] == 1
    f.write_text("schema_version: 1\nvalue: 2\n")
    assert load_document("toy.yaml")["value"] == 2
    assert len(list(cache.glob("toy-*.bin"))) == 2


def test_old_entries_are_pruned(cache, monkeypatch, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setattr(datafiles, "DATA_DIR", folder)
    f = folder / "toy.yaml"
    for i in range(datafiles.KEEP_ENTRIES + 3):
        f.write_text(f"schema_version: 1\nvalue: {i}\n")
        assert load_document("toy.yaml")["value"] == i
    assert len(list(cache.glob("toy-*.bin"))) == datafiles.KEEP_ENTRIES
    assert load_document("toy.yaml")["value"] == datafiles.KEEP_ENTRIES + 2


def test_unwritable_cache_is_skipped_silently(tmp_path, monkeypatch):
    """A cache folder that cannot be made (a file stands in its way) or written (the temporary
    file refused) costs nothing but the cache: the YAML's document, no error, no file."""
    monkeypatch.delenv("VRAMKIT_NO_CACHE", raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VRAMKIT_CACHE", str(blocker))
    assert _same(load_document("links.yaml"), _yaml("links.yaml"))
    assert blocker.read_text() == "not a folder"

    monkeypatch.setenv("VRAMKIT_CACHE", str(tmp_path / "ro"))
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert _same(load_document("links.yaml"), _yaml("links.yaml"))
    assert not list((tmp_path / "ro").rglob("*.bin"))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anyway")
def test_read_only_cache_folder_is_skipped_silently(cache):
    cache.mkdir(parents=True)
    cache.chmod(0o500)
    try:
        assert _same(load_document("links.yaml"), _yaml("links.yaml"))
        assert not list(cache.iterdir())
    finally:
        cache.chmod(0o700)


def test_a_write_that_fails_midway_leaves_no_entry_and_no_temporary_file(cache, monkeypatch):
    def fail(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datafiles.os, "replace", fail)
    assert _same(load_document("links.yaml"), _yaml("links.yaml"))
    assert list(cache.iterdir()) == []


def test_entries_are_written_whole_under_their_final_name(cache):
    """Written to a temporary file in the same folder and renamed over the entry: no reader
    ever sees a half-written entry, and no temporary file is left."""
    load_document("runtimes.yaml")
    names = sorted(p.name for p in cache.iterdir())
    assert names == [_entry(cache, "runtimes.yaml").name]
    blob = _entry(cache, "runtimes.yaml").read_bytes()
    assert blob.startswith(datafiles._MAGIC)


def _damage(entry: Path, how: str) -> None:
    blob = entry.read_bytes()
    head = len(datafiles._MAGIC) + datafiles._DIGEST
    import marshal

    def sealed(obj) -> bytes:  # a whole, well-checksummed entry holding `obj`
        body = marshal.dumps(obj)
        return datafiles._MAGIC + datafiles._digest(body) + body

    key = marshal.loads(blob[head:])[0]
    if how == "empty":
        entry.write_bytes(b"")
    elif how == "truncated":
        entry.write_bytes(blob[: len(blob) // 2])
    elif how == "flipped-byte":
        i = head + (len(blob) - head) // 2
        entry.write_bytes(blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :])
    elif how == "garbage":
        entry.write_bytes(os.urandom(len(blob)))
    elif how == "wrong-magic":
        entry.write_bytes(b"X" + blob[1:])
    elif how == "other-key":
        entry.write_bytes(sealed(("0" * 64, {"schema_version": 1, "gpus": []}, ())))
    elif how == "not-a-tuple":
        entry.write_bytes(sealed([key, {}, ()]))
    elif how == "date-path-nowhere":
        entry.write_bytes(
            sealed((key, {"schema_version": 1}, ((("no", "such"), ("date", "2026-01-01")),)))
        )
    elif how == "date-over-a-value":
        entry.write_bytes(
            sealed((key, {"schema_version": 1}, ((("schema_version",), ("date", "2026-01-01")),)))
        )
    elif how == "bad-date-text":
        entry.write_bytes(sealed((key, {"a": None}, ((("a",), ("date", "yesterday")),))))
    elif how == "deep":
        deep: list = []
        for _ in range(3000):
            deep = [deep]
        try:
            entry.write_bytes(sealed((key, deep, ())))
        except ValueError:  # marshal refuses to write it this deep: write the bytes by hand
            body = b"(\x03\x00\x00\x00" + b"[\x01\x00\x00\x00" * 5000
            entry.write_bytes(datafiles._MAGIC + datafiles._digest(body) + body)
    elif how == "a-folder":
        entry.unlink()
        entry.mkdir()
    elif how == "a-link-to-the-yaml":
        entry.unlink()
        entry.symlink_to(DATA_DIR / "gpus.yaml")
    elif how == "a-fifo":
        entry.unlink()
        os.mkfifo(entry)
    else:
        raise AssertionError(how)


DAMAGE = ["empty", "truncated", "flipped-byte", "garbage", "wrong-magic", "other-key",
          "not-a-tuple", "date-path-nowhere", "date-over-a-value", "bad-date-text", "deep",
          "a-folder", "a-link-to-the-yaml", "a-fifo"]  # fmt: skip


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_entry_is_never_trusted(how, cache):
    """Any damaged, foreign or odd entry: the YAML's document, the same types, no error."""
    load_document("gpus.yaml")
    entry = _entry(cache, "gpus.yaml")
    _damage(entry, how)
    assert _same(load_document("gpus.yaml", ("gpus",)), _yaml("gpus.yaml"))
    if how not in ("a-folder", "a-fifo", "a-link-to-the-yaml"):  # replaced by a good entry
        assert entry.is_file()
        assert not entry.is_symlink()
        assert datafiles._read_entry(entry, cache_key("gpus.yaml", (DATA_DIR / "gpus.yaml").read_bytes())) is not datafiles._MISSING  # fmt: skip


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_an_entry_of_another_user_is_not_trusted(cache, monkeypatch):
    load_document("links.yaml")
    entry = _entry(cache, "links.yaml")
    os.chown(entry, 12345, 12345)
    _no_yaml(monkeypatch)
    with pytest.raises(AssertionError, match="parsed the YAML"):
        load_document("links.yaml")


def test_cli_answers_the_same_with_the_cache_cold_warm_and_off(tmp_path):
    """`fit` with no cache, with an empty cache (writes it) and with a warm one: same bytes."""
    argv = [sys.executable, "-m", "vramkit", "fit", "--model", "deepseek-v4-flash", "--gpu",
            "h200-sxm-141gb", "--json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VRAMKIT_CACHE": str(tmp_path / "c")}
    outs = []
    for no_cache in ("1", "", ""):
        run = subprocess.run(argv, env={**env, "VRAMKIT_NO_CACHE": no_cache}, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert run.returncode == 0, run.stderr
        outs.append(run.stdout)
    assert outs[0] == outs[1] == outs[2]
    assert len(list((tmp_path / "c" / "data").glob("*.bin"))) >= 5


def test_architecture_templates_come_back_from_the_cache_as_read(cache, monkeypatch):
    """llama.cpp's recorded graphs (gzipped JSON, their lists held as tuples) go through the
    same cache: the second read is the entry, equal to the file read directly, tuples kept."""
    import gzip
    import json

    from vramkit.runtimes.llamacpp import arch

    tids = arch.recorded_templates()[:3]
    direct = {}
    for tid in tids:
        raw = (DATA_DIR / arch.ARCH_DIR / f"{tid}.json.gz").read_bytes()
        direct[tid] = arch._tuples(json.loads(gzip.decompress(raw)))
    arch.load_template.cache_clear()
    first = {tid: arch.load_template(tid) for tid in tids}  # parsed, entries written
    assert len(list(cache.glob("*.bin"))) == len(tids)

    def refuse(*a, **k):
        raise AssertionError("parsed the JSON although a cache entry was there")

    monkeypatch.setattr(arch.json, "loads", refuse)
    arch.load_template.cache_clear()
    try:
        for tid in tids:
            again = arch.load_template(tid)
            assert _same(dict(again), dict(first[tid]))
            assert _same(dict(again), dict(direct[tid]))
            events = next(iter(next(iter(again["by_layers"].values())).values()))["events"]
            assert type(events) is tuple
            assert type(events[0]) is tuple
    finally:
        arch.load_template.cache_clear()
