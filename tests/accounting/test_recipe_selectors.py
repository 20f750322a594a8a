"""--recipe-map selectors: by rank (1d/2d/3d), role, GGUF or checkpoint name pattern; misspelled
selectors are errors that list what is allowed."""

from __future__ import annotations

import math

import pytest

from vramkit.catalog import get_model
from vramkit.cli import main
from vramkit.datafiles import DATA_DIR
from vramkit.errors import VramkitError
from vramkit.model.configfile import model_from_config_file
from vramkit.quant import custom_recipe, gguf_rank, tensor_formats, weight_bytes

FLASH = get_model("deepseek-v4-flash")
GPT_OSS = model_from_config_file(DATA_DIR / "examples" / "gpt-oss-120b" / "config.json")


def _types(model, recipe):
    return [(t, f.name) for t, f in tensor_formats(model, recipe)]


def test_vectors_selector_expresses_gguf_f32_vectors():
    # gpt-oss GGUFs keep 1-D tensors (norms, biases, sinks) in F32 while the checkpoint has BF16:
    # "vectors=F32" (= "1d=F32") stores exactly the 1-D elements at 4 bytes instead of 2
    base = weight_bytes(GPT_OSS, "routed_experts=MXFP4,*=BF16")
    f32 = weight_bytes(GPT_OSS, "routed_experts=MXFP4,vectors=F32,*=BF16")
    ones = sum(t.params for t in GPT_OSS.inventory if gguf_rank(t) == 1)
    assert ones > 0
    assert f32.total_bytes - base.total_bytes == ones * (4 - 2)
    same = weight_bytes(GPT_OSS, "routed_experts=MXFP4,1d=F32,*=BF16")
    assert same.total_bytes == f32.total_bytes


def test_rank_selectors_count_routed_experts_as_3d():
    # GGUF stacks a layer's routed experts into one [in, out, n_expert] tensor: rank 3
    types = _types(FLASH, "3d=Q4_K,2d=Q8_0,1d=F32")
    for t, name in types:
        if t.kind == "table":  # integer tables only take selectors that name them
            assert name == "I64"
            continue
        want = {3: "Q4_K", 2: "Q8_0", 1: "FP32"}[gguf_rank(t)]
        assert name == want, t.name
    assert {gguf_rank(t) for t, _ in types} == {1, 2, 3}


def test_role_and_group_role_reach_vectors_broad_selectors_do_not():
    types = {t.name: n for t, n in _types(FLASH, "role:hc_fn=F16,*=Q8_0")}
    assert types["layers.0.hc_attn_fn"] == "FP16"
    assert types["layers.0.hc_attn_base"] == "FP32"  # native; "*" reaches matrices only
    assert types["layers.0.attn_norm"] == "BF16"
    # role:hc_fn = 2 per layer (attn, ffn) × 44 blocks (43 + MTP) × [24, 16384] at 2 bytes
    w = weight_bytes(FLASH, "role:hc_fn=F16,*=Q8_0")
    assert w.by_format["FP16"] == 2 * 44 * 24 * 16384 * 2


def test_name_globs_match_gguf_and_checkpoint_names():
    by_gguf = weight_bytes(FLASH, "name:blk.*.hc_*_fn.weight=F16,*=Q8_0")
    by_ckpt = weight_bytes(FLASH, "name:layers.*.hc_*_fn=F16,*=Q8_0")
    # 43 main blocks + the MTP block (llama.cpp names it blk.43 when it exports it)
    assert by_gguf.by_format["FP16"] == 2 * 44 * 24 * 16384 * 2
    # checkpoint names: the MTP block is "mtp.0.hc_attn_fn", outside "layers.*"
    assert by_ckpt.by_format["FP16"] == 2 * 43 * 24 * 16384 * 2


def test_precedence_name_role_group_role_group_rank_star():
    r = custom_recipe(
        {
            "name:layers.1.attn.wq_a": "Q2_K",
            "role:wq_a": "Q3_K",
            "attention.wq_b": "Q5_K",
            "attention": "Q6_K",
            "2d": "Q4_0",
            "*": "Q8_0",
        }
    )
    t = {x.name: n for x, n in _types(FLASH, r)}
    assert t["layers.1.attn.wq_a"] == "Q2_K"  # name beats role
    assert t["layers.0.attn.wq_a"] == "Q3_K"  # role beats group
    assert t["layers.0.attn.wq_b"] == "Q5_K"  # group.role beats group
    assert t["layers.0.attn.wkv"] == "Q6_K"  # group beats rank
    assert t["layers.0.ffn.shared_experts.w1"] == "Q4_0"  # rank beats *
    assert t["embed.weight"] == "Q4_0"


def test_tables_take_only_selectors_that_name_them():
    t = {x.role: n for x, n in _types(FLASH, "router.tid2eid=I32,*=Q8_0")}
    assert t["tid2eid"] == "I32"
    assert {x.role: n for x, n in _types(FLASH, "*=Q8_0")}["tid2eid"] == "I64"


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ("role:hc_fnn=F16", "its roles are: .*hc_fn"),
        ("attention.wq_c=Q8_0", "roles of group 'attention': .*wq_a"),
        ("name:blk.*.nothing*=F16", "matches no tensor name"),
        ("atention=Q8_0", "not a tensor group. Selectors: .*role:ROLE.*name:GLOB.*1d"),
        ("4d=F16", "not a tensor group"),
        ("role:=F16", "needs a value after the colon"),
    ],
)
def test_misspelled_selectors_are_errors_naming_what_is_allowed(recipe, message):
    with pytest.raises(VramkitError, match=message):
        weight_bytes(FLASH, recipe)


def test_cli_recipe_map_with_new_selectors(capsys):
    assert main(["weights", "--model", "deepseek-v4-flash", "--recipe-map", "3d=Q4_K,*=Q8_0"]) == 0
    assert "TOTAL" in capsys.readouterr().out
    assert main(["weights", "--model", "deepseek-v4-flash", "--recipe-map", "role:nope=F16"]) != 0
    assert "its roles are" in capsys.readouterr().err


def test_rank_is_the_gguf_rank():
    ranks = {t.role: gguf_rank(t) for t in FLASH.inventory}
    assert ranks["attn_norm"] == 1
    assert ranks["hc_fn"] == 2
    assert ranks["wq_a"] == 2
    assert ranks["tid2eid"] == 2
    assert ranks["gate"] == 3 or ranks["gate"] == 2  # router gate [256, 4096] vs expert gate
    experts = [t for t in FLASH.inventory if t.experts_per_token]
    assert all(gguf_rank(t) == 3 for t in experts)
    assert math.prod(experts[0].shape) * experts[0].count == experts[0].params
