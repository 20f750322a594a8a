"""llama.cpp's own buffers for one context: KV caches line by line, states, compute buffer.

What `llama-fit-params --fit-print on` (llama.cpp's `no_alloc` projection) prints per device:
model (the GGUF's tensor bytes), context (every KV cache and state buffer) and compute (the
graph allocator's reservation). vramkit reproduces each figure; the engine's own projections
are recorded under data/measured/llamacpp/ and the tests compare them.

Engine code read (ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f, the tree
llama-cpp-python 0.3.36 vendors):

- src/llama-context.cpp L290-303: ``n_ctx = GGML_PAD(n_ctx, 256)``; not unified:
  ``n_ctx_seq = GGML_PAD(n_ctx / n_seq_max, 256)``, ``n_ctx = n_ctx_seq * n_seq_max``.
- src/llama-kv-cache.cpp L233-234: K and V are ``[n_embd_k_gqa, kv_size, n_stream]`` tensors of
  ``type_k`` / ``type_v`` per layer (one stream per sequence unless ``--kv-unified``); MLA
  (DeepSeek V2/V3) keeps K only (``has_v = !is_mla``).
- src/llama-kv-cache-iswa.cpp L73: ``size_swa = GGML_PAD(min(size_base, n_swa*(unified ?
  n_seq_max : 1) + n_ubatch), 256)``.
- src/llama-kv-cache-dsv4.cpp L28-29, L1289-1325: V4 raw window = an iSWA cache over every
  layer; CSA/HCA/indexer caches ``GGML_PAD(max(1, ceil(kv_size / ratio)), 256)`` cells, K only;
  F32 compressor states ``2 x state_size x n_embd_state`` per layer and stream (csa 8 x 1024,
  hca 128 x 512, lid 8 x 256 on V4-Flash).
- src/llama-model.cpp L2797-2803: the main context filters the NextN/MTP layers out of the KV
  cache (``filter = il < n_layer()``); an MTP draft context holds only those layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import VramkitError, require_int
from .kv_formats import get_runtime, resolve_cache_dtype

MIB = 2**20
CELL_PAD = 256  # GGML_PAD(..., 256) for contexts, windows and compressed caches


@dataclass(frozen=True)
class Settings:
    """One llama.cpp context: -c, -ctk, -ctv, -ub, -fa, -np (non-unified KV streams)."""

    n_ctx: int
    cache_k: str = "f16"
    cache_v: str = "f16"
    n_ubatch: int = 512
    flash_attn: bool = True
    n_seq: int = 1

    def __post_init__(self) -> None:
        require_int("n_ctx", self.n_ctx, minimum=1, maximum=1 << 26)
        require_int("n_ubatch", self.n_ubatch, minimum=1, maximum=1 << 20)
        require_int("n_seq", self.n_seq, minimum=1, maximum=4096)

    @property
    def n_ctx_seq(self) -> int:
        """Cells per sequence stream: GGML_PAD(GGML_PAD(n_ctx, 256) / n_seq, 256)."""
        return _pad(_pad(self.n_ctx) // self.n_seq)


@dataclass(frozen=True)
class CacheLine:
    """One `llama_kv_cache: size = …` line: cells per stream, layers, streams, K and V bytes."""

    cache: str
    cells: int
    layers: int
    streams: int
    k_bytes: int
    v_bytes: int

    @property
    def bytes(self) -> int:
        return self.k_bytes + self.v_bytes


def _pad(n: int, to: int = CELL_PAD) -> int:
    return -(-n // to) * to


def _row(cache: str, dims: int) -> int:
    """ggml_row_size(type, dims): bytes of one cell of `dims` values in cache type `cache`."""
    return resolve_cache_dtype(cache, get_runtime("llama.cpp"), "default").vector_bytes(dims)


def _line(name: str, cells: int, layers: int, s: Settings, k_dims: int, v_dims: int) -> CacheLine:
    per = cells * layers * s.n_seq
    k = per * _row(s.cache_k, k_dims) if k_dims else 0
    v = per * _row(s.cache_v, v_dims) if v_dims else 0
    return CacheLine(name, cells, layers, s.n_seq, k, v)


def _swa_cells(s: Settings, window: int) -> int:
    return _pad(min(s.n_ctx_seq, window + s.n_ubatch))


def kv_lines(family: str, cfg: Mapping[str, Any], s: Settings) -> list[CacheLine]:
    """The KV caches llama.cpp creates for a model of `family` / `cfg` (main context, no MTP)."""
    n_layer = int(cfg["num_hidden_layers"])
    kv = s.n_ctx_seq
    if family == "deepseek_v4":
        ratios = [int(r) for r in cfg["compress_ratios"][:n_layer]]
        dim, idx_dim = int(cfg["head_dim"]), int(cfg["index_head_dim"])
        n4, n128 = ratios.count(4), ratios.count(128)
        window = int(cfg.get("sliding_window") or 128)
        return [
            _line("non-SWA KV cache", kv, 0, s, 0, 0),
            _line("SWA KV cache", _swa_cells(s, window), n_layer, s, dim, 0),
            _line("DSV4 CSA compressed KV cache", _pad(max(1, -(-kv // 4))), n4, s, dim, 0),
            _line("DSV4 HCA compressed KV cache", _pad(max(1, -(-kv // 128))), n128, s, dim, 0),
            _line("DSV4 lightning-indexer KV cache", _pad(max(1, -(-kv // 4))), n4, s, idx_dim, 0),
        ]
    if family == "deepseek_v3":
        latent = int(cfg["kv_lora_rank"]) + int(cfg["qk_rope_head_dim"])
        lines = [
            _line("main KV cache" if cfg.get("index_head_dim") else "", kv, n_layer, s, latent, 0)
        ]
        if cfg.get("index_head_dim"):
            lines.append(_line("indexer KV cache", kv, n_layer, s, int(cfg["index_head_dim"]), 0))
        return lines
    heads = int(cfg["num_attention_heads"])
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    hd = int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads)
    e = kv_heads * hd
    if family == "gpt_oss":
        from .families.gemma4 import gemma4_layer_types

        types = gemma4_layer_types(cfg)
        n_swa = types.count("sliding_attention")
        window = int(cfg["sliding_window"])
        return [
            _line("non-SWA KV cache", kv, n_layer - n_swa, s, e, e),
            _line("SWA KV cache", _swa_cells(s, window), n_swa, s, e, e),
        ]
    if family in ("llama", "glm4_moe"):
        return [_line("", kv, n_layer, s, e, e)]
    raise VramkitError(
        f"vramkit has no llama.cpp KV layout for family {family!r} yet; families with one: "
        "deepseek_v4, deepseek_v3, gpt_oss, llama, glm4_moe."
    )


def state_bytes(family: str, cfg: Mapping[str, Any], s: Settings) -> dict[str, int]:
    """Fixed per-stream state buffers (DeepSeek V4 compressor states, F32): name → bytes.

    Rows kv + score (2) x state_size x n_embd_state x 4 B per layer and stream; state_size is
    2 x ratio (overlap) for CSA / indexer, ratio for HCA; n_embd_state 2 x dim with overlap."""
    if family != "deepseek_v4":
        return {}
    n_layer = int(cfg["num_hidden_layers"])
    ratios = [int(r) for r in cfg["compress_ratios"][:n_layer]]
    dim, idx_dim = int(cfg["head_dim"]), int(cfg["index_head_dim"])
    n4, n128 = ratios.count(4), ratios.count(128)
    f32 = 4
    return {
        "csa": 2 * n4 * 8 * (2 * dim) * f32 * s.n_seq,
        "hca": 2 * n128 * 128 * dim * f32 * s.n_seq,
        "lid": 2 * n4 * 8 * (2 * idx_dim) * f32 * s.n_seq,
    }


def context_bytes(family: str, cfg: Mapping[str, Any], s: Settings) -> int:
    """Σ KV cache lines + state buffers: llama.cpp's `context` column."""
    return sum(c.bytes for c in kv_lines(family, cfg, s)) + sum(
        state_bytes(family, cfg, s).values()
    )


def mib2(n_bytes: int) -> float:
    """Bytes as the engine prints them (`%.2f MiB`)."""
    return round(n_bytes / MIB, 2)
