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


# ---------------------------------------------------------------------------- compute buffer


@dataclass(frozen=True)
class ComputeEstimate:
    """llama.cpp's compute buffer (bytes) for one context, and how it was obtained.

    backend: "CPU" (fitted to the engine's CPU projections) — for CUDA the same graph is
    reserved on the device, but kernels (flash attention, MMQ) and pipeline-parallel copies
    change the peak: an estimate there. fitted: True when this model's own fixture fitted it;
    max_fit_error: that fit's worst relative error on the fixture grid.
    """

    bytes: int
    backend: str
    fitted: bool
    max_fit_error: float | None
    note: str


def _compute_table() -> Mapping[str, Any]:
    from .datafiles import DATA_DIR, load_yaml_text

    global _TABLE
    if _TABLE is None:
        _TABLE = load_yaml_text((DATA_DIR / "llamacpp_compute.yaml").read_text())
    return _TABLE


_TABLE: Mapping[str, Any] | None = None


def _features(cfg: Mapping[str, Any], s: Settings) -> tuple[int, int, float, int]:
    """(1, n_ctx_seq, min(n_ctx_seq / ratio, top_k), swa_cells): benchmarks/engines/fit_compute."""
    kv = s.n_ctx_seq
    sel = 0.0
    if cfg.get("index_topk"):
        ratio = 4 if cfg.get("compress_ratios") else 1
        sel = min(kv / ratio, int(cfg["index_topk"]))
    swa = 0
    if cfg.get("model_type") in ("deepseek_v4", "gpt_oss", "gemma4_text") and cfg.get(
        "sliding_window"
    ):
        swa = _pad(min(kv, int(cfg["sliding_window"]) + s.n_ubatch))
    return 1, kv, sel, swa


def compute_bytes(model_id: str, cfg: Mapping[str, Any], s: Settings) -> ComputeEstimate:
    """llama.cpp's compute buffer for `s`:

        n_ubatch x max(4 n_vocab + 8 n_embd, max_i(a_i + b_i kv + c_i min(kv/r, top_k) + d_i swa))

    The first term (F32 logits of every ubatch token + two F32 hidden rows) is derived; for a
    model with a fixture the lines come from data/llamacpp_compute.yaml (fitted to the engine's
    CPU projections), otherwise from the plain-GQA form read off the engine: without flash
    attention b = 4 (n_head + 1) (F32 KQ per head + F32 mask), with it b = 2 (F16 mask), and
    a = 22 n_embd / 60 n_embd (the Llama/Qwen fits, an estimate for other shapes).
    """
    vocab, embd = int(cfg["vocab_size"]), int(cfg["hidden_size"])
    floor = 4 * vocab + 8 * embd
    x = _features(cfg, s)
    rec = _compute_table()["models"].get(model_id)
    key = f"fa_{'on' if s.flash_attn else 'off'}_" + (
        "f16" if s.cache_k in ("f16", "fp16") else "quant"
    )
    if rec and key in rec:
        lines = rec[key]["lines"]
        per_token = max(
            floor, max(sum(c * v for c, v in zip(line, x, strict=True)) for line in lines)
        )
        return ComputeEstimate(
            round(s.n_ubatch * per_token),
            "CPU",
            True,
            float(rec[key]["max_abs_error"]),
            f"fitted to {rec['fixture']} ({rec[key]['points']} projections)",
        )
    heads = int(cfg.get("num_attention_heads") or 1)
    if s.flash_attn:
        per_token = max(floor, 60 * embd + 2 * x[1])
    else:
        per_token = max(floor, 22 * embd + 4 * (heads + 1) * x[1])
    return ComputeEstimate(
        int(s.n_ubatch * per_token),
        "CPU",
        False,
        None,
        "estimate: the plain-GQA form (no fixture for this model)",
    )
