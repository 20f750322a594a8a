"""vramkit.runtimes.llamacpp.cuda: the CUDA backend's terms, each pinned to the arithmetic its source
lines state (ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f). No GPU was lent to
these sessions: the terms are code-derived, and labelled so."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.runtimes.llamacpp import arch as la
from vramkit.runtimes.llamacpp import cuda as lc
from vramkit.runtimes.llamacpp import memory as lm


def test_every_term_names_its_source_lines_and_says_it_was_not_measured():
    terms = [
        lc.output_buffer(151936, 1, output_on_gpu=True),
        lc.fa_f16_extra(128, 128, 4096, 8, 1, cache_k="q8_0", cache_v="q8_0"),
        lc.moe_pool_workspace(512, 8, 2048, 768),
    ]
    for t in terms:
        assert t.source.startswith(lc.URL)
        assert "#L" in t.source
        assert "not measured on a GPU" in t.kind


def test_logits_buffer_is_n_vocab_floats_per_sequence_in_host_memory():
    # llama-context.cpp output_reserve: n_vocab x max(n_outputs, n_seq_max) x sizeof(float)
    t = lc.output_buffer(151936, 4, output_on_gpu=True)
    assert t.bytes == 151936 * 4 * 4
    assert t.where.startswith("host, pinned")
    assert lc.output_buffer(151936, 1, output_on_gpu=False, n_outputs=2048).bytes == (
        151936 * 2048 * 4
    )


def test_flash_attention_copies_a_quantized_cache_to_f16():
    # fattn-common.cuh L53-80: pad to 128, then 2 bytes per K element, and again for V
    k = 128 * 4096 * 8 * 1
    t = lc.fa_f16_extra(128, 128, 4096, 8, 1, cache_k="q8_0", cache_v="q8_0")
    assert t.bytes == 128 + 2 * k + 128 + 2 * k
    assert lc.fa_f16_extra(128, 128, 4096, 8, 1, cache_k="q8_0", cache_v="q8_0",
                           v_is_k_view=True).bytes == 128 + 2 * k  # fmt: skip
    assert lc.fa_f16_extra(128, 128, 4096, 8, 1, cache_k="f16", cache_v="f16").bytes == 0


def test_moe_workspace_is_the_sorted_copies():
    # ggml-cuda.cu L1965-1970: 2 n_tokens k int32 ids + n_tokens k ne10 + n_tokens k ne0 F32,
    # all three live in one call; gate/up: ne10 = n_embd, ne0 = n_ff (down: the reverse)
    t = lc.moe_pool_workspace(512, 8, 2048, 768)
    assert t.bytes == 8 * 512 * 8 + 4 * 512 * 8 * 2048 + 4 * 512 * 8 * 768


def test_quantized_row_padding_is_one_row_per_tensor():
    # ggml-cuda.cu L911-917: size += ggml_row_size(type, 512 - ne0 % 512), once per tensor
    assert lc.quantized_row_padding(4096, 32, 34) == 0  # q8_0, ne0 a multiple of 512
    # ne0 = 2880 (gpt-oss): 3072 - 2880 = 192 elements = 6 q8_0 blocks of 34 bytes
    assert lc.quantized_row_padding(2880, 32, 34) == 6 * 34
    # ne0 = 768 (Qwen3-30B-A3B's expert width) in q4_K (256 per 144-byte block): 256 elements
    assert lc.quantized_row_padding(768, 256, 144) == 144


@pytest.mark.parametrize(
    "call",
    [
        lambda: lc.output_buffer(0, 1, output_on_gpu=True),
        lambda: lc.output_buffer(1000, 1.5, output_on_gpu=True),
        lambda: lc.fa_f16_extra(128, 128, 0, 8, 1, cache_k="q8_0", cache_v="q8_0"),
        lambda: lc.moe_pool_workspace(512, -1, 2048, 768),
        lambda: lc.quantized_row_padding(2880, "ten", 34),
        lambda: lc.quantized_row_padding(2880, 32, 0),
        lambda: lc.pinned_host_compute(-1),
    ],
)
def test_bad_input_is_one_vramkit_error(call):
    with pytest.raises(VramkitError):
        call()


def test_cuda_replay_puts_the_copies_in_the_attention_node():
    """A hand-worked graph: the output (F32 [8, 4]) then a flash-attention node reading a
    q8_0 K and V of [32, 64] each. On CUDA the node's allocation is its 128 bytes, padded to
    128, then 2 x 2048 bytes for K and as many for V (fattn-common.cuh L53-80); the CPU
    allocates only the output."""
    ones = [[1, 1, ""]]
    doc = {
        "align": 32,
        "rows": [[0, [[[1, 1, "a"]], [[4, 1, ""]], ones, ones]],
                 [8, [[[32, 1, ""]], [[1, 1, "kv"]], ones, ones]]],
        "events": [[0, 0, 1, 1, 0], [1, 0, 0]],
    }  # fmt: skip
    sizes = {"0": [1, 4], "8": [32, 34]}
    q = {"a": 8, "kv": 64}
    assert la.replay_template(doc, q, sizes) == 128
    assert la.replay_template(doc, q, sizes, cuda=True) == 128 + 2 * 2048 + 2 * 2048
    doc["events"][0][-1] = 1  # V is a view of K (MLA): one copy
    assert la.replay_template(doc, q, sizes, cuda=True) == 128 + 2 * 2048


def test_cuda_replay_of_an_f16_cache_differs_only_by_alignment():
    cfg = {"model_type": "qwen3", "hidden_size": 4096, "num_attention_heads": 32,
           "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 12288,
           "vocab_size": 151936, "num_hidden_layers": 36}  # fmt: skip
    f16 = lm.Settings(32768)
    cpu, cuda = la.arch_compute(cfg, f16), la.arch_compute(cfg, f16, cuda=True)
    assert abs(cuda.bytes - cpu.bytes) < 2**20
    assert "CUDA" in cuda.reason
