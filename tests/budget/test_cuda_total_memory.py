"""The GPU memory vLLM and SGLang size against (issue 24): the device total CUDA reports
(``torch.cuda.mem_get_info``), one sourced figure per card in data/gpus.yaml
(``cuda_total_memory``; H100 80GB: 79.19 GiB, logged as ``init_total_memory_gib`` in every run of
the llm-d v0.19.0 sweep; H200 139.72 GiB, A100 80GB 79.32 GiB and RTX 3090 23.56 GiB from vLLM's
own "Free memory on device (free/total GiB)" line; A100 40GB 39.50 GiB, RTX 4090 23.53 GiB, RTX 5090
31.37 GiB and L40S 44.42 GiB from torch's OOM message "GPU 0 has a total capacity of … GiB"; RTX PRO
6000 Blackwell 94.97 GiB from ds4's CUDA log, B200 178.35 GiB from a cudaGetDeviceProperties probe),
used by `plan`, `fit`, the pool and
the SGLang flags alike — not nvidia-smi's total (H100 81,559 MiB = 79.65 GiB; H200 143,771 MiB =
140.40 GiB), which llama.cpp runtimes keep."""

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
H200 = "h200-sxm-141gb"
CUDA_H200 = round(139.72 * GIB)  # 150,023,207,649 B (vllm-project/vllm#23192: "(7.34/139.72 GiB)")
SMI_H200 = 143771 * 2**20  # 150,754,820,096 B (sgl-project/sglang#3196: "/ 143771MiB")


def test_one_figure_per_card_with_its_source() -> None:
    g = get_gpu(H100)
    assert g.cuda_total_bytes == CUDA_H100 == 85_029_615_043
    assert g.capacity_bytes == SMI_H100
    assert g.total_for_fraction(True) == CUDA_H100
    assert g.total_for_fraction(False) == SMI_H100
    # a card with no logged CUDA total keeps the catalog's capacity (GH200 96GB: none sourced)
    gh200 = get_gpu("gh200-96gb")
    assert gh200.cuda_total_bytes is None
    assert gh200.total_for_fraction(True) == gh200.capacity_bytes == 96 * 10**9
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


# ── the cards beyond the H100 (data/gpus.yaml, each figure quoted from a published log) ──────────
@pytest.mark.parametrize(
    ("gpu", "cuda_gib", "smi_mib"),
    [
        # vllm-project/vllm#23192 (vLLM 0.10.2, "h200 gpus"): "(7.34/139.72 GiB) … (0.9, 125.75 GiB)"
        (H200, 139.72, 143771),
        # vllm-project/vllm-omni#276 (2 x A100 80GB): "(0.49/79.32 GiB) … (0.6, 47.59 GiB)"
        ("a100-sxm4-80gb", 79.32, 81920),
        # TianheWu/CoSeR#10 (one A100): "GPU 0 has a total capacity of 39.50 GiB"
        ("a100-sxm4-40gb", 39.50, 40960),
        # wtdcode/vllm-backport#34 (8 x RTX 3090): "(22.93/23.56 GiB) … (0.935, 22.03 GiB)"
        ("rtx-3090-24gb", 23.56, 24576),
        # OpenMOSS/MOSS-TTSD#71 (SGLang on an RTX 4090): "a total capacity of 23.53 GiB"
        ("rtx-4090-24gb", 23.53, 24564),
        # Ksuriuri/index-tts-vllm#91 (RTX 5090): "a total capacity of 31.37 GiB";
        # noonghunna/club-3090#1261: "/  32607MiB"
        ("rtx-5090-32gb", 31.37, 32607),
        # stepfun-ai/Step-Video-T2V#8 ("Run 8*L40S OOM"): "a total capacity of 44.42 GiB";
        # modal-labs/modal-client#2797: "L40S: 46068MiB"
        ("l40s-48gb", 44.42, 46068),
        # antirez/ds4#431 (96GB RTX Pro 6000 Blackwell): "total=94.97 GiB" (ds4's CUDA backend)
        # and "on my 97887MiB"
        ("rtx-pro-6000-blackwell-96gb", 94.97, 97887),
        # pytorch/ao#4002 (B200 probe): "Total Global Memory: 178.35 GB" (GiB: see gpus.yaml);
        # NVIDIA/TensorRT-LLM#10278: "/ 183359MiB"
        ("b200-180gb", 178.35, 183359),
    ],
)
def test_cuda_totals_beyond_the_h100(gpu: str, cuda_gib: float, smi_mib: int) -> None:
    g = get_gpu(gpu)
    assert g.cuda_total_bytes == round(cuda_gib * GIB)
    assert g.capacity_bytes == smi_mib * 2**20  # nvidia-smi's total stays llama.cpp's figure
    assert g.cuda_total_bytes < g.capacity_bytes  # the driver keeps 0.44 … 0.71 GiB
    assert 0.4 * GIB < g.capacity_bytes - g.cuda_total_bytes < 0.75 * GIB
    assert g.total_for_fraction(True) == g.cuda_total_bytes
    assert cuda_total_bytes(gpu) == g.cuda_total_bytes


def test_the_logged_fractions_multiply_the_logged_totals() -> None:
    # each vLLM line prints fraction x total rounded to 0.01 GiB: the recorded totals give them back
    assert round(0.9 * 139.72, 2) == 125.75  # H200
    assert round(0.6 * 79.32, 2) == 47.59  # A100 80GB
    assert round(0.935 * 23.56, 2) == 22.03  # RTX 3090


def test_h200_pool_and_margin_use_the_cuda_total() -> None:
    # DeepSeek-class loads on 8 x H200 are the kit's headline case. vLLM default 0.92:
    # usable = floor(0.92 x 150,023,207,649) = 138,021,351,037 B per GPU, margin the rest
    usable = math.floor(0.92 * CUDA_H200)
    assert usable == 138_021_351_037
    b = budget("llama-3.1-70b", H200, count=2, runtime="vllm", context=8192)
    assert b.memory_bytes == CUDA_H200
    assert b.usable_bytes == usable
    assert b.margin_bytes == CUDA_H200 - usable == 12_001_856_612
    assert "139.72 GiB" in b.assumptions[0]
    gpus = [q for q in place("llama-3.1-70b", H200, 2, runtime="vllm", context=8192).plan.places
            if q.kind == "gpu"]  # fmt: skip
    assert {q.capacity_bytes - q.margin_bytes for q in gpus} == {usable}
    assert (
        vllm_profile("llama-3.1-70b", H200, tp=2, gpu_memory_utilization=0.92).requested_bytes
        == usable
    )
    # SGLang's static fraction divides by the same total
    p = place("llama-3.1-70b", H200, 2, runtime="sglang", context=8192).plan
    assert next(q for q in p.places if q.kind == "gpu").capacity_bytes == CUDA_H200
    # llama.cpp keeps nvidia-smi's 143,771 MiB (was the vendor's 141e9 B: 9.75e9 B more now)
    cpp = budget("llama-3.1-70b", H200, count=2, runtime="llama.cpp", context=8192)
    assert cpp.memory_bytes == SMI_H200 == 141_000_000_000 + 9_754_820_096
