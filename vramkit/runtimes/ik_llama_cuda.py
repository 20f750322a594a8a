"""ik_llama.cpp's CUDA backend: the terms a GPU plan charges for it, read from its code at
`IK_COMMIT` (ikawrakow/ik_llama.cpp@8337e4cd, file + lines on each rule). None was measured on a
GPU here: every term's `kind` says "read from the pinned tree; not measured on a GPU", as
llama.cpp's are (`vramkit.runtimes.llamacpp.cuda`, whose `CudaRules` / `EngineTerms` carry them
into the same placement).

1. Op offload of host weights (ggml/src/ggml-backend.cpp L1341-1359, ggml/src/ggml-cuda.cu
   L5180-5216): an op whose weight sits in a host buffer is given to the first GPU backend whose
   ``offload_op`` accepts it. ik's CUDA backend accepts a dense op of at least
   ``offload_batch_size`` tokens (``GGML_CUDA_MIN_BATCH_OFFLOAD``, 32: ggml/CMakeLists.txt L130,
   ggml-cuda.cu L5301) — as llama.cpp — but a MUL_MAT_ID / MOE_FUSED_UP_GATE only when
   ``n_tokens >= 32`` and ``n_tokens x n_expert_used >= 32 x n_expert`` (L5194-5206: 32 tokens
   per expert on average), so at the default -ub 512 no expert of DeepSeek V3 (8 of 256: needs
   1,024) or gpt-oss-120b (4 of 128: 1,024) moves, while Qwen3-30B-A3B's (8 of 128: 512) does.
   The weight is copied whole (``ggml_dup_tensor_layout``, L1849-1851) into that GPU's compute
   buffer (a split input, L1904-1926); a new split starts per host weight (L1764-1771) so the
   copies' memory is reused — except that ``-fmoe`` (on by default) reads the up and the gate
   experts in one op (``ggml_moe_up_gate``, src/llama-build-context.cpp L1598-1606), so both are
   copied into the same split: CUDA0 holds up + gate of one layer at once. Copying only the
   active experts (``-ooae``, on by default, L2044-2110) changes what is transferred, not the
   copy's allocation. Charged as the largest such copy on top of CUDA0's buffer (an estimate, as
   llama.cpp's term 6).
2. MoE workspace from the CUDA pool (outside the reserved compute buffer; the pool keeps its
   high-water mark, allocations rounded to 128 bytes, ggml-cuda.cu L449-452): with quantized
   experts of a type MMQ-id supports (ggml-cuda/mmq_id.cu L499-545) and ``n_tokens <= 32 x
   n_expert`` (``mmq_id_thresh``, ggml-cuda/common.cuh L857), the fused up/gate
   (ggml-cuda.cu L3210-3236, then the down projection L3301-3304 through mmq_id.cu L394-471)
   holds the routing ids (``2 n_tokens k + n_expert + 1`` int32), the input quantized to q8_1
   for every (token, expert) pair (``n_tokens k`` rows of ``pad512(n_embd) x 36/32`` bytes plus
   ``128 x sizeof(block_q8_1_mmq)``, mmq.cuh L123-133) and the F32 up and gate outputs
   (``2 x 4 n_ff k n_tokens``); unfused (``-no-fmoe``) each MUL_MAT_ID holds the ids and its own
   q8_1 input only (ggml-cuda.cu L2906-2910). Otherwise (more tokens, float experts) the sorted
   path (L2944-2952, L3353-3385): an 8-byte row mapping per pair, the input (q8_1 or F32),
   the F32 outputs and, fused, the down projection's staging (``n_embd k n_tokens`` bytes).
3. Flash attention's F16 copies of a quantized cache, from the CUDA pool (not in the compute
   buffer: ik's ``get_alloc_size`` adds only row padding, ggml-cuda.cu L754-767): the MMA
   kernels a many-token ubatch uses are launched with ``need_f16_K = need_f16_V = true``
   (ggml-cuda/fattn-mma-f16.cuh L1528-1529, fattn-new-mma.cu L2163-2164) and convert every
   non-F16 K and V view to F16 (``ggml_nelements`` halves: fattn-mma-f16.cuh L1320-1345);
   for MLA's 576/512 heads V is a view of K and is not copied (fattn-new-mma.cu L1921-1929,
   L2113).
   One attention node's pair is live at a time: ``2 x head_dim x n_kv x kv_heads`` bytes for K
   and the same for V at the full (256-padded) cache; a sliding-window layer reads only its
   window's cells (fattn.cu L52-70). DeepSeek V4's compressed attention takes its own kernel
   (fattn.cu L46-50) and is not sized here.
4. Quantized tensors' row padding: the same rule as llama.cpp (ggml-cuda.cu L754-767).
5. The logits buffer and the CPU compute buffer are always CUDA_Host memory on a CUDA build
   (src/llama.cpp L353-378 ``llama_default_buffer_type_cpu(true)``, L5996, L8597).
"""

from __future__ import annotations

from typing import Any

from ..errors import require_int
from .ik_llama_types import IK_COMMIT
from .llamacpp.cuda import CudaRules, EngineTerms

IK_URL = f"https://github.com/ikawrakow/ik_llama.cpp/blob/{IK_COMMIT}/"
MIN_BATCH_OFFLOAD = 32
"""``GGML_CUDA_MIN_BATCH_OFFLOAD`` (ggml/CMakeLists.txt L130, ggml-cuda.cu L5301)."""
MMQ_ID_THRESH = 32
"""``mmq_id_thresh`` (ggml-cuda/common.cuh L857): MMQ-id while n_tokens <= 32 x n_expert."""
POOL_ALIGN = 128
"""The CUDA pool rounds each allocation up to 128 bytes (ggml-cuda.cu L449-452)."""
ROW_PADDING = 512
"""MATRIX_ROW_PADDING (ggml-cuda/common.cuh L63)."""
Q8_1_ROW = (32, 36)
"""block_q8_1: 32 values in 2 halves + 32 int8 = 36 bytes (ggml-cuda/common.cuh L240-245)."""
MMQ_TAIL = 128 * 144
"""``get_mmq_x_max_host(cc) x sizeof(block_q8_1_mmq)``: 128 on GPUs with int8 MMA (Turing and
later, mmq.cuh L123-133) x 144 bytes (mmq.cuh L52-53), added to every MMQ q8_1 input."""
MMQ_ID_TYPES = frozenset((
    "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q6_0", "Q8_0", "MXFP4", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
    "Q6_K", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_S_R4", "IQ4_XS",
    "IQ4_NL", "IQ2_KS", "IQ2_KL", "IQ2_K", "IQ2_K_R4", "IQ3_KS", "IQ3_K", "IQ3_K_R4", "IQ4_KSS",
    "IQ4_KS", "IQ4_KS_R4", "IQ4_K", "IQ4_K_R4", "IQ5_KS", "IQ5_KS_R4", "IQ5_K", "IQ5_K_R4",
    "IQ6_K", "IQ1_KT", "IQ2_KT", "IQ3_KT", "IQ4_KT",
))  # fmt: skip
"""Expert types the MMQ-id kernels take (ggml-cuda/mmq_id.cu L499-545)."""


def _a(n: int) -> int:
    return -(-n // POOL_ALIGN) * POOL_ALIGN


def _q8_1(rows: int, ne10: int) -> int:
    """Bytes of `rows` rows of `ne10` values quantized to q8_1 for MMQ (row padded to 512)."""
    padded = -(-ne10 // ROW_PADDING) * ROW_PADDING
    return rows * padded // Q8_1_ROW[0] * Q8_1_ROW[1] + MMQ_TAIL


def expert_offload(n_tokens: int, n_used: int, n_expert: int) -> bool:
    """Whether ik_llama.cpp's CUDA backend takes a host expert matmul (MUL_MAT_ID or the fused
    up/gate) of `n_tokens` tokens: ``n_tokens >= 32`` and ``n_tokens x n_used >= 32 x n_expert``
    (ggml-cuda.cu L5194-5206, offload_batch_size_per_byte unset, -1 by default: L5302)."""
    t = require_int("n_tokens", n_tokens, minimum=1, maximum=1 << 24)
    k = require_int("n_used", n_used, minimum=1, maximum=1 << 16)
    n = require_int("n_expert", n_expert, minimum=1, maximum=1 << 16)
    return t >= MIN_BATCH_OFFLOAD and t * k >= MIN_BATCH_OFFLOAD * n


def moe_pool_bytes(n_tokens: int, n_used: int, n_expert: int, n_embd: int, n_ff: int, *,
                   fused: bool, mmq: bool) -> int:  # fmt: skip
    """High-water mark of ik_llama.cpp's MoE kernels in the CUDA pool for one ubatch of
    `n_tokens` (bytes; each allocation rounded to 128). `mmq`: the experts are a type the
    MMQ-id kernels take; `fused`: -fmoe (one up/gate op). See the module's term 2.

    MMQ-id (n_tokens <= 32 n_expert): ids I = 4 (2 t k + n + 1) (three allocations unfused);
    fused: I + q8(t k, n_embd) + 2 x 4 n_ff k t, then for the down projection I + q8(t k,
    n_embd) + I + q8(t k, n_ff) — the larger; unfused: I + q8(t k, max(n_embd, n_ff)).
    Sorted: row map 8 t k; fused: q8(t, n_embd) (F32 4 n_embd t for float experts) + 2 x 4 n_ff
    k t + n_embd k t; unfused: the larger of up (4 n_embd t + 4 n_ff k t) and down (4 n_ff k t +
    4 n_embd k t), with q8(t, n_in) beside it for quantized experts."""
    t = require_int("n_tokens", n_tokens, minimum=1, maximum=1 << 24)
    k = require_int("n_used", n_used, minimum=1, maximum=1 << 16)
    n = require_int("n_expert", n_expert, minimum=1, maximum=1 << 16)
    e = require_int("n_embd", n_embd, minimum=1, maximum=1 << 20)
    f = require_int("n_ff", n_ff, minimum=1, maximum=1 << 24)
    tk = t * k
    if mmq and t <= MMQ_ID_THRESH * n:
        if fused:
            ids = _a(4 * (2 * tk + n + 1))
            up_gate = ids + _a(_q8_1(tk, e)) + 2 * _a(4 * f * tk)
            down = up_gate - 2 * _a(4 * f * tk) + 2 * _a(4 * tk) + _a(4 * (n + 1))
            return max(up_gate, down + _a(_q8_1(tk, f)))
        ids = 2 * _a(4 * tk) + _a(4 * (n + 1))
        return ids + _a(_q8_1(tk, max(e, f)))
    rows = _a(8 * tk)
    if fused:
        src = _a(_q8_1(t, e)) if mmq else _a(4 * e * t)
        return src + 2 * _a(4 * f * tk) + _a(e * tk) + rows
    up = _a(4 * e * t) + _a(4 * f * tk) + (_a(_q8_1(t, e)) if mmq else 0)
    down = _a(4 * f * tk) + _a(4 * e * tk) + (_a(_q8_1(t, f)) if mmq else 0)
    return rows + max(up, down)


def fa_pool_bytes(model: Any, cells: int, n_ubatch: int, cache_dtype: str, *, mla: int,
                  flash_attn: bool) -> tuple[int, str]:  # fmt: skip
    """Bytes of flash attention's F16 copies of one attention node's K and V in the CUDA pool
    (the module's term 3), the largest over the model's cache kinds, and how; 0 for an F16 cache
    or without flash attention. `cells`: KV cells (padded to 256, as ik's cache is with flash
    attention). Per token: K and V each ``dims x kv_heads`` values (GQA, V converted even where
    the cache shares it with K); an MLA latent (one shared head) ``dims`` values, V a view of
    K (not copied); -mla 0 the decompressed heads, K ``(qk_nope + qk_rope) x n_head`` and V
    ``v_head x n_head``. A sliding-window kind reads only its last ``pad256(max(256, n_ubatch)
    + window)`` cells (fattn.cu L52-70). Compressed caches (DeepSeek V4) run their own
    attention kernels (fattn.cu L46-50): not sized."""
    if not flash_attn:
        return 0, "no flash attention (-fa off)"
    if cache_dtype in ("f16", "fp16"):
        return 0, "F16 cache: no conversion"
    c = require_int("cells", cells, minimum=1, maximum=1 << 40)
    ub = require_int("n_ubatch", n_ubatch, minimum=1, maximum=1 << 24)
    n_kv = -(-c // 256) * 256
    cfg = model.config
    parts = [p for p in model.family_record.kv_parts(cfg, False) if p.store == "cache"]
    if any(p.rule == "compressed" for p in parts):
        return 0, "not sized: compressed caches run their own attention kernels here"
    best, what = 0, ""
    for p in parts:
        if p.rule not in ("full", "window"):
            continue
        cells_read = n_kv
        if p.rule == "window":
            cells_read = min(n_kv, -(-(max(256, ub) + p.tokens) // 256) * 256)
        if p.kv_heads:
            values, how = 2 * p.dims * p.kv_heads, f"K and V, {p.kv_heads} KV heads"
        elif cfg.get("kv_lora_rank") and not mla:
            heads = int(cfg.get("num_attention_heads") or 1)
            nope, rope = int(cfg.get("qk_nope_head_dim") or 0), p.rope_dims
            v = int(cfg.get("v_head_dim") or nope)
            values, how = heads * (nope + rope + v), f"decompressed K and V, {heads} heads"
        else:
            values, how = p.dims, "latent K (V is a view of it)"
        b = _a(2 * values * cells_read)
        if b > best:
            best, what = b, f"{cache_dtype} {how} to F16, {cells_read} cells ({p.kind})"
    return best, what or "no attention cache"


def _routed(model: Any, recipe: Any) -> tuple[bool, bool]:
    """(every routed expert tensor is a type MMQ-id takes, the up and gate experts share one
    type — what -fmoe needs to fuse them, src/llama-build-context.cpp L1598)."""
    from ..quant import tensor_formats

    kinds: set[str] = set()
    pair: dict[object, set[str]] = {}
    for t, fmt in tensor_formats(model, recipe):
        if t.group in ("routed_experts_gate_up", "routed_experts_down") and len(t.shape) >= 2:
            kinds.add(fmt.name)
            if t.group == "routed_experts_gate_up":
                pair.setdefault(t.layer, set()).add(fmt.name)
    mmq = bool(kinds) and kinds <= MMQ_ID_TYPES
    return mmq, all(len(v) == 1 for v in pair.values())


def own_terms(model: Any, recipe: Any, *, context: int, sequences: int, cache_dtype: str,
              ubatch: int, options: object = None) -> EngineTerms:  # fmt: skip
    """ik_llama.cpp's terms for one plan context (`CudaRules.own_terms`): flash attention's
    pool copies (`fa_pool_bytes`), the MoE pool at -ub tokens (`moe_pool_bytes`), whether host
    experts move to CUDA0 at this -ub (`expert_offload`) and whether their up and gate are
    copied in together (-fmoe, one type)."""
    from .ik_llama_rules import require_options

    o = require_options(options)
    cfg = model.config
    fa, how = fa_pool_bytes(model, context * sequences, ubatch, cache_dtype, mla=o.mla,
                            flash_attn=o.flash_attn)  # fmt: skip
    k = int(cfg.get("num_experts_per_tok") or cfg.get("experts_per_token") or 0)
    n_exp = int(cfg.get("num_local_experts") or cfg.get("n_routed_experts")
                or cfg.get("num_experts") or 0)  # fmt: skip
    if not (k and n_exp):
        return EngineTerms(fa, how, 0, False, False)
    mmq, same = _routed(model, recipe)
    fused = o.fmoe and same
    ff = int(cfg.get("moe_intermediate_size") or cfg.get("intermediate_size") or 1)
    ws = moe_pool_bytes(ubatch, k, n_exp, int(cfg["hidden_size"]), ff, fused=fused, mmq=mmq)
    return EngineTerms(fa, how, ws, expert_offload(ubatch, k, n_exp), fused)


IK_RULES = CudaRules(
    "ik_llama.cpp",
    fa_copies=IK_URL + "ggml/src/ggml-cuda/fattn-mma-f16.cuh#L1320-L1345",
    op_offload_copy=IK_URL + "ggml/src/ggml-cuda.cu#L5180-L5216",
    moe_pool=IK_URL + "ggml/src/ggml-cuda.cu#L3210-L3304",
    row_padding=IK_URL + "ggml/src/ggml-cuda.cu#L754-L767",
    output=IK_URL + "src/llama.cpp#L5956-L5996",
    pinned_compute=IK_URL + "src/llama.cpp#L8590-L8600",
    output_always_pinned=True,
    fa_place="CUDA pool (outside the compute buffer)",
    moe_label="MoE routing ids, q8_1 inputs and up/gate outputs (CUDA pool)",
    own_terms=own_terms,
)
"""ik_llama.cpp's CUDA backend at `IK_COMMIT` (the module's terms 1-5)."""
