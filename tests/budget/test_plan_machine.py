"""Machine descriptions: CLI specs, YAML files, Apple's working-set cap, `--machine local`."""

from __future__ import annotations

import builtins
import sys

import pytest

from vramkit.errors import VramkitError
from vramkit.plan.machine import (
    apple_working_set,
    build_machine,
    machine_from_file,
    parse_device_spec,
    parse_rate,
    resolve_machine,
)
from vramkit.units import GB, GiB, MiB


def test_catalog_ids_with_counts_and_adhoc_specs() -> None:
    m = build_machine(["rtx-4090-24gb:2", "24GB@936GB/s"], ram="128GB@89.6GB/s")
    assert [d.index for d in m.devices] == [0, 1, 2]
    # data/gpus.yaml: RTX 4090 counted by its driver-visible total, nvidia-smi's 24564 MiB
    # (the vendor's "24 GB" is 24 GiB of GDDR6X), at 21 Gbit/s × 384 / 8 = 1008 GB/s
    assert m.devices[0].memory_bytes == 24564 * 2**20
    assert m.devices[0].bandwidth_bytes_per_s == 1008 * GB
    assert m.devices[2].gpu_id is None
    assert m.devices[2].memory_bytes == 24 * GB
    assert m.devices[2].bandwidth_bytes_per_s == 936 * GB
    assert m.host is not None
    assert m.host.ram_bytes == 128 * GB
    assert m.host.bandwidth_bytes_per_s == pytest.approx(89.6 * GB)
    assert not m.homogeneous


def test_default_host_bandwidth_is_labelled_an_assumption() -> None:
    m = build_machine(["rtx-4090-24gb"], ram="64GB")
    # links.yaml ddr5-5600-2ch: 5600 MT/s × 8 B × 2 channels = 89.6 GB/s
    assert m.host is not None
    assert m.host.bandwidth_bytes_per_s == pytest.approx(89.6e9)
    assert any("assumed" in n for n in m.notes)


def test_rates_and_links() -> None:
    assert parse_rate("1.8 TB/s") == 1.8e12
    assert parse_rate("7450MB/s") == 7.45e9
    # PCIe Gen4 x16: 64 GB/s both ways → 32 GB/s one way (links.yaml)
    assert parse_rate("pcie-gen4-x16") == 32e9


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rtx-9999", "unknown GPU"),
        ("rtx-4090-24gb:0", ">= 1"),
        ("rtx-4090-24gb:two", "whole number"),
        ("24GB@fast", "cannot read GPU memory bandwidth 'fast'"),
        ("0GB@1GB/s", "must be positive"),
        ("", "empty GPU spec"),
        ("rtx-4090-24gb:65", "<= 64"),
    ],
)
def test_bad_device_specs_say_what_is_allowed(spec: str, message: str) -> None:
    with pytest.raises(VramkitError, match=message):
        parse_device_spec(spec)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"ram": "lots"}, "cannot read host RAM size"),
        ({"ram": "64GB@slow"}, "cannot read host RAM bandwidth"),
        ({"nvme": "floppy"}, "cannot read NVMe bandwidth"),
        ({"link": "usb"}, "unknown link"),
    ],
)
def test_bad_host_and_links(kw: dict[str, str], message: str) -> None:
    with pytest.raises(VramkitError, match=message):
        build_machine(["rtx-4090-24gb"], **kw)


def test_yaml_machine(tmp_path) -> None:
    f = tmp_path / "box.yaml"
    f.write_text(
        "devices:\n"
        "  - {gpu: rtx-3090-24gb}\n"
        "  - {gpu: rtx-4090-24gb, link: pcie-gen5-x16}\n"
        "  - {memory: 48GB, bandwidth: 864GB/s, count: 2}\n"
        "host: {ram: 256GB, bandwidth: ddr5-4800-12ch-epyc9004}\n"
        "disk: {link: nvme-gen4-990pro}\n",
        encoding="utf-8",
    )
    before = f.read_bytes()
    m = machine_from_file(f)
    assert f.read_bytes() == before  # never written
    assert len(m.devices) == 4
    assert m.devices[0].memory_bytes == 24 * GiB  # the 3090 entry is written in GiB
    assert m.devices[1].host_link_bytes_per_s == 64e9  # PCIe 5 x16: 128 GB/s both ways
    assert m.host is not None
    assert m.host.bandwidth_bytes_per_s == pytest.approx(460.8e9)
    assert m.disk is not None
    assert m.disk.bandwidth_bytes_per_s == 7.45e9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just a list\n", "expected a mapping"),
        ("devices: 3\n", "must be a list"),
        ("devices: [{gpu: rtx-4090-24gb, colour: red}]\n", "unknown keys"),
        ("devices: [{memory: 24GB}]\n", "needs 'gpu'"),
        ("host: 128GB\n", "'host' must be a mapping"),
        ("gpus: []\n", "unknown keys"),
        ("devices: [{gpu: rtx-4090-24gb\n", "not valid YAML"),
    ],
)
def test_bad_yaml_machines(tmp_path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(VramkitError, match=message):
        machine_from_file(f)


def test_missing_machine_file() -> None:
    with pytest.raises(VramkitError, match=r"machine file .* does not exist"):
        machine_from_file("no-such-machine.yaml")


def test_apple_working_set_measured_points_and_estimate() -> None:
    # data/apple_working_set.yaml: 32 GiB → 21845.34 MiB (llama.cpp#2011), 128 GiB → 107.52 GiB
    ws, why = apple_working_set(32 * GiB)
    assert ws == round(21845.34 * MiB)
    assert "measured" in why
    ws, why = apple_working_set(128 * GiB)
    assert ws == round(107.52 * GiB)
    assert "measured" in why
    # 512 GB (the Mac Studio entry, GB = 1e9): nearest measured ratio 107.52/128 = 0.84
    ws, why = apple_working_set(512 * GB)
    assert ws == int(512 * GB * round(107.52 * GiB) / (128 * GiB))
    assert "estimate" in why
    ws, why = apple_working_set(512 * GB, wired_limit_bytes=400 * GiB)
    assert ws == 400 * GiB
    assert "override" in why


def test_apple_unified_pool_outside_the_working_set_is_host_ram() -> None:
    m = build_machine(["mac-studio-m3-ultra-512gb"])
    d = m.devices[0]
    assert d.unified
    assert d.usable_bytes < d.memory_bytes
    assert m.host is not None
    assert m.host.ram_bytes == d.memory_bytes - d.usable_bytes
    assert m.host.bandwidth_bytes_per_s == d.bandwidth_bytes_per_s
    lim = build_machine(["mac-studio-m3-ultra-512gb"], wired_limit="400GiB")
    assert lim.devices[0].usable_bytes == 400 * GiB


def test_local_machine_without_nvml_says_no_gpu(monkeypatch) -> None:
    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name == "pynvml":
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake)
    m = resolve_machine(machine="local")
    assert m.devices == ()
    assert any("no GPU" in n for n in m.notes)


def test_machine_and_gpu_flags_are_exclusive() -> None:
    with pytest.raises(VramkitError, match="either --machine or --gpu"):
        resolve_machine(machine="local", gpu=["rtx-4090-24gb"])


def test_example_machine_files_parse() -> None:
    from vramkit.datafiles import DATA_DIR

    files = sorted((DATA_DIR / "machines").glob("*.yaml"))
    assert len(files) >= 2
    for f in files:
        m = machine_from_file(f)
        assert m.devices
        assert m.host is not None
    desk = machine_from_file(DATA_DIR / "machines" / "desktop-3090-4090.yaml")
    assert not desk.homogeneous
    assert desk.disk is not None


def test_local_mac_reads_metal_working_set(monkeypatch) -> None:
    """On macOS, `--machine local` asks Metal for recommendedMaxWorkingSetSize (a stand-in Metal
    module here: 128 GiB pool, 107.52 GiB working set as measured in antirez/ds4#893)."""
    import types

    from vramkit.plan import machine as mach

    class FakeDevice:
        def name(self) -> str:
            return "Apple M3 Ultra"

        def recommendedMaxWorkingSetSize(self) -> int:
            return round(107.52 * GiB)

    fake_metal = types.SimpleNamespace(MTLCreateSystemDefaultDevice=FakeDevice)
    fake_psutil = types.SimpleNamespace(
        virtual_memory=lambda: types.SimpleNamespace(total=128 * GiB)
    )
    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name == "pynvml":
            raise ImportError(name)
        if name == "Metal":
            return fake_metal
        if name == "psutil":
            return fake_psutil
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    monkeypatch.setattr(mach.sys, "platform", "darwin")
    m = mach.local_machine()
    d = m.devices[0]
    assert d.unified
    assert d.usable_bytes == round(107.52 * GiB)
    assert d.bandwidth_bytes_per_s == 819e9  # the catalog's M3 Ultra entry
    assert m.host is not None
    assert m.host.ram_bytes == 128 * GiB - round(107.52 * GiB)


def test_local_machine_offers_the_ram_available_now_not_the_total(monkeypatch) -> None:
    """--machine local on a GPU-less Linux box: host RAM is psutil's `available` (what the OS
    and running processes leave), and the note says how much of the total that is."""
    import types

    from vramkit.plan import machine as mach

    fake_psutil = types.SimpleNamespace(
        virtual_memory=lambda: types.SimpleNamespace(total=128 * GiB, available=100 * GiB)
    )
    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name == "pynvml":
            raise ImportError(name)
        if name == "psutil":
            return fake_psutil
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    monkeypatch.setattr(mach.sys, "platform", "linux")
    m = mach.local_machine()
    assert m.devices == ()
    assert m.host is not None
    assert m.host.ram_bytes == 100 * GiB
    assert any("107.4 GB available now of 137.4 GB" in n for n in m.notes)
    assert any("no GPU found" in n for n in m.notes)
