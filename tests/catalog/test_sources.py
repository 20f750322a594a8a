"""One `Source` type: every loader's records carry it, and a link without a quote (or a quote
without a link or document) is an error, never an empty source."""

from __future__ import annotations

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
