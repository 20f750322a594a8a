"""vLLM's command line for a plan (`vllm serve` arguments).

vLLM: flag names from its record (vllm/config/parallel.py @ 840e7972c6ab74061696e81e17d8a74db2aefd7e:
  tensor / pipeline / data parallel sizes, "MoE layers will be sharded according to the product of
  the tensor parallel size and data parallel size", enable_expert_parallel "Use expert parallelism
  instead of tensor parallelism for MoE layers"; vllm/config/offload.py @ 2debd782…: cpu_offload_gb
  "The space in GiB to offload to CPU, per GPU"; vllm/config/cache.py: gpu_memory_utilization);
  --max-model-len and --max-num-seqs are written here (vllm/engine/arg_utils.py @
  99d7eb5d6a512cfcc5a2b104f24ebf2d6cda772b), not yet in the record.
vLLM and SGLang plans are NOT checked by their engines here (they need a GPU; none is lent to
these checks): the rules they follow are cited to the engines' code in
`vramkit.runtimes.vllm.placement`; only llama.cpp plans are re-run in
the engine (data/measured/plan/, per device tests/fixtures/measured/plan/rpc/).
"""

from __future__ import annotations

from ...catalog import ModelSpec, get_model
from ...plan.command_line import Flags
from ...plan.getfile import serve_ref
from ...plan.network import multi_node_note, nodes_of
from ...plan.record import Plan
from .. import get_runtime

VLLM_CACHE_TYPES = {"bf16": "auto", "fp16": "auto", "fp8": "fp8", "fp8_e4m3": "fp8_e4m3",
                    "fp8_ds_mla": "fp8", "fp8_bf16_rope": "fp8"}  # fmt: skip
"""The kit's cache dtype → vLLM's --kv-cache-dtype (others: auto)."""


def vllm_flags(plan: Plan, *, model: ModelSpec | None = None) -> Flags:
    """`vllm serve` arguments for a vLLM plan (the model by its Hugging Face repo id)."""
    k = plan.knobs
    f = get_runtime("vllm").flag  # flag names from its record (sourced)
    ref = serve_ref(model or get_model(plan.model_id))
    args = ["vllm", "serve", ref.ref]
    args += [f("tensor_parallel_size"), str(k["tp"])]
    if int(k.get("pp", 1)) > 1:  # type: ignore[call-overload]
        args += [f("pipeline_parallel_size"), str(k["pp"])]
    if int(k.get("dp", 1)) > 1:  # type: ignore[call-overload]
        args += [f("data_parallel_size"), str(k["dp"])]
    if k.get("ep"):
        args += [f("enable_expert_parallel")]
    args += [f("gpu_memory_utilization"), f"{float(k['gpu_memory_utilization']):.2f}"]  # type: ignore[arg-type]
    args += ["--max-model-len", str(plan.context), "--max-num-seqs", str(plan.sequences)]
    args += [f("kv_cache_dtype"), VLLM_CACHE_TYPES.get(plan.cache_dtype, "auto")]
    if int(k.get("cpu_offload_gb", 0)):  # type: ignore[call-overload]
        args += [f("cpu_offload_gb"), str(k["cpu_offload_gb"])]
    notes = [f"{ref.ref}: {ref.note}"]
    if nodes_of(plan) > 1:
        # multi-node vLLM runs on a Ray cluster, the command on the head node only
        # (https://docs.vllm.ai/en/latest/serving/distributed_serving.html: "ray start --head" /
        # "ray start --address=<ray-head-address>", then launch vLLM on the head node)
        args += ["--distributed-executor-backend", "ray"]
        notes.append(
            multi_node_note(
                plan,
                "start a Ray cluster first (`ray start --head` on the head node, `ray start "
                "--address=HEAD_IP:6379` on every other node), then run this command on the head "
                "node only",
            )
        )
    return Flags("vllm", tuple(args), tuple(notes), ref)
