"""Bare published config.json files through `weights --config` and `kv --config` (issue 23,
item 4): every family the catalog reads, from a file as its publisher wrote it.

A bare DeepSeek-V3 config was refused ("selector 'indexer.weights_proj' matches no tensor"):
the FP8 layout read from its quantization_config named the V3.2 indexer's weights_proj, and a
selector that matches no tensor is refused. Sources of the files: data/examples/README.md and
published_configs/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vramkit.catalog import get_model, models
from vramkit.cli import main
from vramkit.datafiles import DATA_DIR
from vramkit.families import FAMILIES
from vramkit.model.configfile import family_of, read_config, stored_layout, text_config

HERE = Path(__file__).parent / "published_configs"
PUBLISHED = sorted(DATA_DIR.glob("examples/*/config.json")) + sorted(HERE.glob("*.json"))


def _run(capsys, *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", PUBLISHED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_published_config_reads(path, capsys):
    w = _run(capsys, "weights", "--config", str(path))
    assert w["total_bytes"] > 0
    assert w["total_params"] > 0
    # 2K: within every published model's max_position_embeddings (phi-2: 2048), which `kv`
    # refuses to pass without --allow-extrapolation
    kv = _run(capsys, "kv", "--config", str(path), "--context", "2K")
    assert kv["total_bytes"] > 0


def test_every_family_has_a_bare_config():
    """Every registered family is read from at least one bare config: a published file here, or
    (DeepSeek V4, Gemma 4: no byte-for-byte copy was found) its catalog record written out as
    config.json by `test_catalog_config_as_bare_file`."""
    from_files = {family_of(text_config(read_config(p))) for p in PUBLISHED}
    from_catalog = {m.family for m in models().values()}
    assert from_files | from_catalog == set(FAMILIES)
    assert {"deepseek_v3", "gemma", "gpt_oss", "phi3", "llama", "llama4"} <= from_files


@pytest.mark.parametrize("model_id", sorted(models()))
def test_catalog_config_as_bare_file(model_id, tmp_path, capsys):
    """The catalog record's config written as a config.json reads like the record itself: the
    same parameters, and the same bytes where the record's layout is confirmed by its source
    (the *-base models' layout is a labelled hypothesis the config cannot state)."""
    m = get_model(model_id)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dict(m.config), default=list))
    bare = _run(capsys, "weights", "--config", str(path))
    record = _run(capsys, "weights", "--model", model_id)
    assert bare["total_params"] == record["total_params"]
    if m.checkpoint.status != "hypothesis":
        assert bare["total_bytes"] == record["total_bytes"]


def test_deepseek_v3_published_config_is_the_catalog_checkpoint(capsys):
    cfg = text_config(read_config(HERE / "deepseek-v3.json"))
    # FP8 e4m3 with F32 128x128 scales, router / embedding / head BF16; no indexer in V3
    assert stored_layout(cfg) == "*=FP8_B128_F32,router=BF16,embed=BF16,lm_head=BF16"
    w = _run(capsys, "weights", "--config", str(HERE / "deepseek-v3.json"))
    # data/models.yaml deepseek-v3: "~688.5 GB FP8 (a reconstruction gives 688.47-688.57 GB)"
    assert 688.47e9 <= w["total_bytes"] <= 688.57e9
    assert w["total_bytes"] == _run(capsys, "weights", "--model", "deepseek-v3")["total_bytes"]


def test_deepseek_v32_keeps_its_indexer_selector():
    cfg = dict(get_model("deepseek-v3.2").config)
    assert stored_layout(cfg).endswith(",indexer.weights_proj=BF16")
