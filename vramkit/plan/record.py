"""A plan's records, engine-neutral: the places and bytes a plan puts there (`Place`, `Plan`),
the planner's resolved arguments (`PlanArgs`); a command line that realises a plan is
`vramkit.plan.command_line.Flags`.

Every engine's placement (`vramkit.runtimes.<engine>`) builds these and the solver
(`vramkit.plan.placement`) ranks them; this module imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..catalog import ModelSpec
from ..errors import VramkitError, shown, unknown_name
from ..quant import Recipe
from .layers import LayerCosts
from .machine import Machine
from .margin import Margin

COMPONENTS = (
    "attention+dense",
    "shared experts",
    "routed experts",
    "embeddings/output",
    "KV cache",
    "compute buffer",
    "runtime overhead",
)
"""Rows of a plan's per-place table, in bytes."""


@dataclass(frozen=True)
class Place:
    """One place (a GPU, the host, or disk) and the bytes a plan puts there, by component.

    layers: the layers whose attention/dense weights (and KV) live here, as (first, last+1);
    expert_layers: layers whose routed experts live here (experts_per_layer of them each);
    margin_bytes: bytes the plan keeps free here (`vramkit.plan.margin`; not in the total).
    """

    name: str
    kind: str
    capacity_bytes: int
    bytes_by_component: Mapping[str, int]
    layers: tuple[int, int] | None = None
    expert_layers: tuple[int, ...] = ()
    experts_per_layer: int = 0
    bandwidth_bytes_per_s: float = 0.0
    margin_bytes: int = 0
    gpu_id: str | None = None
    """A GPU place's data/gpus.yaml id (None: the host, disk, or a GPU given by numbers)."""

    @property
    def total_bytes(self) -> int:
        """Σ components (bytes)."""
        return sum(self.bytes_by_component.values())

    @property
    def headroom_bytes(self) -> int:
        """capacity − margin − total: bytes free beyond the margin (negative: short by that)."""
        return self.capacity_bytes - self.margin_bytes - self.total_bytes

    @property
    def fits(self) -> bool:
        """total + margin ≤ capacity."""
        return self.headroom_bytes >= 0


@dataclass(frozen=True)
class Plan:
    """A placement and whether it fits; `knobs` are the runtime settings that realise it."""

    model_id: str
    recipe_id: str
    runtime: str
    machine: str
    context: int
    sequences: int
    cache_dtype: str
    places: tuple[Place, ...]
    knobs: Mapping[str, object]
    kv_bytes: int
    notes: tuple[str, ...] = field(default=())
    cuda_terms: tuple[Any, ...] = field(default=())
    """What llama.cpp's CUDA backend adds on a GPU plan (`vramkit.runtimes.llamacpp.cuda.CudaTerm`:
    name, bytes, where, source, kind), each already counted in the places' components."""
    recipe: Recipe | None = field(default=None, compare=False, repr=False)
    """The recipe itself (`recipe_id` is its id), handed down from where it was resolved."""

    @property
    def fits(self) -> bool:
        """Every place within its capacity."""
        return all(p.fits for p in self.places)

    @property
    def host_expert_layers(self) -> tuple[int, ...]:
        """Layers whose routed experts sit in host RAM (or on disk)."""
        return tuple(sorted(i for p in self.places if p.kind != "gpu" for i in p.expert_layers))

    def place(self, name: str) -> Place:
        """The place called `name` ('GPU0', 'host', …)."""
        for p in self.places:
            if p.name == name:
                return p
        raise unknown_name("place", name, [p.name for p in self.places])


def require_plan(plan: object) -> Plan:
    """`plan` if it is a `Plan` (from `plan_for`, `solve(...).plan` …), else one error."""
    if not isinstance(plan, Plan):
        raise VramkitError(
            f"plan must be a Plan (vramkit.plan.plan_for(model, machine) or solve(...).plan), got "
            f"{type(plan).__name__} {shown(plan)}."
        )
    return plan


@dataclass(frozen=True)
class PlanArgs:
    """`candidate_plans`' arguments, checked and resolved (`vramkit.plan.placement.resolve_args`):
    what an engine's placement is given."""

    model: ModelSpec
    machine: Machine
    runtime: str
    costs: LayerCosts
    context: int
    sequences: int
    cache_dtype: str | None
    ubatch: int
    expert_parallel: bool
    margin: Margin
    layered: bool
    """The runtime places whole layers and routed experts (its record's placement: llama.cpp)."""
    pipeline_parallel: bool
    ik: object = None
    """The engine's own options (ik_llama.cpp's `IkOptions`), resolved by `engine_options`."""


def host_place(machine: Machine, comps: dict[str, int], layers, experts, per_layer) -> list[Place]:
    """The host as one place: its RAM and bandwidth (0 without a host), holding `comps`."""
    if machine.host is None:
        cap, bw = 0, 0.0
    else:
        cap, bw = machine.host.ram_bytes, machine.host.bandwidth_bytes_per_s
    return [
        Place("host", "host", cap, MappingProxyType(comps), layers, tuple(experts), per_layer, bw)
    ]


HOST_FILL_WARN = 0.90
"""Share of the offered host RAM above which a plan says the OS is squeezed (and the verdict
calls a fitting plan tight, `vramkit.plan.verdict`)."""


def host_fill_notes(places: Sequence[Place]) -> tuple[str, ...]:
    """A note when the host is filled past HOST_FILL_WARN of the RAM offered: `--ram` is what
    the runtime may fill, so the OS and other processes need RAM beyond it."""
    out = []
    for p in places:
        if (
            p.kind == "host"
            and p.capacity_bytes
            and p.total_bytes > HOST_FILL_WARN * p.capacity_bytes
        ):
            out.append(
                f"host RAM filled to {p.total_bytes / p.capacity_bytes:.1%} of the "
                f"{p.capacity_bytes / 1e9:,.1f} GB offered: --ram is what the runtime may fill; "
                "offer less than installed so the OS and other processes keep their share"
            )
    return tuple(out)
