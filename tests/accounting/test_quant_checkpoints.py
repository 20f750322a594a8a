"""Quantized checkpoints (GPTQ, AWQ, compressed-tensors, bitsandbytes) read from a config's
quantization_config and sized tensor by tensor (vramkit/model/checkpoint_formats.py).

Expected bytes are written out from the writers' buffer shapes (cited in the module docstring)
or taken from a published model.safetensors.index.json total_size."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from vramkit.catalog import get_model
from vramkit.cli import main
from vramkit.ingest import compare_with_estimate, ingest
from vramkit.model.anatomy import format_anatomy
from vramkit.model.configfile import model_from_config
from vramkit.quant import tensor_formats, vllm_loaded_bytes, weight_bytes
from vramkit.quant.formats import get_format

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"
AWQ_G128 = {
    "quant_method": "awq",
    "bits": 4,
    "group_size": 128,
    "version": "gemm",
    "zero_point": True,
}


def _w4a16(**weights):
    return {
        "quant_method": "compressed-tensors",
        "format": "pack-quantized",
        "ignore": ["lm_head"],
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "weights": {
                    "num_bits": 4,
                    "type": "int",
                    "strategy": "group",
                    "group_size": 128,
                    "symmetric": True,
                    "actorder": None,
                    "dynamic": False,
                    **weights,
                },
                "input_activations": None,
            }
        },
    }


def _llama70(q):
    return model_from_config(
        {**get_model("llama-3.1-70b").config, "torch_dtype": "float16", "quantization_config": q}
    )


def test_published_80_layer_awq_index_to_the_byte():
    """llmariner/inference-manager@2b95056a96da64f2f9428fc91f1f2988e49f9337
    engine/internal/huggingface/safetensors_test.go records the index of an 80-layer checkpoint
    with ``model.layers.0.self_attn.q_proj.qweight`` in 9 shards: ``"total_size": 39767785472``.
    The Llama 3.x 70B shapes (data/models.yaml llama-3.1-70b) under AWQ w4 g128 give it to the
    byte; the same shapes under GPTQ g128 would be larger by the g_idx AWQ does not store."""
    awq = weight_bytes(_llama70(AWQ_G128)).total_bytes
    assert awq == 39_767_785_472
    gptq = weight_bytes(_llama70({"quant_method": "gptq", "bits": 4, "group_size": 128}))
    # g_idx int32 per input column: q, k, v, o, gate, up read 8192 columns, down 28672
    assert gptq.total_bytes - awq == 80 * (6 * 8192 + 28672) * 4


def test_recipe_reads_like_any_custom_recipe():
    m = _llama70(AWQ_G128)
    assert m.checkpoint.layout == (
        "*=AWQ_W4_G128,vectors=FP16,name:model.embed_tokens.weight=FP16,name:lm_head.weight=FP16"
    )
    fmts = {t.name: f.name for t, f in tensor_formats(m)}
    assert fmts["model.layers.0.self_attn.q_proj.weight"] == "AWQ_W4_G128"
    assert fmts["model.embed_tokens.weight"] == "FP16"
    assert fmts["model.layers.0.input_layernorm.weight"] == "FP16"


# --------------------------------------------------------------------------- stored tensors
OUT, IN = 4096, 11008


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # AutoGPTQ QuantLinear: qweight int32 (in//32*bits, out), qzeros int32 (ceil(in/g),
        # out//32*bits), scales fp16 (ceil(in/g), out), g_idx int32 (in,)
        (
            "GPTQ_W4_G128",
            4 * (IN // 32 * 4) * OUT
            + 4 * math.ceil(IN / 128) * (OUT // 32 * 4)
            + 2 * math.ceil(IN / 128) * OUT
            + 4 * IN,
        ),
        (
            "GPTQ_W3_G64",
            4 * (IN // 32 * 3) * OUT
            + 4 * math.ceil(IN / 64) * (OUT // 32 * 3)
            + 2 * math.ceil(IN / 64) * OUT
            + 4 * IN,
        ),
        ("GPTQ_W8_CH", 4 * (IN // 32 * 8) * OUT + 4 * (OUT // 32 * 8) + 2 * OUT + 4 * IN),
        # AutoAWQ WQLinear_GEMM: qweight (in, out//8), qzeros (in//g, out//8), scales (in//g, out)
        ("AWQ_W4_G128", 4 * IN * OUT // 8 + 4 * (IN // 128) * OUT // 8 + 2 * (IN // 128) * OUT),
        # compressed-tensors pack-quantized: weight_packed int32 (out, ceil(in/8)), weight_shape
        # int64 (2,), weight_scale (out, in/g), weight_zero_point int32 (ceil(out/8), in/g),
        # weight_g_idx int32 (in,)
        ("CT_PACK_W4_G128_BF16", 4 * OUT * math.ceil(IN / 8) + 16 + 2 * OUT * math.ceil(IN / 128)),
        (
            "CT_PACK_W4_G128_ASYM_GIDX_BF16",
            4 * OUT * math.ceil(IN / 8)
            + 16
            + 2 * OUT * math.ceil(IN / 128)
            + 4 * math.ceil(OUT / 8) * math.ceil(IN / 128)
            + 4 * IN,
        ),
        ("CT_PACK_W8_CH_BF16", 4 * OUT * math.ceil(IN / 4) + 16 + 2 * OUT),
        # int8 / fp8 weights with a per-channel scale (out, 1); static input scale (1,)
        ("CT_INT8_CH_BF16", OUT * IN + 2 * OUT),
        ("CT_FP8_CH_BF16", OUT * IN + 2 * OUT),
        ("CT_FP8_T_FP32_STATIC", OUT * IN + 4 + 4),
        ("CT_FP8_B128_BF16", OUT * IN + 2 * math.ceil(OUT / 128) * math.ceil(IN / 128)),
        ("CT_INT8_CH_ASYM_FP16", OUT * IN + 2 * OUT + OUT),
        # NVFP4: weight_packed uint8 (out, in/2), weight_scale fp8 (out, in/16), global scales f32
        ("CT_NVFP4", OUT * IN // 2 + OUT * IN // 16 + 4),
        ("CT_NVFP4_STATIC", OUT * IN // 2 + OUT * IN // 16 + 4 + 4),
        # bitsandbytes 4-bit: packed uint8, absmax per 64 (f32, or u8 + nested f32 per 256
        # blocks + 256-entry nested code), 16-entry quant_map f32
        ("BNB_NF4", OUT * IN // 2 + 4 * (OUT * IN // 64) + 4 * 16),
        (
            "BNB_NF4_DQ",
            OUT * IN // 2 + OUT * IN // 64 + 4 * math.ceil(OUT * IN // 64 / 256) + 4 * 256 + 4 * 16,
        ),
        ("BNB_INT8", OUT * IN + 4 * OUT),
    ],
)
def test_stored_bytes_follow_the_writers_buffers(name, expected):
    assert get_format(name).tensor_bytes((OUT, IN)) == expected


def test_gptq_4bit_g128_rate():
    # 4 bits + (16-bit scale + 4-bit zero) per 128 + a 32-bit g_idx per column of 4096 rows
    assert get_format("GPTQ_W4_G128").bits_per_weight == pytest.approx(4 + 20 / 128 + 32 / 4096)


# --------------------------------------------------------------------------- which modules
def test_compressed_tensors_ignore_regex_keeps_moe_router_in_float():
    cfg = json.loads((EXAMPLES / "qwen3-30b-a3b" / "config.json").read_text())
    q = _w4a16()
    q["ignore"] = ["lm_head", "re:.*mlp.gate$"]
    m = model_from_config({**cfg, "quantization_config": q})
    fmts = {t.name: f.name for t, f in tensor_formats(m)}
    assert fmts["model.layers.3.mlp.gate.weight"] == "BF16"
    assert fmts["model.layers.3.mlp.experts.{e}.gate_proj.weight"] == "CT_PACK_W4_G128_BF16"
    assert fmts["lm_head.weight"] == "BF16"
    assert "name:model.layers.*.mlp.gate.weight=BF16" in m.checkpoint.layout


def test_compressed_tensors_without_ignore_quantizes_the_head():
    cfg = json.loads((EXAMPLES / "mistral-7b-v0.3" / "config.json").read_text())
    q = _w4a16()
    q["ignore"] = []
    m = model_from_config({**cfg, "quantization_config": q})
    fmts = {t.name: f.name for t, f in tensor_formats(m)}
    assert fmts["lm_head.weight"] == "CT_PACK_W4_G128_BF16"  # nn.Linear, targeted by "Linear"
    assert fmts["model.embed_tokens.weight"] == "BF16"  # nn.Embedding is not


def test_awq_modules_to_not_convert_is_a_substring_match():
    m = _llama70({**AWQ_G128, "modules_to_not_convert": ["down_proj"]})
    fmts = {t.name: f.name for t, f in tensor_formats(m)}
    assert fmts["model.layers.7.mlp.down_proj.weight"] == "FP16"
    assert fmts["model.layers.7.mlp.up_proj.weight"] == "AWQ_W4_G128"


def test_gptq_lm_head_flag():
    plain = _llama70({"quant_method": "gptq", "bits": 4, "group_size": 128})
    head = _llama70({"quant_method": "gptq", "bits": 4, "group_size": 128, "lm_head": True})
    vocab, dim = 128256, 8192
    saved = 2 * vocab * dim - get_format("GPTQ_W4_G128").tensor_bytes((vocab, dim))
    assert weight_bytes(plain).total_bytes - weight_bytes(head).total_bytes == saved


def test_bitsandbytes_keeps_head_and_sizes_fp8_channel():
    nf4 = _llama70(
        {
            "quant_method": "bitsandbytes",
            "load_in_4bit": True,
            "bnb_4bit_quant_type": "nf4",
            "bnb_4bit_use_double_quant": True,
        }
    )
    fmts = {t.name: f.name for t, f in tensor_formats(nf4)}
    assert fmts["lm_head.weight"] == "FP16"
    assert fmts["model.layers.0.mlp.up_proj.weight"] == "BNB_NF4_DQ"


def test_cli_weights_from_a_quantized_config(tmp_path, capsys):
    cfg = {**get_model("llama-3.1-70b").config, "torch_dtype": "float16"}
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "quantization_config": AWQ_G128}))
    assert main(["weights", "--config", str(tmp_path / "config.json"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_bytes"] == 39_767_785_472


# --------------------------------------------------------------------------- vLLM at load
LLAMA70_LINEARS = [  # (out, in) of one layer: q, k, v, o, gate, up, down
    (8192, 8192),
    (1024, 8192),
    (1024, 8192),
    (8192, 8192),
    (28672, 8192),
    (28672, 8192),
    (8192, 28672),
]


def test_vllm_marlin_drops_gptq_qzeros_and_g_idx():
    q = {"quant_method": "gptq", "bits": 4, "group_size": 128, "sym": True, "desc_act": False}
    m = _llama70(q)
    stored = weight_bytes(m).total_bytes
    # qzeros int32 (in/128, out/8) and g_idx int32 (in) become empty tensors
    dropped = 80 * sum(4 * (i // 128) * (o // 8) + 4 * i for o, i in LLAMA70_LINEARS)
    assert vllm_loaded_bytes(m) == stored - dropped


def test_vllm_marlin_act_order_adds_sort_indices():
    q = {"quant_method": "gptq", "bits": 4, "group_size": 128, "sym": True, "desc_act": True}
    m = _llama70(q)
    assert m.checkpoint.layout.startswith("*=GPTQ_W4_G128_ACT,")
    stored = weight_bytes(m).total_bytes
    qzeros = 80 * sum(4 * (i // 128) * (o // 8) for o, i in LLAMA70_LINEARS)
    sort_indices = 80 * sum(4 * i for _, i in LLAMA70_LINEARS)
    assert vllm_loaded_bytes(m) == stored - qzeros + sort_indices


def test_vllm_loads_awq_and_asymmetric_gptq_as_stored():
    awq = _llama70(AWQ_G128)
    assert vllm_loaded_bytes(awq) == weight_bytes(awq).total_bytes == 39_767_785_472
    asym = _llama70({"quant_method": "gptq", "bits": 4, "group_size": 128, "sym": False})
    assert vllm_loaded_bytes(asym) == weight_bytes(asym).total_bytes


# --------------------------------------------------------------------------- headers given
TINY = {
    "model_type": "llama",
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 64,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
}
TINY_LINEARS = {  # (out, in): q, k, v, o, gate, up, down
    "self_attn.q_proj": (128, 128),
    "self_attn.k_proj": (64, 128),
    "self_attn.v_proj": (64, 128),
    "self_attn.o_proj": (128, 128),
    "mlp.gate_proj": (256, 128),
    "mlp.up_proj": (256, 128),
    "mlp.down_proj": (128, 256),
}


def _gptq_g32(out, inn):
    # AutoGPTQ QuantLinear buffers, group 32, 4 bits
    return {
        "qweight": np.zeros((inn // 8, out), np.int32),
        "qzeros": np.zeros((inn // 32, out // 8), np.int32),
        "scales": np.zeros((inn // 32, out), np.float16),
        "g_idx": np.zeros((inn,), np.int32),
    }


def _ct_w4a16_g32(out, inn):
    # compressed-tensors pack-quantized, symmetric, group 32
    return {
        "weight_packed": np.zeros((out, inn // 8), np.int32),
        "weight_scale": np.zeros((out, inn // 32), np.float16),
        "weight_shape": np.zeros((2,), np.int64),
    }


@pytest.mark.parametrize(
    ("q", "pack"),
    [
        ({"quant_method": "gptq", "bits": 4, "group_size": 32, "desc_act": False}, _gptq_g32),
        (
            {
                **_w4a16(group_size=32),
                "config_groups": {
                    "group_0": {
                        "targets": ["Linear"],
                        "weights": {
                            "num_bits": 4,
                            "type": "int",
                            "strategy": "group",
                            "group_size": 32,
                            "symmetric": True,
                        },
                    }
                },
            },
            _ct_w4a16_g32,
        ),
    ],
    ids=["gptq", "compressed-tensors"],
)
def test_safetensors_headers_match_the_estimate_per_group(tmp_path, q, pack):
    tensors = {
        "model.embed_tokens.weight": np.zeros((64, 128), np.float16),
        "lm_head.weight": np.zeros((64, 128), np.float16),
        "model.norm.weight": np.zeros((128,), np.float16),
    }
    for i in range(2):
        p = f"model.layers.{i}"
        tensors[f"{p}.input_layernorm.weight"] = np.zeros((128,), np.float16)
        tensors[f"{p}.post_attention_layernorm.weight"] = np.zeros((128,), np.float16)
        for mod, (out, inn) in TINY_LINEARS.items():
            for suffix, arr in pack(out, inn).items():
                tensors[f"{p}.{mod}.{suffix}"] = arr
    folder = tmp_path / "tiny-quant"
    folder.mkdir()
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({**TINY, "quantization_config": q}))
    ing = ingest(folder)
    assert ing.model is not None, ing.model_note
    assert ing.measured.total_bytes == sum(a.nbytes for a in tensors.values())
    assert weight_bytes(ing.model).total_bytes == ing.measured.total_bytes
    for row in compare_with_estimate(ing):
        assert row["diff_bytes"] == 0, row


def test_autoawq_spelling_of_bits_and_group():
    alias = {"quant_method": "awq", "w_bit": 4, "q_group_size": 128, "version": "GEMM"}
    assert weight_bytes(_llama70(alias)).total_bytes == 39_767_785_472


def test_anatomy_lists_the_stored_tensors():
    a = format_anatomy("AWQ_W4_G128")
    assert "qweight I32[4096, 512]" in a.formula
    assert "scales F16[32, 4096]" in a.formula
    # 4 bits + (16-bit scale + 4-bit zero) per 128
    assert a.bits_per_weight == pytest.approx(4 + 20 / 128)


# --------------------------------------------------------------------------- quant_method fp8
def test_fp8_per_tensor_static():
    m = _llama70({"quant_method": "fp8", "activation_scheme": "static"})
    fmts = {t.name: f.name for t, f in tensor_formats(m)}
    assert fmts["lm_head.weight"] == "FP16"  # the head is not an fp8 linear
    w = weight_bytes(m)
    # per linear: F8 weight + F32 weight_scale + F32 input_scale; 7 linears per layer
    linears = 80 * sum(o * i + 4 + 4 for o, i in LLAMA70_LINEARS)
    floats = 2 * 2 * 128256 * 8192 + 2 * 8192 * (2 * 80 + 1)  # embed, head, norms in FP16
    assert w.total_bytes == linears + floats


def test_fp8_blocks_with_listed_modules_keep_them_in_float():
    cfg = json.loads((EXAMPLES / "qwen3-30b-a3b" / "config.json").read_text())
    gates = [f"model.layers.{i}.mlp.gate" for i in range(cfg["num_hidden_layers"])]
    q = {
        "quant_method": "fp8",
        "activation_scheme": "dynamic",
        "weight_block_size": [128, 128],
        "modules_to_not_convert": ["lm_head", *gates],
    }
    m = model_from_config({**cfg, "quantization_config": q})
    fmts = {t.name: f.name for t, f in tensor_formats(m)}
    assert fmts["model.layers.5.mlp.gate.weight"] == "BF16"
    assert fmts["model.layers.5.self_attn.q_proj.weight"] == "CT_FP8_B128_FP32"
    # F8 weight + one F32 scale per 128 x 128 block: same bytes as DeepSeek's FP8_B128_F32
    assert get_format("CT_FP8_B128_FP32").tensor_bytes((4096, 2048)) == get_format(
        "FP8_B128_F32"
    ).tensor_bytes((4096, 2048))


def test_deepseek_v3_config_reads_as_its_official_layout():
    # a config without an indexer no longer names an indexer selector (was refused)
    v3 = get_model("deepseek-v3")
    m = model_from_config(dict(v3.config))
    assert "indexer" not in m.checkpoint.layout
    assert weight_bytes(m).total_bytes == weight_bytes(v3).total_bytes
