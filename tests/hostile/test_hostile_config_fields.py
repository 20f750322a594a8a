"""The family config reader (`vramkit.families.read_config` over each family's declared
`ConfigField`s): every bad field value is one clear `VramkitError` naming the field and what is
allowed — a string where a whole number is expected, a bool as an int, a negative or zero
dimension, NaN / infinity, a missing required key, two aliases that disagree — whether the family
code or the CLI asks."""

from __future__ import annotations

import json
import math

import pytest

from vramkit.catalog import get_model
from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.families import FAMILIES, REQUIRED, ConfigField, get_family, read_config

LLAMA = dict(get_model("llama-3.1-70b").config)
QWEN_MOE = {**LLAMA, "model_type": "qwen2_moe", "num_experts": 8, "num_experts_per_tok": 2}


def _inventory_error(family: str, cfg: dict) -> str:
    with pytest.raises(VramkitError) as err:
        get_family(family).inventory(cfg)
    return str(err.value)


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        # a string where a whole number is expected
        ("hidden_size", "4096", "config field 'hidden_size' must be a whole number in 1..16,777,216, got '4096'"),
        # a bool is not a count (True == 1 in Python)
        ("num_attention_heads", True, "config field 'num_attention_heads' must be a whole number in 1..65,536, got True"),
        ("num_hidden_layers", False, "config field 'num_hidden_layers' must be a non-negative integer, got False"),
        # negative and zero dimensions
        ("num_hidden_layers", -1, "config field 'num_hidden_layers' must be a non-negative integer, got -1"),
        ("intermediate_size", -14336, "config field 'intermediate_size' must be a non-negative integer, got -14336"),
        ("vocab_size", 0, "config field 'vocab_size' must be a whole number in 1..16,777,216, got 0"),
        # NaN / infinite floats
        ("hidden_size", math.nan, "config field 'hidden_size' must be a whole number in 1..16,777,216, got nan"),
        ("num_key_value_heads", math.inf, "config field 'num_key_value_heads' must be a whole number in 1..65,536, got inf"),
        # too many layers
        ("num_hidden_layers", 10**6, "config field 'num_hidden_layers' is 1,000,000; more than 10,000 layers"),
        # a bool field given text
        ("tie_word_embeddings", "false", "config field 'tie_word_embeddings' must be true or false, got 'false'"),
    ],
)  # fmt: skip
def test_llama_field_refused(key, value, needle):
    assert needle in _inventory_error("llama", {**LLAMA, key: value})


def test_whole_float_is_read_as_an_int():
    """8192.0 is the whole number 8192: the inventory is the same tensor list."""
    fam = get_family("llama")
    assert fam.inventory({**LLAMA, "hidden_size": float(LLAMA["hidden_size"])}) == fam.inventory(
        LLAMA
    )


def test_missing_required_names_the_key_and_the_fields_present():
    cfg = {k: v for k, v in LLAMA.items() if k != "vocab_size"}
    msg = _inventory_error("llama", cfg)
    assert msg.startswith("config is missing 'vocab_size', which this architecture needs;")
    assert "hidden_size" in msg  # the fields present are listed


def test_missing_required_with_aliases_names_every_key():
    field = ConfigField("heads", "dim", "query heads", keys=("num_attention_heads", "n_head"))
    with pytest.raises(VramkitError, match=r"missing 'num_attention_heads' \(or 'n_head'\)"):
        _ = read_config((field,), {"hidden_size": 8}).heads


def test_alias_conflict_is_refused():
    cfg = {**QWEN_MOE, "num_local_experts": 16}  # num_experts says 8
    msg = _inventory_error("llama", cfg)
    assert "'num_local_experts' (16) and 'num_experts' (8)" in msg
    assert "disagree" in msg


def test_aliases_that_agree_are_one_value():
    fam = get_family("llama")
    agree = {**QWEN_MOE, "num_local_experts": 8}
    assert fam.inventory(agree) == fam.inventory(QWEN_MOE)


def test_sub_config_field_is_named_with_its_parent():
    """A Gemma 3 SigLIP tower's fields are read from vision_config and named so."""
    vision = {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27,
              "patch_size": -14, "image_size": 896}  # fmt: skip
    cfg = {**LLAMA, "model_type": "gemma3", "head_dim": 128, "sliding_window": 1024,
           "sliding_window_pattern": 6, "vision_config": vision}  # fmt: skip
    assert "config field 'vision_config.patch_size' must be a whole number in 1..16,777,216" in (
        _inventory_error("gemma", cfg)
    )
    vision["patch_size"] = 14
    assert any(t.group == "vision" for t in get_family("gemma").inventory(cfg))


@pytest.mark.parametrize(
    ("kind", "value", "needle"),
    [
        ("float", math.nan, "must be a finite number"),
        ("float", -math.inf, "must be a finite number"),
        ("float", True, "must be a finite number"),
        ("float", "0.5", "must be a finite number"),
        ("str", 3, "must be text"),
        ("bool", 2, "must be true or false"),
        ("count", -3, "must be a non-negative integer"),
        ("dim", 1.5, "must be a whole number"),
    ],
)
def test_reader_kinds(kind, value, needle):
    field = ConfigField("x", kind, "a test field")
    with pytest.raises(VramkitError, match=needle):
        _ = read_config((field,), {"x": value}).x


def test_float_bounds_and_defaults():
    field = ConfigField("f", "float", "a fraction", lo=0.0, hi=1.0, default=0.5)
    assert read_config((field,), {}).f == 0.5
    assert read_config((field,), {"f": 0.25}).f == 0.25
    with pytest.raises(VramkitError, match=r"in \[0, 1\], got 1.5"):
        _ = read_config((field,), {"f": 1.5}).f


def test_computed_default_is_checked_like_a_value():
    """head_dim defaults to hidden_size // heads; a default of 0 is refused as a value would be."""
    cfg = {k: v for k, v in LLAMA.items() if k != "head_dim"}
    cfg.update(hidden_size=16, num_attention_heads=32, num_key_value_heads=8)
    assert _inventory_error("llama", cfg) == (
        "config field 'head_dim' must be a whole number in 1..16,777,216, got 0; 'head_dim' is "
        "not set and its default, hidden_size // num_attention_heads, gives 0."
    )


def test_values_are_read_only_and_undeclared_fields_unknown():
    v = read_config((ConfigField("x", "count", "x", default=0),), {})
    with pytest.raises(AttributeError):
        v.x = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        _ = v.not_declared


def test_every_family_declares_fields_with_unique_names_and_valid_defaults():
    for name, fam in FAMILIES.items():
        names = [f.name for f in fam.config_fields]
        assert names, f"{name} declares no config fields"
        assert len(names) == len(set(names)), f"{name} declares a field twice"
        for f in fam.config_fields:
            assert f.meaning, f"{name}.{f.name} has no meaning"
            assert (
                f.default is REQUIRED
                or f.default is None
                or callable(f.default)
                or (
                    f.kind in ("bool", "str", "any", "float")
                    or (isinstance(f.default, int) and f.default >= (1 if f.kind == "dim" else 0))
                )
            ), f"{name}.{f.name}: default {f.default!r} is not a valid {f.kind}"


def test_kv_cli_refuses_a_bad_field_in_one_line(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**LLAMA, "num_key_value_heads": "8"}))
    assert main(["kv", "--config", str(path), "--context", "8K"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("vramkit: error: ")
    assert "num_key_value_heads" in err[0]


def test_models_fields_lists_a_familys_fields(capsys):
    assert main(["models", "--fields", "deepseek_v4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["families"]["deepseek_v4"]
    by_name = {r["field"]: r for r in rows}
    assert by_name["compress_ratios"]["default"] == "required"
    assert by_name["num_hidden_layers"]["gguf"] == "{arch}.block_count"
    assert by_name["n_shared_experts"]["default"] == "1"
    assert [f.name for f in get_family("deepseek_v4").config_fields] == list(by_name)
