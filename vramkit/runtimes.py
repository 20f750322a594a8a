"""One `Runtime` record per inference runtime, loaded from data/runtimes.yaml (one file, one id per
runtime: vllm, llama.cpp, sglang, trtllm, reference; other spellings are aliases resolved here).

A record carries the runtime's overheads per GPU (CUDA context, non-torch memory, NCCL, activation
workspace, fit margin — bytes, estimates with sources), its capacity rule (the memory fraction and
whether it applies to total or free memory), its KV layout (`KvProfile`: page rules by name, the
dtypes it offers, layout options with sources), its flag vocabulary and the name of its
compute-buffer function. `vramkit.kv`, `vramkit.budget`, `vramkit.article.audit` and the dashboard all
read runtimes through `get_runtime`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from .datafiles import load_document
from .errors import VramkitError, unknown_name
from .sources import Source, parse_source
from .units import GB, MB, GiB, KiB, MiB

KV_LAYOUTS = ("reference", "vllm", "llama.cpp", "sglang", "ik_llama.cpp")
"""Page rules `vramkit.kv` implements (one module each)."""
FRACTION_OF = ("total", "free")
_MEMORY_UNITS = {"GB": GB, "GiB": GiB, "MiB": MiB, "MB": MB, "KiB": KiB, "bytes": 1}
_STAND_IN = "vllm"
"""The runtime whose measured figures stand in where another runtime has none (see `_BORROWED`)."""
_BORROWED = {
    "cuda_context": "any CUDA process pays a context per GPU; vLLM's measured figure used",
    "nccl": "not measured for this runtime; vLLM's per-GPU NCCL figure used as a stand-in",
    "workspace": "not measured for this runtime; vLLM's DeepSeek-V3 activation peak used",
}
_FIGURE_KEYS = {
    "memory_fraction_default": "memory_fraction",
    "cuda_context": "cuda_context",
    "non_torch_tp1": "non_torch",
    "nccl_per_gpu_when_split": "nccl",
    "nccl_when_split": "nccl",
    "activation_workspace": "workspace",
    "compute_buffer": "workspace",
    "fit_margin": "margin",
}
"""runtimes.yaml key → the role it plays in the budget."""


@dataclass(frozen=True)
class RuntimeFigure:
    """One runtime overhead figure in bytes (or a fraction), whether it is an estimate, and why."""

    value: float | None
    unit: str | None
    bytes: int | None
    estimate: bool
    source: Source | None
    note: str = ""


@dataclass(frozen=True)
class KvProfile:
    """A runtime's KV layout: `layout` names the page rules (`KV_LAYOUTS`); `options` (name → int,
    each sourced in `option_notes`) parameterise them; which cache / indexer dtypes it offers and
    what "fp8" means per family key (`fp8_means`)."""

    id: str
    layout: str
    name: str
    description: str
    cache_dtypes: tuple[str, ...]
    fp8_means: Mapping[str, str]
    indexer_dtypes: tuple[str, ...]
    indexer_default: str
    include_mtp_default: bool
    options: Mapping[str, int]
    option_notes: Mapping[str, str]
    sources: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class RuntimeFlag:
    """The runtime's own name for a setting (e.g. vLLM ``--kv-cache-dtype``), with its source."""

    setting: str
    flag: str
    source: Source


@dataclass(frozen=True)
class Runtime:
    """One inference runtime, per GPU.

    memory_fraction: share of memory the runtime may use (None: no reservation knob / chosen at
    start-up); fraction_of: 'total' (vLLM, SGLang) or 'free' (TensorRT-LLM: of the memory left
    after weights). Byte figures are 0 when the runtime file gives none (see `figures`).
    kv: its KV layout; flags: setting → `RuntimeFlag`; compute_buffer_function: "module:function"
    or None (then `workspace_bytes`, a fixed figure, stands for the compute buffer).
    """

    id: str
    name: str
    budget_formula: str
    memory_fraction: float | None
    fraction_of: str
    cuda_context_bytes: int
    non_torch_bytes: int
    nccl_bytes_per_gpu: int
    workspace_bytes: int
    margin_bytes: int
    kv: KvProfile
    uses_nccl: bool = True
    figures: Mapping[str, RuntimeFigure] = field(default_factory=dict)
    flags: Mapping[str, RuntimeFlag] = field(default_factory=dict)
    compute_buffer_function: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def kv_layout(self) -> str:
        """The page rules of its KV cache (`KV_LAYOUTS`)."""
        return self.kv.layout

    def overhead_bytes(self, *, split: bool) -> int:
        """Fixed bytes per GPU besides weights, KV and workspace: CUDA context + fit margin +
        (NCCL buffers when the model is split over GPUs by tp/ep, else non-torch memory).
        `vramkit.budget` and `vramkit.article.audit` both charge this."""
        extra = self.nccl_bytes_per_gpu if split else self.non_torch_bytes
        return self.cuda_context_bytes + self.margin_bytes + extra

    def compute_buffer(self) -> Callable[..., int] | None:
        """The compute-buffer function named by `compute_buffer_function`, or None."""
        if not self.compute_buffer_function:
            return None
        module, _, name = self.compute_buffer_function.partition(":")
        return getattr(importlib.import_module(module), name)


def _load_doc() -> Mapping[str, Any]:
    return load_document("runtimes.yaml", ("runtimes",))


def _figure(where: str, raw: Any) -> RuntimeFigure | None:
    if not isinstance(raw, Mapping) or "value" not in raw:
        return None
    value, unit = raw.get("value"), raw.get("unit")
    n_bytes = None
    if value is not None and unit in _MEMORY_UNITS:
        n_bytes = round(float(value) * _MEMORY_UNITS[unit])
    return RuntimeFigure(
        value=None if value is None or isinstance(value, bool) else float(value),
        unit=unit,
        bytes=n_bytes,
        estimate=bool(raw.get("estimate", True)),
        source=parse_source(where, raw["source"]) if "source" in raw else None,
        note=" ".join(str(raw.get("note") or "").split()),
    )


def _kv_profile(rid: str, raw: Mapping[str, Any]) -> KvProfile:
    where = f"runtimes.yaml {rid}.kv"
    layout = raw.get("layout")
    if layout not in KV_LAYOUTS:
        raise unknown_name(f"KV layout in {where}", layout, KV_LAYOUTS)
    opts = raw.get("options") or {}
    for name, o in opts.items():
        parse_source(f"{where}.options.{name}", o.get("source"))
        if not isinstance(o.get("value"), int) or "estimate" not in o:
            raise VramkitError(f"runtime {rid} option {name}: needs int value, estimate.")
    return KvProfile(
        id=rid,
        layout=layout,
        name=str(raw["name"]),
        description=" ".join(str(raw["description"]).split()),
        cache_dtypes=tuple(raw["cache_dtypes"]),
        fp8_means=MappingProxyType(dict(raw["fp8_means"])),
        indexer_dtypes=tuple(raw["indexer_dtypes"]),
        indexer_default=str(raw["indexer_default"]),
        include_mtp_default=bool(raw["include_mtp_default"]),
        options=MappingProxyType({k: int(v["value"]) for k, v in opts.items()}),
        option_notes=MappingProxyType(
            {
                k: ("estimate: " if v["estimate"] else "")
                + str(parse_source(f"{where}.options.{k}", v["source"]))
                for k, v in opts.items()
            }
        ),
        sources=tuple(str(parse_source(f"{where}.sources", s)) for s in raw["sources"]),
    )


@cache
def runtimes() -> Mapping[str, Runtime]:
    """Every runtime keyed by its one id (aliases resolve in `get_runtime`).

    A runtime with no CUDA-context, NCCL or workspace figure borrows vLLM's measured one (the
    runtimes file advises it for the reference code); the borrowed figure's `note` says so. A
    runtime whose KV block says ``same_as: ID`` uses that runtime's KV layout (its `note` says
    what that approximates)."""
    raw = list(_load_doc()["runtimes"])
    figs_by_id: dict[str, dict[str, RuntimeFigure]] = {}
    for rec in raw:
        figs: dict[str, RuntimeFigure] = {}
        for key, role in _FIGURE_KEYS.items():
            f = _figure(f"runtimes.yaml {rec['id']}.{key}", rec.get(key))
            if f is not None:
                figs[role] = f
        figs_by_id[rec["id"]] = figs
    own_kv = {
        rec["id"]: _kv_profile(rec["id"], rec["kv"]) for rec in raw if "same_as" not in rec["kv"]
    }
    out: dict[str, Runtime] = {}
    for rec in raw:
        rid = rec["id"]
        figs = figs_by_id[rid]
        uses_nccl = bool(rec.get("uses_nccl", True))
        for role, why in _BORROWED.items():
            mine, theirs = figs.get(role), figs_by_id.get(_STAND_IN, {}).get(role)
            if role == "nccl" and not uses_nccl:
                continue
            if role == "workspace" and rec.get("compute_buffer_function"):
                continue  # computed per model and settings, no constant borrowed
            if (mine is None or mine.bytes is None) and theirs is not None:
                figs[role] = RuntimeFigure(
                    theirs.value, theirs.unit, theirs.bytes, True, theirs.source, why
                )
        kv_raw = rec["kv"]
        if "same_as" in kv_raw:
            base = own_kv.get(kv_raw["same_as"])
            if base is None:
                raise unknown_name(f"runtimes.yaml {rid}.kv.same_as", kv_raw["same_as"], own_kv)
            note = " ".join(str(kv_raw.get("note") or "").split())
            kv = KvProfile(**{**base.__dict__, "note": note})
        else:
            kv = own_kv[rid]
        fraction_of = rec.get("fraction_of")
        if fraction_of not in FRACTION_OF:
            raise unknown_name(f"runtimes.yaml {rid}.fraction_of", fraction_of, FRACTION_OF)
        flags = {
            setting: RuntimeFlag(
                setting, str(f["flag"]), parse_source(f"runtimes.yaml {rid}.flags", f["source"])
            )
            for setting, f in (rec.get("flags") or {}).items()
        }
        frac = figs.get("memory_fraction")
        out[rid] = Runtime(
            id=rid,
            name=str(rec["name"]),
            budget_formula=" ".join(str(rec.get("budget_formula") or "").split()),
            memory_fraction=frac.value if frac else None,
            fraction_of=fraction_of,
            cuda_context_bytes=_bytes(figs, "cuda_context"),
            non_torch_bytes=_bytes(figs, "non_torch"),
            nccl_bytes_per_gpu=_bytes(figs, "nccl"),
            workspace_bytes=_bytes(figs, "workspace"),
            margin_bytes=_bytes(figs, "margin"),
            kv=kv,
            uses_nccl=uses_nccl,
            figures=MappingProxyType(figs),
            flags=MappingProxyType(flags),
            compute_buffer_function=rec.get("compute_buffer_function") or None,
            aliases=tuple(rec.get("aliases") or ()),
        )
    return MappingProxyType(out)


def _bytes(figs: Mapping[str, RuntimeFigure], role: str) -> int:
    f = figs.get(role)
    return f.bytes if f is not None and f.bytes is not None else 0


def runtime_ids() -> list[str]:
    """Every runtime id (one spelling each)."""
    return list(runtimes())


def runtime_aliases() -> dict[str, str]:
    """Every accepted spelling (ids and aliases, lower case) → the runtime id."""
    return dict(_aliases())


@cache
def _aliases() -> Mapping[str, str]:
    """`runtime_aliases`, built once (the runtimes file is read once too)."""
    out: dict[str, str] = {}
    for rt in runtimes().values():
        out[rt.id] = rt.id
        out.update((a, rt.id) for a in rt.aliases)
    return MappingProxyType(out)


def get_runtime(runtime: str | Runtime) -> Runtime:
    """A runtime by id or documented alias ('llama.cpp' or 'llama-cpp', 'vllm', …), or itself."""
    if isinstance(runtime, Runtime):
        return runtime
    names = _aliases()
    key = str(runtime).strip().lower()
    if key in names:
        return runtimes()[names[key]]
    raise unknown_name("runtime", runtime, names)
