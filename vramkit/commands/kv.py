"""KV-cache bytes of a model at a context length: total, per cache kind, per-token slope and
per-sequence constant (GB = 1e9 bytes and GiB = 2**30 bytes both shown).

Context accepts 1048576, 128K or 1M (K = 1024 tokens). JSON keys: model, context_tokens, batch,
cache_dtype, indexer_dtype, runtime, tp, dp, include_mtp, total_bytes, per_sequence_bytes,
per_gpu_bytes, constant_bytes, slope_bytes_per_token, by_kind {kind: bytes}, notes.
"""

from __future__ import annotations

import argparse

from ..textfmt import emit_json, table
from ..units import GB, GiB
from .common import add_model_arguments, resolve_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument("--context", required=True, help="tokens per sequence: 1048576, 128K, 1M")
    p.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    p.add_argument(
        "--cache-dtype",
        "--cache-type-k",
        dest="cache_dtype",
        default="bf16",
        help="bf16 (default), fp16, fp8 (as the runtime stores it), fp8_ds_mla, q8_0, "
        "ik_llama.cpp's q8_KV and q6_0 …",
    )
    p.add_argument("--indexer-dtype", default=None, help="DeepSeek indexer keys: bf16, fp8, fp4")
    p.add_argument(
        "--runtime",
        default="reference",
        help="reference (default), vllm, llama.cpp, sglang, trtllm (data/runtimes.yaml)",
    )
    mtp = p.add_mutually_exclusive_group()
    mtp.add_argument(
        "--mtp",
        dest="include_mtp",
        action="store_true",
        default=None,
        help="count the MTP layer's cache",
    )
    mtp.add_argument("--no-mtp", dest="include_mtp", action="store_false",
                     help="leave the MTP layer out")  # fmt: skip
    p.add_argument(
        "--mla", type=int, default=None,
        help="ik_llama.cpp -mla 0|1|2|3 (default 3): an MLA model's cache layout",
    )  # fmt: skip
    p.add_argument(
        "--flash-attn", choices=("on", "off"), default=None,
        help="ik_llama.cpp -fa on|off (default on): padding and the MLA layouts",
    )  # fmt: skip
    p.add_argument(
        "--swa-compress", action="store_true", default=None,
        help="ik_llama.cpp --swa-compress: compacted sliding-window caches (DeepSeek V4 …)",
    )  # fmt: skip
    p.add_argument("--tp", type=int, default=1, help="tensor-parallel size (default 1)")
    p.add_argument("--dp", type=int, default=1, help="data-parallel attention size (default 1)")
    p.add_argument(
        "--allow-extrapolation",
        action="store_true",
        help="past the model's max_position_embeddings, estimate anyway as a what-if (else refused)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (bytes as integers)")


def run(args: argparse.Namespace) -> int:
    from ..errors import VramkitError
    from ..kv import kv_cache, parse_tokens

    if parse_tokens(args.context) < 1:
        raise VramkitError(f"--context must be at least 1 token, got {args.context!r}.")
    model = resolve_model(args)
    est = kv_cache(
        model,
        args.context,
        batch=args.batch,
        cache_dtype=args.cache_dtype,
        indexer_dtype=args.indexer_dtype,
        runtime=args.runtime,
        include_mtp=args.include_mtp,
        tp=args.tp,
        dp=args.dp,
        mla=args.mla,
        swa_compress=args.swa_compress,
        flash_attn=None if args.flash_attn is None else args.flash_attn == "on",
        allow_extrapolation=args.allow_extrapolation,
    )
    if args.json:
        emit_json(
            {
                "model": est.model_id,
                "context_tokens": est.context_tokens,
                "batch": est.batch,
                "cache_dtype": est.cache_dtype,
                "indexer_dtype": est.indexer_dtype,
                "runtime": est.runtime,
                "tp": est.tp,
                "dp": est.dp,
                "include_mtp": est.include_mtp,
                "total_bytes": est.total_bytes,
                "per_sequence_bytes": est.per_sequence_bytes,
                "per_gpu_bytes": est.per_gpu_bytes,
                "constant_bytes": est.constant_bytes,
                "slope_bytes_per_token": est.slope_bytes_per_token,
                "by_kind": dict(est.by_kind),
                "notes": list(est.notes),
            }
        )
        return 0
    print(
        f"{model.name} — KV cache at {est.context_tokens:,} tokens × batch {est.batch}, "
        f"{est.cache_dtype} (indexer {est.indexer_dtype or '-'}), runtime {est.runtime}, "
        f"MTP layer {'included' if est.include_mtp else 'excluded'}"
    )

    def row(name: str, n: int | float) -> dict[str, object]:
        return {"part": name, "bytes": int(n), "GB": n / GB, "GiB": n / GiB}

    rows = [row(k, v) for k, v in est.by_kind.items()]
    rows.append(row("TOTAL", est.total_bytes))
    print(table(rows))
    print(
        f"\nper sequence: {est.per_sequence_bytes:,} B = {est.per_sequence_bytes / GB:,.3f} GB = "
        f"{est.per_sequence_bytes / GiB:,.3f} GiB"
        f"\n  constant part (windows, compressor state): {est.constant_bytes:,} B "
        f"({est.constant_bytes / GiB:,.4f} GiB)"
        f"\n  slope: {est.slope_bytes_per_token:,.2f} B per extra token "
        f"({est.slope_bytes_per_token * 1024**2 / GiB:,.3f} GiB per 1M tokens)"
        f"\nper GPU (tp={est.tp}, dp={est.dp}): {est.per_gpu_bytes:,} B = "
        f"{est.per_gpu_bytes / GB:,.3f} GB = {est.per_gpu_bytes / GiB:,.3f} GiB"
        "\nGB = 1e9 bytes, GiB = 2**30 bytes."
    )
    for note in est.notes:
        print(f"note: {note}")
    return 0
