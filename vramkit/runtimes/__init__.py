"""The one registry of inference runtimes: one `Runtime` record per engine, loaded from
data/runtimes.yaml (one id per runtime; other spellings are aliases resolved here only).

A record carries the runtime's overheads per GPU (CUDA context, non-torch memory, NCCL, activation
workspace, fit margin — bytes, estimates with sources), its capacity rule (the memory fraction and
whether it applies to total or free memory), its KV layout (`KvProfile`: page rules by name, the
dtypes it offers, layout options with sources), its flag vocabulary and the name of its
`Capabilities` — what the rest of the kit asks of an engine instead of comparing its id (does it
load GGUF files, how a plan places and offloads, which margin and command line). `vramkit.kv`,
`vramkit.budget`, `vramkit.plan`, `vramkit.article.audit` and the faces all read runtimes through
`get_runtime`.

Each engine's own rules live beside this registry, one package or module per engine:
`llamacpp/` (its quantizer's mix rules, graph allocator, memory, KV cells, plan check),
`ik_llama`, `vllm/`, `sglang`, `reference`; `engines` pairs each record with its Python rules
(KV layout, compute buffer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from ..datafiles import load_document
from ..errors import VramkitError, unknown_name
from ..sources import Source, parse_source
from ..units import GB, MB, GiB, KiB, MiB

KV_LAYOUTS = ("reference", "vllm", "llama.cpp", "sglang", "ik_llama.cpp")
"""Page rules the engines implement (one module each, `vramkit.runtimes.engines`)."""
KV_TRAITS = {
    "v_cache_on_every_layer": "keeps a V cache on every non-MLA attention layer, also where the "
    "checkpoint reuses K as V",
    "indexer_k_only": "stores DeepSeek V3.2's indexer keys as a K-only cache of kv_size cells",
    "indexer_glm_dsa_only": "allocates lightning-indexer keys for GLM-DSA only (no DeepSeek V3.2 "
    "architecture): a V3.2 indexer cache is an estimate",
    "chunked_local_hybrid_manager": "pages chunked-local layers as such only with its hybrid KV "
    "cache manager",
    "chunked_local_hybrid_ratio": "keeps chunked-local layers in a separate pool only with a "
    "hybrid KV cache ratio",
    "batch_steady_state": "a batch's window pages are held once per engine step for the "
    "in-flight tokens, below its per-request admission arithmetic x batch",
}
"""KV behaviours a runtime's KV profile may declare (``kv.traits``), which families and the KV
accounting ask instead of the runtime's id."""
FRACTION_OF = ("total", "free")
PLACEMENTS = ("layers", "ranks")
OFFLOADS = ("tensors", "weights", "none")
MARGIN_RULES = ("fit_target", "memory_fraction")
FLAG_STYLES = ("llama-server", "ik-llama-server", "vllm-serve", "sglang-launch")
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
    traits: frozenset[str] = frozenset()

    def has(self, trait: str) -> bool:
        """Whether the layout declares `trait` (one of `KV_TRAITS`)."""
        if trait not in KV_TRAITS:
            raise unknown_name("KV trait", trait, KV_TRAITS)
        return trait in self.traits


@dataclass(frozen=True)
class Capabilities:
    """What the kit asks of a runtime instead of comparing its id (data/runtimes.yaml
    ``capabilities``; the header of that file says what each means).

    serves_gguf: loads llama.cpp GGUF files; placement: `PLACEMENTS` or None (no plan);
    offload: `OFFLOADS`; pipeline_parallel: plans may use pipeline stages; margin_rule:
    `MARGIN_RULES` or None; flag_style: `FLAG_STYLES` or None; plan_overheads_of: the runtime id
    whose overheads a plan charges (None: its own); compute_buffer_computed: its compute buffer
    is a function of model and settings (registered in `vramkit.runtimes.engines`);
    fraction_of_cuda_total: its memory fraction multiplies the device total CUDA reports
    (`vramkit.hardware.Gpu.total_for_fraction`), not the catalog's or nvidia-smi's figure.
    """

    serves_gguf: bool = False
    placement: str | None = None
    offload: str = "none"
    pipeline_parallel: bool = False
    margin_rule: str | None = None
    flag_style: str | None = None
    plan_overheads_of: str | None = None
    compute_buffer_computed: bool = False
    fraction_of_cuda_total: bool = False


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
    kv: its KV layout; flags: setting → `RuntimeFlag`; capabilities: `Capabilities` (when
    ``compute_buffer_computed`` is false, `workspace_bytes`, a fixed figure, stands for the compute
    buffer).
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
    capabilities: Capabilities = field(default_factory=Capabilities)
    aliases: tuple[str, ...] = ()
    short_name: str = ""
    """The engine's own spelling where the (kebab-case) id cannot be it: 'ik_llama.cpp'; else the
    id. The planner names runtimes by it (`planner_runtimes`); it resolves as an alias."""

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

    def flag(self, setting: str) -> str:
        """The runtime's own flag for `setting` (its record's ``flags``, each sourced)."""
        if setting not in self.flags:
            raise VramkitError(f"data/runtimes.yaml: {self.id} has no flag for {setting!r}.")
        return self.flags[setting].flag

    @property
    def plans(self) -> bool:
        """Whether `vramkit.plan` places models for this runtime."""
        return self.capabilities.placement is not None


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
    traits = frozenset(raw.get("traits") or ())
    for t in traits:
        if t not in KV_TRAITS:
            raise unknown_name(f"KV trait in {where}", t, KV_TRAITS)
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
        traits=traits,
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
        caps = _capabilities(rid, rec.get("capabilities"), figs_by_id)
        uses_nccl = bool(rec.get("uses_nccl", True))
        for role, why in _BORROWED.items():
            mine, theirs = figs.get(role), figs_by_id.get(_STAND_IN, {}).get(role)
            if role == "nccl" and not uses_nccl:
                continue
            if role == "workspace" and caps.compute_buffer_computed:
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
            capabilities=caps,
            short_name=str(rec.get("short_name") or rid),
            aliases=tuple(rec.get("aliases") or ()),
        )
    return MappingProxyType(out)


def _capabilities(rid: str, raw: Any, ids: Mapping[str, Any]) -> Capabilities:
    """The record's ``capabilities`` block, each value checked against what it may be."""
    where = f"runtimes.yaml {rid}.capabilities"
    if not isinstance(raw, Mapping):
        raise VramkitError(f"{where}: a mapping is required (see the file's header).")
    known = set(Capabilities.__dataclass_fields__)
    extra = sorted(set(raw) - known)
    if extra:
        raise unknown_name(f"capability in {where}", extra[0], known)
    for key in (
        "serves_gguf", "pipeline_parallel", "compute_buffer_computed", "fraction_of_cuda_total"
    ):  # fmt: skip
        if not isinstance(raw.get(key, False), bool):
            raise VramkitError(f"{where}.{key}: true or false, got {raw.get(key)!r}.")
    for key, allowed, optional in (
        ("placement", PLACEMENTS, True),
        ("offload", OFFLOADS, False),
        ("margin_rule", MARGIN_RULES, True),
        ("flag_style", FLAG_STYLES, True),
        ("plan_overheads_of", tuple(ids), True),
    ):
        value = raw.get(key)
        if not (value is None and optional) and value not in allowed:
            raise unknown_name(f"{key} in {where}", value, allowed)
    return Capabilities(**raw)


def planner_runtimes() -> tuple[str, ...]:
    """Names (`Runtime.short_name`) of the runtimes `vramkit.plan` places models for (capability
    ``placement``): those that load GGUF files first (the planner's default kind), then the rest,
    each in file order."""
    planners = [rt for rt in runtimes().values() if rt.plans]
    gguf_first = sorted(planners, key=lambda rt: not rt.capabilities.serves_gguf)
    return tuple(rt.short_name for rt in gguf_first)


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
        out[rt.short_name.lower()] = rt.id
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
