"""llama.cpp's own buffers for one context: KV caches line by line, states, compute buffer.

What `llama-fit-params --fit-print on` (llama.cpp's `no_alloc` projection) prints per device:
model (the GGUF's tensor bytes), context (every KV cache and state buffer) and compute (the
graph allocator's reservation). vramkit reproduces each figure; the engine's own projections
are recorded under tests/fixtures/measured/llamacpp/ and the tests compare them.

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
from typing import TYPE_CHECKING, Any

from ...errors import VramkitError, require_int
from ...kv.components import pad_to
from ...kv.formats import resolve_cache_dtype
from .. import get_runtime
from .kv import cells

if TYPE_CHECKING:
    from ...families import Family

MIB = 2**20
#: The plain-GQA form's signed error against the engine's CPU projections it was not fitted to
#: (2026-12-08, benchmarks/accuracy.py): the 14 traced checkpoints' 64 settings each
#: (tests/fixtures/measured/llamacpp/: -74.0 % on DeepSeek V3.2 to +285.4 % on DeepSeek V4
#: Pro; Gemma 4 -11.5 % to -0.1 %, the two architectures still without a graph) and the 14
#: converter-written files (tests/accounting/gguf_converter/engine.json, 8K, -ub 512: -57.8 %
#: to +40.8 %): an estimate, not a bound.
FORM_SPREAD = "-74 % to +285 % against the engine on 910 projections"


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
        for name, top in (("n_ctx", 1 << 40), ("n_ubatch", 1 << 20), ("n_seq", 4096)):
            value = require_int(name, getattr(self, name), minimum=1, maximum=top)
            object.__setattr__(self, name, value)  # stored as the int checked (1e6 → 1000000)

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


def _kv_options(n_ubatch: int) -> dict[str, int]:
    """llama.cpp's KV layout options (ctx_pad, swa_pad, comp_pad; data/runtimes.yaml, sourced)
    with this context's -ub."""
    return {**get_runtime("llama.cpp").kv.options, "n_ubatch": n_ubatch}


def _pad(n: int) -> int:
    """GGML_PAD(n, ctx_pad): context cells (256, the record's ctx_pad)."""
    return pad_to(n, get_runtime("llama.cpp").kv.options["ctx_pad"])


def _row(cache: str, dims: int) -> int:
    """ggml_row_size(type, dims): bytes of one cell of `dims` values in cache type `cache`."""
    return resolve_cache_dtype(cache, get_runtime("llama.cpp").kv, "default").vector_bytes(dims)


def _family(family: str | Family) -> Family:
    """A family's record: itself (what a model's first call resolved and hands down,
    `ModelSpec.family_record`), or the registry's by name."""
    if isinstance(family, str):
        from ...families import get_family

        return get_family(family)
    return family


def _name(family: str | Family) -> str:
    return family if isinstance(family, str) else family.name


def _parts(family: str | Family, cfg: Mapping[str, Any]) -> list[Any]:
    """The family's KV parts in values (vramkit.families), main context: no MTP layers."""
    return list(_family(family).kv_parts(cfg, False))


def _cells(part: Any, s: Settings) -> int:
    """Cells per stream of a part: llama.cpp's cell rules (`vramkit.runtimes.llamacpp.kv.cells`)
    over n_ctx_seq context cells."""
    return cells(part.rule, part.tokens, s.n_ctx_seq, _kv_options(s.n_ubatch))


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


def kv_lines(family: str | Family, cfg: Mapping[str, Any], s: Settings) -> list[CacheLine]:
    """The KV caches llama.cpp creates for a model of `family` / `cfg` (main context, no MTP),
    in the engine's order: the full-context caches (with a sliding window: the iSWA pair
    "non-SWA" — 0 layers when every layer is windowed, as DeepSeek V4's raw cache — then "SWA"),
    the compressed caches by ratio, the indexer caches."""
    parts = [p for p in _parts(family, cfg) if p.rule != "state" and p.paging != "recurrent"]
    if any(p.kv_heads == 0 and p.vectors != 1 for p in parts):
        raise VramkitError(f"vramkit has no llama.cpp KV layout for this {_name(family)} cache.")
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
    from ...quant import get_recipe, llamacpp_format_groups, tensor_formats, weight_bytes

    total = weight_bytes(model, recipe).main_bytes
    groups = llamacpp_format_groups(model, get_recipe(recipe, model=model))
    if groups is not None:  # the same sums over the groups typed once per layer kind
        rows = [(g, t, b) for g in groups for (t, _), b in zip(g.rows, g.row_bytes, strict=True)]
        if any(t.gguf_class == "output" and not t.mtp for _, t, _ in rows):
            return total
        return total + sum(
            g.times * t.count * b
            for g, t, b in rows
            if t.gguf_class == "token_embd" and not g.layers and t.layer is None
        )
    pairs = tensor_formats(model, recipe)
    if any(t.gguf_class == "output" and not t.mtp for t, _ in pairs):
        return total
    main_embd = [(t, f) for t, f in pairs if t.gguf_class == "token_embd" and t.layer is None]
    return total + sum(t.count * f.tensor_bytes(t.shape) for t, f in main_embd)


def mtp_draft_kv_lines(
    family: str | Family, cfg: Mapping[str, Any], s: Settings
) -> list[CacheLine]:
    """The KV caches of llama.cpp's MTP draft context (``LLAMA_CONTEXT_TYPE_MTP``, what
    ``--spec-type draft-mtp`` creates): a plain iSWA cache over the NextN layers only
    (``filter_mtp: il >= n_layer()``, src/llama-model.cpp L2587-2610 for DeepSeek V4), so an
    empty "non-SWA" cache and one "SWA" cache of GGML_PAD(min(kv, W + n_ubatch), 256) cells with
    K and V each one ``dims``-wide row per layer (a plain cache keeps V: ``has_v = !is_mla``).
    The NextN layers are what the family's KV parts add with the MTP module included. Measured
    for DeepSeek V4 (tests/fixtures/measured/llamacpp_mtp/); other layouts are refused."""
    from dataclasses import replace

    main = _parts(family, cfg)
    key = ("kind", "rule", "tokens", "dims", "store")
    extra = []
    for p in _family(family).kv_parts(cfg, True):
        same = [m for m in main if all(getattr(m, k) == getattr(p, k) for k in key)]
        n = p.layers - sum(m.layers for m in same)
        if n > 0:
            extra.append(replace(p, layers=n))
    if not extra:
        raise VramkitError(
            f"this {_name(family)} model has no MTP layer, so there is no draft context."
        )
    if any(p.rule != "window" or p.store != "cache" for p in extra):
        raise VramkitError(
            "vramkit models llama.cpp's MTP draft context for sliding-window NextN layers "
            f"(DeepSeek V4) only; this {_name(family)} model's NextN layer is not one."
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


def state_bytes(family: str | Family, cfg: Mapping[str, Any], s: Settings) -> dict[str, int]:
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


def recurrent_lines(
    family: str | Family, cfg: Mapping[str, Any], s: Settings
) -> list[RecurrentLine]:
    """llama.cpp's recurrent memory (Qwen3-Next / Mamba hybrids): n_seq cells, R and S in F32
    (src/llama-memory-recurrent.cpp L133 prints "R (%s) … S (%s)"; both F32) over the recurrent
    layers: shapes from vramkit.families.recurrent with 4-byte elements."""
    if not any(p.paging == "recurrent" for p in _parts(family, cfg)):
        return []
    from ...families.recurrent import recurrent_state

    st = recurrent_state(cfg, conv_dtype_bytes=4, state_dtype_bytes=4)
    n = len(st.layers) * s.n_seq
    return [RecurrentLine(s.n_seq, n * st.conv_bytes, n * st.state_bytes)]


def context_bytes(family: str | Family, cfg: Mapping[str, Any], s: Settings) -> int:
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

    method: "replay" — the engine's own allocation sequence for this model, replayed with
    this setting's tensor sizes (vramkit.runtimes.llamacpp.graph; data/llamacpp_graphs/): the CPU
    figure itself; "arch-replay" — the allocation sequence recorded per architecture with
    every shape a function of the hyperparameters (vramkit.runtimes.llamacpp.arch;
    data/llamacpp_arch_graphs/), replayed at this model's: the CPU figure; "fitted" — lines
    fitted to this model's fixture (data/llamacpp_compute.yaml;
    cache types without a trace); "form" — the plain-GQA form, an estimate (no engine data for
    this model). backend: "CPU" — for CUDA the same graph is reserved on the device, but
    kernels (flash attention, MMQ) and pipeline-parallel copies change the peak: an estimate
    there. max_fit_error: the fit's worst relative error on the fixture grid ("fitted" only).
    """

    bytes: int
    backend: str
    method: str
    max_fit_error: float | None
    note: str

    @property
    def fitted(self) -> bool:
        return self.method == "fitted"


@functools.cache
def _compute_table() -> Mapping[str, Any]:
    from ...datafiles import load_document

    return load_document("llamacpp_compute.yaml")


def graph_quantities(family: str | Family, cfg: Mapping[str, Any], s: Settings) -> dict[str, int]:
    """The quantities llama.cpp's worst-case graph is shaped by: ``ub`` (n_ubatch tokens),
    ``ns`` (streams), ``kv`` (n_ctx_seq cells), ``win`` (the window cache's cells per stream),
    ``comp_<kind>`` (each compressed cache's cells per stream) and ``sel`` (the lightning
    indexer's top-k: min(indexer cells, index_topk), as llama.cpp's ``n_top_k``)."""
    q = {"ub": s.n_ubatch, "ns": s.n_seq, "kv": s.n_ctx_seq}
    parts = _parts(family, cfg)
    for p in parts:
        if p.rule == "window":
            q["win"] = _cells(p, s)
        elif p.rule == "compressed":
            q[f"comp_{p.kind}"] = _cells(p, s)
    idx = [p for p in parts if p.store == "indexer"]
    if idx and cfg.get("index_topk"):
        q["sel"] = min(_cells(idx[0], s), int(cfg["index_topk"]))
    return q


def _features(
    family: str | Family, cfg: Mapping[str, Any], s: Settings
) -> tuple[int, int, float, int]:
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


def _cache_key(cache: str) -> str:
    return "f16" if cache in ("f16", "fp16") else cache


@functools.lru_cache(maxsize=4096)
def _replayed(trace_id: str, family: str | Family, cfg_key: str, s: Settings) -> int | None:
    import json

    from . import graph as lg

    trace = lg.load_trace(trace_id)
    cfg = json.loads(cfg_key)
    if trace is None or trace.get("config_sha256") != lg.config_digest(cfg):
        return None
    if _cache_key(s.cache_v) != _cache_key(s.cache_k):
        return None  # traces are recorded with -ctk = -ctv
    q = graph_quantities(family, cfg, s)
    return lg.peak_bytes(trace, lg.variant_key(s.flash_attn, _cache_key(s.cache_k)), q)


def _replay_if_recorded(
    trace_id: str, family: str | Family, cfg: Mapping[str, Any], s: Settings
) -> int | None:
    """`_replayed` where a trace is recorded for `trace_id` (the config is serialised as the
    cache key only then: most models have none)."""
    from . import graph as lg

    if lg.load_trace(trace_id) is None:
        return None
    import json

    return _replayed(trace_id, family, json.dumps(dict(cfg), sort_keys=True, default=str), s)


def compute_bytes(
    model_id: str, family: str | Family, cfg: Mapping[str, Any], s: Settings
) -> ComputeEstimate:
    """llama.cpp's compute buffer for `s`.

    With a recorded allocator trace for this model and variant (flash attention x K cache
    type), the engine's own allocation sequence replayed at this setting's tensor sizes
    (vramkit.runtimes.llamacpp.graph): ggml-alloc's peak, exact on the CPU backend. Else, with
    a graph recorded for the model's architecture (vramkit.runtimes.llamacpp.arch: every shape
    a function of the hyperparameters), that graph replayed at this model's: the same figure
    for a model never traced (tests/engines/test_llamacpp_arch_replay.py). Otherwise an
    estimate, labelled with its measured spread:

        n_ubatch x max(4 n_vocab + 8 n_embd, max_i(a_i + b_i kv + c_i min(kv/r, top_k) + d_i swa))

    The first term (F32 logits of every ubatch token + two F32 hidden rows) is derived; for a
    model with a fixture the lines come from data/llamacpp_compute.yaml (fitted to the engine's
    CPU projections), otherwise from the plain-GQA form read off the engine: without flash
    attention b = 4 (n_head + 1) (F32 KQ per head + F32 mask), with it b = 2 (F16 mask), and
    a = 22 n_embd / 60 n_embd (the Llama/Qwen fits, an estimate for other shapes).
    """
    replayed = _replay_if_recorded(model_id, family, cfg, s)
    if replayed is not None:
        return ComputeEstimate(
            replayed,
            "CPU",
            "replay",
            None,
            f"llama.cpp's allocator replayed (data/llamacpp_graphs/{model_id}.json.gz)",
        )
    from .arch import arch_compute

    arch = arch_compute(cfg, s)
    if arch.bytes is not None:
        return ComputeEstimate(
            arch.bytes,
            "CPU",
            "arch-replay",
            None,
            f"llama.cpp's allocator replayed over its {arch.template} graph, recorded per "
            f"architecture (data/llamacpp_arch_graphs/{arch.template}.json.gz)",
        )
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
            "fitted",
            float(rec[key]["max_abs_error"]),
            f"fitted to {rec['fixture']} ({rec[key]['points']} projections)",
        )
    return ComputeEstimate(
        form_bytes(family, cfg, s),
        "CPU",
        "form",
        None,
        f"estimate: the plain-GQA form ({arch.reason}; measured spread {FORM_SPREAD})",
    )


def form_bytes(family: str | Family, cfg: Mapping[str, Any], s: Settings) -> int:
    """The plain-GQA form (`compute_bytes`' last resort, an estimate), in bytes:
    n_ubatch x max(4 n_vocab + 8 n_embd, a + b kv) with flash attention a = 60 n_embd, b = 2;
    without it a = 22 n_embd, b = 4 (n_head + 1)."""
    vocab, embd = int(cfg["vocab_size"]), int(cfg["hidden_size"])
    floor = 4 * vocab + 8 * embd
    x = _features(family, cfg, s)
    heads = int(cfg.get("num_attention_heads") or 1)
    if s.flash_attn:
        per_token = max(floor, 60 * embd + 2 * x[1])
    else:
        per_token = max(floor, 22 * embd + 4 * (heads + 1) * x[1])
    return int(s.n_ubatch * per_token)


def mtp_draft_compute_bytes(
    model_id: str, family: str | Family, cfg: Mapping[str, Any], s: Settings
) -> ComputeEstimate:
    """The compute buffer of llama.cpp's MTP draft context (``LLAMA_CONTEXT_TYPE_MTP`` on the
    converter's ``mtp-*.gguf``): the engine's allocator replayed over the draft graph's recorded
    sequence (data/llamacpp_graphs/<model>-mtp.json.gz). Recorded for DeepSeek V4; any other
    model is a `VramkitError`."""
    replayed = _replay_if_recorded(f"{model_id}-mtp", family, cfg, s)
    if replayed is None:
        raise VramkitError(
            f"vramkit has no recorded MTP draft graph for {model_id!r} with this config and "
            f"-ctk {s.cache_k} / -ctv {s.cache_v} (recorded: DeepSeek V4 Flash and Pro)."
        )
    return ComputeEstimate(
        replayed,
        "CPU",
        "replay",
        None,
        f"llama.cpp's allocator replayed (data/llamacpp_graphs/{model_id}-mtp.json.gz)",
    )


@functools.lru_cache(maxsize=64)  # model records hash by identity
def budget_compute_bytes(
    model: Any, *, context: int, batch: int, cache_dtype: str, n_ubatch: int = 512
) -> tuple[int, str]:
    """The budget's workspace on llama.cpp (`vramkit.runtimes.engines.COMPUTE_BUFFERS`):
    the compute buffer for `batch` sequences of `context` tokens (-np batch, -c
    context*batch), -ub `n_ubatch`, flash attention on (what `-fa auto` picks on CUDA), and
    the note saying how it was obtained."""
    k = (
        cache_dtype
        if cache_dtype in ("f16", "fp16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1")
        else "f16"
    )
    settings = Settings(context * batch, k, k, n_ubatch, True, batch)
    est = compute_bytes(model.id, model.family_record, model.config, settings)
    if est.method == "replay":
        how = "llama.cpp's own graph allocator replayed over its recorded sequence"
    elif est.method == "arch-replay":
        how = est.note
    elif est.method == "fitted":
        how = f"fitted to llama.cpp's CPU projections (worst fit error {est.max_fit_error:.1%})"
    else:  # "estimate: the plain-GQA form (why no graph replays; measured spread …)"
        how = est.note
    return est.bytes, (
        f"llama.cpp compute buffer {est.bytes / 2**30:.2f} GiB (-ub {n_ubatch}, flash attention): "
        f"{how}; measured on the CPU backend, an estimate for CUDA; overhead from "
        "data/runtimes.yaml"
    )


@dataclass(frozen=True)
class HostCompute:
    """llama.cpp's CPU ("host") compute buffer on a GPU run, in bytes: the whole buffer (the
    allocator's peak), the graph inputs the CPU backend holds, and the note saying how it was
    obtained. An estimate derived from tensor shapes (see `host_compute_bytes`)."""

    bytes: int
    inputs_bytes: int
    host_experts: bool
    note: str


def host_compute_bytes(
    family: str | Family,
    cfg: Mapping[str, Any],
    s: Settings,
    *,
    n_expert: int,
    top_k: int,
    expert_ff: int,
    host_experts: bool,
    gpus: int = 1,
    expert_sequence: Any = None,
) -> HostCompute:
    """The CPU backend's compute buffer when llama.cpp runs the model on GPUs (bytes).

    ggml_backend_sched splits the graph by backend (ggml/src/ggml-backend.cpp,
    ggml_backend_sched_backend_id_from_cur: graph inputs go to the CPU backend; an op whose
    weight lives in a CPU buffer runs on the CPU) and gives each backend its own ggml-alloc
    buffer, the peak of its own allocations and frees. On the CPU these are, as recorded with
    the traced ggml-alloc (benchmarks/engines/alloc_trace.py's hook) on localhost RPC devices:

    1. the graph inputs, in the engine's order: tokens 4 ub, the input embedding 4 n_embd ub
       (allocated, never used with token input), positions 4 ub, K and V cell indices 8 ub
       each, one mask per KV cache with layers (m ub cells; m = 2 bytes F16 with flash
       attention, 4 F32 without), with a quantized K cache its F32 d x d Hadamard rotation, the
       output ids 4 ub, and the F32 rows get_rows reads from token_embd (4 n_embd ub);
    2. each input is freed once its split has copied it to the GPU: the tokens and rows at
       once; the masks and indices only when layer 0 uses them — a model with one KV cache kind
       (Qwen3, Llama …); with sliding-window or compressed layers first (gpt-oss, DeepSeek V4)
       the other caches' inputs are still live when layer 0's experts run;
    3. when routed experts sit in host RAM (--n-cpu-moe starts at layer 0): that layer's copy of
       the FFN input (4 n_embd ub), the top-k view of the router's argsort ((ub-1) 4 n_expert
       + 4 k), the F32 gate and up outputs and the activation (4 k n_ff ub each), the down
       projection's output (4 k n_embd ub), freed in the engine's order; later host layers
       repeat the same sequence on an emptier buffer.

    The peak is ggml-alloc's best-fit replayed over that sequence (`runtimes.llamacpp.graph.replay`).
    With several GPUs the last GPU copies the masks and indices again after layer 0, so none
    of them is freed before layer 0's experts run.

    Checked against llama-fit-params with localhost RPC devices (tests/fixtures/measured/plan/rpc/,
    benchmarks/engines/README.md): within 0.15 MiB of the printed figure on all 11 recorded
    plans (Qwen3-MoE, gpt-oss, DeepSeek V4; -ub 512/1024/2048; 1 and 2 GPUs) and on Mixtral
    and GLM-4.7 spot checks. An estimate: the sequence is written from the engine's trace of
    these families, not recorded per model; DeepSeek V4's few other index inputs
    (≤ 0.13 MiB) are left out. `expert_sequence`: another engine's host expert layer, a
    callable (embd, ub, n_expert, top_k, expert_ff) → (sizes, ops relative to the first), e.g.
    ik_llama.cpp's fused MoE (`vramkit.runtimes.ik_llama_rules.host_expert_sizes`); None: llama.cpp's.
    """
    from .graph import replay

    embd = int(cfg["hidden_size"])
    ub = s.n_ubatch
    mask = 2 if s.flash_attn else 4
    lines = [ln for ln in kv_lines(family, cfg, s) if ln.layers > 0]
    rot: list[int] = []
    if _cache_key(s.cache_k) != "f16":
        parts = [p for p in _parts(family, cfg) if p.rule != "state" and p.paging != "recurrent"]
        rot = [4 * p.dims * p.dims for p in parts]
    masks = [mask * ub * ln.cells for ln in lines] + rot
    sizes = [4 * ub, 4 * embd * ub, 4 * ub, 8 * ub, 8 * ub, *masks, 4 * ub, 4 * embd * ub]
    n_in = len(sizes)
    ops: list[tuple[int, int]] = [(0, i) for i in range(n_in)]
    ops += [(1, 0), (1, n_in - 1)]  # tokens (read by get_rows) and the rows (copied)
    if gpus > 1:  # the last GPU copies every mask and index again, after layer 0
        pass
    elif len(lines) == 1:  # layer 0 copies every mask and index
        ops += [(1, i) for i in range(2, n_in - 2)]
    else:  # layer 0 is windowed: its positions and the window cache's mask are copied
        ops += [(1, 2)] + [(1, 5 + i) for i, ln in enumerate(lines) if ln.cache == "SWA KV cache"]
    inputs = sum(sizes)
    if host_experts:
        k = require_int("top_k", top_k, minimum=1, maximum=1 << 16)
        ff = require_int("expert_ff", expert_ff, minimum=1, maximum=1 << 24)
        e = require_int("n_expert", n_expert, minimum=k, maximum=1 << 20)
        j = len(sizes)
        if expert_sequence is not None:  # another engine's sequence (ik_llama.cpp -fmoe)
            extra, rel = expert_sequence(embd=embd, ub=ub, n_expert=e, top_k=k, expert_ff=ff)
            sizes += extra
            ops += [(o, j + i) for o, i in rel]
        else:
            sizes += [
                4 * embd * ub,
                (ub - 1) * 4 * e + 4 * k,
                *[4 * k * ff * ub] * 3,
                4 * k * embd * ub,
            ]
            norm, topk, gate, up, act, down = range(j, j + 6)
            ops += [(0, norm), (0, topk), (0, gate), (0, up), (1, norm), (0, act), (1, gate)]
            ops += [(1, up), (0, down), (1, act), (1, topk), (1, down)]
    zero = len(sizes)
    events = {
        "align": 32,
        "op": [o for o, _ in ops],
        "a": [i for _, i in ops],
        "b": [zero if o else 0 for o, _ in ops],
        "c": [i if o else 0 for o, i in ops],
    }
    peak = replay(events, [*sizes, 0])
    note = (
        f"host compute buffer {peak / MIB:,.1f} MiB (llama.cpp's CPU backend: the graph inputs, "
        f"{inputs / MIB:,.1f} MiB"
        + (", and one host expert layer's intermediates" if host_experts else "")
        + "; ggml-alloc replayed over the sequence written from the engine's trace): an estimate"
    )
    return HostCompute(peak, inputs, host_experts, note)


@functools.lru_cache(maxsize=64)  # model records hash by identity
def budget_host_compute(
    model: Any,
    *,
    context: int,
    batch: int,
    cache_dtype: str,
    n_ubatch: int = 512,
    host_experts: bool,
    gpus: int = 1,
    expert_sequence: Any = None,
) -> HostCompute:
    """`host_compute_bytes` for a model record at the budget's settings (as
    `budget_compute_bytes`: -np batch, -c context*batch, flash attention on)."""
    cfg = model.config
    k = (
        cache_dtype
        if cache_dtype in ("f16", "fp16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1")
        else "f16"
    )
    n_expert = int(
        cfg.get("num_local_experts") or cfg.get("n_routed_experts") or cfg.get("num_experts") or 1
    )
    top_k = int(cfg.get("num_experts_per_tok") or cfg.get("experts_per_token") or 1)
    ff = int(cfg.get("moe_intermediate_size") or cfg.get("intermediate_size") or 1)
    settings = Settings(context * batch, k, k, n_ubatch, True, batch)
    return host_compute_bytes(
        model.family_record,
        cfg,
        settings,
        n_expert=max(n_expert, top_k),
        top_k=top_k,
        expert_ff=ff,
        host_experts=host_experts,
        gpus=gpus,
        expert_sequence=expert_sequence,
    )
