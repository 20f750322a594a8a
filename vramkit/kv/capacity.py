"""Engine KV pools: how many tokens vLLM's and SGLang's startup logs report for a given KV budget.

Both engines size one pool from the memory left after weights and activations, then print a
token count. The per-request reservation is `vramkit.kv` (runtime ``vllm``); this module owns the
pool arithmetic and the numbers the logs print, so a figure such as vLLM's ``GPU KV cache size:
N tokens`` or SGLang's ``KV Cache is allocated. #tokens: N, K size: X GB`` can be reproduced.

vLLM (``vllm/v1/core/kv_cache_utils.py`` @ 001cabc1be16a59a70d720ed61a13b678c060a18):

- ``_get_kv_cache_groups_uniform_page_size``: layers of one attention type are split into
  groups of ``group_size`` layers, ``group_size`` = the fewest layers of any type (the most when
  max < 1.5 × min); each type contributes cdiv(n_type, group_size) groups;
- ``get_num_blocks``: ``num_blocks = available_memory // page_size // group_size`` (one layer's
  page; every block id is backed by one page in each of the ``group_size`` shared tensors);
- ``_report_kv_cache_config``: ``num_tokens = num_blocks // len(kv_cache_groups) *
  min_block_size`` — the pool divided by the number of groups, so a hybrid sliding + full model
  (gpt-oss: 18 + 18 layers, 2 groups) reports half the tokens its full-attention layers could
  hold; ``get_max_concurrency_for_kv_cache_config``: ``num_blocks / cdiv(group_size × Σ_groups
  max_memory_usage_bytes, page_size × group_size)``.
- ``get_kv_cache_groups``: layers whose pages differ are either one type
  (``UniformTypeKVCacheSpecs``: one group, ``num_blocks = available // Σ_layers page``) or
  unified by ``unify_kv_cache_spec_page_size``: the largest page P stays, a layer of page p < P
  takes blocks of ``block_size × P / p`` tokens (``NotImplementedError`` when p does not divide
  P); the report then uses ``min_block_size`` over the groups (Gemma 4: 16-token sliding pages
  of 16 KiB a token, 64-token full pages of 4 KiB a token).

SGLang (``python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py`` @
001ccef0072a4537d4ec6bdd50a73e6feb2c907d, ``mem_cache/memory_pool.py`` @ 14c3feee):

- ``get_cell_size_per_token``: MHA ``kv_heads_per_rank × (head_dim + v_head_dim) × layers ×
  element_size``; MLA ``(kv_lora_rank + qk_rope_head_dim) × layers × element_size`` (+ the NSA
  indexer ``(index_head_dim + index_head_dim // 128 × 4) × layers`` bytes for DeepSeek V3.2);
- ``profile_max_num_token``: ``int(rest_memory × 2**30) // cell_size`` with ``rest_memory =
  available_gpu_memory − total_gpu_memory × (1 − mem_fraction_static)`` (both in GiB);
- ``MHATokenToKVPool``: K and V buffers of ``(size + page_size, head_num, head_dim)`` per layer;
  the log prints ``K size: {k_bytes / 1024**3:.2f} GB`` (GiB, labelled "GB");
- ``set_num_tokens_hybrid_swa``: ``full_max_total_num_tokens = int(total_memory / (F·n_full +
  swa_full_tokens_ratio·S·n_swa))``, ``swa_max_total_num_tokens = int(full × ratio)``, both
  aligned down to page_size (``total_memory = max_total_num_tokens × (F·n_full + S·n_swa)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, require_int, require_number
from .components import KvComponent, cdiv, per_rank

GIB = 2**30


# --------------------------------------------------------------------------- vLLM


@dataclass(frozen=True)
class VllmPool:
    """vLLM's block pool for `available_bytes` of KV memory on one GPU.

    page_bytes: one layer's page (block_size tokens, this rank's KV heads).
    group_size: layers per KV-cache group; groups: (attention kind, layers, groups of it).
    reported_tokens: the ``GPU KV cache size: N tokens`` line (num_blocks // groups × block).
    blocks_per_request / max_concurrency: the ``Maximum concurrency for L tokens`` line.
    """

    available_bytes: int
    block_size: int
    page_bytes: int
    group_size: int
    groups: tuple[tuple[str, int, int], ...]
    num_blocks: int
    reported_tokens: int
    max_model_len: int
    blocks_per_request: int
    max_concurrency: float

    @property
    def n_groups(self) -> int:
        """KV-cache groups (the divisor of the reported token count)."""
        return sum(g for _, _, g in self.groups)


def _gqa_specs(model: ModelSpec, cache_dtype: str, tp: int) -> list[KvComponent]:
    from . import components

    comps = [c for c in components(model, cache_dtype=cache_dtype, runtime="vllm") if c.layers]
    if not comps or any(
        c.rule not in ("full", "window") or c.paging not in ("", "chunked") for c in comps
    ):
        raise VramkitError(
            f"{model.id}: vLLM pool arithmetic is modelled for full / sliding-window attention "
            "caches only (DeepSeek V4 and linear-attention models have their own planners: "
            "vramkit.kv_vllm)."
        )
    return per_rank(comps, tp)


def _request_blocks(c: KvComponent, block: int, mml: int, mnbt: int) -> int:
    """Blocks one request of max_model_len `mml` holds in a group of `c`'s kind, pages of `block`
    tokens (``max_memory_usage_bytes`` of FullAttentionSpec / SlidingWindowSpec /
    ChunkedLocalAttentionSpec, vllm/v1/kv_cache_interface.py)."""
    if c.rule == "full":
        return int(cdiv(mml, block))
    if c.paging == "chunked":  # min(C + mnbt, L), no extra block
        return int(cdiv(min(c.tokens + mnbt, mml), block))
    return int(cdiv(min(c.tokens - 1 + mnbt, mml), block)) + 1


def vllm_pool(
    model: ModelSpec | str,
    available_bytes: int,
    *,
    max_model_len: int,
    cache_dtype: str = "bf16",
    tp: int = 1,
    block_size: int = 16,
    max_num_batched_tokens: int = 8192,
) -> VllmPool:
    """vLLM's pool and the two numbers its startup log prints (see the module docstring).

    Per group, one request of max_model_len L needs ``cdiv(L, block)`` blocks (full attention) or
    ``cdiv(min(W − 1 + max_num_batched_tokens, L), block) + 1`` (sliding window W:
    ``SlidingWindowSpec.max_memory_usage_bytes`` in vllm/v1/kv_cache_interface.py).
    """
    spec = get_model(model)
    avail = require_int("available_bytes", available_bytes)
    mml = require_int("max_model_len", max_model_len, minimum=1)
    bs = require_int("block_size", block_size, minimum=1)
    mnbt = require_int("max_num_batched_tokens", max_num_batched_tokens, minimum=1)
    comps = _gqa_specs(spec, cache_dtype, require_int("tp", tp, minimum=1))
    pages = [c.entry_bytes * bs for c in comps]
    counts = [c.layers for c in comps]
    blocks = [bs] * len(comps)
    if len(set(pages)) > 1 and len({(c.rule, c.tokens, c.paging) for c in comps}) == 1:
        # UniformTypeKVCacheSpecs: one type, pages differ by layer: one group, each layer its page
        page = sum(p * n for p, n in zip(pages, counts, strict=True))
        num_blocks = avail // page
        groups = (("+".join(sorted({c.kind for c in comps})), sum(counts), 1),)
        per_req = _request_blocks(comps[0], bs, mml, mnbt)
        return VllmPool(avail, bs, page, 1, groups, num_blocks, num_blocks * bs, mml, per_req,
                        num_blocks / per_req)  # fmt: skip
    if len(set(pages)) > 1:  # unify_kv_cache_spec_page_size: smaller pages take larger blocks
        top = max(pages)
        if any(top % p for p in pages):
            raise VramkitError(
                f"{spec.id}: KV pages of {sorted(set(pages))} B do not divide the largest; vLLM "
                "cannot unify them by block size (NotImplementedError in "
                "unify_kv_cache_spec_page_size)."
            )
        blocks = [bs * (top // p) for p in pages]
        pages = [top] * len(pages)
    page = pages[0]
    group_size = min(counts)
    if max(counts) < group_size * 1.5:
        group_size = max(counts)
    groups = tuple((c.kind, c.layers, int(cdiv(c.layers, group_size))) for c in comps)
    num_blocks = avail // page // group_size
    n_groups = sum(g for _, _, g in groups)
    reported = num_blocks // n_groups * min(blocks)
    per_req = sum(
        g * _request_blocks(c, blk, mml, mnbt)
        for c, (_, _, g), blk in zip(comps, groups, blocks, strict=True)
    )
    return VllmPool(
        available_bytes=avail,
        block_size=bs,
        page_bytes=page,
        group_size=group_size,
        groups=groups,
        num_blocks=num_blocks,
        reported_tokens=reported,
        max_model_len=mml,
        blocks_per_request=per_req,
        max_concurrency=num_blocks / per_req,
    )


# --------------------------------------------------------------------------- SGLang


_SGLANG_ELEMENT_BYTES = {"bf16": 2, "fp16": 2, "auto": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}


@dataclass(frozen=True)
class SglangPool:
    """SGLang's token pool: cell bytes per token (all layers, this rank), full-layer tokens (and
    SWA-pool tokens of a hybrid model), and the log's numbers (K/V of the full layers)."""

    cell_bytes: int
    tokens: int
    page_size: int
    k_bytes: int
    v_bytes: int
    mla: bool = False
    swa_tokens: int = 0

    def log_line(self) -> str:
        """The ``KV Cache is allocated`` line as SGLang prints it (sizes in GiB, labelled GB;
        MLATokenToKVPool prints one ``KV size``)."""
        if self.mla:
            return f"KV Cache is allocated. #tokens: {self.tokens}, KV size: {self.k_bytes / GIB:.2f} GB"
        return (
            f"KV Cache is allocated. #tokens: {self.tokens}, K size: {self.k_bytes / GIB:.2f} GB, "
            f"V size: {self.v_bytes / GIB:.2f} GB"
        )


@dataclass(frozen=True)
class _SglangRows:
    """Per-token bytes of one rank over all layers: K rows, V rows, indexer keys (full layers),
    and the K+V bytes of sliding-window layers (SGLang's separate SWA pool)."""

    k: int
    v: int
    idx: int
    swa: int
    mla: bool


def _sglang_rows(model: ModelSpec, tp: int, element_bytes: int) -> _SglangRows:

    parts = model.family_record.kv_parts(model.config, False)
    k = v = idx = swa = 0
    mla = False
    for p in parts:
        if p.layers == 0:
            continue
        if p.rule not in ("full", "window") or p.store not in ("cache", "indexer"):
            raise VramkitError(
                f"{model.id}: SGLang's token pool is modelled for MHA/GQA (full and sliding) and "
                f"MLA caches; this model has a {p.rule} {p.kind} cache (DeepSeek V4 and "
                "linear-attention pools are not modelled)."
            )
        if p.store == "indexer":  # NSA: index_head_dim FP8 + one FP32 scale per 128, uint8
            idx += (p.dims + p.dims // 128 * 4) * p.layers
        elif p.kv_heads:  # ModelConfig.get_num_kv_heads(tp) = max(1, kv_heads // tp)
            per_head = p.vectors // p.kv_heads  # 2: K and V
            rank_heads = max(1, p.kv_heads // tp)
            kb = rank_heads * p.dims * p.layers * element_bytes
            vb = rank_heads * p.dims * (per_head - 1) * p.layers * element_bytes
            if p.rule == "window":
                swa += kb + vb
            else:
                k, v = k + kb, v + vb
        else:  # MLA: one latent of kv_lora_rank + qk_rope_head_dim, replicated over ranks
            mla = True
            k += p.dims * p.vectors * p.layers * element_bytes
    return _SglangRows(k, v, idx, swa, mla)


def sglang_pool(
    model: ModelSpec | str,
    *,
    tokens: int | None = None,
    available_gib: float | None = None,
    total_gib: float | None = None,
    mem_fraction_static: float | None = None,
    cache_dtype: str = "bf16",
    tp: int = 1,
    page_size: int = 1,
    swa_full_tokens_ratio: float = 0.8,
) -> SglangPool:
    """SGLang's KV pool on one rank: either `tokens` as logged, or the profile from memory
    (GiB after weight load, GiB before it, mem_fraction_static) as ``profile_max_num_token``.

    Sliding + full models (Gemma 2/3, gpt-oss) split the profiled pool into full-layer and
    SWA-layer tokens by `swa_full_tokens_ratio` (SGLang's default 0.8): `tokens` is then the
    full-layer count (``full_layer_tokens``) and `swa_tokens` the SWA pool's."""
    spec = get_model(model)
    tp = require_int("tp", tp, minimum=1)
    page = require_int("page_size", page_size, minimum=1)
    if cache_dtype not in _SGLANG_ELEMENT_BYTES:
        raise VramkitError(
            f"SGLang cache dtype {cache_dtype!r} is not modelled; use one of "
            f"{', '.join(_SGLANG_ELEMENT_BYTES)}."
        )
    el = _SGLANG_ELEMENT_BYTES[cache_dtype]
    rows_ = _sglang_rows(spec, tp, el)
    k_row, v_row = rows_.k, rows_.v
    full_cell = k_row + v_row + rows_.idx
    cell = full_cell + rows_.swa
    if tokens is None:
        if available_gib is None or total_gib is None or mem_fraction_static is None:
            raise VramkitError("give tokens, or available_gib, total_gib and mem_fraction_static.")
        available_gib = require_number("available_gib", available_gib)
        total_gib = require_number("total_gib", total_gib)
        mem_fraction_static = require_number("mem_fraction_static", mem_fraction_static)
        if not 0 < mem_fraction_static <= 1:
            raise VramkitError(f"mem_fraction_static must be in (0, 1], got {mem_fraction_static}.")
        rest = available_gib - total_gib * (1 - mem_fraction_static)
        n = int(rest * GIB) // cell
        if n <= 0:
            raise VramkitError(
                f"no KV room: {available_gib} GiB free after loading minus {total_gib} × "
                f"(1 − {mem_fraction_static}) reserved is {rest:.2f} GiB; SGLang asks to raise "
                "--mem-fraction-static."
            )
    else:
        n = require_int("tokens", tokens, minimum=1)
    swa_tokens = 0
    if rows_.swa:
        # set_num_tokens_hybrid_swa: full = max_total x cell / (F·n_full + r·S·n_swa), swa = full
        # x r, both aligned down to the page (the token split of the same memory)
        swa_full_tokens_ratio = require_number("swa_full_tokens_ratio", swa_full_tokens_ratio)
        if not swa_full_tokens_ratio > 0:
            raise VramkitError(f"swa_full_tokens_ratio must be > 0, got {swa_full_tokens_ratio}.")
        full = int(n * cell / (full_cell + swa_full_tokens_ratio * rows_.swa))
        swa_tokens = int(full * swa_full_tokens_ratio) // page * page
        n = full // page * page
    rows = n + page
    return SglangPool(
        cell_bytes=cell,
        tokens=n,
        page_size=page,
        k_bytes=rows * k_row,
        v_bytes=rows * v_row,
        mla=rows_.mla,
        swa_tokens=swa_tokens,
    )
