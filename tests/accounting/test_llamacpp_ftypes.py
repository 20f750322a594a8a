"""Every file type llama-quantize offers is a vramkit recipe; figures that the Q3_K_M fix moved."""

from __future__ import annotations

from dataclasses import replace

import pytest
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from vramkit.catalog import get_model
from vramkit.datafiles import DATA_DIR, load_yaml_text
from vramkit.errors import VramkitError
from vramkit.format_facts import GGML_TYPES_AHEAD_OF_PYPI_GGUF, ggml_block
from vramkit.quant import get_recipe, recipe_ids, tensor_formats, weight_bytes
from vramkit.runtimes.llamacpp.ftypes import FTYPE_DEFAULT, file_types, ftype_names

DOC = load_yaml_text((DATA_DIR / "llamacpp_ftypes.yaml").read_text())


def test_the_list_is_llama_quantize_quant_options_with_its_source():
    # tools/quantize/quantize.cpp L34-75 at 0c1e57098bba: 39 options (3 aliases, COPY)
    assert "0c1e57098bba43ac29e6e3b677cdceebdd22334f" in DOC["source"]["url"]
    names = [f["name"] for f in DOC["ftypes"]]
    assert len(names) == 39 == len(set(names))
    for new in ("Q4_1", "Q5_1", "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M"):
        assert new in names
    for new in ("IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0"):
        assert new in names
    assert "MXFP4_MOE" in names
    assert "Q1_0" in names
    assert "Q2_0" in names
    assert [f["line"] for f in DOC["ftypes"]] == sorted(f["line"] for f in DOC["ftypes"])


@pytest.mark.parametrize("ft", file_types(), ids=lambda f: f.name)
def test_every_llama_quantize_file_type_is_a_recipe(ft):
    r = get_recipe(f"gguf-{ft.name}")
    assert r.kind == "llamacpp"
    assert r.ftype == ft.canonical
    assert f"gguf-{ft.canonical}" in recipe_ids()
    if ft.canonical != "COPY":
        assert ft.canonical in FTYPE_DEFAULT  # its default type (llama_ftype_get_default_type)


def test_aliases_are_the_same_recipe():
    # QUANT_OPTIONS: "Q4_K" → LLAMA_FTYPE_MOSTLY_Q4_K_M ("alias for Q4_K_M"), same for Q3_K, Q5_K
    assert get_recipe("gguf-Q4_K") is get_recipe("gguf-Q4_K_M")
    assert get_recipe("gguf-q3_k").id == "gguf-Q3_K_M"  # llama-quantize matches case-insensitively
    assert len(ftype_names()) == 39 - 3


@pytest.mark.parametrize("ftype", ftype_names())
def test_every_file_type_sizes_v4_flash_and_llama(ftype):
    # block sizes from the gguf package (Q2_0: the pinned llama.cpp's own gguf-py, below): each
    # type's bytes are rows × blocks × block bytes
    for model in ("deepseek-v4-flash", "llama-3.1-70b"):
        m = get_model(model)
        w = weight_bytes(m, f"gguf-{ftype}")
        assert w.total_bytes > 0
        for t, fmt in tensor_formats(m, f"gguf-{ftype}"):
            if fmt.layout == "gguf" and fmt.block > 1:
                block, size = ggml_block(fmt.name)
                assert (fmt.block, fmt.block_bytes) == (block, size)
                assert t.shape[-1] % block == 0


def test_q2_0_block_size_from_the_pinned_llama_cpp_gguf_py():
    # llama-quantize offers Q2_0 (quantize.cpp L36: "2.25 bpw quantization (group 64)"); the gguf
    # package on PyPI (0.19.0, the newest) has no Q2_0, the pinned llama.cpp's own gguf-py has
    # "GGMLQuantizationType.Q2_0:    (64, 2 + 16)": an FP16 scale + 64 two-bit values = 18 B
    assert GGML_TYPES_AHEAD_OF_PYPI_GGUF == {"Q2_0": (64, 18)}
    assert 18 * 8 / 64 == 2.25
    if "Q2_0" in GGMLQuantizationType.__members__:  # a newer gguf must agree with the pin
        assert GGML_QUANT_SIZES[GGMLQuantizationType.Q2_0] == (64, 18)
    assert ggml_block("Q2_0") == (64, 18)
    assert ggml_block("Q4_K") == GGML_QUANT_SIZES[GGMLQuantizationType.Q4_K]
    assert ggml_block("Q9_9") is None


@pytest.mark.parametrize(
    ("model", "quant_mib"), [("llama-3.1-70b", 19_750.61), ("deepseek-v4-flash", 76_762.53)]
)
def test_q2_0_equals_llama_quantize_quant_size(model, quant_mib):
    # llama-quantize --dry-run Q2_0 of the pinned llama.cpp printed "quant size  = 19750.61 MiB"
    # (Llama 3.1 70B) and "76762.53 MiB" (V4-Flash, no MTP in the file): data/measured/
    # llamacpp_quantize/<model>.json. vramkit's bytes round to the same 0.01 MiB.
    w = weight_bytes(get_model(model), "gguf-Q2_0+no-imatrix")
    assert round(w.main_bytes / 2**20, 2) == quant_mib


def test_a_ggml_type_nobody_knows_is_refused_clearly():
    from vramkit.runtimes.llamacpp.mix import _block

    with pytest.raises(VramkitError, match="no block size for it"):
        _block("Q9_9")


def test_v4_flash_q3_k_m_gives_every_ffn_down_q4_k_or_better():
    # llama-quant.cpp L634-638: new_type = i_layer < n_layer/16 ? Q5_K
    #   : arch != LLM_ARCH_FALCON || use_more_bits(i_layer, n_layer) ? Q4_K : Q3_K
    # V4-Flash: 43 layers, 43/16 = 2 → layers 0-1 Q5_K, the other 41 Q4_K; per layer 256 routed +
    # 1 shared down projection of 4096 rows × 2048/256 blocks (Q5_K 176 B, Q4_K 144 B per block)
    w = weight_bytes(get_model("deepseek-v4-flash"), "gguf-Q3_K_M")
    assert w.by_format["Q5_K"] == 2 * 257 * 4096 * 8 * 176 == 2_964_324_352
    assert w.by_format["Q4_K"] == 41 * 257 * 4096 * 8 * 144 == 49_719_803_904
    # before the fix vramkit gave 20 of those 41 layers Q3_K: 129.23 GB, now 135.3 GB (+4.7 %)
    assert w.total_bytes == pytest.approx(135.31e9, abs=0.01e9)


def test_llama_70b_attn_v_bump():
    # L593-598: LLM_TYPE_70B (llama arch, 80 layers, GQA) lifts Q4_K attn_v to Q5_K: all 80 attn_v
    # [1024, 8192] of Llama 3.1 70B are Q5_K or Q6_K under Q4_K_M (none stays Q4_K)
    m = get_model("llama-3.1-70b")
    v = [f.name for t, f in tensor_formats(m, "gguf-Q4_K_M") if t.gguf_class == "attn_v"]
    assert len(v) == 80
    assert set(v) == {"Q5_K", "Q6_K"}
    assert v.count("Q6_K") == sum(
        1 for i in range(80) if i < 10 or i >= 70 or (i - 10) % 3 == 2
    )  # use_more_bits(i, 80)


def test_v4_tensors_as_llama_cpp_converts_and_quantizes_them():
    # converter (conversion/deepseek.py tensor_force_quant, _write_hash_routing_tensors): router
    # BF16, tid2eid I32; llama-quantize (tensor_allows_quantization) keeps those and 1-D tensors,
    # and quantizes the 2-D hc_*_fn mixers and compressor ape tables like any other weight
    m = get_model("deepseek-v4-flash")
    by_role = {}
    for t, f in tensor_formats(m, "gguf-Q8_0"):
        by_role.setdefault(t.role, set()).add(f.name)
    assert by_role["gate"] >= {"BF16"}
    assert by_role["tid2eid"] == {"I32"}
    assert by_role["hc_fn"] == {"Q8_0"}
    assert by_role["hc_head_fn"] == {"Q8_0"}
    assert by_role["ape"] == {"Q8_0"}
    assert by_role["compressor_ape"] == {"Q8_0"}
    assert by_role["hc_base"] == {"FP32"}
    assert by_role["attn_norm"] == {"FP32"}
    # MXFP4_MOE (the converter's own file type): experts MXFP4, every other matrix Q8_0
    mx = {f.name for t, f in tensor_formats(m, "gguf-MXFP4_MOE") if t.experts_per_token}
    assert mx == {"MXFP4"}


def test_matrices_without_a_gguf_class_are_quantized_vectors_kept():
    # a matrix the family gives no llama.cpp name (Gemma 3's vision tower) is a ".weight" of
    # category "other": the file type's default type; a 1-D bias stays F32 (converter, base.py)
    from vramkit.quant import gguf_name

    m = get_model("deepseek-v4-flash")
    t = next(x for x in m.inventory if x.role == "wq_a")
    bare = replace(t, gguf_class="")  # TensorSpec has slots: a copy through dataclasses
    assert gguf_name(bare) == "blk.0.wq_a.weight"
    vec = next(x for x in m.inventory if x.role == "attn_norm")
    assert not gguf_name(vec).endswith(".weight")
