"""One `Source` type: every loader's records carry it, and a link without a quote (or a quote
without a link or document) is an error, never an empty source."""

from __future__ import annotations

from pathlib import Path

import pytest

from vramkit.catalog import models
from vramkit.errors import VramkitError
from vramkit.hardware import gpus, links
from vramkit.runtimes import runtimes
from vramkit.sources import Source, parse_source


def test_every_loader_hands_out_the_one_source_type():
    for m in models().values():
        assert isinstance(m.config_source, Source)
        assert isinstance(m.labels_source, Source)
        assert isinstance(m.checkpoint.source, Source)
    for g in gpus().values():
        assert isinstance(g.source, Source)
        assert g.source.quote
    for link in links().values():
        assert isinstance(link.source, Source)
    for rt in runtimes().values():
        for fig in rt.figures.values():
            assert fig.source is None or isinstance(fig.source, Source)
        for flag in rt.flags.values():
            assert isinstance(flag.source, Source)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"url": "https://example.org/x"}, "non-empty 'quote'"),
        ({"quote": "it says so"}, "'url' or a 'document'"),
        ({"url": "http://example.org", "quote": "q"}, "must be https"),
        ({"url": "https://example.org", "quote": "q", "colour": "red"}, "unknown keys"),
        ("https://example.org", "must be a mapping"),
    ],
)
def test_a_link_without_a_source_is_an_error(raw, message):
    with pytest.raises(VramkitError, match=message):
        parse_source("test.yaml x", raw)


def test_source_reads_as_where_and_quote():
    s = parse_source("t", {"document": "docs/research/kv_layouts.md", "quote": "q", "kind": "code"})
    assert str(s) == "docs/research/kv_layouts.md — q"
    assert s.kind == "code"


def _url_mappings(node, path=""):
    if isinstance(node, dict):
        if isinstance(node.get("url"), str):
            yield path, node
        for k, v in node.items():
            yield from _url_mappings(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _url_mappings(v, f"{path}[{i}]")


def test_every_data_url_is_pinned_or_marked_moving_with_a_reason():
    """A url on a moving branch (blob/main …) carries moving: true and a moving_reason."""
    import yaml

    from vramkit.datafiles import DATA_DIR
    from vramkit.sources import MOVING_URL

    bad = []
    for path in sorted(DATA_DIR.glob("*.yaml")):
        for where, src in _url_mappings(yaml.safe_load(path.read_text())):
            if MOVING_URL.search(src["url"]) and not (
                src.get("moving") is True and str(src.get("moving_reason") or "").strip()
            ):
                bad.append(f"{path.name}{where}: {src['url']}")
    assert not bad, "moving urls without moving: true + moving_reason:\n" + "\n".join(bad)


def test_one_loader_reads_every_data_file():
    """Every data file is read through vramkit.datafiles.load_document (no module reads a data/
    YAML itself; parsing a user's own file, e.g. a machine description, is not a data read)."""
    import re

    import vramkit
    from vramkit.datafiles import load_document

    pkg = Path(vramkit.__file__).resolve().parent
    readers = [
        p.relative_to(pkg).as_posix()
        for p in pkg.rglob("*.py")
        if p.name != "datafiles.py"
        and re.search(r"yaml\.(safe_)?load\(|load_yaml_text\(\(?DATA_DIR", p.read_text())
    ]
    assert readers == [], f"modules reading YAML themselves: {readers}"
    for name in ("models.yaml", "gpus.yaml", "runtimes.yaml", "recipes.yaml", "ground_truth.yaml"):
        assert load_document(name)["schema_version"] == 1
    with pytest.raises(VramkitError, match="does not exist"):
        load_document("no_such_file.yaml")


def test_quant_formats_and_recipes_carry_source_records():
    """data/quant_formats.yaml and data/recipes.yaml hold Source records like every other data
    file: each format and each recipe a non-empty ``sources`` list (no prose ``source`` left),
    each entry a quote with an https url or a docs/research note of this repository."""
    import yaml

    from vramkit.datafiles import DATA_DIR
    from vramkit.quant import get_recipe, recipe_ids
    from vramkit.quant.formats import format_names, get_format

    for name, key, id_key in (("quant_formats.yaml", "formats", "name"), ("recipes.yaml", "recipes", "id")):  # fmt: skip
        records = yaml.safe_load((DATA_DIR / name).read_text())[key]
        assert records
        for rec in records:
            assert "source" not in rec, f"{name} {rec[id_key]}: a prose 'source' is left"
            assert isinstance(rec.get("sources"), list), rec[id_key]
            assert rec["sources"], rec[id_key]
    table = [get_format(n) for n in format_names() if get_format(n).layout != "gguf"]
    assert {f.name for f in table} >= {"FP32", "BF16", "FP8_B128_UE8M0", "MXFP4", "NVFP4", "I32"}
    official = [get_recipe(r) for r in recipe_ids() if get_recipe(r).kind in ("official", "community")]  # fmt: skip
    assert {r.id for r in official} >= {"deepseek-v4-official", "ds4-q2", "ds4-q4", "bf16"}
    for owner, sources in [(f.name, f.sources) for f in table] + [(r.id, r.sources) for r in official]:  # fmt: skip
        assert sources, f"{owner} has no Source records"
        for s in sources:
            assert isinstance(s, Source), owner
            assert s.quote, owner
            assert s.url or s.document, owner
            if s.url:
                assert s.url.startswith("https://"), (owner, s.url)
            if s.document:
                doc = s.document.split(" §")[0]
                assert (Path(__file__).resolve().parents[2] / doc).is_file(), (owner, doc)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Model card says FP4 + FP8", "non-empty list"),
        ([], "non-empty list"),
        ([{"url": "https://example.org/x"}], r"\[0\]: source needs a non-empty 'quote'"),
        ([{"quote": "q", "document": "docs/x.md"}, "prose"], r"\[1\]: source must be a mapping"),
    ],
)
def test_a_prose_or_empty_sources_list_is_refused(raw, message):
    from vramkit.sources import parse_sources

    with pytest.raises(VramkitError, match=message):
        parse_sources("recipes.yaml recipe x", raw)
