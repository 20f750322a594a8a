"""Validator for the sourced hardware / runtime catalogs: data/gpus.yaml, data/links.yaml,
data/runtimes.yaml.

Checks that every figure carries a source (https url + exact quote), ids are unique kebab-case,
units come from the allowed sets, every host_link / peer_link id exists in links.yaml, weakly
sourced figures are marked unconfirmed, runtime figures say whether they are estimates, and a few
values are pinned to the vendor text they come from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

DATA = Path(__file__).resolve().parents[2] / "data"

KEBAB = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
"""kebab-case ids; a dot is allowed where the project spells itself so (llama.cpp)."""

SOURCE_KINDS = {
    "vendor-doc",
    "benchmark-submission",
    "press",
    "secondary",
    "measured",
    "derived",
    "code",
    "survey-cited",
}
# Sources that are not the vendor / the runtime's own code / a measurement must be flagged.
WEAK_KINDS = {"press", "secondary", "derived", "survey-cited"}

MEMORY_UNITS = {"GB", "GiB"}
GPU_BANDWIDTH_UNITS = {"GB/s", "TB/s"}
LINK_BANDWIDTH_UNITS = {"GB/s", "TB/s", "MB/s", "Gb/s"}
VISIBLE_UNITS = {"MiB", "GiB", "GB"}
MEMORY_KINDS = {"HBM2", "HBM2e", "HBM3", "HBM3e", "GDDR6", "GDDR6X", "GDDR7", "LPDDR5X", "unified"}
VENDORS = {"nvidia", "amd", "apple"}
LINK_KINDS = {"host-link", "peer-link", "network", "host-memory", "storage"}
DIRECTIONS = {"per-direction", "bidirectional", "line-rate", "shared", "read"}
RUNTIME_UNITS = {"GiB", "MiB", "GB", "MB", "bytes", "fraction", "tokens", None}
RETRIEVED = dt.date(2026, 11, 29)


def _load(name: str) -> dict[str, Any]:
    with (DATA / name).open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert isinstance(doc, dict), f"{name}: top level must be a mapping"
    assert doc.get("schema_version") == 1, f"{name}: schema_version must be 1"
    return doc


@pytest.fixture(scope="module")
def gpus() -> list[dict[str, Any]]:
    return _load("gpus.yaml")["gpus"]


@pytest.fixture(scope="module")
def links() -> list[dict[str, Any]]:
    return _load("links.yaml")["links"]


@pytest.fixture(scope="module")
def runtimes() -> list[dict[str, Any]]:
    return _load("runtimes.yaml")["runtimes"]


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


def _sources(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping with a `url` key anywhere below `node` is a source."""
    if isinstance(node, dict):
        if "url" in node:
            yield path, node
        for key, value in node.items():
            yield from _sources(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _sources(item, f"{path}[{i}]")


def _check_source(where: str, src: dict[str, Any]) -> None:
    url = src.get("url")
    assert isinstance(url, str), f"{where}: url must be text: {url!r}"
    assert url.startswith("https://"), f"{where}: url must be https: {url!r}"
    quote = src.get("quote")
    assert isinstance(quote, str), f"{where}: quote must be text"
    assert quote.strip(), f"{where}: quote must be non-empty"
    kind = src.get("kind")
    assert kind in SOURCE_KINDS, f"{where}: kind {kind!r} not in {sorted(SOURCE_KINDS)}"
    retrieved = src.get("retrieved")
    if isinstance(retrieved, str):
        retrieved = dt.date.fromisoformat(retrieved)
    assert isinstance(retrieved, dt.date), f"{where}: retrieved must be a date, got {retrieved!r}"
    assert RETRIEVED <= retrieved <= dt.date.today(), (
        f"{where}: retrieved must be a date from {RETRIEVED} to today, got {retrieved!r}"
    )
    if kind in WEAK_KINDS:
        assert src.get("status") == "unconfirmed", (
            f"{where}: a {kind} source must carry status: unconfirmed"
        )
    if kind == "derived":
        assert src.get("formula"), f"{where}: a derived figure must give its formula"


# ---------------------------------------------------------------------------- every file


@pytest.mark.parametrize("name", ["gpus.yaml", "links.yaml", "runtimes.yaml"])
def test_every_source_has_https_url_quote_and_kind(name: str) -> None:
    doc = _load(name)
    found = list(_sources(doc))
    assert found, f"{name}: no sources at all"
    for where, src in found:
        _check_source(f"{name}:{where}", src)


@pytest.mark.parametrize(
    ("name", "key"), [("gpus.yaml", "gpus"), ("links.yaml", "links"), ("runtimes.yaml", "runtimes")]
)
def test_ids_unique_kebab_case(name: str, key: str) -> None:
    ids = [r["id"] for r in _load(name)[key]]
    assert ids, f"{name}: empty"
    for i in ids:
        assert isinstance(i, str), f"{name}: id {i!r} is not text"
        assert KEBAB.match(i), f"{name}: id {i!r} is not kebab-case"
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"{name}: duplicate ids {sorted(dupes)}"


# ---------------------------------------------------------------------------- gpus.yaml


def test_gpu_records_complete(gpus: list[dict[str, Any]]) -> None:
    for g in gpus:
        gid = g["id"]
        assert g.get("name"), gid
        assert g["vendor"] in VENDORS, f"{gid}: vendor {g['vendor']!r}"
        assert g["memory_unit"] in MEMORY_UNITS, f"{gid}: memory_unit {g['memory_unit']!r}"
        assert isinstance(g["memory"], int | float), gid
        assert g["memory"] > 0, gid
        assert g["memory_kind"] in MEMORY_KINDS, f"{gid}: memory_kind {g['memory_kind']!r}"
        assert isinstance(g["unified"], bool), gid
        assert g["bandwidth_unit"] in GPU_BANDWIDTH_UNITS, f"{gid}: {g['bandwidth_unit']!r}"
        if g["bandwidth"] is None:
            assert g.get("bandwidth_status") == "unsourced", (
                f"{gid}: a null bandwidth must say bandwidth_status: unsourced"
            )
        else:
            assert isinstance(g["bandwidth"], int | float), gid
            assert g["bandwidth"] > 0, gid
        assert isinstance(g.get("source"), dict), f"{gid}: missing source"
        _check_source(f"{gid}.source", g["source"])
        if "visible_memory" in g:
            vm = g["visible_memory"]
            assert vm["unit"] in VISIBLE_UNITS, f"{gid}: visible_memory unit {vm['unit']!r}"
            assert vm["value"] > 0, gid
            _check_source(f"{gid}.visible_memory.source", vm["source"])
        if "cuda_total_memory" in g:  # what CUDA reports: sourced, below nvidia-smi's total
            ct = g["cuda_total_memory"]
            assert ct["unit"] in VISIBLE_UNITS, f"{gid}: cuda_total_memory unit {ct['unit']!r}"
            _check_source(f"{gid}.cuda_total_memory.source", ct["source"])
            assert "visible_memory" in g, f"{gid}: cuda_total_memory without visible_memory"
            get = {"MiB": 2**20, "GiB": 2**30, "GB": 10**9}
            vis = g["visible_memory"]
            assert ct["value"] * get[ct["unit"]] < vis["value"] * get[vis["unit"]], gid
        for alt in g.get("alt_sources", []):
            assert alt.get("figure"), f"{gid}: alt source without figure"
            assert alt.get("note"), (
                f"{gid}: alt source must say how it relates (agrees / disagrees)"
            )


def test_gpu_links_exist_and_have_the_right_kind(
    gpus: list[dict[str, Any]], links: list[dict[str, Any]]
) -> None:
    by_id = _by_id(links)
    for g in gpus:
        for field, kind in (("host_link", "host-link"), ("peer_link", "peer-link")):
            ref = g.get(field)
            if ref is None:
                continue
            assert ref in by_id, f"{g['id']}.{field}: {ref!r} not in links.yaml"
            assert by_id[ref]["kind"] == kind, (
                f"{g['id']}.{field}: {ref!r} is a {by_id[ref]['kind']}, expected {kind}"
            )


def test_unified_parts(gpus: list[dict[str, Any]]) -> None:
    by_id = _by_id(gpus)
    assert by_id["dgx-spark-gb10-128gb"]["unified"] is True
    assert by_id["mac-studio-m3-ultra-512gb"]["unified"] is True
    assert by_id["h100-sxm-80gb"]["unified"] is False


def test_required_gpus_present(gpus: list[dict[str, Any]]) -> None:
    ids = set(_by_id(gpus))
    required = {
        "rtx-4090-24gb",
        "rtx-5090-32gb",
        "l40s-48gb",
        "rtx-pro-6000-blackwell-96gb",
        "a100-sxm4-40gb",
        "a100-sxm4-80gb",
        "h100-sxm-80gb",
        "h200-sxm-141gb",
        "b200-180gb",
        "b300-288gb",
        "mi300x-192gb",
        "mi325x-256gb",
        "mi355x-288gb",
        "dgx-spark-gb10-128gb",
        "mac-studio-m3-ultra-512gb",
    }
    assert required <= ids, f"missing: {sorted(required - ids)}"


# ---------------------------------------------------------------------------- links.yaml


def test_link_records_complete(links: list[dict[str, Any]]) -> None:
    for link in links:
        lid = link["id"]
        assert link.get("name"), lid
        assert link["kind"] in LINK_KINDS, f"{lid}: kind {link['kind']!r}"
        assert link["bandwidth_unit"] in LINK_BANDWIDTH_UNITS, f"{lid}: {link['bandwidth_unit']!r}"
        assert isinstance(link["bandwidth"], int | float), lid
        assert link["bandwidth"] > 0, lid
        assert link["direction"] in DIRECTIONS, f"{lid}: direction {link['direction']!r}"
        _check_source(f"{lid}.source", link["source"])
        if link["kind"] == "network":
            assert link["bandwidth_unit"] == "Gb/s", f"{lid}: network ports are rated in Gb/s"


# ---------------------------------------------------------------------------- runtimes.yaml


def _figures(runtime: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Runtime figures: mappings with `value` and `source` (nested one level for kv_block_tokens)."""
    for key, value in runtime.items():
        if isinstance(value, dict) and "value" in value and "source" in value:
            yield key, value
        elif isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, dict) and "value" in inner and "source" in inner:
                    yield f"{key}.{sub}", inner


def test_runtime_figures_are_flagged_and_sourced(runtimes: list[dict[str, Any]]) -> None:
    for rt in runtimes:
        figs = list(_figures(rt))
        assert figs, f"{rt['id']}: no figures"
        assert rt.get("budget_formula"), f"{rt['id']}: say what the memory fraction multiplies"
        for key, fig in figs:
            where = f"{rt['id']}.{key}"
            assert isinstance(fig.get("estimate"), bool), f"{where}: estimate must be true/false"
            assert fig.get("unit") in RUNTIME_UNITS, f"{where}: unit {fig.get('unit')!r}"
            _check_source(f"{where}.source", fig["source"])
            if fig["source"]["kind"] in WEAK_KINDS:
                assert fig["estimate"] is True, f"{where}: a weakly sourced figure is an estimate"
            for i, alt in enumerate(fig.get("alternatives", [])):
                assert alt.get("unit") in RUNTIME_UNITS, f"{where}.alternatives[{i}]"
                _check_source(f"{where}.alternatives[{i}].source", alt["source"])


def test_required_runtimes_present(runtimes: list[dict[str, Any]]) -> None:
    assert {"vllm", "llama.cpp", "sglang", "reference"} <= set(_by_id(runtimes))


# ---------------------------------------------------------------------------- pinned values


def test_pinned_h200(gpus: list[dict[str, Any]], links: list[dict[str, Any]]) -> None:
    h200 = _by_id(gpus)["h200-sxm-141gb"]
    # NVIDIA's MLPerf v4.1 system file: "accelerator_memory_capacity": "141 GB",
    # "accelerator_memory_configuration": "HBM3e"
    assert (h200["memory"], h200["memory_unit"], h200["memory_kind"]) == (141, "GB", "HBM3e")
    # AnandTech's SC23 table: "Memory Bandwidth 4.8TB/sec 3.35TB/sec 2TB/sec" (H200 | H100 | A100)
    assert (h200["bandwidth"], h200["bandwidth_unit"]) == (4.8, "TB/s")
    # same NVIDIA MLPerf file: "accelerator_interconnect": "18x 4th Gen NVLink, 900GB/s"
    assert h200["peer_link"] == "nvlink4-900"
    assert "141 GB" in h200["source"]["quote"]
    assert "4.8TB/sec" in h200["bandwidth_source"]["quote"]


def test_pinned_h100(gpus: list[dict[str, Any]]) -> None:
    h100 = _by_id(gpus)["h100-sxm-80gb"]
    # Dell's MLPerf v3.1 H100 SXM file: "accelerator_memory_capacity": "80 GB"
    assert (h100["memory"], h100["memory_unit"]) == (80, "GB")
    assert (h100["bandwidth"], h100["bandwidth_unit"]) == (3.35, "TB/s")
    # nvidia-smi (modal-client#2797): "H100: 81559MiB (85.52 GB)"
    assert h100["visible_memory"]["value"] == 81559
    assert h100["visible_memory"]["unit"] == "MiB"
    # NVIDIA's Hopper tuning guide disagrees: "supports up to 3 TB/s memory bandwidth"
    assert any(a["value"] == 3 and a["kind"] == "vendor-doc" for a in h100["alt_sources"])


def test_pinned_b200_180_not_192(gpus: list[dict[str, Any]]) -> None:
    b200 = _by_id(gpus)["b200-180gb"]
    # NVIDIA Blackwell tuning guide: "The NVIDIA B200 GPU has support for HBM3 and HBM3e memory,
    # with capacity up to 180 GB."
    assert (b200["memory"], b200["memory_unit"]) == (180, "GB")
    assert b200["source"]["kind"] == "vendor-doc"
    # the 192 GB figure is kept as a disagreeing alternative, not used
    assert any(a["figure"] == "memory" and a["value"] == 192 for a in b200["alt_sources"])


def test_pinned_amd_gib(gpus: list[dict[str, Any]]) -> None:
    by_id = _by_id(gpus)
    # ROCm GPU specs table, column "VRAM (GiB)": "MI355X | CDNA4 | gfx950 | 288"
    assert (by_id["mi355x-288gb"]["memory"], by_id["mi355x-288gb"]["memory_unit"]) == (288, "GiB")
    # same table: "MI325X | CDNA3 | gfx942 | 256"
    assert (by_id["mi325x-256gb"]["memory"], by_id["mi325x-256gb"]["memory_unit"]) == (256, "GiB")
    # AMD's MLPerf v4.1 file: "accelerator_memory_capacity": "192 GB"
    assert (by_id["mi300x-192gb"]["memory"], by_id["mi300x-192gb"]["memory_unit"]) == (192, "GB")


def test_pinned_dgx_spark(gpus: list[dict[str, Any]]) -> None:
    spark = _by_id(gpus)["dgx-spark-gb10-128gb"]
    # docs.nvidia.com DGX Spark porting guide: "sharing 128GB of LPDDR5x memory with the
    # integrated GPU (iGPU)"
    assert (spark["memory"], spark["memory_unit"], spark["memory_kind"]) == (128, "GB", "LPDDR5X")
    # "the 273 GB/s memory bandwidth" (HF DGX Spark handbook)
    assert (spark["bandwidth"], spark["bandwidth_unit"]) == (273, "GB/s")


def test_pinned_links(links: list[dict[str, Any]]) -> None:
    by_id = _by_id(links)
    # Hopper tuning guide: "yielding 900 GB/s bidirectional bandwidth compared to 600 GB/s for A100"
    assert (by_id["nvlink4-900"]["bandwidth"], by_id["nvlink4-900"]["direction"]) == (
        900,
        "bidirectional",
    )
    # Ampere tuning guide: "yielding 600 GB/s bidirectional bandwidth versus 300 GB/s for V100"
    assert by_id["nvlink3-600"]["bandwidth"] == 600
    # ConnectX-8 release notes: "supports 800Gb/s or XDR IB or 2 x 400GbE link speeds"
    assert (by_id["ib-xdr-800"]["bandwidth"], by_id["ib-xdr-800"]["bandwidth_unit"]) == (
        800,
        "Gb/s",
    )
    # "PCIe 6.0 supports 64 GT/s or 128 GB/s per direction on an x16 connection"
    assert (by_id["pcie-gen6-x16"]["bandwidth"], by_id["pcie-gen6-x16"]["direction"]) == (
        128,
        "per-direction",
    )


def test_pinned_runtimes(runtimes: list[dict[str, Any]]) -> None:
    by_id = _by_id(runtimes)
    # llama.cpp common/common.h: "fit_params_target = std::vector<size_t>(llama_max_devices(),
    # 1024 * 1024*1024);" -> 1024 MiB margin per device
    margin = by_id["llama.cpp"]["fit_margin"]
    assert (margin["value"], margin["unit"]) == (1024 * 1024 * 1024, "bytes")
    # vllm/config/cache.py: "DEFAULT_BLOCK_SIZE: ClassVar[int] = 16"
    assert by_id["vllm"]["kv_block_tokens"]["default"]["value"] == 16
    # vLLM issue #51163: "256 for the CSA/full-MLA attention group"
    assert by_id["vllm"]["kv_block_tokens"]["deepseek_v4"]["value"] == 256
    # vllm/config/cache.py @ 002f10e0: "If unspecified, will use the default value of 0.92."
    vf = by_id["vllm"]["memory_fraction_default"]
    assert vf["value"] == 0.92
    assert any(a["value"] == 0.9 for a in vf["alternatives"])
