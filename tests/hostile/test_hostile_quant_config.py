"""Hostile quantization_config values and checkpoint format names: each ends in one clear
VramkitError (CLI: one ``vramkit: error:`` line, exit 2), never a traceback or a wrong size."""

from __future__ import annotations

import json

import pytest

from vramkit.catalog import get_model
from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.model.configfile import model_from_config
from vramkit.quant.formats import get_format

GROUP = {
    "targets": ["Linear"],
    "weights": {"num_bits": 4, "type": "int", "strategy": "group", "group_size": 128},
}


GPTQ = {"quant_method": "gptq", "bits": 4, "group_size": 128}
AWQ = {"quant_method": "awq", "bits": 4, "group_size": 128}


def _ct(**over):
    return {
        "quant_method": "compressed-tensors",
        "format": "pack-quantized",
        "ignore": ["lm_head"],
        "config_groups": {"group_0": GROUP},
        **over,
    }


def _ct_weights(**weights):
    return _ct(config_groups={"g": {**GROUP, "weights": {**GROUP["weights"], **weights}}})


CASES = [
    ({**GPTQ, "bits": 5}, "bits 5 is not supported; allowed: 2, 3, 4, 8"),
    ({"quant_method": "gptq", "group_size": 128}, "bits is missing"),
    ({"quant_method": "gptq", "bits": 4}, "group_size is missing"),
    ({"quant_method": "awq", "bits": 4}, "group_size is missing"),
    (
        {"quant_method": "awq", "w_bit": 0, "q_group_size": 128},
        "bits 0 is not supported; allowed: 4",
    ),
    (_ct(transform_config={"config_groups": {}}), "transform_config"),
    ({**GPTQ, "bits": "4"}, "bits must be int"),
    ({**GPTQ, "bits": True}, "bits must be an integer"),
    ({**GPTQ, "group_size": 0}, "group_size must be -1 or a positive size"),
    ({**GPTQ, "group_size": float("nan")}, "group_size must be int"),
    ({**GPTQ, "desc_act": "yes"}, "desc_act must be bool"),
    ({**GPTQ, "checkpoint_format": "marlin"}, "checkpoint_format 'marlin'"),
    (
        {**GPTQ, "modules_in_block_to_quantize": [["self_attn.q_proj"]]},
        "partial GPTQ",
    ),
    ({"quant_method": "GPTQ", "bits": 9}, "allowed: 2, 3, 4, 8"),
    ({**AWQ, "bits": 3}, "bits 3 is not supported; allowed: 4"),
    ({**AWQ, "version": "gemv"}, "version 'gemv' is not supported"),
    ({**AWQ, "group_size": -1}, "AWQ group_size must be a positive size"),
    ({**AWQ, "modules_to_not_convert": "lm_head"}, "must be a list of module"),
    ({**AWQ, "modules_to_not_convert": [""]}, "must be a list of module"),
    ({**AWQ, "modules_to_not_convert": ["layers"]}, "quantizes no tensor"),
    ({"quant_method": "bitsandbytes"}, "exactly one of load_in_4bit and load_in_8bit"),
    (
        {"quant_method": "bitsandbytes", "load_in_4bit": True, "load_in_8bit": True},
        "exactly one of load_in_4bit and load_in_8bit",
    ),
    (
        {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf5"},
        "bnb_4bit_quant_type 'nf5' is not supported; allowed: 'nf4', 'fp4'",
    ),
    (_ct(config_groups={}), "config_groups must be a non-empty object"),
    (_ct(config_groups=[1]), "config_groups must be a non-empty object"),
    (_ct(config_groups={"g": 3}), "must be an object"),
    (_ct(config_groups={"g": {**GROUP, "targets": []}}), "targets must name at least one"),
    (_ct(config_groups={"g": {**GROUP, "targets": ["Embedding"]}}), "class 'Embedding'"),
    (_ct(config_groups={"g": {"targets": ["Linear"]}}), "weights must be an object"),
    (_ct(format="marlin-24"), "format 'marlin-24' is not read"),
    (_ct(format=None), "format is missing"),
    (_ct(sparsity_config={"format": "sparse-24"}), "sparse (2:4)"),
    (_ct(ignore=["re:(["]), "not a valid regular expression"),
    (_ct(ignore=["re:.*"]), "quantizes no tensor"),
    (_ct_weights(strategy="tokenwise"), "strategy 'tokenwise' is not supported"),
    (_ct_weights(num_bits=3), "num_bits 3 is not supported; allowed: 2, 4, 8"),
    (_ct_weights(type="float", num_bits=8), "pack-quantized stores int weights"),
    (_ct_weights(group_size=None), "needs a group_size"),
    (_ct_weights(actorder="random"), "actorder 'random' is not supported"),
    (
        _ct_weights(type="float", strategy="tensor_group", group_size=32),
        "NVFP4 stores one FP8 scale per 16",
    ),
    (
        _ct(
            format="float-quantized",
            config_groups={
                "g": {
                    **GROUP,
                    "weights": {
                        "num_bits": 8,
                        "type": "float",
                        "strategy": "block",
                        "block_structure": [128, 64],
                    },
                }
            },
        ),
        "square [n, n] block",
    ),
    (
        _ct(
            format="float-quantized",
            config_groups={
                "g": {
                    **GROUP,
                    "weights": {
                        "num_bits": 8,
                        "type": "float",
                        "strategy": "channel",
                        "symmetric": False,
                    },
                }
            },
        ),
        "asymmetric FP8",
    ),
    (
        _ct(config_groups={"g": {**GROUP, "input_activations": "fp8"}}),
        "input_activations must be an object or null",
    ),
    ({"quant_method": "fp8", "activation_scheme": "sometimes"}, "activation_scheme 'sometimes'"),
    (
        {"quant_method": "fp8", "weight_block_size": [128, 64], "ignored_layers": ["lm_head"]},
        "square [n, n] block",
    ),
    ({"quant_method": "fp8", "ignored_layers": "lm_head"}, "must be a list of module"),
    ({"quant_method": "hqq"}, "cannot tell the stored layout"),
    ({"quant_method": 7}, "cannot tell the stored layout"),
]


@pytest.mark.parametrize(("q", "needle"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_quantization_config_is_one_clear_error(q, needle):
    cfg = {**get_model("llama-3.1-70b").config, "quantization_config": q}
    with pytest.raises(VramkitError) as err:
        model_from_config(cfg)
    msg = str(err.value)
    assert needle in msg
    assert "\n" not in msg
    assert len(msg) < 600


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("GPTQ_W5_G128", "bits in [2, 3, 4, 8]"),
        ("GPTQ_W4", "and a group"),
        ("GPTQ_W4_G0", "out of range"),
        ("AWQ_W4_CH", "AWQ needs a group size"),
        ("CT_FP8", "needs a scale strategy"),
        ("CT_FP8_W8_CH", "takes no W<bits>"),
        ("CT_NVFP4_G16", "takes no group"),
        ("BNB_NF4_XYZ", "unknown flag"),
        ("GPTQ-W4", "unknown weight format"),
        ("CT_", "unknown checkpoint format"),
    ],
)
def test_bad_checkpoint_format_name(name, needle):
    with pytest.raises(VramkitError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        get_format(name)


def test_cli_one_line(tmp_path, capsys):
    cfg = {**get_model("llama-3.1-70b").config, "quantization_config": {"quant_method": "awq",
                                                                      "bits": 8}}  # fmt: skip
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    assert main(["weights", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("vramkit: error:")
    assert "allowed: 4" in err[0]
