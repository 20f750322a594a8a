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

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import VramkitError, require_int
from .kv.formats import resolve_cache_dtype
from .runtimes import get_runtime

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
        require_int("n_ctx", self.n_ctx, minimum=1, maximum=1 << 40)
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
    return resolve_cache_dtype(cache, get_runtime("llama.cpp").kv, "default").vector_bytes(dims)


def _parts(family: str, cfg: Mapping[str, Any]) -> list[Any]:
    """The family's KV parts in values (vramkit.families), main context: no MTP layers."""
    from .families import get_family

    return list(get_family(family).kv_parts(cfg, False))


def _cells(part: Any, s: Settings) -> int:
    """Cells per stream of a part: full n_ctx_seq; window GGML_PAD(min(kv, W + n_ubatch), 256);
    compressed GGML_PAD(max(1, ceil(kv / ratio)), 256)."""
    kv = s.n_ctx_seq
    if part.rule == "window":
        return _pad(min(kv, part.tokens + s.n_ubatch))
    if part.rule == "compressed":
        return _pad(max(1, -(-kv // part.tokens)))
    return kv


def _cache_line(name: str, part: Any, s: Settings, v_max: int = 0) -> CacheLine:
    """K and V bytes of one part: GQA parts (kv_heads > 0) hold kv_heads rows of `dims` values
    in -ctk and as many in -ctv — llama.cpp keeps a V cache on every layer that is not MLA
    (``has_v = !is_mla``), so Gemma 4's global layers, whose checkpoint reuses K as V
    (attention_k_eq_v), still get a full V cache (engine, Gemma 4 31B at 4K: K 160 MiB +
    V 160 MiB on the 10 global layers). Without flash attention V is stored transposed and
    every layer's V row is ``n_embd_v_gqa_max`` wide, the widest over all layers (`v_max`:
    src/llama-kv-cache.cpp L210 ``!v_trans ? n_embd_v_gqa(il) : n_embd_v_gqa_max()``; Gemma 4
    31B global layers: 4 x 512 values padded to the sliding layers' 16 x 256). Latent,
    compressed and indexer parts hold K only (llama.cpp stores the indexer keys in the K cache
    type)."""
    cells = _cells(part, s)
    per = cells * part.layers * s.n_seq
    if part.kv_heads:
        k = per * part.kv_heads * _row(s.cache_k, part.dims)
        width = part.kv_heads * part.dims
        v = per * _row(s.cache_v, width if s.flash_attn else max(width, v_max))
    else:
        k, v = per * part.vectors * _row(s.cache_k, part.dims), 0
    return CacheLine(name, cells, part.layers, s.n_seq, k, v)


def kv_lines(family: str, cfg: Mapping[str, Any], s: Settings) -> list[CacheLine]:
    """The KV caches llama.cpp creates for a model of `family` / `cfg` (main context, no MTP),
    in the engine's order: the full-context caches (with a sliding window: the iSWA pair
    "non-SWA" — 0 layers when every layer is windowed, as DeepSeek V4's raw cache — then "SWA"),
    the compressed caches by ratio, the indexer caches."""
    parts = [p for p in _parts(family, cfg) if p.rule != "state" and p.paging != "recurrent"]
    if any(p.kv_heads == 0 and p.vectors != 1 for p in parts):
        raise VramkitError(f"vramkit has no llama.cpp KV layout for this {family} cache.")
    full = [p for p in parts if p.rule == "full"]
    window = [p for p in parts if p.rule == "window"]
    comp = sorted((p for p in parts if p.rule == "compressed"), key=lambda p: (p.store, p.tokens))
    v_max = max((p.kv_heads * p.dims for p in parts if p.kv_heads), default=0)
    lines: list[CacheLine] = []
    if window:
        if full:
            lines += [_cache_line("non-SWA KV cache", p, s, v_max) for p in full]
        else:
            lines.append(CacheLine("non-SWA KV cache", s.n_ctx_seq, 0, s.n_seq, 0, 0))
        lines += [_cache_line("SWA KV cache", p, s, v_max) for p in window]
    else:
        lines += [_cache_line(f"{p.kind} KV cache", p, s, v_max) for p in full]
    lines += [_cache_line(f"{p.kind} compressed KV cache (ratio {p.tokens})", p, s) for p in comp]
    return lines


def model_buffer_bytes(model: Any, recipe: Any) -> int:
    """llama.cpp's model buffer for the GGUF `recipe` writes: the file's tensor bytes (vramkit's
    main bytes, MTP left out), plus a second copy of ``token_embd`` when the file has no
    ``output.weight`` (tied embeddings): the loader creates the output head from it with
    ``TENSOR_DUPLICATED`` (e.g. src/models/gemma4.cpp L50-54), a tensor of its own in the
    output layer's buffer (on a GPU run: the head on the GPU, token_embd in host memory)."""
    from .quant import tensor_formats, weight_bytes

    total = weight_bytes(model, recipe).main_bytes
    pairs = tensor_formats(model, recipe)
    if any(t.gguf_class == "output" and not t.mtp for t, _ in pairs):
        return total
    main_embd = [(t, f) for t, f in pairs if t.gguf_class == "token_embd" and t.layer is None]
    return total + sum(t.count * f.tensor_bytes(t.shape) for t, f in main_embd)


def mtp_draft_kv_lines(family: str, cfg: Mapping[str, Any], s: Settings) -> list[CacheLine]:
    """The KV caches of llama.cpp's MTP draft context (``LLAMA_CONTEXT_TYPE_MTP``, what
    ``--spec-type draft-mtp`` creates): a plain iSWA cache over the NextN layers only
    (``filter_mtp: il >= n_layer()``, src/llama-model.cpp L2587-2610 for DeepSeek V4), so an
    empty "non-SWA" cache and one "SWA" cache of GGML_PAD(min(kv, W + n_ubatch), 256) cells with
    K and V each one ``dims``-wide row per layer (a plain cache keeps V: ``has_v = !is_mla``).
    The NextN layers are what the family's KV parts add with the MTP module included. Measured
    for DeepSeek V4 (data/measured/llamacpp_mtp/); other layouts are refused."""
    from dataclasses import replace

    from .families import get_family

    main = _parts(family, cfg)
    key = ("kind", "rule", "tokens", "dims", "store")
    extra = []
    for p in get_family(family).kv_parts(cfg, True):
        same = [m for m in main if all(getattr(m, k) == getattr(p, k) for k in key)]
        n = p.layers - sum(m.layers for m in same)
        if n > 0:
            extra.append(replace(p, layers=n))
    if not extra:
        raise VramkitError(f"this {family} model has no MTP layer, so there is no draft context.")
    if any(p.rule != "window" or p.store != "cache" for p in extra):
        raise VramkitError(
            "vramkit models llama.cpp's MTP draft context for sliding-window NextN layers "
            f"(DeepSeek V4) only; this {family} model's NextN layer is not one."
        )
    lines = [CacheLine("non-SWA KV cache", s.n_ctx_seq, 0, s.n_seq, 0, 0)]
    for p in extra:
        cells = _cells(p, s)
        per = cells * p.layers * s.n_seq
        heads = p.kv_heads or p.vectors
        k = per * heads * _row(s.cache_k, p.dims)
        v = per * heads * _row(s.cache_v, p.dims)
        lines.append(CacheLine("SWA KV cache", cells, p.layers, s.n_seq, k, v))
    return lines


def state_bytes(family: str, cfg: Mapping[str, Any], s: Settings) -> dict[str, int]:
    """Fixed per-stream F32 state buffers (DeepSeek V4's compressor states): name → bytes =
    layers x tokens x dims x 4 B x streams; llama.cpp prints them as "state = rows x n_embd"
    (kv + score planes: csa 8 x 1024, hca 128 x 512, lid 8 x 256 on V4-Flash)."""
    out: dict[str, int] = {}
    for i, p in enumerate(
        q for q in _parts(family, cfg) if q.rule == "state" and q.paging != "recurrent"
    ):
        if p.store != "fp32":
            raise VramkitError(f"vramkit has no llama.cpp layout for a {p.store} state.")
        out[f"{p.kind}{i}:{p.tokens}x{p.dims}"] = p.layers * p.tokens * p.dims * 4 * s.n_seq
    return out


@dataclass(frozen=True)
class RecurrentLine:
    """One `llama_memory_recurrent: size = …` line: one cell per sequence; R (conv) and S
    (delta-rule / SSM) state in F32 on each recurrent layer."""

    cells: int
    r_bytes: int
    s_bytes: int

    @property
    def bytes(self) -> int:
        return self.r_bytes + self.s_bytes


def recurrent_lines(family: str, cfg: Mapping[str, Any], s: Settings) -> list[RecurrentLine]:
    """llama.cpp's recurrent memory (Qwen3-Next / Mamba hybrids): n_seq cells, R and S in F32
    (src/llama-memory-recurrent.cpp L133 prints "R (%s) … S (%s)"; both F32) over the recurrent
    layers: shapes from vramkit.families.recurrent with 4-byte elements."""
    if not any(p.paging == "recurrent" for p in _parts(family, cfg)):
        return []
    from .families.recurrent import recurrent_state

    st = recurrent_state(cfg, conv_dtype_bytes=4, state_dtype_bytes=4)
    n = len(st.layers) * s.n_seq
    return [RecurrentLine(s.n_seq, n * st.conv_bytes, n * st.state_bytes)]


def context_bytes(family: str, cfg: Mapping[str, Any], s: Settings) -> int:
    """Σ KV cache lines + state buffers + recurrent memory: llama.cpp's `context` column."""
    return (
        sum(c.bytes for c in kv_lines(family, cfg, s))
        + sum(state_bytes(family, cfg, s).values())
        + sum(r.bytes for r in recurrent_lines(family, cfg, s))
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


@functools.cache
def _compute_table() -> Mapping[str, Any]:
    from .datafiles import load_document

    return load_document("llamacpp_compute.yaml")


def _features(family: str, cfg: Mapping[str, Any], s: Settings) -> tuple[int, int, float, int]:
    """(1, n_ctx_seq, min(n_ctx_seq / ratio, top_k), swa_cells) as benchmarks/engines/
    fit_compute.py: ratio from the indexer part (compressed: its ratio, else 1), top_k the
    config's index_topk; swa_cells the sliding window's cells."""
    kv = s.n_ctx_seq
    parts = _parts(family, cfg)
    sel = 0.0
    idx = [p for p in parts if p.store == "indexer"]
    if idx and cfg.get("index_topk"):
        ratio = idx[0].tokens if idx[0].rule == "compressed" else 1
        sel = min(kv / ratio, int(cfg["index_topk"]))
    window = [p for p in parts if p.rule == "window"]
    swa = _cells(window[0], s) if window else 0
    return 1, kv, sel, swa


def compute_bytes(
    model_id: str, family: str, cfg: Mapping[str, Any], s: Settings
) -> ComputeEstimate:
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
    x = _features(family, cfg, s)
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


def budget_compute_bytes(
    model: Any, *, context: int, batch: int, cache_dtype: str, n_ubatch: int = 512
) -> tuple[int, str]:
    """The budget's workspace on llama.cpp (data/runtimes.yaml compute_buffer_function):
    the compute buffer for `batch` sequences of `context` tokens (-np batch, -c
    context*batch), -ub `n_ubatch`, flash attention on (what `-fa auto` picks on CUDA), and
    the note saying how it was obtained."""
    k = (
        cache_dtype
        if cache_dtype in ("f16", "fp16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1")
        else "f16"
    )
    settings = Settings(context * batch, k, k, n_ubatch, True, batch)
    est = compute_bytes(model.id, model.family, model.config, settings)
    how = (
        f"fitted to llama.cpp's CPU projections (worst fit error {est.max_fit_error:.1%})"
        if est.fitted
        else "the plain-GQA form (no engine fixture for this model)"
    )
    return est.bytes, (
        f"llama.cpp compute buffer {est.bytes / 2**30:.2f} GiB (-ub {n_ubatch}, flash attention): "
        f"{how}; measured on the CPU backend, an estimate for CUDA; overhead from "
        "data/runtimes.yaml"
    )
