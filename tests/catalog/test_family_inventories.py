"""qwen3_next, gpt_oss and glm4_moe end to end: params → weights → KV → fit, from config.json.

Configs: data/examples/<model>/config.json (sources in data/examples/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.families.recurrent import recurrent_state_bytes
from vramkit.kv import kv_cache
from vramkit.model.configfile import model_from_config, model_from_config_file, read_config
from vramkit.quant import get_recipe, weight_bytes

EX = Path(__file__).resolve().parents[2] / "data" / "examples"
GPT_OSS = EX / "gpt-oss-120b" / "config.json"
QWEN_NEXT = EX / "qwen3-next-80b-a3b-instruct" / "config.json"
GLM = EX / "glm-4.7" / "config.json"


def _gpt_oss_20b() -> dict:
    # gpt-oss-20b differs from 120b in num_hidden_layers 24 and num_local_experts 32 (the
    # 20b -> 120b config diff, huggingface.co/datasets/Fred808/helium_memory commit 9ce9198).
    cfg = read_config(GPT_OSS)
    cfg.update(
        num_hidden_layers=24,
        num_local_experts=32,
        layer_types=["sliding_attention", "full_attention"] * 12,
    )
    return cfg


# --------------------------------------------------------------------------- totals vs model cards


def test_gpt_oss_120b_total_and_active_match_the_model_card():
    # OpenAI model card (arXiv 2508.10925): "gpt-oss-120b: 116.8B total parameters (5.1B
    # active)". Active there excludes the embedding lookup (vramkit counts it in full, as
    # DeepSeek does), so compare active - embed. Tolerance: 0.05B (the card's rounding).
    p = model_from_config_file(GPT_OSS).params
    assert p.total == 116_829_156_672  # 116.83B, within 0.03B of the card's 116.8B
    assert abs(p.total / 1e9 - 116.8) < 0.05
    assert abs((p.active - p.by_group["embed"]) / 1e9 - 5.1) < 0.05
    assert p.total == p.main  # no MTP in gpt-oss


def test_gpt_oss_20b_total_and_active_match_the_model_card():
    # "gpt-oss-20b: 20.9B total parameters (3.6B active)"; tolerance 0.05B.
    p = model_from_config(_gpt_oss_20b()).params
    assert abs(p.total / 1e9 - 20.9) < 0.05
    assert abs((p.active - p.by_group["embed"]) / 1e9 - 3.6) < 0.05


def test_gpt_oss_expert_tensor_by_hand():
    # one expert per layer: gate_up 2880 x 5760 + bias 5760 + down 2880 x 2880 + bias 2880
    # = 16_588_800 + 5_760 + 8_294_400 + 2_880 = 24_891_840; x 128 experts x 36 layers
    p = model_from_config_file(GPT_OSS).params
    routed = p.by_group["routed_experts_gate_up"] + p.by_group["routed_experts_down"]
    assert routed == 24_891_840 * 128 * 36


def test_qwen3_next_total_matches_80b_a3b():
    # Model card: "80B total parameters, only 3B active"; tolerance 1% on the total, and the
    # active count must round to 3B-4B (the card says "A3B"; 10 routed + 1 shared expert).
    p = model_from_config_file(QWEN_NEXT).params
    assert abs(p.total / 80e9 - 1) < 0.01
    # The same architecture's published safetensors total (Qwen3-Coder-Next, an identical
    # config) is 79,674,391,296 parameters (quoted in a public test: "Published total ...
    # 79_674_391_296"); the inventory reproduces it exactly.
    assert p.total == 79_674_391_296
    assert 3e9 <= p.active < 4e9


def test_qwen3_next_layer_shapes_by_hand():
    m = model_from_config_file(QWEN_NEXT)
    shapes = {t.name: t.shape for t in m.inventory if t.layer in (0, 3)}
    # linear layer 0: qkvz = 2*16*128 + 2*32*128 = 12288 rows; ba = 2*32; conv_dim = 8192
    assert shapes["model.layers.0.linear_attn.in_proj_qkvz.weight"] == (12288, 2048)
    assert shapes["model.layers.0.linear_attn.in_proj_ba.weight"] == (64, 2048)
    assert shapes["model.layers.0.linear_attn.conv1d.weight"] == (8192, 1, 4)
    assert shapes["model.layers.0.linear_attn.out_proj.weight"] == (2048, 4096)
    # full layer 3: q_proj doubled for the output gate: 16 heads * 256 * 2 = 8192
    assert shapes["model.layers.3.self_attn.q_proj.weight"] == (8192, 2048)
    assert shapes["model.layers.3.self_attn.k_proj.weight"] == (512, 2048)
    assert shapes["model.layers.3.mlp.shared_expert_gate.weight"] == (1, 2048)


def test_glm_total_matches_glm45_model_card():
    # GLM-4.5 card: "355 billion total parameters with 32 billion active" (GLM-4.7 has the same
    # layer shapes). Tolerance: 1% on the total (with the MTP layer: 356.79B; 352.80B without);
    # 5% on active, counted without the embedding lookup as model cards usually do (32.86B; the
    # card rounds to whole billions and does not state its convention).
    p = model_from_config_file(GLM).params
    assert abs(p.total / 355e9 - 1) < 0.01
    assert abs((p.active - p.by_group["embed"]) / 32e9 - 1) < 0.05
    assert p.by_group["mtp"] > 0
    assert p.main < p.total


# --------------------------------------------------------------------------- stored layout


def test_gpt_oss_stored_layout_is_mxfp4_experts_rest_bf16():
    m = model_from_config_file(GPT_OSS)
    assert m.checkpoint_layout == "routed_experts=MXFP4,*=BF16"
    w = weight_bytes(m, get_recipe(m.checkpoint_layout))
    # MXFP4 = 4.25 bits/param: 4-bit E2M1 + one E8M0 byte per 32 → 17 bytes per 32 values.
    matrices = 2880 * 5760 + 2880 * 2880  # per expert, biases stay BF16
    assert w.by_format["MXFP4"] == matrices * 17 // 32 * 128 * 36
    # HF repo tree: "gpt-oss-120b / original 65.2 GB" (huggingface.co/openai/gpt-oss-120b/tree/
    # main/original) — the same MXFP4-experts checkpoint; tolerance 0.5%.
    assert abs(w.total_bytes / 65.2e9 - 1) < 0.005


def test_mxfp4_outside_gpt_oss_is_refused():
    cfg = read_config(GLM)
    cfg["quantization_config"] = {"quant_method": "mxfp4"}
    with pytest.raises(VramkitError, match="only defined for gpt-oss"):
        model_from_config(cfg)


def test_mxfp4_with_unknown_unconverted_module_is_refused():
    cfg = read_config(GPT_OSS)
    cfg["quantization_config"]["modules_to_not_convert"].append("model.layers.*.mlp.experts")
    with pytest.raises(VramkitError, match="excludes the experts"):
        model_from_config(cfg)


# --------------------------------------------------------------------------- KV cache


def test_gpt_oss_120b_kv_by_hand():
    # 36 layers, half sliding (window 128), half full; per layer per token
    # 2 (K, V) x 8 KV heads x 64 head_dim x 2 B = 2048 B.
    t = 32 * 1024
    est = kv_cache(model_from_config_file(GPT_OSS), t)
    assert est.by_kind["sliding"] == 18 * 128 * 2048  # capped at the window: 4,718,592
    assert est.by_kind["full"] == 18 * t * 2048  # 1,207,959,552
    assert est.slope_bytes_per_token == 18 * 2048  # sinks add nothing per token
    assert est.constant_bytes == 18 * 128 * 2048


def test_glm_kv_by_hand_and_mtp():
    # 92 layers x 2 x 8 KV heads x 128 head_dim x 2 B = 376,832 B per token
    m = model_from_config_file(GLM)
    assert kv_cache(m, 1000).total_bytes == 92 * 2 * 8 * 128 * 2 * 1000
    # with the MTP layer's cache (speculative decoding): 93 layers
    assert kv_cache(m, 1000, include_mtp=True).total_bytes == 93 * 4096 * 1000


def test_qwen3_next_kv_full_layers_plus_recurrent_state():
    m = model_from_config_file(QWEN_NEXT)
    cfg = read_config(QWEN_NEXT)
    est = kv_cache(m, 4096, batch=3)
    # 12 full-attention layers (every 4th of 48) x 2 x 2 KV heads x 256 x 2 B = 24,576 B/token
    assert est.slope_bytes_per_token == 12 * 2 * 2 * 256 * 2
    # 36 linear layers: conv 3 x (2*16*128 + 32*128) x 2 B = 49,152 + state 32 x 128 x 128 x 2 B
    # = 1,048,576 → 1,097,728 B per layer → 39,518,208 B per sequence, constant in context
    assert recurrent_state_bytes(cfg) == 36 * (49_152 + 1_048_576)
    assert est.constant_bytes == recurrent_state_bytes(cfg)
    assert est.by_kind["recurrent_state"] == 3 * recurrent_state_bytes(cfg)
    assert est.per_sequence_bytes == 12 * 2048 * 4096 + recurrent_state_bytes(cfg)
    longer = kv_cache(m, 65536)
    assert longer.by_kind["recurrent_state"] == recurrent_state_bytes(cfg)


def test_qwen3_next_state_splits_by_heads_under_tp():
    # vLLM divides num_k_heads (16) and num_v_heads (32) by tp: the state per rank is 1/tp.
    m = model_from_config_file(QWEN_NEXT)
    cfg = read_config(QWEN_NEXT)
    one = kv_cache(m, 0 + 1, tp=4)
    full_per_rank = 12 * 2 * 1 * 256 * 2  # 2 KV heads < 4 ranks: one head per rank, replicated
    assert one.per_gpu_bytes == full_per_rank + recurrent_state_bytes(cfg) // 4


def test_unknown_attention_scheme_is_refused_with_fields():
    cfg = read_config(GPT_OSS)
    cfg["sliding_window"] = None
    with pytest.raises(VramkitError, match="sliding_window") as err:
        kv_cache(model_from_config(cfg), 1024)
    assert "layer_types" in str(err.value)
    glm = read_config(GLM)
    glm["kv_lora_rank"] = 512
    with pytest.raises(VramkitError, match="kv_lora_rank"):
        kv_cache(model_from_config(glm), 1024)
    qn = read_config(QWEN_NEXT)
    qn["layer_types"] = ["mamba3"] * 48
    with pytest.raises(VramkitError, match="cannot count"):
        model_from_config(qn)


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("path", [GPT_OSS, QWEN_NEXT, GLM], ids=lambda p: p.parent.name)
def test_cli_weights_kv_fit_from_config(path, capsys):
    assert main(["weights", "--config", str(path), "--json"]) == 0
    w = json.loads(capsys.readouterr().out)
    assert w["total_params"] == model_from_config_file(path).params.total
    assert main(["kv", "--config", str(path), "--context", "32K", "--json"]) == 0
    k = json.loads(capsys.readouterr().out)
    assert k["context_tokens"] == 32768
    assert k["total_bytes"] > 0
    args = ["fit", "--config", str(path), "--gpu", "h200-sxm-141gb", "--count", "8", "--json"]
    assert main(args) == 0
    f = json.loads(capsys.readouterr().out)
    assert f["fits"] is True
    assert f["per_gpu"]["weights_bytes"] > 0
