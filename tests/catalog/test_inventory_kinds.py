"""Inventories as layer kinds (`vramkit.model.inventory`): a family builder that stamps its
blocks (`LayerStamper.repeat`) must give, expanded, exactly the tensors it gives building every
block — name, shape, layer and every other field, in the same order — and the same parameter
counts summed per kind. Checked on every published config under data/examples/ at several
layer counts (1, 2, 9, 17 and its own) and every catalog model; the stamped path must also
have stamped (fewer kinds than blocks) wherever a family has more than one block alike."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from stepped_configs import stepped

from vramkit.catalog import get_model, model_ids
from vramkit.errors import VramkitError
from vramkit.families import get_family
from vramkit.model.configfile import family_record_of, text_config
from vramkit.model.inventory import Inventory, LayerStamper, count_kind_params
from vramkit.model.tensors import TensorSpec, count_params

ROOT = Path(__file__).resolve().parents[2]


def _cases() -> list[tuple[str, object, dict]]:
    out = []
    for p in sorted((ROOT / "data" / "examples").glob("*/config.json")):
        raw = json.loads(p.read_text())
        cfg = text_config(raw)
        n = int(cfg.get("num_hidden_layers") or 0)
        for k in sorted({1, 2, 9, 17, n}):
            if k > n:
                continue
            c = stepped(cfg, k)
            with contextlib.suppress(VramkitError):
                out.append((f"{p.parent.name}-{k}", family_record_of(c), c))
    for mid in model_ids():
        m = get_model(mid)
        out.append((mid, get_family(m.family), m.config))
    return out


CASES = _cases()


def _unstamped(monkeypatch, family, config) -> tuple[TensorSpec, ...]:
    """The family's tensors with every block built (no kind reused)."""

    def build_every_block(self, layer, key):
        self._close()
        return False

    with monkeypatch.context() as mp:
        mp.setattr(LayerStamper, "repeat", build_every_block)
        return family.inventory(config)


def test_the_cases_cover_the_stamping_families():
    stamped = {f.name for _, f, _ in CASES if f.tensor_kinds is not None}
    assert {
        "llama",
        "gemma",
        "gpt_oss",
        "granite",
        "phi",
        "phi3",
        "glm4_moe",
        "deepseek_v3",
        "llama4",
        "qwen3_next",
    } <= stamped


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_stamped_inventory_equals_every_block_built(monkeypatch, case):
    _name, family, config = case
    try:
        want = _unstamped(monkeypatch, family, config)
    except VramkitError as e:
        with pytest.raises(VramkitError, match=re.escape(str(e))):
            family.kinds(config)
        return
    inv = family.kinds(config)
    assert inv.flat == want
    assert inv.size == len(want)
    assert count_kind_params(inv) == count_params(want)
    if family.tensor_kinds is not None:
        layered = [layer for _, layer in inv.blocks if layer is not None]
        text_blocks = int(config.get("num_hidden_layers") or 0)
        if text_blocks > 2:  # stamped: fewer kinds of block than blocks
            assert len({k for k, layer in inv.blocks if layer is not None}) < len(layered)


def test_a_flat_inventory_as_runs_round_trips():
    """`Inventory.of` (families that do not stamp): each run of one layer a kind, in order."""
    m = get_model("deepseek-v4-flash")
    flat = get_family(m.family).inventory(m.config)
    inv = Inventory.of(flat)
    assert inv.flat == flat
    assert count_kind_params(inv) == count_params(flat)


def test_a_block_whose_names_lack_its_layer_is_not_stamped():
    """A tensor named without ``.{layer}.`` cannot be renamed for another block: every block of
    that key is then built as it is (the names stay the builder's own)."""
    st = LayerStamper()
    for i in range(3):
        if st.repeat(i, ()):
            continue
        st.add("shared.weight", "attention", "q", (4, 4), layer=i)
    inv = st.inventory()
    assert [t.name for t in inv.flat] == ["shared.weight"] * 3
    assert [t.layer for t in inv.flat] == [0, 1, 2]
    assert len(inv.kinds) == 3


def test_stamped_names_change_only_the_layer_number():
    st = LayerStamper()
    st.add("embed", "embed", "embed", (8, 4), kind="embedding")
    for i in range(12):
        if st.repeat(i, i % 2):
            continue
        st.add(f"model.layers.{i}.w", "attention", "q", (4, 4 + i % 2), layer=i)
    st.add("norm", "norms", "final_norm", (4,), kind="vector")
    inv = st.inventory()
    assert [t.name for t in inv.flat] == (
        ["embed"] + [f"model.layers.{i}.w" for i in range(12)] + ["norm"]
    )
    assert [t.shape for t in inv.flat[1:-1]] == [(4, 4 + i % 2) for i in range(12)]
    assert len(inv.kinds) == 4  # embed, two kinds of block, norm
    assert inv.kind_counts == (1, 6, 6, 1)
