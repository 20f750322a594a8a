"""vLLM's memory profile on one GPU, term by term: weights as loaded, the profiling run's activation
peak, non-torch memory; the KV pool the startup log prints (``Available KV cache memory: X GiB``)
is `vramkit.runtimes.vllm.profile.vllm_profile`, which adds them up.

vLLM v0.19 (``Worker.determine_available_memory``, vllm/v1/worker/gpu_worker.py) sizes the pool as

    available_kv = gpu_memory_utilization × total − (weights + torch peak increase + non-torch increase)

with ``total`` the device total *as the CUDA driver reports it* (``torch.cuda.mem_get_info``: 79.19
GiB on an H100 80GB, not nvidia-smi's 81,559 MiB = 79.65 GiB) and every term measured after the CUDA
context exists (the context is not charged to the budget). The llm-d planner's 59-run v0.19.0 sweep
(data/peer_llmd_sweep.yaml) logs all four terms; ``requested − non_kv`` equals the logged pool to
the log's 0.01 GiB in 58 of 59 runs (the PP=4 run's rank 0 logs a 1.03 GiB larger non-KV total).

Terms, each with its rule:

- weights (`vllm_weight_bytes`): the checkpoint's tensors (`vramkit.quant.vllm_loaded_bytes`: the
  Marlin repack of GPTQ / AWQ / compressed-tensors linears), split per tensor-parallel rank
  (matrices 1/tp; norms and the MoE router replicated; K/V projections keep ``max(1, kv/tp)``
  heads), the vocabulary padded to a multiple of 64 before the split
  (``pad_vocab_size(..., DEFAULT_VOCAB_PADDING_SIZE = 64)``, vllm/model_executor/layers/
  vocab_parallel_embedding.py), the pipeline stage's layers (`pp_layers`), plus the rotary
  embedding's ``cos_sin_cache`` buffer, ``[max_position_embeddings, rotary_dim]`` in the model
  dtype, one per distinct rope (``get_rope`` memoises by its arguments; Gemma 3's local and global
  ropes are two), × the factor of a linear rope scaling (`_rope_rows`: Gemma 3's global rope keeps
  8 × 131,072 rows): vllm/model_executor/layers/rotary_embedding/base.py
  ``self.register_buffer("cos_sin_cache", cache, persistent=False)``; MLA layers' absorbed
  up-projections (`mla_absorbed_bytes`, inferred); vision towers shard like the decoder (Kimi-VL's
  MoonViT: see `vramkit.families._vision.moonvit_kimi_vl` for the open question).
  Gemma 3 27B (the sweep's gemma-3-27b-it run, 51.45 GiB logged): its global rope's linear
  factor 8 makes a 1,048,576-row cache (256 MiB in BF16, not 32 MiB), which was the "+0.29 GiB
  unexplained"; 0.07 GiB (0.14 %) remains, not found in the loader — labelled, not fitted (the
  4B / 12B configs are not stored to tell how it scales).
- activation (`vllm_activation_bytes`): the profiling run executes one forward pass of
  ``max_num_batched_tokens`` tokens, then the sampler on ``max_num_seqs`` rows of logits
  (``GPUModelRunner.profile_run`` → ``_dummy_run(self.max_num_tokens)`` →
  ``_dummy_sampler_run``); ``vllm serve`` on a ≥ 70 GiB non-A100 GPU defaults to 8192 tokens and
  1024 sequences (``EngineArgs.get_batch_defaults``, vllm/engine/arg_utils.py: "For GPUs like
  H100 and MI300x, use larger default values."). The sampler's fp32 logits copies scale with the
  vocabulary, the forward pass with tokens × the widest per-rank activation; the peak is the
  larger of the two (`ACTIVATION_FIT`: coefficients fitted on the sweep's held-in runs, an
  estimate with its held-out spread).
- non-torch (`vllm_non_torch_bytes`): 0.25 GiB on one GPU; with tensor parallelism NCCL's
  buffers make it ~2.1 GiB; a pipeline stage that is not alone logs 0.07 GiB (medians of the
  sweep's held-in runs: measured, not derived).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...catalog import ModelSpec, get_model
from ...errors import VramkitError, require_int

GIB = 2**30

VOCAB_PADDING = 64
"""``DEFAULT_VOCAB_PADDING_SIZE`` (vllm/model_executor/layers/vocab_parallel_embedding.py)."""

MAX_BATCHED_TOKENS = 2**24
"""Largest max_num_batched_tokens / max_num_seqs accepted (16.8 M tokens in one step)."""

DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192
DEFAULT_MAX_NUM_SEQS = 1024
"""``vllm serve`` defaults on a GPU with ≥ 70 GiB that is not an A100 (``get_batch_defaults``)."""

NON_TORCH_GIB = {"single": 0.25, "tensor_parallel": 2.10, "pipeline_stage": 0.07}
"""vLLM v0.19 "non-torch forward increase memory" per GPU (medians of the sweep's held-in runs:
TP=1 0.24-0.27 except Granite 0.46; TP≥2 2.06-2.21; PP≥2 rank 0 0.07)."""


@dataclass(frozen=True)
class ActivationFit:
    """``activation = moe_workspace + max(sampler, forward)``, bytes:

    sampler = logit_copies × 4 B × max_num_seqs × vocab + base
    forward = tokens × dtype bytes × (hidden_coeff × hidden + inter_coeff × 2 × intermediate / tp)

    (the MoE workspace is computed, not fitted: `moe_workspace_bytes`)."""

    logit_copies: float
    base_bytes: int
    hidden_coeff: float
    inter_coeff: float


ACTIVATION_FIT = ActivationFit(logit_copies=3.7, base_bytes=82_000_000, hidden_coeff=10.0,
                               inter_coeff=1.0)  # fmt: skip
"""Fitted by ``benchmarks/peer_llmd.py --fit`` on the sweep's 39 held-in runs with a stored config
(held-out rule in data/peer_llmd_sweep.yaml): mean |error| 1.83 % there, 2.38 % on the 11
held-out runs (worst 10.7 %); an estimate: its error on the held-out runs is printed by the
benchmark."""


def _cfg(model: ModelSpec) -> Mapping[str, Any]:
    return model.config


def pp_layers(num_layers: int, pp: int, rank: int) -> range:
    """Layers of pipeline stage `rank` as vLLM's ``get_pp_indices`` (vllm/distributed/utils.py)
    splits them: ``num_layers // pp`` each, the remainder one each to the stages just before the
    last (``partitions[-i] += 1`` for i in 2 … remainder + 1)."""
    n = require_int("num_hidden_layers", num_layers, minimum=1)
    pp = require_int("pipeline_parallel_size", pp, minimum=1)
    rank = require_int("pipeline rank", rank, minimum=0, maximum=pp - 1)
    if pp > n:
        raise VramkitError(f"pipeline parallel size {pp} is more than the model's {n} layers.")
    parts = [n // pp] * pp
    for i in range(2, n % pp + 2):
        parts[-i] += 1
    start = sum(parts[:rank])
    return range(start, start + parts[rank])


def _rope_rows(cfg: Mapping[str, Any]) -> int:
    """Rows of every ``cos_sin_cache`` vLLM builds, summed over its distinct rotary embeddings.

    One rope of ``max_position_embeddings`` rows; a ``linear`` rope_scaling of factor f keeps
    max_position × f rows (``LinearScalingRotaryEmbedding._compute_cos_sin_cache``: "max_len =
    self.max_position_embeddings * scaling_factor", vllm/model_executor/layers/rotary_embedding/
    linear_scaling_rope.py @ 0f17ee061e413bf8ab7927f926f69cdff24dc63e). Gemma 3
    (``rope_local_base_freq``) builds two: its sliding layers a local rope with
    ``{"rope_type": "default"}`` (unscaled), its global layers ``config.rope_scaling`` (linear,
    factor 8 on 131,072 positions: 1,048,576 rows). None when the config has no rotary position."""
    if cfg.get("position_embedding_type", "rope") not in ("rope", "rotary"):
        return 0
    positions = int(cfg.get("max_position_embeddings") or 0)
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type") or scaling.get("type") if isinstance(scaling, Mapping) else None
    factor = float(scaling.get("factor") or 1.0) if kind == "linear" else 1.0
    main = math.ceil(positions * factor)
    return main + (positions if "rope_local_base_freq" in cfg else 0)


def rope_cache_bytes(model: ModelSpec | str, *, dtype_bytes: int = 2) -> int:
    """``cos_sin_cache`` bytes: rows (`_rope_rows`) × rotary_dim × dtype_bytes, rotary_dim =
    head_dim × partial_rotary_factor (Phi-2: 0.4)."""
    cfg = _cfg(get_model(model))
    heads = int(cfg.get("num_attention_heads") or 0)
    head_dim = int(cfg.get("head_dim") or (int(cfg.get("hidden_size", 0)) // heads if heads else 0))
    rot = int(head_dim * float(cfg.get("partial_rotary_factor", 1.0)))
    return _rope_rows(cfg) * rot * dtype_bytes


DTYPE_BYTES = {"bf16": 2, "f16": 2, "fp16": 2, "f32": 4, "fp32": 4}
"""Bytes per element of the model dtypes vLLM's ``--dtype`` takes here."""


def vllm_weight_bytes(
    model: ModelSpec | str,
    *,
    tp: int = 1,
    pp: int = 1,
    pp_rank: int = 0,
    dtype: str | None = None,
    quantization: str | None = None,
    mxfp4_backend: str = "marlin",
) -> int:
    """Bytes of weights one GPU holds after vLLM loads `model` (see the module docstring).

    `dtype` ("f32" …) overrides the checkpoint's 16-bit tensors (``--dtype``); `quantization`
    "fp8" is vLLM's online FP8 (``--quantization fp8``: every linear of the decoder layers
    becomes FP8 with one FP32 scale per tensor, ``Fp8LinearMethod`` with no checkpoint scales;
    embeddings, norms and lm_head stay in the model dtype). MXFP4 MoE experts (gpt-oss) are padded
    per rank by `mxfp4_backend` (`vramkit.runtimes.vllm.load.mxfp4_rank_layer_bytes`; Marlin on H100)."""
    from ...model.checkpoint_formats import CheckpointFormat
    from ...model.params import ROUTED_GROUPS
    from ...quant import tensor_formats
    from .load import is_mxfp4_moe, mxfp4_rank_layer_bytes

    spec = get_model(model)
    tp = require_int("tensor_parallel_size", tp, minimum=1, maximum=1024)
    cfg = _cfg(spec)
    if int(cfg.get("num_attention_heads") or 1) % tp:  # vLLM shards the heads evenly
        raise VramkitError(
            f"tensor parallelism splits the {cfg.get('num_attention_heads')} attention heads of "
            f"{spec.id} evenly, and {tp} does not divide them; use a divisor."
        )
    layers = int(cfg.get("num_hidden_layers") or 0)
    stage = pp_layers(layers, pp, pp_rank) if layers else range(0)
    first, last = pp_rank == 0, pp_rank == pp - 1
    scale = 1.0
    if dtype is not None:
        if dtype not in DTYPE_BYTES:
            raise VramkitError(
                f"vLLM --dtype {dtype!r} is not modelled; use one of {', '.join(DTYPE_BYTES)}."
            )
        scale = DTYPE_BYTES[dtype] / 2
    if quantization not in (None, "fp8"):
        raise VramkitError(
            f"vLLM --quantization {quantization!r} (online) is not modelled; checkpoint "
            "quantization is read from quantization_config. Online: fp8."
        )
    heads = int(cfg.get("num_attention_heads") or 1)
    kv = int(cfg.get("num_key_value_heads") or heads)
    kv_keep = max(1, kv // tp) * tp / kv if kv else 1.0  # K/V heads each rank keeps, × tp
    mxfp4 = is_mxfp4_moe(spec)
    total = 0.0
    if mxfp4:
        total += len(stage) * mxfp4_rank_layer_bytes(spec, mxfp4_backend, tp)
    for t, fmt in tensor_formats(spec):
        if t.mtp or (mxfp4 and t.group in ROUTED_GROUPS):
            continue
        if t.layer is not None and t.layer not in stage and t.group not in ("vision",):
            continue
        if t.group == "embed" and not first:
            continue
        if t.group == "lm_head" and not last:
            continue
        if t.layer is None and t.group == "norms" and not last:
            continue  # the final norm lives on the last stage
        if t.group == "vision" and not first:
            continue
        b = t.count * fmt.tensor_bytes(t.shape)
        if isinstance(fmt, CheckpointFormat) and len(t.shape) == 2:
            b += t.count * fmt.vllm_marlin_delta(t.shape)
        native16 = fmt.name in ("BF16", "F16", "FP16")
        if native16:
            b *= scale
        if quantization == "fp8" and t.layer is not None and t.kind == "matrix" and native16:
            b = t.count * (math.prod(t.shape) + 4)
        if t.kind == "embedding" or t.group in ("embed", "lm_head"):
            rows = t.shape[0]
            b *= -(-rows // VOCAB_PADDING) * VOCAB_PADDING / rows
        if t.group in ("norms", "router") or t.kind == "vector":
            total += b
        elif t.role in ("k", "v"):
            total += b * kv_keep / tp
        else:
            total += b / tp
    if pp > 1 and last and not first and bool(cfg.get("tie_word_embeddings", False)):
        emb = sum(
            t.count * f.tensor_bytes(t.shape) for t, f in tensor_formats(spec) if t.group == "embed"
        )
        total += emb * scale / tp  # the last stage's lm_head is its own copy of the embedding
    total += len(stage) * mla_absorbed_bytes(cfg, tp, 4 if dtype in ("f32", "fp32") else 2)
    rope_bytes = 4 if dtype in ("f32", "fp32") else 2
    return round(total) + rope_cache_bytes(spec, dtype_bytes=rope_bytes)


def mla_absorbed_bytes(cfg: Mapping[str, Any], tp: int, dtype_bytes: int = 2) -> int:
    """One MLA layer's absorbed up-projections on one rank: ``W_UK_T`` and ``W_UV`` (vLLM's
    ``MLACommonImpl.process_weights_after_loading`` splits ``kv_b_proj`` into them) held beside
    ``kv_b_proj``: kv_lora_rank × heads / tp × (qk_nope_head_dim + v_head_dim) × dtype bytes.
    Inferred, not read at a pinned line: it is what closes the sweep's two MLA loads
    (DeepSeek-V2-Lite −0.46 % → −0.05 %, Kimi-VL −0.48 % → −0.13 %). 0 without MLA."""
    rank = int(cfg.get("kv_lora_rank") or 0)
    if not rank:
        return 0
    heads = int(cfg.get("num_attention_heads") or 0) // tp
    return (
        rank
        * heads
        * (int(cfg.get("qk_nope_head_dim") or 0) + int(cfg.get("v_head_dim") or 0))
        * dtype_bytes
    )


def _widest_ffn(model: ModelSpec, tp: int) -> float:
    """Widest per-rank dense FFN activation of one token (gate + up: ×2): the dense MLP or the
    shared expert, whichever is wider; 0 for a model whose every MLP is routed (Mixtral,
    Qwen3-MoE, gpt-oss: their ``intermediate_size`` is the expert's, in the MoE workspace)."""
    widths = [t.shape[0] for t in model.inventory
              if t.group in ("dense_mlp", "shared_experts") and t.role in ("gate", "up")
              and len(t.shape) == 2]  # fmt: skip
    return 2 * max(widths, default=0) / tp


def moe_workspace_bytes(cfg: Mapping[str, Any], tp: int, tokens: int, dtype_bytes: int = 2) -> int:
    """The fused-MoE workspaces of one forward pass of `tokens` on one rank, kept allocated after
    it (a persistent workspace buffer, so they add to the sampler's peak):
    ``TritonExperts.workspace_shapes`` (vllm/model_executor/layers/fused_moe/fused_moe.py)
    workspace13 = (M, top_k, max(N, K)), workspace2 = (M, top_k, N // 2) with N = 2 × I / tp
    (gate + up) and K = hidden: M·top_k·(max(2I/tp, H) + I/tp) × dtype bytes. 0 for a dense model."""
    top_k = int(cfg.get("num_experts_per_tok") or cfg.get("moe_topk") or 0)
    experts = int(
        cfg.get("num_local_experts") or cfg.get("num_experts") or cfg.get("n_routed_experts") or 0
    )
    if not top_k or not experts:
        return 0
    inter = int(cfg.get("moe_intermediate_size") or cfg.get("intermediate_size") or 0) / tp
    hidden = int(cfg.get("hidden_size") or 0)
    return round(tokens * top_k * (max(2 * inter, hidden) + inter) * dtype_bytes)


def vllm_activation_bytes(
    model: ModelSpec | str,
    *,
    tp: int = 1,
    last_stage: bool = True,
    max_num_batched_tokens: int = DEFAULT_MAX_NUM_BATCHED_TOKENS,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
    fit: ActivationFit = ACTIVATION_FIT,
    dtype_bytes: int = 2,
) -> int:
    """Torch peak increase of vLLM's profiling run on one GPU (an estimate, `ACTIVATION_FIT`):
    the MoE workspace (`moe_workspace_bytes`) + max(sampler, dense forward); a pipeline stage
    that is not the last runs no sampler."""
    spec = get_model(model)
    cfg = _cfg(spec)
    tp = require_int("tensor_parallel_size", tp, minimum=1, maximum=1024)
    tokens = require_int("max_num_batched_tokens", max_num_batched_tokens, minimum=1,
                         maximum=MAX_BATCHED_TOKENS)  # fmt: skip
    seqs = require_int("max_num_seqs", max_num_seqs, minimum=1, maximum=MAX_BATCHED_TOKENS)
    vocab = int(cfg.get("vocab_size") or 0)
    hidden = int(cfg.get("hidden_size") or 0)
    forward = (
        tokens * dtype_bytes * (fit.hidden_coeff * hidden + fit.inter_coeff * _widest_ffn(spec, tp))
    )
    sampler = fit.logit_copies * 4 * min(seqs, tokens) * vocab + fit.base_bytes
    moe = moe_workspace_bytes(cfg, tp, tokens, dtype_bytes)
    return round(moe + (max(forward, sampler) if last_stage else forward))


def budget_workspace_bytes(
    model: ModelSpec | str, *, context: int, batch: int, cache_dtype: str, n_ubatch: int = 0
) -> tuple[int, str]:
    """The budget's and the planner's workspace on vLLM (data/runtimes.yaml
    ``compute_buffer_computed``, registered in vramkit.runtimes.engines): the profiling run's
    peak at vLLM's defaults on a ≥ 70 GiB GPU (8,192 batched tokens, 1,024 sequences) on one rank of tensor parallel 1 (the widest MoE
    shard, an upper bound under tp), whatever the context; and the note saying so. `context`,
    `batch`, `cache_dtype` and `n_ubatch` do not change it (vLLM profiles one fixed step)."""
    del context, batch, cache_dtype, n_ubatch
    b = vllm_activation_bytes(model)
    return b, (
        f"workspace {b / GIB:.2f} GiB: vLLM's profiling-run peak (vramkit.runtimes.vllm.memory: sampler "
        "over 1,024 x vocab fp32 logits + the fused-MoE workspace + an 8,192-token forward, "
        "fitted on the llm-d v0.19 H100 sweep, held-out mean |error| 2.4 %); overhead: estimates "
        "from data/runtimes.yaml"
    )


def vllm_non_torch_bytes(*, tp: int = 1, pp: int = 1) -> int:
    """`NON_TORCH_GIB` for this split, in bytes (tensor parallelism dominates)."""
    if tp > 1:
        return round(NON_TORCH_GIB["tensor_parallel"] * GIB)
    if pp > 1:
        return round(NON_TORCH_GIB["pipeline_stage"] * GIB)
    return round(NON_TORCH_GIB["single"] * GIB)


def cuda_total_bytes(gpu: str) -> int:
    """The device total vLLM multiplies by gpu_memory_utilization: the CUDA total recorded for the
    card (data/gpus.yaml ``cuda_total_memory``; H100 80GB 79.19 GiB, every run of the llm-d sweep
    logs ``init_total_memory_gib`` 79.19), else the catalog's capacity — the one figure `plan`,
    `fit` and the API take (`vramkit.hardware.Gpu.total_for_fraction`)."""
    from ...hardware import get_gpu

    return get_gpu(gpu).total_for_fraction(True)


def __getattr__(name: str) -> Any:
    """`vllm_profile` / `VllmProfile`, which moved to `vramkit.runtimes.vllm.profile` (so that a
    command that never asks for a whole profile does not build its record): still offered here,
    loaded on first use."""
    if name in ("vllm_profile", "VllmProfile"):
        from . import profile

        return getattr(profile, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
