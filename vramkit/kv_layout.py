"""Per-layer KV-cache components of each architecture, and their bytes under each runtime's layout.

A model's cache is a list of `KvComponent`s (layers × entries × bytes per entry); a runtime turns
each into bytes for a context of T tokens, vectorised over T with numpy (int64 throughout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .errors import VramkitError
from .kv_formats import CacheDtype, IndexerDtype, RuntimeProfile

RULES = ("full", "window", "compressed", "state")
FP32_BYTES = 4
SATURATED = 2**40
"""A context long enough that every window and state term has reached its constant size."""


@dataclass(frozen=True)
class KvComponent:
    """One cache kind over `layers` layers.

    rule: ``full`` (T entries), ``window`` (min(T, tokens) entries), ``compressed`` (floor(T /
    tokens) entries), ``state`` (a fixed buffer of `tokens` entries, allocated once per sequence).
    entry_bytes: one entry in one layer, all KV heads, K and V included.
    kv_heads: heads the entry is split over by tensor parallelism; 0 = one shared latent (replicated).
    paging: the vLLM page class ("" = generic pages of block_size tokens; "v4_*" = DeepSeek V4).
    """

    kind: str
    layers: int
    rule: str
    tokens: int
    entry_bytes: int
    kv_heads: int = 0
    paging: str = ""


def _index_key_bytes(idx: CacheDtype | IndexerDtype, dims: int) -> int:
    if isinstance(idx, IndexerDtype):
        return idx.key_bytes(dims)
    return idx.vector_bytes(dims)


def _mtp_layers(cfg: Mapping[str, Any], include_mtp: bool) -> int:
    return int(cfg.get("num_nextn_predict_layers") or 0) if include_mtp else 0


def deepseek_v4_components(
    cfg: Mapping[str, Any], cache: CacheDtype, idx: CacheDtype | IndexerDtype, include_mtp: bool
) -> list[KvComponent]:
    """V4: every layer's raw window; CSA (ratio 4) entries + indexer keys; HCA (ratio 128)
    entries; FP32 compressor state [coff*ratio, 2*coff*dim] per layer (coff = 2 when ratio 4)."""
    n = int(cfg["num_hidden_layers"]) + _mtp_layers(cfg, include_mtp)
    ratios = list(cfg["compress_ratios"])[:n]
    dim, rope, idx_dim = (
        int(cfg["head_dim"]),
        int(cfg["qk_rope_head_dim"]),
        int(cfg["index_head_dim"]),
    )
    window = int(cfg.get("sliding_window") or 128)
    main = cache.vector_bytes(dim, rope_dims=rope, family="deepseek_v4")
    key = _index_key_bytes(idx, idx_dim)
    n4, n128 = ratios.count(4), ratios.count(128)
    # state rows hold kv_state + score_state (the 2) of coff*dim values each, for coff*ratio tokens
    return [
        KvComponent("window", n, "window", window, main, paging="v4_window"),
        KvComponent("csa", n4, "compressed", 4, main, paging="v4_main"),
        KvComponent("indexer", n4, "compressed", 4, key, paging="v4_indexer"),
        KvComponent("hca", n128, "compressed", 128, main, paging="v4_main"),
        KvComponent("state", n4, "state", 2 * 4, 2 * 2 * dim * FP32_BYTES, paging="v4_state_c4"),
        KvComponent(
            "state", n4, "state", 2 * 4, 2 * 2 * idx_dim * FP32_BYTES, paging="v4_state_c4"
        ),
        KvComponent("state", n128, "state", 128, 2 * dim * FP32_BYTES, paging="v4_state_c128"),
    ]


def deepseek_v3_components(
    cfg: Mapping[str, Any], cache: CacheDtype, idx: CacheDtype | IndexerDtype, include_mtp: bool
) -> list[KvComponent]:
    """MLA: one latent of kv_lora_rank + qk_rope_head_dim per token per layer (not per head, no
    ×2: K and V are both read from it); V3.2 adds one index_head_dim indexer key per token per layer."""
    n = int(cfg["num_hidden_layers"]) + _mtp_layers(cfg, include_mtp)
    rope = int(cfg["qk_rope_head_dim"])
    latent = int(cfg["kv_lora_rank"]) + rope
    out = [
        KvComponent(
            "mla", n, "full", 1, cache.vector_bytes(latent, rope_dims=rope, family="deepseek_v3")
        )
    ]
    if cfg.get("index_head_dim"):
        out.append(
            KvComponent("indexer", n, "full", 1, _index_key_bytes(idx, int(cfg["index_head_dim"])))
        )
    return out


def gemma4_components(cfg: Mapping[str, Any], cache: CacheDtype) -> list[KvComponent]:
    """Sliding layers: min(T, window) × 2 (K, V) × kv_heads × head_dim; global layers: T ×
    (1 when attention_k_eq_v, K stored once, else 2) × global KV heads × global_head_dim."""
    from .families.gemma4 import gemma4_layer_types

    types = gemma4_layer_types(cfg)
    kv, hd = int(cfg["num_key_value_heads"]), int(cfg["head_dim"])
    g_kv = int(cfg.get("num_global_key_value_heads") or kv)
    g_hd = int(cfg.get("global_head_dim") or hd)
    kv_factor = 1 if cfg.get("attention_k_eq_v") else 2
    n_full = types.count("full_attention")
    return [
        KvComponent(
            "sliding",
            len(types) - n_full,
            "window",
            int(cfg["sliding_window"]),
            2 * kv * cache.vector_bytes(hd),
            kv_heads=kv,
        ),
        KvComponent(
            "full", n_full, "full", 1, kv_factor * g_kv * cache.vector_bytes(g_hd), kv_heads=g_kv
        ),
    ]


def gqa_components(cfg: Mapping[str, Any], cache: CacheDtype) -> list[KvComponent]:
    """MHA/GQA/MQA: T × 2 (K, V) × num_key_value_heads × head_dim per layer; head_dim from the
    config when given (never hidden/heads then)."""
    heads = int(cfg["num_attention_heads"])
    kv = int(cfg.get("num_key_value_heads") or heads)
    hd = int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads)
    n = int(cfg["num_hidden_layers"])
    return [KvComponent("full", n, "full", 1, 2 * kv * cache.vector_bytes(hd), kv_heads=kv)]


def _refuse(cfg: Mapping[str, Any], family: str, why: str) -> VramkitError:
    seen = sorted(
        k
        for k in cfg
        if any(h in k for h in ("attention", "head", "window", "lora", "layer_types", "linear_"))
    )
    return VramkitError(
        f"cannot count the KV cache of this {family} config ({why}); attention fields seen: "
        f"{', '.join(seen) or '(none)'}."
    )


def gpt_oss_components(
    cfg: Mapping[str, Any], cache: CacheDtype, include_mtp: bool
) -> list[KvComponent]:
    """gpt-oss: sliding layers min(T, sliding_window) x 2 (K, V) x kv_heads x head_dim; full
    layers T x the same; the per-head attention sinks are weights, nothing per token."""
    from .families.gemma4 import gemma4_layer_types

    types = gemma4_layer_types(cfg)
    heads = int(cfg["num_attention_heads"])
    kv = int(cfg.get("num_key_value_heads") or heads)
    hd = int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads)
    n_sliding = types.count("sliding_attention")
    window = cfg.get("sliding_window")
    if n_sliding and not (isinstance(window, int) and window > 0):
        raise _refuse(cfg, "gpt_oss", f"{n_sliding} sliding layers but sliding_window={window!r}")
    entry = 2 * kv * cache.vector_bytes(hd)
    return [
        KvComponent("sliding", n_sliding, "window", int(window or 0), entry, kv_heads=kv),
        KvComponent("full", len(types) - n_sliding, "full", 1, entry, kv_heads=kv),
    ]


def glm4_moe_components(
    cfg: Mapping[str, Any], cache: CacheDtype, include_mtp: bool
) -> list[KvComponent]:
    """GLM-4.5/4.6/4.7: plain GQA on every layer (partial rotary changes no cache size):
    T x 2 x kv_heads x head_dim (head_dim from the config); MTP layers when include_mtp."""
    if cfg.get("kv_lora_rank") or cfg.get("layer_types") or cfg.get("sliding_window"):
        raise _refuse(cfg, "glm4_moe", "vramkit counts GLM-4 MoE as full GQA on every layer")
    comps = gqa_components(cfg, cache)
    n = int(cfg["num_hidden_layers"]) + _mtp_layers(cfg, include_mtp)
    return [replace(c, layers=n) for c in comps]


def qwen3_next_components(
    cfg: Mapping[str, Any], cache: CacheDtype, include_mtp: bool
) -> list[KvComponent]:
    """Qwen3-Next: KV only on the full-attention layers (T x 2 x kv_heads x head_dim; MTP layers are
    full attention too) + the constant per-sequence Gated DeltaNet state of the linear layers
    (`vramkit.kv_recurrent.recurrent_state`), one slot per sequence, kind ``recurrent_state``.

    Under TP the state splits by heads as vLLM does (``MambaStateShapeCalculator.
    gated_delta_net_state_shape`` in vllm/model_executor/layers/mamba/mamba_utils.py divides
    num_k_heads and num_v_heads by the TP size: conv (divide(conv_dim, tp), kernel - 1),
    temporal (divide(num_v_heads, tp), head_k_dim, head_v_dim)).
    """
    from .kv_recurrent import attention_layers, recurrent_state

    heads = int(cfg["num_attention_heads"])
    kv = int(cfg.get("num_key_value_heads") or heads)
    hd = int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads)
    n_attn = len(attention_layers(cfg)) + _mtp_layers(cfg, include_mtp)
    state = recurrent_state(cfg)
    if state.kind != "gated_deltanet":
        raise _refuse(cfg, "qwen3_next", f"recurrent layers of kind {state.kind!r}")
    return [
        KvComponent("full", n_attn, "full", 1, 2 * kv * cache.vector_bytes(hd), kv_heads=kv),
        KvComponent(
            "recurrent_state",
            len(state.layers),
            "state",
            1,
            state.per_layer_bytes,
            kv_heads=int(cfg["linear_num_key_heads"]),
            paging="recurrent",
        ),
    ]


def per_rank(components: list[KvComponent], tp: int) -> list[KvComponent]:
    """Components as one tensor-parallel rank holds them: KV heads split when kv_heads >= tp,
    one head per rank (replicated) when kv_heads < tp; single-latent caches replicated whole."""
    out = []
    for c in components:
        if c.kv_heads == 0 or tp == 1 or c.layers == 0:
            out.append(c)
            continue
        if c.kv_heads % tp and tp % c.kv_heads:
            raise VramkitError(
                f"tp={tp} does not divide the {c.kv_heads} KV heads of the {c.kind} layers, nor "
                "do they divide it; runtimes need one to divide the other."
            )
        rank_heads = max(1, c.kv_heads // tp)
        out.append(replace(c, entry_bytes=c.entry_bytes // c.kv_heads * rank_heads))
    return out


def _cdiv(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def _pad(a: np.ndarray | int, b: int) -> np.ndarray:
    return _cdiv(np.asarray(a, dtype=np.int64), b) * b


def component_bytes(
    c: KvComponent, t: np.ndarray, runtime: RuntimeProfile, *, ds_mla_layout: bool
) -> np.ndarray:
    """Bytes of component `c` for one sequence at each context in `t` (int64 array), all layers.

    Notes
    -----
    reference: full T·e; window min(T, W)·e; compressed floor(T/r)·e; state W·e.
    vllm: full cdiv(T, bs)·page; window-type (cdiv(min(W-1+in_flight, T), bs) + 1)·page with
    in_flight = max_num_batched_tokens × concurrent_batches; V4 pages of 256 tokens hold 256/r
    entries, padded to 576 B (fp8_ds_mla) or 512 B. (The V4 shared-pool stride on top of these
    pages is vramkit.kv_vllm's ``padding``.)
    llama.cpp: kv = pad(T, 256); full kv·e; window pad(min(kv, W + n_ubatch), 256)·e;
    compressed pad(max(1, ceil(kv/r)), 256)·e; state W·e·(1 + n_rs_seq).
    recurrent (paging "recurrent", every runtime): W·e per live sequence (one state slot).
    """
    t = np.asarray(t, dtype=np.int64)
    live = t > 0
    e, w = c.entry_bytes, c.tokens
    if c.paging == "recurrent":  # linear-attention state: one fixed slot per live sequence
        per_layer = np.full_like(t, w * e)
    elif runtime.id == "reference":
        per_layer = {
            "full": t * e,
            "window": np.minimum(t, w) * e,
            "compressed": (t // w) * e,
            "state": np.where(live, w * e, 0),
        }[c.rule]
    elif runtime.id == "vllm":
        per_layer = _vllm_bytes(c, t, runtime.options, ds_mla_layout)
    elif runtime.id == "llama.cpp":
        o = runtime.options
        kv = _pad(t, o["ctx_pad"])
        if c.rule == "full":
            per_layer = kv * e
        elif c.rule == "window":
            per_layer = _pad(np.minimum(kv, w + o["n_ubatch"]), o["swa_pad"]) * e
        elif c.rule == "compressed":
            per_layer = _pad(np.maximum(1, _cdiv(kv, w)), o["comp_pad"]) * e
        else:
            per_layer = np.full_like(t, w * e * (1 + o["n_rs_seq"]))
    elif runtime.id == "ik_llama.cpp":
        per_layer = _ik_bytes(c, t, runtime.options)
    else:  # pragma: no cover - profiles are validated on load
        raise VramkitError(f"no layout code for runtime {runtime.id!r}.")
    return np.where(live, per_layer, 0) * c.layers


def _ik_bytes(c: KvComponent, t: np.ndarray, o: Mapping[str, int]) -> np.ndarray:
    """ik_llama.cpp's llama_model::cache_size per layer (src/llama-model.cpp L2463-L2532 @
    8337e4c): kv = pad(T, 256 with flash attention); every attention layer kv rows, sliding ones
    included, unless --swa-compress compacts them to pad(sink + W + max(n_ubatch, 256));
    compressed pad(max(1, ceil(kv/r)), 256) rows; state W rows."""
    kv = _pad(t, o["ctx_pad"])
    if c.rule == "full":
        return kv * c.entry_bytes
    if c.rule == "window":
        if not o["swa_compress"]:
            return kv * c.entry_bytes  # raw K per context cell on every layer
        rows = int(_pad(o["sink_rows"] + c.tokens + max(o["n_ubatch"], 256), o["ctx_pad"]))
        return np.minimum(kv, rows) * c.entry_bytes
    if c.rule == "compressed":
        return _pad(np.maximum(1, _cdiv(kv, c.tokens)), o["comp_pad"]) * c.entry_bytes
    return np.full_like(t, c.tokens * c.entry_bytes)


def _vllm_bytes(
    c: KvComponent, t: np.ndarray, o: Mapping[str, int], ds_mla_layout: bool
) -> np.ndarray:
    align = o["alignment_fp8_ds_mla"] if ds_mla_layout else o["alignment_other"]
    mnbt = o["max_num_batched_tokens"] * o["concurrent_batches"]  # max_in_flight_tokens
    if c.paging in ("v4_main", "v4_indexer"):
        block = o["block_size_deepseek_v4"]
        page = int(_pad(block // c.tokens * c.entry_bytes, align))
        return _cdiv(t, block) * page
    if c.paging == "v4_window":
        block = o["swa_block_size_deepseek_v4"]
        page = int(_pad(block * c.entry_bytes, align))
        return (_cdiv(np.minimum(c.tokens - 1 + mnbt, t), block) + 1) * page
    if c.paging.startswith("v4_state"):
        block = o["state_block_c4"] if c.paging == "v4_state_c4" else o["state_block_c128"]
        page = int(_pad(block * c.entry_bytes, o["state_alignment"]))
        return (_cdiv(np.minimum(c.tokens - 1 + mnbt, t), block) + 1) * page
    block = o["block_size"]
    page = block * c.entry_bytes
    if c.rule == "full":
        return _cdiv(t, block) * page
    if c.rule == "window":
        return (_cdiv(np.minimum(c.tokens - 1 + mnbt, t), block) + 1) * page
    raise VramkitError(
        f"vLLM layout has no rule for a {c.rule} {c.kind} cache outside DeepSeek V4."
    )


def slope_bytes(c: KvComponent, runtime: RuntimeProfile, *, ds_mla_layout: bool) -> float:
    """Asymptotic bytes per extra context token of `c`, all layers (0 for window and state)."""
    if runtime.id == "ik_llama.cpp" and c.rule == "window" and not runtime.options["swa_compress"]:
        return float(c.layers * c.entry_bytes)  # a row per context cell on every such layer
    if c.rule in ("window", "state") or c.layers == 0:
        return 0.0
    if runtime.id == "vllm" and c.paging in ("v4_main", "v4_indexer"):
        o = runtime.options
        align = o["alignment_fp8_ds_mla"] if ds_mla_layout else o["alignment_other"]
        block = o["block_size_deepseek_v4"]
        return c.layers * int(_pad(block // c.tokens * c.entry_bytes, align)) / block
    return c.layers * c.entry_bytes / (c.tokens if c.rule == "compressed" else 1)
