"""ik_llama.cpp's own rules (vramkit.runtimes.ik_llama_rules), each pinned to its code at
ikawrakow/ik_llama.cpp@8337e4cd3861406fc04e0854b1409cd1b027fbc9 with the arithmetic written out,
and checked against figures published in ik_llama.cpp's issues (held out: none was used to write
a rule; the rules are read from the code).

Measured spread on the published figures (tests below):
- KV, -mla 2/3 latent cache: exact to the printed 0.01 MiB on both logs (PR #259, PR #2045).
- -amb head split: exact (iterations and F32 chunk MiB, PR #1375).
- compute, MLA decompression chunk without -amb: +8.3 % over the author's own 12 GiB (PR #260:
  the kit also counts the repeated RoPE keys, 1 GiB, that the description leaves out).
- compute, K*Q without flash attention: exact per KV cell (PR #237: 256 KiB per token); K*Q +
  masks −0.20 % on gpt-oss-20b at 131K (issue #822); 7.40 GiB against a user's "7 GB" for
  GLM-4.5 with -amb ignored (issue #755; a rounded figure).
- DeepSeek V4 compressed caches at 4 streams: 26.3 MiB per 1k tokens of total context against
  PR #2239's "~33 MiB" (-20 %; the slot count behind that figure is not stated; was -80 %).
- gpt-oss-120b with -fa -fmoe (issue #895): KV exact; CUDA compute +1.4 % (llama.cpp's graph,
  no ik attention term with -fa); host compute −5.8 % with the fused MoE (llama.cpp's
  unfused sequence: +23.1 %); model buffers (-rtr --cpu-moe) exact: CPU 58,244.06, CUDA_Host
  1,104.61, CUDA0 3,131.54 MiB, the last with the expert biases ik keeps on the GPU too. The
  plan's CUDA0 compute buffer stays +1.4 % with ik's own CUDA terms
  (vramkit.runtimes.ik_llama_cuda, tests/engines/test_ik_llama_cuda.py): its expert offload
  rule moves no expert at -ub 512, where llama.cpp's would copy one in (+145.7 %).
"""

from __future__ import annotations

import pytest

from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.kv import kv_cache
from vramkit.kv.formats import resolve_cache_dtype
from vramkit.runtimes import get_runtime
from vramkit.runtimes import ik_llama_rules as ik

MIB, GIB = 2**20, 2**30
V3 = "deepseek-v3"  # 61 main layers, 128 heads, kv_lora_rank 512, qk_rope 64, qk_nope 128, v 128


def _cache(name: str):
    return resolve_cache_dtype(name, get_runtime("ik_llama.cpp").kv, "default")


# ── cache types ──────────────────────────────────────────────────────────────────────────────
def test_q8_kv_row_is_values_plus_eight_bytes():
    # ggml/src/ggml.c L1462-L1472: blck_size 32, type_size 32, row_meta_size 8;
    # ggml_row_size = row_meta + type_size * n / blck (L4808-L4811): 8 + 576 = 584 B
    assert ik.row_bytes("Q8_KV", 576) == 8 + 32 * 576 // 32 == 584
    # q6_0: block_q6_0 = half d (2) + qh[8] + qs[16] = 26 B per 32 values (ggml-common.h L218-224)
    assert ik.row_bytes("Q6_0", 128) == 128 // 32 * (2 + 8 + 16) == 104
    with pytest.raises(VramkitError, match="blocks of 32"):
        ik.row_bytes("Q8_KV", 100)


def test_ik_cache_types_only_on_ik():
    with pytest.raises(VramkitError, match="does not offer cache dtype 'q8_KV'"):
        kv_cache(V3, 4096, runtime="llama.cpp", cache_dtype="q8_KV")


# ── KV layouts under -mla ────────────────────────────────────────────────────────────────────
def test_mla3_q8_0_matches_published_log():
    # PR #259 (ubergarm, DeepSeek-R1, -c 32768 -ctk q8_0): "KV self size = 1166.62 MiB,
    # c^KV (q8_0): 1166.62 MiB, kv^T: not used". One 576-value q8_0 row per cell and layer:
    # 576 / 32 x 34 = 612 B; 61 x 32,768 x 612 B = 1,223,294,976 B = 1166.625 MiB
    est = kv_cache(V3, 32768, runtime="ik_llama.cpp", cache_dtype="q8_0")
    assert est.total_bytes == 61 * 32768 * 612
    assert round(est.total_bytes / MIB, 2) == pytest.approx(1166.62, abs=0.005)


def test_mla_latent_rows_held_out_glm_dsa_log():
    # PR #2045 (2026-06-28, GLM-DSA 744B-A40B: 79 layers, src/llama-hparams.cpp L1943, -c 100096
    # -ctk q8_0 -mla 3 -fa): "KV self size = 4615.25 MiB, c^KV (q8_0): 4615.25 MiB"
    cfg = {"num_attention_heads": 64, "qk_nope_head_dim": 192, "qk_rope_head_dim": 64,
           "v_head_dim": 256, "kv_lora_rank": 512}  # fmt: skip
    (piece,) = ik.mla_pieces(cfg, _cache("q8_0"), _cache("q8_0"), 3, True)
    assert piece.per_cell == 612  # (512 + 64) / 32 x 34
    total = 79 * 100096 * piece.per_cell
    assert f"{total / MIB:.2f}" == "4615.25"


def test_q8_kv_latent_is_584_bytes_a_cell():
    # -ctk q8_KV, -mla 3 -fa: 61 x 32,768 x 584 B
    est = kv_cache(V3, 32768, runtime="ik_llama.cpp", cache_dtype="q8_KV")
    assert est.total_bytes == 61 * 32768 * 584
    assert est.slope_bytes_per_token == 61 * 584


def test_mla1_without_fa_adds_the_transposed_latent():
    # src/llama.cpp L1425-L1441: K row of 576 f16 values (1152 B) + kv^T, 1-D, 512 x kv_size
    # f16 values (1024 B a cell); pad 32 without -fa (llama-context.h L74): 4000 → 4000 cells
    est = kv_cache(V3, 4000, runtime="ik_llama.cpp", cache_dtype="f16", mla=1, flash_attn=False)
    assert est.total_bytes == 61 * 4000 * (1152 + 1024)
    # with -fa the same -mla 1 keeps K only, 4000 padded to 4096 cells
    fa = kv_cache(V3, 4000, runtime="ik_llama.cpp", cache_dtype="f16", mla=1)
    assert fa.total_bytes == 61 * 4096 * 1152


def test_mla1_q8_kv_transposed_v_pays_one_row_meta_per_layer():
    # kv^T is one 1-D tensor: ggml_nbytes = row_size(512 x kv) = 8 + 512 x kv (one meta a layer)
    cfg = get_model(V3).config
    k, t = ik.mla_pieces(cfg, _cache("q8_KV"), _cache("q8_KV"), 1, False)
    assert (k.per_cell, t.per_cell, t.per_layer) == (584, 512, 8)
    # but ik_llama.cpp refuses a quantized V cache without -fa (common/common.cpp L4303-L4304,
    # as the pinned build did: tests/engines/test_ik_llama_fixtures.py), and so does the kit
    with pytest.raises(VramkitError, match="without flash attention"):
        kv_cache(V3, 4096, runtime="ik_llama.cpp", cache_dtype="q8_KV", mla=1, flash_attn=False)


def test_mla0_caches_decompressed_heads():
    # -mla 0: K [192, 128 x kv] and V 128 x 128 values a cell (ik adjusts mainline MLA GGUFs to
    # n_head_kv = n_head, k 192, v 128: src/llama-hparams.cpp L1946-L1961), f16:
    # 128 x (192 + 128) x 2 B = 81,920 B a cell and layer
    est = kv_cache(V3, 32768, runtime="ik_llama.cpp", cache_dtype="f16", mla=0)
    assert est.total_bytes == 61 * 32768 * 128 * (192 + 128) * 2
    # split by heads under tensor parallelism (no longer one latent)
    tp = kv_cache(V3, 32768, runtime="ik_llama.cpp", cache_dtype="f16", mla=0, tp=8)
    assert tp.per_gpu_bytes == est.total_bytes // 8


def test_mla2_without_fa_stores_the_latent_in_v_type():
    # -mla 2/3 without -fa: primary type = type_v (L1425-L1426); one dtype here, so K bytes
    cfg = get_model(V3).config
    (p,) = ik.mla_pieces(cfg, _cache("f16"), _cache("q8_0"), 2, False)
    assert p.per_cell == 612  # the q8_0 (V) type, not f16's 1152


def test_q8_kv_gqa_pays_a_meta_per_head_row(monkeypatch):
    # ik_llama.cpp aborts building the graph with this V cache (issue 24), so the kit refuses it
    with pytest.raises(VramkitError, match="aborts building the graph with a q8_KV V cache"):
        kv_cache("llama-3.1-70b", 8192, runtime="ik_llama.cpp", cache_dtype="q8_KV")
    # the layout it allocated (and printed) before aborting, with the refusal lifted:
    # Llama-3.1-70B, 8 KV heads x 128: K rows [128, 8 x kv] → 8 x (8 + 128) B a cell; V one 1-D
    # tensor: 8 x 128 B a cell + 8 B once per layer; 80 layers, 8192 cells
    monkeypatch.setattr(ik, "check_viewed_v", lambda *a, **k: None)
    est = kv_cache("llama-3.1-70b", 8192, runtime="ik_llama.cpp", cache_dtype="q8_KV")
    assert est.total_bytes == 80 * (8192 * (8 * 136 + 8 * 128) + 8)


def test_q8_kv_v_view_overruns_for_any_head_size():
    # check_viewed_v's arithmetic (ggml.c L4808-L4811, L5427): the 1-D V tensor holds
    # 8 + h x d x kv B; the flash-attention view asks kv x h rows of 8 + d B: past the end by
    # 8 x (h x kv - 1) B for every head size d and KV-head count h (kv > 1)
    for h, d, kv in [(1, 32, 256), (8, 128, 4096), (128, 128, 256), (4, 64, 32768)]:
        holds, view = 8 + h * d * kv, kv * h * (8 + d)
        assert view - holds == 8 * (h * kv - 1) > 0
    # so every GQA model and DeepSeek under -mla 0 is refused; -mla 1/2/3 with -fa keeps
    # q8_KV as the latent K cache (no V tensor) and is answered
    with pytest.raises(VramkitError, match="MLA model under -mla 0"):
        kv_cache(V3, 4096, runtime="ik_llama.cpp", cache_dtype="q8_KV", mla=0)
    for mla in (1, 2, 3):
        assert kv_cache(V3, 4096, runtime="ik_llama.cpp", cache_dtype="q8_KV", mla=mla)
    # row-meta free types on the same GQA model are answered (their views fit exactly)
    for c in ("q8_0", "q6_0", "f16"):
        assert kv_cache("llama-3.1-70b", 8192, runtime="ik_llama.cpp", cache_dtype=c)


def test_v4_compressed_caches_grow_with_the_total_context_per_stream():
    # src/llama-dsv4.cpp L886-L888: csa_kv = GGML_PAD(ceil(n_ctx / 4), 256), n_ctx the TOTAL
    # context; L946-L947: csa_k and lid_k hold csa_kv x n_stream rows. V4-Flash, 4 x 4096 f16:
    # n_ctx 16,384 → 4,096 rows per stream x 4 streams x 21 layers x 1024 B
    est = kv_cache("deepseek-v4-flash", 4096, batch=4, runtime="ik_llama.cpp", cache_dtype="f16")
    assert est.by_kind["csa"] == 4 * 4096 * 21 * 1024
    one = kv_cache("deepseek-v4-flash", 4096, runtime="ik_llama.cpp", cache_dtype="f16")
    assert one.by_kind["csa"] == 1024 * 21 * 1024  # 4096 / 4 = 1024 rows, one stream
    # PR #2239 ("4 slots x 100k"): "These scale ~33 MiB per 1k tokens of total context";
    # the kit at 4 streams: CSA + indexer + HCA per 1k of total context 26.3 MiB (-20 %;
    # llama.cpp's per-stream sizing gives 6.6 MiB, -80 %)
    four = kv_cache("deepseek-v4-flash", 100_000, batch=4, runtime="ik_llama.cpp",
                    cache_dtype="f16")  # fmt: skip
    comp = sum(four.by_kind[k] for k in ("csa", "indexer", "hca"))
    per_1k = comp / MIB / 400
    assert per_1k / 33 - 1 == pytest.approx(-0.203, abs=0.002)


# ── compute: -amb, -mla, -fa ─────────────────────────────────────────────────────────────────
def test_amb_split_matches_pr_1375():
    # PR #1375: GLM-4.7-Flash (20 heads, wkv_b 512 x 8960), ub 8192, -amb 128: "With the fix
    # there are 4 iterations ... 70 MiB"; F32 product 8960 x 8192 x 4 B = 280 MiB
    f32_mib = 8960 * 8192 * 4 // MIB
    assert f32_mib == 280
    h = ik.amb_heads(20, f32_mib, 128)
    assert (20 // h, f32_mib // (20 // h)) == (4, 70)
    assert ik.amb_heads(20, f32_mib, 0) == 20  # no -amb: all heads at once


def test_mla_chunk_without_amb_against_pr_260():
    # PR #260: X = (nope + v) x n_kv x n_head F32 — "for a context of 65k tokens X becomes 8 GiB",
    # cast to f16 V and K_nope "both having half the elements of X ... all 3 need to exist"
    # (12 GiB). The kit adds the RoPE keys repeated over the heads (64 x 65536 x 128 x 2 B).
    cfg = get_model(V3).config
    t = ik.mla_attention(cfg, 65536, 512, ik.IkOptions(amb=0))
    x = 256 * 65536 * 128 * 4
    assert x == 8 * GIB
    assert t.bytes == x + x // 2 + 64 * 65536 * 128 * 2 == 13 * GIB
    assert t.bytes / (12 * GIB) - 1 == pytest.approx(0.083, abs=0.001)


def test_mla_chunk_default_amb_at_163k():
    # -amb 256 (the default, common.h L424): F32 MiB = 32768 x 163840 x 4 / 2^20 = 20480; no
    # divisor of 128 below 128 brings it under 256 (64 → 320) → 1 head per step:
    # 163,840 x (4 x 256 + 2 x (256 + 64)) = 272,629,760 B
    cfg = get_model(V3).config
    t = ik.mla_attention(cfg, 163840, 512, ik.IkOptions())
    assert t.heads_per_step == 1
    assert t.bytes == 163840 * (4 * 256 + 2 * 320)


def test_kq_per_token_against_pr_237():
    # PR #237: "K*Q ... n_ctx x n_ubatch x n_head x sizeof(float) ... n_head = 128 ... with the
    # default u-batch size of 512 tokens, this works out to 256 kB per token in the KV cache"
    # (the F32 mask, 512 x 4 B a cell, L553-L555, is counted beside it)
    o = ik.IkOptions(amb=0, flash_attn=False, mla=1)
    cfg = get_model(V3).config
    per_cell = ik.mla_attention(cfg, 2048, 512, o).bytes // 2048
    assert per_cell - 512 * 4 == 512 * 128 * 4 == 256 * 1024


def test_amb_does_not_split_gqa_issue_755():
    # issue #755 (GLM-4.5, -c 20000 -ub 1024, no -fa, -amb 512): "got 7 GB compute buffers";
    # llm_build_kqv takes -amb only when K, V and Q have as many heads (L2126-L2127): GLM-4.5
    # has 96 query and 8 KV heads → the whole K*Q, 20000 x 1024 x 96 x 4 B = 7.32 GiB, + the
    # F32 mask 20000 x 1024 x 4 B
    o = ik.IkOptions(amb=512, flash_attn=False)
    t = ik.gqa_attention(96, 8, 20000, 1024, o)
    assert t.bytes == 20000 * 1024 * 96 * 4 + 20000 * 1024 * 4
    assert t.bytes / GIB == pytest.approx(7.40, abs=0.01)
    # the same shape with as many KV heads as query heads is split, one head a step
    assert ik.gqa_attention(96, 96, 20000, 1024, o).bytes == 2 * 20000 * 1024 * 4
    # flash attention: no K*Q tensor
    assert ik.gqa_attention(96, 8, 20000, 1024, ik.IkOptions()).bytes == 0


def test_gpt_oss_without_fa_issue_822():
    # issue #822 (gpt-oss-20b, -c 131072, ik_llama.cpp 2025-10: "attn_max_b = 0", "allocating
    # 16929.88 MiB on device 0"); 64 query / 8 KV heads with attention sinks: K*Q is whole,
    # 131072 x 512 x 64 x 4 B = 16,384 MiB, + two F32 masks (full and sliding window),
    # 2 x 131072 x 512 x 4 B = 512 MiB. (The excerpt does not show its flash_attn line; a K*Q
    # tensor exists only without flash attention, which the 16 GiB implies.)
    t = ik.gqa_attention(64, 8, 131072, 512, ik.IkOptions(amb=0, flash_attn=False), sinks=True,
                         masks=2)  # fmt: skip
    assert t.bytes == 131072 * 512 * 64 * 4 + 2 * 131072 * 512 * 4 == 16896 * MIB
    assert t.bytes / (16929.88 * MIB) - 1 == pytest.approx(-0.0020, abs=0.0001)
    # the same from a model record: sinks from its tensors (attn_sink), two masks from its
    # sliding window (gpt-oss-120b has the same 64 / 8 heads as the 20B)
    from vramkit.model.configfile import model_from_config_file

    m = model_from_config_file("data/examples/gpt-oss-120b/config.json")
    o = ik.IkOptions(amb=512, flash_attn=False)
    assert ik.attention_term(m, 131072, 1, 512, o).bytes == t.bytes


def test_gpt_oss_120b_with_fa_fmoe_issue_895():
    # issue #895 (gpt-oss-120b, ik_llama.cpp: n_ctx 16896, n_ubatch 512, flash_attn 1,
    # fused_moe 1, experts on the CPU — 74 graph splits, "only active experts offload"):
    # "KV self size = 1188.00 MiB", "CUDA0 compute buffer size = 404.00 MiB",
    # "CUDA_Host compute buffer size = 78.01 MiB"
    from vramkit.model.configfile import model_from_config_file
    from vramkit.runtimes.llamacpp.placement import host_compute_buffer

    m = model_from_config_file("data/examples/gpt-oss-120b/config.json")
    kv = kv_cache(m, 16896, runtime="ik_llama.cpp", cache_dtype="f16")
    assert kv.total_bytes == 36 * 16896 * 8 * 64 * 2 * 2 == 1188 * MIB  # every layer full
    dev = ik.device_compute(m, context=16896, batch=1, cache_dtype="f16", n_ubatch=512)
    assert dev.bytes / (404.00 * MIB) - 1 == pytest.approx(0.014, abs=0.001)  # +1.4 %
    kw = {"context": 16896, "ubatch": 512, "sequences": 1, "cache_dtype": "f16",
          "host_experts": True, "cpu_layers": 0, "full_bytes": 0}  # fmt: skip
    fused, _ = host_compute_buffer(m, "ik_llama.cpp", **kw)
    plain, _ = host_compute_buffer(m, "llama.cpp", **kw)
    assert fused / (78.01 * MIB) - 1 == pytest.approx(-0.058, abs=0.001)  # -5.8 % with -fmoe
    assert plain / (78.01 * MIB) - 1 == pytest.approx(0.231, abs=0.001)  # llama.cpp's: +23 %


def test_device_compute_is_the_larger_term():
    m = get_model(V3)
    big = ik.device_compute(m, context=65536, batch=1, cache_dtype="f16", n_ubatch=512,
                            ik=ik.IkOptions(amb=0))  # fmt: skip
    assert big.bytes == big.attention.bytes == 13 * GIB > big.base_bytes
    small = ik.device_compute(m, context=4096, batch=1, cache_dtype="f16", n_ubatch=512)
    # 4,096 cells, -amb 256: F32 product 32768 x 4096 x 4 B = 512 MiB > 256 → 2 steps of 64
    # heads, 4096 x 64 x (4 x 256 + 2 x 320) B = 416 MiB
    assert small.attention.heads_per_step == 64
    assert small.attention.bytes == 4096 * 64 * 1664


# ── host compute: -fmoe ──────────────────────────────────────────────────────────────────────
def test_fused_moe_keeps_one_up_gate_output():
    # src/llama-build-context.cpp L1598-L1606: ggml_moe_up_gate, one F32 [n_ff, k, ub] output;
    # without -fmoe up, gate and their product (L1608-L1629). DeepSeek V3: k 8, n_ff 2048, ub 512
    kw = {"embd": 7168, "ub": 512, "n_expert": 256, "top_k": 8, "expert_ff": 2048}
    fused, _ = ik.host_expert_sizes(**kw, fused=True)
    plain, _ = ik.host_expert_sizes(**kw, fused=False)
    act = 4 * 8 * 2048 * 512
    assert fused[2] == act == 32 * MIB
    assert plain[2:5] == [act, act, act]
    assert sum(plain) - sum(fused) == 2 * act


def test_fused_moe_lowers_the_plan_host_buffer():
    from vramkit.runtimes.llamacpp.placement import host_compute_buffer

    m = get_model(V3)
    kw = {"context": 32768, "ubatch": 512, "sequences": 1, "cache_dtype": "f16",
          "host_experts": True, "cpu_layers": 0, "full_bytes": 0}  # fmt: skip
    on, note = host_compute_buffer(m, "ik_llama.cpp", **kw)
    off, _ = host_compute_buffer(m, "ik_llama.cpp", ik=ik.IkOptions(fmoe=False), **kw)
    lc, _ = host_compute_buffer(m, "llama.cpp", **kw)
    assert off == lc  # -no-fmoe: the same sequence as llama.cpp's
    # fused: the up/gate pair (2 x 32 MiB) is never allocated
    assert off - on == 2 * 32 * MIB
    assert "-fmoe" in note


# ── weights at load: the wkv_b derived from a mainline MLA file ──────────────────────────────
def test_derived_wkv_b_of_a_mainline_file():
    # src/llama.cpp L2892-L2972 (llm_compute_wkv_b) and L3413-L3470 (llm_prepare_mla): a file
    # with split attn_k_b / attn_v_b under -mla 0/2/3 gets per layer [kv_lora_rank,
    # n_head x (qk_nope + v_head)], Q8_0 unless both parts are F16 (BF16). DeepSeek-V3:
    # 128 x (128 + 128) = 32,768 rows of 512 values; Q8_0 16 blocks x 34 B = 544 B a row.
    cfg = get_model(V3).config
    d = ik.derived_wkv_b(cfg, "Q8_0", "Q8_0", 3)
    assert (d.ggml_type, d.cols, d.rows, d.bytes) == ("Q8_0", 512, 32_768, 32_768 * 544)
    assert ik.derived_wkv_b(cfg, "Q4_K", "Q8_0", 2).bytes == 32_768 * 544  # mixed → Q8_0
    assert ik.derived_wkv_b(cfg, "BF16", "BF16", 0).bytes == 32_768 * 512 * 2
    assert ik.derived_wkv_b(cfg, "Q8_0", "Q8_0", 1) is None  # -mla 1 returns early (L3413)
    per_layer = ik.derived_layer_bytes(get_model(V3), "gguf-Q8_0", 3)
    assert per_layer == (32_768 * 544,) * 61  # 61 x 17,825,792 B = 1,037 MiB
    assert sum(per_layer) == 1_087_373_312 == 1037 * MIB
    assert set(ik.derived_layer_bytes(get_model(V3), "gguf-Q8_0", 1)) == {0}
    assert set(ik.derived_layer_bytes(get_model("llama-3.1-70b"), "gguf-Q8_0", 3)) == {0}


def test_plan_charges_the_derived_wkv_b_on_the_layers():
    from vramkit.model.configfile import model_from_config_file
    from vramkit.plan import build_machine, plan_for

    m = model_from_config_file("data/examples/deepseek-v2-lite/config.json")
    box = build_machine(["rtx-4090-24gb:1"], ram="64GB")
    base = plan_for(m, box, recipe="gguf-Q8_0", runtime="llama.cpp", context=32768)
    ikp = plan_for(m, box, recipe="gguf-Q8_0", runtime="ik_llama.cpp", context=32768)

    def attention(p) -> int:
        return sum(pl.bytes_by_component.get("attention+dense", 0) for pl in p.places)

    # 27 layers x 16 x (128 + 128) rows x 544 B = 27 x 2,228,224 B
    assert attention(ikp) - attention(base) == 27 * 16 * 256 * 544
    assert any("derives attn_kv_b at load" in n for n in ikp.notes)
    assert not any("derives attn_kv_b" in n for n in base.notes)


# ── weights at load: -rtr ────────────────────────────────────────────────────────────────────
def test_rtr_repacks_in_place_without_changing_bytes():
    # iqk_quantize.cpp L8510: MXFP4 → MXFP4_R8 (8 rows); ggml.c L1348-L1351: same block and
    # type size → the CPU buffer keeps its bytes
    r = ik.rtr_repack("blk.3.ffn_up_exps.weight", "mxfp4", 2880, 123456)
    assert (r.ggml_type, r.bytes, r.repacked) == ("MXFP4_R8", 123456, True)
    # rows not a multiple of the interleave, token_embd, or a type without a repacked form: kept
    assert not ik.rtr_repack("blk.0.ffn_up_exps.weight", "Q8_0", 12, 1).repacked
    assert not ik.rtr_repack("token_embd.weight", "Q8_0", 4096, 1).repacked
    assert not ik.rtr_repack("blk.0.attn_q.weight", "F32", 4096, 1).repacked


# ── options ──────────────────────────────────────────────────────────────────────────────────
def test_options_defaults_and_flags():
    o = ik.IkOptions()
    assert (o.mla, o.amb, o.fmoe, o.flash_attn) == (3, 256, True, True)  # common.h L422-L425
    assert o.flags == ()
    assert ik.IkOptions(amb=64).amb == 128  # common.cpp L1966-L1970: raised to 128
    odd = ik.IkOptions(mla=1, amb=0, fmoe=False, flash_attn=False)
    assert ik.options_from_flags(odd.flags) == odd


def test_plan_flags_spell_ik_options():
    # ik_llama.cpp's own flags (common/common.cpp L1927-L1975 at 8337e4cd): -fa takes a value,
    # -mla N, -amb N, -no-fmoe; defaults are left out
    from vramkit.plan import flags_for, plan_for, resolve_machine

    box = resolve_machine(gpu=["rtx-4090"], ram="1TB")
    p = plan_for(V3, box, runtime="ik_llama.cpp", context=8192,
                 ik=ik.IkOptions(mla=1, amb=0, fmoe=False))  # fmt: skip
    args = list(flags_for(p).args)
    assert args[args.index("-fa") + 1] == "on"
    assert args[args.index("-mla") + 1] == "1"
    assert args[args.index("-amb") + 1] == "0"
    assert "-no-fmoe" in args
    plain = list(flags_for(plan_for(V3, box, runtime="ik_llama.cpp", context=8192)).args)
    assert "-mla" not in plain
    assert "-no-fmoe" not in plain
    with pytest.raises(VramkitError, match=r"ik_llama\.cpp only"):
        plan_for(V3, box, runtime="llama.cpp", context=8192, ik=ik.IkOptions(mla=1))


def test_plan_swa_compress_compacts_v4_windows():
    # --swa-compress (common/common.h L433, off by default): V4's raw window rows per layer
    # pad(0 + 128 + max(512, 256), 256) = 768 instead of the context (src/llama-hparams.h
    # L406-L427); the plan charges it and writes the flag
    from vramkit.plan import flags_for, plan_for, resolve_machine

    box = resolve_machine(gpu=["rtx-5090-32gb"], ram="512GB")
    on = plan_for("deepseek-v4-flash", box, runtime="ik_llama.cpp", context=131072,
                  cache_dtype="f16", ik=ik.IkOptions(swa_compress=True))  # fmt: skip
    off = plan_for("deepseek-v4-flash", box, runtime="ik_llama.cpp", context=131072,
                   cache_dtype="f16")  # fmt: skip
    # 43 layers x (131,072 - 768) rows x 1024 B fewer
    assert off.kv_bytes - on.kv_bytes == 43 * (131072 - 768) * 1024
    assert "--swa-compress" in flags_for(on).args
    assert "--swa-compress" not in flags_for(off).args


# ── weights at load: gpt-oss expert biases kept twice (issue #895's model buffers) ────────────
ISSUE_895_FILE = {  # unsloth gpt-oss-120b-F16.gguf: "type f32: 433, f16: 146, mxfp4: 108",
    # "model size = 60.868 GiB": MXFP4 experts, F16 attention / token_embd / output, F32 router,
    # norms, attention and expert biases (F32 as every gpt-oss GGUF stores them)
    "routed_experts": "MXFP4", "attention": "F16", "embed": "F16", "lm_head": "F16",
    "router": "F32", "vectors": "F32", "routed_experts_gate_up.gate_up_bias": "F32",
    "routed_experts_down.down_bias": "F32",
}  # fmt: skip


def test_issue_895_file_recipe_is_the_recorded_one():
    import json
    from pathlib import Path

    logs = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "ik_published" /
                       "logs.json").read_text())["logs"]  # fmt: skip
    assert next(x for x in logs if x["id"] == "ik-895-gpt-oss-120b-cpu-moe")["file_recipe"] == (
        ISSUE_895_FILE
    )


def test_gpt_oss_expert_biases_are_kept_twice_with_experts_on_the_cpu():
    # src/llama-load-tensors.cpp L4286-L4309 (create_openai_moe_tensors): a bias whose weight was
    # moved to the CPU is created on the layer's device and again beside the weight
    # (TENSOR_DUPLICATED). gpt-oss-120b: 3 biases x 128 experts x 2,880 x 4 B a layer
    from vramkit.model.configfile import model_from_config_file

    m = model_from_config_file("data/examples/gpt-oss-120b/config.json")
    per_layer = ik.duplicated_expert_bias_bytes(m, "gguf-MXFP4_MOE")
    assert per_layer == (3 * 128 * 2880 * 4,) * 36 == (4_423_680,) * 36
    assert sum(per_layer) == 159_252_480 == 151.875 * MIB
    assert set(ik.duplicated_expert_bias_bytes(get_model(V3), "gguf-Q4_K_M")) == {0}


def test_gpt_oss_120b_model_buffers_issue_895():
    # ik_llama.cpp issue #895 (build 3947 cd8d0b08; llama-sweep-bench -m gpt-oss-120b.gguf
    # -ngl 99 -c 16768 -rtr --cpu-moe, the unsloth F16 file, RTX 5060 Ti):
    #   "llm_load_tensors:        CPU buffer size = 58244.06 MiB"
    #   "llm_load_tensors:  CUDA_Host buffer size =  1104.61 MiB"
    #   "llm_load_tensors:      CUDA0 buffer size =  3131.54 MiB"
    # CPU = the MXFP4 experts, 36 x 3 x 128 x 2880 x 2880 x 17/32 B = 60,914,073,600 B, + their
    # biases (the CPU copy) 159,252,480 B = 61,073,326,080 B = 58,244.0625 MiB; -rtr repacks
    # MXFP4 to MXFP4_R8 in place (same bytes, `rtr_repack`). CUDA_Host = token_embd (input layer,
    # pinned: -rtr turns mmap off) F16, 201,088 x 2,880 x 2 B = 1,104.61 MiB. CUDA0 = attention
    # (F16 weights, F32 biases and sinks) 1,912,190,976 B + output F16 1,158,266,880 B + router
    # 53,102,592 B + norms 840,960 B + the expert biases again 159,252,480 B = 3,283,653,888 B =
    # 3,131.54 MiB. Without the duplicate the kit said 2,979.66 MiB (the log 5.1 % above it).
    from vramkit.model.configfile import model_from_config_file
    from vramkit.plan import build_machine
    from vramkit.plan.layers import layer_costs
    from vramkit.quant import get_recipe, weight_bytes
    from vramkit.runtimes.llamacpp.placement import llamacpp_plan

    m = model_from_config_file("data/examples/gpt-oss-120b/config.json")
    recipe = get_recipe(ISSUE_895_FILE)
    assert round(weight_bytes(m, recipe).total_bytes / GIB, 3) == 60.868  # "model size"
    plan = llamacpp_plan(m, layer_costs(m, recipe), build_machine(["16GB@448GB/s"], ram="96GB"),
                         context=16768, sequences=1, cpu_expert_layers=36, cache_dtype="f16",
                         ubatch=512, runtime="ik_llama.cpp")  # fmt: skip
    gpu, host = plan.place("GPU0"), plan.place("host")
    weights = ("attention+dense", "shared experts", "routed experts", "embeddings/output")
    cuda0 = sum(gpu.bytes_by_component[k] for k in weights)
    assert plan.knobs["n_gpu_layers"] == 37
    assert plan.knobs["cpu_layers"] == 0
    assert cuda0 == 1_912_190_976 + 1_158_266_880 + 53_102_592 + 840_960 + 159_252_480
    assert cuda0 / MIB == pytest.approx(3131.54, abs=0.005)
    assert host.bytes_by_component["routed experts"] == 61_073_326_080
    assert host.bytes_by_component["routed experts"] / MIB == pytest.approx(58244.06, abs=0.005)
    assert host.bytes_by_component["embeddings/output"] / MIB == pytest.approx(1104.61, abs=0.005)
    assert any("expert biases" in n for n in plan.notes)
    # mainline llama.cpp keeps one copy: the same file on llama.cpp has 151.875 MiB less on GPU0
    base = llamacpp_plan(m, layer_costs(m, recipe), build_machine(["16GB@448GB/s"], ram="96GB"),
                         context=16768, sequences=1, cpu_expert_layers=36, cache_dtype="f16",
                         ubatch=512, runtime="llama.cpp")  # fmt: skip
    assert cuda0 - sum(base.place("GPU0").bytes_by_component[k] for k in weights) == 159_252_480
