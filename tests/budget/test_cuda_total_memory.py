"""The GPU memory vLLM and SGLang size against (issue 24): the device total CUDA reports
(``torch.cuda.mem_get_info``), one sourced figure per card in data/gpus.yaml
(``cuda_total_memory``; H100 80GB: 79.19 GiB, logged as ``init_total_memory_gib`` in every run of
the llm-d v0.19.0 sweep), used by `plan`, `fit`, the pool and the SGLang flags alike — not
nvidia-smi's 81,559 MiB (79.65 GiB), which llama.cpp runtimes keep."""

from __future__ import annotations

import math

import pytest

from vramkit.budget import budget
from vramkit.hardware import get_gpu
from vramkit.plan.count import place
from vramkit.runtimes import get_runtime
from vramkit.runtimes.sglang_flags import sglang_flags
from vramkit.runtimes.vllm.memory import cuda_total_bytes
from vramkit.runtimes.vllm.profile import vllm_profile

GIB = 2**30
H100 = "h100-sxm-80gb"
CUDA_H100 = round(79.19 * GIB)  # 85,029,615,043 B
SMI_H100 = 81559 * 2**20  # 85,520,809,984 B


def test_one_figure_per_card_with_its_source() -> None:
    g = get_gpu(H100)
    assert g.cuda_total_bytes == CUDA_H100 == 85_029_615_043
    assert g.capacity_bytes == SMI_H100
    assert g.total_for_fraction(True) == CUDA_H100
    assert g.total_for_fraction(False) == SMI_H100
    # a card with no logged CUDA total keeps the catalog's capacity
    a100 = get_gpu("a100-sxm4-40gb")
    assert a100.cuda_total_bytes is None
    assert a100.total_for_fraction(True) == a100.capacity_bytes
    assert cuda_total_bytes(H100) == CUDA_H100


@pytest.mark.parametrize(("runtime", "cuda"), [("vllm", True), ("sglang", True),
                                               ("llama.cpp", False)])  # fmt: skip
def test_the_runtime_record_says_which_total_its_fraction_multiplies(
    runtime: str, *, cuda: bool
) -> None:
    assert get_runtime(runtime).capabilities.fraction_of_cuda_total is cuda


def test_fit_plan_and_the_pool_take_the_same_total() -> None:
    # vLLM default 0.92: usable = floor(0.92 × 85,029,615,043) = 78,227,245,839 B
    usable = math.floor(0.92 * CUDA_H100)
    assert usable == 78_227_245_839
    b = budget("llama-3.1-70b", H100, count=2, runtime="vllm", context=8192)
    assert b.memory_bytes == CUDA_H100
    assert b.usable_bytes == usable
    assert b.margin_bytes == CUDA_H100 - usable
    assert "79.19 GiB" in b.assumptions[0]
    gpus = [q for q in place("llama-3.1-70b", H100, 2, runtime="vllm", context=8192).plan.places
            if q.kind == "gpu"]  # fmt: skip
    assert {q.capacity_bytes - q.margin_bytes for q in gpus} == {usable}
    # the profile behind "Available KV cache memory" multiplies the same figure
    assert vllm_profile(
        "llama-3.1-70b", H100, tp=2, gpu_memory_utilization=0.92
    ).requested_bytes == (usable)


def test_sglang_static_fraction_is_of_the_cuda_total() -> None:
    p = place("llama-3.1-70b", H100, 2, runtime="sglang", context=8192).plan
    gpu = next(q for q in p.places if q.kind == "gpu")
    assert gpu.capacity_bytes == CUDA_H100
    c = gpu.bytes_by_component
    static = c["attention+dense"] + c["routed experts"] + c["KV cache"]
    frac = math.ceil(100 * static / CUDA_H100) / 100
    args = sglang_flags(p).args
    assert args[args.index("--mem-fraction-static") + 1] == f"{frac:.2f}"


def test_llama_cpp_keeps_the_driver_visible_figure() -> None:
    b = budget("llama-3.1-70b", H100, count=2, runtime="llama.cpp", context=8192)
    assert b.memory_bytes == SMI_H100
