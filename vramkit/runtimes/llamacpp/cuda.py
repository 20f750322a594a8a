"""What llama.cpp's CUDA backend adds to, or moves from, the CPU projection — read from its code.

vramkit's compute figures are the CPU backend's (`runtimes.llamacpp.memory.compute_bytes`). On a CUDA
run the engine reserves the same graph per device, and the backend changes these terms; each is
written here from the pinned tree (ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f,
what llama-cpp-python 0.3.36 vendors) and labelled with its source. None was measured on a GPU
here (this project's sessions had none lent): every term's `kind` says so.

1. Output (logits) buffer — host memory, pinned when the output layer is on a GPU:
   src/llama-context.cpp L2116-2203 (`output_reserve`): ``n_vocab x max(n_outputs, n_seq_max)``
   F32 logits (plus embeddings when asked for); the buffer type is
   ``ggml_backend_dev_host_buffer_type(model.dev_output())`` — CUDA_Host (cudaMallocHost) when
   the output tensor is on a CUDA device, plain CPU memory otherwise. At context creation
   ``n_outputs = n_seq_max`` (L377); a batch asking for every token's logits grows it to
   ``n_vocab x n_batch`` floats (L1857 ``output_reserve(n_outputs_all)``).
2. The CPU backend's compute buffer in pinned memory: L408-418 — with any GPU in the model's
   devices, the CPU backend's scheduler buffer uses ``ggml_backend_dev_host_buffer_type`` of
   device 0 (CUDA_Host), so `memory.host_compute_bytes` (inputs, host experts' intermediates) is
   page-locked memory, which the OS cannot swap and which counts against pinnable RAM.
3. Flash attention's F16 copies of a quantized cache, inside the compute buffer:
   ggml/src/ggml-cuda/ggml-cuda.cu L903-920 (`get_alloc_size`) and ggml-cuda/fattn.cu L722-756
   with fattn-common.cuh L53-80: a FLASH_ATTN_EXT node's allocation is its output, then
   (GGML_PAD 128) ``2 x nelements(K)`` bytes and (unless V is a view of K, as MLA's) ``2 x
   nelements(V)`` bytes when the chosen kernel needs F16 K/V (the MMA and tile kernels — what
   a many-token ubatch uses — always do) and the cache is not F16. K and V are the cache views
   the graph reads: ``head_dim x cells x kv_heads x streams``.
4. Quantized tensors' row padding: ggml-cuda.cu L911-917 — a quantized tensor whose ``ne0`` is
   not a multiple of MATRIX_ROW_PADDING (512, common.cuh L186) is allocated with one row's worth
   of the missing elements added (``ggml_row_size(type, 512 - ne0 % 512)``, once per tensor).
5. MoE workspace from the CUDA pool (outside the reserved compute buffer, grown on first use and
   kept): ggml-cuda.cu L1955-1970 (`mul_mat_id`): ``2 x n_tokens x k`` int32 ids, ``n_tokens x
   k x n_embd`` sorted inputs and ``n_tokens x k x n_ff`` sorted outputs, F32. The MMQ path
   (L1934-1936, what most quantized expert types take) returns before these and quantizes the
   inputs to q8_1 instead, which is smaller: charged as the sorted path's size, an upper estimate.
6. Host weights copied into the first GPU's compute buffer (op offload, on by default):
   ggml-backend.cpp L961-979 — an op whose weight sits in a host buffer is given to the first
   device whose ``offload_op`` accepts it, and ggml-cuda.cu L5636-5655 accepts a MUL_MAT /
   MUL_MAT_ID of at least 32 tokens (``GGML_OP_OFFLOAD_MIN_BATCH``, L5825), so at a ubatch of
   32 or more every host expert matmul (and every matmul of a layer left on the CPU, and the
   output matmul when the output layer is on the CPU) runs on CUDA0; L1376-1395 then makes a
   copy of the weight (``ggml_dup_tensor_layout``: the whole tensor, every expert) inside that
   split, allocated in CUDA0's compute buffer, and starts a new split per weight so that the
   copies' memory is reused (L1332-1338). CUDA0's buffer therefore holds the largest such
   weight besides the graph's own tensors: charged as that tensor's bytes (with its CUDA row
   padding) on top of the projected buffer — an estimate (the allocator may place it in a gap).
   The CPU projection (`memory.host_compute_bytes`) puts those experts' intermediates in the
   host's buffer; on CUDA they are on the GPU, so the host figure is, if anything, high.

Published logs of real CUDA runs confirm where terms 1 and 2 live (not their sizes for any
model here): ``CUDA_Host  output buffer size = 1.95 MiB`` and ``CUDA_Host compute buffer``
lines next to the per-GPU ``CUDA0 compute buffer`` (https://github.com/ggml-org/llama.cpp/pull/6122,
2 GPUs, -c 4096; https://github.com/ggml-org/llama.cpp/pull/14939, GLM 4.5 on 2 GPUs:
``CUDA_Host compute buffer size = 12.01 MiB``). Held-out published logs, none from the pinned build,
are compared in benchmarks/accuracy.py (`cuda_log_section`, tests/fixtures/cuda_published/): the
logits buffer and a window cache to the printed MiB; term 6's whole-tensor charge +7.3 % over
the one excess whose tensor the log prints (GLM-5.2, 4 GPUs, --n-cpu-moe).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import require_int

URL = "https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/"
KIND = "code (read from the pinned tree; not measured on a GPU)"
MATRIX_ROW_PADDING = 512
FA_PAD = 128


@dataclass(frozen=True)
class CudaTerm:
    """One CUDA-backend term: bytes, where they live, and the code that says so."""

    name: str
    bytes: int
    where: str
    source: str
    kind: str = KIND


def _pad(n: int, to: int) -> int:
    return -(-n // to) * to


def output_buffer(n_vocab: int, n_seq: int, *, output_on_gpu: bool, n_outputs: int = 0) -> CudaTerm:
    """The logits buffer: 4 x n_vocab x max(n_outputs, n_seq) bytes, host memory (pinned
    CUDA_Host when the output layer is on a GPU). `n_outputs` 0: as at context creation."""
    v = require_int("n_vocab", n_vocab, minimum=1, maximum=1 << 24)
    s = require_int("n_seq", n_seq, minimum=1, maximum=4096)
    o = require_int("n_outputs", n_outputs, minimum=0, maximum=1 << 20)
    return CudaTerm(
        "output (logits) buffer",
        4 * v * max(o, s),
        "host, pinned (CUDA_Host)" if output_on_gpu else "host",
        URL + "src/llama-context.cpp#L2116-L2203",
    )


def fa_f16_extra(
    head_dim_k: int,
    head_dim_v: int,
    cells: int,
    kv_heads: int,
    streams: int,
    *,
    cache_k: str,
    cache_v: str,
    v_is_k_view: bool = False,
) -> CudaTerm:
    """Bytes a FLASH_ATTN_EXT node's CUDA allocation adds past its output when the cache is
    quantized: GGML_PAD(…, 128) then 2 x nelements(K), and the same for V unless V is a view of
    K (the MMA / tile kernels a many-token ubatch uses convert both to F16). Zero for F16 K and
    V. Bounded by 2 x 128 bytes of padding (the pads depend on where the output ends)."""
    for name, v in (("head_dim_k", head_dim_k), ("head_dim_v", head_dim_v), ("cells", cells),
                    ("kv_heads", kv_heads), ("streams", streams)):  # fmt: skip
        require_int(name, v, minimum=1, maximum=1 << 40)
    extra = 0
    if cache_k not in ("f16", "fp16"):
        extra += FA_PAD + 2 * head_dim_k * cells * kv_heads * streams
    if cache_v not in ("f16", "fp16") and not v_is_k_view:
        extra += FA_PAD + 2 * head_dim_v * cells * kv_heads * streams
    return CudaTerm(
        "flash attention F16 K/V copy (per attention node)",
        extra,
        "GPU compute buffer",
        URL + "ggml/src/ggml-cuda/fattn.cu#L722-L756",
    )


def moe_pool_workspace(n_tokens: int, n_used: int, n_embd: int, n_ff: int) -> CudaTerm:
    """mul_mat_id's sorted copies from the CUDA pool, live together in one call: 8 n_tokens k
    (ids) + 4 n_tokens k ne10 (inputs) + 4 n_tokens k ne0 (outputs), F32; gate / up read
    n_embd and write n_ff, down the reverse, so either call holds 4 n_tokens k (n_embd + n_ff)."""
    t = require_int("n_tokens", n_tokens, minimum=1, maximum=1 << 20)
    k = require_int("n_used", n_used, minimum=1, maximum=1 << 16)
    e = require_int("n_embd", n_embd, minimum=1, maximum=1 << 20)
    f = require_int("n_ff", n_ff, minimum=1, maximum=1 << 24)
    return CudaTerm(
        "MoE sorted-token workspace (CUDA pool)",
        8 * t * k + 4 * t * k * e + 4 * t * k * f,
        "GPU, CUDA memory pool (outside the compute buffer)",
        URL + "ggml/src/ggml-cuda/ggml-cuda.cu#L1955-L1970",
    )


def quantized_row_padding(ne0: int, block: int, block_bytes: int) -> int:
    """Extra bytes CUDA allocates for one quantized tensor whose ne0 is not a multiple of 512
    (ggml-cuda.cu L911-917, ``size += ggml_row_size(type, MATRIX_ROW_PADDING - ne0 %
    MATRIX_ROW_PADDING)``): ONE row's worth of the missing elements, once per tensor (the last
    row may be read past its end), not per row — (512 − ne0 mod 512) / block x block_bytes."""
    n = require_int("ne0", ne0, minimum=1, maximum=1 << 30)
    b = require_int("block", block, minimum=1, maximum=MATRIX_ROW_PADDING)
    bb = require_int("block_bytes", block_bytes, minimum=1, maximum=1 << 16)
    return _row_padding(n, b, bb)


def _row_padding(ne0: int, block: int, block_bytes: int) -> int:
    """`quantized_row_padding` of values already checked (a tensor's shape, its format's
    block), for the sums over a model's tensors."""
    pad = (-ne0) % MATRIX_ROW_PADDING
    return -(-pad // block) * block_bytes if pad else 0


def pinned_host_compute(n_bytes: int) -> CudaTerm:
    """The CPU backend's compute buffer (bytes from `memory.host_compute_bytes`) is CUDA_Host
    (cudaMallocHost) memory whenever the model has a GPU: page-locked, not swappable."""
    b = require_int("n_bytes", n_bytes, minimum=0, maximum=1 << 50)
    return CudaTerm(
        "CPU compute buffer in pinned memory (CUDA_Host)",
        b,
        "host, pinned (CUDA_Host)",
        URL + "src/llama-context.cpp#L408-L418",
    )


# ── what a plan charges ─────────────────────────────────────────────────────────────────────
OP_OFFLOAD_MIN_BATCH = 32
"""ggml-cuda.cu L5825: GGML_OP_OFFLOAD_MIN_BATCH's default, the fewest tokens of a host-weight
matmul that CUDA takes over (L5651-5655)."""
CACHE_TYPES = ("f16", "fp16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1")


@dataclass(frozen=True)
class CudaRules:
    """Which of the terms an engine's CUDA backend has, each with the lines of its own tree
    that say so (an empty source: the engine does not have that term)."""

    engine: str
    fa_copies: str
    op_offload_copy: str
    moe_pool: str
    row_padding: str
    output: str
    pinned_compute: str
    output_always_pinned: bool
    fa_place: str = "compute buffer"
    """Where the flash-attention copies live on each GPU."""
    moe_label: str = "MoE sorted-token workspace (CUDA pool; an upper estimate)"
    own_terms: Callable[..., EngineTerms] | None = None
    """An engine whose terms are its own (not llama.cpp's): called by `plan_cuda` with the model,
    recipe, context=, sequences=, cache_dtype=, ubatch= and options= (the engine's typed options),
    it gives the `EngineTerms` that replace llama.cpp's; None: llama.cpp's terms."""


LLAMACPP_RULES = CudaRules(
    "llama.cpp",
    fa_copies=URL + "ggml/src/ggml-cuda/fattn.cu#L722-L756",
    op_offload_copy=URL + "ggml/src/ggml-backend.cpp#L961-L979",
    moe_pool=URL + "ggml/src/ggml-cuda/ggml-cuda.cu#L1955-L1970",
    row_padding=URL + "ggml/src/ggml-cuda/ggml-cuda.cu#L903-L920",
    output=URL + "src/llama-context.cpp#L2116-L2203",
    pinned_compute=URL + "src/llama-context.cpp#L408-L418",
    output_always_pinned=False,
)
"""llama.cpp's CUDA backend at the pinned commit. Other engines built on ggml (ik_llama.cpp) state
their rules in their own runtime module and register them in `vramkit.runtimes.engines`."""


@dataclass(frozen=True)
class EngineTerms:
    """What an engine's own CUDA rules (`CudaRules.own_terms`) give one plan context, in bytes:
    the flash-attention copies and how they were sized, the MoE pool workspace, whether host
    (CPU) expert matmuls are offloaded to CUDA0 at this ubatch, and whether the offloaded up
    and gate experts are copied in together (one fused op reads both)."""

    fa_extra: int
    fa_how: str
    moe_workspace: int
    expert_offload: bool
    fused_up_gate: bool


@dataclass(frozen=True)
class WeightShapes:
    """Per layer, from the recipe's tensor list (bytes): the CUDA row padding of the non-routed
    and the routed tensors, the largest non-routed matrix and the largest routed-expert tensor
    (all experts of one GGUF tensor, padding included), and the output matrix's; `fused_routed`:
    per layer the larger of the up and gate expert tensors together (when they share one type,
    as a fused up/gate op reads both) and the largest other routed tensor (else `big_routed`)."""

    pad_layer: tuple[int, ...]
    pad_experts: tuple[int, ...]
    pad_output: int
    big_dense: tuple[int, ...]
    big_routed: tuple[int, ...]
    output_matrix: int
    fused_routed: tuple[int, ...] = ()


def weight_shapes(model: Any, recipe: Any, *, grouped: bool = True) -> WeightShapes:
    """`WeightShapes` of `model` under `recipe` (`vramkit.quant.tensor_formats`), memoised per
    model object and recipe id. A routed spec stands for one GGUF tensor holding every expert
    (ffn_*_exps): padded once; other specs once per copy. A llama.cpp mix is read from its
    `FormatGroup`s (each row sized once, applied to its group's blocks); `grouped=False` reads
    the per-tensor list instead (the same figures: tests/accounting/test_llamacpp_grouped_mix.py)."""
    from ...quant import get_recipe, llamacpp_format_groups, tensor_formats

    rid = getattr(recipe, "id", recipe)
    key = (id(model), str(rid), grouped)
    hit = _SHAPES.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    groups = llamacpp_format_groups(model, get_recipe(recipe, model=model)) if grouped else None
    if groups is not None:  # (its blocks or None for global tensors, copies, its rows)
        parts = [(g.layers or None, g.times, g.rows) for g in groups]
    else:
        parts = [(None if t.layer is None else (t.layer,), 1, ((t, f),))
                 for t, f in tensor_formats(model, recipe)]  # fmt: skip
    n = int(model.config.get("num_hidden_layers") or 0)
    pad_l, pad_e, big_d, big_r = [0] * n, [0] * n, [0] * n, [0] * n
    pair = [0] * n  # up + gate expert tensors of a layer, padding included
    pair_types: list[set[str]] = [set() for _ in range(n)]
    pad_o = out_m = 0
    for layers, times, rows in parts:
        # the group's sums once, then added to each of its blocks
        g_pad_l = g_pad_e = g_big_d = g_big_r = g_pair = 0
        g_types: set[str] = set()
        for t, fmt in rows:
            if t.mtp or len(t.shape) < 2:
                continue
            quant = fmt.layout == "gguf" and fmt.block > 1
            pad = _row_padding(t.shape[-1], fmt.block, fmt.block_bytes) if quant else 0
            one = fmt.tensor_bytes(t.shape)
            if layers is None:  # global tensors (`times` alike ones)
                if t.group != "embed":
                    pad_o += pad * t.count * times
                    out_m = max(out_m, one + pad)
            elif t.group in ROUTED and t.experts_per_token is not None:
                g_pad_e += pad
                g_big_r = max(g_big_r, t.count * one + pad)
                if t.group == ROUTED[0]:
                    g_pair += t.count * one + pad
                    g_types.add(fmt.name)
            else:
                g_pad_l += pad * t.count
                g_big_d = max(g_big_d, one + pad)
        for i in layers or ():
            if 0 <= i < n:
                pad_l[i] += g_pad_l
                pad_e[i] += g_pad_e
                big_d[i] = max(big_d[i], g_big_d)
                big_r[i] = max(big_r[i], g_big_r)
                pair[i] += g_pair
                pair_types[i] |= g_types
    fused = tuple(max(b, p) if len(ty) == 1 else b for b, p, ty in zip(big_r, pair, pair_types,
                                                                         strict=True))  # fmt: skip
    out = WeightShapes(tuple(pad_l), tuple(pad_e), pad_o, tuple(big_d), tuple(big_r), out_m,
                       fused)  # fmt: skip
    if len(_SHAPES) > 256:
        _SHAPES.clear()
    _SHAPES[key] = (model, out)
    return out


_SHAPES: dict[tuple[int, str, bool], tuple[Any, WeightShapes]] = {}
ROUTED = ("routed_experts_gate_up", "routed_experts_down")  # vramkit.model.tensors.ROUTED_GROUPS


@functools.lru_cache(maxsize=256)  # model records hash by identity
def fa_copy_bytes(
    model: Any, *, context: int, batch: int, cache_dtype: str, n_ubatch: int
) -> tuple[int, str]:
    """What CUDA's compute buffer holds beyond the CPU projection for flash attention (bytes)
    and how it was obtained, at the budget's settings (-np batch, -c context x batch, -fa on):
    the architecture's recorded graph replayed with the CUDA buffer type's sizes minus the
    same graph on the CPU (`arch.replay_template`: F16 copies of a quantized K / V in every
    attention node, 128-byte alignment) where one is recorded; else 0, and the reason says
    the term is not sized (which cells a node reads, and what the allocator overlaps, come
    from the graph: `fa_f16_extra` of one node is no bound on the peak's growth)."""
    from .arch import arch_compute
    from .memory import Settings

    k = cache_dtype if cache_dtype in CACHE_TYPES else "f16"
    s = Settings(context * batch, k, k, n_ubatch, True, batch)
    cfg = model.config
    cpu = arch_compute(cfg, s)
    if cpu.bytes is not None:
        gpu = arch_compute(cfg, s, cuda=True)
        if gpu.bytes is not None:
            return max(gpu.bytes - cpu.bytes, 0), (
                f"{cpu.template} graph replayed with CUDA's sizes minus the CPU's"
            )
    if k in ("f16", "fp16"):
        return 0, "F16 cache: no copies (alignment not replayed: no graph recorded)"
    return 0, (
        f"not sized: no graph recorded for this architecture ({cpu.reason}); a quantized cache's "
        "F16 copies are missing from this plan"
    )


@dataclass(frozen=True)
class PlanCuda:
    """The CUDA terms one llama.cpp plan context charges, in bytes (see `plan_cuda`)."""

    rules: CudaRules
    fa_extra: int
    fa_how: str
    moe_workspace: int
    output: int
    shapes: WeightShapes
    offload: bool
    expert_offload: bool | None = None
    """Whether host experts' matmuls move to CUDA0 too; None: whenever ops are offloaded
    (llama.cpp's rule: any op of at least 32 tokens)."""
    fused_up_gate: bool = False
    """The offloaded up and gate experts of a layer are copied in together (`fused_routed`)."""

    @property
    def per_gpu(self) -> int:
        """At most this much on any used GPU besides CUDA0's copy: flash attention's copies +
        the MoE pool (the layout reserves it on every GPU; a plan charges the pool only where
        expert matmuls run)."""
        return self.fa_extra + self.moe_workspace

    def offload_copy(self, cpu_layers: int, host_expert_end: int, output_on_gpu: bool) -> int:
        """The largest host weight CUDA0 copies in (term 6): of the layers left on the CPU,
        the routed experts of layers below `host_expert_end`, the output matrix when the
        output layer is on the CPU; 0 when ops are not offloaded."""
        if not self.offload:
            return 0
        sh = self.shapes
        routed = sh.fused_routed if self.fused_up_gate and sh.fused_routed else sh.big_routed
        experts = max(routed[:host_expert_end], default=0) if self.moves_experts else 0
        return max(
            max(sh.big_dense[:cpu_layers], default=0),
            experts,
            0 if output_on_gpu else sh.output_matrix,
        )

    @property
    def moves_experts(self) -> bool:
        """Host experts' matmuls run on CUDA0 (ops offloaded and, where the engine has its own
        rule, that rule met)."""
        return self.offload and self.expert_offload is not False


def plan_cuda(
    model: Any,
    recipe: Any,
    rules: CudaRules,
    *,
    context: int,
    sequences: int,
    cache_dtype: str,
    ubatch: int,
    options: object = None,
) -> PlanCuda:
    """The terms of `rules`' CUDA backend for one plan context: flash attention's copies
    (`fa_copy_bytes`), the MoE pool's sorted copies at -ub tokens (`moe_pool_workspace`, MoE
    models), the logits buffer (`output_buffer`, -np sequences), the weights' row padding
    (`weight_shapes`) and whether host-weight matmuls move to CUDA0 (-ub >= 32). An engine with
    its own terms (`CudaRules.own_terms`, given the engine's `options`) replaces the first two
    and says whether host experts move."""
    cfg = model.config
    vocab = int(cfg.get("vocab_size") or 1)
    out = output_buffer(vocab, sequences, output_on_gpu=True).bytes
    offload = bool(rules.op_offload_copy) and ubatch >= OP_OFFLOAD_MIN_BATCH
    if rules.own_terms is not None:
        et = rules.own_terms(model, recipe, context=context, sequences=sequences,
                             cache_dtype=cache_dtype, ubatch=ubatch, options=options)  # fmt: skip
        return PlanCuda(rules, et.fa_extra, et.fa_how, et.moe_workspace, out,
                        weight_shapes(model, recipe), offload, et.expert_offload,
                        et.fused_up_gate)  # fmt: skip
    fa, how = (0, "not in this engine's CUDA allocation size")
    if rules.fa_copies:
        fa, how = fa_copy_bytes(model, context=context, batch=sequences,
                                cache_dtype=cache_dtype, n_ubatch=ubatch)  # fmt: skip
    ws = 0
    k = int(cfg.get("num_experts_per_tok") or cfg.get("experts_per_token") or 0)
    n_exp = int(cfg.get("num_local_experts") or cfg.get("n_routed_experts")
                or cfg.get("num_experts") or 0)  # fmt: skip
    if rules.moe_pool and k and n_exp:
        ff = int(cfg.get("moe_intermediate_size") or cfg.get("intermediate_size") or 1)
        ws = moe_pool_workspace(ubatch, k, int(cfg["hidden_size"]), ff).bytes
    return PlanCuda(rules, fa, how, ws, out, weight_shapes(model, recipe), offload)


def pinned_bytes(terms: Sequence[CudaTerm]) -> int:
    """Host bytes a plan's terms put in pinned (CUDA_Host) memory."""
    return sum(t.bytes for t in terms if t.where.startswith("host, pinned"))


def term_record(t: CudaTerm) -> dict[str, object]:
    """One term as the plan's JSON gives it."""
    return {"name": t.name, "bytes": t.bytes, "where": t.where, "source": t.source, "kind": t.kind}


def plan_terms(
    pc: PlanCuda,
    *,
    gpus: Sequence[tuple[str, int, bool, bool]],
    first_gpu: str,
    copy: int,
    host_compute: int,
    output_on_gpu: bool,
) -> tuple[CudaTerm, ...]:
    """The terms one plan charged, each with its place, bytes and source, for the plan's
    notes and JSON. `gpus`: (name, row padding bytes charged there, used, runs expert
    matmuls) per GPU."""
    r = pc.rules
    t: list[CudaTerm] = []
    for name, pad, used, moe in gpus:
        if used and (pc.fa_extra or pc.fa_how.startswith("not sized")):
            t.append(CudaTerm("flash attention F16 K/V copies", pc.fa_extra,
                              f"{name} {r.fa_place} ({pc.fa_how})", r.fa_copies))  # fmt: skip
        if pc.moe_workspace and used and moe:
            t.append(CudaTerm(r.moe_label, pc.moe_workspace,
                              f"{name}, CUDA pool (outside the compute buffer)",
                              r.moe_pool))  # fmt: skip
        if pad:
            t.append(CudaTerm("quantized row padding (one row per tensor)", pad,
                              f"{name} model buffer", r.row_padding))  # fmt: skip
    if copy:
        t.append(CudaTerm("largest host weight copied in for offloaded matmuls (op offload; an "
                          "estimate)", copy, f"{first_gpu} compute buffer",
                          r.op_offload_copy))  # fmt: skip
    pinned = output_on_gpu or r.output_always_pinned
    t.append(CudaTerm("output (logits) buffer", pc.output,
                      "host, pinned (CUDA_Host)" if pinned else "host", r.output))  # fmt: skip
    if host_compute:
        t.append(CudaTerm("CPU compute buffer in pinned memory (CUDA_Host)", host_compute,
                          "host, pinned (CUDA_Host)", r.pinned_compute))  # fmt: skip
    return tuple(t)


def pads_per_layer(cu: PlanCuda | None, n: int) -> tuple[Sequence[int], Sequence[int]]:
    """Per layer: the CUDA row padding of its non-routed and routed tensors (zeros without)."""
    if cu is None:
        return (0,) * n, (0,) * n
    return cu.shapes.pad_layer, cu.shapes.pad_experts


def _running(values: Sequence[int]) -> list[int]:
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


@dataclass(frozen=True)
class LayoutCharge:
    """What one llama.cpp layout is charged for these terms (bytes; all 0 without `cu`): the
    planner asks it per GPU (`first`: the GPU is CUDA0, the one offloaded matmuls run on) with
    the GPU's layers [lo, hi) and its first layer holding routed experts (`e_lo`)."""

    cu: PlanCuda | None
    copy: int
    host: int
    pad_l: list[int]
    pad_e: list[int]
    experts_first: bool = False
    """CUDA0 runs expert matmuls for the host (llama.cpp's rule: whenever it copies any host
    weight in; an engine with its own expert rule: when host experts exist and move)."""

    @classmethod
    def of(
        cls, cu: PlanCuda | None, n: int, c: int, n_cpu: int, output_on: int | None
    ) -> LayoutCharge:
        """The charge of a layout with routed experts of layers < `c` and layers < `n_cpu` on
        the host, the output layer on GPU `output_on` (None: the host)."""
        if cu is None:
            return cls(None, 0, 0, [0], [0])
        pl, pe = pads_per_layer(cu, n)
        host_end = max(c, n_cpu)
        copy = cu.offload_copy(n_cpu, host_end, output_on is not None)
        if cu.expert_offload is None:
            first = bool(copy)
        else:
            first = cu.moves_experts and any(cu.shapes.big_routed[:host_end])
        return cls(cu, copy, cu.output, _running(pl), _running(pe), first)

    def first_used(self, first: bool) -> bool:
        """CUDA0 runs the offloaded matmuls even when it holds no layer."""
        return bool(self.copy) and first

    def pads(self, lo: int, hi: int, e_lo: int, output: bool) -> tuple[int, int, int]:
        """Row padding of the GPU's non-routed tensors, routed tensors and output tensor."""
        if self.cu is None:
            return 0, 0, 0
        pe = self.pad_e[hi] - self.pad_e[e_lo] if hi > e_lo else 0
        return self.pad_l[hi] - self.pad_l[lo], pe, self.cu.shapes.pad_output if output else 0

    def moe(self, first: bool, hi: int, e_lo: int) -> bool:
        """The GPU runs expert matmuls: it holds routed experts, or it is CUDA0 taking the
        host experts' (op offload)."""
        return (
            self.cu is not None
            and bool(self.cu.moe_workspace)
            and (hi > e_lo or (self.experts_first and first))
        )

    def buffers(self, first: bool, used: bool, hi: int, e_lo: int) -> int:
        """Flash attention's copies, the MoE pool and (CUDA0) the offloaded weight's copy."""
        if self.cu is None or not used:
            return 0
        return (
            self.cu.fa_extra
            + (self.cu.moe_workspace if self.moe(first, hi, e_lo) else 0)
            + (self.copy if first else 0)
        )

    def gpu(self, first: bool, lo: int, hi: int, e_lo: int, output: bool, used: bool) -> int:
        """All of the above on one GPU."""
        return sum(self.pads(lo, hi, e_lo, output)) + self.buffers(first, used, hi, e_lo)


def plan_note(terms: Sequence[CudaTerm], engine: str = "llama.cpp") -> str:
    """One note listing the CUDA terms a plan charged (`engine`: whose code they were read from)."""
    parts = "; ".join(f"{t.name} {t.bytes / 2**20:,.2f} MiB on {t.where}" for t in terms)
    return (
        f"CUDA terms charged (read from {engine}'s code at the pinned commit, not measured on a "
        f"GPU here): {parts}"
    )
