"""The model catalog: every figure sourced, the loader refuses broken entries with clear messages."""

import copy

import pytest
import yaml

from vramkit.catalog import DATA_DIR, V4_IDS, get_model, models, parse_models
from vramkit.errors import VramkitError
from vramkit.model.catalog_checks import check_models


@pytest.fixture(scope="module")
def doc():
    return yaml.safe_load((DATA_DIR / "models.yaml").read_text())


def test_catalog_holds_the_required_models():
    ids = set(models())
    assert set(V4_IDS) <= ids
    assert {"deepseek-v3", "deepseek-v3.2", "gemma-4-26b-a4b", "gemma-4-31b"} <= ids


def test_every_entry_carries_sources():
    for m in models().values():
        for src in (m.config_source, m.labels_source, m.checkpoint.source):
            assert src.quote
            assert src.url or src.document
            assert src.url is None or src.url.startswith("https://")


def test_base_models_flag_what_is_unconfirmed():
    for mid in ("deepseek-v4-flash-base", "deepseek-v4-pro-base"):
        m = get_model(mid)
        assert m.checkpoint.status == "hypothesis"
        assert {f for f, _ in m.unconfirmed} >= {"config", "checkpoint.layout"}


def test_inherited_config_overrides_only_what_differs():
    base, inst = get_model("deepseek-v4-flash-base"), get_model("deepseek-v4-flash")
    assert base.config["expert_dtype"] == "fp8"
    assert inst.config["expert_dtype"] == "fp4"
    assert base.config["compress_ratios"] == inst.config["compress_ratios"]


def _broken(doc, mutate):
    d = copy.deepcopy(doc)
    mutate(d)
    return d


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["models"][0].pop("labels"), r"missing field\(s\) \['labels'\]"),
        (lambda d: d["models"][0].update(colour="red"), r"unknown key\(s\) \['colour'\]"),
        (
            lambda d: d["models"].append(copy.deepcopy(d["models"][0])),
            "duplicate model id 'deepseek-v4-flash'",
        ),
        (lambda d: d["models"][0].update(family="deepseek_v5"), "deepseek_v4"),
        (
            lambda d: d["models"][0]["labels"].update(total_params=100_000_000_000),
            "away from the label",
        ),
        (
            lambda d: d["models"][0]["checkpoint"].update(total_size_bytes=150_000_000_000),
            "differ by more than 1%",
        ),
        (lambda d: d["models"][0]["config_source"].update(quote=""), "non-empty 'quote'"),
        (lambda d: d["models"][0]["config_source"].update(url="http://x"), "must be https"),
        (
            lambda d: d["models"][0]["config"].update(num_hidden_layers=44),
            "compress_ratios has 44 entries",
        ),
        (
            lambda d: d["models"][0]["checkpoint"].update(layout="deepseek-v4-offical"),
            "deepseek-v4-official",
        ),
        (lambda d: d.update(schema_version=2), "schema_version must be 1"),
        (lambda d: d["models"][2].update(inherits="nope"), "unknown parent model"),
    ],
)
def test_loader_names_the_problem(doc, mutate, message):
    with pytest.raises(VramkitError, match=message):
        check_models(parse_models(_broken(doc, mutate)))


def test_the_project_catalog_is_consistent_with_its_architectures():
    """The catalog step of the suite: labels within 5%, published sizes within 1% (not at import)."""
    check_models()


def test_model_spec_is_frozen_and_caches_nothing_on_itself():
    import dataclasses

    spec = get_model("deepseek-v4-flash")
    assert "_cache" not in {f.name for f in dataclasses.fields(spec)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "x"  # type: ignore[misc]
    assert spec.inventory is spec.inventory  # computed once per spec
    assert not hasattr(spec, "__dict__") or "_cache" not in vars(spec)


def test_get_model_suggests_nearest():
    with pytest.raises(VramkitError, match="Did you mean 'gemma-4-31b'"):
        get_model("gemma-4-31")


def test_models_cli_lists_units(capsys):
    from vramkit.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "deepseek-v4-flash" in out
    assert "GiB = 2**30 bytes" in out
