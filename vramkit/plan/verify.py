"""Plan vs engine: what llama.cpp's own projection says about the flags a plan emits.

`llama-fit-params` (llama.cpp's `no_alloc` memory projection, run on a CPU-only build by
`benchmarks/engines/plan_vs_engine.py`) loads the GGUF with the plan's flags and prints, with
``-v``, one line per tensor an override sends to another buffer type —

    tensor blk.0.ffn_gate_exps.weight (1152 MiB q4_K) buffer type overridden to CPU

(src/llama-model-loader.cpp, create_tensor) — and a ``memory breakdown [MiB]`` row per device
(model / context / compute, whole MiB). On a CPU-only build every device row is ``Host``, so the
engine checks: (1) the set of tensors the flags send to host RAM (the engine applies the -ot /
--n-cpu-moe patterns to the real GGUF names), (2) their bytes, (3) the totals per component
(weights, KV, compute buffer). The split of layers over GPUs (-ts, -ngl) needs GPUs and is
checked in Python by `vramkit.plan.flags.check_llamacpp` (llama.cpp's rule re-run).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..catalog import ModelSpec, get_model
from ..units import MiB
from .layers import layer_costs
from .placement import Plan

_OVERRIDE = re.compile(r"tensor (\S+) \((\d+) MiB (\w+)\) buffer type overridden to (\S+)")
_ROW = re.compile(r"^(\S+) (\d+) (\d+) (\d+)\s*$")
_LOADED = re.compile(r"create_tensor: loading tensor (\S+)")


@dataclass(frozen=True)
class EngineOutput:
    """Parsed projection: overridden tensors {name: (MiB, type, buffer)}, breakdown rows
    {device: (model, context, compute) MiB}, and how many tensors the loader created."""

    overridden: Mapping[str, tuple[int, str, str]]
    rows: Mapping[str, tuple[int, int, int]]
    tensors_loaded: int


def parse_engine(lines: list[str]) -> EngineOutput:
    """Numbers from `llama-fit-params --fit-print on -v` output lines."""
    over: dict[str, tuple[int, str, str]] = {}
    rows: dict[str, tuple[int, int, int]] = {}
    loaded = 0
    for line in lines:
        if m := _OVERRIDE.search(line):
            over[m.group(1)] = (int(m.group(2)), m.group(3), m.group(4))
        elif m := _ROW.match(line.strip()):
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
        elif _LOADED.search(line):
            loaded += 1
    return EngineOutput(MappingProxyType(over), MappingProxyType(rows), loaded)


@dataclass(frozen=True)
class ComponentCheck:
    """One component: the plan's bytes, the engine's MiB, and the difference in MiB."""

    component: str
    plan_bytes: int
    engine_mib: int

    @property
    def plan_mib(self) -> float:
        """Plan bytes in MiB (2**20)."""
        return self.plan_bytes / MiB

    @property
    def diff_mib(self) -> float:
        """plan − engine, MiB (the engine prints whole MiB, rounded down)."""
        return self.plan_mib - self.engine_mib


@dataclass(frozen=True)
class PlanVsEngine:
    """The plan's host tensors vs the engine's overridden ones, and totals per component."""

    planned_host_experts: frozenset[str]
    engine_host_experts: frozenset[str]
    per_tensor_mib_mismatch: tuple[str, ...]
    components: tuple[ComponentCheck, ...]

    @property
    def host_split_matches(self) -> bool:
        """The engine sent exactly the planned tensors to host RAM, each of the planned size."""
        return (
            self.planned_host_experts == self.engine_host_experts
            and not self.per_tensor_mib_mismatch
        )


def expert_tensor_name(layer: int, part: str) -> str:
    """llama.cpp's GGUF name of a layer's routed-expert tensor (`part`: gate, up, down)."""
    return f"blk.{layer}.ffn_{part}_exps.weight"


def compare(plan: Plan, out: EngineOutput, *, model: ModelSpec | None = None) -> PlanVsEngine:
    """Plan vs engine (see the module docstring). The planned host experts are the routed-expert
    tensors of the layers the flags' overrides cover (GPU layers with experts in host RAM)."""
    m = model or get_model(plan.model_id)
    costs = layer_costs(m, plan.recipe_id)
    c = int(plan.knobs["n_cpu_moe"])  # type: ignore[call-overload]
    planned: dict[str, int] = {}
    by_part = _expert_part_bytes(m, plan.recipe_id)
    for i in range(c):
        if costs.expert_bytes[i]:
            for part, b in by_part[i].items():
                planned[expert_tensor_name(i, part)] = b
    engine = {n: v for n, v in out.overridden.items() if v[2] == "CPU"}
    mismatch = tuple(n for n, b in planned.items() if n in engine and engine[n][0] != b // MiB)
    weights = sum(
        q.bytes_by_component[k]
        for q in plan.places
        for k in ("attention+dense", "shared experts", "routed experts", "embeddings/output")
    )
    host = out.rows.get("Host", (0, 0, 0))
    comps = (
        ComponentCheck("weights (all places)", weights, sum(r[0] for r in out.rows.values())),
        ComponentCheck(
            "KV cache (all places)", plan.kv_bytes, sum(r[1] for r in out.rows.values())
        ),
        ComponentCheck(
            "host experts (overridden)", sum(planned.values()), sum(v[0] for v in engine.values())
        ),
        ComponentCheck(
            "compute buffer (one device)",
            max(q.bytes_by_component["compute buffer"] for q in plan.places),
            host[2],
        ),
    )
    return PlanVsEngine(frozenset(planned), frozenset(engine), mismatch, comps)


def _expert_part_bytes(model: ModelSpec, recipe: str) -> dict[int, dict[str, int]]:
    """Bytes of each routed-expert tensor (all experts of the layer) by part, per layer."""
    from ..quant import tensor_formats
    from ..tensors import ROUTED_GROUPS

    out: dict[int, dict[str, int]] = {}
    for t, fmt in tensor_formats(model, recipe):
        if t.mtp or t.group not in ROUTED_GROUPS or t.layer is None:
            continue
        part = t.gguf_class.removeprefix("ffn_").removesuffix("_exps") or t.role
        out.setdefault(int(t.layer), {})[part] = t.count * fmt.tensor_bytes(t.shape)
    return out


def fixture_summary(check: PlanVsEngine) -> dict[str, Any]:
    """A JSON-ready summary of a comparison (for data/measured/plan/ fixtures)."""
    return {
        "host_split_matches": check.host_split_matches,
        "planned_host_experts": len(check.planned_host_experts),
        "engine_host_experts": len(check.engine_host_experts),
        "components": [
            {
                "component": c.component,
                "plan_mib": round(c.plan_mib, 2),
                "engine_mib": c.engine_mib,
                "diff_mib": round(c.diff_mib, 2),
            }
            for c in check.components
        ],
    }
