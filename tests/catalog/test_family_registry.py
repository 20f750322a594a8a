"""The family registry: every family is one module exporting one `Family` record, nothing outside
`vramkit/families/` branches on a family name, and a new family plugs in from a single module."""

from __future__ import annotations

import importlib.util
import re
import sys
import textwrap
from pathlib import Path

import pytest

import vramkit
from vramkit.catalog import models
from vramkit.errors import VramkitError
from vramkit.families import (
    FAMILIES,
    Family,
    get_family,
    gguf_model_types,
    model_types,
    register,
    unregister,
)
from vramkit.kv import kv_cache
from vramkit.model.configfile import model_from_config
from vramkit.quant import weight_bytes

PKG = Path(vramkit.__file__).resolve().parent


def test_every_family_module_exports_one_record_named_after_it():
    modules = sorted(p.stem for p in (PKG / "families").glob("*.py") if not p.stem.startswith("_"))
    with_record = [m for m in modules if m != "recurrent"]
    assert sorted(FAMILIES) == with_record
    for name, fam in FAMILIES.items():
        assert isinstance(fam, Family)
        assert fam.name == name
        assert fam.model_types, name


def test_model_types_and_gguf_archs_map_to_one_family_each():
    types = model_types()
    assert types["deepseek_v32"] == "deepseek_v3"
    assert types["mixtral"] == "llama"
    assert sum(len(f.model_types) for f in FAMILIES.values()) == len(types)  # no type twice
    for arch, model_type in gguf_model_types().items():
        assert model_type in types, arch


def test_layer_kinds_cover_every_main_layer_of_the_catalog():
    for spec in models().values():
        kinds = get_family(spec.family).layer_kinds(spec.config)
        assert len(kinds) == spec.config["num_hidden_layers"], spec.id
    flash = models()["deepseek-v4-flash"].config
    kinds = get_family("deepseek_v4").layer_kinds(flash)
    ratios = flash["compress_ratios"][: flash["num_hidden_layers"]]
    assert kinds.count("csa") == ratios.count(4)
    assert kinds.count("hca") == ratios.count(128)


_NAMES = "|".join(map(re.escape, FAMILIES))
_FAMILY_NAME = re.compile(r"""(==|!=|\bin)\s*[\(\[\{]?\s*["'](""" + _NAMES + r""")["']""")


def test_no_family_name_is_branched_on_outside_the_families_package():
    hits = []
    for path in PKG.rglob("*.py"):
        if "families" in path.relative_to(PKG).parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if _FAMILY_NAME.search(line):
                hits.append(f"{path.relative_to(PKG)}:{n}: {line.strip()}")
    assert not hits, "family names compared outside vramkit/families/:\n" + "\n".join(hits)


TOY = textwrap.dedent(
    '''
    """A toy family: GQA decoder with a single dense MLP, in one module."""
    from vramkit.families import Family, KvPart
    from vramkit.model.tensors import TensorSpec


    def inventory(cfg):
        d, v, n = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
        specs = [TensorSpec("embed.weight", "embed", "embed", (v, d), kind="embedding")]
        for i in range(n):
            for nm in ("q", "k", "v", "o"):
                specs.append(TensorSpec(f"l.{i}.{nm}", "attention", nm, (d, d), layer=i))
            specs.append(TensorSpec(f"l.{i}.up", "dense_mlp", "up", (4 * d, d), layer=i))
            specs.append(TensorSpec(f"l.{i}.down", "dense_mlp", "down", (d, 4 * d), layer=i))
        return tuple(specs)


    def kv_parts(cfg, include_mtp):
        heads = cfg["num_attention_heads"]
        hd = cfg["hidden_size"] // heads
        return (KvPart("full", cfg["num_hidden_layers"], "full", 1, hd, vectors=2 * heads,
                       kv_heads=heads),)


    FAMILY = Family(
        name="toyfam",
        summary="toy GQA decoder",
        model_types=("toyfam",),
        inventory=inventory,
        layer_kinds=lambda cfg: ("full_attention",) * cfg["num_hidden_layers"],
        kv_parts=kv_parts,
    )
    '''
)


@pytest.fixture
def toy_family(tmp_path):
    path = tmp_path / "toyfam.py"
    path.write_text(TOY)
    spec = importlib.util.spec_from_file_location("toyfam", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    register(module.FAMILY)
    yield module.FAMILY
    unregister("toyfam")
    sys.modules.pop("toyfam", None)


def test_a_family_from_one_module_counts_weights_and_kv(toy_family):
    cfg = {
        "model_type": "toyfam",
        "hidden_size": 64,
        "vocab_size": 1000,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 4096,
    }
    spec = model_from_config(cfg)
    assert spec.family == "toyfam"
    # embed 1000·64 + 2 layers × (4·64·64 attention + 2·256·64 MLP), BF16 = 2 bytes each
    params = 1000 * 64 + 2 * (4 * 64 * 64 + 2 * 256 * 64)
    assert spec.params.total == params
    assert weight_bytes(spec, "bf16").total_bytes == 2 * params
    # KV: T × 2 (K, V) × 4 heads × 16 dims × 2 bytes × 2 layers
    assert kv_cache(spec, 1000).total_bytes == 1000 * 2 * 4 * 16 * 2 * 2
    with pytest.raises(VramkitError, match="registered already"):
        register(Family(**{**toy_family.__dict__, "summary": "another"}))


def test_unknown_family_names_the_nearest():
    with pytest.raises(VramkitError, match="deepseek_v4"):
        get_family("deepseek_v5")
