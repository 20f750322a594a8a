"""Gemma 2/3 (+ SigLIP vision), Phi-3, DeepSeek-V2-Lite, OLMoE, Mistral, Qwen-MoE: counted from
their config.json and pinned to the real checkpoint sizes.

Configs: data/examples/<model>/config.json; every expected number below is a published figure
(sources in data/examples/README.md and docs/research/families_i14b.md):
- ``total_size`` of the model's model.safetensors.index.json (bytes of the 16-bit checkpoint);
- ``params`` of keras-hub's presets (keras-team/keras-hub@71453d08,
  keras_hub/src/models/*/*_presets.py), an independent implementation of the same models.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vramkit.errors import VramkitError
from vramkit.kv import kv_cache
from vramkit.model.configfile import model_from_config, model_from_config_file, read_config
from vramkit.quant import get_recipe, weight_bytes

EX = Path(__file__).resolve().parents[2] / "data" / "examples"


def _model(name: str):
    return model_from_config_file(EX / name / "config.json")


def _checkpoint_bytes(name: str) -> int:
    m = _model(name)
    return weight_bytes(m, get_recipe(m.checkpoint_layout)).total_bytes


# (example, published total_size in bytes, published parameter count); None = not published
CASES = [
    # medgemma-27b-it index (mirror Ibtasam-98/medgemma-27b-it@2488902): "total_size":
    # 54864813280; keras-hub medgemma_instruct_27b "params": 27432406640 (text + vision)
    ("medgemma-27b-it", 54_864_813_280, 27_432_406_640),
    # google/gemma-2-2b-it index "total_size": 5228683776; keras-hub gemma2_instruct_2b_en
    ("gemma-2-2b-it", 5_228_683_776, 2_614_341_888),
    # microsoft/Phi-3-mini-4k-instruct index total_size 7642159104; keras-hub phi3_mini_4k
    ("phi-3-mini-4k-instruct", 7_642_159_104, 3_821_079_552),
    # deepseek-ai/DeepSeek-V2-Lite index "total_size: 31412968448"
    ("deepseek-v2-lite", 31_412_968_448, None),
    # allenai/OLMoE-1B-7B-0924 checkpoint bytes 13838323712
    ("olmoe-1b-7b-0924", 13_838_323_712, None),
    # mistralai/Mistral-7B-v0.3 index "total_size": 14496047104; keras-hub mistral_0.3_7b
    ("mistral-7b-v0.3", 14_496_047_104, 7_248_023_552),
    # Mistral-Small-24B architecture: keras-hub magistral_small_2506_en "params": 23572403200
    ("mistral-small-24b", None, 23_572_403_200),
    # Qwen/Qwen1.5-MoE-A2.7B index total_size 28631568384; keras-hub qwen1.5_moe_2.7b_en
    ("qwen1.5-moe-a2.7b", 28_631_568_384, 14_315_784_192),
    # Gemma 1 2B: keras-hub gemma_2b_en "params": 2506172416 (tied embedding)
    ("gemma-2b", None, 2_506_172_416),
    # keras-hub qwen3_moe_30b_a3b_en / qwen3_moe_235b_a22b_en "params"
    ("qwen3-30b-a3b", None, 30_532_122_624),
    ("qwen3-235b-a22b", None, 235_093_634_560),
]


@pytest.mark.parametrize(("name", "total_size", "params"), CASES, ids=[c[0] for c in CASES])
def test_checkpoint_bytes_and_params_match_the_published_figures(name, total_size, params):
    m = _model(name)
    if params is not None:
        assert m.params.total == params
    if total_size is not None:
        assert _checkpoint_bytes(name) == total_size


def test_gemma3_vision_tower_by_hand():
    # SigLIP so400m tower of Gemma 3 (vision_config: hidden 1152, intermediate 4304, 27 layers,
    # patch 14, image 896): per layer 4*(1152^2 + 1152) + (4304*1152 + 4304) + (1152*4304 + 1152)
    # + 4*1152 = 15,239,504; patch conv 1152*3*14*14 + 1152; positions (896/14)^2 * 1152;
    # post_layernorm 2*1152; projector 1152*5376 + 1152.
    p = _model("medgemma-27b-it").params
    vision = 27 * 15_239_504 + 678_528 + 4_096 * 1_152 + 2_304 + 1_152 * 5_376 + 1_152
    assert p.by_group["vision"] == vision == 423_060_336
    # the text model alone is keras-hub's medgemma_instruct_27b_text count (27,009,002,240) plus
    # the 64 extra vocabulary rows of the multimodal checkpoint (262,208 vs 262,144) x 5376
    assert p.total - vision == 27_009_002_240 + 64 * 5_376


def test_gemma3_text_only_config_counts_no_vision():
    cfg = read_config(EX / "medgemma-27b-it" / "config.json")["text_config"]
    m = model_from_config(cfg)
    assert m.params.by_group["vision"] == 0
    assert m.params.total == 27_432_406_640 - 423_060_336


def test_gemma2_layer_alternation_and_kv_by_hand():
    # Gemma 2: even layers sliding (window 4096), odd full; 2 x 4 KV heads x 256 x 2 B = 4 KiB
    m = _model("gemma-2-2b-it")
    t = 32_768
    k = kv_cache(m, t, allow_extrapolation=True)  # 4x its 8,192 limit: an explicit what-if
    assert k.by_kind["sliding"] == 13 * 4_096 * 4_096
    assert k.by_kind["full"] == 13 * t * 4_096


def test_gemma3_kv_by_hand():
    # 62 layers, every 6th full: 10 full + 52 sliding (window 1024); 2 x 16 x 128 x 2 B = 8 KiB
    k = kv_cache(_model("medgemma-27b-it"), 32_768)
    assert k.by_kind == {"sliding": 52 * 1_024 * 8_192, "full": 10 * 32_768 * 8_192}


def test_deepseek_v2_lite_shapes_and_mla_kv():
    m = _model("deepseek-v2-lite")
    shapes = {t.name: t.shape for t in m.inventory if t.layer in (None, 0, 1)}
    # no q_lora_rank: one q_proj of 16 heads x (128 + 64)
    assert shapes["model.layers.0.self_attn.q_proj.weight"] == (3_072, 2_048)
    assert "model.layers.0.self_attn.q_a_proj.weight" not in shapes
    assert "model.layers.1.mlp.gate.e_score_correction_bias" not in shapes  # greedy routing
    assert shapes["model.layers.1.mlp.shared_experts.gate_proj.weight"] == (2 * 1_408, 2_048)
    # MLA: one latent of 512 + 64 per token per layer, BF16: 27 x 576 x 2 = 31,104 B/token
    assert kv_cache(m, 1_000).total_bytes == 1_000 * 27 * 576 * 2


def test_olmoe_full_width_qk_norms():
    names = {t.name: t.shape for t in _model("olmoe-1b-7b-0924").inventory if t.layer == 0}
    assert names["model.layers.0.self_attn.q_norm.weight"] == (2_048,)
    assert names["model.layers.0.self_attn.k_norm.weight"] == (2_048,)


def test_phi3_fused_shapes_and_sliding_kv():
    m = _model("phi-3-mini-4k-instruct")
    shapes = {t.name: t.shape for t in m.inventory if t.layer == 0}
    assert shapes["model.layers.0.self_attn.qkv_proj.weight"] == (3 * 3_072, 3_072)
    assert shapes["model.layers.0.mlp.gate_up_proj.weight"] == (2 * 8_192, 3_072)
    # sliding_window 2047 on all 32 layers: 2 x 32 heads x 96 x 2 B = 12 KiB per layer-token
    k = kv_cache(m, 4_096)
    assert k.by_kind == {"sliding": 32 * 2_047 * 12_288}


def test_gemma3_without_layer_pattern_is_refused():
    cfg = read_config(EX / "medgemma-27b-it" / "config.json")["text_config"]
    del cfg["layer_types"]
    with pytest.raises(VramkitError, match="layer_types or sliding_window_pattern"):
        model_from_config(cfg).params  # noqa: B018


def test_vision_tower_with_bad_patch_is_refused():
    cfg = read_config(EX / "medgemma-27b-it" / "config.json")
    cfg["vision_config"]["patch_size"] = 15
    with pytest.raises(VramkitError, match="multiple of patch_size"):
        model_from_config(cfg)


def test_gemma1_two_norms_global_attention_and_an_untied_checkpoint():
    # the mirror ananddhanabal/gemma@27b76a6 (a Gemma 2B fine-tune, same config) stores lm_head
    # separately: its index says "total_size": 6060920832 = (2,506,172,416 + 256,000 x 2048) x 2 B
    cfg = read_config(EX / "gemma-2b" / "config.json")
    names = {t.name for t in model_from_config(cfg).inventory if t.layer == 0}
    assert "model.layers.0.pre_feedforward_layernorm.weight" not in names
    cfg["tie_word_embeddings"] = False
    m = model_from_config(cfg)
    assert weight_bytes(m, get_recipe(m.checkpoint_layout)).total_bytes == 6_060_920_832
    # MQA, head_dim 256, 18 layers, FP16: 2 x 1 x 256 x 2 B per layer-token, all layers global
    assert kv_cache(m, 8_192).by_kind == {"full": 18 * 8_192 * 1_024}
