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
   not a multiple of MATRIX_ROW_PADDING (512, common.cuh L186) is allocated with the row padded.
5. MoE workspace from the CUDA pool (outside the reserved compute buffer, grown on first use and
   kept): ggml-cuda.cu L1955-1970 (`mul_mat_id`): ``2 x n_tokens x k`` int32 ids, ``n_tokens x
   k x n_embd`` sorted inputs and ``n_tokens x k x n_ff`` sorted outputs (F32 here; the MMQ path
   quantizes the inputs to q8_1 first, which is smaller).

Published logs of real CUDA runs confirm where terms 1 and 2 live (not their sizes for any
model here): ``CUDA_Host  output buffer size = 1.95 MiB`` and ``CUDA_Host compute buffer``
lines next to the per-GPU ``CUDA0 compute buffer`` (https://github.com/ggml-org/llama.cpp/pull/6122,
2 GPUs, -c 4096; https://github.com/ggml-org/llama.cpp/pull/14939, GLM 4.5 on 2 GPUs:
``CUDA_Host compute buffer size = 12.01 MiB``).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """mul_mat_id's sorted copies from the CUDA pool (per MoE matmul, the largest kept):
    8 n_tokens k (ids) + 4 n_tokens k n_embd (inputs) + 4 n_tokens k n_ff (outputs), F32."""
    t = require_int("n_tokens", n_tokens, minimum=1, maximum=1 << 20)
    k = require_int("n_used", n_used, minimum=1, maximum=1 << 16)
    e = require_int("n_embd", n_embd, minimum=1, maximum=1 << 20)
    f = require_int("n_ff", n_ff, minimum=1, maximum=1 << 24)
    return CudaTerm(
        "MoE sorted-token workspace (CUDA pool)",
        8 * t * k + 4 * t * k * e + 4 * t * k * max(e, f),
        "GPU, CUDA memory pool (outside the compute buffer)",
        URL + "ggml/src/ggml-cuda/ggml-cuda.cu#L1955-L1970",
    )


def quantized_row_padding(ne0: int, rows: int, row_bytes_per_512: int) -> int:
    """Extra bytes CUDA allocates for a quantized tensor of `rows` rows whose ne0 is not a
    multiple of 512 (ggml-cuda.cu L911-917): the row padded to the next multiple of 512."""
    n = require_int("ne0", ne0, minimum=1, maximum=1 << 30)
    r = require_int("rows", rows, minimum=1, maximum=1 << 40)
    pad = (-n) % MATRIX_ROW_PADDING
    return r * (pad * row_bytes_per_512 // MATRIX_ROW_PADDING) if pad else 0


def cuda_terms(
    cfg_vocab: int, n_seq: int, *, output_on_gpu: bool, host_experts: bool
) -> list[CudaTerm]:
    """The terms a plan on CUDA carries besides the CPU projection's figures, with sources:
    the logits buffer (host) and, with experts in host RAM, the note that the CPU compute
    buffer is pinned memory (its size is `memory.host_compute_bytes`)."""
    terms = [output_buffer(cfg_vocab, n_seq, output_on_gpu=output_on_gpu)]
    if host_experts:
        terms.append(
            CudaTerm(
                "CPU compute buffer is pinned (CUDA_Host) memory",
                0,
                "host, pinned",
                URL + "src/llama-context.cpp#L408-L418",
            )
        )
    return terms
