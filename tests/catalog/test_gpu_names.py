"""GPU names people type resolve through ONE resolver (`vramkit.hardware.resolve_gpu`) in every
face that takes a GPU: `fit --gpu`, `plan --gpu`, machine files, the planner panel and the API.
An ambiguous name lists its choices; an unknown one gets the nearest ids."""

from __future__ import annotations

import pytest

from vramkit.budget import budget
from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.hardware import get_gpu, nearest_gpus, resolve_gpu, split_gpu_count
from vramkit.plan.machine import build_machine, machine_from_mapping

TYPED = [
    ("H200", "h200-sxm-141gb"),
    ("h100", "h100-sxm-80gb"),
    ("4090", "rtx-4090-24gb"),
    ("rtx 4090", "rtx-4090-24gb"),
    ("RTX-4090", "rtx-4090-24gb"),
    ("NVIDIA GeForce RTX 4090", "rtx-4090-24gb"),
    ("a100-80gb", "a100-sxm4-80gb"),
    ("A100 40GB", "a100-sxm4-40gb"),
    ("3090", "rtx-3090-24gb"),
    ("mi300x", "mi300x-192gb"),
    ("rtx-4090-24gb", "rtx-4090-24gb"),
    ("H200-SXM-141GB", "h200-sxm-141gb"),
]


@pytest.mark.parametrize(("typed", "gid"), TYPED)
def test_typed_names_resolve(typed: str, gid: str) -> None:
    assert resolve_gpu(typed).id == gid
    assert get_gpu(typed).id == gid


def test_h200_is_not_gh200() -> None:
    # the old answer: "did you mean gh200-96gb, gh200-144gb?" — 'h200' is a word of one id only
    assert resolve_gpu("H200").id == "h200-sxm-141gb"


@pytest.mark.parametrize(("typed", "choices"), [
    ("a100", ["a100-sxm4-40gb", "a100-sxm4-80gb"]),
    ("gh200", ["gh200-144gb", "gh200-96gb"]),
])  # fmt: skip
def test_ambiguous_names_list_the_choices(typed: str, choices: list[str]) -> None:
    with pytest.raises(VramkitError, match="ambiguous") as err:
        resolve_gpu(typed)
    for c in choices:
        assert c in str(err.value)


@pytest.mark.parametrize(("typed", "first"), [
    ("rtx 4080", "rtx-4090-24gb"),
    ("H100 PCIe", "h100-sxm-80gb"),
    ("rtx-9999", "rtx-3090-24gb"),
])  # fmt: skip
def test_unknown_names_suggest_the_nearest(typed: str, first: str) -> None:
    assert nearest_gpus(typed)[0] == first
    with pytest.raises(VramkitError, match="unknown GPU") as err:
        resolve_gpu(typed)
    assert f"Did you mean {first!r}" in str(err.value)


@pytest.mark.parametrize(("typed", "name", "count"), [
    ("2x4090", "4090", 2),
    ("2 x h100", "h100", 2),
    ("8×H200", "H200", 8),
    ("rtx-4090-24gb", "rtx-4090-24gb", None),
])  # fmt: skip
def test_count_prefix(typed: str, name: str, count: int | None) -> None:
    assert split_gpu_count(typed) == (name, count)


@pytest.mark.parametrize("bad", ["0x4090", "65x4090", "99999999999999999999999999999999x4090"])
def test_count_prefix_out_of_range(bad: str) -> None:
    with pytest.raises(VramkitError, match="GPU"):
        split_gpu_count(bad)


def test_api_budget_refuses_a_count_in_the_name() -> None:
    with pytest.raises(VramkitError, match="count=2"):
        get_gpu("2x4090")


def test_every_face_resolves_the_same_gpu() -> None:
    m = get_model("deepseek-v4-flash")
    b = budget(m, "4090", count=2, runtime="vllm")
    assert b.gpu_id == "rtx-4090-24gb"
    for spec in (["2x4090"], ["2 x rtx 4090"], ["RTX-4090:2"], ["4090", "4090"]):
        mach = build_machine(spec)
        assert [d.gpu_id for d in mach.devices] == ["rtx-4090-24gb"] * 2, spec
    mach = machine_from_mapping({"devices": [{"gpu": "rtx 4090", "count": 2}]})
    assert [d.gpu_id for d in mach.devices] == ["rtx-4090-24gb"] * 2
    with pytest.raises(VramkitError, match="count twice"):
        build_machine(["2x4090:2"])
    with pytest.raises(VramkitError, match="MEMORY@BANDWIDTH"):
        build_machine(["rtx 4080"])


def test_24_gib_cards_count_the_same() -> None:
    """Both cards carry 24 GiB of GDDR6X; each counts the total its driver shows (nvidia-smi,
    data/gpus.yaml visible_memory): 4090 24564 MiB, 3090 24576 MiB."""
    r4090, r3090 = get_gpu("rtx-4090-24gb"), get_gpu("rtx-3090-24gb")
    assert r4090.capacity_bytes == 24564 * 2**20  # 25,757,220,864 B
    assert r3090.capacity_bytes == 24576 * 2**20  # 25,769,803,776 B = 24 GiB
    assert r4090.memory_text == r3090.memory_text == "24 GB"  # as NVIDIA writes both
    assert abs(r4090.capacity_bytes - r3090.capacity_bytes) < 2**24  # within 16 MiB
