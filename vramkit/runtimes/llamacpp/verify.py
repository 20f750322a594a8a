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
checked in Python by `vramkit.runtimes.llamacpp.flags.check_llamacpp` (llama.cpp's rule re-run).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ...catalog import ModelSpec, get_model
from ...plan.layers import layer_costs
from ...plan.record import Plan
from ...units import MiB

_OVERRIDE = re.compile(r"tensor (\S+) \((\d+) MiB (\w+)\) buffer type overridden to (\S+)")
_ROW = re.compile(r"^(\S+) (\d+) (\d+) (\d+)\s*$")
_LOADED = re.compile(r"create_tensor: loading tensor (\S+)")
_ASSIGNED = re.compile(r"load_tensors: layer\s+(\d+) assigned to device (\S+?),")
_CPU_COMPUTE = re.compile(r"^(?:sched_reserve:)?\s*CPU compute buffer size =\s+([\d.]+) MiB")


@dataclass(frozen=True)
class EngineOutput:
    """Parsed projection: overridden tensors {name: (MiB, type, buffer)}, breakdown rows
    {device: (model, context, compute) MiB}, and how many tensors the loader created."""

    overridden: Mapping[str, tuple[int, str, str]]
    rows: Mapping[str, tuple[int, int, int]]
    tensors_loaded: int
    layer_devices: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    """Repeating layer (n_layer = the output layer) → the device llama.cpp assigned it to
    (``load_tensors: layer 3 assigned to device RPC0``); empty in a CPU-only run."""
    cpu_compute_mib: float | None = None
    """The CPU backend's compute buffer as ``sched_reserve`` prints it (two decimals:
    ``CPU compute buffer size =   121.84 MiB``), or None when not printed."""


def parse_engine(lines: list[str]) -> EngineOutput:
    """Numbers from `llama-fit-params --fit-print on -v` output lines."""
    over: dict[str, tuple[int, str, str]] = {}
    rows: dict[str, tuple[int, int, int]] = {}
    loaded = 0
    layers: dict[int, str] = {}
    cpu_compute: float | None = None
    for line in lines:
        if m := _CPU_COMPUTE.match(line.strip()):
            cpu_compute = float(m.group(1))
        elif m := _ASSIGNED.search(line):
            layers[int(m.group(1))] = m.group(2)
        elif m := _OVERRIDE.search(line):
            over[m.group(1)] = (int(m.group(2)), m.group(3), m.group(4))
        elif m := _ROW.match(line.strip()):
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
        elif _LOADED.search(line):
            loaded += 1
    return EngineOutput(
        MappingProxyType(over),
        MappingProxyType(rows),
        loaded,
        MappingProxyType(layers),
        cpu_compute,
    )


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


_EXPS = re.compile(r"^blk\.(\d+)\.ffn_\w+_exps\.(weight|bias)$")


@dataclass(frozen=True)
class PlanVsEngine:
    """The layers whose routed experts the plan puts in host RAM vs the layers whose expert
    tensors the engine overrode to CPU, tensors overridden that are not experts, per-tensor size
    mismatches (expert weight matrices, whole MiB), and totals per component."""

    planned_layers: frozenset[int]
    engine_layers: frozenset[int]
    non_expert_overrides: tuple[str, ...]
    per_tensor_mib_mismatch: tuple[str, ...]
    tensors_overridden: int
    components: tuple[ComponentCheck, ...]

    @property
    def host_split_matches(self) -> bool:
        """The engine sent exactly the planned layers' expert tensors to host RAM, nothing else,
        each expert weight matrix of the planned size."""
        return (
            self.planned_layers == self.engine_layers
            and not self.non_expert_overrides
            and not self.per_tensor_mib_mismatch
        )


def expert_tensor_name(layer: int, part: str) -> str:
    """llama.cpp's GGUF name of a layer's routed-expert weight (`part`: gate, up, down, gate_up)."""
    return f"blk.{layer}.ffn_{part}_exps.weight"


def compare(plan: Plan, out: EngineOutput, *, model: ModelSpec | None = None) -> PlanVsEngine:
    """Plan vs engine (see the module docstring). The planned layers are those whose routed
    experts the flags' overrides cover (layers below --n-cpu-moe that have experts)."""
    m = model or get_model(plan.model_id)
    costs = layer_costs(m, plan.recipe or plan.recipe_id)
    c = int(plan.knobs["n_cpu_moe"])  # type: ignore[call-overload]
    planned = frozenset(i for i in range(c) if costs.expert_bytes[i])
    engine = {n: v for n, v in out.overridden.items() if v[2] == "CPU"}
    layers, other = set(), []
    for name in engine:
        hit = _EXPS.match(name)
        if hit:
            layers.add(int(hit.group(1)))
        else:
            other.append(name)
    by_part = _expert_part_bytes(m, plan.recipe or plan.recipe_id)
    mismatch = tuple(
        expert_tensor_name(i, part)
        for i in sorted(planned)
        for part, b in by_part.get(i, {}).items()
        if expert_tensor_name(i, part) in engine
        and engine[expert_tensor_name(i, part)][0] != b // MiB
    )
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
            "host experts (overridden)",
            sum(costs.expert_bytes[i] for i in planned),
            sum(v[0] for v in engine.values()),
        ),
        ComponentCheck(
            "compute buffer (one device)",
            max(q.bytes_by_component["compute buffer"] for q in plan.places),
            host[2],
        ),
    )
    return PlanVsEngine(
        frozenset(planned), frozenset(layers), tuple(other), mismatch, len(engine), comps
    )


def _expert_part_bytes(model: ModelSpec, recipe: Any) -> dict[int, dict[str, int]]:
    """Bytes of each routed-expert weight matrix (all experts of the layer) by part, per layer."""
    from ...model.tensors import ROUTED_GROUPS
    from ...quant import tensor_formats

    out: dict[int, dict[str, int]] = {}
    for t, fmt in tensor_formats(model, recipe):
        if t.mtp or t.group not in ROUTED_GROUPS or t.layer is None or not t.gguf_class:
            continue
        part = t.gguf_class.removeprefix("ffn_").removesuffix("_exps")
        out.setdefault(int(t.layer), {})[part] = t.count * fmt.tensor_bytes(t.shape)
    return out


def fixture_summary(check: PlanVsEngine) -> dict[str, Any]:
    """A JSON-ready summary of a comparison (for data/measured/plan/ fixtures)."""
    return {
        "host_split_matches": check.host_split_matches,
        "planned_layers": sorted(check.planned_layers),
        "engine_layers": sorted(check.engine_layers),
        "tensors_overridden": check.tensors_overridden,
        "non_expert_overrides": list(check.non_expert_overrides),
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


# ── per device: the engine's own devices (RPC servers on localhost stand in for the GPUs) ──


@dataclass(frozen=True)
class DeviceCheck:
    """One place of the plan next to the engine device that realises it: weights, KV and compute
    buffer (plan bytes, engine whole MiB as printed), and the layers each put there."""

    place: str
    device: str
    weights: ComponentCheck
    kv: ComponentCheck
    compute: ComponentCheck
    plan_layers: tuple[int, ...]
    engine_layers: tuple[int, ...]
    compute_printed_mib: float | None = None
    """Host only: the engine's CPU compute buffer to two decimals (``sched_reserve``), the
    figure the plan's host compute buffer is compared with."""

    @property
    def compute_printed_diff_mib(self) -> float | None:
        """plan − engine host compute buffer, MiB, against the two-decimal figure."""
        if self.compute_printed_mib is None:
            return None
        return self.compute.plan_mib - self.compute_printed_mib

    @property
    def layers_match(self) -> bool:
        """The engine put exactly the plan's layers (output layer included) on this device."""
        return self.plan_layers == self.engine_layers


WEIGHT_COMPONENTS = ("attention+dense", "shared experts", "routed experts", "embeddings/output")


def engine_device(place_name: str) -> str:
    """The engine's name for a plan place when each plan GPU i is served by the i-th ``--rpc``
    endpoint: GPU0 → RPC0, …; host → Host."""
    return "Host" if place_name == "host" else place_name.replace("GPU", "RPC")


def _layer_device(dev: str) -> str:
    """The name load_tensors gives a device when it assigns layers (the host is 'CPU')."""
    return "CPU" if dev == "Host" else dev


def compare_devices(plan: Plan, out: EngineOutput, *, n_layer: int) -> tuple[DeviceCheck, ...]:
    """Per-device plan vs engine (see `DeviceCheck`). `n_layer`: the model's repeating layers;
    the output layer (index n_layer) belongs to the place holding the last layer."""
    checks = []
    for q in plan.places:
        if q.kind not in ("gpu", "host"):
            continue
        dev = engine_device(q.name)
        row = out.rows.get(dev, (0, 0, 0))
        b = q.bytes_by_component
        planned: tuple[int, ...] = ()
        if q.layers:
            lo, hi = q.layers
            planned = tuple(range(lo, hi)) + ((n_layer,) if hi == n_layer else ())
        checks.append(
            DeviceCheck(
                place=q.name,
                device=dev,
                weights=ComponentCheck("weights", sum(b[k] for k in WEIGHT_COMPONENTS), row[0]),
                kv=ComponentCheck("KV cache", b["KV cache"], row[1]),
                compute=ComponentCheck("compute buffer", b["compute buffer"], row[2]),
                plan_layers=planned,
                engine_layers=tuple(
                    sorted(i for i, d in out.layer_devices.items() if d == _layer_device(dev))
                ),
                compute_printed_mib=out.cpu_compute_mib if q.kind == "host" else None,
            )
        )
    return tuple(checks)


def device_summary(checks: tuple[DeviceCheck, ...]) -> list[dict[str, Any]]:
    """A JSON-ready per-device table (for tests/fixtures/measured/plan/rpc/ fixtures)."""
    return [
        {
            "place": c.place,
            "engine_device": c.device,
            "layers_match": c.layers_match,
            "engine_layers": list(c.engine_layers),
            **{
                f"{k}_{what}": v
                for k, comp in (("weights", c.weights), ("kv", c.kv), ("compute", c.compute))
                for what, v in (
                    ("plan_mib", round(comp.plan_mib, 2)),
                    ("engine_mib", comp.engine_mib),
                    ("diff_mib", round(comp.diff_mib, 2)),
                )
            },
            **(
                {
                    "compute_printed_mib": c.compute_printed_mib,
                    "compute_printed_diff_mib": round(c.compute_printed_diff_mib or 0.0, 2),
                }
                if c.compute_printed_mib is not None
                else {}
            ),
        }
        for c in checks
    ]
