"""The grouped llama.cpp mix (`vramkit.quant.llamacpp`: one pass per layer kind) against the
per-tensor pass (`mix.target_types` over every GGUF tensor in llama.cpp's order), which it
must equal type for type and byte for byte.

Models: every published config.json under data/examples/ with its layer count stepped (so the
layer-position rules — use_more_bits, n/8, n/16, 7n/8 — fall on different blocks), and the
catalog's models; file types covering every branch family of ``llama_tensor_get_type``
(Q4_K_M / Q5_K_M attn_v + ffn_down use_more_bits, Q3_K_M's first two attn_v, Q4_K_S's first
four, the low-bit IQ branch's ffn_down counter, IQ3_XS's ffn_gate/up middle, MXFP4_MOE, COPY,
F16, imatrix variants). The dump in benchmarks/README.md (fifth pass) compares more: the
sweep's configs and 25 recipes, before and after the rework."""

from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path

import pytest
from stepped_configs import stepped

from vramkit.catalog import get_model, model_ids
from vramkit.errors import VramkitError
from vramkit.model.configfile import model_from_config, text_config
from vramkit.model.inventory import Inventory
from vramkit.plan import layers
from vramkit.quant import (
    _llamacpp_formats_per_tensor,
    _llamacpp_groups,
    get_recipe,
    tensor_formats,
    weight_bytes,
)
from vramkit.quant import llamacpp as grouped
from vramkit.runtimes.llamacpp import mix

ROOT = Path(__file__).resolve().parents[2]
FTYPES = (
    "gguf-Q4_K_M", "gguf-Q5_K_M", "gguf-Q3_K_M", "gguf-Q4_K_S", "gguf-Q2_K_S", "gguf-IQ2_XXS",
    "gguf-IQ1_S", "gguf-IQ3_XS", "gguf-IQ3_M", "gguf-IQ3_XXS+no-imatrix", "gguf-IQ4_XS",
    "gguf-Q4_0+imatrix", "gguf-Q6_K", "gguf-MXFP4_MOE", "gguf-COPY", "gguf-F16",
)  # fmt: skip


def _models() -> list:
    out = []
    for p in sorted((ROOT / "data" / "examples").glob("*/config.json")):
        cfg = text_config(json.loads(p.read_text()))
        n = int(cfg.get("num_hidden_layers") or 0)
        for k in sorted({n, 17, 9}):  # n/8, n/16, 7n/8 fall on other blocks
            if k > n:
                continue
            with contextlib.suppress(VramkitError):  # configs vramkit refuses are left out
                out.append(model_from_config(stepped(cfg, k), name=f"{p.parent.name}-{k}"))
    return out + [get_model(m) for m in model_ids()]


MODELS = _models()


def _reference_weight(model, recipe):
    """Σ count × bytes(format, shape) by group and format over the per-tensor list, formats in
    first-seen order: the definition `weight_bytes` states, written out here."""
    by_format: dict[str, int] = {}
    total = main = params = 0
    for t, fmt in _llamacpp_formats_per_tensor(model, recipe.ftype, recipe.imatrix):
        if t.mtp and not recipe.include_mtp:
            continue
        b = t.count * fmt.tensor_bytes(t.shape)
        by_format[fmt.name] = by_format.get(fmt.name, 0) + b
        total += b
        params += t.count * math.prod(t.shape)
        main += 0 if t.mtp else b
    return total, main, list(by_format.items()), params


@pytest.mark.parametrize("rid", FTYPES)
def test_grouped_equals_per_tensor(rid):
    recipe = get_recipe(rid)
    grouped_models = 0
    for m in MODELS:
        try:
            ref = _llamacpp_formats_per_tensor(m, recipe.ftype, recipe.imatrix)
        except VramkitError:
            with pytest.raises(VramkitError):
                tensor_formats(m, recipe)
            continue
        grouped_models += _llamacpp_groups(m, recipe.ftype, recipe.imatrix) is not None
        got = tensor_formats(m, recipe)
        assert [(t, f.name) for t, f in got] == [(t, f.name) for t, f in ref], (m.id, rid)
        wb = weight_bytes(m, recipe)
        total, main, by_format, params = _reference_weight(m, recipe)
        assert (wb.total_bytes, wb.main_bytes, list(wb.by_format.items()), wb.total_params) == (
            total, main, by_format, params,
        ), (m.id, rid)  # fmt: skip
    assert grouped_models >= len(MODELS) * 0.9  # the grouped path answered, not the fallback


def test_layer_costs_grouped_equal_per_tensor(monkeypatch):
    """`layer_costs` over the groups equals the per-tensor pass (the groups switched off)."""
    pairs = [(m, get_recipe(r)) for m in MODELS[::3] for r in ("gguf-Q4_K_M", "gguf-IQ2_XXS")]
    fast = []
    for m, r in pairs:
        try:
            fast.append(layers._costs(m, r))
        except VramkitError as e:
            fast.append(str(e))
    monkeypatch.setattr(layers, "llamacpp_format_groups", lambda model, recipe: None)
    for (m, r), got in zip(pairs, fast, strict=True):
        if isinstance(got, str):
            with pytest.raises(VramkitError, match=re.escape(got)):
                layers._costs(m, r)
            continue
        want = layers._costs(m, r)
        assert got == want, (m.id, r.id)
        assert got.names == want.names


def test_cuda_weight_shapes_grouped_equal_per_tensor():
    """CUDA's row padding and largest matrices per layer (`cuda.weight_shapes`) read from the
    groups equal the same figures summed over the per-tensor list."""
    from vramkit.runtimes.llamacpp import cuda

    checked = 0
    for m in MODELS[::2]:
        for rid in ("gguf-Q4_K_M", "gguf-Q8_0", "gguf-IQ2_XXS", "gguf-MXFP4_MOE"):
            try:
                want = cuda.weight_shapes(m, rid, grouped=False)
            except VramkitError:
                continue
            assert cuda.weight_shapes(m, rid) == want, (m.id, rid)
            r = get_recipe(rid)
            checked += _llamacpp_groups(m, r.ftype, r.imatrix) is not None
    assert checked >= len(MODELS[::2]) * 3  # the groups answered, not the per-tensor list


def test_positions_group_layers_by_decision():
    """A dense 32-block model: each block has one attn_v and one ffn_down, so both counters
    equal the block number i (n_attention_wv = n_layer = 32: n/16 = 2, n/8 = 4, 7n/8 = 28).
    The blocks stand in five ways: 0-1 (i < 2, i < n/16), 2-3 (i < 4, i < n/8), 28-31
    (i >= 7n/8), and between them use_more_bits's every third, (i - 4) % 3 == 2 (6, 9, …, 27:
    8 blocks) or not (16 blocks). Q4_K_M gives attn_v and ffn_down Q6_K where use_more_bits
    holds (L452, L583, L650): blocks 0-3, 28-31 and the 8 — and only there."""
    cfg = json.loads((ROOT / "data" / "examples" / "llama-2-13b" / "config.json").read_text())
    m = model_from_config(stepped(text_config(cfg), 32), name="llama-32")
    third = [i for i in range(4, 28) if (i - 4) % 3 == 2]
    more = [0, 1, 2, 3, *third, 28, 29, 30, 31]
    assert more == [i for i in range(32) if mix.use_more_bits(i, 32)]
    _lay, _types, groups = _llamacpp_groups(m, "Q4_K_M", None)
    blocks = sorted((list(g.layers) for g in groups if g.layers), key=lambda b: b[0])
    rest = [i for i in range(4, 28) if i not in third]
    assert blocks == sorted([[0, 1], [2, 3], third, rest, [28, 29, 30, 31]], key=lambda b: b[0])
    q6 = sorted(i for g in groups for i in g.layers if any(f.name == "Q6_K" for _t, f in g.rows))
    assert q6 == more
    for g in groups:
        if g.layers:
            kinds = {
                t.gguf_class: f.name for t, f in g.rows if t.gguf_class in ("attn_v", "ffn_down")
            }
            want = "Q6_K" if g.layers[0] in more else "Q4_K"
            assert kinds == {"attn_v": want, "ffn_down": want}


def test_ungroupable_layout_falls_back():
    """A global tensor whose GGUF name reads as a block's (``blk.3.…`` without a layer) is
    not grouped: `build_layout` refuses it, and the per-tensor pass answers."""
    from vramkit.model.tensors import TensorSpec

    t = TensorSpec("odd", "attention", "blk.3.odd", (256, 256))
    m = get_model("llama-2-13b")
    facts = mix.ModelFacts("llama", 1)
    with pytest.raises(grouped.Ungroupable):
        grouped.build_layout(m, Inventory.of((t,)), False, [""], facts, _NoSplit(), ())


class _NoSplit:
    @staticmethod
    def gguf_split(config, t):
        return None


def test_checkpoint_types_per_kind_equal_the_official_layout_per_tensor():
    """Where the converter keeps checkpoint types (DeepSeek V4, gpt-oss), `_checkpoint_types`
    types each layer kind once: the same names, tensor for tensor, as the official layout's
    `tensor_formats` over the flat inventory."""
    from vramkit.quant import _checkpoint_types
    from vramkit.runtimes.llamacpp.ftypes import MXFP4_REPACK_ARCHS

    checked = 0
    for m in MODELS:
        if mix_arch(m) not in MXFP4_REPACK_ARCHS:
            continue
        official = get_recipe(m.checkpoint_layout)
        if official.kind == "llamacpp":
            continue
        want = [f.name for _, f in tensor_formats(m, official)]
        assert _checkpoint_types(m) == want, m.id
        checked += 1
    assert checked >= 4  # gpt-oss 20b / 120b at three layer counts, the V4 catalog models


def mix_arch(m) -> str:
    from vramkit.quant import model_facts

    return model_facts(m).arch
