"""What a plan charges, whatever the engine: the runtime record whose overheads and KV layout
it is charged (`overheads_record`, `kv_profile`), the compute buffer per GPU
(`compute_buffer_bytes`) and the KV estimate (`kv_estimate`, memoised per model object). Every
engine's placement (`vramkit.runtimes.<engine>.placement`) asks these; bytes throughout.
"""

from __future__ import annotations

from ..catalog import ModelSpec
from ..runtimes import Runtime, get_runtime


def overheads_record(runtime: str) -> Runtime:
    """The record whose overheads and compute buffer the plan charges: the runtime's own, or
    the one its record names (``plan_overheads_of``; ik_llama.cpp: llama.cpp's, an estimate)."""
    rt = get_runtime(runtime)
    base = rt.capabilities.plan_overheads_of
    return get_runtime(base) if base else rt


def kv_profile(runtime: str) -> Runtime:
    """The record whose KV layout the plan charges: always the runtime's own (ik_llama.cpp sizes
    its caches its own way: raw K on every layer for DeepSeek V4)."""
    return get_runtime(runtime)


def compute_buffer_bytes(
    model: ModelSpec,
    runtime: str,
    *,
    context: int,
    ubatch: int,
    sequences: int = 1,
    cache_dtype: str = "bf16",
    ik: object = None,
) -> int:
    """Compute (activation) buffer per GPU in bytes (`compute_buffer_with_note`'s figure)."""
    return compute_buffer_with_note(model, runtime, context=context, ubatch=ubatch,
                                    sequences=sequences, cache_dtype=cache_dtype, ik=ik)[0]  # fmt: skip


def compute_buffer_with_note(
    model: ModelSpec,
    runtime: str,
    *,
    context: int,
    ubatch: int,
    sequences: int = 1,
    cache_dtype: str = "bf16",
    ik: object = None,
) -> tuple[int, str]:
    """Compute (activation) buffer per GPU in bytes and how it was obtained: the runtime's
    compute-buffer function when its record says ``compute_buffer_computed`` (registered in
    `vramkit.runtimes.engines`, called as the budget calls it; ik_llama.cpp's own under its
    options `ik`), else the one of the record it takes its overheads from, else a fixed
    workspace figure — what `vramkit.budget` charges. The note is the function's own (llama.cpp:
    replayed per checkpoint, replayed per architecture, or the plain-GQA form labelled an
    estimate with its measured spread)."""
    from ..runtimes.engines import compute_buffer

    def _split(out: object) -> tuple[int, str]:
        if isinstance(out, tuple):
            return int(out[0]), str(out[1])
        return int(out), ""  # type: ignore[call-overload]

    own = compute_buffer(runtime)
    if own is not None:
        kw = {} if ik is None else {"options": ik}
        return _split(own(model, context=context, batch=sequences, cache_dtype=cache_dtype,
                          n_ubatch=ubatch, **kw))  # fmt: skip
    rt = overheads_record(runtime)
    fn = compute_buffer(rt)
    if fn is None:
        return rt.workspace_bytes, "the runtime record's fixed workspace (data/runtimes.yaml)"
    return _split(fn(model, context=context, batch=sequences, cache_dtype=cache_dtype,
                     n_ubatch=ubatch))  # fmt: skip


def kv_estimate(
    model: ModelSpec,
    runtime: str,
    context: int,
    sequences: int,
    cache_dtype: str | None,
    tp: int = 1,
    dp: int = 1,
    ubatch: int | None = None,
    ik: object = None,
):
    """`vramkit.kv.kv_cache` with the runtime's record (its KV layout: llama.cpp, vLLM pages,
    SGLang's token pool), memoised per model object and arguments (a plan search asks for the
    same estimate dozens of times). `ubatch`: llama.cpp's -ub (its sliding-window caches hold
    GGML_PAD(W + n_ubatch, 256) cells); None = the runtime default (512). `ik`: ik_llama.cpp's
    options (`vramkit.runtimes.ik_llama_rules.IkOptions`: -mla and -fa change its KV layout)."""
    from ..kv import kv_cache

    rt = kv_profile(runtime)  # its KV layout, as vramkit.budget asks for it
    key = (id(model), rt.id, context, sequences, cache_dtype, tp, dp, ubatch, ik)
    hit = _KV_MEMO.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    kw: dict[str, object] = {} if cache_dtype is None else {"cache_dtype": cache_dtype}
    if ubatch is not None:
        kw["n_ubatch"] = ubatch
    from ..runtimes.engines import kv_options

    kw.update(kv_options(runtime, ik))
    # the context was checked where the plan was asked for (`vramkit.plan.plan_for`)
    est = kv_cache(model, context, batch=sequences, runtime=rt, tp=tp, dp=dp,
                   allow_extrapolation=True, **kw)  # fmt: skip
    if len(_KV_MEMO) > 4096:
        _KV_MEMO.clear()
    _KV_MEMO[key] = (model, est)
    return est


_KV_MEMO: dict[tuple[object, ...], tuple[ModelSpec, object]] = {}
