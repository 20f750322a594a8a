"""Decode-speed estimates beside the bounds: bound × an efficiency fitted on published runs.

The dataset is data/measured_speed.yaml (one published figure per row, each with its quote); the
fitted efficiencies live in data/speed_efficiency.yaml, written by benchmarks/fit_speed.py.

    bound (tokens/s)  = bandwidth ÷ weight bytes one token reads
                        weight bytes = file bytes × active ÷ total parameters
                        bandwidth    = one GPU's (layer split: GPUs run one after another),
                                       n × one GPU's (tensor parallel, llama.cpp row split), or
                                       host RAM (CPU only)
    class             = the limiter and dense | moe, e.g. "gpu-moe"
    step time         = batch ÷ tokens/s (one decode step of `batch` sequences, seconds)
    estimate step     = bound step ÷ (device factor[gpu] × efficiency[class])
                        + layers × (overhead[class] + overhead per GPU[class] × (GPUs − 1))
    estimate          = batch ÷ estimate step, never above the bound

device factor: per GPU id with at least 3 GPU-limited TRAIN rows, the median over them of the
fraction of the catalog bandwidth the GPU reaches relative to its class, fitted in turn with the
classes (`_fit_device_factors`); 1 for other GPUs, other limiters and a GPU-less estimate.
overhead per GPU: only the row-split class (llama.cpp before Jan 2024 split each matrix by rows
over the GPUs and synced after each), fitted with its efficiency and overhead by a 3 × 3 least
squares (`_fit_class_per_gpu`); 0 elsewhere (`extra_gpus`).

efficiency and overhead: a class (else its limiter's rows) with at least 3 TRAIN rows of
different bounds is fitted by least squares on the relative step-time error,
Σ ((bound step ÷ e + L × τ) ÷ measured step − 1)², with τ ≥ 0 and e ≤ 1 (L: the model's decoder
layers); otherwise e is the median of measured ÷ bound and τ = 0 (and with no row at all, the
median over all train rows). τ is the time a step costs per layer whatever the bytes: kernel
launches and synchronisation per layer a token passes (about 40 µs per layer on the llama.cpp
builds of the dataset, 1.3 ms a step at 32 layers, so a small Q4 model on a fast GPU runs well
below its bound while an F16 one runs near 0.85 ×). The form (per layer, with device factors)
was chosen on the train rows alone by leave-one-out (median / 90th percentile error 9.4 % /
24.9 %, against 11.8 % / 31.6 % per step and 12.0 % / 41.0 % without device factors); the
held-out rows only measure it.

A MoE's efficiency is lower than a dense model's on the same device: the expert dispatch costs
time, and the row bound spreads the file's bytes evenly over parameters while a MoE file keeps
its always-read tensors (attention, shared experts) at more bits than its experts, so the row
bound is high for MoE files. The plan's own bound counts those bytes exactly, so for a MoE the
estimate beside a plan's bound may be low; the held-out error is measured on row bounds.

A row is held out (never fitted) when `held_out(row.id)`: a hash of its id, fixed before any fit.
The spread shown with an estimate is the 10th–90th percentile of measured ÷ estimate on those
held-out rows.

Prefill (prompt processing) is bounded twice, and the lower bound limits:

    compute bound (tokens/s) = dense FLOP/s ÷ FLOPs per prompt token
                        FLOPs per token = 2 × active parameters
                                          + 2 × layers × heads × (qk_dim + v_dim) × prompt ÷ 2
                                          (QKᵀ and A·V, 2 FLOPs per multiply-add, at the
                                          average causal context prompt ÷ 2; a sparse-attention
                                          top-k caps the attended positions)
                        dense FLOP/s    = data/gpu_compute.yaml (FP16 tensor, no sparsity) of
                                          one GPU (layer split) or tp × one GPU (tensor parallel)
    traffic bound      = ubatch tokens ÷ (weight bytes ÷ bandwidth): every weight is read once
                         per forward pass of `ubatch` tokens (a MoE's ubatch touches nearly all
                         its experts)
    estimate           = min(compute, traffic) × prefill efficiency[class], fitted like decode
                         on the TRAIN prefill rows (same `held_out` rule), with its own spread.

Dataset rows carry no layer shapes, so their attention term is omitted: at their prompt lengths
(≤ 2048 tokens) it is a few percent of 2 × active parameters (e.g. an 8B dense model of 32
layers × 4096 wide at 2048 tokens: 2 × 32 × 4096 × 2048 ÷ (2 × 8.03e9) = 3.3%).
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datafiles import load_document
from ..errors import VramkitError
from ..hardware import get_gpu
from ..runtimes import get_runtime
from ..sources import Source, parse_source

KINDS = ("decode", "prefill")
PLACEMENTS = ("gpu", "tp", "row", "host-experts", "host-layers", "cpu")
LIMITS = ("gpu", "tp", "row", "host", "cpu")
"""What limits a decode step: GPU memory (llama.cpp-style, layers one after another), tensor
parallel GPUs (vLLM / SGLang: single-request decode is latency-bound, far below the bound),
llama.cpp's row split (each matrix split by rows over the GPUs, a sync after each: the only
multi-GPU mode before Jan 2024; no plan uses it, dataset rows only), host RAM (experts or
layers on the host, GPU + host), the CPU alone."""

SHAPES = ("dense", "moe")
"""Whether the model routes each token to a few experts (active < total parameters)."""

_PLACEMENT_LIMIT = {
    "gpu": "gpu",
    "tp": "tp",
    "row": "row",
    "host-experts": "host",
    "host-layers": "host",
    "cpu": "cpu",
}
_DEFAULT_UBATCH = 512
"""llama.cpp's default ubatch (tokens per forward pass) for a prefill row that does not set -ub."""
_HELD_OUT_MODULUS = 3
"""One row in three (by hash) is held out."""


@dataclass(frozen=True)
class SpeedRow:
    """One published figure: tokens/s of `kind` for `model` on `hardware` (see the data file)."""

    id: str
    kind: str
    model: str
    file: str
    file_bytes: int
    engine: str
    version: str
    hardware: str
    gpu: str | None
    gpus: int
    placement: str
    host_bytes_per_s: float | None
    flags: str
    batch: int
    prompt_tokens: int | None
    tokens_per_s: float
    source: Source
    estimable: bool
    why: str
    ubatch: int | None = None


@dataclass(frozen=True)
class ModelFacts:
    """Total and active parameters of a dataset model (counts), with their source; its decoder
    layers (each a fixed cost per decode step, `overhead_for`) with theirs (None: not given)."""

    total_params: float
    active_params: float
    source: Source
    layers: int | None = None
    layers_source: Source | None = None


@dataclass(frozen=True)
class Efficiency:
    """Fitted efficiencies per limiter and their held-out spread (measured ÷ estimate)."""

    by_class: Mapping[str, float]
    fallback: float
    spread_p10: float
    spread_p90: float
    train_ids: tuple[str, ...]
    held_out_ids: tuple[str, ...]
    overhead_s: Mapping[str, float] = field(default_factory=dict)
    """Per class (or limiter): seconds a decode step costs per model layer beyond bytes ÷
    bandwidth (0: none)."""
    device_factor: Mapping[str, float] = field(default_factory=dict)
    """Per GPU id (data/gpus.yaml): the fraction of its catalog bandwidth a GPU-limited decode
    reaches relative to its class (1: none fitted); see `_fit_device_factors`."""
    overhead_per_gpu_s: Mapping[str, float] = field(default_factory=dict)
    """Per class (or limiter): seconds a step costs per layer per GPU beyond the first
    (`extra_gpus`)."""


@dataclass(frozen=True)
class DecodeEstimate:
    """An estimate beside a bound: tokens/s, its limiter, the efficiency used and the held-out
    spread (estimate × p10 … estimate × p90). Always an estimate, never a measurement."""

    tokens_per_s: float
    bound_tokens_per_s: float
    limit: str
    moe: bool
    efficiency: float
    fitted: bool
    low_tokens_per_s: float
    high_tokens_per_s: float
    overhead_s: float = 0.0

    @property
    def label(self) -> str:
        """One line for a face: 'estimate X tok/s (held-out spread A–B)'."""
        return (
            f"estimate {self.tokens_per_s:,.1f} tok/s (held-out spread "
            f"{self.low_tokens_per_s:,.1f}–{self.high_tokens_per_s:,.1f})"
        )


def held_out(row_id: str) -> bool:
    """Whether a row is held out of the fit: sha256 of its id, first 8 hex digits mod 3 == 0.
    Depends on the id only, so the split is fixed before any fit and never follows the data."""
    return int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) % _HELD_OUT_MODULUS == 0


def _num(where: str, raw: Mapping[str, Any], key: str, *, positive: bool = True) -> float:
    v = raw.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise VramkitError(f"{where}: '{key}' must be a number, got {v!r}.")
    if positive and v <= 0:
        raise VramkitError(f"{where}: '{key}' must be > 0, got {v!r}.")
    return float(v)


def _row(where: str, raw: Any, facts: Mapping[str, ModelFacts]) -> SpeedRow:
    if not isinstance(raw, Mapping):
        raise VramkitError(f"{where}: a row must be a mapping.")
    rid = str(raw.get("id") or "")
    if not rid:
        raise VramkitError(f"{where}: a row needs an 'id'.")
    where = f"{where} ({rid})"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise VramkitError(f"{where}: kind must be one of {list(KINDS)}, got {kind!r}.")
    placement = raw.get("placement")
    if placement not in PLACEMENTS:
        raise VramkitError(
            f"{where}: placement must be one of {list(PLACEMENTS)}, got {placement!r}."
        )
    if raw.get("model") not in facts:
        raise VramkitError(
            f"{where}: model {raw.get('model')!r} is not in models: {sorted(facts)}."
        )
    if ("file_gib" in raw) == ("file_gb" in raw):
        raise VramkitError(f"{where}: give exactly one of file_gib / file_gb.")
    size = (
        _num(where, raw, "file_gib") * 2**30
        if "file_gib" in raw
        else _num(where, raw, "file_gb") * 1e9
    )
    gpu = raw.get("gpu")
    if gpu is not None:
        get_gpu(str(gpu))  # an unknown id is a VramkitError naming the catalog's ids
    if "file_source" in raw:  # the file size comes from another source than the figure
        parse_source(f"{where}.file_source", raw["file_source"])
    if "host_gb_s" in raw and "host_gib_s" in raw:
        raise VramkitError(f"{where}: give at most one of host_gb_s / host_gib_s.")
    host_key = "host_gib_s" if "host_gib_s" in raw else "host_gb_s"
    host = raw.get(host_key)
    if placement == "cpu" and host is None and raw.get("estimable", True):
        raise VramkitError(
            f"{where}: a CPU row needs host_gb_s or host_gib_s (or estimable: false and why)."
        )
    if kind == "prefill" and raw.get("prompt_tokens") is None:
        raise VramkitError(f"{where}: a prefill row needs prompt_tokens.")
    if raw.get("prompt_tokens") is not None:
        _num(where, raw, "prompt_tokens")
    if raw.get("estimable", True) is False and not raw.get("why"):
        raise VramkitError(f"{where}: a row with estimable: false needs 'why'.")
    return SpeedRow(
        id=rid,
        kind=str(kind),
        model=str(raw["model"]),
        file=str(raw.get("file", "")),
        file_bytes=round(size),
        engine=str(raw.get("engine", "")),
        version=str(raw.get("version", "")),
        hardware=str(raw.get("hardware", "")),
        gpu=None if gpu is None else str(gpu),
        gpus=int(raw.get("gpus") or 0),
        placement=str(placement),
        host_bytes_per_s=None
        if host is None
        else _num(where, raw, host_key) * (2**30 if host_key == "host_gib_s" else 1e9),
        flags=str(raw.get("flags", "")),
        batch=int(_num(where, raw, "batch")),
        prompt_tokens=None if raw.get("prompt_tokens") is None else int(raw["prompt_tokens"]),
        tokens_per_s=_num(where, raw, "tokens_per_s"),
        source=parse_source(f"{where}.source", raw.get("source")),
        estimable=bool(raw.get("estimable", True)),
        why=str(raw.get("why", "")),
        ubatch=None if raw.get("ubatch") is None else int(_num(where, raw, "ubatch")),
    )


def load_speed_data(
    path: str | Path = "measured_speed.yaml",
) -> tuple[Mapping[str, ModelFacts], tuple[SpeedRow, ...]]:
    """The dataset: model facts and rows (a malformed file or row is a `VramkitError`)."""
    doc = load_document(path, ("models", "rows"))
    if not isinstance(doc["models"], Mapping) or not isinstance(doc["rows"], list):
        raise VramkitError("measured_speed.yaml: 'models' must be a mapping and 'rows' a list.")
    facts: dict[str, ModelFacts] = {}
    for mid, m in doc["models"].items():
        where = f"measured_speed.yaml models.{mid}"
        if not isinstance(m, Mapping):
            raise VramkitError(f"{where}: must be a mapping with total/active_params_b and source.")
        total = _num(where, m, "total_params_b") * 1e9
        active = _num(where, m, "active_params_b") * 1e9
        if active > total:
            raise VramkitError(f"{where}: active_params_b exceeds total_params_b.")
        layers = None if m.get("layers") is None else int(_num(where, m, "layers"))
        if layers is not None and (layers != m.get("layers") or "layers_source" not in m):
            raise VramkitError(f"{where}: layers must be a whole number with a layers_source.")
        facts[str(mid)] = ModelFacts(
            total,
            active,
            parse_source(f"{where}.source", m.get("source")),
            layers,
            None if layers is None else parse_source(f"{where}.layers_source", m["layers_source"]),
        )
    rows = tuple(
        _row(f"measured_speed.yaml rows[{i}]", r, facts) for i, r in enumerate(doc["rows"])
    )
    bare = sorted({r.model for r in rows if r.kind == "decode" and facts[r.model].layers is None})
    if bare:
        raise VramkitError(
            f"measured_speed.yaml: models {bare} have decode rows but no 'layers' (the decode "
            "overhead is per layer)."
        )
    ids = [r.id for r in rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise VramkitError(f"measured_speed.yaml: duplicate row ids {dup}.")
    return facts, rows


def row_limit(row: SpeedRow) -> str:
    """The limiter class of a row's placement (one of `LIMITS`)."""
    return _PLACEMENT_LIMIT[row.placement]


def speed_class(limit: str, moe: bool) -> str:
    """The fitted class of a limiter and model shape, e.g. 'gpu-moe'."""
    return f"{limit}-{'moe' if moe else 'dense'}"


def row_class(row: SpeedRow, facts: Mapping[str, ModelFacts]) -> str:
    """The fitted class of a dataset row (`speed_class` of its limiter and model)."""
    f = facts[row.model]
    return speed_class(row_limit(row), f.active_params < f.total_params)


def efficiency_for(eff: Efficiency, limit: str, moe: bool) -> tuple[float, bool]:
    """(efficiency, whether its own class was fitted): the class's, else the limiter's, else
    the overall train median."""
    cls = speed_class(limit, moe)
    if cls in eff.by_class:
        return eff.by_class[cls], True
    if limit in eff.by_class:
        return eff.by_class[limit], False
    return eff.fallback, False


def overhead_for(eff: Efficiency, limit: str, moe: bool) -> float:
    """Seconds per decode step beyond bytes ÷ bandwidth for this class (the same class, else
    limiter, that `efficiency_for` picks; 0 for the overall fallback)."""
    cls = speed_class(limit, moe)
    if cls in eff.by_class:
        return eff.overhead_s.get(cls, 0.0)
    if limit in eff.by_class:
        return eff.overhead_s.get(limit, 0.0)
    return 0.0


def extra_gpus(limit: str, gpus: int) -> int:
    """GPUs beyond the first whose partial results a step gathers: llama.cpp's row split syncs
    every split matrix over all its GPUs, so its fixed cost is τ + τ_gpu × (gpus − 1); 0 for
    every other limiter (their fixed cost is τ)."""
    return max(0, int(gpus) - 1) if limit == "row" else 0


def overhead_per_gpu_for(eff: Efficiency, limit: str, moe: bool) -> float:
    """Seconds per decode step per GPU beyond the first (`extra_gpus`) for this class (the
    same class, else limiter, that `efficiency_for` picks; 0 when none was fitted)."""
    cls = speed_class(limit, moe)
    key = cls if cls in eff.by_class else limit if limit in eff.by_class else None
    return 0.0 if key is None else eff.overhead_per_gpu_s.get(key, 0.0)


def device_factor_for(eff: Efficiency, limit: str, gpu: str | None) -> float:
    """The fitted bandwidth factor of GPU id `gpu` for a GPU-limited decode (1 for another
    limiter, no GPU, or a GPU without ≥ `_DEVICE_MIN_ROWS` train rows)."""
    if limit != "gpu" or gpu is None:
        return 1.0
    return eff.device_factor.get(gpu, 1.0)


def estimate_tokens_per_s(bound: float, efficiency: float, overhead_s: float, batch: int) -> float:
    """batch ÷ (bound step ÷ efficiency + overhead), at most the bound (module docstring)."""
    if bound <= 0:
        return 0.0
    step = batch / bound / efficiency + overhead_s
    return min(bound, batch / step)


def row_decode_bound(row: SpeedRow, facts: Mapping[str, ModelFacts]) -> float:
    """Decode bound of one dataset row, tokens/s (module docstring); VramkitError if it has none."""
    if row.kind != "decode" or not row.estimable:
        raise VramkitError(f"{row.id}: no decode bound ({row.why or row.kind + ' row'}).")
    f = facts[row.model]
    read = row.file_bytes * f.active_params / f.total_params * row.batch
    if row.placement == "cpu":
        assert row.host_bytes_per_s is not None  # checked at load
        return row.host_bytes_per_s / read
    if row.gpu is None:
        raise VramkitError(f"{row.id}: placement {row.placement} needs a gpu.")
    bw = get_gpu(row.gpu).bandwidth_bytes_per_s
    if not bw:
        raise VramkitError(f"{row.id}: GPU {row.gpu} has no sourced bandwidth.")
    if row.placement in ("tp", "row"):  # every GPU reads its share of each matrix at once
        return row.batch * row.gpus * bw / read
    if row.placement == "gpu":
        return row.batch * bw / read
    raise VramkitError(f"{row.id}: placement {row.placement} has no decode bound yet.")


def decode_ratios(
    rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts]
) -> list[tuple[SpeedRow, float]]:
    """(row, measured ÷ bound) for every estimable decode row."""
    return [
        (r, r.tokens_per_s / row_decode_bound(r, facts))
        for r in rows
        if r.kind == "decode" and r.estimable
    ]


def _quantile(xs: list[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default 'linear' method) of a non-empty list."""
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def fit_efficiency(rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts]) -> Efficiency:
    """Fit on TRAIN rows only (not `held_out`): per class and per limiter, the median of
    measured ÷ bound; the overall train median as the last fallback. Spread: the 10th / 90th
    percentile of measured ÷ estimate over the held-out rows."""
    return _fit_ratios(decode_ratios(rows, facts), facts, "decode", overhead=True)


def held_out_errors(
    rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts], eff: Efficiency
) -> list[tuple[SpeedRow, float, float]]:
    """(row, estimate tokens/s, measured ÷ estimate) for every held-out decode row."""
    return _held_out(decode_ratios(rows, facts), facts, eff)


def _held_out(
    ratios: list[tuple[SpeedRow, float]], facts: Mapping[str, ModelFacts], eff: Efficiency
) -> list[tuple[SpeedRow, float, float]]:
    """(row, estimate, measured ÷ estimate) for the held-out rows of (row, measured ÷ bound)."""
    out = []
    for r, x in ratios:
        if held_out(r.id):
            est = _row_estimate(eff, r, x, facts)
            out.append((r, est, r.tokens_per_s / est))
    return out


def _row_estimate(
    eff: Efficiency, row: SpeedRow, ratio: float, facts: Mapping[str, ModelFacts]
) -> float:
    """The estimate of a dataset row from its measured ÷ bound `ratio` (bound = measured ÷ it)."""
    f = facts[row.model]
    moe = f.active_params < f.total_params
    e = efficiency_for(eff, row_limit(row), moe)[0]
    tau = (
        overhead_for(eff, row_limit(row), moe)
        + overhead_per_gpu_for(eff, row_limit(row), moe) * extra_gpus(row_limit(row), row.gpus)
    ) * (f.layers or 0)
    batch = row.batch if row.kind == "decode" else 1
    bound = row.tokens_per_s / ratio
    d = device_factor_for(eff, row_limit(row), row.gpu) if row.kind == "decode" else 1.0
    return min(bound, estimate_tokens_per_s(bound * d, e, tau, batch))


def _layers_of(step: tuple[float, ...]) -> float:
    """The layer count of a (bound step, measured step, g, L) tuple: L, 1 when absent (then τ is
    per step rather than per layer)."""
    return step[3] if len(step) > 3 else 1.0


def _fit_class_per_gpu(steps: list[tuple[float, ...]]) -> tuple[float, float, float] | None:
    """(efficiency, overhead s, overhead s per extra GPU) from (bound step, measured step,
    extra GPUs) tuples: least squares on (bound step × a + τ + g × τ_gpu) ÷ measured step − 1,
    the 3 × 3 normal equations solved by elimination; None with fewer than 4 tuples, fewer than
    two GPU counts, or a solution outside a ≥ 1, τ ≥ 0, τ_gpu ≥ 0 (then `_fit_class`)."""
    if len(steps) < 4 or len({st[2] for st in steps}) < 2:
        return None
    cols = [(st[0] / st[1], _layers_of(st) / st[1], _layers_of(st) * st[2] / st[1]) for st in steps]
    m = [
        [sum(c[i] * c[j] for c in cols) for j in range(3)] + [sum(c[i] for c in cols)]
        for i in range(3)
    ]
    for c in range(3):  # Gauss-Jordan with partial pivoting
        p = max(range(c, 3), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) <= 1e-12 * max(1.0, abs(m[c][3])):
            return None
        for r in range(3):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    a, tau, tau_g = (m[i][3] / m[i][i] for i in range(3))
    if a < 1 or tau < 0 or tau_g < 0:
        return None
    return 1.0 / a, tau, tau_g


def _fit_class(steps: list[tuple[float, ...]]) -> tuple[float, float] | None:
    """(efficiency, overhead s) from (bound step, measured step[, …]) tuples: least squares on
    (bound step × a + τ) ÷ measured step − 1 with a = 1 ÷ efficiency ≥ 1 and τ ≥ 0; None with
    fewer than 3 pairs or when the bound steps barely differ (a and τ not separable)."""
    if len(steps) < 3:
        return None
    u = [st[0] / st[1] for st in steps]
    v = [_layers_of(st) / st[1] for st in steps]
    suu = sum(x * x for x in u)
    suv = sum(x * y for x, y in zip(u, v, strict=True))
    svv = sum(y * y for y in v)
    det = suu * svv - suv * suv
    if det <= 1e-9 * suu * svv:
        return None
    a = (sum(u) * svv - sum(v) * suv) / det
    tau = (suu * sum(v) - suv * sum(u)) / det
    if tau < 0:  # no fixed cost: the best ratio alone
        tau, a = 0.0, sum(u) / suu
    if a < 1:  # never faster than the bound: a = 1, τ refitted alone
        a = 1.0
        tau = max(0.0, sum(y * (1 - x) for x, y in zip(u, v, strict=True)) / svv)
    return 1.0 / a, tau


def error_summary(ratios: list[float]) -> dict[str, float]:
    """Median and 90th percentile of |measured ÷ estimate − 1| (fractions), and the count."""
    errs = [abs(x - 1.0) for x in ratios]
    return {"n": len(errs), "median": _quantile(errs, 0.5), "p90": _quantile(errs, 0.9)}


def load_efficiency(path: str | Path = "speed_efficiency.yaml") -> Efficiency:
    """The committed fit (data/speed_efficiency.yaml, written by benchmarks/fit_speed.py)."""
    doc = load_document(path, ("efficiency", "fallback", "spread", "train_ids", "held_out_ids"))
    where = "speed_efficiency.yaml"
    by = {str(k): _num(where, doc["efficiency"], k) for k in doc["efficiency"]}
    allowed = set(LIMITS) | {speed_class(lim, m) for lim in LIMITS for m in (False, True)}
    unknown = set(by) - allowed
    if unknown:
        raise VramkitError(
            f"{where}: unknown classes {sorted(unknown)}; allowed {sorted(allowed)}."
        )
    ms = doc.get("overhead_us_per_layer") or {}
    if not isinstance(ms, Mapping) or set(ms) - set(by):
        raise VramkitError(
            f"{where}: overhead_us_per_layer must map fitted classes to microseconds."
        )
    per_gpu = doc.get("overhead_per_gpu_us_per_layer") or {}
    if not isinstance(per_gpu, Mapping) or set(per_gpu) - set(by):
        raise VramkitError(
            f"{where}: overhead_per_gpu_us_per_layer must map fitted classes to microseconds."
        )
    dev = doc.get("device_factor") or {}
    if not isinstance(dev, Mapping):
        raise VramkitError(f"{where}: device_factor must map GPU ids to factors.")
    for gid in dev:
        get_gpu(str(gid))  # an unknown id is a VramkitError naming the catalog's ids
    return Efficiency(
        by_class=by,
        fallback=_num(where, doc, "fallback"),
        spread_p10=_num(where, doc["spread"], "p10"),
        spread_p90=_num(where, doc["spread"], "p90"),
        train_ids=tuple(doc["train_ids"]),
        held_out_ids=tuple(doc["held_out_ids"]),
        overhead_s={
            str(k): _overhead_us(f"{where} overhead_us_per_layer", ms, k) / 1e6 for k in ms
        },
        device_factor={str(k): _num(f"{where} device_factor", dev, k) for k in dev},
        overhead_per_gpu_s={
            str(k): _overhead_us(f"{where} overhead_per_gpu_us_per_layer", per_gpu, k) / 1e6
            for k in per_gpu
        },
    )


def _overhead_us(where: str, us: Mapping[str, Any], key: str) -> float:
    """One class's overhead in microseconds (per layer): a finite number ≥ 0."""
    v = _num(where, us, key, positive=False)
    if v < 0:
        raise VramkitError(f"{where}: '{key}' must be ≥ 0 µs, got {v!r}.")
    return v


def plan_limit(runtime: str, limited_by: str, gpus: int) -> str:
    """The limiter class of a plan's speed bound (`vramkit.plan.speed.SpeedBound.limited_by`)."""
    if get_runtime(runtime).capabilities.placement == "ranks":
        return "tp" if gpus > 1 else "gpu"
    if limited_by.startswith("host RAM") or limited_by.startswith("NVMe"):
        return "host" if gpus else "cpu"
    return "gpu" if gpus else "cpu"


def decode_estimate(
    bound_tokens_per_s: float,
    limit: str,
    *,
    moe: bool,
    eff: Efficiency | None = None,
    batch: int = 1,
    gpu: str | None = None,
    gpus: int = 1,
    layers: int | None = None,
) -> DecodeEstimate:
    """The decode estimate beside a bound of limiter `limit` (one of `LIMITS`) for a dense or a
    MoE model (`moe`), `batch` sequences decoding together (the bound's tokens/s are theirs).
    gpu: the data/gpus.yaml id of the GPUs (None: unknown, factor 1); a GPU-limited bound is
    scaled by its fitted device factor (`device_factor_for`), the estimate never above it.
    gpus: how many GPUs (only a row-split step's fixed cost depends on it, `extra_gpus`).
    layers: the model's decoder layers; a class with a fitted overhead costs that per layer, so
    it needs them (a VramkitError says so when they are missing)."""
    if not isinstance(limit, str) or limit not in LIMITS:
        raise VramkitError(f"unknown speed limiter {limit!r}; allowed {list(LIMITS)}.")
    if not isinstance(moe, bool):
        raise VramkitError(f"moe must be True or False, got {moe!r}.")
    if (
        isinstance(bound_tokens_per_s, bool)
        or not isinstance(bound_tokens_per_s, int | float)
        or not math.isfinite(bound_tokens_per_s)
        or bound_tokens_per_s < 0
    ):
        raise VramkitError(f"decode bound must be a finite number ≥ 0, got {bound_tokens_per_s!r}.")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise VramkitError(f"batch must be a whole number ≥ 1, got {batch!r}.")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise VramkitError(f"gpus must be a whole number ≥ 1, got {gpus!r}.")
    if layers is not None and (
        isinstance(layers, bool) or not isinstance(layers, int) or layers < 1
    ):
        raise VramkitError(f"layers must be a whole number ≥ 1 or None, got {layers!r}.")
    if gpu is not None:
        if not isinstance(gpu, str):
            raise VramkitError(f"gpu must be a data/gpus.yaml id (a string) or None, got {gpu!r}.")
        get_gpu(gpu)  # an unknown id is a VramkitError naming the catalog's ids
    eff = eff or _default_efficiency()
    e, fitted = efficiency_for(eff, limit, moe)
    tau = overhead_for(eff, limit, moe)
    tau += overhead_per_gpu_for(eff, limit, moe) * extra_gpus(limit, gpus)
    if tau and layers is None:
        raise VramkitError(
            f"the {speed_class(limit, moe)} estimate costs a fixed time per layer: pass the "
            "model's layers (layers=)."
        )
    tau *= layers or 0
    d = device_factor_for(eff, limit, gpu)
    bound = float(bound_tokens_per_s)
    est = min(bound, estimate_tokens_per_s(bound * d, e, tau, batch))
    return DecodeEstimate(
        tokens_per_s=est,
        bound_tokens_per_s=bound_tokens_per_s,
        limit=limit,
        moe=moe,
        efficiency=e,
        fitted=fitted,
        low_tokens_per_s=est * eff.spread_p10,
        high_tokens_per_s=est * eff.spread_p90,
        overhead_s=tau,
    )


def plan_decode_estimate(plan: Any, speed: Any, model: Any) -> DecodeEstimate | None:
    """The decode estimate beside a plan's bound (`vramkit.plan.speed.SpeedBound` of a
    `vramkit.plan.Plan` of `model`), or None when the plan does not fit or its bound is not
    finite. Its class: `plan_limit` of the plan's runtime and limiter, MoE when the model's
    active parameters are fewer than its total; batch: the plan's sequences; GPU: `plan_gpu_id`
    (its fitted device factor, if any)."""
    if not plan.fits or not math.isfinite(speed.decode_tokens_per_s):
        return None
    gpus = sum(1 for q in plan.places if q.kind == "gpu")
    return bound_estimate(
        speed.decode_tokens_per_s,
        runtime=plan.runtime,
        limited_by=speed.limited_by,
        gpus=gpus,
        moe=model.params.active < model.params.main,
        batch=max(1, int(speed.batch)),
        gpu=plan_gpu_id(plan),
        layers=model.num_layers,
    )


def plan_gpu_id(plan: Any) -> str | None:
    """The data/gpus.yaml id shared by every GPU place of a plan, else None (mixed GPUs, GPUs
    given by numbers, or none)."""
    ids = {getattr(q, "gpu_id", None) for q in plan.places if q.kind == "gpu"}
    return ids.pop() if len(ids) == 1 else None


def curve_estimates(plan: Any, curve: Iterable[Any], model: Any) -> list[DecodeEstimate | None]:
    """Per point of a context-vs-speed curve (`vramkit.plan.CurvePoint`s solved on `plan`'s
    machine and runtime): the decode estimate beside its bound, None where it does not fit."""
    gpus = sum(1 for q in plan.places if q.kind == "gpu")
    moe = model.params.active < model.params.main
    gpu = plan_gpu_id(plan)
    return [
        bound_estimate(
            c.decode_tokens_per_s,
            runtime=plan.runtime,
            limited_by=c.limited_by,
            gpus=gpus,
            moe=moe,
            batch=max(1, int(plan.sequences)),
            gpu=gpu,
            layers=model.num_layers,
        )
        if c.fits
        else None
        for c in curve
    ]


def bound_estimate(
    bound_tokens_per_s: float,
    *,
    runtime: str,
    limited_by: str,
    gpus: int,
    moe: bool,
    batch: int,
    gpu: str | None = None,
    layers: int | None = None,
) -> DecodeEstimate | None:
    """`decode_estimate` of a decode bound given what limits it (a plan's runtime, its
    `limited_by` text, GPU count and GPU id): one call for the plan, the curve and goal speed.
    None for a bound of 0 (nothing fits) or not finite."""
    if not math.isfinite(bound_tokens_per_s) or bound_tokens_per_s <= 0:
        return None
    limit = plan_limit(runtime, limited_by, gpus)
    return decode_estimate(
        bound_tokens_per_s,
        limit,
        moe=moe,
        batch=batch,
        gpu=gpu,
        gpus=max(1, int(gpus)),
        layers=layers,
    )


_CACHE: dict[str, Efficiency] = {}


def _default_efficiency() -> Efficiency:
    if "default" not in _CACHE:
        _CACHE["default"] = load_efficiency()
    return _CACHE["default"]


# ------------------------------------------------------------------------------------ prefill


@dataclass(frozen=True)
class GpuCompute:
    """Dense FP16 tensor compute of one GPU (FLOP/s, no sparsity) and its source."""

    gpu_id: str
    flops_per_s: float
    precision: str
    source: Source


def load_gpu_compute(path: str | Path = "gpu_compute.yaml") -> Mapping[str, GpuCompute]:
    """data/gpu_compute.yaml by data/gpus.yaml id (an unknown id or a bad figure is a
    `VramkitError`)."""
    doc = load_document(path, ("gpus",))
    if not isinstance(doc["gpus"], Mapping):
        raise VramkitError("gpu_compute.yaml: 'gpus' must be a mapping of gpu id → record.")
    out: dict[str, GpuCompute] = {}
    for gid, rec in doc["gpus"].items():
        where = f"gpu_compute.yaml gpus.{gid}"
        if not isinstance(rec, Mapping):
            raise VramkitError(f"{where}: must be a mapping with dense_tflops and source.")
        get_gpu(str(gid))  # an unknown id is a VramkitError naming the catalog's ids
        out[str(gid)] = GpuCompute(
            gpu_id=str(gid),
            flops_per_s=_num(where, rec, "dense_tflops") * 1e12,
            precision=str(rec.get("precision", "")),
            source=parse_source(f"{where}.source", rec.get("source")),
        )
    return out


def gpu_flops(gpu_id: str | None) -> float | None:
    """Dense FP16 FLOP/s of one GPU of this id, or None when data/gpu_compute.yaml has none."""
    if gpu_id is None:
        return None
    if "compute" not in _COMPUTE_CACHE:
        _COMPUTE_CACHE["compute"] = load_gpu_compute()
    rec = _COMPUTE_CACHE["compute"].get(gpu_id)
    return None if rec is None else rec.flops_per_s


_COMPUTE_CACHE: dict[str, Mapping[str, GpuCompute]] = {}


def _finite(name: str, x: Any, *, positive: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x < 0:
        raise VramkitError(f"{name} must be a finite number ≥ 0, got {x!r}.")
    if positive and x <= 0:
        raise VramkitError(f"{name} must be > 0, got {x!r}.")
    return float(x)


def prefill_flops_per_token(
    active_params: float,
    prompt_tokens: int,
    *,
    layers: int = 0,
    attn_width: float = 0,
    window: int | None = None,
) -> float:
    """FLOPs per prompt token, averaged over the prompt (module docstring): 2 × active
    parameters + 2 × layers × attn_width × (average attended context), attn_width = heads ×
    (qk_dim + v_dim) (0: attention not counted). Causal attention attends prompt ÷ 2 positions
    on average; with `window` (a sparse top-k or sliding window: at most that many positions)
    it is window − window² ÷ (2 × prompt) once the prompt is longer than the window."""
    a = _finite("active parameters", active_params, positive=True)
    p = _finite("prompt tokens", prompt_tokens, positive=True)
    avg = window - window * window / (2.0 * p) if window is not None and 0 < window < p else p / 2.0
    return 2.0 * a + 2.0 * _finite("layers", layers) * _finite("attention width", attn_width) * avg


def attention_width(config: Mapping[str, Any]) -> tuple[int, float]:
    """(layers, heads × (qk_dim + v_dim)) of a model config (HF keys; MLA: qk = nope + rope);
    (layers, 0) when the config lacks head counts."""
    layers = int(config.get("num_hidden_layers") or 0)
    heads = int(config.get("num_attention_heads") or 0)
    if not heads:
        return layers, 0.0
    if config.get("qk_nope_head_dim") or config.get("qk_rope_head_dim"):
        qk = int(config.get("qk_nope_head_dim") or 0) + int(config.get("qk_rope_head_dim") or 0)
        v = int(config.get("v_head_dim") or qk)
    else:
        hidden = int(config.get("hidden_size") or 0)
        qk = int(config.get("head_dim") or (hidden // heads if hidden else 0))
        v = int(config.get("v_head_dim") or qk)
    return layers, float(heads * (qk + v))


@dataclass(frozen=True)
class PrefillBound:
    """Prefill bounds, tokens/s: compute (FLOPs ÷ dense FLOP/s), weight traffic, the lower."""

    compute_tokens_per_s: float
    traffic_tokens_per_s: float

    @property
    def tokens_per_s(self) -> float:
        """The limiting (lower) bound."""
        return min(self.compute_tokens_per_s, self.traffic_tokens_per_s)

    @property
    def limited_by(self) -> str:
        """'compute' or 'weight traffic'."""
        return (
            "compute"
            if self.compute_tokens_per_s <= self.traffic_tokens_per_s
            else "weight traffic"
        )


def _row_ubatch(row: SpeedRow) -> int:
    assert row.prompt_tokens is not None  # checked at load for prefill rows
    if row.placement == "tp":
        return row.prompt_tokens if row.ubatch is None else row.ubatch
    return min(row.prompt_tokens, row.ubatch or _DEFAULT_UBATCH)


def row_prefill_bound(row: SpeedRow, facts: Mapping[str, ModelFacts]) -> PrefillBound:
    """Prefill bounds of one dataset row (module docstring); VramkitError if it has none."""
    if row.kind != "prefill" or not row.estimable:
        raise VramkitError(f"{row.id}: no prefill bound ({row.why or row.kind + ' row'}).")
    if row.placement not in ("gpu", "tp") or row.gpu is None:
        raise VramkitError(
            f"{row.id}: prefill bounds need all weights on GPUs (placement gpu or tp), "
            f"got {row.placement}."
        )
    flops = gpu_flops(row.gpu)
    bw = get_gpu(row.gpu).bandwidth_bytes_per_s
    if not flops or not bw:
        raise VramkitError(f"{row.id}: GPU {row.gpu} has no sourced dense TFLOPS or bandwidth.")
    n = row.gpus if row.placement == "tp" else 1
    assert row.prompt_tokens is not None
    f = facts[row.model]
    per_token = prefill_flops_per_token(f.active_params, row.prompt_tokens)
    return PrefillBound(
        compute_tokens_per_s=n * flops / per_token,
        traffic_tokens_per_s=_row_ubatch(row) * n * bw / row.file_bytes,
    )


def prefill_ratios(
    rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts]
) -> list[tuple[SpeedRow, float]]:
    """(row, measured ÷ bound) for every prefill row with a bound (GPU rows whose GPU has a
    sourced dense TFLOPS); `prefill_unestimable` lists the others with why."""
    return [
        (r, r.tokens_per_s / row_prefill_bound(r, facts).tokens_per_s)
        for r in rows
        if _prefill_estimable(r) is None
    ]


def _prefill_estimable(r: SpeedRow) -> str | None:
    if r.kind != "prefill":
        return "not a prefill row"
    if not r.estimable:
        return r.why
    if r.placement not in ("gpu", "tp") or r.gpu is None:
        return f"placement {r.placement}: no CPU / host FLOPS are sourced"
    if gpu_flops(r.gpu) is None:
        return f"no sourced dense TFLOPS for {r.gpu} in data/gpu_compute.yaml"
    return None


def prefill_unestimable(rows: Iterable[SpeedRow]) -> list[tuple[SpeedRow, str]]:
    """(row, why) for every prefill row without a prefill bound."""
    out = []
    for r in rows:
        why = _prefill_estimable(r)
        if r.kind == "prefill" and why is not None:
            out.append((r, why))
    return out


def _fit_on(
    train: list[tuple[SpeedRow, float]], facts: Mapping[str, ModelFacts], *, overhead: bool
) -> Efficiency:
    """Per class and per limiter: (efficiency, overhead) by `_fit_class` when `overhead` and it
    fits, else the median of measured ÷ bound with no overhead; no spread (1, 1), no ids."""
    by: dict[str, float] = {}
    tau: dict[str, float] = {}
    tau_g: dict[str, float] = {}

    def fit(key: str, group: list[tuple[SpeedRow, float]]) -> None:
        if not group:
            return
        # measured step tm = batch ÷ measured tokens/s; bound step = tm × measured ÷ bound;
        # g = GPUs beyond the first whose results a step gathers (`extra_gpus`); L = layers
        steps = [
            (
                r.batch / r.tokens_per_s * x,
                r.batch / r.tokens_per_s,
                float(extra_gpus(row_limit(r), r.gpus)),
                float(facts[r.model].layers or 0),
            )
            for r, x in group
        ]
        per_gpu = _fit_class_per_gpu(steps) if overhead else None
        if per_gpu is not None:
            by[key], tau[key], tau_g[key] = per_gpu
            return
        got = _fit_class(steps) if overhead else None
        if got is None:
            by[key] = statistics.median(x for _, x in group)
        else:
            by[key], tau[key] = got

    def fit_all(rows: list[tuple[SpeedRow, float]]) -> None:
        by.clear()
        tau.clear()
        tau_g.clear()
        for lim in LIMITS:
            fit(lim, [(r, x) for r, x in rows if row_limit(r) == lim])
            for moe in (False, True):
                cls = speed_class(lim, moe)
                fit(cls, [(r, x) for r, x in rows if row_class(r, facts) == cls])

    dev: dict[str, float] = {}
    fit_all(train)
    if overhead:  # decode: classes and device factors fitted in turn (`_fit_device_factors`)
        for _ in range(_DEVICE_ROUNDS):
            dev = _fit_device_factors(train, facts, Efficiency(by, 1.0, 1.0, 1.0, (), (), tau))
            fit_all([(r, x * _dev_of(dev, r)) for r, x in train])
    fallback = statistics.median(x for _, x in train)
    return Efficiency(by, fallback, 1.0, 1.0, (), (), dict(tau), dev, dict(tau_g))


_DEVICE_MIN_ROWS = 3
"""A GPU id gets its own bandwidth factor with at least this many GPU-limited train rows."""
_DEVICE_ROUNDS = 3
"""Rounds of (device factors, then classes refitted on the factored bounds)."""


def _dev_of(dev: Mapping[str, float], r: SpeedRow) -> float:
    """1 ÷ the device factor of a GPU-limited decode row (its bound ÷ factor = the factored
    ratio's divisor), 1 for other rows."""
    return 1.0 / dev.get(r.gpu, 1.0) if row_limit(r) == "gpu" and r.gpu is not None else 1.0


def _fit_device_factors(
    train: list[tuple[SpeedRow, float]], facts: Mapping[str, ModelFacts], eff: Efficiency
) -> dict[str, float]:
    """Per GPU id with ≥ `_DEVICE_MIN_ROWS` GPU-limited train rows: the median over its rows of
    the factor d that makes the class estimate meet the measurement,

        measured step = bound step ÷ (d × e) + τ   →   d = bound step ÷ (e × (measured step − τ))

    i.e. the fraction of the catalog bandwidth this device reaches relative to its class (an
    A100 SXM4 80GB in one study reaches about half of what its class's consumer GPUs reach;
    Apple's unified memory about 0.9). Physical: the catalog bandwidth is a spec, the sustained
    bandwidth of decode kernels differs by memory type and platform."""
    vals: dict[str, list[float]] = {}
    for r, x in train:
        if row_limit(r) != "gpu" or r.gpu is None:
            continue
        f = facts[r.model]
        moe = f.active_params < f.total_params
        e = efficiency_for(eff, "gpu", moe)[0]
        t = overhead_for(eff, "gpu", moe) * (f.layers or 0)
        tm = r.batch / r.tokens_per_s
        tb = tm * x
        if tm > t:
            vals.setdefault(r.gpu, []).append(tb / (e * (tm - t)))
    return {g: statistics.median(v) for g, v in vals.items() if len(v) >= _DEVICE_MIN_ROWS}


def _fit_ratios(
    ratios: list[tuple[SpeedRow, float]],
    facts: Mapping[str, ModelFacts],
    what: str,
    *,
    overhead: bool = False,
) -> Efficiency:
    """`_fit_on` the TRAIN rows (not `held_out`), with the held-out spread and both id lists
    (prefill: `overhead` False, a median ratio per class)."""
    train = [(r, x) for r, x in ratios if not held_out(r.id)]
    test = [(r, x) for r, x in ratios if held_out(r.id)]
    if not train or not test:
        raise VramkitError(f"{what} fit needs at least one train and one held-out row.")
    partial = _fit_on(train, facts, overhead=overhead)
    ests = [r.tokens_per_s / _row_estimate(partial, r, x, facts) for r, x in test]
    return Efficiency(
        by_class=partial.by_class,
        fallback=partial.fallback,
        spread_p10=_quantile(ests, 0.1),
        spread_p90=_quantile(ests, 0.9),
        train_ids=tuple(r.id for r, _ in train),
        held_out_ids=tuple(r.id for r, _ in test),
        overhead_s=partial.overhead_s,
        device_factor=partial.device_factor,
        overhead_per_gpu_s=partial.overhead_per_gpu_s,
    )


def source_cv_errors(
    rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts], kind: str = "decode"
) -> list[tuple[SpeedRow, float, float]]:
    """Leave one source out, a second check beside the held-out split: for each source URL,
    fit (as the committed fit does) on every row of the OTHER sources, train and held-out
    alike, and estimate that source's rows; (row, estimate, measured ÷ estimate) for every
    row. It measures the error on a machine and setup no fitted row shares, which the id-hash
    split does not (a source's rows fall on both sides of it). Never used to fit."""
    if kind not in KINDS:
        raise VramkitError(f"kind must be one of {list(KINDS)}, got {kind!r}.")
    rows = tuple(rows)
    ratios = decode_ratios(rows, facts) if kind == "decode" else prefill_ratios(rows, facts)
    out = []
    for url in sorted({r.source.url for r, _ in ratios}):
        train = [(r, x) for r, x in ratios if r.source.url != url]
        if not train:
            continue
        eff = _fit_on(train, facts, overhead=kind == "decode")
        for r, x in ratios:
            if r.source.url == url:
                est = _row_estimate(eff, r, x, facts)
                out.append((r, est, r.tokens_per_s / est))
    return out


def fit_prefill_efficiency(rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts]) -> Efficiency:
    """The prefill fit: as `fit_efficiency`, on prefill rows' measured ÷ min(compute, traffic)."""
    return _fit_ratios(prefill_ratios(rows, facts), facts, "prefill")


def prefill_held_out_errors(
    rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts], eff: Efficiency
) -> list[tuple[SpeedRow, float, float]]:
    """(row, estimate tokens/s, measured ÷ estimate) for every held-out prefill row."""
    return _held_out(prefill_ratios(rows, facts), facts, eff)


@dataclass(frozen=True)
class PrefillEstimate:
    """A prefill estimate beside its bounds: tokens/s for a `prompt_tokens` prompt, the
    efficiency used and the held-out spread. Always an estimate, never a measurement."""

    tokens_per_s: float
    bound: PrefillBound
    prompt_tokens: int
    limit: str
    moe: bool
    efficiency: float
    fitted: bool
    low_tokens_per_s: float
    high_tokens_per_s: float

    @property
    def label(self) -> str:
        """One line for a face: 'estimate X tok/s (held-out spread A–B)'."""
        return (
            f"estimate {self.tokens_per_s:,.0f} tok/s (held-out spread "
            f"{self.low_tokens_per_s:,.0f}–{self.high_tokens_per_s:,.0f})"
        )


def prefill_estimate(
    *,
    flops_per_token: float,
    compute_flops_per_s: float,
    traffic_tokens_per_s: float,
    prompt_tokens: int,
    limit: str,
    moe: bool,
    eff: Efficiency | None = None,
) -> PrefillEstimate:
    """The prefill estimate: min(compute, traffic bound) × the fitted prefill efficiency of
    class (`limit`, `moe`). compute_flops_per_s: the dense FLOP/s the prompt runs on."""
    if not isinstance(limit, str) or limit not in LIMITS:
        raise VramkitError(f"unknown speed limiter {limit!r}; allowed {list(LIMITS)}.")
    if not isinstance(moe, bool):
        raise VramkitError(f"moe must be True or False, got {moe!r}.")
    per_token = _finite("FLOPs per token", flops_per_token, positive=True)
    compute = _finite("compute FLOP/s", compute_flops_per_s, positive=True)
    traffic = traffic_tokens_per_s
    if isinstance(traffic, bool) or not isinstance(traffic, int | float) or traffic <= 0:
        raise VramkitError(f"prefill traffic bound must be > 0, got {traffic!r}.")
    if math.isnan(traffic):
        raise VramkitError("prefill traffic bound must be a number, got nan.")
    bound = PrefillBound(compute / per_token, float(traffic))
    eff = eff or _default_prefill_efficiency()
    e, fitted = efficiency_for(eff, limit, moe)
    est = bound.tokens_per_s * e
    return PrefillEstimate(
        tokens_per_s=est,
        bound=bound,
        prompt_tokens=int(prompt_tokens),
        limit=limit,
        moe=moe,
        efficiency=e,
        fitted=fitted,
        low_tokens_per_s=est * eff.spread_p10,
        high_tokens_per_s=est * eff.spread_p90,
    )


def load_prefill_efficiency(path: str | Path = "speed_efficiency.yaml") -> Efficiency:
    """The committed prefill fit (the `prefill:` section of data/speed_efficiency.yaml)."""
    doc = load_document(path, ("prefill",))
    sec = doc["prefill"]
    where = "speed_efficiency.yaml prefill"
    if not isinstance(sec, Mapping):
        raise VramkitError(f"{where}: must be a mapping.")
    for key in ("efficiency", "fallback", "spread", "train_ids", "held_out_ids"):
        if key not in sec:
            raise VramkitError(f"{where}: missing '{key}'.")
    by = {str(k): _num(where, sec["efficiency"], k) for k in sec["efficiency"]}
    return Efficiency(
        by_class=by,
        fallback=_num(where, sec, "fallback"),
        spread_p10=_num(where, sec["spread"], "p10"),
        spread_p90=_num(where, sec["spread"], "p90"),
        train_ids=tuple(sec["train_ids"]),
        held_out_ids=tuple(sec["held_out_ids"]),
    )


def _default_prefill_efficiency() -> Efficiency:
    if "prefill" not in _CACHE:
        _CACHE["prefill"] = load_prefill_efficiency()
    return _CACHE["prefill"]
