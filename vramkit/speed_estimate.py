"""Decode-speed estimates beside the bounds: bound × an efficiency fitted on published runs.

The dataset is data/measured_speed.yaml (one published figure per row, each with its quote); the
fitted efficiencies live in data/speed_efficiency.yaml, written by benchmarks/fit_speed.py.

    bound (tokens/s)  = bandwidth ÷ weight bytes one token reads
                        weight bytes = file bytes × active ÷ total parameters
                        bandwidth    = one GPU's (layer split: GPUs run one after another),
                                       tp × one GPU's (tensor parallel), or host RAM (CPU only)
    class             = the limiter and dense | moe, e.g. "gpu-moe"
    efficiency[class] = median over TRAIN rows of that class of measured ÷ bound (else of the
                        limiter's rows, else of all train rows)
    estimate          = bound × efficiency[class]

A MoE's efficiency is lower than a dense model's on the same device: the expert dispatch costs
time, and the row bound spreads the file's bytes evenly over parameters while a MoE file keeps
its always-read tensors (attention, shared experts) at more bits than its experts, so the row
bound is high for MoE files. The plan's own bound counts those bytes exactly, so for a MoE the
estimate beside a plan's bound may be low; the held-out error is measured on row bounds.

A row is held out (never fitted) when `held_out(row.id)`: a hash of its id, fixed before any fit.
The spread shown with an estimate is the 10th–90th percentile of measured ÷ estimate on those
held-out rows. Prefill has no estimate yet (no sourced device TFLOPS in data/).
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .datafiles import load_document
from .errors import VramkitError
from .hardware import get_gpu
from .sources import Source, parse_source

KINDS = ("decode", "prefill")
PLACEMENTS = ("gpu", "tp", "host-experts", "host-layers", "cpu")
LIMITS = ("gpu", "tp", "host", "cpu")
"""What limits a decode step: GPU memory (llama.cpp-style, layers one after another), tensor
parallel GPUs (vLLM / SGLang: single-request decode is latency-bound, far below the bound),
host RAM (experts or layers on the host, GPU + host), the CPU alone."""

SHAPES = ("dense", "moe")
"""Whether the model routes each token to a few experts (active < total parameters)."""

_PLACEMENT_LIMIT = {
    "gpu": "gpu",
    "tp": "tp",
    "host-experts": "host",
    "host-layers": "host",
    "cpu": "cpu",
}
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


@dataclass(frozen=True)
class ModelFacts:
    """Total and active parameters of a dataset model (counts), with their source."""

    total_params: float
    active_params: float
    source: Source


@dataclass(frozen=True)
class Efficiency:
    """Fitted efficiencies per limiter and their held-out spread (measured ÷ estimate)."""

    by_class: Mapping[str, float]
    fallback: float
    spread_p10: float
    spread_p90: float
    train_ids: tuple[str, ...]
    held_out_ids: tuple[str, ...]


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
    host = raw.get("host_gb_s")
    if placement == "cpu" and host is None and raw.get("estimable", True):
        raise VramkitError(f"{where}: a CPU row needs host_gb_s (or estimable: false and why).")
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
        host_bytes_per_s=None if host is None else _num(where, raw, "host_gb_s") * 1e9,
        flags=str(raw.get("flags", "")),
        batch=int(_num(where, raw, "batch")),
        prompt_tokens=None if raw.get("prompt_tokens") is None else int(raw["prompt_tokens"]),
        tokens_per_s=_num(where, raw, "tokens_per_s"),
        source=parse_source(f"{where}.source", raw.get("source")),
        estimable=bool(raw.get("estimable", True)),
        why=str(raw.get("why", "")),
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
        facts[str(mid)] = ModelFacts(
            total, active, parse_source(f"{where}.source", m.get("source"))
        )
    rows = tuple(
        _row(f"measured_speed.yaml rows[{i}]", r, facts) for i, r in enumerate(doc["rows"])
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
    if row.placement == "tp":
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
    ratios = decode_ratios(rows, facts)
    train = [(r, x) for r, x in ratios if not held_out(r.id)]
    test = [(r, x) for r, x in ratios if held_out(r.id)]
    if not train or not test:
        raise VramkitError("speed fit needs at least one train and one held-out decode row.")
    by: dict[str, float] = {}
    for lim in LIMITS:
        xs = [x for r, x in train if row_limit(r) == lim]
        if xs:
            by[lim] = statistics.median(xs)
        for moe in (False, True):
            xs = [x for r, x in train if row_class(r, facts) == speed_class(lim, moe)]
            if xs:
                by[speed_class(lim, moe)] = statistics.median(xs)
    fallback = statistics.median(x for _, x in train)
    partial = Efficiency(by, fallback, 1.0, 1.0, (), ())
    ests = [x / _row_eff(partial, r, facts) for r, x in test]
    return Efficiency(
        by_class=by,
        fallback=fallback,
        spread_p10=_quantile(ests, 0.1),
        spread_p90=_quantile(ests, 0.9),
        train_ids=tuple(r.id for r, _ in train),
        held_out_ids=tuple(r.id for r, _ in test),
    )


def held_out_errors(
    rows: Iterable[SpeedRow], facts: Mapping[str, ModelFacts], eff: Efficiency
) -> list[tuple[SpeedRow, float, float]]:
    """(row, estimate tokens/s, measured ÷ estimate) for every held-out decode row."""
    out = []
    for r, x in decode_ratios(rows, facts):
        if held_out(r.id):
            est = r.tokens_per_s / x * _row_eff(eff, r, facts)
            out.append((r, est, r.tokens_per_s / est))
    return out


def _row_eff(eff: Efficiency, row: SpeedRow, facts: Mapping[str, ModelFacts]) -> float:
    f = facts[row.model]
    return efficiency_for(eff, row_limit(row), f.active_params < f.total_params)[0]


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
    return Efficiency(
        by_class=by,
        fallback=_num(where, doc, "fallback"),
        spread_p10=_num(where, doc["spread"], "p10"),
        spread_p90=_num(where, doc["spread"], "p90"),
        train_ids=tuple(doc["train_ids"]),
        held_out_ids=tuple(doc["held_out_ids"]),
    )


def plan_limit(runtime: str, limited_by: str, gpus: int) -> str:
    """The limiter class of a plan's speed bound (`vramkit.plan.speed.SpeedBound.limited_by`)."""
    if runtime in ("vllm", "sglang"):
        return "tp" if gpus > 1 else "gpu"
    if limited_by.startswith("host RAM") or limited_by.startswith("NVMe"):
        return "host" if gpus else "cpu"
    return "gpu" if gpus else "cpu"


def decode_estimate(
    bound_tokens_per_s: float, limit: str, *, moe: bool, eff: Efficiency | None = None
) -> DecodeEstimate:
    """The decode estimate beside a bound of limiter `limit` (one of `LIMITS`) for a dense or a
    MoE model (`moe`)."""
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
    eff = eff or _default_efficiency()
    e, fitted = efficiency_for(eff, limit, moe)
    est = bound_tokens_per_s * e
    return DecodeEstimate(
        tokens_per_s=est,
        bound_tokens_per_s=bound_tokens_per_s,
        limit=limit,
        moe=moe,
        efficiency=e,
        fitted=fitted,
        low_tokens_per_s=est * eff.spread_p10,
        high_tokens_per_s=est * eff.spread_p90,
    )


_CACHE: dict[str, Efficiency] = {}


def _default_efficiency() -> Efficiency:
    if "default" not in _CACHE:
        _CACHE["default"] = load_efficiency()
    return _CACHE["default"]
