"""Weight bytes under recipes: official sizes to the byte, GGUF mixes, formats from the gguf tables."""

import json

import pytest
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from vramkit.catalog import get_model
from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.formats import get_format, storable_format
from vramkit.quant import custom_recipe, get_recipe, weight_bytes
from vramkit.runtimes.llamacpp.mix import use_more_bits


def test_v4_flash_official_total_size_to_the_byte():
    # model.safetensors.index.json of deepseek-ai/DeepSeek-V4-Flash: "total_size": 159609485896
    assert weight_bytes(get_model("deepseek-v4-flash")).total_bytes == 159_609_485_896


def test_v4_pro_official_size_matches_published_gb():
    # source article / official index: 864.70 GB (±0.01%)
    total = weight_bytes(get_model("deepseek-v4-pro")).total_bytes
    assert total == pytest.approx(864.70e9, rel=1e-4)


@pytest.mark.parametrize(
    ("model", "gb"), [("deepseek-v4-flash-base", 294.67), ("deepseek-v4-pro-base", 1606.03)]
)
def test_base_sizes_under_the_layout_hypothesis(model, gb):
    # Article: 294.67 GB / 1606.03 GB; reproduced only with FP32 embed/head (flagged unconfirmed)
    m = get_model(model)
    assert m.checkpoint.status == "hypothesis"
    assert any(f == "checkpoint.layout" for f, _ in m.unconfirmed)
    assert weight_bytes(m).total_bytes == pytest.approx(gb * 1e9, abs=0.005e9)  # printed to 0.01 GB
    # with BF16 embed/head instead, the size would miss the article by 2 × vocab × dim × 2 B
    bf16 = custom_recipe({"embed": "BF16", "lm_head": "BF16"}, base="deepseek-v4-base-official")
    dim = m.config["hidden_size"]
    diff = weight_bytes(m).total_bytes - weight_bytes(m, bf16).total_bytes
    assert diff == 2 * 129280 * dim * 2


def test_flash_byte_breakdown_of_experts():
    # MXFP4: 0.5 B per weight + 1 E8M0 byte per 32 weights; 44 layers (43 + MTP) × 256 × 3 × 4096×2048
    w = weight_bytes(get_model("deepseek-v4-flash"))
    per_matrix = 2048 * 4096 // 2 + 2048 * 4096 // 32
    routed_main = 43 * 256 * 3 * per_matrix
    assert w.by_group["routed_experts_gate_up"] + w.by_group["routed_experts_down"] == routed_main
    assert w.by_format["MXFP4"] == 44 * 256 * 3 * per_matrix


def test_gguf_formats_come_from_the_gguf_package():
    for name in ("Q4_K", "Q8_0", "Q2_K", "IQ4_XS", "Q6_K"):
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType[name]]
        f = get_format(name)
        assert (f.block, f.block_bytes) == (block, type_size)
    # Q4_K: 144 B per 256 weights = 4.5 bits; Q8_0: 34 B per 32 = 8.5 bits
    assert get_format("Q4_K").bits_per_weight == 144 * 8 / 256 == 4.5
    assert get_format("Q8_0").bits_per_weight == 8.5


def test_exact_tensor_bytes_per_layout():
    # FP8 128x128 blocks with UE8M0 scales, wq_a of Flash [1024, 4096]: 1024·4096 + 8·32 scales
    assert get_format("FP8_B128_UE8M0").tensor_bytes((1024, 4096)) == 1024 * 4096 + 8 * 32
    # F32 scales for the Base checkpoints: 4 bytes per block
    assert get_format("FP8_B128_F32").tensor_bytes((2048, 4096)) == 2048 * 4096 + 16 * 32 * 4
    # NVFP4: 0.5 B/weight + 1 B per 16 + 8 B per tensor
    assert get_format("NVFP4").tensor_bytes((64, 64)) == 64 * 64 // 2 + 64 * 4 + 8
    # INT4 group 128 (GPTQ): 4 bits + (16-bit scale + 4-bit zero) per group of 128
    assert get_format("INT4_G128").tensor_bytes((256, 1024)) == 256 * 1024 // 2 + 256 * 8 * 20 // 8
    assert get_format("INT4_G128").bits_per_weight == 4 + 20 / 128


def test_gguf_row_fallback_follows_llama_cpp():
    # llama.cpp tensor_type_fallback: Q4_K → Q5_0, Q6_K → Q8_0, Q2_K → Q4_0 for rows % 256 != 0
    assert storable_format(get_format("Q4_K"), 704).name == "Q5_0"
    assert storable_format(get_format("Q6_K"), 704).name == "Q8_0"
    assert storable_format(get_format("Q2_K"), 2112).name == "Q4_0"
    assert storable_format(get_format("Q4_K"), 4096).name == "Q4_K"


def test_use_more_bits_matches_llama_cpp_counts():
    # research notes: 21 of 43 layers (V4-Flash), 30 of 61 (V3 / V4-Pro)
    assert sum(use_more_bits(i, 43) for i in range(43)) == 21
    assert sum(use_more_bits(i, 61) for i in range(61)) == 30


def test_gguf_q8_0_of_v3_matches_bartowski_within_half_percent():
    # bartowski/DeepSeek-V3-0324-GGUF Q8_0: 713.29 GB (GGUF files carry no MTP module)
    w = weight_bytes(get_model("deepseek-v3"), "gguf-Q8_0")
    assert w.total_bytes == pytest.approx(713.29e9, rel=0.005)


def test_q4_k_m_bumps_output_and_ffn_down():
    w = weight_bytes(get_model("deepseek-v4-flash"), "gguf-Q4_K_M")
    # output.weight → Q6_K: 129280 rows × 4096/256 blocks × 210 B; ffn_down_exps in 21 of 43 layers
    head_q6k = 129280 * 16 * 210
    down_q6k = 21 * (256 + 1) * 4096 * (2048 // 256) * 210  # routed + shared down, Q6_K
    assert w.by_format["Q6_K"] == head_q6k + down_q6k
    assert "MXFP4" not in w.by_format


def test_real_q4_k_m_is_larger_than_the_official_fp4_checkpoint():
    # the article's "Q4 ≈ 80 GB" for Flash is official × 4/8; a real Q4_K_M is > the FP4 original
    real = weight_bytes(get_model("deepseek-v4-flash"), "gguf-Q4_K_M").total_bytes
    article_q4 = 159.61e9 * 4 / 8  # 79.8 GB, printed "80GB"
    assert real > 159_609_485_896
    assert real / article_q4 > 2.0


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ("gguf-Q4_KM", "gguf-Q4_K_M"),
        ("uniform:Q4_KK", "Q4_K"),
        ("routed_experts=Q9_K", "Q8_K"),
        ("routed_expert=Q4_K", "routed_experts"),
        ("routed_experts", "unknown recipe"),
    ],
)
def test_bad_recipes_name_the_valid_choices(recipe, message):
    with pytest.raises(VramkitError, match=message):
        weight_bytes(get_model("deepseek-v4-flash"), get_recipe(recipe))


def test_cli_weights_json_total_bytes(capsys):
    assert main(["weights", "--model", "deepseek-v4-flash", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_bytes"] == 159_609_485_896
    assert sum(g["bytes"] for g in out["groups"]) == out["total_bytes"]


def test_cli_weights_table_labels_units(capsys):
    assert main(["weights", "--model", "deepseek-v4-pro", "--recipe", "gguf-Q2_K"]) == 0
    out = capsys.readouterr().out
    assert "GB = 1e9 bytes, GiB = 2**30 bytes" in out
    assert "TOTAL" in out


def test_cli_unknown_model_is_one_line_error(capsys):
    assert main(["weights", "--model", "deepseek-v4-flsh"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vramkit: error: unknown model 'deepseek-v4-flsh'. Did you mean")
    assert "Traceback" not in err


def test_cli_config_file_layout_from_quantization_config(tmp_path, capsys):
    cfg = dict(get_model("deepseek-v4-flash").config)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert main(["weights", "--config", str(tmp_path / "config.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_bytes"] == 159_609_485_896


def test_cli_config_file_malformed(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{not json")
    assert main(["weights", "--config", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_every_recipe_in_the_table_names_known_groups_and_formats():
    from vramkit.quant import recipe_ids

    for rid in recipe_ids():
        r = get_recipe(rid)  # validates its rules on first use
        assert r.id == rid
