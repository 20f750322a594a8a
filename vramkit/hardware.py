"""Typed loader for data/gpus.yaml and data/links.yaml (runtimes: `vramkit.runtimes`).

Memory is converted to bytes by the unit the source wrote: ``GB`` = 1e9, ``GiB`` = 2**30 (a GPU
sold as "80GB" is counted as 80e9 bytes, the conservative reading). Bandwidths become bytes per
second (``GB/s`` 1e9, ``TB/s`` 1e12, ``MB/s`` 1e6, ``Gb/s`` 1e9/8 — bits for network links).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from .datafiles import load_document
from .errors import VramkitError, parse_int, unknown_name
from .sources import Source, parse_source
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
class Gpu:
    """One accelerator (per GPU; unified-memory machines count the whole pool).

    memory_bytes: the vendor figure times its unit (GB = 1e9, GiB = 2**30).
    bandwidth_bytes_per_s: device-memory peak bandwidth, or None when unsourced.
    visible_memory_bytes: what the driver exposes, when a measurement was recorded.
    cuda_total_bytes: the device total CUDA reports (``cudaMemGetInfo`` / torch's
    ``mem_get_info``), what vLLM's and SGLang's memory fractions multiply, when a log recorded it.
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
    source: Source
    visible_memory_bytes: int | None = None
    notes: str = ""
    cuda_total_bytes: int | None = None

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

    def total_for_fraction(self, of_cuda_total: bool) -> int:
        """Bytes a memory fraction multiplies: with `of_cuda_total` (vLLM, SGLang: the runtime
        record's ``fraction_of_cuda_total``) the CUDA total where one is recorded (H100 80GB:
        79.19 GiB, data/gpus.yaml ``cuda_total_memory``), else `capacity_bytes`."""
        if of_cuda_total and self.cuda_total_bytes:
            return self.cuda_total_bytes
        return self.capacity_bytes


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
    source: Source


def _load(name: str, key: str) -> list[dict[str, Any]]:
    return list(load_document(name, (key,))[key])


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
        cuda = rec.get("cuda_total_memory")
        src = parse_source(f"gpus.yaml {gid}", rec.get("source"))
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
            cuda_total_bytes=(
                _mem_bytes(f"gpus.yaml {gid} cuda_total_memory", cuda["value"], cuda["unit"])
                if isinstance(cuda, Mapping)
                else None
            ),
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
            source=parse_source(f"links.yaml {lid}", rec.get("source")),
        )
    return MappingProxyType(out)


# ── unified memory: how much of the pool the GPU may hold (ONE rule: fit, plan, Quick Summary) ──
UNIFIED_OS_SHARE = 0.25
"""ASSUMPTION, not a sourced figure, for unified-memory machines that are NOT Apple (DGX Spark):
the OS, CPU processes and file cache keep 25% of the pool. Apple machines use Metal's measured
working-set cap instead (`apple_working_set`)."""


@cache
def _apple_points() -> tuple[tuple[int, int, str], ...]:
    doc = load_document("apple_working_set.yaml")
    units = {"GiB": GiB, "MiB": MiB, "GB": GB}
    out = []
    for rec in doc["measured"]:
        pool = round(float(rec["pool"]) * units[rec["pool_unit"]])
        ws = round(float(rec["working_set"]) * units[rec["working_set_unit"]])
        out.append((pool, ws, str(rec["source"]["url"])))
    return tuple(sorted(out))


def apple_working_set(pool_bytes: int, *, wired_limit_bytes: int | None = None) -> tuple[int, str]:
    """Bytes an Apple GPU may keep resident on a unified pool of `pool_bytes`, and why.

    The cap is Metal's `MTLDevice.recommendedMaxWorkingSetSize`: llama.cpp's Metal backend
    reports exactly it as the device's total memory (ggml_metal_device_get_memory: ``*total =
    dev->mtl_device.recommendedMaxWorkingSetSize;``, https://github.com/ggml-org/llama.cpp/blob/
    0c1e57098bba43ac29e6e3b677cdceebdd22334f/ggml/src/ggml-metal/ggml-metal-device.m), so that is
    what llama.cpp fits into.
    Apple publishes no formula: a measured pool size (data/apple_working_set.yaml) gives its
    measured value; another size uses the ratio of the nearest measured pool (log scale) and
    says it is an estimate; `wired_limit_bytes` (the ``iogpu.wired_limit_mb`` sysctl) overrides
    both.
    """
    if wired_limit_bytes is not None:
        lim = min(int(wired_limit_bytes), pool_bytes)
        return lim, "iogpu.wired_limit_mb override (user)"
    points = _apple_points()
    for pool, ws, url in points:
        if pool == pool_bytes:
            return ws, f"measured recommendedMaxWorkingSetSize ({url})"
    pool, ws, url = min(points, key=lambda p: abs(math.log(p[0] / max(pool_bytes, 1))))
    return (
        math.floor(pool_bytes * ws / pool),
        f"estimate: Metal's recommendedMaxWorkingSetSize at {ws / pool:.3f} of the pool, the "
        f"measured ratio at {pool / GiB:.0f} GiB ({url})",
    )


def gpu_working_set(gpu: str | Gpu, *, os_share: float | None = None) -> tuple[int, str]:
    """(bytes one GPU may fill, why) — THE unified-memory rule, used by `budget` (fit, the Quick
    Summary) and the placement planner alike.

    Discrete GPU: its capacity. Apple unified memory: Metal's working-set cap
    (`apple_working_set`). Other unified memory (DGX Spark): the pool × (1 − `UNIFIED_OS_SHARE`),
    an assumption. `os_share` (0 … 0.95), when given, replaces the rule for any unified machine:
    that share of the pool is left to the OS.
    """
    g = get_gpu(gpu)
    if not g.unified:
        return g.capacity_bytes, "catalog (data/gpus.yaml)"
    if os_share is not None:
        return (
            math.floor(g.capacity_bytes * (1.0 - os_share)),
            f"{os_share:.0%} of the pool left to the OS (given)",
        )
    if g.vendor == "apple":
        return apple_working_set(g.capacity_bytes)
    return (
        math.floor(g.capacity_bytes * (1.0 - UNIFIED_OS_SHARE)),
        f"{UNIFIED_OS_SHARE:.0%} of the pool left to the OS and CPU (assumption)",
    )


# ── GPU names people type (ONE resolver: fit, plan, machine files, dashboard, API) ──────────
_NOISE = frozenset({"nvidia", "geforce", "amd", "instinct", "apple", "gpu"})
"""Words a typed GPU name may carry that tell no catalog entry apart."""
_COUNT = re.compile(r"^\s*(?P<n>[0-9]+)\s*[x×*]\s*(?P<rest>\S.*)$", re.I)
MAX_GPU_COUNT = 64
"""Most GPUs one typed set (``64x h100``) may name."""


def _tokens(text: str) -> tuple[str, ...]:
    """'NVIDIA GeForce RTX-4090 24GB' → ('rtx', '4090', '24'): lower case, split on anything that
    is not a letter or digit, a memory size's unit dropped ('24gb', '24g' → '24')."""
    out = []
    for tok in re.split(r"[^a-z0-9.]+", text.lower()):
        tok = tok.strip(".")
        if tok:
            out.append(re.sub(r"^([0-9]+(?:\.[0-9]+)?)(?:gib|gb|g)$", r"\1", tok))
    return tuple(out)


@cache
def _gpu_words() -> Mapping[str, frozenset[str]]:
    """Each catalog GPU's words: its id's and its name's tokens."""
    return MappingProxyType(
        {gid: frozenset(_tokens(gid) + _tokens(g.name)) for gid, g in gpus().items()}
    )


def _model_names(gid: str) -> tuple[str, ...]:
    """Short forms of an id to rank suggestions by: 'rtx-4090-24gb' → ('rtx-4090-24gb',
    'rtx-4090', '4090'); 'h200-sxm-141gb' → (…, 'h200-sxm', 'h200')."""
    parts = gid.split("-")
    short = [gid, "-".join(p for p in parts if not re.fullmatch(r"[0-9.]+gb", p))]
    short += [p for p in parts if re.search(r"[0-9]", p) and not p.endswith("gb")]
    return tuple(dict.fromkeys(short))


def nearest_gpus(text: str, n: int = 3) -> list[str]:
    """Catalog ids closest to a typed name, best first (scored on the id and its short forms, so
    'h300' suggests h200/b300 rather than whatever shares the most letters with the full id)."""
    import difflib

    query = "-".join(t for t in _tokens(text) if t not in _NOISE) or str(text).strip().lower()
    scored = []
    for gid in gpus():
        best = max(difflib.SequenceMatcher(None, query, s).ratio() for s in _model_names(gid))
        if best >= 0.5:
            scored.append((-best, gid))
    return [gid for _, gid in sorted(scored)[:n]]


def split_gpu_count(text: str) -> tuple[str, int | None]:
    """'2x4090', '2 x h100', '2×RTX 4090' → (the name, 2); a name without a count → (it, None).
    The count must be a whole number 1 … `MAX_GPU_COUNT`."""
    m = _COUNT.match(str(text))
    if not m:
        return str(text).strip(), None
    n = parse_int(f"GPU count in {str(text)!r:.60}", m.group("n"), minimum=1)
    if n > MAX_GPU_COUNT:
        raise VramkitError(
            f"at most {MAX_GPU_COUNT} GPUs in one set, got {n} in {str(text)!r:.60}."
        )
    return m.group("rest").strip(), n


def resolve_gpu(text: str, *, otherwise: str = "") -> Gpu:
    """The catalog GPU a person means by `text`: an id ('rtx-4090-24gb', any case) or a name as
    typed ('4090', 'rtx 4090', 'RTX-4090', 'H200', 'h100', 'a100-80gb', 'NVIDIA GeForce RTX
    4090'). Every word of the name (vendor words such as 'nvidia' dropped; '80gb' read as '80')
    must be a word of exactly one GPU's id or name (a size alone, '24GB', or a half-written
    'MEMORY@BANDWIDTH' names no GPU). A name that fits several ('a100') is refused
    with those ids; one that fits none gets the nearest ids (`nearest_gpus`) and `otherwise`
    (another form the caller accepts)."""
    if not isinstance(text, str):
        raise VramkitError(
            f"a GPU must be given as text (an id such as 'rtx-4090-24gb'), got "
            f"{type(text).__name__}."
        )
    table = gpus()
    key = text.strip().lower()
    if key in table:
        return table[key]
    words = [t for t in _tokens(key) if t not in _NOISE]
    sizes_only = all(re.fullmatch(r"[0-9.]+\s*(gib|gb|g)", w) for w in re.split(r"[\s_/-]+", key))
    if words and len(key) <= 200 and "@" not in key and not sizes_only:
        hits = [gid for gid, have in _gpu_words().items() if set(words) <= have]
        if len(hits) == 1:
            return table[hits[0]]
        if hits:
            shown = ", ".join(f"{gid} ({table[gid].name})" for gid in sorted(hits))
            raise VramkitError(
                f"GPU {text!r:.80} is ambiguous: it names {len(hits)} catalog GPUs: {shown}. "
                "Give one of those ids."
            )
    err = unknown_name("GPU", text, table, close=nearest_gpus(key[:200]))
    raise VramkitError(f"{err} {otherwise}".rstrip())


def get_gpu(gpu: str | Gpu) -> Gpu:
    """A GPU by id or typed name (`resolve_gpu`), or the `Gpu` itself."""
    if isinstance(gpu, Gpu):
        return gpu
    if isinstance(gpu, str):
        name, count = split_gpu_count(gpu)
        if count is not None:
            g = resolve_gpu(name)
            raise VramkitError(
                f"GPU {gpu!r:.80} names {count} GPUs; here give one GPU ({g.id!r}) and the "
                f"count separately (count={count}, --count {count})."
            )
    return resolve_gpu(gpu)  # type: ignore[arg-type]


def get_link(link: str | Link) -> Link:
    """A link / memory tier by id, or the `Link` itself."""
    if isinstance(link, Link):
        return link
    table = links()
    key = str(link).strip().lower()
    if key in table:
        return table[key]
    raise unknown_name("link", link, table)
