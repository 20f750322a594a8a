"""Typed loader for data/gpus.yaml, data/links.yaml and data/runtimes.yaml.

Memory is converted to bytes by the unit the source wrote: ``GB`` = 1e9, ``GiB`` = 2**30 (a GPU
sold as "80GB" is counted as 80e9 bytes, the conservative reading). Bandwidths become bytes per
second (``GB/s`` 1e9, ``TB/s`` 1e12, ``MB/s`` 1e6, ``Gb/s`` 1e9/8 — bits for network links).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from .datafiles import load_yaml_text
from .errors import VramkitError, unknown_name
from .formats import DATA_DIR
from .units import GB, MB, TB, GiB, KiB, MiB

_MEMORY_UNITS = {"GB": GB, "GiB": GiB, "MiB": MiB, "MB": MB, "KiB": KiB, "bytes": 1}
_RATE_UNITS = {"GB/s": GB, "TB/s": TB, "MB/s": MB, "Gb/s": GB / 8}
_ONE_WAY = {
    "per-direction": 1.0,
    "bidirectional": 0.5,
    "line-rate": 1.0,
    "shared": 1.0,
    "read": 1.0,
}
"""Share of the quoted figure available to one direction of transfer (host → device)."""


@dataclass(frozen=True)
class HwSource:
    """Where a hardware figure comes from: url, the exact quote, its kind, confirmed or not."""

    url: str
    quote: str
    kind: str
    unconfirmed: bool


@dataclass(frozen=True)
class Gpu:
    """One accelerator (per GPU; unified-memory machines count the whole pool).

    memory_bytes: the vendor figure times its unit (GB = 1e9, GiB = 2**30).
    bandwidth_bytes_per_s: device-memory peak bandwidth, or None when unsourced.
    visible_memory_bytes: what the driver exposes, when a measurement was recorded.
    """

    id: str
    name: str
    vendor: str
    memory: float
    memory_unit: str
    memory_bytes: int
    memory_kind: str
    unified: bool
    bandwidth_bytes_per_s: float | None
    host_link: str | None
    peer_link: str | None
    source: HwSource
    visible_memory_bytes: int | None = None
    notes: str = ""

    @property
    def memory_text(self) -> str:
        """The capacity as the vendor wrote it, e.g. '80 GB' or '256 GiB'."""
        return f"{self.memory:g} {self.memory_unit}"

    @property
    def capacity_bytes(self) -> int:
        """Bytes a runtime can see on the device: the driver-reported total where a measurement
        is recorded (H100: 81559 MiB = 85.5e9 B, not the 80e9 B that "80 GB" read as decimal
        would give), else the vendor figure in the vendor's unit (a lower bound for HBM parts,
        whose "GB" are binary in practice)."""
        return self.visible_memory_bytes or self.memory_bytes


@dataclass(frozen=True)
class Link:
    """A link or memory tier: quoted bandwidth in bytes/s and what one direction gets.

    one_way_bytes_per_s = bandwidth × (1/2 if the figure counts both directions, else 1).
    """

    id: str
    name: str
    kind: str
    bandwidth: float
    bandwidth_unit: str
    direction: str
    bandwidth_bytes_per_s: float
    one_way_bytes_per_s: float
    source: HwSource


@dataclass(frozen=True)
class RuntimeFigure:
    """One runtime overhead figure in bytes (or a fraction), whether it is an estimate, and why."""

    value: float | None
    unit: str | None
    bytes: int | None
    estimate: bool
    source: HwSource | None
    note: str = ""


@dataclass(frozen=True)
class RuntimeProfile:
    """Memory overheads of an inference runtime, per GPU.

    memory_fraction: share of memory the runtime may use (None: no reservation knob / chosen at
    start-up); fraction_of: 'total' (vLLM, SGLang) or 'free' (TensorRT-LLM: of the memory left
    after weights). Byte figures are 0 when the runtime file gives none (see `figures`).
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
    figures: Mapping[str, RuntimeFigure] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


def _source(raw: Any) -> HwSource | None:
    if not isinstance(raw, Mapping) or "quote" not in raw:
        return None
    return HwSource(
        url=str(raw.get("url", "")),
        quote=str(raw["quote"]).strip(),
        kind=str(raw.get("kind", "")),
        unconfirmed=raw.get("status") == "unconfirmed",
    )


def _load(name: str, key: str) -> list[dict[str, Any]]:
    path = DATA_DIR / name
    try:
        doc = load_yaml_text(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VramkitError(f"hardware data file {path} does not exist.") from None
    if not isinstance(doc, Mapping) or doc.get("schema_version") != 1 or key not in doc:
        raise VramkitError(f"{name}: expected schema_version 1 and a {key!r} list.")
    return list(doc[key])


def _mem_bytes(where: str, value: Any, unit: Any) -> int:
    if unit not in _MEMORY_UNITS:
        raise unknown_name(f"memory unit in {where}", unit, _MEMORY_UNITS)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise VramkitError(f"{where}: memory must be a non-negative number, got {value!r}.")
    return round(value * _MEMORY_UNITS[unit])


@cache
def gpus() -> Mapping[str, Gpu]:
    """The GPU catalog keyed by id."""
    out: dict[str, Gpu] = {}
    for rec in _load("gpus.yaml", "gpus"):
        gid = rec["id"]
        bw = rec.get("bandwidth")
        if bw is not None and rec.get("bandwidth_unit") not in _RATE_UNITS:
            raise unknown_name(f"bandwidth unit of {gid}", rec.get("bandwidth_unit"), _RATE_UNITS)
        vis = rec.get("visible_memory")
        src = _source(rec.get("source"))
        if src is None:
            raise VramkitError(f"gpus.yaml: {gid} has no source with a quote.")
        out[gid] = Gpu(
            id=gid,
            name=str(rec["name"]),
            vendor=str(rec["vendor"]),
            memory=float(rec["memory"]),
            memory_unit=str(rec["memory_unit"]),
            memory_bytes=_mem_bytes(f"gpus.yaml {gid}", rec["memory"], rec["memory_unit"]),
            memory_kind=str(rec["memory_kind"]),
            unified=bool(rec["unified"]),
            bandwidth_bytes_per_s=None if bw is None else bw * _RATE_UNITS[rec["bandwidth_unit"]],
            host_link=rec.get("host_link"),
            peer_link=rec.get("peer_link"),
            source=src,
            visible_memory_bytes=(
                _mem_bytes(f"gpus.yaml {gid} visible_memory", vis["value"], vis["unit"])
                if isinstance(vis, Mapping)
                else None
            ),
            notes=" ".join(str(rec.get("notes") or "").split()),
        )
    return MappingProxyType(out)


@cache
def links() -> Mapping[str, Link]:
    """Links and memory tiers (PCIe, NVLink, NVLink-C2C, IB, Ethernet, DDR, NVMe) keyed by id."""
    out: dict[str, Link] = {}
    for rec in _load("links.yaml", "links"):
        lid, unit, direction = rec["id"], rec["bandwidth_unit"], rec["direction"]
        if unit not in _RATE_UNITS:
            raise unknown_name(f"bandwidth unit of link {lid}", unit, _RATE_UNITS)
        if direction not in _ONE_WAY:
            raise unknown_name(f"direction of link {lid}", direction, _ONE_WAY)
        rate = float(rec["bandwidth"]) * _RATE_UNITS[unit]
        out[lid] = Link(
            id=lid,
            name=str(rec["name"]),
            kind=str(rec["kind"]),
            bandwidth=float(rec["bandwidth"]),
            bandwidth_unit=unit,
            direction=direction,
            bandwidth_bytes_per_s=rate,
            one_way_bytes_per_s=rate * _ONE_WAY[direction],
            source=_source(rec.get("source")) or HwSource("", "", "", True),
        )
    return MappingProxyType(out)


def _figure(raw: Any) -> RuntimeFigure | None:
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
        source=_source(raw.get("source")),
        note=" ".join(str(raw.get("note") or "").split()),
    )


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


@cache
def runtimes() -> Mapping[str, RuntimeProfile]:
    """Runtime profiles keyed by id (aliases such as 'llama.cpp' resolve in `get_runtime`).

    A runtime with no CUDA-context or NCCL figure borrows vLLM's (the runtimes file advises it for
    the reference code); the borrowed figure's `note` says so.
    """
    raw = _load("runtimes.yaml", "runtimes")
    figs_by_id: dict[str, dict[str, RuntimeFigure]] = {}
    for rec in raw:
        figs: dict[str, RuntimeFigure] = {}
        for key, role in _FIGURE_KEYS.items():
            f = _figure(rec.get(key))
            if f is not None:
                figs[role] = f
        figs_by_id[rec["id"]] = figs
    out: dict[str, RuntimeProfile] = {}
    for rec in raw:
        rid = rec["id"]
        figs = figs_by_id[rid]
        for role, why in _BORROWED.items():
            mine, theirs = figs.get(role), figs_by_id.get("vllm", {}).get(role)
            if role == "nccl" and rid not in _USES_NCCL:
                continue
            if role == "workspace" and rid in _OWN_WORKSPACE:
                continue
            if (mine is None or mine.bytes is None) and theirs is not None:
                figs[role] = RuntimeFigure(
                    theirs.value, theirs.unit, theirs.bytes, True, theirs.source, why
                )
        frac = figs.get("memory_fraction")
        formula = " ".join(str(rec.get("budget_formula") or "").split())
        out[rid] = RuntimeProfile(
            id=rid,
            name=str(rec["name"]),
            budget_formula=formula,
            memory_fraction=frac.value if frac else None,
            fraction_of="free" if "free_gpu_memory_fraction" in formula else "total",
            cuda_context_bytes=_bytes(figs, "cuda_context"),
            non_torch_bytes=_bytes(figs, "non_torch"),
            nccl_bytes_per_gpu=_bytes(figs, "nccl"),
            workspace_bytes=_bytes(figs, "workspace"),
            margin_bytes=_bytes(figs, "margin"),
            figures=MappingProxyType(figs),
            aliases=tuple(rec.get("aliases") or ()),
        )
    return MappingProxyType(out)


_OWN_WORKSPACE = ("llama-cpp",)
"""Runtimes whose workspace the budget computes per model and context (llama.cpp's compute
buffer: vramkit.llamacpp_memory.compute_bytes), so no constant is borrowed for them."""
_USES_NCCL = ("vllm", "sglang", "trtllm", "reference")
"""Runtimes that split a model over GPUs with NCCL collectives (llama.cpp's layer split does not)."""
_BORROWED = {
    "cuda_context": "any CUDA process pays a context per GPU; vLLM's measured figure used",
    "nccl": "not measured for this runtime; vLLM's per-GPU NCCL figure used as a stand-in",
    "workspace": "not measured for this runtime; vLLM's DeepSeek-V3 activation peak used",
}


def _bytes(figs: Mapping[str, RuntimeFigure], role: str) -> int:
    f = figs.get(role)
    return f.bytes if f is not None and f.bytes is not None else 0


def get_gpu(gpu: str | Gpu) -> Gpu:
    """A GPU by id (case-insensitive), or the `Gpu` itself."""
    if isinstance(gpu, Gpu):
        return gpu
    table = gpus()
    key = str(gpu).strip().lower()
    if key in table:
        return table[key]
    raise unknown_name("GPU", gpu, table)


def get_link(link: str | Link) -> Link:
    """A link / memory tier by id, or the `Link` itself."""
    if isinstance(link, Link):
        return link
    table = links()
    key = str(link).strip().lower()
    if key in table:
        return table[key]
    raise unknown_name("link", link, table)


def get_runtime(runtime: str | RuntimeProfile) -> RuntimeProfile:
    """A runtime profile by id or alias ('vllm', 'llama-cpp' or 'llama.cpp', 'sglang', …)."""
    if isinstance(runtime, RuntimeProfile):
        return runtime
    table = runtimes()
    key = str(runtime).strip().lower()
    for prof in table.values():
        if key == prof.id or key in prof.aliases:
            return prof
    raise unknown_name(
        "runtime", runtime, [*table, *(a for p in table.values() for a in p.aliases)]
    )
