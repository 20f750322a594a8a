"""The declared config fields (`Family.config_fields`) describe the configs vramkit ships, and the
family modules read config.json keys only through them (`vramkit.families.read_config`)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from vramkit.catalog import get_model, model_ids
from vramkit.errors import VramkitError
from vramkit.families import FAMILIES, GGUF_KEYS, family_of_model_type, get_family, read_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "data" / "examples").glob("*/config.json"))
FAMILY_DIR = ROOT / "vramkit" / "families"


def _read_every_field(family_name: str, config: dict) -> None:
    """Read each top-level declared field: required ones must be present, every value in range."""
    fam = get_family(family_name)
    values = read_config(fam.config_fields, config)
    for field in fam.config_fields:
        if "." not in field.name:  # vision_config.* fields are read from the sub-config
            _ = values[field.name]


@pytest.mark.parametrize("model_id", model_ids())
def test_catalog_configs_read_through_their_fields(model_id):
    model = get_model(model_id)
    _read_every_field(model.family, dict(model.config))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_configs_read_through_their_fields(path):
    cfg = json.loads(path.read_text())
    text = cfg.get("text_config") or {}
    model_type = text.get("model_type") or cfg.get("model_type")
    fam = family_of_model_type(str(model_type))
    if fam is None:  # a wrapper the configfile resolves otherwise; the fields are not its own
        pytest.skip(f"{path.parent.name}: model_type {model_type!r} has no family")
    _read_every_field(fam.name, {**cfg, **text} if text else cfg)


def test_examples_exist():
    assert len(EXAMPLES) >= 20


def test_gguf_names_come_from_the_ingest_map():
    """Each GGUF name a field lists is one the GGUF ingest maps onto one of its keys."""
    for fam in FAMILIES.values():
        for field in fam.config_fields:
            for name in field.gguf:
                assert GGUF_KEYS[name] in field.keys


# reads of a raw config allowed outside the schema: GGUF renames (they rewrite the ingest's dict),
# kv_notes (runtime notes, edited with the runtime registry), the wrapper/tower lookup and its
# estimate note, and the recurrent helpers' GGUF normalisation and key scan
ALLOWED = {
    "torch_dtype_format", "vision_tower", "_vit_estimate", "uncounted_towers", "_notes",
    "_normalise", "is_recurrent", "qwen3next_linear_fields",
}  # fmt: skip


def _raw_reads(path: Path) -> list[str]:
    """`config.get(...)` / `cfg[...]` reads of a raw config outside the allowed functions."""
    tree = ast.parse(path.read_text())
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or fn.name in ALLOWED or "from_gguf" in fn.name:
            continue
        for node in ast.walk(fn):
            target = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "get":
                    target = node.func.value
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                target = node.value
            if isinstance(target, ast.Name) and target.id in ("config", "cfg", "vision"):
                found.append(f"{path.name}:{node.lineno} in {fn.name}")
    return found


def test_family_modules_read_configs_only_through_their_fields():
    modules = sorted(FAMILY_DIR.glob("*.py"))
    assert len(modules) >= 15
    reads = [r for p in modules if p.name != "_schema.py" for r in _raw_reads(p)]
    assert reads == []


def test_each_config_bound_is_declared_once_and_read_by_the_boundary():
    """The boundary check (`check_config`) reads its fields from the schema's `CONFIG_BOUNDS`
    (validate holds no table of its own), each key once, and a family field reading one of
    those keys takes its bound from there (issue 22: one declaration a field)."""
    import vramkit.validate as validate
    from vramkit.families import CONFIG_BOUNDS, FAMILIES, check_config
    from vramkit.validate import MAX_HEADS

    names = [f.name for f in CONFIG_BOUNDS]
    assert len(names) == len(set(names))
    assert not [n for n in vars(validate) if n in ("_POSITIVE", "_NON_NEGATIVE", "check_config")]
    bound = {f.name: f.bound for f in CONFIG_BOUNDS if f.bound is not None}
    checked = 0
    for fam in FAMILIES.values():
        for f in fam.config_fields:
            key = next((k for k in f.keys if k in bound), None)
            if key is None or f.kind not in ("dim", "count", "layers"):
                continue
            assert f.bound == bound[key], (fam.name, f.name, f.bound, bound[key])
            checked += 1
    assert checked > 50
    # the boundary applies a declared bound: 65,537 heads is one more than MAX_HEADS = 2**16
    with pytest.raises(VramkitError, match=re.escape("num_attention_heads must be in 1..65,536")):
        check_config({"num_attention_heads": MAX_HEADS + 1})
