"""Multimodal wrappers read through text_config: the vision tower is counted (Mistral 3's Pixtral,
LLaVA's CLIP, Kimi-VL's MoonViT: tests/accounting/test_vllm_memory.py) or named in a note with an
estimate (any other tower, e.g. Kimi K2.6's ``moonvit_k26``) — never dropped silently.

- Mistral-Small-3.1-24B-Instruct-2503: config verbatim (data/examples/README.md); keras-hub
  ``mistral_small_3.1_24b_base_2503_en`` "24 billion parameter, 40-layer, pretrained Mistral3
  model with a Pixtral vision encoder" ``"params": 24011361280``; the text decoder alone is
  keras-hub ``magistral_small_2506_en`` ``"params": 23572403200`` (same shapes, pinned in
  test_families_more_models.py).
- llava-hf/llava-1.5-7b-hf: ``sum(p.numel() for p in model.parameters()) # 7063427072`` (a
  LlavaForConditionalGeneration loaded from the checkpoint; the same count asserted from its
  config elsewhere) — config in data/examples/README.md.
- Kimi-VL: vision_config ``moonvit`` hidden 1152, intermediate 4304, 27 layers (a bring-up
  test's KimiVLForConditionalGeneration config, code-index id 61386913732); the uncounted case
  renames it ``moonvit_k26`` (Kimi K2.6's tower, code-index id 66472452696), a layout vramkit
  does not hold.
"""

from __future__ import annotations

import json
from pathlib import Path

from vramkit.cli import main
from vramkit.configfile import model_from_config, model_from_config_file, read_config

EX = Path(__file__).resolve().parents[2] / "data" / "examples"
MISTRAL3 = EX / "mistral-small-3.1-24b-instruct-2503" / "config.json"
LLAVA = EX / "llava-1.5-7b-hf" / "config.json"
MOONVIT = {"model_type": "moonvit", "patch_size": 14, "num_attention_heads": 16,
           "num_hidden_layers": 27, "hidden_size": 1152, "intermediate_size": 4304,
           "merge_kernel_size": [2, 2]}  # fmt: skip


def test_mistral3_counts_pixtral_and_its_projector_to_the_published_total():
    m = model_from_config_file(MISTRAL3)
    assert m.params.total == 24_011_361_280
    assert m.params.total - m.params.by_group["vision"] == 23_572_403_200
    assert m.not_counted == ()


def test_pixtral_tower_by_hand():
    # per layer q/k/v/o 1024^2, gate/up 4096 x 1024, down 1024 x 4096, two RMSNorms; patch conv
    # 1024 x 3 x 14 x 14 (no bias); ln_pre; projector norm 1024, merger 1024 x (1024 x 2^2),
    # linear_1 5120 x 1024, linear_2 5120 x 5120 (no biases: multimodal_projector_bias false)
    layer = 4 * 1024 * 1024 + 3 * 4096 * 1024 + 2 * 1024
    vision = 24 * layer + 1024 * 3 * 14 * 14 + 1024
    projector = 1024 + 1024 * 4096 + 5120 * 1024 + 5120 * 5120
    assert model_from_config_file(MISTRAL3).params.by_group["vision"] == vision + projector


def test_projector_biases_follow_the_wrapper_flag():
    cfg = {**read_config(MISTRAL3), "multimodal_projector_bias": True}
    assert model_from_config(cfg).params.total == 24_011_361_280 + 2 * 5120


def test_llava_counts_clip_and_its_projector_to_the_published_total():
    m = model_from_config_file(LLAVA)
    assert m.params.total == 7_063_427_072
    assert m.not_counted == ()
    # CLIP ViT-L/14-336 by hand: per layer q/k/v/out 1024^2 + biases, fc1 4096 x 1024 + 4096,
    # fc2 1024 x 4096 + 1024, two LayerNorms (w + b); class embedding, patch conv 1024 x 3 x 14^2,
    # (336/14)^2 + 1 positions, pre/post LayerNorms; projector 4096 x 1024 + 4096 and
    # 4096 x 4096 + 4096 — all 24 layers stored though vision_feature_layer is -2
    layer = 4 * (1024 * 1024 + 1024) + (4096 * 1024 + 4096) + (1024 * 4096 + 1024) + 4 * 1024
    tower = 24 * layer + 1024 + 1024 * 3 * 14 * 14 + (24 * 24 + 1) * 1024 + 4 * 1024
    projector = 4096 * 1024 + 4096 + 4096 * 4096 + 4096
    assert m.params.by_group["vision"] == tower + projector


def test_a_known_tower_under_another_wrapper_is_noted_not_guessed():
    # llava_next adds an image_newline parameter and other wrappers other projectors: only the
    # (wrapper, tower) pairs vramkit has a layout for are counted
    cfg = {**read_config(LLAVA), "model_type": "llava_next"}
    m = model_from_config(cfg)
    assert "vision" not in {t.group for t in m.inventory}
    assert "clip_vision_model" in m.not_counted[0]


def _kimi_vl_like() -> dict:
    # a kimi_vl-style wrapper: the decoder under text_config (here DeepSeek-V2-Lite's shapes),
    # a tower vramkit has no layout for under vision_config (MoonViT's fields, K2.6's name)
    text = read_config(EX / "deepseek-v2-lite" / "config.json")
    tower = {**MOONVIT, "model_type": "moonvit_k26"}
    return {"model_type": "kimi_vl", "text_config": text, "vision_config": tower}


def test_kimi_vl_moonvit_is_counted():
    cfg = {**_kimi_vl_like(), "vision_config": MOONVIT}
    m = model_from_config(cfg)
    text = model_from_config(read_config(EX / "deepseek-v2-lite" / "config.json"))
    assert m.not_counted == ()
    assert m.params.by_group["vision"] > 0.41e9  # the blocks alone: 411,070,464 (below)
    assert m.params.total == text.params.total + m.params.by_group["vision"]


def test_an_uncounted_tower_is_named_with_an_estimate():
    m = model_from_config(_kimi_vl_like())
    text = model_from_config(read_config(EX / "deepseek-v2-lite" / "config.json"))
    assert m.params.total == text.params.total  # moonvit_k26 has no inventory in vramkit
    # 27 x (4 x 1152^2 + 2 x 1152 x 4304) = 411,070,464 -> "about 0.41B parameters"
    assert "vision tower (vision_config model_type 'moonvit_k26')" in m.not_counted[0]
    assert "not counted" in m.not_counted[0]
    assert "about 0.41B parameters" in m.not_counted[0]


def test_an_unknown_tower_under_a_mistral3_wrapper_is_noted_not_counted():
    cfg = read_config(MISTRAL3)
    cfg["vision_config"] = {**cfg["vision_config"], "model_type": "siglip_vision_model"}
    m = model_from_config(cfg)
    assert m.params.total == 23_572_403_200
    assert "siglip_vision_model" in m.not_counted[0]


def test_audio_towers_are_noted_too():
    cfg = {**read_config(EX / "phi-2" / "config.json"), "audio_config": {"model_type": "whisper"}}
    m = model_from_config(cfg)
    assert "audio tower" in m.not_counted[0]
    assert "could not be estimated" in m.not_counted[0]


def test_text_only_configs_carry_no_note():
    assert model_from_config_file(EX / "mistral-small-24b" / "config.json").not_counted == ()


def test_weights_cli_prints_the_note(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_kimi_vl_like()))
    assert main(["weights", "--config", str(path)]) == 0
    assert "note: the vision tower" in capsys.readouterr().out
    assert main(["weights", "--config", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "moonvit" in doc["not_counted"][0]
    assert main(["weights", "--config", str(MISTRAL3), "--json"]) == 0
    assert "not_counted" not in json.loads(capsys.readouterr().out)


def test_inspect_prints_the_note(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_kimi_vl_like()))
    assert main(["inspect", str(path)]) == 0
    assert "note: the vision tower" in capsys.readouterr().out
    assert main(["inspect", str(path), "--json"]) == 0
    assert "moonvit" in json.loads(capsys.readouterr().out)["not_counted"][0]
