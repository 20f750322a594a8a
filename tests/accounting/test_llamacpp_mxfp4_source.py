"""llama.cpp file types over a checkpoint stored in MXFP4 (gpt-oss), at the pinned llama.cpp
(ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f).

The converter (conversion/gpt_oss.py L49-82) writes gpt-oss's MXFP4 experts as GGML MXFP4 blocks
from ``generate_extra_tensors``, outside the ``--outtype`` loop (conversion/base.py L1057,
L1142-1156): at f16 / bf16 / q8_0 / f32 / auto the experts stay MXFP4, the other matrices take
the outtype, 1-D tensors, biases and the router F32. llama-quantize then copies a tensor whose
target is its source type (src/llama-quant.cpp L1238: MXFP4_MOE's experts) and refuses to change
a block-type source without ``--allow-requantize`` (L1306-1307); with it (the kit's
``gguf-<TYPE>``, as its measured fixtures ran ``--dry-run --allow-requantize``) it dequantizes
and quantizes again. The converter's own file is ``convert-<TYPE>``: the file GGUF repositories
publish as "F16" for gpt-oss.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vramkit.commands import weights as weights_cmd
from vramkit.model.configfile import model_from_config_file
from vramkit.quant import get_recipe, recipe_ids, requantized, tensor_formats, weight_bytes
from vramkit.runtimes.llamacpp.mix import CONVERTER_OUTTYPES, converter_type

ROOT = Path(__file__).resolve().parents[2]
GIB = 2**30
MXFP4_BYTES_PER_32 = 17  # 16 B of E2M1 nibbles + one E8M0 scale per 32 weights


def _model(size: str):
    return model_from_config_file(str(ROOT / f"data/examples/gpt-oss-{size}/config.json"))


def _issue_895() -> dict:
    logs = json.loads((ROOT / "tests/fixtures/ik_published/logs.json").read_text())["logs"]
    return next(x for x in logs if x["id"] == "ik-895-gpt-oss-120b-cpu-moe")


@pytest.mark.parametrize("outtype", ["auto", *CONVERTER_OUTTYPES])
def test_the_converter_keeps_gpt_oss_experts_mxfp4_at_every_outtype(outtype):
    kw = {"arch": "gpt-oss", "native": "BF16", "outtype": outtype, "ne0": 2880}
    exps = converter_type("blk.0.ffn_down_exps.weight", 3, checkpoint="MXFP4", **kw)
    assert exps == "MXFP4"
    attn = converter_type("blk.0.attn_q.weight", 2, checkpoint="BF16", **kw)
    assert attn == {"auto": "BF16"}.get(outtype, outtype)
    # biases, the router (FFN_GATE_INP) and 1-D tensors: F32 whatever the outtype (base.py L1084-1120)
    assert converter_type("blk.0.attn_q.bias", 1, checkpoint="BF16", **kw) == "F32"
    assert converter_type("blk.0.ffn_gate_inp.weight", 2, checkpoint="BF16", **kw) == "F32"
    assert converter_type("blk.0.attn_sinks.weight", 1, checkpoint="BF16", **kw) == "F32"


def test_q8_0_outtype_falls_back_to_f16_on_rows_a_block_does_not_fill():
    # base.py L1162-1167: gguf.QuantError (can_quantize: rows of whole 32-blocks) → F16
    kw = {"arch": "llama", "native": "BF16", "outtype": "Q8_0"}
    assert converter_type("blk.0.attn_q.weight", 2, ne0=4096, **kw) == "Q8_0"
    assert converter_type("blk.0.attn_q.weight", 2, ne0=4100, **kw) == "F16"


def test_convert_f16_is_the_published_unsloth_120b_f16_file():
    # ik_llama.cpp issue #895 loads unsloth gpt-oss-120b-F16.gguf: "type f32: 433 tensors / type
    # f16: 146 tensors / type mxfp4: 108 tensors; model size = 60.868 GiB (4.475 BPW)"
    log = _issue_895()
    counts = {t: int(n) for t, n in re.findall(r"type +(\w+): +(\d+) tensors", log["file"])}
    size_gib, bpw = map(float, re.search(r"= ([\d.]+) GiB \(([\d.]+) BPW", log["file"]).groups())
    m = _model("120b")
    pairs = tensor_formats(m, "convert-F16")
    by_type = {"FP32": "f32", "FP16": "f16", "MXFP4": "mxfp4"}
    got: dict[str, int] = {}
    for _, fmt in pairs:
        got[by_type[fmt.name]] = got.get(by_type[fmt.name], 0) + 1
    assert got == counts == {"f32": 433, "f16": 146, "mxfp4": 108}
    # 36 layers, 128 experts, hidden 2,880 = intermediate 2,880; 64 q heads and 8 kv heads of 64;
    # vocab 201,088 (data/examples/gpt-oss-120b/config.json)
    L, E, H, V = 36, 128, 2880, 201088
    mxfp4 = L * 3 * E * H * H * MXFP4_BYTES_PER_32 // 32  # gate, up, down experts
    f16 = 2 * (2 * V * H + L * H * (4096 + 512 + 512 + 4096))  # embd + output, q k v o
    per_layer_f32 = (
        2 * H  # attn_norm, post_attention_norm
        + 4096 + 512 + 512 + H  # q, k, v, o biases
        + 64  # attn_sinks
        + E * H + E  # router weight (FFN_GATE_INP: F32) and bias
        + 3 * E * H  # gate, up, down expert biases
    )  # fmt: skip
    f32 = 4 * (L * per_layer_f32 + H)  # + output_norm
    assert (mxfp4, f16, f32) == (60_914_073_600, 4_227_563_520, 214_357_248)
    w = weight_bytes(m, "convert-F16")
    assert w.total_bytes == mxfp4 + f16 + f32 == 65_355_994_368
    assert round(w.total_bytes / GIB, 3) == size_gib == 60.868
    assert round(8 * w.total_bytes / w.total_params, 3) == bpw == 4.475
    # the #895 log's own file recipe (a selector map) sizes the same bytes, group by group
    assert dict(weight_bytes(m, log["file_recipe"]).by_group) == dict(w.by_group)
    # BF16 is the same size; --outtype auto on a BF16 checkpoint = COPY of the converter's file
    assert weight_bytes(m, "convert-BF16").total_bytes == w.total_bytes
    assert weight_bytes(m, "gguf-COPY").total_bytes == w.total_bytes


def test_convert_f16_is_the_published_20b_f16_file():
    # huggingface.co/unsloth/gpt-oss-20b-GGUF/tree/main: "gpt-oss-20b-F16.gguf 13.8 GB" (and
    # DevQuasar/openai.gpt-oss-20b-GGUF "openai.gpt-oss-20b.f16.gguf 13.8 GB"); the file adds a
    # GGUF header (metadata and the 201,088-token vocabulary: tens of MB at most) to the tensors
    L, E, H, V = 24, 32, 2880, 201088
    mxfp4 = L * 3 * E * H * H * MXFP4_BYTES_PER_32 // 32
    f16 = 2 * (2 * V * H + L * H * (4096 + 512 + 512 + 4096))
    f32 = 4 * (L * (2 * H + 4096 + 512 + 512 + H + 64 + E * H + E + 3 * E * H) + H)
    w = weight_bytes(_model("20b"), "convert-F16")
    assert w.total_bytes == mxfp4 + f16 + f32 == 13_779_630_336
    assert w.total_bytes >= 13.75e9  # "13.8 GB" with a header under 50 MB
    assert w.total_bytes + 50e6 < 13.85e9


def test_q8_0_of_each_tool_against_published_20b_files():
    m = _model("20b")
    L, E, H, V = 24, 32, 2880, 201088
    q8 = (2 * V * H + L * H * (4096 + 512 + 512 + 4096)) * 34 // 32  # 34 B per 32 weights
    f32 = 4 * (L * (2 * H + 4096 + 512 + 512 + H + 64 + E * H + E + 3 * E * H) + H)
    mxfp4 = L * 3 * E * H * H * MXFP4_BYTES_PER_32 // 32
    # the converter's q8_0 (experts kept MXFP4) = llama-quantize MXFP4_MOE (output Q8_0,
    # experts copied): bartowski/openai_gpt-oss-20b-GGUF "gpt-oss-20b-MXFP4.gguf 12.1GB"
    conv = weight_bytes(m, "convert-Q8_0").total_bytes
    assert conv == weight_bytes(m, "gguf-MXFP4_MOE").total_bytes == q8 + f32 + mxfp4
    assert round(conv / 1e9, 1) == 12.1
    # llama-quantize Q8_0 with --allow-requantize: experts MXFP4 → Q8_0 (34 B per 32), as
    # DevQuasar/openai.gpt-oss-20b-GGUF "openai.gpt-oss-20b.Q8_0.gguf 22.3 GB" (header included)
    quant = weight_bytes(m, "gguf-Q8_0").total_bytes
    assert quant == q8 + f32 + L * 3 * E * H * H * 34 // 32 == 22_248_903_936
    assert quant + 50e6 >= 22.25e9  # "22.3 GB" with a header under 50 MB
    assert quant < 22.35e9


def test_the_kits_gguf_f16_says_it_requantizes():
    m = _model("120b")
    assert requantized(m, "gguf-F16") == {("MXFP4", "F16"): 108}
    assert requantized(m, "gguf-Q8_0") == {("MXFP4", "Q8_0"): 108}
    # MXFP4_MOE keeps the experts (target = source: copied, L1238); COPY / convert-* change nothing
    for r in ("gguf-MXFP4_MOE", "gguf-COPY", "convert-F16", "convert-Q8_0"):
        assert requantized(m, r) == {}
    # 217.7 GiB: 108 expert tensors of 128 × 2,880 × 2,880 in F16 instead of MXFP4
    f16 = weight_bytes(m, "gguf-F16").total_bytes
    conv = weight_bytes(m, "convert-F16").total_bytes
    assert f16 - conv == 108 * 128 * 2880 * 2880 * (2 - MXFP4_BYTES_PER_32 / 32)
    note = weights_cmd._requant_note("F16", [{"from": "MXFP4", "to": "F16", "tensors": 108}])
    assert "--allow-requantize" in note
    assert "convert-F16" in note


def test_convert_recipes_are_listed_and_make_no_quantize_step():
    from vramkit.plan.getfile import gguf_file

    assert {f"convert-{t}" for t in CONVERTER_OUTTYPES} <= set(recipe_ids())
    m = _model("120b")
    f = gguf_file(m, get_recipe("convert-F16"))
    assert f.steps[-1].endswith("--outtype f16 --outfile gpt-oss-120b-F16.gguf")
    assert not any(s.startswith("llama-quantize") for s in f.steps)
    q = gguf_file(m, get_recipe("gguf-Q4_K_M"))
    assert q.steps[-1].startswith("llama-quantize --allow-requantize ")
    assert gguf_file(m, get_recipe("gguf-MXFP4_MOE")).steps[-1].startswith("llama-quantize gpt")
