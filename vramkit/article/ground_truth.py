"""vramkit's estimates against every published figure in data/ground_truth.yaml.

For each figure: the published value, vramkit's estimate for the same conditions, and

    error % = 100 × (estimate − published) / published

`load_ground_truth` reads and validates the file (sources through `vramkit.sources`);
`evaluate` pairs each figure with its estimate; `mean_abs_error` sums up per category. A figure's
`model` is a catalog id or ``examples/<dir>`` (the config.json under data/examples/).
benchmarks/accuracy.py prints and plots them; tests/accounting/test_ground_truth_accuracy.py pins a few.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..datafiles import DATA_DIR, load_document
from ..errors import VramkitError
from ..sources import Source, parse_source

GROUND_TRUTH = DATA_DIR / "ground_truth.yaml"
CATEGORIES = ("weights", "params", "kv", "runtime")
STATUSES = ("primary", "secondary", "derived")
ESTIMATE_KINDS = ("weights", "params", "kv", "runtime", "engine")
UNITS: dict[str, float] = {
    "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
    "params": 1, "B-params": 1e9, "B/token": 1, "tokens": 1,
}  # fmt: skip
"""Unit → multiplier to the base unit (bytes, parameters, or bytes per token)."""
_REQUIRED = {
    "id",
    "category",
    "model",
    "value",
    "unit",
    "status",
    "conditions",
    "estimate",
    "source",
}
_OPTIONAL = {"precision", "confidence"}


@dataclass(frozen=True)
class Figure:
    """One published figure: value in `unit`, the conditions, and how vramkit estimates it."""

    id: str
    category: str
    model: str
    value: float
    unit: str
    status: str
    conditions: str
    estimate: Mapping[str, Any]
    source: Source
    precision: float = 0.0
    confidence: str = "normal"

    @property
    def base_value(self) -> float:
        """The published value in base units (bytes, parameters or bytes/token)."""
        return self.value * UNITS[self.unit]


@dataclass(frozen=True)
class Row:
    """A figure next to vramkit's estimate (both in the figure's unit); error in percent."""

    figure: Figure
    estimate: float | None
    method: str

    @property
    def error_pct(self) -> float | None:
        """100 × (estimate − published) / published, None when not estimated."""
        if self.estimate is None:
            return None
        return 100.0 * (self.estimate - self.figure.value) / self.figure.value

    @property
    def within_precision(self) -> bool:
        """True when the estimate lies inside published value ± its rounding."""
        if self.estimate is None:
            return False
        return abs(self.estimate - self.figure.value) <= self.figure.precision + 1e-12


def load_ground_truth(path: str | Path = GROUND_TRUTH) -> list[Figure]:
    """Read and validate the ground-truth file; any defect is a VramkitError naming the figure."""
    from ..catalog import models

    doc = load_document(path, ("figures",))
    out: list[Figure] = []
    seen: set[str] = set()
    catalog = models()
    for raw in doc.get("figures") or []:
        where = f"ground truth {raw.get('id')!r}" if isinstance(raw, dict) else "ground truth"
        if not isinstance(raw, dict):
            raise VramkitError(f"{where}: each figure must be a mapping.")
        missing, unknown = _REQUIRED - set(raw), set(raw) - _REQUIRED - _OPTIONAL
        if missing or unknown:
            raise VramkitError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}.")
        if raw["id"] in seen:
            raise VramkitError(f"{where}: duplicate id.")
        seen.add(raw["id"])
        _check_choice(where, "category", raw["category"], CATEGORIES)
        _check_choice(where, "status", raw["status"], STATUSES)
        _check_choice(where, "unit", raw["unit"], tuple(UNITS))
        if raw["model"] not in catalog and not _example_config(raw["model"]).is_file():
            raise VramkitError(
                f"{where}: model {raw['model']!r} is neither in the catalog nor an "
                "examples/<dir> with a config.json under data/."
            )
        value = raw["value"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise VramkitError(f"{where}: value must be a positive number, got {value!r}.")
        _check_choice(where, "confidence", raw.get("confidence", "normal"), ("normal", "low"))
        precision = raw.get("precision", 0)
        if not isinstance(precision, int | float) or precision < 0:
            raise VramkitError(f"{where}: precision must be a number >= 0.")
        src = parse_source(where, raw["source"])
        est = raw["estimate"]
        if not isinstance(est, dict):
            raise VramkitError(f"{where}: estimate must be a mapping.")
        _check_choice(where, "estimate.kind", est.get("kind"), ESTIMATE_KINDS)
        if not str(raw["conditions"]).strip():
            raise VramkitError(f"{where}: conditions must say what the figure was measured under.")
        out.append(
            Figure(
                id=raw["id"],
                category=raw["category"],
                model=raw["model"],
                value=float(value),
                unit=raw["unit"],
                status=raw["status"],
                conditions=str(raw["conditions"]).strip(),
                estimate=dict(est),
                source=src,
                precision=float(precision),
                confidence=raw.get("confidence", "normal"),
            )
        )
    if not out:
        raise VramkitError(f"{path}: no figures.")
    return out


def _example_config(model: str) -> Path:
    return DATA_DIR / model / "config.json" if model.startswith("examples/") else Path()


def _model(fig: Figure) -> Any:
    """The catalog model, or the example config.json a figure names (``examples/<dir>``)."""
    from ..catalog import get_model
    from ..model.configfile import model_from_config_file

    if fig.model.startswith("examples/"):
        return model_from_config_file(_example_config(fig.model))
    return get_model(fig.model)


def _check_choice(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise VramkitError(f"{where}: {key} {value!r} is not one of {', '.join(allowed)}.")


# --------------------------------------------------------------------------- estimators


def _weights(fig: Figure) -> tuple[float, str]:
    from ..quant import get_recipe, weight_bytes

    est = fig.estimate
    recipe = get_recipe(str(est["recipe"]))
    if est.get("vectors"):
        from ..quant.formats import get_format

        recipe = dataclasses.replace(recipe, vectors=get_format(str(est["vectors"])).name)
    w = weight_bytes(_model(fig), recipe)
    scope = est.get("scope", "total")
    value = {
        "total": w.total_bytes,
        "main": w.main_bytes,
        "mtp": w.total_bytes - w.main_bytes,
        "text": w.total_bytes - w.by_group.get("vision", 0),  # GGUF: the vision tower is mmproj
    }[scope]
    return value / UNITS[fig.unit], f"weight_bytes(recipe {recipe.id}).{scope}"


def _params(fig: Figure) -> tuple[float, str]:

    scope = fig.estimate.get("scope", "main")
    counts = _model(fig).params
    return getattr(counts, scope) / UNITS[fig.unit], f"params.{scope}"


_ENGINE_LAYOUT = {"ds4": "reference"}
"""Engines named in a figure that are not runtimes of data/runtimes.yaml → the runtime whose KV
layout vramkit models for them (antirez's ds4: the reference layout). Runtime spellings
(llamacpp, llama-cpp …) are resolved by `vramkit.runtimes.get_runtime`."""


def _kv_estimate(model: Any, context: int, est: Mapping[str, Any]) -> int:
    """Bytes of vramkit.kv.kv_cache for the figure's conditions (state dropped if state: false)."""
    try:
        from ..kv import kv_cache
    except ImportError:
        raise LookupError("vramkit.kv is not available yet") from None
    engine = est.get("runtime") or est.get("engine") or "reference"
    kv = kv_cache(
        model,
        context,
        batch=int(est.get("batch", 1)),
        cache_dtype=str(est.get("dtype", "bf16")),
        indexer_dtype=est.get("indexer_dtype"),
        runtime=_ENGINE_LAYOUT.get(str(engine), str(engine)),
    )
    if est.get("state", True) is False:
        return kv.total_bytes - kv.by_kind.get("state", 0)
    return kv.total_bytes


def _kv(fig: Figure) -> tuple[float, str]:

    est = fig.estimate
    model = _model(fig)
    ctx = int(est["context"])
    per = est.get("per")
    if per == "token":
        value = _kv_estimate(model, ctx, est) / ctx
    elif per == "1k":
        value = _kv_estimate(model, ctx + 1000, est) - _kv_estimate(model, ctx, est)
    else:
        value = _kv_estimate(model, ctx, est)
    engine = est.get("runtime") or est.get("engine") or "reference"
    layout = _ENGINE_LAYOUT.get(str(engine), str(engine))
    return value / UNITS[fig.unit], f"kv_cache({layout}, {est.get('dtype', 'bf16')})" + (
        f" per {per}" if per else ""
    )


def _runtime(fig: Figure) -> tuple[float, str]:
    """With `gpu`: the KV room vramkit.budget leaves per GPU; else the bare KV formula of the
    engine's layout (what the engine reserved beyond it is the gap the row shows)."""
    est = fig.estimate
    if "gpu" not in est:
        value, method = _kv(fig)
        return value, method + " (KV formula only)"
    try:
        from ..budget import budget
    except ImportError:
        raise LookupError("vramkit.budget is not available yet") from None
    b = budget(
        fig.model,
        str(est["gpu"]),
        count=int(est.get("count", 1)),
        context=int(est["context"]),
        batch=int(est.get("batch", 1)),
        parallel=str(est.get("parallel", "tp")),
        runtime=str(est.get("engine", "vllm")),
        cache_dtype=est.get("dtype"),
        memory_fraction=est.get("memory_fraction"),
    )
    room = b.usable_bytes - b.weights_bytes - b.workspace_bytes - b.overhead_bytes - b.reserve_bytes
    return room / UNITS[fig.unit], "budget(): usable − weights − workspace − overhead per GPU"


def _engine(fig: Figure) -> tuple[float, str]:
    """An engine's own number from its pool / load code (vramkit.kv.capacity, engine_load):
    measure ``reported_tokens`` (vLLM "GPU KV cache size", from available_gib), ``k_bytes``
    (SGLang "K size", from tokens and tp) or ``loaded_weights`` (vLLM MXFP4 backend)."""
    from ..kv.capacity import sglang_pool, vllm_pool
    from ..runtimes.vllm.load import vllm_gpt_oss_loaded_bytes

    est, model = fig.estimate, _model(fig)
    measure = est.get("measure")
    if measure == "reported_tokens":
        pool = vllm_pool(
            model,
            int(float(est["available_gib"]) * 2**30),
            max_model_len=int(est["max_model_len"]),
            tp=int(est.get("tp", 1)),
        )
        return pool.reported_tokens / UNITS[fig.unit], "kv_capacity.vllm_pool().reported_tokens"
    if measure == "k_bytes":
        sg = sglang_pool(model, tokens=int(est["tokens"]), tp=int(est.get("tp", 1)))
        return sg.k_bytes / UNITS[fig.unit], "kv_capacity.sglang_pool().k_bytes"
    if measure == "loaded_weights":
        backend = str(est.get("backend", "marlin"))
        b = vllm_gpt_oss_loaded_bytes(model, backend)
        return b / UNITS[fig.unit], f"engine_load.vllm_gpt_oss_loaded_bytes({backend})"
    raise VramkitError(f"{fig.id}: unknown engine measure {measure!r}.")


_ESTIMATORS = {
    "weights": _weights,
    "params": _params,
    "kv": _kv,
    "runtime": _runtime,
    "engine": _engine,
}


def evaluate(figures: list[Figure] | None = None) -> list[Row]:
    """Every figure with vramkit's estimate (None + reason where vramkit has no estimator yet)."""
    rows = []
    for fig in figures if figures is not None else load_ground_truth():
        try:
            value, method = _ESTIMATORS[fig.estimate["kind"]](fig)
        except (LookupError, VramkitError) as err:
            rows.append(Row(fig, None, f"not estimated: {err}"))
            continue
        rows.append(Row(fig, float(value), method))
    return rows


def mean_abs_error(rows: list[Row], *, include_low: bool = True) -> dict[str, float]:
    """Mean |error %| per category over the estimated rows (NaN-free: empty categories left out);
    `include_low` False leaves out figures whose conditions are uncertain (confidence: low)."""
    out: dict[str, float] = {}
    for cat in CATEGORIES:
        errs = [
            abs(r.error_pct)
            for r in rows
            if r.figure.category == cat
            and r.estimate is not None
            and (include_low or r.figure.confidence != "low")
        ]
        if errs:
            out[cat] = sum(errs) / len(errs)
    return out


# --------------------------------------------------------------------------- output


def to_records(rows: list[Row]) -> list[dict[str, Any]]:
    """Plain dict rows for CSV and printing."""
    return [
        {
            "id": r.figure.id,
            "category": r.figure.category,
            "model": r.figure.model,
            "unit": r.figure.unit,
            "published": r.figure.value,
            "estimate": "" if r.estimate is None else round(r.estimate, 6),
            "error_pct": "" if r.error_pct is None else round(r.error_pct, 4),
            "within_rounding": r.within_precision,
            "status": r.figure.status,
            "confidence": r.figure.confidence,
            "method": r.method,
        }
        for r in rows
    ]
