"""A machine: GPUs that may differ, host RAM with its bandwidth, optional NVMe, and the links.

Written three ways, all giving the same frozen `Machine`:
  CLI    ``--gpu rtx-4090-24gb:2 --gpu 24GB@936GB/s --ram 128GB@89.6GB/s --nvme nvme-gen4-990pro``
  YAML   ``devices: [{gpu: rtx-4090-24gb, count: 2}, {memory: 24GB, bandwidth: 936GB/s}]``,
         ``host: {ram: 128GB, bandwidth: 89.6GB/s}``, ``disk: {link: nvme-gen4-990pro}``
  local  ``--machine local``: nvidia-ml-py (NVML) and psutil read this machine (both optional).

Units: memory in bytes (GB = 1e9, GiB = 2**30 as written); bandwidths in bytes/s one way
(``GB/s`` = 1e9 B/s). Apple unified memory: the GPU may keep resident only Metal's
`recommendedMaxWorkingSetSize` (data/apple_working_set.yaml), the rest of the pool is host RAM.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import VramkitError, parse_int, require_int, shown
from ..hardware import (
    Gpu,
    apple_working_set,
    get_link,
    gpu_working_set,
    gpus,
    links,
    resolve_gpu,
    split_gpu_count,
)
from ..units import GB, MB, TB, GiB, parse_size, read_number

if TYPE_CHECKING:
    from .host import Disk, Host  # built only where a machine has host RAM or a disk

DEFAULT_HOST_MEMORY = "ddr5-5600-2ch"
"""Host-RAM tier assumed when --ram gives no bandwidth (a desktop's two DDR5 channels)."""
DEFAULT_HOST_LINK = "pcie-gen4-x16"
"""Host link assumed for an ad-hoc GPU (``24GB@1008GB/s``) with no ``link``."""
_RATE = {"TB/S": TB, "GB/S": GB, "MB/S": MB}
MAX_DEVICES = 64


BACKENDS = ("cuda", "rpc")
"""`Device.backend` values: llama.cpp's ggml-cuda (CUDA or HIP) or the engine tests' RPC servers."""


@dataclass(frozen=True)
class Device:
    """One accelerator.

    memory_bytes: what the device has (driver-visible where measured); usable_bytes: what a
    runtime may fill (Apple: the GPU working-set cap; otherwise = memory_bytes);
    bandwidth_bytes_per_s: device-memory bandwidth; host_link_bytes_per_s: one-way host link.
    """

    index: int
    label: str
    gpu_id: str | None
    memory_bytes: int
    usable_bytes: int
    bandwidth_bytes_per_s: float
    unified: bool
    host_link: str | None
    host_link_bytes_per_s: float | None
    peer_link: str | None
    source: str
    cuda_total_bytes: int | None = None
    """The device total CUDA reports, when a log recorded it (`vramkit.hardware.Gpu`)."""

    backend: str = "cuda"
    """The ggml backend llama.cpp drives it with: "cuda" (ggml-cuda, also built for HIP) for a
    discrete GPU; Apple's unified GPUs are Metal (`unified`); the engine tests' localhost RPC
    servers set "rpc" (CPU kernels: no CUDA terms, `vramkit.runtimes.llamacpp.cuda`)."""

    def fraction_total(self, of_cuda_total: bool) -> int:
        """Bytes a runtime's memory fraction multiplies: the CUDA total where recorded and the
        runtime's fraction is of it (`Capabilities.fraction_of_cuda_total`), else usable_bytes
        (never more than usable_bytes)."""
        if of_cuda_total and self.cuda_total_bytes and not self.unified:
            return min(self.usable_bytes, self.cuda_total_bytes)
        return self.usable_bytes

    def __post_init__(self) -> None:
        if not isinstance(self.backend, str) or self.backend not in BACKENDS:
            raise VramkitError(
                f"device backend must be one of {', '.join(BACKENDS)}; got {shown(self.backend)}."
            )

    @property
    def name(self) -> str:
        """Runtime-style device name (CUDA0, CUDA1 … or Metal)."""
        return (
            "Metal" if self.unified and self.gpu_id and "mac" in self.gpu_id else f"GPU{self.index}"
        )


@dataclass(frozen=True)
class Machine:
    """Devices (in runtime order), host RAM (None: none offered) and optional disk."""

    devices: tuple[Device, ...]
    host: Host | None
    disk: Disk | None
    notes: tuple[str, ...] = ()

    @property
    def gpu_bytes(self) -> int:
        """Σ usable bytes over the devices."""
        return sum(d.usable_bytes for d in self.devices)

    @property
    def homogeneous(self) -> bool:
        """True when every device has the same usable memory and bandwidth."""
        return len({(d.usable_bytes, d.bandwidth_bytes_per_s) for d in self.devices}) <= 1

    def describe(self) -> str:
        """One line: '2 × RTX 4090 (24 GB) + 128 GB RAM @ 89.6 GB/s'."""
        parts: dict[str, int] = {}
        for d in self.devices:
            parts[d.label] = parts.get(d.label, 0) + 1
        text = " + ".join(f"{n} × {lab}" for lab, n in parts.items()) or "no GPU"
        if self.host:
            text += (
                f" + {self.host.ram_bytes / GB:.0f} GB RAM @ "
                f"{self.host.bandwidth_bytes_per_s / GB:.1f} GB/s"
            )
        if self.disk:
            text += f" + NVMe @ {self.disk.bandwidth_bytes_per_s / GB:.2f} GB/s"
        return text


# ── parsing pieces ───────────────────────────────────────────────────────────────────────────
MIN_RATE_BYTES_PER_S = MB
"""Slowest bandwidth read (1 MB/s): below it every bound divides by next to nothing."""
MAX_RATE_BYTES_PER_S = 1000 * TB
"""Fastest bandwidth read (1000 TB/s, 1 PB/s): above every device and link (HBM3e ~8 TB/s)."""


def _check_rate(value: float, text: object, what: str) -> float:
    if not MIN_RATE_BYTES_PER_S <= value <= MAX_RATE_BYTES_PER_S:
        raise VramkitError(
            f"{what} {shown(text)} is outside 1MB/s..1000TB/s ({MIN_RATE_BYTES_PER_S:,.0f} to "
            f"{MAX_RATE_BYTES_PER_S:,.0f} bytes/s), the range vramkit reads."
        )
    return value


def parse_rate(
    text: str | float | int,
    *,
    what: str = "bandwidth",
    link_ids: bool = True,
    link_kinds: tuple[str, ...] | None = None,
) -> float:
    """'1008GB/s', '1.8 TB/s', '7450MB/s' → bytes/s (decimal units), within 1 MB/s..1000 TB/s;
    a link id → its one-way rate. A Python number is bytes/s (the API's contract for numbers);
    text needs its unit ('936' alone is refused: did you mean 936GB/s?)."""
    if isinstance(text, bool) or type(text).__name__ in ("bool", "bool_"):  # numpy too
        raise VramkitError(f"{what} must be like '1008GB/s' or a link id, got {text!r}.")
    if isinstance(text, numbers.Integral):  # numpy integers too
        text = int(text)
    elif isinstance(text, numbers.Real):
        text = float(text)
    if isinstance(text, int | float):
        if isinstance(text, int) and text > MAX_RATE_BYTES_PER_S:
            return _check_rate(math.inf, text, what)  # never float() a huge int: refused
        if not math.isfinite(text) or text <= 0:
            raise VramkitError(f"{what} must be a positive number of bytes/s, got {shown(text)}.")
        return _check_rate(float(text), text, what)
    if not isinstance(text, str):
        raise VramkitError(
            f"{what} must be text like '1008GB/s' or a link id, got {type(text).__name__} "
            f"{shown(text)}."
        )
    s = text.strip().replace(" ", "").replace(",", "").upper()
    for unit, scale in _RATE.items():
        if s.endswith(unit):
            value = read_number(s[: -len(unit)], what, text)
            if value is None or value <= 0:
                break
            return _check_rate(value * scale, text, what)
    key = text.strip().lower()
    if link_ids and key in links():
        lk = get_link(key)
        if link_kinds is not None and lk.kind not in link_kinds:
            ok = sorted(k for k, v in links().items() if v.kind in link_kinds)
            raise VramkitError(
                f"{what} {shown(text)} is a {lk.kind} entry of data/links.yaml; allowed ids: "
                f"{', '.join(ok)}, or a rate such as "
                f"{'7.45GB/s' if 'storage' in link_kinds else '89.6GB/s'}."
            )
        return lk.one_way_bytes_per_s
    bare = read_number(s, what)
    hint = f" did you mean {s}GB/s?" if bare is not None and bare > 0 else ""
    ids = f", or a link id from data/links.yaml ({', '.join(sorted(links()))})" if link_ids else ""
    raise VramkitError(
        f"cannot read {what} {shown(text)}:{hint} Write a positive number with GB/s, TB/s or "
        f"MB/s (decimal){ids}."
    )


def _catalog_device(i: int, g: Gpu, link: str | None) -> Device:
    lid = link or g.host_link
    bw = g.bandwidth_bytes_per_s
    if bw is None:
        raise VramkitError(
            f"GPU {g.id} has no sourced memory bandwidth; give one: '{g.memory_text}@…GB/s'."
        )
    usable, why = gpu_working_set(g)  # the one unified-memory rule (vramkit.hardware)
    return Device(
        index=i,
        label=g.name,
        gpu_id=g.id,
        memory_bytes=g.capacity_bytes,
        usable_bytes=usable,
        bandwidth_bytes_per_s=float(bw),
        unified=g.unified,
        host_link=lid,
        host_link_bytes_per_s=get_link(lid).one_way_bytes_per_s if lid else None,
        peer_link=g.peer_link,
        source=why,
        cuda_total_bytes=g.cuda_total_bytes,
    )


def parse_device_spec(spec: str, *, start: int = 0, link: str | None = None) -> list[Device]:
    """'rtx-4090-24gb', 'rtx-4090-24gb:2', '24GB@1008GB/s' or '24GB@1008GB/s:2' → devices."""
    if not isinstance(spec, str):
        raise VramkitError(
            f"a GPU spec must be text such as 'rtx-4090-24gb:2' or '24GB@936GB/s', got "
            f"{_kind_of(spec)}."
        )
    start = require_int("start", start, minimum=0, maximum=MAX_DEVICES)
    if link is not None:
        link = check_host_link(link, "link")
    text = spec.strip()
    if not text:
        raise VramkitError(
            "empty GPU spec: give a catalog id (rtx-4090-24gb), id:count or 24GB@1008GB/s."
        )
    count = 1
    if ":" in text:
        text, _, n = text.rpartition(":")
        count = parse_int(f"GPU count in {shown(spec)}", n, minimum=1, maximum=MAX_DEVICES)
    text, prefixed = split_gpu_count(text)  # '2x4090', '2 x h100' (vramkit.hardware)
    if prefixed is not None:
        if ":" in str(spec):
            raise VramkitError(
                f"GPU spec {shown(spec)} gives a count twice; write '{prefixed}x{text}' or "
                f"'{text}:{prefixed}'."
            )
        count = prefixed
    if "@" in text:  # MEMORY@BANDWIDTH (no catalog id holds '@')
        mem_text, _, bw_text = text.partition("@")
        mem = parse_size(mem_text)
        if mem <= 0:
            raise VramkitError(f"GPU memory in {shown(spec)} must be positive.")
        bw = parse_rate(bw_text, what="GPU memory bandwidth", link_ids=False)
        lid = link or DEFAULT_HOST_LINK
        return [
            Device(
                index=start + k,
                label=text.strip(),
                gpu_id=None,
                memory_bytes=mem,
                usable_bytes=mem,
                bandwidth_bytes_per_s=bw,
                unified=False,
                host_link=lid,
                host_link_bytes_per_s=get_link(lid).one_way_bytes_per_s,
                peer_link=None,
                source=f"ad-hoc spec {text.strip()!r} (host link {lid} assumed)",
            )
            for k in range(count)
        ]
    # ids and typed names: the one resolver (vramkit.hardware)
    g = resolve_gpu(text, otherwise="Or write MEMORY@BANDWIDTH, e.g. 24GB@1008GB/s.")
    return [_catalog_device(start + k, g, link) for k in range(count)]


def parse_host(ram: str | int | None, bandwidth: str | float | None = None) -> Host | None:
    """'128GB', '128GB@89.6GB/s', '512GB@ddr5-4800-12ch-epyc9004' → Host; None/0 → no host.
    A Python int is bytes (the API's contract for numbers); text needs a unit ('128' is refused)."""
    from .host import Host

    if ram is None:
        return None
    text: str | int = ram.strip() if isinstance(ram, str) else ram
    if isinstance(text, str) and "@" in text and bandwidth is None:
        text, _, bandwidth = text.partition("@")
    size = parse_size(text, what="host RAM size")
    if size == 0:
        return None
    if bandwidth is None:
        tier = get_link(DEFAULT_HOST_MEMORY)
        return Host(size, tier.one_way_bytes_per_s, tier.id, f"bandwidth assumed: {tier.name}")
    key = bandwidth.strip().lower() if isinstance(bandwidth, str) else ""
    tier_id = key if key in links() else None
    rate = parse_rate(bandwidth, what="host RAM bandwidth", link_kinds=("host-memory",))
    return Host(size, rate, tier_id, "given")


def parse_disk(nvme: str | None) -> Disk | None:
    """'nvme-gen4-990pro' or '7.45GB/s' → Disk (sequential read); None → none."""
    from .host import Disk

    if nvme is None or (isinstance(nvme, str) and nvme.strip() == ""):
        return None
    key = nvme.strip().lower() if isinstance(nvme, str) else ""
    rate = parse_rate(nvme, what="NVMe bandwidth", link_kinds=("storage",))
    return Disk(key if key in links() else None, rate, "given")


HOST_LINK_KINDS = ("host-link",)
"""Kinds of data/links.yaml entries a GPU's host link may be (``--link``, a device's ``link``)."""


def check_host_link(link: object, what: str = "--link") -> str:
    """`link` as the id of a host link (PCIe, NVLink-C2C); a RAM tier, a disk, a network or a
    peer link is refused (they are not what a GPU reaches host memory over)."""
    if not isinstance(link, str):
        raise VramkitError(f"{what} must be a link id (text), got {_kind_of(link)}.")
    lk = get_link(link)
    if lk.kind not in HOST_LINK_KINDS:
        ok = sorted(k for k, v in links().items() if v.kind in HOST_LINK_KINDS)
        raise VramkitError(
            f"{what} {shown(link)} is a {lk.kind} entry of data/links.yaml, not a host link; "
            f"allowed: {', '.join(ok)}."
        )
    return lk.id


def require_machine(machine: object) -> Machine:
    """`machine` if it is a `Machine` (from `build_machine`, `resolve_machine` …), else one error."""
    if not isinstance(machine, Machine):
        raise VramkitError(
            f"machine must be a Machine (vramkit.plan.build_machine(['rtx-4090-24gb:2'], "
            f"ram='128GB')), got {_kind_of(machine)}."
        )
    return machine


def _kind_of(value: object) -> str:
    return f"{type(value).__name__} {shown(value)}"


def build_machine(
    gpus_: Sequence[str] = (),
    *,
    ram: str | int | None = None,
    ram_bandwidth: str | None = None,
    nvme: str | None = None,
    link: str | None = None,
    wired_limit: str | None = None,
) -> Machine:
    """The machine the CLI flags describe (see the module docstring).

    Apple unified GPUs: the part of the pool outside the GPU working set becomes host RAM at the
    same bandwidth unless `ram` is given; `wired_limit` ('112GiB') stands for the sysctl.
    """
    if link is not None:
        link = check_host_link(link)
    if isinstance(gpus_, str) or not isinstance(gpus_, Sequence):
        raise VramkitError(
            f"GPUs must be a list of specs such as ['rtx-4090-24gb:2', '24GB@936GB/s'], got "
            f"{_kind_of(gpus_)}."
        )
    if len(gpus_) > MAX_DEVICES:
        raise VramkitError(f"at most {MAX_DEVICES} devices, got {len(gpus_):,} GPU specs.")
    devices: list[Device] = []
    for spec in gpus_:
        if not isinstance(spec, str):
            raise VramkitError(
                f"a GPU spec must be text such as 'rtx-4090-24gb:2' or '24GB@936GB/s', got "
                f"{_kind_of(spec)}."
            )
        devices.extend(parse_device_spec(spec, start=len(devices), link=link))
        if len(devices) > MAX_DEVICES:
            raise VramkitError(f"at most {MAX_DEVICES} devices, got {len(devices)} or more.")
    for name, value in (
        ("ram_bandwidth", ram_bandwidth),
        ("nvme", nvme),
        ("wired_limit", wired_limit),
    ):
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            raise VramkitError(f"{name} must be text such as '89.6GB/s', got {_kind_of(value)}.")
    notes = []
    if wired_limit is not None:
        lim = parse_size(wired_limit, what="wired limit")
        devices = [
            _with_working_set(d, lim) if d.unified and d.gpu_id and "mac" in d.gpu_id else d
            for d in devices
        ]
    if isinstance(ram, bool) or not isinstance(ram, str | int | None):
        raise VramkitError(
            f"ram must be text such as '128GB' (or an int of bytes), got {_kind_of(ram)}."
        )
    return _assemble(devices, parse_host(ram, ram_bandwidth), parse_disk(nvme), notes)


def _assemble(
    devices: list[Device], host: Host | None, disk: Disk | None, notes: list[str]
) -> Machine:
    """The machine of `devices`, `host` and `disk`, the same way for flags and files: an Apple
    unified GPU with no host given lends the rest of its pool as host RAM; notes added."""
    from .host import Host

    apple = [d for d in devices if d.unified]
    if apple and host is None:
        d = apple[0]
        host = Host(
            d.memory_bytes - d.usable_bytes,
            d.bandwidth_bytes_per_s,
            None,
            "unified pool outside the GPU working set",
        )
        notes.append(
            f"{d.label}: GPU working set {d.usable_bytes / GiB:.2f} GiB of "
            f"{d.memory_bytes / GiB:.0f} GiB ({d.source}); the rest counts as host RAM"
        )
    if host and host.source.startswith("bandwidth assumed"):
        notes.append(f"host RAM {host.source} ({host.bandwidth_bytes_per_s / GB:.1f} GB/s)")
    if not devices:
        notes.append("no GPU: everything runs from host RAM")
    return Machine(tuple(devices), host, disk, tuple(notes))


def _with_working_set(d: Device, limit: int) -> Device:
    from dataclasses import replace

    ws, why = apple_working_set(d.memory_bytes, wired_limit_bytes=limit)
    return replace(d, usable_bytes=ws, source=why)


# ── YAML ─────────────────────────────────────────────────────────────────────────────────────
_TOP = {"devices", "host", "disk", "link"}
_DEV = {"gpu", "count", "memory", "bandwidth", "link", "name"}
MAX_MACHINE_FILE_BYTES = 1_000_000
"""Largest machine file read (a real one is under 1 kB)."""


def _text_field(where: str, field: str, value: object, example: str) -> str:
    """A machine file's text field; a number where a size or rate belongs is refused with the
    unit it probably lacks (``ram: 128`` → did you mean '128GB'?)."""
    if isinstance(value, str):
        return value
    hint = ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        hint = f" (did you mean '{value:g}{example.lstrip('0123456789.')}'?)"
    raise VramkitError(
        f"{where}: {field} must be text such as '{example}', got {_kind_of(value)}{hint}."
    )


def machine_from_mapping(doc: Any, *, where: str = "machine") -> Machine:
    """A machine from a parsed YAML mapping (keys: devices, host, disk, link): the same machine
    the same ``--gpu`` / ``--ram`` / ``--nvme`` flags give (`build_machine`'s rules, at most
    `MAX_DEVICES` devices in all, sizes and rates as text with units)."""
    if not isinstance(doc, Mapping):
        raise VramkitError(
            f"{where}: expected a mapping with 'devices' and 'host', got {type(doc).__name__}."
        )
    extra = set(doc) - _TOP
    if extra:
        raise VramkitError(
            f"{where}: unknown keys {shown(sorted(map(str, extra)))}; allowed: {sorted(_TOP)}."
        )
    top_link = doc.get("link")
    if top_link is not None:
        top_link = check_host_link(top_link, f"{where}: link")
    raw_devices = doc.get("devices") or []
    if not isinstance(raw_devices, list):
        raise VramkitError(f"{where}: 'devices' must be a list.")
    if len(raw_devices) > MAX_DEVICES:
        raise VramkitError(
            f"{where}: {len(raw_devices):,} device records; at most {MAX_DEVICES} devices in all."
        )
    devices: list[Device] = []
    for i, rec in enumerate(raw_devices):
        at = f"devices[{i}]"
        if not isinstance(rec, Mapping):
            raise VramkitError(
                f"{where}: {at} must be a mapping such as {{gpu: rtx-4090-24gb, count: 2}}."
            )
        bad = set(rec) - _DEV
        if bad:
            raise VramkitError(
                f"{where}: {at} has unknown keys {shown(sorted(map(str, bad)))}; allowed: {sorted(_DEV)}."
            )
        count = require_int(
            f"{where}: {at}.count", rec.get("count", 1), minimum=1, maximum=MAX_DEVICES
        )
        if len(devices) + count > MAX_DEVICES:
            raise VramkitError(
                f"{where}: {len(devices) + count} devices up to {at}; at most {MAX_DEVICES} in all."
            )
        if "name" in rec:
            _text_field(where, f"{at}.name", rec["name"], "my GPU")
        if "gpu" in rec:
            base = _text_field(where, f"{at}.gpu", rec["gpu"], "rtx-4090-24gb")
            if "@" in base:
                raise VramkitError(
                    f"{where}: {at}.gpu is a catalog id; write 'memory' and 'bandwidth' for {shown(base)}."
                )
        elif "memory" in rec and "bandwidth" in rec:
            mem = _text_field(where, f"{at}.memory", rec["memory"], "24GB")
            bw = _text_field(where, f"{at}.bandwidth", rec["bandwidth"], "936GB/s")
            base = f"{mem}@{bw}"
        else:
            raise VramkitError(
                f"{where}: {at} needs 'gpu' (a catalog id) or both 'memory' and 'bandwidth'."
            )
        lid = rec.get("link")
        lid = check_host_link(lid, f"{where}: {at}.link") if lid is not None else top_link
        devices.extend(parse_device_spec(f"{base}:{count}", start=len(devices), link=lid))
    host = None
    host_raw = doc.get("host")
    if host_raw is not None:
        if (
            not isinstance(host_raw, Mapping)
            or "ram" not in host_raw
            or set(host_raw) - {"ram", "bandwidth"}
        ):
            raise VramkitError(
                f"{where}: 'host' must be a mapping with 'ram' (and optional 'bandwidth')."
            )
        ram = _text_field(where, "host.ram", host_raw["ram"], "128GB")
        bw = host_raw.get("bandwidth")
        if bw is not None:
            bw = _text_field(where, "host.bandwidth", bw, "89.6GB/s")
        host = parse_host(ram, bw)
    disk_raw = doc.get("disk")
    nvme = None
    if disk_raw is not None:
        if not isinstance(disk_raw, Mapping) or not ({"link", "bandwidth"} & set(disk_raw)):
            raise VramkitError(f"{where}: 'disk' must be a mapping with 'link' or 'bandwidth'.")
        nvme = _text_field(
            where, "disk", disk_raw.get("link") or disk_raw.get("bandwidth"), "7.45GB/s"
        )
    return _assemble(devices, host, parse_disk(nvme), [])


def machine_from_file(path: str | Path) -> Machine:
    """A machine from a small YAML file (never written to): a regular file of at most
    `MAX_MACHINE_FILE_BYTES` (a FIFO or /dev/zero is refused before it is opened), UTF-8, parsed
    with bounded alias expansion and no duplicate keys (`vramkit.datafiles.load_user_yaml`)."""
    from ..datafiles import load_user_yaml
    from ..validate import decode_text, read_bytes, require_path

    p = require_path("machine file", path)
    raw = read_bytes(p, "machine file", max_bytes=MAX_MACHINE_FILE_BYTES)
    doc = load_user_yaml(decode_text(raw, f"machine file {p.name}"), f"machine file {p.name}")
    return machine_from_mapping(doc, where=p.name)


# ── this machine ─────────────────────────────────────────────────────────────────────────────
def local_machine() -> Machine:
    """This machine's GPUs (nvidia-ml-py) and RAM (psutil); says plainly when there is no GPU.

    Bandwidths NVML does not give are taken from the catalog entry whose name matches, else the
    GPU is listed with its memory and the catalog's RTX 4090 bandwidth is NOT assumed: the
    device gets 0 and a note (plans over it then say so).
    """
    notes: list[str] = []
    devices: list[Device] = []
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        pynvml = None
        notes.append(
            "nvidia-ml-py is not installed: no NVIDIA GPU can be read (pip install nvidia-ml-py)"
        )
    if pynvml is not None:
        try:
            pynvml.nvmlInit()
            for i in range(pynvml.nvmlDeviceGetCount()):
                h = pynvml.nvmlDeviceGetHandleByIndex(i)
                name = pynvml.nvmlDeviceGetName(h)
                name = name.decode() if isinstance(name, bytes) else str(name)
                total = int(pynvml.nvmlDeviceGetMemoryInfo(h).total)
                devices.append(_local_device(i, name, total, notes))
            pynvml.nvmlShutdown()
        except Exception as err:  # pynvml.NVMLError: no driver, no GPU
            notes.append(f"NVML found no usable NVIDIA GPU ({err.__class__.__name__})")
    if not devices and sys.platform == "darwin":
        devices.extend(_local_apple(notes))
    if not devices:
        notes.append("no GPU found on this machine: plans run from host RAM only")
    if any(d.unified for d in devices):
        from .host import Host

        d = devices[0]
        host = Host(d.memory_bytes - d.usable_bytes, d.bandwidth_bytes_per_s, None,
                    "unified pool outside the GPU working set")  # fmt: skip
        return Machine(tuple(devices), host, None, tuple(notes))
    host = None
    try:
        import psutil

        vm = psutil.virtual_memory()
        # what is free now, not the total: the OS and other processes keep what they hold
        host = parse_host(int(vm.available))
        notes.append(
            f"host RAM offered: {vm.available / GB:.1f} GB available now of "
            f"{vm.total / GB:.1f} GB (psutil); the OS and running processes keep the rest"
        )
    except ImportError:
        notes.append(
            "psutil is not installed: host RAM unknown (pip install psutil, or pass --ram)"
        )
    if host is not None:
        notes.append(f"host RAM bandwidth assumed: {get_link(DEFAULT_HOST_MEMORY).name}")
    return Machine(tuple(devices), host, None, tuple(notes))


def _local_apple(notes: list[str]) -> list[Device]:
    """This Mac's GPU: Metal's recommendedMaxWorkingSetSize (pyobjc-framework-Metal, optional)
    over the unified pool (psutil); bandwidth from a catalog entry of the same chip, else 0."""
    try:
        import Metal  # pyobjc-framework-Metal
        import psutil
    except ImportError:
        notes.append(
            "on macOS: pip install pyobjc-framework-Metal psutil to read the GPU working set"
        )
        return []
    dev = Metal.MTLCreateSystemDefaultDevice()
    if dev is None:
        return []
    name = str(dev.name())
    ws = int(dev.recommendedMaxWorkingSetSize())
    pool = int(psutil.virtual_memory().total)
    bw = 0.0
    chip = re.sub(r"^apple\s+", "", name.lower())
    for g in gpus().values():
        if g.vendor == "apple" and chip in g.name.lower():
            bw = float(g.bandwidth_bytes_per_s or 0.0)
    if not bw:
        notes.append(
            f"{name}: memory bandwidth not in data/gpus.yaml (give --gpu {pool // GB}GB@…GB/s)"
        )
    notes.append(
        f"{name}: GPU working set {ws / GiB:.2f} GiB (Metal recommendedMaxWorkingSetSize) of {pool / GiB:.0f} GiB"
    )
    return [Device(0, name, None, pool, min(ws, pool), bw, True, None, None, None,
                   "local (Metal recommendedMaxWorkingSetSize)")]  # fmt: skip


def _local_device(i: int, name: str, total: int, notes: list[str]) -> Device:
    norm = re.sub(r"[^a-z0-9]+", " ", name.lower())
    for g in gpus().values():
        gname = re.sub(r"[^a-z0-9]+", " ", g.name.lower())
        if gname.startswith(norm) or norm in gname:
            d = _catalog_device(i, g, None)
            from dataclasses import replace

            return replace(
                d, memory_bytes=total, usable_bytes=total, source=f"local (NVML): {name}"
            )
    notes.append(
        f"{name}: not in data/gpus.yaml, bandwidth unknown (give --gpu {total // GB}GB@…GB/s)"
    )
    return Device(i, name, None, total, total, 0.0, False, DEFAULT_HOST_LINK,
                  get_link(DEFAULT_HOST_LINK).one_way_bytes_per_s, None, f"local (NVML): {name}")  # fmt: skip


def resolve_machine(
    *,
    machine: str | None = None,
    gpu: Sequence[str] = (),
    ram: str | None = None,
    ram_bandwidth: str | None = None,
    nvme: str | None = None,
    link: str | None = None,
    wired_limit: str | None = None,
) -> Machine:
    """The machine from CLI-style arguments: `machine` ('local' or a YAML path) or the flags."""
    if isinstance(gpu, str) or not isinstance(gpu, Sequence):
        raise VramkitError(
            f"gpu must be a list of GPU specs such as ['rtx-4090-24gb:2'], got {_kind_of(gpu)}."
        )
    if machine is not None and not isinstance(machine, str | Path):
        raise VramkitError(f"machine must be 'local' or a YAML path, got {_kind_of(machine)}.")
    if machine is not None:
        if gpu:
            raise VramkitError("give either --machine or --gpu, not both.")
        for flag, value in (("--link", link), ("--wired-limit", wired_limit)):
            if value is not None:
                raise VramkitError(
                    f"{flag} describes --gpu devices; with --machine write it in the machine file "
                    "(a device's 'link') or drop --machine."
                )
        if isinstance(machine, str) and machine.strip().lower() == "local":
            m = local_machine()
        else:
            m = machine_from_file(machine)
        if ram is not None:
            m = Machine(m.devices, parse_host(ram, ram_bandwidth), m.disk, m.notes)
        if nvme is not None:
            m = Machine(m.devices, m.host, parse_disk(nvme), m.notes)
        return m
    return build_machine(
        list(gpu),
        ram=ram,
        ram_bandwidth=ram_bandwidth,
        nvme=nvme,
        link=link,
        wired_limit=wired_limit,
    )


catalog_device = _catalog_device
"""Public name of `_catalog_device` (device `i` of a catalog GPU; vramkit.plan.count)."""
