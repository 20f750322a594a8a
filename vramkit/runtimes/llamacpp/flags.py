"""llama.cpp's command line for a plan (llama-server flags), and a check by construction that
the flags realise the plan: llama.cpp's own placement rules re-run in Python.

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
llama.cpp plans are also re-run in the engine (data/measured/plan/, per device
tests/fixtures/measured/plan/rpc/; `vramkit.runtimes.llamacpp.verify`).
"""

from __future__ import annotations

import bisect
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ...catalog import ModelSpec, get_model
from ...errors import VramkitError, unknown_name
from ...plan.command_line import Flags
from ...plan.getfile import gguf_file
from ...plan.layers import LayerCosts, layer_costs
from ...plan.network import multi_node_note, nodes_of
from ...plan.record import Plan
from ...quant import get_recipe
from ...validate import require_bool
from .. import get_runtime

LLM_FFN_EXPS_REGEX = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"
"""common/common.h LLM_FFN_EXPS_REGEX (the C string ``"\\\\.ffn_(up|down|gate|gate_up)_(ch|)exps"``)."""

LLAMA_CACHE_TYPES = {
    "bf16": "bf16", "fp16": "f16", "fp32": "f32", "q8_0": "q8_0", "q5_1": "q5_1",
    "q5_0": "q5_0", "q4_1": "q4_1", "q4_0": "q4_0", "iq4_nl": "iq4_nl",
}  # fmt: skip
"""The kit's cache dtype → llama.cpp's -ctk / -ctv name (common/arg.cpp kv_cache_types)."""


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
    search = any_search(tuple(overrides))
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


def any_search(patterns: tuple[str, ...]) -> Callable[[str], object]:
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
    costs = layer_costs(m, plan.recipe or plan.recipe_id)
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


@dataclass(frozen=True)
class ServerDialect:
    """How a llama-server build spells what a plan needs, where builds differ (llama.cpp's own:
    `LLAMA_SERVER`; ik_llama.cpp's: `vramkit.runtimes.ik_llama_flags.IK_LLAMA_SERVER`).

    cache_types: KV cache names it takes beyond llama.cpp's (`LLAMA_CACHE_TYPES`), by the kit's
    cache dtype; n_cpu_moe: whether --n-cpu-moe is assumed (else one -ot pattern);
    attention: the -fa arguments (and engine options) for (plan knobs, the -fa value asked);
    no_mmap: the arguments that load without mmap (None: the record's ``load_mode`` none);
    note: one line the command's notes add (None: nothing)."""

    cache_types: Mapping[str, str]
    n_cpu_moe: bool
    attention: Callable[[Mapping[str, object], str], list[str]]
    no_mmap: tuple[str, ...] | None = None
    note: str | None = None


def _llama_attention(knobs: Mapping[str, object], flash_attn: str) -> list[str]:
    return [get_runtime("llama.cpp").flag("flash_attn"), flash_attn]


LLAMA_SERVER = ServerDialect(cache_types=MappingProxyType({}), n_cpu_moe=True,
                             attention=_llama_attention)  # fmt: skip
"""llama.cpp's own llama-server (the pinned tree)."""


def llamacpp_flags(
    plan: Plan,
    *,
    use_n_cpu_moe: bool = True,
    flash_attn: str = "on",
    model: ModelSpec | None = None,
    dialect: ServerDialect = LLAMA_SERVER,
) -> Flags:
    """llama-server arguments for a llama.cpp plan (checked with `check_llamacpp` first);
    `model`: the plan's ModelSpec when it is not a catalog id (a config file); `dialect`: the
    build's own spellings (`ServerDialect`)."""
    use_n_cpu_moe = require_bool("use_n_cpu_moe", use_n_cpu_moe)
    if flash_attn not in FLASH_ATTN:
        raise unknown_name("flash_attn value", flash_attn, FLASH_ATTN)
    k = plan.knobs
    m = model or get_model(plan.model_id)
    costs = layer_costs(m, plan.recipe or plan.recipe_id)
    if not dialect.n_cpu_moe:
        use_n_cpu_moe = False  # e.g. ik_llama.cpp: -ot is the documented way
    check_llamacpp(plan, use_n_cpu_moe=use_n_cpu_moe, model=m)
    split = [int(x) for x in k["tensor_split"]]  # type: ignore[union-attr]
    f = get_runtime("llama.cpp").flag  # flag names from llama.cpp's record (sourced)
    gguf = gguf_file(
        m, plan.recipe or get_recipe(plan.recipe_id, model=m)
    )  # which file, and how to get it
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
    ct = dialect.cache_types.get(plan.cache_dtype) or LLAMA_CACHE_TYPES.get(plan.cache_dtype)
    if ct is None:
        raise VramkitError(
            f"llama.cpp has no KV cache type for {plan.cache_dtype!r}; use one of "
            f"{sorted(LLAMA_CACHE_TYPES)}."
        )
    args += [f("cache_type_k"), ct, f("cache_type_v"), ct]
    args += dialect.attention(k, flash_attn)
    if k.get("no_mmap", True):
        # weights read into buffers: --load-mode none (older llama.cpp, ik_llama.cpp: --no-mmap)
        args += list(dialect.no_mmap) if dialect.no_mmap is not None else [f("load_mode"), "none"]
    notes = [
        "checked: the flags place exactly the plan's host tensors and layer split (llama.cpp rules re-run)",
        f"-m {gguf.ref}: {gguf.note}",
    ]
    if nodes_of(plan) > 1:
        notes.append(
            multi_node_note(
                plan,
                "llama.cpp reaches the GPUs of other machines through its RPC backend: run "
                "`ggml-rpc-server -H 0.0.0.0 -p 50052` on each, add `--rpc HOST:50052,…` here, "
                "and order -ts as the devices are then listed",
            )
        )
    if dialect.note:
        notes.append(dialect.note)
    return Flags(plan.runtime, tuple(args), tuple(notes), gguf)
