"""Full-size sparse GGUF files written from vramkit's own tensor inventory.

The file holds the real header, metadata and tensor-info table (real shapes, real GGML types),
then is extended to its full length with `truncate`: the data region is a sparse hole, so a
156 GB DeepSeek V4-Flash file takes about 100 KB of disk. llama.cpp's `no_alloc` projection
(`llama-fit-params --fit-print on`) loads it without reading a byte of tensor data.

Names, metadata keys and types follow the engine's own converter (the vendored tree of the
pinned llama-cpp-python sdist, ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f):
`conversion/base.py` TextModel.set_gguf_parameters (the common keys), `conversion/deepseek.py`
(DeepseekV2Model / DeepseekV4Model), `conversion/llama.py`, `conversion/qwen.py`,
`conversion/gpt_oss.py`, `conversion/glm.py`. The `gguf` package imported is that tree's
`gguf-py` (see `llamacpp.use_vendored_gguf`), so architecture names and key strings match.

Per-tensor GGML types are vramkit's: `vramkit.quant.tensor_formats(model, recipe)` with the
llama.cpp file-type recipes (`gguf-Q8_0`, `gguf-Q4_K_M`: vramkit's re-implementation of
llama-quantize's rules, `vramkit.runtimes.llamacpp.mix`), or the converter's DeepSeek V4 layout
(`V4_MXFP4`: routed experts MXFP4, FP8 checkpoint matrices Q8_0, BF16 matrices BF16, F32 kept,
1-D tensors F32, tid2eid I32 — DeepseekV4Model.tensor_force_quant / generate_extra_tensors).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# The vendored gguf package must be importable before this module is used (llamacpp.py puts
# the engine's gguf-py first on sys.path); imported lazily so that reading fixtures needs none.


@dataclass(frozen=True)
class GgufTensor:
    """One tensor of the GGUF file: name, numpy-order shape (outermost first), GGML type."""

    name: str
    shape: tuple[int, ...]
    ggml_type: str

    def nbytes(self) -> int:
        import gguf

        qt = gguf.GGMLQuantizationType[self.ggml_type]
        block, size = gguf.GGML_QUANT_SIZES[qt]
        rows = math.prod(self.shape[:-1])
        if self.shape[-1] % block:
            raise ValueError(f"{self.name}: row of {self.shape[-1]} not a multiple of {block}")
        return rows * (self.shape[-1] // block) * size


@dataclass(frozen=True)
class GgufPlan:
    """What the sparse file holds: architecture, metadata (key → value) and tensors."""

    arch: str
    metadata: Mapping[str, Any]
    tensors: tuple[GgufTensor, ...]

    @property
    def tensor_bytes(self) -> int:
        """Σ ggml_nbytes over the tensors (no alignment padding)."""
        return sum(t.nbytes() for t in self.tensors)


# ---------------------------------------------------------------------- types from vramkit

_FORMAT_TO_GGML = {"FP32": "F32", "FP16": "F16", "BF16": "BF16", "MXFP4": "MXFP4", "I32": "I32"}

#: The converter's V4 layout (conversion/deepseek.py DeepseekV4Model): FP8-dequantized matrices
#: → Q8_0, BF16 matrices → BF16, routed experts repacked to MXFP4.
V4_MXFP4_RULES = {
    "routed_experts": "MXFP4",
    "attention": "Q8_0",
    "shared_experts": "Q8_0",
    "indexer.wq_b": "Q8_0",
    "indexer": "BF16",
    "compressor": "BF16",
    "router": "BF16",
    "embed": "BF16",
    "lm_head": "BF16",
    "router.tid2eid": "I32",  # "converted hash routing table to I32"
}


def recipe_for(layout: str) -> Any:
    """vramkit's recipe for a file layout: ``Q8_0``/``Q4_K_M``… (llama.cpp file types) or
    ``V4_MXFP4`` (the converter's DeepSeek V4 layout; vectors F32)."""
    from vramkit.quant import Recipe, get_recipe

    if layout == "BF16":  # the converter's --outtype bf16: matrices BF16, 1-D tensors F32
        return Recipe(
            id="gguf-bf16",
            name="llama.cpp conversion, --outtype bf16",
            kind="official",
            rules={"*": "BF16"},
            vectors="FP32",
            include_mtp=False,
            source="llama.cpp convert_hf_to_gguf.py --outtype bf16 @ 0c1e57098",
        )
    if layout == "V4_MXFP4":
        return Recipe(
            id="gguf-v4-mxfp4",
            name="llama.cpp DeepSeek V4 conversion (MXFP4 experts, Q8_0, BF16)",
            kind="official",
            rules=V4_MXFP4_RULES,
            vectors="FP32",
            include_mtp=False,
            source="llama.cpp conversion/deepseek.py DeepseekV4Model @ 0c1e57098",
        )
    return get_recipe(f"gguf-{layout}")


#: Tensors the converter always writes in F32 whatever --outtype says (conversion/base.py
#: prepare_tensors, "Some tensor types are always in float32"), by GGUF name fragment.
_CONVERTER_F32 = (".ffn_gate_inp.", ".ffn_gate_inp_shexp.", ".ssm_conv1d.", ".indexer.proj.")


def _ggml(fmt_name: str, kind: str) -> str:
    if kind == "table":
        return "I32"  # tid2eid: "converted hash routing table to I32"
    return _FORMAT_TO_GGML.get(fmt_name, fmt_name)


# ---------------------------------------------------------------------- names per family

_V4_LAYER = {
    "hc_attn_fn": "hc_attn_fn.weight", "hc_attn_base": "hc_attn_base.weight",
    "hc_attn_scale": "hc_attn_scale.weight", "hc_ffn_fn": "hc_ffn_fn.weight",
    "hc_ffn_base": "hc_ffn_base.weight", "hc_ffn_scale": "hc_ffn_scale.weight",
    "attn.attn_sink": "ATTN_SINKS", "attn.wq_a": "ATTN_Q_A", "attn.wq_b": "ATTN_Q_B",
    "attn.q_norm": "ATTN_Q_A_NORM", "attn.wkv": "ATTN_KV", "attn.kv_norm": "ATTN_KV_NORM",
    "attn.wo_a": "ATTN_OUT_A", "attn.wo_b": "ATTN_OUT_B",
    "attn.compressor.ape": "ATTN_COMPRESSOR_APE", "attn.compressor.wkv": "ATTN_COMPRESSOR_WKV",
    "attn.compressor.wgate": "ATTN_COMPRESSOR_WGATE",
    "attn.compressor.norm": "ATTN_COMPRESSOR_NORM",
    "attn.indexer.wq_b": "INDEXER_ATTN_Q_B", "attn.indexer.weights_proj": "INDEXER_PROJ",
    "attn.indexer.compressor.ape": "INDEXER_COMPRESSOR_APE",
    "attn.indexer.compressor.wkv": "INDEXER_COMPRESSOR_WKV",
    "attn.indexer.compressor.wgate": "INDEXER_COMPRESSOR_WGATE",
    "attn.indexer.compressor.norm": "INDEXER_COMPRESSOR_NORM",
    "attn_norm": "ATTN_NORM", "ffn_norm": "FFN_NORM", "ffn.gate.weight": "FFN_GATE_INP",
    "ffn.gate.bias": "FFN_EXP_PROBS_B", "ffn.gate.tid2eid": "FFN_GATE_TID2EID",
    "ffn.shared_experts.w1": "FFN_GATE_SHEXP", "ffn.shared_experts.w2": "FFN_DOWN_SHEXP",
    "ffn.shared_experts.w3": "FFN_UP_SHEXP",
    "ffn.experts.{e}.w1": "FFN_GATE_EXP", "ffn.experts.{e}.w2": "FFN_DOWN_EXP",
    "ffn.experts.{e}.w3": "FFN_UP_EXP",
}  # fmt: skip
"""vramkit V4 name (after ``layers.N.``) → gguf MODEL_TENSOR, as DeepseekV4Model.
_map_dsv4_tensor_name (conversion/deepseek.py @ 0c1e57098); hc_* keep their own names."""


def _fmt(key: str, bid: int | None, suffix: str = ".weight") -> str:
    import gguf

    tensor = getattr(gguf.MODEL_TENSOR, key)
    name = gguf.TENSOR_NAMES[tensor]
    return (name.format(bid=bid) if bid is not None else name) + suffix


def _v4_name(t: Any) -> str | None:
    """GGUF name of a V4 tensor; None for tensors the converter drops."""
    n = t.name
    root = {
        "embed.weight": "TOKEN_EMBD", "norm.weight": "OUTPUT_NORM", "head.weight": "OUTPUT",
        "hc_head_fn": "HC_HEAD_FN", "hc_head_base": "HC_HEAD_BASE", "hc_head_scale": "HC_HEAD_SCALE",
    }  # fmt: skip
    if n in root:
        return _fmt(root[n], None)
    m = re.match(r"layers\.(\d+)\.(.+)$", n)
    if not m:
        raise ValueError(f"unmapped DeepSeek V4 tensor {n!r}")
    bid, rest = int(m.group(1)), m.group(2)
    key = _V4_LAYER[rest]
    if key.endswith(".weight"):  # hc_attn_fn …: MODEL_TENSOR HC_ATTN_FN …
        return _fmt(key.removesuffix(".weight").upper(), bid)
    if key == "FFN_EXP_PROBS_B":
        return _fmt(key, bid, ".bias")
    return _fmt(key, bid)


@functools.cache
def _name_map(arch: str, n_blocks: int) -> Any:
    import gguf

    return gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, arch), n_blocks)


def _hf_name(t: Any, arch: str, n_blocks: int) -> str | None:
    """GGUF name of an HF-named tensor through the engine's TensorNameMap (the converter's
    `map_tensor_name`); routed experts use their merged name (…mlp.experts.gate_proj.weight)."""
    tmap = _name_map(arch, n_blocks)
    name = t.name.replace(".experts.{e}.", ".experts.")
    name = name.replace("e_score_correction_bias", "e_score_correction.bias")
    if t.gguf_class and t.layer is not None and t.count > 1 and t.kind == "matrix":
        return f"blk.{t.layer}.{t.gguf_class}.weight"
    mapped = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
    if mapped is None:
        raise ValueError(f"{arch}: the engine's TensorNameMap has no name for {t.name!r}")
    if "sinks" in name and not mapped.endswith((".weight", ".bias")):
        mapped += ".weight"  # GptOssModel.modify_tensors: 'if "sinks" in name: name += ".weight"'
    return mapped


# ---------------------------------------------------------------------- metadata per family


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def _base_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """TextModel.set_gguf_parameters (conversion/base.py): the common keys, as its hparam lists."""

    def first(*keys: str) -> Any:
        return next((cfg[k] for k in keys if cfg.get(k) is not None), None)

    md: dict[str, Any] = {"block_count": n_blocks}
    pairs = {
        "context_length": first("max_position_embeddings", "n_ctx", "n_positions"),
        "embedding_length": first("hidden_size", "n_embd", "dim"),
        "feed_forward_length": first(
            "prefix_dense_intermediate_size", "dense_intermediate_size", "intermediate_size"
        ),
        "attention.head_count": first("num_attention_heads", "n_head", "n_heads"),
        "attention.head_count_kv": first("num_key_value_heads", "n_kv_heads"),
        "rope.freq_base": _float(first("rope_theta")),
        "attention.layer_norm_rms_epsilon": _float(first("rms_norm_eps", "norm_eps")),
        "expert_count": first("num_local_experts", "num_experts", "n_routed_experts"),
        "expert_used_count": first("num_experts_per_tok", "num_experts_per_token", "top_k_experts"),
        "expert_group_count": cfg.get("n_group"),
        "expert_group_used_count": cfg.get("topk_group"),
        "attention.key_length": cfg.get("head_dim"),
        "attention.value_length": cfg.get("head_dim"),
    }
    md.update({k: v for k, v in pairs.items() if v is not None})
    score = first("score_function", "scoring_func")
    if score is not None:
        md["expert_gating_func"] = {"softmax": 1, "sigmoid": 2, "sqrtsoftplus": 4}[
            score
        ]  # ExpertGatingFuncType
    rope = cfg.get("rope_scaling") or {}
    rtype = rope.get("rope_type") or rope.get("type")
    if rtype == "yarn":
        md["rope.scaling.type"] = "yarn"
        md["rope.scaling.factor"] = float(rope["factor"])
        md["rope.scaling.original_context_length"] = int(rope["original_max_position_embeddings"])
        for k, key in (("beta_fast", "yarn_beta_fast"), ("beta_slow", "yarn_beta_slow")):
            if rope.get(k) is not None:
                md[f"rope.scaling.{key}"] = float(rope[k])
    elif rtype == "linear":
        md["rope.scaling.type"] = "linear"
        md["rope.scaling.factor"] = float(rope["factor"])
    return md


def _deepseek_v4_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """DeepseekV4Model.set_gguf_parameters (conversion/deepseek.py @ 0c1e57098). The released
    config.json carries rms_norm_eps 1e-6; vramkit's catalog config leaves it out."""
    md = _base_metadata({"rms_norm_eps": 1e-6, **cfg}, n_blocks)
    md.update(
        {
            "rope.dimension_count": cfg["qk_rope_head_dim"],
            "attention.q_lora_rank": cfg["q_lora_rank"],
            "attention.sliding_window": cfg["sliding_window"],
            "expert_feed_forward_length": cfg["moe_intermediate_size"],
            "expert_shared_count": cfg["n_shared_experts"],
            "expert_weights_scale": float(cfg["routed_scaling_factor"]),
            "expert_weights_norm": bool(cfg["norm_topk_prob"]),
            "swiglu_clamp_exp": [float(cfg["swiglu_limit"])] * n_blocks,
            "swiglu_clamp_shexp": [float(cfg["swiglu_limit"])] * n_blocks,
            "attention.indexer.head_count": cfg["index_n_heads"],
            "attention.indexer.key_length": cfg["index_head_dim"],
            "attention.indexer.top_k": cfg["index_topk"],
            "attention.output_group_count": cfg["o_groups"],
            "attention.output_lora_rank": cfg["o_lora_rank"],
            "attention.compress_ratios": list(cfg["compress_ratios"]),
            "attention.compress_rope_freq_base": float(cfg["compress_rope_theta"]),
            "hyper_connection.count": cfg["hc_mult"],
            "hyper_connection.sinkhorn_iterations": cfg["hc_sinkhorn_iters"],
            "hyper_connection.epsilon": float(cfg["hc_eps"]),
            "hash_layer_count": cfg["num_hash_layers"],
            "embedding_length_out": cfg["hidden_size"] * cfg["hc_mult"],
        }
    )
    return md


def _deepseek2_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """DeepseekV2Model.set_gguf_parameters (conversion/deepseek.py @ 0c1e57098): MLA as MQA
    (head_count_kv 1), key_length kv_lora+rope, value_length kv_lora, *_mla the per-head dims."""
    cfg = {**cfg, "num_key_value_heads": 1, "rms_norm_eps": cfg.get("rms_norm_eps", 1e-6)}
    md = _base_metadata(cfg, n_blocks)
    kv_lora = cfg.get("kv_lora_rank", 512)
    md.update(
        {
            "leading_dense_block_count": cfg.get("first_k_dense_replace", 0),
            "vocab_size": cfg["vocab_size"],
            "attention.kv_lora_rank": kv_lora,
            "attention.key_length": kv_lora + cfg["qk_rope_head_dim"],
            "attention.value_length": kv_lora,
            "attention.key_length_mla": cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"],
            "attention.value_length_mla": cfg["v_head_dim"],
            "expert_feed_forward_length": cfg["moe_intermediate_size"],
            "expert_shared_count": cfg.get("n_shared_experts", 0),
            "rope.dimension_count": cfg["qk_rope_head_dim"],
        }
    )
    if cfg.get("q_lora_rank") is not None:
        md["attention.q_lora_rank"] = cfg["q_lora_rank"]
    if cfg.get("routed_scaling_factor") is not None:
        md["expert_weights_scale"] = float(cfg["routed_scaling_factor"])
    if cfg.get("norm_topk_prob"):
        md["expert_weights_norm"] = True
    rope = cfg.get("rope_scaling") or {}
    if rope.get("mscale_all_dim") is not None:
        md["rope.scaling.yarn_log_multiplier"] = 0.1 * float(rope["mscale_all_dim"])
    if "index_n_heads" in cfg:  # DeepseekV32Model
        md["attention.indexer.head_count"] = cfg["index_n_heads"]
        md["attention.indexer.key_length"] = cfg["index_head_dim"]
        md["attention.indexer.top_k"] = cfg["index_topk"]
    return md


def _llama_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """LlamaModel / Qwen2Model / Qwen3MoeModel set_gguf_parameters (conversion/llama.py,
    conversion/qwen.py @ 0c1e57098): base keys + vocab_size, rope dimension, expert ffn."""
    md = _base_metadata(cfg, n_blocks)
    md["vocab_size"] = cfg["vocab_size"]
    md["rope.dimension_count"] = cfg.get("head_dim") or (
        cfg["hidden_size"] // cfg["num_attention_heads"]
    )
    if cfg.get("moe_intermediate_size") is not None:
        md["expert_feed_forward_length"] = cfg["moe_intermediate_size"]
    return md


def _gpt_oss_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """GptOssModel.set_gguf_parameters (conversion/gpt_oss.py @ 0c1e57098)."""
    md = _base_metadata(cfg, n_blocks)
    md["vocab_size"] = cfg["vocab_size"]
    md["attention.sliding_window"] = cfg["sliding_window"]
    md["expert_feed_forward_length"] = cfg["intermediate_size"]
    return md


def _glm4_moe_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """Glm4MoeModel.set_gguf_parameters (conversion/glm.py @ 0c1e57098)."""
    md = _base_metadata(cfg, n_blocks)
    md["vocab_size"] = cfg["vocab_size"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    md["rope.dimension_count"] = int(head_dim * cfg.get("partial_rotary_factor", 0.5))
    md["expert_count"] = cfg["n_routed_experts"]
    md["expert_feed_forward_length"] = cfg["moe_intermediate_size"]
    md["expert_shared_count"] = cfg["n_shared_experts"]
    md["leading_dense_block_count"] = cfg["first_k_dense_replace"]
    md["expert_gating_func"] = 2  # SIGMOID
    if cfg.get("routed_scaling_factor") is not None:
        md["expert_weights_scale"] = float(cfg["routed_scaling_factor"])
    if cfg.get("norm_topk_prob") is not None:
        md["expert_weights_norm"] = bool(cfg["norm_topk_prob"])
    if cfg.get("num_nextn_predict_layers"):
        md["nextn_predict_layers"] = cfg["num_nextn_predict_layers"]
    return md


def _gemma4_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """Gemma4Model / Gemma3Model.set_gguf_parameters (conversion/gemma.py @ 0c1e57098).

    Fields vramkit's catalog config does not carry take the converter's own defaults where it
    has one (``rms_norm_eps`` 1e-6, rope ``freq_base`` 1e6, ``hidden_size_per_layer_input`` 0,
    partial rotary 1.0 on sliding layers; ``final_logit_softcapping`` is only written when
    present, so it is left out); ``layer_types`` comes from ``sliding_window_pattern`` (vramkit's
    `sliding_full_layer_types`), and ``num_kv_shared_layers``, which the converter requires, is
    0: vramkit's own assumption for these checkpoints (every layer keeps its KV), not a sourced
    value. None of the defaulted values changes a buffer size."""
    from vramkit.families._common import (
        LAYER_TYPES,
        LAYERS,
        SWA_PATTERN,
        sliding_full_layer_types,
    )
    from vramkit.families._schema import read_config

    md = _base_metadata({"rms_norm_eps": 1e-6, **cfg}, n_blocks)
    fields = read_config((LAYERS, LAYER_TYPES, SWA_PATTERN), cfg)
    swa = [t == "sliding_attention" for t in sliding_full_layer_types(fields)]
    hd_full, hd_swa = cfg.get("global_head_dim") or cfg["head_dim"], cfg["head_dim"]
    kv_swa = cfg["num_key_value_heads"]
    kv_full = cfg.get("num_global_key_value_heads") or kv_swa
    md.update(
        {
            "rope.freq_base": 1_000_000.0,
            "attention.sliding_window": cfg["sliding_window"],
            "attention.shared_kv_layers": int(cfg.get("num_kv_shared_layers") or 0),
            "embedding_length_per_layer_input": int(cfg.get("hidden_size_per_layer_input") or 0),
            "attention.sliding_window_pattern": swa,
            "attention.key_length": hd_full,
            "attention.value_length": hd_full,
            "attention.key_length_swa": hd_swa,
            "attention.value_length_swa": hd_swa,
            "attention.head_count_kv": [kv_swa if w else kv_full for w in swa],
            "rope.dimension_count": hd_full,
            "rope.dimension_count_swa": hd_swa,
        }
    )
    if cfg.get("moe_intermediate_size"):
        md["expert_feed_forward_length"] = cfg["moe_intermediate_size"]
    return md


def _qwen3_next_metadata(cfg: Mapping[str, Any], n_blocks: int) -> dict[str, Any]:
    """Qwen3NextModel / Qwen2MoeModel.set_gguf_parameters (conversion/qwen.py @ 0c1e57098);
    no MTP block (vramkit's inventory has none: the converter's --no-mtp file)."""
    md = _base_metadata(cfg, n_blocks)
    md["vocab_size"] = cfg["vocab_size"]
    md["expert_feed_forward_length"] = cfg["moe_intermediate_size"]
    md["expert_shared_feed_forward_length"] = cfg["shared_expert_intermediate_size"]
    md["ssm.conv_kernel"] = cfg["linear_conv_kernel_dim"]
    md["ssm.state_size"] = cfg["linear_key_head_dim"]
    md["ssm.group_count"] = cfg["linear_num_key_heads"]
    md["ssm.time_step_rank"] = cfg["linear_num_value_heads"]
    md["ssm.inner_size"] = cfg["linear_value_head_dim"] * cfg["linear_num_value_heads"]
    md["full_attention_interval"] = cfg.get("full_attention_interval", 4)
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    md["rope.dimension_count"] = int(head_dim * cfg.get("partial_rotary_factor", 0.25))
    return md


# ---------------------------------------------------------------------- plans


def _arch(model: Any) -> str:
    """The gguf MODEL_ARCH member name the converter picks for this model."""
    mt = model.config.get("model_type", "")
    arches = model.config.get("architectures") or [""]
    if model.family == "deepseek_v4":
        return "DEEPSEEK4"
    if model.family == "deepseek_v3":
        return "DEEPSEEK32" if "index_n_heads" in model.config else "DEEPSEEK2"
    if model.family == "gpt_oss":
        return "GPT_OSS"
    if model.family == "glm4_moe":
        return "GLM4_MOE"
    if model.family == "qwen3_next":
        return "QWEN3NEXT"
    if model.family == "gemma4":
        return "GEMMA4"
    if model.family == "llama":
        return {
            "qwen3_moe": "QWEN3MOE", "qwen3": "QWEN3", "qwen2": "QWEN2", "qwen2_moe": "QWEN2MOE",
            "mixtral": "LLAMA", "llama": "LLAMA",
        }.get(mt, "LLAMA")  # fmt: skip
    raise ValueError(f"no sparse-GGUF writer for family {model.family!r} ({arches[0]})")


def _tensors(model: Any, arch: str, layout: str, n_blocks: int) -> Iterator[GgufTensor]:
    from vramkit.quant import tensor_formats
    from vramkit.quant.formats import storable_format

    pending: list[tuple[Any, str]] = []
    pairs = list(tensor_formats(model, recipe_for(layout)))
    if arch == "GEMMA4" and not any(t.role == "rope_freqs" for t, _ in pairs):
        from vramkit.families import get_family
        from vramkit.quant.formats import get_format

        # converter-generated (Gemma4Model.generate_extra_tensors), F32 in every layout
        extra = get_family(model.family).gguf_extra(model.config)
        pairs += [(part, get_format("FP32")) for part, _ in extra]
    for t, fmt in pairs:
        if t.mtp and arch in ("DEEPSEEK4", "DEEPSEEK32", "DEEPSEEK2"):
            continue  # skipped by the main conversion (skip_mtp / "for conversion v0")
        ggml = _ggml(fmt.name, t.kind)
        if arch == "DEEPSEEK4":
            if t.name.endswith(".ffn.gate.bias") and (t.layer or 0) < model.config.get(
                "num_hash_layers", 0
            ):
                continue  # "hash layers route text tokens via tid2eid …; gate.bias is unused"
            name = _v4_name(t)
        elif t.gguf_class in ("attn_k_b", "attn_v_b") or t.role in ("in_proj_qkv", "in_proj_z"):
            # parts vramkit already split as the converter does (vramkit.quant._split_for_gguf):
            # llama.cpp file types type them apart
            shape = (t.count, *t.shape) if t.count > 1 else tuple(t.shape)
            yield GgufTensor(f"blk.{t.layer}.{t.gguf_class}.weight", shape, ggml)
            continue
        elif arch in ("DEEPSEEK2", "DEEPSEEK32") and t.gguf_class == "attn_kv_b":
            # "MLA with the absorption optimization, needs these two split and k_b transposed"
            cfg = model.config
            heads, nope, vdim = (
                cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["v_head_dim"],
            )  # fmt: skip
            kv_lora = t.shape[1]
            # rows of k_b are qk_nope long: vramkit's GGUF row fallback picks the stored type
            kb = _ggml(storable_format(fmt, nope).name, t.kind)
            yield GgufTensor(f"blk.{t.layer}.attn_k_b.weight", (heads, kv_lora, nope), kb)
            yield GgufTensor(f"blk.{t.layer}.attn_v_b.weight", (heads, vdim, kv_lora), ggml)
            continue
        elif arch == "GPT_OSS" and "gate_up_proj_bias" in t.name:
            if t.name.endswith(("[gate]", "[up]")):  # split already (families.gpt_oss, as the
                part = t.name[t.name.rindex("[") + 1 : -1]  # converter splits it)
                yield GgufTensor(f"blk.{t.layer}.ffn_{part}_exps.bias", (t.count, t.shape[0]), ggml)
                continue
            half = t.shape[0] // 2
            for part in ("gate", "up"):
                yield GgufTensor(f"blk.{t.layer}.ffn_{part}_exps.bias", (t.count, half), ggml)
            continue
        elif arch == "QWEN3NEXT" and t.name.endswith("in_proj_qkvz.weight"):
            # "corrected order: [q * head_count, k * head_count, v * head_count, z * head_count]"
            # then yielded as ATTN_QKV (q, k, v) and ATTN_GATE (z) (Qwen3NextModel.modify_tensors)
            cfg = model.config
            value = cfg["linear_value_head_dim"] * cfg["linear_num_value_heads"]
            dim = t.shape[1]
            yield GgufTensor(f"blk.{t.layer}.attn_qkv.weight", (t.shape[0] - value, dim), ggml)
            yield GgufTensor(f"blk.{t.layer}.attn_gate.weight", (value, dim), ggml)
            continue
        elif arch == "QWEN3NEXT" and "conv1d" in t.name:
            shape = tuple(d for d in t.shape if d != 1)  # data_torch.squeeze()
            yield GgufTensor(f"blk.{t.layer}.ssm_conv1d.weight", shape, "F32")
            continue
        elif arch == "QWEN3NEXT" and t.name.endswith(".dt_bias"):
            yield GgufTensor(f"blk.{t.layer}.ssm_dt.bias", tuple(t.shape), "F32")
            continue
        elif arch == "QWEN3NEXT" and t.name.endswith(".A_log"):
            yield GgufTensor(f"blk.{t.layer}.ssm_a", tuple(t.shape), "F32")
            continue
        elif arch == "GEMMA4" and t.gguf_class in ("ffn_gate_exps", "ffn_up_exps"):
            # "model.layers.{bid}.experts.gate_up_proj" is one tensor: ffn_gate_up_exps
            pending.append((t, ggml))
            if len(pending) == 2:
                (g, tg), (u, tu) = pending
                pending.clear()
                if tg != tu or g.shape != u.shape:
                    raise ValueError(f"gate/up of layer {t.layer} differ: {tg} vs {tu}")
                shape = (g.count, 2 * g.shape[0], g.shape[1])
                yield GgufTensor(f"blk.{t.layer}.ffn_gate_up_exps.weight", shape, tg)
            continue
        elif arch == "GEMMA4" and t.role in ("scale", "per_expert_scale"):
            # Gemma4Model.modify_tensors: router.scale → ffn_gate_inp.scale,
            # per_expert_scale → ffn_down_exps.scale
            cls = "ffn_gate_inp" if t.role == "scale" else "ffn_down_exps"
            yield GgufTensor(f"blk.{t.layer}.{cls}.scale", tuple(t.shape), "F32")
            continue
        elif arch == "GEMMA4" and t.role == "rope_freqs":
            yield GgufTensor("rope_freqs.weight", tuple(t.shape), "F32")
            continue
        elif arch == "GPT_OSS" and t.name.endswith("experts.down_proj_bias"):
            yield GgufTensor(f"blk.{t.layer}.ffn_down_exps.bias", (t.count, t.shape[0]), ggml)
            continue
        else:
            name = _hf_name(t, arch, n_blocks)
        if name is None:
            continue
        if layout == "BF16" and (
            any(k in name for k in _CONVERTER_F32) or not name.endswith(".weight")
        ):
            ggml = "F32"  # "Some tensor types are always in float32" (conversion/base.py)
        shape = tuple(t.shape)
        if t.count > 1:
            shape = (t.count, *shape)
        yield GgufTensor(name, shape, ggml)


_METADATA = {
    "DEEPSEEK4": _deepseek_v4_metadata,
    "DEEPSEEK2": _deepseek2_metadata,
    "DEEPSEEK32": _deepseek2_metadata,
    "LLAMA": _llama_metadata,
    "QWEN2": _llama_metadata,
    "QWEN3": _llama_metadata,
    "QWEN3MOE": _llama_metadata,
    "QWEN2MOE": _llama_metadata,
    "GPT_OSS": _gpt_oss_metadata,
    "GLM4_MOE": _glm4_moe_metadata,
    "QWEN3NEXT": _qwen3_next_metadata,
    "GEMMA4": _gemma4_metadata,
}


#: Memory-neutral hyperparameters that vramkit's catalog configs omit but the converter reads
#: from the released config.json (values of those files; they change no buffer size).
_RELEASED = {
    "LLAMA": {"rms_norm_eps": 1e-5, "rope_theta": 500000.0},  # meta-llama/Llama-3.1-70B
    # deepseek-ai/DeepSeek-V3 and V3.2 config.json
    "DEEPSEEK2": {"rms_norm_eps": 1e-6, "rope_theta": 10000.0, "scoring_func": "sigmoid"},
    "DEEPSEEK32": {"rms_norm_eps": 1e-6, "rope_theta": 10000.0, "scoring_func": "sigmoid"},
}


def plan(model: Any, layout: str, types: Mapping[str, str] | None = None) -> GgufPlan:
    """The sparse file's metadata and tensors for vramkit `model` under `layout`; `types`
    (GGUF name → GGML type, e.g. from `llama-quantize --dry-run`) overrides vramkit's types."""
    arch = _arch(model)
    cfg = {**_RELEASED.get(arch, {}), **model.config}
    n_blocks = int(cfg["num_hidden_layers"])
    if arch == "GLM4_MOE":
        n_blocks += int(cfg.get("num_nextn_predict_layers") or 0)  # Glm4MoeModel keeps MTP
    md = _METADATA[arch](cfg, n_blocks)
    tensors = tuple(_tensors(model, arch, layout, n_blocks))
    if types is not None:
        missing = [t.name for t in tensors if t.name not in types]
        if missing:
            raise ValueError(f"no engine type for {len(missing)} tensors, e.g. {missing[:3]}")
        tensors = tuple(GgufTensor(t.name, t.shape, types[t.name]) for t in tensors)
    return GgufPlan(arch, md, tensors)


def plan_v4_mtp(model: Any) -> GgufPlan:
    """The DeepSeek V4 MTP draft file the converter writes with ``--mtp`` (``mtp-*.gguf``,
    conversion/deepseek.py @ 0c1e57098 DeepseekV4Model): block_count = num_hidden_layers +
    num_nextn_predict_layers, ``nextn_predict_layers`` set; only the MTP block (``mtp.0.*`` →
    ``blk.{n_layer}.*``, e_proj/h_proj concatenated into ``nextn.eh_proj`` and forced to Q8_0,
    enorm/hnorm/norm → ``nextn.enorm``/``nextn.hnorm``/``nextn.shared_head_norm``, its
    hc_head_* as the root ones) plus ``embed``, ``norm`` and ``head`` ("keep ONLY NextN-block
    tensors plus the shared embeddings/norm/lm_head"). Types: the converter's V4 layout."""
    from vramkit.quant import tensor_formats

    cfg = model.config
    main = int(cfg["num_hidden_layers"])
    n_blocks = main + int(cfg.get("num_nextn_predict_layers") or 0)
    md = _deepseek_v4_metadata(cfg, n_blocks)
    md["nextn_predict_layers"] = int(cfg.get("num_nextn_predict_layers") or 0)
    out: list[GgufTensor] = []
    eh: list[Any] = []
    for t, fmt in tensor_formats(model, recipe_for("V4_MXFP4")):
        ggml = _ggml(fmt.name, t.kind)
        if not t.mtp:
            if t.name in ("embed.weight", "norm.weight", "head.weight"):
                out.append(GgufTensor(_v4_name(t), tuple(t.shape), ggml))
            continue
        m = re.match(r"mtp\.(\d+)\.(.+)$", t.name)
        if not m:
            raise ValueError(f"unmapped DeepSeek V4 MTP tensor {t.name!r}")
        bid, rest = main + int(m.group(1)), m.group(2)
        if rest in ("hc_head_fn", "hc_head_base", "hc_head_scale"):
            name = _v4_name(replace(t, name=rest))
        elif rest in ("e_proj", "h_proj"):
            eh.append(t)
            if len(eh) == 2:  # torch.cat((e_proj, h_proj), dim=1), tensor_force_quant → Q8_0
                rows = eh[0].shape[0]
                out.append(GgufTensor(f"blk.{bid}.nextn.eh_proj.weight",
                                      (rows, eh[0].shape[1] + eh[1].shape[1]), "Q8_0"))  # fmt: skip
            continue
        elif rest in ("enorm", "hnorm", "norm"):
            key = {"enorm": "NEXTN_ENORM", "hnorm": "NEXTN_HNORM", "norm": "NEXTN_SHARED_HEAD_NORM"}
            name = _fmt(key[rest], bid)
        else:
            name = _v4_name(replace(t, name=f"layers.{bid}.{rest}"))
        if name is None:
            continue
        shape = (t.count, *t.shape) if t.count > 1 else tuple(t.shape)
        out.append(GgufTensor(name, shape, ggml))
    return GgufPlan("DEEPSEEK4", md, tuple(out))


def write(p: GgufPlan, path: Path, *, file_type: int = 0, name: str = "") -> int:
    """Write header + metadata + tensor infos, then extend to full length (a sparse hole).
    Returns the file's logical size in bytes."""
    import gguf
    import numpy as np

    arch_name = gguf.MODEL_ARCH_NAMES[getattr(gguf.MODEL_ARCH, p.arch)]
    w = gguf.GGUFWriter(str(path), arch_name)
    w.add_type(gguf.GGUFType.MODEL)
    if name:
        w.add_name(name)
    w.add_file_type(file_type)
    for key, value in p.metadata.items():
        full = f"{arch_name}.{key}"
        if isinstance(value, bool):
            w.add_bool(full, value)
        elif isinstance(value, int):
            w.add_uint32(full, value)
        elif isinstance(value, float):
            w.add_float32(full, value)
        elif isinstance(value, str):
            w.add_string(full, value)
        elif isinstance(value, list):
            w.add_array(full, value)
        else:
            raise TypeError(f"{full}: unsupported metadata value {value!r}")
    # A tokenizer the loader accepts without a vocabulary (llama-vocab.cpp: "no_vocab").
    w.add_tokenizer_model("no_vocab")
    if "vocab_size" not in p.metadata:
        vocab = next(t.shape[0] for t in p.tensors if t.name == "token_embd.weight")
        w.add_uint32(f"{arch_name}.vocab_size", vocab)
    for t in p.tensors:
        qt = gguf.GGMLQuantizationType[t.ggml_type]
        w.add_tensor_info(t.name, t.shape, np.dtype(np.float32), t.nbytes(), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    # data region: each tensor padded to the alignment (GGUFWriter.write_ti_data_to_file)
    align = w.data_alignment
    header = path.stat().st_size
    data_start = header + (-header % align)
    data = sum(t.nbytes() + (-t.nbytes() % align) for t in p.tensors)
    size = data_start + data
    os.truncate(path, size)
    return size
