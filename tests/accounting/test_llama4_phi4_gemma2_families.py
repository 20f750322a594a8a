"""Llama 4 (Scout, Maverick), Phi-4 and Gemma 2 9B/27B counted from their config.json and pinned
to published sizes (sources in data/examples/README.md and data/ground_truth.yaml):

- Scout 108,641,793,536 parameters, all BF16 (Hub API of meta-llama/Llama-4-Scout-17B-16E-Instruct
  @92f3b159, code-index id 68803403365); Maverick 401,583,781,376 and the text backbones
  107,769,861,120 / 400,711,848,960 (a public parameter-count test, code-index id 71333187518);
- unsloth GGUF sizes, mmproj excluded, GB = 1e9: Scout Q4_K_M 65.36 / Q8_0 114.53, phi-4 Q4_K_M
  8.89 / Q8_0 15.58 (a survey dated 2026-09-30, code-index id 70957423560);
- microsoft/phi-4 safetensors.total 14,659,507,200 (same survey); google/gemma-2-9b-it index
  total_size 18,483,411,968 (code-index id 68304063591); keras-hub gemma2_instruct_9b_en /
  27b_en "params" 9,241,705,984 / 27,227,128,320 (keras-team/keras-hub@71453d08).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from vramkit.errors import VramkitError
from vramkit.families import get_family
from vramkit.kv import kv_cache
from vramkit.kv.capacity import vllm_pool
from vramkit.model.configfile import model_from_config, model_from_config_file, read_config
from vramkit.quant import get_recipe, weight_bytes

EX = Path(__file__).resolve().parents[2] / "data" / "examples"
SCOUT, MAVERICK = "llama-4-scout-17b-16e-instruct", "llama-4-maverick-17b-128e-instruct"


def _model(name: str):
    return model_from_config_file(EX / name / "config.json")


def _bytes(model, recipe: str, *, text_only: bool = False) -> int:
    w = weight_bytes(model, get_recipe(recipe))
    return w.total_bytes - (w.by_group.get("vision", 0) if text_only else 0)


# Llama 4 vision tower by hand (vision_config: hidden 1408, intermediate 5632, 34 layers, patch 14,
# image 336, projector 4096 -> 4096, vision_output_dim 4096; text hidden 5120):
# per layer 4*(1408^2 + 1408) + (5632*1408 + 5632) + (1408*5632 + 1408) + 4*1408 = 23,807,872
VISION = (
    34 * 23_807_872
    + 1408 * 3 * 14 * 14  # patch_embedding.linear (no bias)
    + 1408  # class_embedding
    + ((336 // 14) ** 2 + 1) * 1408  # positional_embedding_vlm
    + 4 * 1408  # layernorm_pre / layernorm_post, weight + bias
    + 4096 * 5632  # vision_adapter fc1
    + 4096 * 4096  # vision_adapter fc2
    + 5120 * 4096  # multi_modal_projector.linear_1
)


@pytest.mark.parametrize(
    ("name", "total", "text"),
    [(SCOUT, 108_641_793_536, 107_769_861_120), (MAVERICK, 401_583_781_376, 400_711_848_960)],
)
def test_llama4_counts_match_the_published_checkpoints(name, total, text):
    p = _model(name).params
    assert VISION == 871_932_416
    assert p.by_group["vision"] == VISION
    assert p.total == total
    assert p.total - VISION == text
    # every parameter BF16 (the Hub lists only a BF16 entry): 2 bytes each
    assert _bytes(_model(name), "uniform:BF16") == 2 * total


def test_llama4_moe_interleave_and_shared_expert():
    scout, mav = _model(SCOUT), _model(MAVERICK)
    routed = {t.layer for t in scout.inventory if t.group == "routed_experts_gate_up"}
    assert routed == set(range(48))  # interleave_moe_layer_step 1: every layer
    m_routed = {t.layer for t in mav.inventory if t.group == "routed_experts_gate_up"}
    m_dense = {t.layer for t in mav.inventory if t.group == "dense_mlp"}
    assert m_routed == set(range(1, 48, 2))  # step 2: layers 1, 3, …, 47 (transformers moe_layers)
    assert m_dense == set(range(0, 48, 2))
    shapes = {t.name: (t.shape, t.count) for t in mav.inventory if t.layer in (0, 1)}
    assert shapes["model.layers.0.feed_forward.gate_proj.weight"] == ((16_384, 5_120), 1)
    assert shapes["model.layers.1.feed_forward.experts.down_proj"] == ((5_120, 8_192), 128)
    assert shapes["model.layers.1.feed_forward.shared_expert.up_proj.weight"] == ((8_192, 5_120), 1)
    assert shapes["model.layers.1.feed_forward.router.weight"] == ((128, 5_120), 1)


def test_llama4_chunked_and_global_layers_and_their_kv():
    m = _model(SCOUT)
    kinds = get_family(m.family).layer_kinds(m.config)
    # no_rope_layer_interval 4: layers 3, 7, …, 47 are global (NoPE), the other 36 chunked
    assert [i for i, k in enumerate(kinds) if k == "full_attention"] == list(range(3, 48, 4))
    t, entry = 131_072, 2 * 8 * 128 * 2  # K and V, 8 KV heads of 128, BF16: 4,096 B per layer
    ref = kv_cache(m, t)
    assert ref.by_kind == {"chunked": 36 * 8_192 * entry, "full": 12 * t * entry}
    # llama.cpp: iSWA, chunked layers GGML_PAD(min(kv, n_swa + n_ubatch), 256) cells
    cpp = kv_cache(m, t, runtime="llama.cpp", n_ubatch=512)
    assert cpp.by_kind["chunked"] == 36 * (8_192 + 512) * entry
    # vLLM ChunkedLocalAttentionSpec: cdiv(min(chunk + max_num_batched_tokens, T), block) pages
    v = kv_cache(m, t, runtime="vllm", max_num_batched_tokens=2_048, block_size=16,
                 concurrent_batches=1)  # fmt: skip
    assert v.by_kind["chunked"] == 36 * math.ceil((8_192 + 2_048) / 16) * 16 * entry
    # a short context keeps everything: min(T, chunk) on every layer
    assert kv_cache(m, 4_096).total_bytes == 48 * 4_096 * entry


def test_llama4_vllm_pool_counts_chunked_blocks_without_the_extra_sliding_block():
    pool = vllm_pool(_model(SCOUT), 40 * 2**30, max_model_len=131_072, max_num_batched_tokens=8_192)
    # per request: 36 chunked layers -> ceil(36/12) = 3 groups of cdiv(8192 + 8192, 16) blocks;
    # 12 global layers -> 1 group of cdiv(131072, 16)
    assert {k: g for k, _, g in pool.groups} == {"chunked": 3, "full": 1}
    assert pool.blocks_per_request == 3 * 1_024 + 8_192


@pytest.mark.parametrize(
    ("recipe", "published_gb"), [("gguf-Q4_K_M", 65.36), ("gguf-Q8_0", 114.53)]
)
def test_llama4_scout_gguf_matches_unsloth_files(recipe, published_gb):
    # the GGUF holds the text model (the vision tower is the separate mmproj file); the published
    # size is rounded to 0.01 GB and carries a few MB of metadata and tokenizer: 0.1% bound
    got = _bytes(_model(SCOUT), recipe, text_only=True)
    assert abs(got / (published_gb * 1e9) - 1) < 1e-3


def test_phi4_counts_and_gguf_sizes():
    m = _model("phi-4")
    assert m.params.total == 14_659_507_200
    assert _bytes(m, "uniform:BF16") == 2 * 14_659_507_200
    assert abs(_bytes(m, "gguf-Q8_0") / 15.58e9 - 1) < 1e-3
    # unsloth converted Phi-4 to Llama's architecture (https://unsloth.ai/blog/phi4): split q/k/v
    # and gate/up take llama.cpp's per-tensor Q4_K_M rules, 8.89 GB; the fused phi3 layout does not
    llamafied = model_from_config({**read_config(EX / "phi-4" / "config.json"),
                                   "model_type": "llama"})  # fmt: skip
    assert llamafied.params.total == m.params.total
    assert abs(_bytes(llamafied, "gguf-Q4_K_M") / 8.89e9 - 1) < 1e-3
    assert _bytes(m, "gguf-Q4_K_M") / 8.89e9 - 1 > 0.01  # phi3 fused attn_qkv gets Q5_K


def test_phi4_full_attention_kv():
    # sliding_window null: every layer full, 2 x 10 KV heads x 128 x 2 B = 5,120 B per layer-token
    assert kv_cache(_model("phi-4"), 16_384).by_kind == {"full": 40 * 16_384 * 5_120}


@pytest.mark.parametrize(
    ("name", "params", "total_size"),
    [("gemma-2-9b-it", 9_241_705_984, 18_483_411_968), ("gemma-2-27b-it", 27_227_128_320, None)],
)
def test_gemma2_9b_27b(name, params, total_size):
    m = _model(name)
    assert m.params.total == params
    if total_size is not None:
        assert _bytes(m, m.checkpoint_layout) == total_size


def test_llama4_bad_configs_are_refused():
    cfg = read_config(EX / SCOUT / "config.json")
    text = dict(cfg["text_config"])
    with pytest.raises(VramkitError, match="attention_chunk_size"):
        kv_cache(model_from_config({**cfg, "text_config": {**text, "attention_chunk_size": 0}}), 8)
    with pytest.raises(VramkitError, match="moe_layers"):
        model_from_config({**cfg, "text_config": {**text, "moe_layers": [0, 99]}}).params  # noqa: B018
    bad = {**text, "interleave_moe_layer_step": 0}
    with pytest.raises(VramkitError, match="interleave_moe_layer_step"):
        model_from_config({**cfg, "text_config": bad}).params  # noqa: B018


def test_llama4_gguf_metadata_reads_as_the_transformers_fields():
    # llama.cpp's converter (conversion/llama.py Llama4Model @0c1e5709) writes
    # intermediate_size_mlp as feed_forward_length and the expert size as
    # expert_feed_forward_length; its loader chunks 3 of every 4 layers at n_swa = 8192
    from vramkit.ingest.gguf_file import config_from_metadata

    a = "llama4"
    meta = {"general.architecture": a, f"{a}.block_count": 48, f"{a}.embedding_length": 5120,
            f"{a}.feed_forward_length": 16384, f"{a}.expert_feed_forward_length": 8192,
            f"{a}.attention.head_count": 40, f"{a}.attention.head_count_kv": 8,
            f"{a}.attention.key_length": 128, f"{a}.expert_count": 128,
            f"{a}.expert_used_count": 1, f"{a}.interleave_moe_layer_step": 2,
            f"{a}.vocab_size": 202048}  # fmt: skip
    cfg = config_from_metadata(meta)
    m = model_from_config(cfg)
    assert m.params.total == 400_711_848_960  # Maverick's text backbone (no vision in the GGUF)
    assert kv_cache(m, 65_536).by_kind == {
        "chunked": 36 * 8_192 * 4_096,
        "full": 12 * 65_536 * 4_096,
    }
    no_chunk = config_from_metadata({**meta, f"{a}.attention.sliding_window": 0})
    assert kv_cache(model_from_config(no_chunk), 65_536).by_kind == {"full": 48 * 65_536 * 4_096}


def test_llama4_runtime_notes_name_the_switches():
    m = _model(SCOUT)
    assert (
        "VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE"
        in kv_cache(m, 8, runtime="vllm").notes[0]
    )
    assert any("hybrid-kvcache-ratio" in n for n in kv_cache(m, 8, runtime="sglang").notes)


def test_ministral_8b_params_from_the_card():
    # model card table (https://huggingface.co/QuantFactory/Ministral-8B-Instruct-2410-GGUF):
    # 36 layers x (4096^2 + 2 x 1024 x 4096 + 4096^2 + 3 x 12288 x 4096 + 2 x 4096)
    # + 2 x 131072 x 4096 (untied) + 4096 = 8,019,808,256
    per_layer = 2 * 4_096**2 + 2 * 1_024 * 4_096 + 3 * 12_288 * 4_096 + 2 * 4_096
    assert 36 * per_layer + 2 * 131_072 * 4_096 + 4_096 == 8_019_808_256
    assert _model("ministral-8b-instruct-2410").params.total == 8_019_808_256


def test_llama4_empty_lists_mean_what_transformers_reads():
    # configuration_llama4.py: moe_layers "if self.moe_layers is not None" (an empty list: no MoE
    # layer); no_rope_layers "if self.no_rope_layers" (empty: the every-4th-layer default)
    cfg = read_config(EX / SCOUT / "config.json")
    text = {**cfg["text_config"], "moe_layers": [], "no_rope_layers": []}
    m = model_from_config({**cfg, "text_config": text})
    assert not any(t.group.startswith("routed") for t in m.inventory)
    assert kv_cache(m, 16_384).by_kind["full"] == 12 * 16_384 * 4_096
