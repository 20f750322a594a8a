"""KV-cache bytes for every attention kind in the catalog, per runtime layout, up to 1M tokens.

The shared accounting: one plan (`_plan`: family parts → byte components → the runtime's layout)
feeds both `kv_cache` and `kv_grid`.

`kv_cache` answers one (model, context, batch, dtype, runtime); `kv_grid` the same over a grid of
contexts × batches (numpy, milliseconds). Units: bytes (ints); GB = 1e9, GiB = 2**30.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, require_int, shown
from ..runtimes import KvProfile, Runtime, get_runtime, runtimes
from ..validate import MAX_BATCH, MAX_GRID_CELLS, MAX_PARALLEL, require_bool, require_finite_figures
from .components import KvComponent, component_of, exact, per_rank
from .formats import cache_dtype_names, canonical_dtype, resolve_cache_dtype, resolve_indexer_dtype
from .layout import KvLayout

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

CONTEXT_CAP_FACTOR = 8
"""Past max_position_embeddings a context is refused unless a what-if is asked for explicitly
(``allow_extrapolation``), then accepted up to 8 × the limit (V3.2 at 1M) with a note."""
KINDS = (
    "window",
    "csa",
    "indexer",
    "hca",
    "state",
    "padding",
    "mla",
    "sliding",
    "full",
    "recurrent_state",
)
RUNTIME_OPTIONS = (
    "max_num_batched_tokens", "concurrent_batches", "block_size", "n_ubatch", "swa_compress",
    "mla", "flash_attn",
)  # fmt: skip
"""Keyword options of kv_cache / kv_grid that override the runtime's KV profile (None = its
default): the first three vLLM's, `n_ubatch` llama.cpp's and ik_llama.cpp's (-ub), and
`swa_compress`, `mla` and `flash_attn` ik_llama.cpp's (--swa-compress, -mla, -fa on / off). An
option applies to a runtime whose KV profile has it (data/runtimes.yaml ``kv.options``)."""


def _option_layouts(name: str) -> tuple[str, ...]:
    """The KV layouts whose runtimes offer option `name` (for the error that refuses it)."""
    return tuple(dict.fromkeys(rt.kv.layout for rt in runtimes().values() if name in rt.kv.options))


@dataclass(frozen=True)
class KvEstimate:
    """KV cache of `batch` sequences of `context_tokens` tokens (bytes; whole batch unless said).

    per_sequence_bytes ≈ constant_bytes + slope_bytes_per_token × context_tokens (up to page
    rounding); per_gpu_bytes = one rank's share under tp (heads split or latent replicated) and dp
    (ceil(batch/dp) sequences per rank). cache_dtype / indexer_dtype are the stored formats the
    runtime really uses (e.g. fp8 → fp8_ds_mla on vLLM DeepSeek V4).
    """

    model_id: str
    context_tokens: int
    batch: int
    cache_dtype: str
    indexer_dtype: str | None
    runtime: str
    total_bytes: int
    per_sequence_bytes: int
    constant_bytes: int
    slope_bytes_per_token: float
    by_kind: Mapping[str, int]
    per_gpu_bytes: int
    tp: int = 1
    dp: int = 1
    include_mtp: bool = False
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_finite_figures(
            "KvEstimate",
            context_tokens=self.context_tokens,
            batch=self.batch,
            total_bytes=self.total_bytes,
            per_sequence_bytes=self.per_sequence_bytes,
            constant_bytes=self.constant_bytes,
            slope_bytes_per_token=self.slope_bytes_per_token,
            by_kind=self.by_kind,
            per_gpu_bytes=self.per_gpu_bytes,
        )

    layout: str = "reference"
    """The page rules used (`vramkit.runtimes.KV_LAYOUTS`): SGLang and TensorRT-LLM use vllm's."""


@dataclass(frozen=True)
class _Plan:
    """The context-free part of a KV estimate (model, components per GPU and per rank, dtypes,
    layout), built once per (model record, arguments) and reused for every context."""

    model: ModelSpec
    components: tuple[KvComponent, ...]
    rank_components: tuple[KvComponent, ...]
    cache_dtype: str
    indexer_dtype: str | None
    runtime: Any
    runtime_id: str
    layout: KvLayout
    include_mtp: bool
    notes: tuple[str, ...]


def cache_dtypes() -> list[str]:
    """Cache dtype names (`fp8` is resolved per runtime and model; see data/runtimes.yaml)."""
    return cache_dtype_names()


_TOKENS = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([kKmM]?)\s*$")


MAX_CONTEXT_TOKENS = 2**62
"""Largest context `parse_tokens` passes on (each face then applies the model's own bound)."""


def parse_tokens(text: str | int) -> int:
    """Parse a context length: 1048576, "1M" (= 2**20), "128K" (= 128 × 1024), "1_048_576".

    Context lengths follow the model-card convention: K = 1024 tokens, M = 1024**2 tokens.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return require_int("context", text, maximum=MAX_CONTEXT_TOKENS)
    if not isinstance(text, str | numbers.Real) or isinstance(text, bool):
        raise VramkitError(
            f"cannot read context {shown(text)}: write a token count such as 1048576, 128K or 1M."
        )
    m = _TOKENS.match(str(text)) if len(str(text)) <= 40 else None
    if not m:
        raise VramkitError(
            f"cannot read context {shown(text)}: write a token count such as 1048576, 128K or 1M."
        )
    value = float(m.group(1).replace("_", "").replace(",", ""))
    value *= {"": 1, "K": 1024, "M": 1024**2}[m.group(2).upper()]
    if not value.is_integer():
        raise VramkitError(f"context {shown(text)} is not a whole number of tokens.")
    return int(value)


def layout_for(profile: KvProfile, cache_dtype: str) -> KvLayout:
    """The `KvLayout` a runtime's KV profile names, for caches stored as `cache_dtype` (the
    engine's own rules, `vramkit.runtimes.engines`; imported here because the engines' layouts
    import vramkit.kv's shared base)."""
    from ..runtimes.engines import kv_layout

    return kv_layout(profile, cache_dtype)


def _plan(
    model: ModelSpec | str,
    cache_dtype: str,
    indexer_dtype: str | None,
    runtime: str | Runtime,
    include_mtp: bool | None,
    tp: int,
    overrides: Mapping[str, int | None] | None = None,
) -> _Plan:
    """The plan for these arguments, built once per (model record, arguments): it does not
    depend on the context, and a sweep or a slider asks for the same one again and again."""
    spec = get_model(model)
    rt = get_runtime(runtime)
    # a runtime named by id or alias, or given as its registry record, is one key
    rt_key = rt.id if runtimes().get(rt.id) is rt else rt
    args = (cache_dtype, indexer_dtype, rt_key, include_mtp, tp)
    # the types too: True == 1, and include_mtp=1 must be refused as it was, not served from cache;
    # an option set to None is an option not given (`_with_options`)
    given = tuple(sorted((k, v) for k, v in (overrides or {}).items() if v is not None))
    key = (spec, args, tuple(map(type, args)), given)
    try:
        hit = _PLANS.get(key)
    except TypeError:  # an unhashable argument: built (and refused) below, not cached
        return _build_plan(spec, cache_dtype, indexer_dtype, runtime, include_mtp, tp, overrides)
    if hit is None:
        hit = _build_plan(spec, cache_dtype, indexer_dtype, runtime, include_mtp, tp, overrides)
        if len(_PLANS) >= 64:
            _PLANS.clear()
        _PLANS[key] = hit
    return hit


_PLANS: dict[tuple[Any, ...], _Plan] = {}
"""`_plan` answers (model records hash by identity; only hashable arguments are cached)."""


def _build_plan(
    spec: ModelSpec,
    cache_dtype: str,
    indexer_dtype: str | None,
    runtime: str | Runtime,
    include_mtp: bool | None,
    tp: int,
    overrides: Mapping[str, int | None] | None = None,
) -> _Plan:
    rt = get_runtime(runtime)
    prof = _with_options(rt.kv, overrides or {})
    family = spec.family_record
    cfg = spec.config
    keys = family.format_keys(cfg)
    canonical_dtype(cache_dtype)
    fam_key = next((k for k in keys if k in prof.fp8_means), keys[0])
    cache = resolve_cache_dtype(cache_dtype, prof, fam_key)
    has_indexer = family.has_indexer(cfg)
    idx = resolve_indexer_dtype(indexer_dtype, prof, cache) if has_indexer else None
    if indexer_dtype is not None and not has_indexer:
        raise VramkitError(f"{spec.id} has no lightning indexer; leave indexer_dtype unset.")
    mtp = (
        prof.include_mtp_default
        if include_mtp is None
        else require_bool("include_mtp", include_mtp)
    )
    parts = [p for p in family.kv_parts(cfg, mtp) if p.layers]
    from ..runtimes.engines import kv_components, kv_parts

    parts = kv_parts(prof, parts)
    comps = kv_components(prof, parts, cfg, cache,
                          lambda p: component_of(p, cache, idx, family.name), KvComponent)  # fmt: skip
    notes = list(family.kv_notes(cfg, prof, idx is not None))
    if cache.estimate:
        notes.append(f"cache dtype {cache.name} is an estimate: {cache.description}")
    comps_t = tuple(comps)
    rank = tuple(per_rank(comps, tp))
    if all(a is b for a, b in zip(rank, comps_t, strict=True)):
        rank = comps_t  # one rank holds them all (tp 1, replicated caches): the same sums
    return _Plan(
        model=spec,
        components=comps_t,
        rank_components=rank,
        cache_dtype=cache.name,
        indexer_dtype=None if idx is None else idx.name,
        runtime=prof,
        runtime_id=rt.id,
        layout=layout_for(prof, cache.name),
        include_mtp=mtp,
        notes=tuple(notes),
    )


def _with_options(prof: Any, overrides: Mapping[str, int | None]) -> Any:
    """The profile with vLLM runtime options overridden (block_size sets both page sizes)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return prof
    wrong = sorted(k for k in given if k not in prof.options)
    if wrong:
        owner = " / ".join(_option_layouts(wrong[0]) or ("?",))
        raise VramkitError(
            f"{', '.join(wrong)} apply to runtime {owner} only, not {prof.id}; leave unset."
        )
    opts = dict(prof.options)
    for name, value in given.items():
        if name in ("swa_compress", "flash_attn"):  # a switch (kept as 0 / 1 in the options)
            value = int(require_bool(name, value))
        elif name == "mla":
            from ..runtimes.ik_llama_rules import check_mla

            value = check_mla(value)
        else:
            value = require_int(name, value, minimum=1, maximum=1 << 24)
        if name == "block_size":
            opts["block_size_deepseek_v4"] = value
        opts[name] = value
    return replace(prof, options=MappingProxyType(opts))


def check_context(
    spec: ModelSpec | str, context: int | str, *, allow_extrapolation: bool = False
) -> tuple[int, tuple[str, ...]]:
    """(tokens, notes) for a context `model` can be estimated at — THE context rule of `kv`,
    `plan` and `fit` (CLI, API, dashboard). Up to max_position_embeddings: accepted. Past it:
    refused with the limit named, unless `allow_extrapolation` (CLI ``--allow-extrapolation``)
    asks for a what-if, accepted up to CONTEXT_CAP_FACTOR × the limit with a note."""
    spec = get_model(spec)
    t = parse_tokens(context)
    max_pos = int(spec.config.get("max_position_embeddings") or 0)
    cap = CONTEXT_CAP_FACTOR * max_pos if max_pos else 16 * 1024**2
    if max_pos and t > max_pos and not allow_extrapolation:
        raise VramkitError(
            f"context {t:,} tokens is past {spec.id}'s limit of {max_pos:,} tokens (its "
            f"max_position_embeddings): give at most {max_pos:,}, or ask for a what-if with "
            f"--allow-extrapolation (Python: allow_extrapolation=True), up to {cap:,}."
        )
    if t > cap:
        raise VramkitError(
            f"context_tokens {t:,} is beyond what vramkit estimates for {spec.id}: allowed "
            f"0..{cap:,} ({CONTEXT_CAP_FACTOR} x max_position_embeddings {max_pos:,})."
        )
    if max_pos and t > max_pos:
        return t, (
            f"context {t:,} exceeds {spec.id}'s max_position_embeddings {max_pos:,}: "
            "a what-if, the model was not trained for it.",
        )
    return t, ()


def _sum_by_kind(comps: Iterable[KvComponent], t: np.ndarray, plan: _Plan) -> dict[str, np.ndarray]:
    comps = list(comps)
    out: dict[str, np.ndarray] = {}
    for c in comps:
        out[c.kind] = out.get(c.kind, 0) + plan.layout.bytes(c, t)
    need = plan.layout.pool_bytes(comps, t)
    if need is not None:
        # vLLM V4 charges every block id the full layer-tuple stride: the excess over the pages
        # the caches use is "padding" (needed − Σ kinds >= 0, see vramkit.runtimes.vllm.kv)
        out["padding"] = need - sum(out.values())
    return out


def _prepare(
    model: ModelSpec | str,
    contexts: list[int | str],
    batches: list[int],
    tp: int,
    dp: int,
    dtypes: tuple[str, str | None, str | Runtime, bool | None],
    options: tuple[int | None, ...],
    allow_extrapolation: bool = False,
) -> tuple[ModelSpec, list[tuple[int, tuple[str, ...]]], list[int], int, int, _Plan]:
    """The preamble `kv_cache` and `kv_grid` share: the model, each context checked against it,
    each batch, tp and dp validated, and the plan (family parts → components → layout)."""
    spec = get_model(model)
    checked = [check_context(spec, c, allow_extrapolation=allow_extrapolation) for c in contexts]
    bs = [require_int("batch", b, minimum=1, maximum=MAX_BATCH) for b in batches]
    if not checked or not bs:
        raise VramkitError("kv_grid needs at least one context and one batch size.")
    tp = require_int("tp", tp, minimum=1, maximum=MAX_PARALLEL)
    dp = require_int("dp", dp, minimum=1, maximum=MAX_PARALLEL)
    cache_dtype, indexer_dtype, runtime, include_mtp = dtypes
    opts = dict(zip(RUNTIME_OPTIONS, options, strict=True))
    plan = _plan(spec, cache_dtype, indexer_dtype, runtime, include_mtp, tp, opts)
    return spec, checked, bs, tp, dp, plan


def kv_cache(
    model: ModelSpec | str,
    context_tokens: int | str,
    *,
    batch: int = 1,
    cache_dtype: str = "bf16",
    indexer_dtype: str | None = None,
    runtime: str | Runtime = "reference",
    include_mtp: bool | None = None,
    tp: int = 1,
    dp: int = 1,
    max_num_batched_tokens: int | None = None,
    concurrent_batches: int | None = None,
    block_size: int | None = None,
    n_ubatch: int | None = None,
    swa_compress: bool | None = None,
    mla: int | None = None,
    flash_attn: bool | None = None,
    allow_extrapolation: bool = False,
) -> KvEstimate:
    """KV-cache bytes of `batch` sequences of `context_tokens` tokens.

    Parameters
    ----------
    model : catalog id or ModelSpec.
    context_tokens : tokens per sequence (int, or "128K" / "1M" with K = 1024).
    batch : concurrent sequences.
    cache_dtype : see `cache_dtypes()`; `fp8` means what the runtime really stores.
    indexer_dtype : DeepSeek lightning-indexer keys (bf16, fp8 = 132 B, fp4 = 68 B per 128-d
        key); None = the runtime's default (reference bf16, vLLM fp8, llama.cpp the K type).
    runtime : an id of data/runtimes.yaml (reference, vllm, llama.cpp; sglang and trtllm use
        vLLM's page rules) or a `Runtime`; the estimate's `layout` names the page rules used.
    include_mtp : count the MTP layer's cache; None = the runtime default (reference and vLLM
        without speculative decoding: no; llama.cpp: yes, its raw window covers the MTP layer).
    tp, dp : tensor-parallel size (GQA heads split, MLA/V4 latent replicated) and data-parallel
        attention size (ceil(batch/dp) sequences per rank).
    max_num_batched_tokens, concurrent_batches, block_size : vLLM only (None = the profile's
        sourced defaults 8192, 2, and 16 / 256 for DeepSeek V4). Window and state caches reserve
        W − 1 + max_num_batched_tokens × concurrent_batches tokens (vLLM max_in_flight_tokens).
    n_ubatch : llama.cpp / ik_llama.cpp (-ub; None = 512): llama.cpp's sliding-window caches
        hold GGML_PAD(min(kv_size, n_swa + n_ubatch), 256) cells.
    allow_extrapolation : a context past max_position_embeddings is refused unless this asks for
        the what-if (`check_context`).
    swa_compress : ik_llama.cpp only (--swa-compress; None = off): without it ik_llama.cpp keeps
        every sliding / V4 raw layer at full context; with it GGML_PAD(W + max(n_ubatch, 256)).
    mla : ik_llama.cpp only (-mla 0/1/2/3; None = 3): how an MLA model's cache is laid out
        (`vramkit.runtimes.ik_llama_rules.mla_pieces`: 1 adds a transposed latent V cache without flash
        attention; 0 caches the decompressed per-head K and V).
    flash_attn : ik_llama.cpp only (-fa; None = on): off pads the context to 32 cells, not 256,
        and changes the MLA layouts.

    Returns
    -------
    KvEstimate with bytes for the whole batch (total_bytes, by_kind), one sequence, and one GPU.

    Notes
    -----
    DeepSeek V4, reference: Σ_layers min(T, W)·B_kv + N_csa·floor(T/4)·(B_kv + B_idx)
    + N_hca·floor(T/128)·B_kv + the FP32 compressor states (coff·ratio rows of 2·coff·d values
    per layer, `vramkit.families.deepseek_v4.compressor_overlap`; d = head_dim, index_head_dim).
    DeepSeek V4, vllm: n_tuples × tuple_bytes × Σ_groups pages_g(T) (vramkit.runtimes.vllm.kv; the part
    above the caches' own pages is by_kind["padding"]).
    MLA: T·(kv_lora_rank + qk_rope_head_dim)·b per layer. GQA: T·2·kv_heads·head_dim·b per layer.
    """
    spec, ((t, ctx_notes),), (batch,), tp, dp, plan = _prepare(
        model, [context_tokens], [batch], tp, dp,
        (cache_dtype, indexer_dtype, runtime, include_mtp),
        (max_num_batched_tokens, concurrent_batches, block_size, n_ubatch, swa_compress, mla,
         flash_attn),
        allow_extrapolation,
    )  # fmt: skip
    plan = replace(plan, layout=plan.layout.with_streams(batch))  # ik_llama.cpp: streams count
    kinds = {k: int(v) for k, v in _sum_by_kind(plan.components, t, plan).items()}
    per_seq = sum(kinds.values())
    if plan.rank_components is plan.components:
        rank_seq = per_seq
    else:
        rank_seq = sum(int(v) for v in _sum_by_kind(plan.rank_components, t, plan).values())
    constant, slope = plan.layout.constant_and_slope(plan.components)
    return KvEstimate(
        model_id=spec.id,
        context_tokens=t,
        batch=batch,
        cache_dtype=plan.cache_dtype,
        indexer_dtype=plan.indexer_dtype,
        runtime=plan.runtime_id,
        total_bytes=per_seq * batch,
        per_sequence_bytes=per_seq,
        constant_bytes=constant,
        slope_bytes_per_token=float(slope),
        by_kind=MappingProxyType({k: v * batch for k, v in kinds.items()}),
        per_gpu_bytes=rank_seq * math.ceil(batch / dp),
        tp=tp,
        dp=dp,
        include_mtp=plan.include_mtp,
        notes=ctx_notes + plan.notes,
        layout=plan.runtime.layout,
    )


def kv_grid(
    model: ModelSpec | str,
    contexts: Iterable[int | str],
    batches: Iterable[int] = (1,),
    *,
    cache_dtype: str = "bf16",
    indexer_dtype: str | None = None,
    runtime: str | Runtime = "reference",
    include_mtp: bool | None = None,
    tp: int = 1,
    dp: int = 1,
    max_num_batched_tokens: int | None = None,
    concurrent_batches: int | None = None,
    block_size: int | None = None,
    n_ubatch: int | None = None,
    swa_compress: bool | None = None,
    mla: int | None = None,
    flash_attn: bool | None = None,
    allow_extrapolation: bool = False,
) -> pd.DataFrame:
    """`kv_cache` over every (context, batch) pair, vectorised with numpy.

    Returns a DataFrame with columns context_tokens, batch, total_bytes, per_sequence_bytes,
    per_gpu_bytes, total_gib, and one column per cache kind (bytes, whole batch).
    """
    import numpy as np
    import pandas as pd

    contexts, batches = _bounded_list("contexts", contexts), _bounded_list("batches", batches)
    if len(contexts) * len(batches) > MAX_GRID_CELLS:
        raise VramkitError(
            f"kv_grid of {len(contexts):,} contexts x {len(batches):,} batches is "
            f"{len(contexts) * len(batches):,} cells; at most {MAX_GRID_CELLS:,} are computed."
        )
    spec, checked, bs, tp, dp, plan = _prepare(
        model, list(contexts), list(batches), tp, dp,
        (cache_dtype, indexer_dtype, runtime, include_mtp),
        (max_num_batched_tokens, concurrent_batches, block_size, n_ubatch, swa_compress, mla,
         flash_attn),
        allow_extrapolation,
    )  # fmt: skip
    ts = [t for t, _ in checked]
    t_arr = exact(ts)
    tt, bb = np.meshgrid(t_arr, exact(bs), indexing="ij")
    layouts = [plan.layout.with_streams(b) for b in bs]
    if all(lay is plan.layout for lay in layouts):  # per-sequence bytes do not depend on batch
        one = _sum_by_kind(plan.components, t_arr, plan)
        kinds = {k: np.repeat(v[:, None], len(bs), axis=1) for k, v in one.items()}
        same = plan.rank_components is plan.components
        rank_1 = sum((one if same else _sum_by_kind(plan.rank_components, t_arr, plan)).values())
        rank = np.repeat(rank_1[:, None], len(bs), axis=1)
    else:  # ik_llama.cpp: compressed caches sized by the total context x streams
        per_b = [replace(plan, layout=lay) for lay in layouts]
        each = [_sum_by_kind(plan.components, t_arr, p) for p in per_b]
        kinds = {k: np.stack([e[k] for e in each], axis=1) for k in each[0]}
        rank = np.stack(
            [sum(_sum_by_kind(plan.rank_components, t_arr, p).values()) for p in per_b], axis=1
        )
    per_seq = sum(kinds.values())
    cols: dict[str, Any] = {
        "context_tokens": tt.ravel(),
        "batch": bb.ravel(),
        "total_bytes": (per_seq * bb).ravel(),
        "per_sequence_bytes": per_seq.ravel(),
        "per_gpu_bytes": (rank * -(-bb // dp)).ravel(),
    }
    for k, v in kinds.items():
        cols[k] = (v * bb).ravel()
    cols = {k: _int_column(v) for k, v in cols.items()}
    cols["total_gib"] = np.array([x / 2**30 for x in cols["total_bytes"]], dtype=float)
    frame = pd.DataFrame(cols)
    frame = frame[[*list(frame.columns[:5]), "total_gib", *list(frame.columns[5:-1])]]
    frame.attrs.update(
        model_id=spec.id,
        cache_dtype=plan.cache_dtype,
        indexer_dtype=plan.indexer_dtype,
        runtime=plan.runtime_id,
        layout=plan.runtime.layout,
    )
    return frame


def _bounded_list(name: str, values: object) -> list[Any]:
    """`values` as a list of at most `MAX_GRID_CELLS` items (a str or a mapping is refused)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise VramkitError(f"{name} must be a list of values, got {values!r:.80}.")
    out: list[Any] = []
    for v in values:
        out.append(v)
        if len(out) > MAX_GRID_CELLS:
            raise VramkitError(f"{name} lists more than {MAX_GRID_CELLS:,} values.")
    return out


def _int_column(values: np.ndarray) -> np.ndarray:
    """An exact int column as int64 when every value fits, else kept as Python ints."""
    import numpy as np

    if not len(values) or (values.min() >= -(2**63) and values.max() < 2**63):
        return values.astype(np.int64)
    return values


def components(
    model: ModelSpec | str,
    *,
    cache_dtype: str = "bf16",
    indexer_dtype: str | None = None,
    runtime: str | Runtime = "reference",
    include_mtp: bool | None = None,
) -> tuple[KvComponent, ...]:
    """The cache components (kind, layers, rule, tokens, entry bytes) a model has under a runtime."""
    return _plan(model, cache_dtype, indexer_dtype, runtime, include_mtp, 1).components
