"""Tensor-name → group rules across families, and the recurrent-state formulas of hybrids."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.families.recurrent import (
    attention_layers,
    recurrent_state,
    recurrent_state_bytes,
)
from vramkit.ingest.names import group_of


@pytest.mark.parametrize(
    ("name", "group"),
    [
        # Llama / Qwen (HF)
        ("model.embed_tokens.weight", "embed"),
        ("lm_head.weight", "lm_head"),
        ("model.layers.3.self_attn.k_proj.weight", "attention"),
        ("model.layers.3.mlp.gate_proj.weight", "dense_mlp"),
        ("model.layers.3.post_attention_layernorm.weight", "norms"),
        # Qwen MoE / Mixtral / gpt-oss
        ("model.layers.0.mlp.experts.7.up_proj.weight", "routed_experts_gate_up"),
        ("model.layers.0.block_sparse_moe.experts.1.w2.weight", "routed_experts_down"),
        ("model.layers.0.block_sparse_moe.gate.weight", "router"),
        ("model.layers.0.mlp.shared_expert.down_proj.weight", "shared_experts"),
        ("model.layers.0.mlp.shared_expert_gate.weight", "router"),
        ("model.layers.0.mlp.experts.gate_up_proj_blocks", "routed_experts_gate_up"),
        ("model.layers.0.mlp.experts.down_proj_scales", "routed_experts_down"),
        ("model.layers.0.mlp.router.weight", "router"),
        ("model.layers.0.self_attn.sinks", "attention"),
        # DeepSeek V3 / V3.2 / Kimi / GLM (HF), FP8 scales follow their weight
        ("model.layers.5.mlp.gate.e_score_correction_bias", "router"),
        ("model.layers.5.mlp.experts.9.gate_proj.weight_scale_inv", "routed_experts_gate_up"),
        ("model.layers.5.self_attn.kv_a_proj_with_mqa.weight", "attention"),
        ("model.layers.5.self_attn.indexer.wk.weight", "indexer"),
        ("model.layers.61.eh_proj.weight", "mtp"),  # layer ≥ 61 main layers
        # DeepSeek V4 reference names
        ("layers.0.attn.wq_a.weight", "attention"),
        ("layers.0.attn.compressor.wgate.weight", "compressor"),
        ("layers.0.attn.indexer.weights_proj.weight", "indexer"),
        ("layers.0.ffn.experts.3.w1.scale", "routed_experts_gate_up"),
        ("layers.0.ffn.shared_experts.w2.weight", "shared_experts"),
        ("layers.0.ffn.gate.tid2eid", "router"),
        ("layers.0.hc_ffn_fn", "hyper_connections"),
        ("mtp.0.e_proj.weight", "mtp"),
        ("embed.weight", "embed"),
        ("head.weight", "lm_head"),
        # GGUF
        ("token_embd.weight", "embed"),
        ("output.weight", "lm_head"),
        ("blk.2.ffn_down_exps.weight", "routed_experts_down"),
        ("blk.2.ffn_gate_exps.weight", "routed_experts_gate_up"),
        ("blk.2.ffn_up_shexp.weight", "shared_experts"),
        ("blk.2.ffn_gate_inp.weight", "router"),
        ("blk.2.attn_kv.weight", "attention"),
        ("blk.2.attn_compressor_kv.weight", "compressor"),
        ("blk.2.indexer_compressor_gate.weight", "indexer"),
        ("blk.2.hc_attn_fn.weight", "hyper_connections"),
        ("blk.43.nextn.eh_proj.weight", "mtp"),
        # never dropped: unknown names and multimodal towers go to "other"
        ("rope_freqs.weight", "other"),
        ("vision_tower.encoder.layers.70.self_attn.q_proj.weight", "vision"),
    ],
)
def test_group_of(name, group):
    assert group_of(name, main_layers=61) == group


QWEN3_NEXT = {  # Qwen3-Next-80B-A3B linear-attention fields (config.json)
    "num_hidden_layers": 48,
    "full_attention_interval": 4,
    "linear_num_key_heads": 16,
    "linear_num_value_heads": 32,
    "linear_key_head_dim": 128,
    "linear_value_head_dim": 128,
    "linear_conv_kernel_dim": 4,
}


def test_gated_deltanet_state():
    s = recurrent_state(QWEN3_NEXT)
    # conv: (4 − 1) × (2·16·128 + 32·128) × 2 B = 3 × 8,192 × 2 = 49,152
    assert s.conv_bytes == 49_152
    # delta state: 32 heads × 128 × 128 × 2 B = 1,048,576
    assert s.state_bytes == 1_048_576
    # every 4th layer is full attention: 12 attention, 36 linear layers
    assert attention_layers(QWEN3_NEXT) == list(range(3, 48, 4))
    assert recurrent_state_bytes(QWEN3_NEXT) == 36 * (49_152 + 1_048_576)
    # fp32 recurrent state when the config says so: 32 × 128 × 128 × 4 B
    assert recurrent_state({**QWEN3_NEXT, "mamba_ssm_dtype": "float32"}).state_bytes == 2_097_152


def test_gguf_qwen3next_fields_map_to_the_same_state():
    gguf_cfg = {
        "gguf_architecture": "qwen3next",
        "num_hidden_layers": 48,
        "full_attention_interval": 4,
        "ssm_conv_kernel": 4,
        "ssm_state_size": 128,
        "ssm_group_count": 16,
        "ssm_time_step_rank": 32,
        "ssm_inner_size": 4096,
    }
    assert recurrent_state_bytes(gguf_cfg) == recurrent_state_bytes(QWEN3_NEXT)


def test_mamba2_hybrid_state():
    cfg = {
        "num_hidden_layers": 4,
        "hybrid_override_pattern": "M-M*",
        "mamba_num_heads": 8,
        "mamba_head_dim": 16,
        "ssm_state_size": 32,
        "n_groups": 2,
        "conv_kernel": 4,
    }
    s = recurrent_state(cfg)
    # conv: 3 × (8·16 + 2·2·32) × 2 B = 3 × 256 × 2 = 1,536; ssm: 8 × 16 × 32 × 2 B = 8,192
    assert (s.conv_bytes, s.state_bytes, s.layers) == (1_536, 8_192, (0, 2))
    assert attention_layers(cfg) == [3]


def test_plain_model_has_no_state_and_unknown_scheme_is_refused():
    plain = {"num_hidden_layers": 2, "num_attention_heads": 4}
    assert recurrent_state_bytes(plain) == 0
    assert attention_layers(plain) == [0, 1]
    weird = {"num_hidden_layers": 2, "layer_types": ["rwkv_block", "full_attention"]}
    with pytest.raises(VramkitError, match=r"cannot count this.*layer_types"):
        recurrent_state(weird)
    half = {"num_hidden_layers": 2, "full_attention_interval": 2, "linear_num_value_heads": 4}
    with pytest.raises(VramkitError, match=r"cannot count this.*linear_num_value_heads"):
        recurrent_state(half)
