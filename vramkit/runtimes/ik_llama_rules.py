"""ik_llama.cpp's own rules, read from its code at one commit: the cache types it adds to ggml,
its KV layouts under ``-mla 0/1/2/3``, the compute-graph terms of ``-mla``, ``-amb``, ``-fa`` and
``-fmoe``, and the repacking of CPU expert tensors at load (``-rtr``).

Every rule cites ikawrakow/ik_llama.cpp at `IK_COMMIT` (file and line). The KV layout
(`vramkit.runtimes.ik_llama`) and the compute path (hooks in `vramkit.runtimes.engines`) call
this module; it holds the formulas, they only ask. Units: bytes (ints); MiB = 2**20 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import VramkitError, require_int
from .ik_llama_types import IK_COMMIT, IK_TYPES, SOURCE, IkType, ik_type, row_bytes

__all__ = ["IK_COMMIT", "IK_TYPES", "SOURCE", "IkType", "ik_type", "row_bytes"]
"""The ggml types ik_llama.cpp adds (q6_0, q8_KV) are stated in `vramkit.runtimes.ik_llama_types` (a leaf
module the cache-dtype table reads too) and re-exported here; IK_COMMIT is the ik_llama.cpp
commit every rule here was read at (2026-08-15)."""
MIB = 2**20
F32, F16 = 4, 2

MLA_MODES = (0, 1, 2, 3)
"""``-mla``: 0 standard attention (K and V decompressed per head), 1 latent K cache + a
transposed latent V cache, 2 latent K cache only, 3 "the best of both worlds" (common/common.h
L423); default 3 (common/common.h L423)."""
MLA_DEFAULT = 3
AMB_DEFAULT = 256
"""``-amb`` default 256 MiB (common/common.h L424: ``int attn_max_batch = 256``; PR #2312
changed it from 0); values in 1..127 are raised to 128 (common/common.cpp L1966-1970)."""
AMB_MIN = 128


# ─── cache types ─────────────────────────────────────────────────────────────────────────────
def row_meta(cache: Any) -> int:
    """Bytes ik_llama.cpp adds once per ggml row of `cache` (a `CacheDtype`): 8 for q8_KV."""
    if getattr(cache, "layout", "") != "ik_ggml":
        return 0
    return ik_type(cache.ggml_type or "").row_meta


def _blocks_bytes(cache: Any, n: int) -> int:
    """Bytes of `n` values of `cache` inside one longer row (no row meta: it is paid per row)."""
    return cache.vector_bytes(n) - row_meta(cache)


# ─── KV cache under -mla ─────────────────────────────────────────────────────────────────────
def check_mla(mla: object) -> int:
    """`mla` as one of `MLA_MODES`, else a `VramkitError` saying what is allowed."""
    if isinstance(mla, bool) or not isinstance(mla, int) or mla not in MLA_MODES:
        raise VramkitError(
            f"mla must be 0, 1, 2 or 3 (ik_llama.cpp -mla: 0 standard, 1 K + transposed V cache, "
            f"2 K cache only, 3 the default), got {mla!r}."
        )
    return mla


def is_mla_part(part: Any) -> bool:
    """A family KV part that is an MLA latent (DeepSeek V2/V3 style: kind "mla", one shared
    vector with RoPE dims), which ik_llama.cpp lays out by ``-mla``."""
    return part.kind == "mla" and part.store == "cache" and not part.kv_heads and part.rope_dims


def _mla_dims(cfg: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """(n_head, qk_nope, qk_rope, v_head, kv_lora_rank) of an MLA config."""
    names = ("num_attention_heads", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
             "kv_lora_rank")  # fmt: skip
    missing = [n for n in names if not cfg.get(n)]
    if missing:
        raise VramkitError(f"an MLA model's config needs {', '.join(missing)} for ik_llama.cpp.")
    return tuple(require_int(n, cfg[n], minimum=1, maximum=1 << 20) for n in names)  # type: ignore[return-value]


@dataclass(frozen=True)
class IkKvPiece:
    """One per-layer cache tensor family of ik_llama.cpp: `per_cell` bytes for every KV cell
    and `per_layer` bytes once per layer (the row meta of a 1-D tensor), over `heads` heads
    (0 = one shared latent, replicated under tensor parallelism)."""

    name: str
    per_cell: int
    per_layer: int = 0
    heads: int = 0


def mla_pieces(
    cfg: Mapping[str, Any], cache_k: Any, cache_v: Any, mla: int, flash_attn: bool
) -> tuple[IkKvPiece, ...]:
    """ik_llama.cpp's KV tensors per MLA layer (src/llama.cpp L1336-1338, L1420-1441):

    - ``-mla 1/2/3`` with flash attention: K only, one row of kv_lora_rank + qk_rope values per
      cell in -ctk (``primary_kv_type = cparams.flash_attn ? cache.type_k : …``, L1425-1426);
    - without flash attention ``-mla 1``: that row in -ctk plus the transposed latent V cache,
      one 1-D tensor of kv_lora_rank x kv_size values in -ctv (``cache_v_l``, L1437-1441);
    - without flash attention ``-mla 2/3``: the row in -ctv, no V cache;
    - ``-mla 0``: standard attention on the decompressed heads: K [n_embd_head_k, n_head x
      kv_size] rows (qk_nope + qk_rope values each) and V one 1-D tensor of n_head x v_head x
      kv_size values (L1510-1512), sized as llama_model::cache_size's last branch
      (src/llama-model.cpp L2524-L2531).
    """
    n_head, nope, rope, v_head, lora = _mla_dims(cfg)
    mla = check_mla(mla)
    if mla == 0:
        k = n_head * cache_k.vector_bytes(nope + rope)
        v = n_head * _blocks_bytes(cache_v, v_head)
        return (IkKvPiece("K", k, heads=n_head), IkKvPiece("V", v, row_meta(cache_v), n_head))
    primary = cache_k if flash_attn or mla == 1 else cache_v
    out = [IkKvPiece("c^KV", primary.vector_bytes(lora + rope))]
    if mla == 1 and not flash_attn:
        out.append(IkKvPiece("kv^T", _blocks_bytes(cache_v, lora), row_meta(cache_v)))
    return tuple(out)


def gqa_pieces(part: Any, cache_k: Any, cache_v: Any) -> tuple[IkKvPiece, ...] | None:
    """K and V of a GQA part whose cache type carries a row meta (q8_KV): K is [head_dim,
    n_head_kv x rows] (one meta per head row), V one 1-D tensor (one meta per layer), src/llama.cpp
    L1510-1512. None when neither type has a row meta (the shared per-vector rule is exact)."""
    if not (part.kv_heads and part.store == "cache") or not (
        row_meta(cache_k) or row_meta(cache_v)
    ):
        return None
    h = part.kv_heads
    k = h * cache_k.vector_bytes(part.dims)
    v_vectors = max(0, part.vectors - h)
    v = v_vectors * _blocks_bytes(cache_v, part.dims)
    return (IkKvPiece("K", k, heads=h), IkKvPiece("V", v, row_meta(cache_v) if v else 0, h))


def ik_components(
    parts: Sequence[Any],
    cfg: Mapping[str, Any],
    cache: Any,
    build: Any,
    make: Any,
    *,
    mla: int,
    flash_attn: bool,
) -> list[Any]:
    """The `KvComponent`s of ik_llama.cpp for a model's parts under one cache type (-ctk = -ctv):
    MLA latents by `mla_pieces`, q8_KV GQA parts by `gqa_pieces`, the rest by `build(part)` (the
    shared per-vector rule); `make` is the component class (`vramkit.kv.components.
    KvComponent`). A per-layer row meta becomes a fixed ("state", one entry) component of the
    same kind — charged once per sequence, where ik_llama.cpp pays it once per layer for all
    streams (8 B x layers x (batch - 1) too many with q8_KV and batch > 1).

    A quantized cache without flash attention is refused, as ik_llama.cpp refuses a quantized
    -ctv then (common/common.cpp L4303-L4304: "Quantized V cache cannot be used without flash
    attention"; checked on the pinned build, tests/engines/test_ik_llama_fixtures.py)."""
    if not flash_attn and getattr(cache, "layout", "float") != "float":
        raise VramkitError(
            f"ik_llama.cpp refuses a quantized V cache ({getattr(cache, 'name', cache)}) without "
            'flash attention ("Quantized V cache cannot be used without flash attention"): '
            "use flash attention (-fa on) or an f16 / bf16 / f32 cache."
        )
    out: list[Any] = []
    for p in parts:
        pieces = (
            mla_pieces(cfg, cache, cache, mla, flash_attn)
            if is_mla_part(p)
            else gqa_pieces(p, cache, cache)
        )
        check_viewed_v(pieces, cache, mla if is_mla_part(p) else None)
        if pieces is None:
            out.append(build(p))
            continue
        per_cell = sum(x.per_cell for x in pieces)
        heads = max((x.heads for x in pieces), default=0)
        out.append(make(p.kind, p.layers, p.rule, p.tokens, per_cell, kv_heads=heads,
                        paging=p.paging))  # fmt: skip
        meta = sum(x.per_layer for x in pieces)
        if meta:
            out.append(make(p.kind, p.layers, "state", 1, meta, paging=p.paging))
    return out


def check_viewed_v(pieces: Sequence[IkKvPiece] | None, cache_v: Any, mla: int | None) -> None:
    """Refuse a row-meta V cache (q8_KV) that ik_llama.cpp would view per head: the engine
    aborts building the graph then (issue 24; ggml/src/ggml.c L5427, ``GGML_ASSERT(view_src ==
    NULL || data_size == 0 || data_size + view_offs <= ggml_nbytes(view_src))``).

    A standard V cache is one 1-D tensor of n_embd_v_gqa x kv_size values (src/llama.cpp L1517):
    ggml_nbytes = 8 + n_head_kv x head_dim x kv_size B (one row meta). With flash attention
    llm_build_kqv views it as n_kv x n_head_kv rows of ggml_row_size(head_dim) = 8 + head_dim B
    (src/llama-build-context.cpp L2067-L2071; ggml_row_size ggml/src/ggml.c L4808-L4811), and
    the worst-case graph takes n_kv = kv_size (src/llama-build-context.cpp L68): the view ends
    8 x (n_head_kv x kv_size - 1) B past the tensor for every head size and KV-head count (the
    cache-store view, L950-L951 at kv_head = kv_size - n_tokens (L71), overruns by 8 x (kv_size
    - n_tokens) B too). So: every non-MLA model, and an MLA model under ``-mla 0`` (it caches
    decompressed K and V and calls llm_build_kv, src/graphs/build_deepseek2.cpp L1216-L1226).
    Not refused: q8_KV as the latent (K) cache of ``-mla 1/2/3`` with flash attention (no V
    tensor); without flash attention a quantized V cache is refused before (`ik_components`).
    `pieces` are a part's `mla_pieces` / `gqa_pieces` (None: no row meta, nothing viewed)."""
    if not row_meta(cache_v) or not pieces:
        return
    if any(x.name == "V" and x.per_cell for x in pieces):
        name = ik_type(cache_v.ggml_type).name
        where = "an MLA model under -mla 0" if mla == 0 else "a model without MLA"
        raise VramkitError(
            f"ik_llama.cpp aborts building the graph with a {name} V cache on {where} (ggml.c "
            f"L5427: its per-head view of the 1-D V cache counts {row_meta(cache_v)} B of row "
            f"meta a row and ends past the tensor): {name} is allowed only as the latent cache "
            "of an MLA model under -mla 1, 2 or 3 with flash attention; use f16 / bf16 / q8_0 / "
            "q6_0 here."
        )


# ─── settings ───────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class IkOptions:
    """ik_llama.cpp's switches that change memory: ``-mla`` (0-3), ``-amb`` (MiB; 0 = no limit),
    ``-fmoe`` (fused MoE up/gate; on by default, ``-no-fmoe`` turns it off), ``-fa`` (on by
    default), ``-rtr`` (repack host tensors at load), ``--swa-compress`` (compacted sliding-window
    caches, off by default). Defaults: common/common.h L422-L425, L433, L451."""

    mla: int = MLA_DEFAULT
    amb: int = AMB_DEFAULT
    fmoe: bool = True
    flash_attn: bool = True
    rtr: bool = False
    swa_compress: bool = False

    def __post_init__(self) -> None:
        check_mla(self.mla)
        amb = require_int("amb", self.amb, minimum=0, maximum=1 << 20)
        # common/common.cpp L1966-1970: 0 < amb < 128 is raised to 128 (with a warning)
        object.__setattr__(self, "amb", AMB_MIN if 0 < amb < AMB_MIN else amb)
        for name in ("fmoe", "flash_attn", "rtr", "swa_compress"):
            if not isinstance(getattr(self, name), bool):
                raise VramkitError(f"{name} must be true or false, got {getattr(self, name)!r}.")

    @property
    def flags(self) -> tuple[str, ...]:
        """The ik_llama.cpp command-line flags these options spell (defaults left out)."""
        out: list[str] = []
        if self.mla != MLA_DEFAULT:
            out += ["-mla", str(self.mla)]
        if self.amb != AMB_DEFAULT:
            out += ["-amb", str(self.amb)]
        if not self.fmoe:
            out.append("-no-fmoe")
        if not self.flash_attn:
            out += ["-fa", "off"]
        if self.rtr:
            out.append("-rtr")
        if self.swa_compress:
            out.append("--swa-compress")
        return tuple(out)


def options_from_flags(flags: Sequence[str]) -> IkOptions:
    """The `IkOptions` that `IkOptions.flags` spelled (a plan's knobs keep the flags)."""
    args = list(flags)
    kw: dict[str, Any] = {}
    while args:
        a = args.pop(0)
        if a == "-mla":
            kw["mla"] = int(args.pop(0))
        elif a == "-amb":
            kw["amb"] = int(args.pop(0))
        elif a == "-no-fmoe":
            kw["fmoe"] = False
        elif a == "-fa":
            kw["flash_attn"] = args.pop(0) == "on"
        elif a == "-rtr":
            kw["rtr"] = True
        elif a == "--swa-compress":
            kw["swa_compress"] = True
        else:
            raise VramkitError(f"{a!r} is not an ik_llama.cpp option vramkit writes.")
    return IkOptions(**kw)


def require_options(ik: object) -> IkOptions:
    """`ik` as `IkOptions` (None = the defaults); anything else is a `VramkitError`."""
    if ik is None:
        return IkOptions()
    if not isinstance(ik, IkOptions):
        raise VramkitError(
            f"ik must be vramkit.runtimes.ik_llama_rules.IkOptions(mla=…, amb=…, fmoe=…), got "
            f"{type(ik).__name__}."
        )
    return ik


# ─── compute graph: the attention terms ──────────────────────────────────────────────────────
def amb_heads(n_head: int, f32_mib: int, amb: int) -> int:
    """Heads per iteration of the chunked MLA attention: with ``-amb`` set and the F32
    product larger than it, the smallest split niter (2 ≤ niter < n_head, dividing n_head)
    with f32_mib / niter ≤ amb (integer MiB), 1 head if none; else all heads
    (src/graphs/build_deepseek2.cpp L926-L936; `f32_mib` = wkv_b->ne[1] x n_kv x 4 / 2**20,
    rounded down)."""
    if amb <= 0 or f32_mib <= amb:
        return n_head
    for niter in range(2, n_head):
        if n_head % niter == 0 and f32_mib // niter <= amb:
            return n_head // niter
    return 1


@dataclass(frozen=True)
class AttentionTerm:
    """The largest attention tensors live at once in ik_llama.cpp's worst-case graph (bytes),
    what they are, and the heads each iteration handles."""

    bytes: int
    what: str
    heads_per_step: int


def mla_attention(cfg: Mapping[str, Any], n_kv: int, n_ubatch: int, o: IkOptions,
                  kv_bytes: int = F16) -> AttentionTerm:  # fmt: skip
    """ik_llama.cpp's attention tensors for an MLA model at `n_kv` cells and `n_ubatch` tokens.

    Prompt processing (``pp_opt``: n_tokens ≥ 128 and -mla > 1, build_deepseek2.cpp L1299) with
    flash attention (L922-L1018): per iteration of h = `amb_heads` heads, kv_f32 = wkv_b x
    latent (F32, (qk_nope + v_head) x n_kv x h), its casts v and k_nope (`kv_bytes` each value:
    F16 on a CUDA build, L952), and k_rope repeated over h heads — live together:
    n_kv x h x (4 (nope + v) + kv_bytes (nope + v + rope)).
    Without flash attention (L1078-L1131): K*Q in F32, n_kv x n_ubatch x heads, chunked by
    -amb into ceil(kq_MiB / amb) steps of ceil(n_head / steps) heads; -mla > 1 adds the
    transposed latent (kv_lora x n_kv, `kv_bytes`), and the F32 mask (`mask_bytes`) sits beside. With flash attention and -mla 1, or below
    128 tokens, no n_kv x heads tensor is made (0).
    """
    n_head, nope, rope, v_head, lora = _mla_dims(cfg)
    kv = require_int("n_kv", n_kv, minimum=1, maximum=1 << 40)
    ub = require_int("n_ubatch", n_ubatch, minimum=1, maximum=1 << 20)
    pp_opt = ub >= 128 and o.mla > 1
    if o.flash_attn:
        if not pp_opt:
            return AttentionTerm(0, "flash attention over the latent cache", n_head)
        f32_mib = n_head * (nope + v_head) * kv * F32 // MIB
        h = amb_heads(n_head, f32_mib, o.amb)
        b = kv * h * (F32 * (nope + v_head) + kv_bytes * (nope + v_head + rope))
        return AttentionTerm(b, f"MLA decompression chunk, {h} of {n_head} heads", h)
    kq_mib = kv * ub * n_head * F32 // MIB
    heads = n_head
    if 0 < o.amb < kq_mib:
        steps = min(-(-kq_mib // o.amb), n_head)
        heads = -(-n_head // steps)
    trans = kv * lora * kv_bytes if o.mla > 1 else 0
    b = kv * ub * heads * F32 + trans + mask_bytes(kv, ub, 1)
    return AttentionTerm(b, f"K*Q, {heads} of {n_head} heads, mask", heads)


def mask_bytes(n_kv: int, n_ubatch: int, masks: int) -> int:
    """The F32 KQ masks without flash attention: [n_kv, GGML_PAD(n_tokens, 16)] each, one per
    mask kind (full, and sliding-window when the model has it): build_inp_KQ_mask(_swa),
    src/llama-build-context.cpp L553-L555, GGML_KQ_MASK_PAD 16 (ggml/include/ggml.h L2485)."""
    return masks * n_kv * (-(-n_ubatch // 16) * 16) * F32


def gqa_attention(n_head: int, n_head_kv: int, n_kv: int, n_ubatch: int, o: IkOptions, *,
                  sinks: bool = False, masks: int = 1) -> AttentionTerm:  # fmt: skip
    """ik_llama.cpp's K*Q for a non-MLA model (llm_build_kqv, src/llama-build-context.cpp
    L2060-L2201): with flash attention none (0). Without it K*Q is F32 n_kv x n_ubatch x
    n_head; -amb splits it into one head per step only when K, V and Q have as many heads (no
    GQA) and the model has no attention sinks (L2126-L2127, L2179-L2185: n_per_step = 1);
    otherwise the whole tensor is made, -amb or not. The F32 masks (`mask_bytes`) sit beside it."""
    kv = require_int("n_kv", n_kv, minimum=1, maximum=1 << 40)
    ub = require_int("n_ubatch", n_ubatch, minimum=1, maximum=1 << 20)
    if o.flash_attn:
        return AttentionTerm(0, "flash attention", n_head)
    kq_mib = kv * ub * n_head * F32 // MIB
    m = mask_bytes(kv, ub, masks)
    if 0 < o.amb < kq_mib and n_head == n_head_kv and not sinks:
        return AttentionTerm(kv * ub * F32 + m, f"K*Q, 1 of {n_head} heads (-amb), masks", 1)
    return AttentionTerm(kv * ub * n_head * F32 + m, f"K*Q, all {n_head} heads, masks", n_head)


def attention_term(model: Any, context: int, batch: int, n_ubatch: int, o: IkOptions,
                   pad: int | None = None) -> AttentionTerm:  # fmt: skip
    """`mla_attention` or `gqa_attention` for a model record at `batch` x `context` cells
    (ik_llama.cpp's kv_size = n_ctx padded to 256 with flash attention, 32 without:
    src/llama-context.h L74); the reservation graph takes n_kv = kv_size and n_tokens =
    min(n_ctx, n_ubatch) (src/llama.cpp L8607)."""
    cells = context * batch
    p = pad or (256 if o.flash_attn else 32)
    n_kv = -(-cells // p) * p
    ub = min(n_ubatch, n_kv)
    cfg = model.config
    if cfg.get("kv_lora_rank") and o.mla:
        return mla_attention(cfg, n_kv, ub, o)
    n_head = int(cfg.get("num_attention_heads") or 1)
    n_kv_heads = int(cfg.get("num_key_value_heads") or n_head)
    if cfg.get("kv_lora_rank"):  # -mla 0: K and V decompressed to n_head heads (L1946-L1961)
        n_kv_heads = n_head
    swa = bool(cfg.get("sliding_window")) or "sliding_attention" in (cfg.get("layer_types") or ())
    sinks = any(t.gguf_class == "attn_sink" for t in model.inventory)  # per-head sinks
    return gqa_attention(n_head, n_kv_heads, n_kv, ub, o, sinks=sinks,
                         masks=2 if swa else 1)  # fmt: skip


@dataclass(frozen=True)
class IkCompute:
    """ik_llama.cpp's device compute buffer (bytes): the larger of llama.cpp's graph with flash
    attention (the kit's llama.cpp figure, for the rest of the graph) and ik's attention term;
    an estimate, `spread` its measured relative error on held-out published logs."""

    bytes: int
    base_bytes: int
    attention: AttentionTerm
    note: str


COMPUTE_SPREAD = (
    "measured on the CPU build of ik_llama.cpp@8337e4cd (tests/engines/test_ik_llama_fixtures.py): "
    "MLA -56 %…+65 %, other models -23 %…+152 % with -fa, -3 %…0 % without; on published CUDA "
    "logs tests/engines/test_ik_llama_rules.py"
)


def device_compute(model: Any, *, context: int, batch: int, cache_dtype: str, n_ubatch: int,
                   ik: IkOptions | None = None) -> IkCompute:  # fmt: skip
    """The device compute buffer of ik_llama.cpp: max(llama.cpp's flash-attention graph, the
    attention term of `attention_term`). ik_llama.cpp's graph is its own; the rest of it
    (logits, FFN intermediates) is taken as llama.cpp's — an estimate, labelled."""
    from .llamacpp.memory import budget_compute_bytes

    o = require_options(ik)
    base, _ = budget_compute_bytes(model, context=context, batch=batch, cache_dtype=cache_dtype,
                                   n_ubatch=n_ubatch)  # fmt: skip
    att = attention_term(model, context, batch, n_ubatch, o)
    total = max(int(base), att.bytes)
    how = (
        "ik's attention term" if att.bytes > base else "llama.cpp's graph (ik's attention smaller)"
    )
    note = (
        f"ik_llama.cpp compute buffer {total / 2**30:.2f} GiB (-ub {n_ubatch}, -mla {o.mla}, "
        f"-amb {o.amb}, -fa {'on' if o.flash_attn else 'off'}): {how}; attention "
        f"{att.bytes / MIB:,.1f} MiB ({att.what}); an estimate "
        f"(vramkit.runtimes.ik_llama_rules at ik_llama.cpp@{IK_COMMIT[:8]})"
    )
    return IkCompute(total, int(base), att, note)


def budget_compute_bytes(
    model: Any,
    *,
    context: int,
    batch: int,
    cache_dtype: str,
    n_ubatch: int = 512,
    options: IkOptions | None = None,
) -> tuple[int, str]:
    """The workspace on ik_llama.cpp (registered in `vramkit.runtimes.engines`):
    `device_compute` under `options` (None: its defaults -mla 3, -amb 256, -fa, -fmoe), and the
    note saying how."""
    est = device_compute(model, context=context, batch=batch, cache_dtype=cache_dtype,
                         n_ubatch=n_ubatch, ik=options)  # fmt: skip
    return est.bytes, est.note


# ─── host compute: the fused MoE (-fmoe) ─────────────────────────────────────────────────────
def host_expert_sizes(*, embd: int, ub: int, n_expert: int, top_k: int, expert_ff: int,
                      fused: bool) -> tuple[list[int], list[tuple[int, int]]]:  # fmt: skip
    """One host expert layer's intermediates on ik_llama.cpp's CPU backend, in graph order, as
    (sizes, ops relative to the first): the FFN input copy (4 n_embd ub), the router's top-k
    view ((ub-1) 4 n_expert + 4 k), then with -fmoe one fused up x act(gate) output
    (``ggml_moe_up_gate``, F32 k n_ff ub: src/llama-build-context.cpp L1598-L1606) or without
    it up, gate and their product (3 x 4 k n_ff ub: L1608-L1629), and the down projection
    (4 k n_embd ub, L1634). op 0 = allocate, 1 = free."""
    act = 4 * top_k * expert_ff * ub
    head = [4 * embd * ub, (ub - 1) * 4 * n_expert + 4 * top_k]
    down = 4 * top_k * embd * ub
    if fused:
        sizes = [*head, act, down]
        norm, topk, par, dn = range(4)
        ops = [(0, norm), (0, topk), (0, par), (1, norm), (0, dn), (1, par), (1, topk), (1, dn)]
        return sizes, ops
    sizes = [*head, act, act, act, down]
    norm, topk, up, gate, par, dn = range(6)
    ops = [(0, norm), (0, topk), (0, up), (0, gate), (1, norm), (0, par), (1, up), (1, gate),
           (0, dn), (1, par), (1, topk), (1, dn)]  # fmt: skip
    return sizes, ops


def fused_expert_sequence(**kw: int) -> tuple[list[int], list[tuple[int, int]]]:
    """`host_expert_sizes` with -fmoe on: what `vramkit.runtimes.llamacpp.memory.host_compute_bytes`
    replays for ik_llama.cpp's host expert layer."""
    return host_expert_sizes(**kw, fused=True)


# ─── weights at load: the wkv_b ik derives from a mainline MLA file ─────────────────────────
@dataclass(frozen=True)
class DerivedWkvB:
    """The attn_kv_b tensor ik_llama.cpp computes per MLA layer at load when the GGUF holds
    only the split attn_k_b / attn_v_b (mainline's conversion): `ggml_type`, its ne
    (`cols` = kv_lora_rank values a row, `rows` = n_head x (qk_nope + v_head)) and its bytes,
    in a buffer of its own beside wk_b (not in the printed model buffer)."""

    ggml_type: str
    cols: int
    rows: int
    bytes: int


def derived_wkv_b(cfg: Mapping[str, Any], k_b_type: str, v_b_type: str,
                  mla: int) -> DerivedWkvB | None:  # fmt: skip
    """The per-layer attn_kv_b ik_llama.cpp derives from attn_k_b and attn_v_b, or None.

    llm_prepare_mla (src/llama.cpp L3413-L3470) returns early for ``-mla 1``; for -mla 0, 2
    and 3 every layer with wk_b and wv_b but no wkv_b gets one, built by llm_compute_wkv_b
    (L2892-L2972): [kv_lora_rank, n_head x (qk_nope + v_head)] (wk_b transposed concatenated
    with wv_b, viewed 2-D), cast to BF16 when both parts are BF16, F16 when both are F16, else
    Q8_0; stored with ggml_backend_buft_alloc_buffer in the buffer type of wk_b (L3455-L3456).
    Bytes: rows x ggml_row_size(type, kv_lora_rank) (Q8_0: 34 B per 32 values)."""
    n_head, nope, _rope, v_head, lora = _mla_dims(cfg)
    if check_mla(mla) == 1:
        return None
    k, v = str(k_b_type).upper(), str(v_b_type).upper()
    kind = "BF16" if k == v == "BF16" else "F16" if k == v == "F16" else "Q8_0"
    if kind == "Q8_0" and lora % 32:
        raise VramkitError(f"kv_lora_rank {lora} is not a whole number of Q8_0 blocks (32).")
    row = {"BF16": 2 * lora, "F16": 2 * lora, "Q8_0": lora // 32 * 34}[kind]
    rows = n_head * (nope + v_head)
    return DerivedWkvB(kind, lora, rows, rows * row)


_GGML_NAMES = {"FP16": "F16", "FP32": "F32"}


def derived_tensors(model: Any, recipe: Any, mla: int) -> tuple[DerivedWkvB | None, ...]:
    """Per main layer, the attn_kv_b ik_llama.cpp derives at load (`derived_wkv_b`) for `model`
    stored under `recipe` (a GGUF layout whose MLA layers hold attn_k_b / attn_v_b and no
    attn_kv_b, as mainline's converter and `vramkit.quant` write them); None where it derives
    none (-mla 1, models without MLA, files that hold attn_kv_b)."""
    from ..quant import get_recipe, tensor_formats

    mla = check_mla(mla)
    n = int(model.config.get("num_hidden_layers") or 0)
    out: list[DerivedWkvB | None] = [None] * n
    if not model.config.get("kv_lora_rank") or mla == 1:
        return tuple(out)
    parts: dict[int, dict[str, str]] = {}
    for t, fmt in tensor_formats(model, get_recipe(recipe)):
        if t.mtp or t.layer is None or t.gguf_class not in ("attn_k_b", "attn_v_b", "attn_kv_b"):
            continue
        parts.setdefault(int(t.layer), {})[t.gguf_class] = _GGML_NAMES.get(fmt.name, fmt.name)
    for i, p in parts.items():
        if 0 <= i < n and "attn_kv_b" not in p and {"attn_k_b", "attn_v_b"} <= set(p):
            out[i] = derived_wkv_b(model.config, p["attn_k_b"], p["attn_v_b"], mla)
    return tuple(out)


def derived_layer_bytes(model: Any, recipe: Any, mla: int) -> tuple[int, ...]:
    """Bytes ik_llama.cpp adds to each main layer at load: `derived_tensors`' bytes (0 where
    none)."""
    return tuple(d.bytes if d else 0 for d in derived_tensors(model, recipe, mla))


# ─── weights at load: -rtr ───────────────────────────────────────────────────────────────────
REPACKED: Mapping[str, tuple[str, int]] = {
    "IQ2_K": ("IQ2_K_R4", 4), "IQ3_K": ("IQ3_K_R4", 4), "IQ4_K": ("IQ4_K_R4", 4),
    "IQ5_K": ("IQ5_K_R4", 4), "IQ4_XS": ("IQ4_XS_R8", 8), "IQ4_KS": ("IQ4_KS_R4", 4),
    "IQ5_KS": ("IQ5_KS_R4", 4), "IQ4_NL": ("IQ4_NL_R4", 4), "IQ2_BN": ("IQ2_BN_R4", 4),
    "IQ2_XXS": ("IQ2_XXS_R4", 4), "IQ2_XS": ("IQ2_XS_R4", 4), "IQ2_S": ("IQ2_S_R4", 4),
    "IQ3_XXS": ("IQ3_XXS_R4", 4), "IQ3_S": ("IQ3_S_R4", 4), "Q2_K": ("Q2_K_R4", 4),
    "Q3_K": ("Q3_K_R4", 4), "Q4_K": ("Q4_K_R4", 4), "Q5_K": ("Q5_K_R4", 4),
    "Q6_K": ("Q6_K_R4", 4), "Q4_0": ("Q4_0_R8", 8), "Q5_0": ("Q5_0_R4", 4),
    "Q6_0": ("Q6_0_R4", 4), "Q8_0": ("Q8_0_R8", 8), "Q8_K": ("Q8_K_R8", 8),
    "Q8_KV": ("Q8_KV_R8", 8), "MXFP4": ("MXFP4_R8", 8),
}  # fmt: skip
"""-rtr: type → (interleaved type, rows interleaved), ggml/src/iqk/iqk_quantize.cpp
L8486-L8515 (get_repack_info; BF16/F16 → BF16_R16 only on AVX512-BF16 CPUs, left out)."""


@dataclass(frozen=True)
class Repack:
    """What -rtr does to one host tensor: its type after load and its bytes (unchanged)."""

    ggml_type: str
    bytes: int
    repacked: bool


def rtr_repack(name: str, ggml_type: str, rows: int, n_bytes: int) -> Repack:
    """-rtr on one tensor in a host buffer (src/llama.cpp L4912-L4922, only without mmap; -rtr
    also turns mmap off, common/common.cpp L2225-L2228): repacked in place by iqk_repack_tensor
    (ggml/src/iqk/iqk_quantize.cpp L8524-L8560) when its type has an interleaved variant, its
    rows (ne[1]) divide by 4 and by the interleave, and it is not token_embd /
    per_layer_token_embd. The interleaved types keep the block size and bytes (e.g.
    MXFP4_R8: blck_size QK_MXFP4, type_size sizeof(block_mxfp4), ggml/src/ggml.c L1348-L1351),
    so the buffer is the same size: -rtr changes no byte count, only the type and mmap."""
    n_bytes = require_int("tensor bytes", n_bytes, minimum=0, maximum=1 << 50)
    rows = require_int("rows", rows, minimum=1, maximum=1 << 40)
    target = REPACKED.get(str(ggml_type).upper())
    forbidden = name in ("token_embd.weight", "per_layer_token_embd.weight")
    if target is None or forbidden or rows % 4 or rows % target[1]:
        return Repack(str(ggml_type).upper(), n_bytes, False)
    return Repack(target[0], n_bytes, True)


# ─── weights at load: gpt-oss expert biases kept twice ──────────────────────────────────────
OPENAI_MOE_ARCH = "gpt-oss"
"""The GGUF architecture whose tensors ik_llama.cpp creates in ``create_openai_moe_tensors``
(src/llama-load-tensors.cpp L4286-L4309 at 8337e4cd): the one loader that duplicates expert
biases."""


def duplicates_expert_biases(model: Any) -> bool:
    """True when ik_llama.cpp's loader keeps the model's expert biases twice with the experts in
    host RAM: its GGUF architecture is `OPENAI_MOE_ARCH` (the engine's branch, by architecture)."""
    from ..quant import model_facts

    return model_facts(model).arch == OPENAI_MOE_ARCH


def duplicated_expert_bias_bytes(model: Any, recipe: Any) -> tuple[int, ...]:
    """Per main layer, the bytes of the routed-expert biases ik_llama.cpp keeps a second copy
    of when that layer's expert weights live in another buffer than the layer (``-ot exps=CPU``,
    ``--cpu-moe``, ``--n-cpu-moe``): gpt-oss (LLM_ARCH_OPENAI_MOE) only.

    create_openai_moe_tensors (src/llama-load-tensors.cpp L4286-L4309 at `IK_COMMIT`): each bias
    goes to the context of its weight when the weight stayed in the layer's split context, else
    to ``ctx_layer`` (the layer's device, L4289-L4292); a bias whose context differs from its
    weight's is then created again in the weight's context as ``TENSOR_DUPLICATED`` (L4298-L4309:
    ``ffn_gate_exps_b_dup``, ``ffn_up_exps_b_dup``, ``ffn_down_exps_b_dup``). So a GPU layer whose
    experts are on the CPU holds the three biases on the GPU and again beside the weights in the
    CPU buffer; the graph reads the CPU copy below 32 tokens and the GPU one above
    (src/graphs/build_openai.cpp L34-L42). A file with a merged ffn_gate_up_exps (or -muge)
    duplicates only the down bias — not modelled (mainline's converter writes them apart).
    Bytes: the recipe's routed-expert vector tensors of the layer (F32 in every gpt-oss GGUF:
    3 x 128 experts x 2,880 x 4 B = 4,423,680 B a layer for gpt-oss-120b); zeros for other
    models."""
    from ..quant import get_recipe, tensor_formats

    cfg = model.config
    n = int(cfg.get("num_hidden_layers") or 0)
    out = [0] * n
    if not duplicates_expert_biases(model):
        return tuple(out)
    for t, fmt in tensor_formats(model, get_recipe(recipe, model=model)):
        if t.mtp or t.layer is None or t.kind != "vector" or not t.group.startswith("routed_"):
            continue
        if 0 <= int(t.layer) < n:
            out[int(t.layer)] += t.count * fmt.tensor_bytes(t.shape)
    return tuple(out)
