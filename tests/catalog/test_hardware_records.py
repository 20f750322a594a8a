"""vramkit.hardware: units converted honestly, links one-way, runtimes resolved."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.hardware import get_gpu, get_link, gpus, links
from vramkit.runtimes import get_runtime, runtimes


def test_memory_units_as_written() -> None:
    # gpus.yaml: H100 "memory: 80, memory_unit: GB" → 80e9; MI325X "256 GiB" → 256 · 2**30
    assert get_gpu("h100-sxm-80gb").memory_bytes == 80 * 10**9
    assert get_gpu("mi325x-256gb").memory_bytes == 256 * 2**30
    # visible_memory 81559 MiB = 81559 · 2**20 = 85,520,809,984 bytes
    assert get_gpu("h100-sxm-80gb").visible_memory_bytes == 85_520_809_984
    assert get_gpu("h200-sxm-141gb").bandwidth_bytes_per_s == pytest.approx(4.8e12)
    assert get_gpu("dgx-spark-gb10-128gb").unified


def test_link_rates_one_way() -> None:
    # PCIe Gen5 x16: 128 GB/s bidirectional → 64e9 B/s each way
    assert get_link("pcie-gen5-x16").one_way_bytes_per_s == pytest.approx(64e9)
    # NDR 400 Gb/s line rate = 400e9 / 8 = 50e9 B/s
    assert get_link("ib-ndr-400").one_way_bytes_per_s == pytest.approx(50e9)
    # NVMe 7450 MB/s read = 7.45e9 B/s
    assert get_link("nvme-gen4-990pro").one_way_bytes_per_s == pytest.approx(7.45e9)


def test_runtime_profiles() -> None:
    v = get_runtime("vllm")
    assert v.memory_fraction == pytest.approx(0.92)
    assert v.cuda_context_bytes == 287_047_680
    # nccl 2.1 GiB = round(2.1 · 2**30) = 2,254,857,830 bytes
    assert v.nccl_bytes_per_gpu == 2_254_857_830
    ll = get_runtime("llama.cpp")
    assert ll.id == "llama.cpp"
    assert get_runtime("llama-cpp") is ll  # the old spelling, a documented alias
    assert ll.margin_bytes == 2**30
    assert ll.nccl_bytes_per_gpu == 0
    assert get_runtime("trtllm").fraction_of == "free"
    assert "stand-in" in get_runtime("reference").figures["nccl"].note


def test_every_record_loads_and_links_resolve() -> None:
    for g in gpus().values():
        assert g.memory_bytes > 0
        for lid in (g.host_link, g.peer_link):
            assert lid is None or lid in links()
    assert set(runtimes()) >= {"vllm", "llama.cpp", "sglang", "trtllm", "reference"}


def test_unknown_names() -> None:
    assert (
        get_gpu("h100-sxm-80").id == "h100-sxm-80gb"
    )  # a typed name (tests/catalog/test_gpu_names.py)
    with pytest.raises(VramkitError, match="h100-sxm-80gb"):
        get_gpu("h100-sxm-96")
    with pytest.raises(VramkitError, match="Valid links"):
        get_link("pcie9")
    with pytest.raises(VramkitError, match="vllm"):
        get_runtime("vlm")
