"""Granite (dense, MoE) and Phi-1.5 / Phi-2: counted from config.json, pinned to published
parameter counts and checkpoint sizes (sources in data/examples/README.md, "Granite and Phi").

Every expected number is a published figure or arithmetic written out here:
- microsoft/phi-2 model.safetensors.index.json ``"total_size": 5559367680`` (the FP16 checkpoint;
  quoted with the config in neobundy/Deep-Dive-Into-AI-With-MLX-PyTorch,
  book/013-tenny-the-transformer/README.md);
- microsoft/phi-1_5 Hub metadata ``safetensors_total_params: 1418270720``;
- ibm-granite/granite-3.1-2b-instruct 2,533,531,648 parameters (a Hub manifest at revision
  bbc2aed595; the same count for granite-guardian-3.1-2b, same architecture);
- ibm-granite/granite-3.1-1b-a400m-instruct at revision 0da7a48b: ``parameters == 1334628352``
  (sum of model.parameters() after from_pretrained, tied head; NVIDIA harness);
- TheBloke/phi-2-GGUF README: ``phi-2.Q8_0.gguf | Q8_0 | 8 | 2.96 GB``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.families import family_of_model_type, gguf_model_types
from vramkit.kv import kv_cache
from vramkit.model.configfile import model_from_config, model_from_config_file, read_config
from vramkit.quant import get_recipe, weight_bytes

EX = Path(__file__).resolve().parents[2] / "data" / "examples"
PHI2 = EX / "phi-2" / "config.json"
GRANITE_2B = EX / "granite-3.1-2b-instruct" / "config.json"
GRANITE_MOE = EX / "granite-3.1-1b-a400m-instruct" / "config.json"


def _bytes(m, recipe: str | None = None) -> int:
    return weight_bytes(m, get_recipe(recipe or m.checkpoint_layout)).total_bytes


def test_phi2_checkpoint_bytes_match_the_published_index():
    m = model_from_config_file(PHI2)
    assert m.family == "phi"
    assert m.checkpoint_layout == "uniform:FP16"
    assert _bytes(m) == 5_559_367_680
    assert m.params.total == 5_559_367_680 // 2  # every tensor FP16


def test_phi2_tensors_by_hand():
    # per layer: q, k, v, dense 2560x2560 + bias; fc1 10240x2560 + 10240; fc2 2560x10240 + 2560;
    # input_layernorm weight + bias. Then the final LayerNorm (w + b) and a biased untied head.
    p = model_from_config_file(PHI2).params
    layer = 4 * (2560 * 2560 + 2560) + (10240 * 2560 + 10240) + (2560 * 10240 + 2560) + 2 * 2560
    assert layer == 78_671_360
    assert p.by_group["lm_head"] == 51200 * 2560 + 51200
    assert p.total == 51200 * 2560 + 32 * layer + 2 * 2560 + 51200 * 2560 + 51200


def test_phi_1_5_matches_the_hub_parameter_count():
    # Phi-1.5: hidden 2048, 24 layers, 32 heads, intermediate 4 x 2048, vocab 51200 ("Phi(
    # hidden_size=2048, n_heads=32, dropout=0.0, n_blocks=24, vocab_size=51200)" with the count
    # 1418270720 printed beside it; Hub metadata safetensors_total_params: 1418270720)
    cfg = {**read_config(PHI2), "hidden_size": 2048, "intermediate_size": 8192,
           "num_hidden_layers": 24, "num_key_value_heads": 32, "partial_rotary_factor": 0.5}  # fmt: skip
    assert model_from_config(cfg).params.total == 1_418_270_720


def test_phi2_q8_0_gguf_matches_thebloke_within_rounding():
    # 2.96 GB (GB = 1e9, two decimals): tensors alone must land within the rounding and the
    # header (vocabulary, metadata: a few MB)
    gb = _bytes(model_from_config_file(PHI2), "gguf-Q8_0") / 1e9
    assert 2.955 - 0.01 <= gb <= 2.965


def test_phi2_kv_is_full_mha_of_head_dim_80():
    # 32 layers x 2 (K, V) x 32 heads x 80 (= 2560 / 32) values per token at phi-2's limit of
    # 2048 tokens (max_position_embeddings); partial RoPE changes nothing
    assert kv_cache(model_from_config_file(PHI2), 2048).by_kind == {"full": 32 * 2 * 32 * 80 * 2048
                                                                    * 2}  # fmt: skip


def test_phi_qk_layernorm_adds_two_layernorms_of_head_dim():
    base = model_from_config_file(PHI2).params.total
    qk = model_from_config({**read_config(PHI2), "qk_layernorm": True}).params.total
    assert qk - base == 32 * 2 * 2 * 80  # q and k LayerNorm, weight + bias, head_dim 80


def test_granite_2b_matches_the_published_parameter_count():
    m = model_from_config_file(GRANITE_2B)
    assert m.family == "granite"
    assert m.params.total == 2_533_531_648
    assert _bytes(m) == 2 * 2_533_531_648  # BF16
    # by hand: tied embedding 49155 x 2048; per layer q/o 2048^2, k/v 512 x 2048, three MLP
    # matrices 8192 x 2048, two RMSNorms
    layer = 2 * 2048 * 2048 + 2 * 512 * 2048 + 3 * 8192 * 2048 + 2 * 2048
    assert m.params.total == 49155 * 2048 + 40 * layer + 2048


def test_granite_multipliers_change_no_size():
    cfg = read_config(GRANITE_2B)
    plain = {k: v for k, v in cfg.items() if not k.endswith(("_multiplier", "_scaling"))}
    a, b = model_from_config(cfg), model_from_config(plain)
    assert a.params.total == b.params.total
    assert kv_cache(a, 8192).total_bytes == kv_cache(b, 8192).total_bytes


def test_granite_biases_follow_attention_bias_and_mlp_bias():
    # GraniteAttention q/k/v/o and GraniteMLP gate/up/down take bias=config.attention_bias /
    # config.mlp_bias
    cfg = read_config(GRANITE_2B)
    base = model_from_config(cfg).params.total
    attn = model_from_config({**cfg, "attention_bias": True}).params.total
    mlp = model_from_config({**cfg, "mlp_bias": True}).params.total
    assert attn - base == 40 * (2048 + 512 + 512 + 2048)
    assert mlp - base == 40 * (8192 + 8192 + 2048)


def test_granite_ignores_head_dim_like_transformers_and_llama_cpp():
    # GraniteAttention: head_dim = hidden_size // num_heads; the converter drops head_dim
    cfg = read_config(GRANITE_2B)
    assert (model_from_config({**cfg, "head_dim": 128}).params.total
            == model_from_config(cfg).params.total)  # fmt: skip


def test_granite_kv_by_hand():
    # 40 layers x 2 x 8 KV heads x 64 (2048 / 32) values, BF16 -> 2 bytes
    assert (
        kv_cache(model_from_config_file(GRANITE_2B), 1000).total_bytes == 40 * 2 * 8 * 64 * 1000 * 2
    )


def test_granite_moe_matches_the_loaded_checkpoint():
    m = model_from_config_file(GRANITE_MOE)
    assert m.params.total == 1_334_628_352
    # experts by hand: 32 x (input_linear 1024 x 1024 (gate + up of 512) + output_linear
    # 1024 x 512) per layer; 8 of 32 per token
    routed = m.params.by_group["routed_experts_gate_up"] + m.params.by_group["routed_experts_down"]
    assert routed == 24 * 32 * (2 * 512 * 1024 + 1024 * 512)
    assert m.params.by_group["router"] == 24 * 32 * 1024
    assert m.params.total - m.params.active == routed * 24 // 32


def test_granite_moe_shared_expert():
    cfg = {**read_config(GRANITE_MOE), "model_type": "granitemoeshared",
           "shared_intermediate_size": 1024}  # fmt: skip
    p = model_from_config(cfg).params
    assert p.by_group["shared_experts"] == 24 * 3 * 1024 * 1024
    assert p.total == 1_334_628_352 + 24 * 3 * 1024 * 1024


def test_names_route_to_the_new_families():
    for t in ("granite", "granitemoe", "granitemoeshared", "granitemoehybrid"):
        assert family_of_model_type(t).name == "granite"
    assert family_of_model_type("phi").name == "phi"
    archs = gguf_model_types()
    assert archs["granite"] == "granite"
    assert archs["granitemoe"] == "granitemoe"
    assert archs["phi2"] == "phi"


@pytest.mark.parametrize(
    ("path", "edit", "words"),
    [
        (GRANITE_2B, {"num_attention_heads": 24}, "multiple of num_attention_heads"),
        (GRANITE_2B, {"num_key_value_heads": 0}, "num_key_value_heads"),
        (GRANITE_MOE, {"num_local_experts": None}, "num_local_experts"),
        (GRANITE_MOE, {"num_experts_per_tok": None}, "num_experts_per_tok"),
        (PHI2, {"hidden_size": 2561}, "multiple of num_attention_heads"),
        (PHI2, {"intermediate_size": 0}, "intermediate_size"),
    ],
)
def test_bad_configs_are_refused_clearly(path, edit, words):
    with pytest.raises(VramkitError, match=words):
        model_from_config({**read_config(path), **edit})


@pytest.mark.parametrize("path", [PHI2, GRANITE_2B, GRANITE_MOE], ids=lambda p: p.parent.name)
def test_cli_weights_and_kv_from_config(path, capsys):
    assert main(["weights", "--config", str(path)]) == 0
    # 2048: within each model's max_position_embeddings (phi-2: 2048), which kv enforces
    assert main(["kv", "--config", str(path), "--context", "2048"]) == 0
    out = capsys.readouterr().out
    assert "TOTAL" in out


def _granite4(size: str) -> dict:
    # attention-only Granite 4.0 (model_type granitemoehybrid): the full-size presets of a Granite
    # 4 port (code-index id 56628895354: vocab_size 100352, "4.0-micro": hidden 2560, 40 layers,
    # 40 heads, 8 KV heads, shared_intermediate_size 8192, "layer_types": ["attention"] * 40;
    # "4.0-1b": hidden 2048, 16 heads, 4 KV heads, 4096); tied embeddings. Their
    # "num_local_experts": 0, "num_experts_per_tok": 0 are left out: vramkit's config rules refuse
    # a zero top-k (vramkit.validate), and no expert is what an absent field means here too
    hidden, heads, kv, inter = {"micro": (2560, 40, 8, 8192), "1b": (2048, 16, 4, 4096)}[size]
    return {"model_type": "granitemoehybrid", "vocab_size": 100352, "hidden_size": hidden,
            "num_hidden_layers": 40, "num_attention_heads": heads, "num_key_value_heads": kv,
            "intermediate_size": inter, "shared_intermediate_size": inter,
            "layer_types": ["attention"] * 40, "tie_word_embeddings": True,
            "torch_dtype": "bfloat16"}  # fmt: skip


@pytest.mark.parametrize(
    ("size", "published"),
    # ibm-granite/granite-4.0-micro params=3402836480 (revision 56111ae1) and granite-4.0-1b
    # params=1631750144 (revision 6a7381ba), "GraniteMoeHybridForCausalLM" (code-index id
    # 68688959620)
    [("micro", 3_402_836_480), ("1b", 1_631_750_144)],
)
def test_attention_only_granite_4_matches_the_published_counts(size, published):
    m = model_from_config(_granite4(size))
    assert m.params.total == published
    assert m.params.by_group["routed_experts_gate_up"] == 0
    assert (
        m.params.by_group["dense_mlp"]
        == 40 * 3 * m.config["shared_intermediate_size"] * (m.config["hidden_size"])
    )


def test_granite_4_with_mamba_layers_is_refused():
    cfg = _granite4("micro")
    cfg["layer_types"] = (["mamba"] * 5 + ["attention"]) * 6 + ["mamba"] * 4  # 34 mamba
    with pytest.raises(VramkitError, match=r"34 of 40 layers are \['mamba'\]"):
        model_from_config(cfg)
    with pytest.raises(VramkitError, match="needs layer_types"):
        model_from_config({k: v for k, v in cfg.items() if k != "layer_types"})


@pytest.mark.parametrize(
    "example",
    [
        "phi-2",
        "granite-3.1-2b-instruct",
        "granite-3.1-1b-a400m-instruct",
        "mistral-small-3.1-24b-instruct-2503",
        "llava-1.5-7b-hf",
    ],
)
def test_inventory_names_fall_in_the_groups_a_checkpoint_header_is_read_into(example):
    # vramkit.ingest reads a real checkpoint's tensor names into groups (names.group_of); the
    # inventory's names (one expert standing for {e}, a fused tensor's part for [gate]/[up])
    # must land in the inventory's own group, or a measured breakdown would not line up
    from vramkit.ingest.names import group_of

    m = model_from_config_file(EX / example / "config.json")
    for t in m.inventory:
        name = t.name.replace("{e}", "0").split("[")[0]
        assert group_of(name, main_layers=m.num_layers) == t.group, t.name
