"""Runtime flags that realise a plan, and a check by construction that they do.

llama.cpp (ggml-org/llama.cpp @ 001d906a6d86e2490e394361e7cc6f478b100088):
  -ngl N         the LAST N of n_layer + 1 layers go to the GPUs (the +1 is the output layer):
                 ``i_gpu_start = max(n_layer + 1 - n_gpu_layers, 0)``; the input layer is always
                 on the CPU ("there is very little benefit to offloading the input layer, so
                 always keep it on the CPU") — src/llama-model.cpp, load_tensors.
  -ts a,b,…      layer j of the offloaded ones goes to the first device d with
                 ``splits[d] > float(j) / act_gpu_layers``, splits = cumulative -ts / Σ -ts
                 (``std::upper_bound``) — src/llama-model.cpp, load_tensors.
  -ot PATTERN=CPU  a tensor whose name ``std::regex_search``-matches PATTERN is stored in that
                 buffer type; the first matching override wins — src/llama-model-loader.cpp,
                 create_tensor ("check overrides").
  --n-cpu-moe N  pushes ``blk\\.%d\\.ffn_(up|down|gate|gate_up)_(ch|)exps`` → CPU for layers
                 0 … N−1 (common/common.h: LLM_FFN_EXPS_REGEX, llm_ffn_block_regex).
  -c (total context over all -np sequences), -np, -ub, -ctk/-ctv, -fa on|off|auto: common/arg.cpp.
  Flag names come from the runtime records (data/runtimes.yaml `flags`, each quoted from the
  engine's source). Loading without mmap is ``-lm none`` in the engine tree the check runs
  (``--load-mode``: "none: no special loading mode"); older llama.cpp and ik_llama.cpp spell it
  ``--no-mmap`` (the pinned tree refuses that: "error: invalid argument: --no-mmap").
  -mg is not emitted: "the GPU to use for the model (with split-mode = none), or for
  intermediate results and KV (with split-mode = row)" — the default layer split ignores it.
  The same definitions are in the tree the engine check runs (ggml-org/llama.cpp @
  0c1e57098bba43ac29e6e3b677cdceebdd22334f, vendored by llama-cpp-python 0.3.36), whose --fit
  (on by default) only adjusts "unset arguments": every argument a plan needs is set.
vLLM: flag names from its record (vllm/config/parallel.py @ 840e7972c6ab74061696e81e17d8a74db2aefd7e:
  tensor / pipeline / data parallel sizes, "MoE layers will be sharded according to the product of
  the tensor parallel size and data parallel size", enable_expert_parallel "Use expert parallelism
  instead of tensor parallelism for MoE layers"; vllm/config/offload.py @ 2debd782…: cpu_offload_gb
  "The space in GiB to offload to CPU, per GPU"; vllm/config/cache.py: gpu_memory_utilization);
  --max-model-len and --max-num-seqs are written here (vllm/engine/arg_utils.py @
  99d7eb5d6a512cfcc5a2b104f24ebf2d6cda772b), not yet in the record.
SGLang (sgl-project/sglang @ 469c63e54e7d94591617ef9590c6aa26d54dc1bb,
  python/sglang/srt/server_args.py): --tp, --dp, --mem-fraction-static, --context-length,
  --max-running-requests — written here, not yet in its record.
vLLM and SGLang plans are NOT checked by their engines here (they need a GPU; none is lent to
these checks): the rules they follow are cited to the engines' code in
`vramkit.plan.placement` (the block above `vllm_pp_layers`); only llama.cpp plans are re-run in
the engine (data/measured/plan/, per device tests/fixtures/measured/plan/rpc/).
"""

from __future__ import annotations

import bisect
import math
import re
import struct
from dataclasses import dataclass

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, unknown_name
from ..quant import get_recipe
from ..runtimes import get_runtime
from ..validate import require_bool
from .getfile import ModelFile, gguf_file, serve_ref
from .layers import LayerCosts, layer_costs
from .network import DEFAULT_NIC, GPUS_PER_NODE, nodes_of
from .placement import Plan, require_plan

LLM_FFN_EXPS_REGEX = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"
"""common/common.h LLM_FFN_EXPS_REGEX (the C string ``"\\\\.ffn_(up|down|gate|gate_up)_(ch|)exps"``)."""

_LLAMA_CACHE = {
    "bf16": "bf16", "fp16": "f16", "fp32": "f32", "q8_0": "q8_0", "q5_1": "q5_1",
    "q5_0": "q5_0", "q4_1": "q4_1", "q4_0": "q4_0", "iq4_nl": "iq4_nl",
}  # fmt: skip
_IK_CACHE = {"q8_kv": "q8_KV", "q6_0": "q6_0"}
"""ik_llama.cpp's own -ctk / -ctv names (common/common.cpp L4184-L4220 at ik_llama.cpp@8337e4cd)."""
_VLLM_CACHE = {"bf16": "auto", "fp16": "auto", "fp8": "fp8", "fp8_e4m3": "fp8_e4m3",
               "fp8_ds_mla": "fp8", "fp8_bf16_rope": "fp8"}  # fmt: skip


@dataclass(frozen=True)
class Flags:
    """Command-line arguments of one runtime for one plan; `command` is them joined for a shell."""

    runtime: str
    args: tuple[str, ...]
    notes: tuple[str, ...] = ()
    model_file: ModelFile | None = None
    """The weights the command loads and how to get them (`vramkit.plan.getfile`)."""

    @property
    def command(self) -> str:
        """The arguments as one shell-quoted line."""
        import shlex

        return " ".join(shlex.quote(a) for a in self.args)


def _flag(runtime: str, setting: str) -> str:
    """The runtime's own flag for `setting`, from its record in data/runtimes.yaml (sourced)."""
    flags = get_runtime(runtime).flags
    if setting not in flags:
        raise VramkitError(f"data/runtimes.yaml: {runtime} has no flag for {setting!r}.")
    return flags[setting].flag


def ffn_exps_block_regex(layer: int) -> str:
    """llama.cpp's per-layer pattern (common/common.h llm_ffn_block_regex(idx, LLM_FFN_EXPS_REGEX))."""
    return rf"blk\.{layer}{LLM_FFN_EXPS_REGEX}"


def host_experts_regex(layers: tuple[int, ...] | list[int]) -> str:
    """One -ot pattern selecting the routed-expert tensors of exactly `layers`."""
    if not layers:
        raise VramkitError("no expert layers to put on the host: no -ot pattern needed.")
    alt = "|".join(str(i) for i in sorted(set(layers)))
    return rf"blk\.({alt}){LLM_FFN_EXPS_REGEX}"


_F32 = struct.Struct("<f")


def _f32(x: float) -> float:
    """`x` rounded to the nearest IEEE single (C's ``(float)x``). A sum, product or quotient of
    two singles computed in double and rounded so equals the single-precision result (double
    has more than 2 × 24 + 2 bits: no double-rounding error), so llama.cpp's float arithmetic
    is reproduced exactly without numpy (~0.1 s of import in the dashboard's planner)."""
    return _F32.unpack(_F32.pack(x))[0]


def _float32_splits(split: tuple[int, ...]) -> list[float]:
    """llama.cpp's tensor-split fractions: the running sums of `split` in single precision
    (numpy's cumsum order: one after another), each divided by the last (single precision)."""
    cum: list[float] = []
    total = 0.0
    for v in split:
        total = _f32(total + _f32(float(v)))
        cum.append(total)
    last = cum[-1]
    return [_f32(c / last) for c in cum]


def llamacpp_layer_devices(n_layer: int, n_gpu_layers: int, split: tuple[int, ...]) -> list[int]:
    """Device index (-1 = CPU) of layers 0 … n_layer (the last one is the output layer), as
    llama.cpp's load_tensors assigns them (float arithmetic in single precision, as in C)."""
    i_gpu_start = max(n_layer + 1 - n_gpu_layers, 0)
    act = min(n_gpu_layers, n_layer + 1) if split else 0
    out = []
    if split and sum(split) <= 0:
        raise VramkitError("-ts must have a positive entry.")
    splits = _float32_splits(split) if split else []
    for il in range(n_layer + 1):
        if il < i_gpu_start or (il - i_gpu_start) >= act:
            out.append(-1)
            continue
        x = _f32(_f32(float(il - i_gpu_start)) / _f32(float(act)))
        out.append(bisect.bisect_right(splits, x))  # numpy's searchsorted(side="right")
    return out


def llamacpp_host_tensors(
    names: tuple[tuple[str, int, str, bool], ...],
    *,
    n_layer: int,
    n_gpu_layers: int,
    split: tuple[int, ...],
    overrides: list[str],
) -> set[str]:
    """Tensor names llama.cpp would store in host memory for these flags: the input embedding,
    tensors of CPU layers, and tensors an override pattern (first match wins, regex_search) sends
    to CPU."""
    dev = llamacpp_layer_devices(n_layer, n_gpu_layers, split)
    search = _any_search(tuple(overrides))
    host = set()
    for name, layer, group, _routed in names:
        if group == "embed":
            host.add(name)
            continue
        il = n_layer if layer < 0 else layer
        if dev[il] < 0 or search(name):
            host.add(name)
    return host


_PLAIN_PATTERN = re.compile(r"\\[1-9]|\(\?P=|\(\?[aiLmsux-]")
"""Backreferences and inline flags: a pattern with one is not joined with others."""


def _any_search(patterns: tuple[str, ...]):
    """A test 'does any pattern match somewhere in the name' (regex_search, as llama.cpp): the
    patterns joined into one alternation, one search per name instead of one per pattern (same
    answer: an alternation matches where any branch does); each alone when one has a
    backreference or an inline flag, whose meaning would change in a join."""
    pats = [re.compile(p) for p in patterns]
    if not pats:
        return lambda name: False
    if any(_PLAIN_PATTERN.search(p) for p in patterns):
        return lambda name: any(p.search(name) for p in pats)
    return re.compile("|".join(f"(?:{p})" for p in patterns)).search


def plan_host_tensors(plan: Plan, costs: LayerCosts) -> set[str]:
    """Tensor names the plan puts in host RAM (from its places)."""
    host = next(p for p in plan.places if p.kind == "host")  # disk-spilled experts: same tensors
    cpu_layers = set(range(*host.layers)) if host.layers else set()
    experts = set(host.expert_layers)
    out_on_host = host.bytes_by_component["embeddings/output"] > costs.embed_bytes
    names = set()
    for name, layer, group, routed in costs.names:
        if group == "embed":
            names.add(name)
        elif layer < 0:
            if out_on_host:
                names.add(name)
        elif layer in cpu_layers or (routed and layer in experts):
            names.add(name)
    return names


def check_llamacpp(plan: Plan, *, use_n_cpu_moe: bool, model: ModelSpec | None = None) -> None:
    """Raise unless the emitted flags place exactly the plan's tensors on the host and every
    offloaded layer on the plan's GPU (llama.cpp's own rules, re-run in Python)."""
    m = model or get_model(plan.model_id)
    costs = layer_costs(m, plan.recipe_id)
    k = plan.knobs
    split = tuple(int(x) for x in k["tensor_split"])  # type: ignore[union-attr]
    overrides = _override_patterns(plan, costs, use_n_cpu_moe=use_n_cpu_moe)
    got = llamacpp_host_tensors(
        costs.names,
        n_layer=costs.n_layers,
        n_gpu_layers=int(k["n_gpu_layers"]),  # type: ignore[call-overload]
        split=split,
        overrides=overrides,
    )
    want = plan_host_tensors(plan, costs)
    if got != want:
        extra, missing = sorted(got - want)[:5], sorted(want - got)[:5]
        raise VramkitError(
            f"flags do not realise the plan: host gets {extra} not planned, misses {missing}."
        )
    dev = llamacpp_layer_devices(costs.n_layers, int(k["n_gpu_layers"]), split)  # type: ignore[call-overload]
    for p in plan.places:
        if p.kind != "gpu" or p.layers is None:
            continue
        idx = int(p.name.removeprefix("GPU"))
        for il in range(*p.layers):
            if dev[il] != idx:
                raise VramkitError(
                    f"-ts {split} sends layer {il} to device {dev[il]}, plan says {idx}."
                )


def _override_patterns(plan: Plan, costs: LayerCosts, *, use_n_cpu_moe: bool) -> list[str]:
    c = int(plan.knobs["n_cpu_moe"])  # type: ignore[call-overload]
    if use_n_cpu_moe:
        return [ffn_exps_block_regex(i) for i in range(c)]
    gpu_layers_with_host_experts = [i for i in range(c) if costs.expert_bytes[i]]
    return (
        [host_experts_regex(gpu_layers_with_host_experts)] if gpu_layers_with_host_experts else []
    )


FLASH_ATTN = ("on", "off", "auto")
"""llama.cpp's ``-fa`` values (common/arg.cpp ``--flash-attn [on|off|auto]``; llama.h
``llama_flash_attn_type``: enabled, disabled, auto)."""


def llamacpp_flags(
    plan: Plan,
    *,
    use_n_cpu_moe: bool = True,
    flash_attn: str = "on",
    model: ModelSpec | None = None,
) -> Flags:
    """llama-server arguments for a llama.cpp plan (checked with `check_llamacpp` first);
    `model`: the plan's ModelSpec when it is not a catalog id (a config file)."""
    use_n_cpu_moe = require_bool("use_n_cpu_moe", use_n_cpu_moe)
    if flash_attn not in FLASH_ATTN:
        raise unknown_name("flash_attn value", flash_attn, FLASH_ATTN)
    k = plan.knobs
    m = model or get_model(plan.model_id)
    costs = layer_costs(m, plan.recipe_id)
    ik = get_runtime(plan.runtime).capabilities.flag_style == "ik-llama-server"
    if ik:
        use_n_cpu_moe = False  # ik_llama.cpp: -ot is the documented way; no --n-cpu-moe assumed
    check_llamacpp(plan, use_n_cpu_moe=use_n_cpu_moe, model=m)
    split = [int(x) for x in k["tensor_split"]]  # type: ignore[union-attr]
    f = lambda setting: _flag("llama.cpp", setting)  # noqa: E731
    gguf = gguf_file(m, get_recipe(plan.recipe_id, model=m))  # which file, and how to get it
    args = ["llama-server", "-m", gguf.ref]
    args += [f("ctx_size"), str(plan.context * plan.sequences)]
    if plan.sequences > 1:
        args += [f("parallel"), str(plan.sequences)]
    args += [f("n_gpu_layers"), str(k["n_gpu_layers"])]
    used = [s for s in split if s]
    if len(used) > 1 or (len(split) > 1 and len(used) == 1):
        args += [f("tensor_split"), ",".join(str(s) for s in split)]
    c = int(k["n_cpu_moe"])  # type: ignore[call-overload]
    if c:
        if use_n_cpu_moe:
            args += [f("n_cpu_moe"), str(c)]
        else:
            pats = _override_patterns(plan, costs, use_n_cpu_moe=False)
            if pats:
                args += [f("override_tensor"), f"{pats[0]}=CPU"]
    args += [f("n_ubatch"), str(k.get("ubatch", 512))]
    ct = (_IK_CACHE if ik else {}).get(plan.cache_dtype) or _LLAMA_CACHE.get(plan.cache_dtype)
    if ct is None:
        raise VramkitError(
            f"llama.cpp has no KV cache type for {plan.cache_dtype!r}; use one of {sorted(_LLAMA_CACHE)}."
        )
    args += [f("cache_type_k"), ct, f("cache_type_v"), ct]
    if ik:  # ik_llama.cpp's -fa takes a value (common/common.cpp L1927-L1940 at IK_COMMIT)
        ik_flags = [str(a) for a in k.get("ik_flags", ())]  # type: ignore[attr-defined]
        fa_off = "-fa" in ik_flags
        args += [] if fa_off else ["-fa", "on"]
        args += ik_flags
    else:
        args += [f("flash_attn"), flash_attn]
    if k.get("no_mmap", True):
        # --load-mode none: weights read into buffers (older llama.cpp, ik_llama.cpp: --no-mmap)
        args += ["--no-mmap"] if ik else [f("load_mode"), "none"]
    notes = [
        "checked: the flags place exactly the plan's host tensors and layer split (llama.cpp rules re-run)",
        f"-m {gguf.ref}: {gguf.note}",
    ]
    if nodes_of(plan) > 1:
        notes.append(
            _multi_node_note(
                plan,
                "llama.cpp reaches the GPUs of other machines through its RPC backend: run "
                "`ggml-rpc-server -H 0.0.0.0 -p 50052` on each, add `--rpc HOST:50052,…` here, "
                "and order -ts as the devices are then listed",
            )
        )
    if ik:
        notes.append(
            "ik_llama.cpp: -ot, -ts, -ngl, -ctk/-ctv, --no-mmap and -fa on|off, -mla, -amb, "
            "-no-fmoe as ik_llama.cpp's common/common.cpp parses them (vramkit.runtimes.ik_llama_rules, "
            "read at ik_llama.cpp@8337e4cd)"
        )
    return Flags(plan.runtime, tuple(args), tuple(notes), gguf)


def _multi_node_note(plan: Plan, how: str) -> str:
    n = sum(1 for p in plan.places if p.kind == "gpu")
    return (
        f"multi-node plan: {n} GPUs = {nodes_of(plan)} nodes of {GPUS_PER_NODE}; {how}; the "
        "GPUs of different nodes talk over the inter-node network, not NVLink (the speed bound "
        f"counts its bytes at {DEFAULT_NIC}'s line rate, one NIC a GPU; its latency is not "
        "modelled)"
    )


def vllm_flags(plan: Plan, *, model: ModelSpec | None = None) -> Flags:
    """`vllm serve` arguments for a vLLM plan (the model by its Hugging Face repo id)."""
    k = plan.knobs
    f = lambda setting: _flag("vllm", setting)  # noqa: E731
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
    args += [f("kv_cache_dtype"), _VLLM_CACHE.get(plan.cache_dtype, "auto")]
    if int(k.get("cpu_offload_gb", 0)):  # type: ignore[call-overload]
        args += [f("cpu_offload_gb"), str(k["cpu_offload_gb"])]
    notes = [f"{ref.ref}: {ref.note}"]
    if nodes_of(plan) > 1:
        # multi-node vLLM runs on a Ray cluster, the command on the head node only
        # (https://docs.vllm.ai/en/latest/serving/distributed_serving.html: "ray start --head" /
        # "ray start --address=<ray-head-address>", then launch vLLM on the head node)
        args += ["--distributed-executor-backend", "ray"]
        notes.append(
            _multi_node_note(
                plan,
                "start a Ray cluster first (`ray start --head` on the head node, `ray start "
                "--address=HEAD_IP:6379` on every other node), then run this command on the head "
                "node only",
            )
        )
    return Flags("vllm", tuple(args), tuple(notes), ref)


def sglang_flags(plan: Plan, *, model: ModelSpec | None = None) -> Flags:
    """`python -m sglang.launch_server` arguments for an SGLang plan: the static fraction is
    (weights + KV pool) / memory, rounded up to 0.01."""
    k = plan.knobs
    gpu = next(p for p in plan.places if p.kind == "gpu")
    static = gpu.bytes_by_component["attention+dense"] + gpu.bytes_by_component["routed experts"]
    static += gpu.bytes_by_component["KV cache"]
    frac = min(0.99, math.ceil(100 * static / gpu.capacity_bytes) / 100)
    ref = serve_ref(model or get_model(plan.model_id))
    args = ["python", "-m", "sglang.launch_server", "--model-path", ref.ref]
    args += ["--tp", str(k["tp"])]
    if int(k.get("dp", 1)) > 1:  # type: ignore[call-overload]
        args += ["--dp", str(k["dp"])]
    args += ["--mem-fraction-static", f"{frac:.2f}", "--context-length", str(plan.context)]
    args += ["--max-running-requests", str(plan.sequences)]
    notes: tuple[str, ...] = (f"{ref.ref}: {ref.note}",)
    nodes = nodes_of(plan)
    if nodes > 1:
        # https://docs.sglang.io/references/multi_node_deployment/multi_node.html: the same
        # command on every node with --dist-init-addr HEAD:PORT --nnodes N --node-rank R
        args += ["--nnodes", str(nodes), "--node-rank", "0", "--dist-init-addr", "HEAD_IP:20000"]
        notes += (
            _multi_node_note(
                plan,
                f"run this command on each node with --node-rank 0 … {nodes - 1} (0 on the node "
                "whose address is HEAD_IP)",
            ),
        )
    if k.get("ep"):
        notes += ("expert parallel planned; SGLang's EP flag is not emitted (not checked here)",)
    return Flags("sglang", tuple(args), notes, ref)


def flags_for(plan: Plan, *, model: ModelSpec | None = None, **kw: object) -> Flags:
    """The flags of `plan`'s runtime (`model`: the plan's ModelSpec if not a catalog id)."""
    plan = require_plan(plan)
    if model is not None:
        model = get_model(model)
    unknown = set(kw) - {"use_n_cpu_moe", "flash_attn"}
    if unknown:
        raise unknown_name("flags_for option", sorted(unknown)[0], ("flash_attn", "use_n_cpu_moe"))
    style = get_runtime(plan.runtime).capabilities.flag_style
    llama_server = style in ("llama-server", "ik-llama-server")
    if kw and not llama_server:
        raise VramkitError(
            f"{', '.join(sorted(kw))} apply to llama.cpp plans; this plan is for {plan.runtime}."
        )
    if llama_server:
        return llamacpp_flags(plan, model=model, **kw)  # type: ignore[arg-type]
    if style == "vllm-serve":
        return vllm_flags(plan, model=model)
    return sglang_flags(plan, model=model)
