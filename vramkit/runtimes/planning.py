"""Each engine's placement and command line, as the planner asks them: the record's
``placement`` capability (one of `vramkit.runtimes.PLACEMENTS`) names its `PlacementRules`, its
``flag_style`` (`FLAG_STYLES`) its `FlagWriter`. The planner (`vramkit.plan.placement`,
`vramkit.plan.flags`) asks here and never compares a runtime's id.

A registry of Python functions, beside `vramkit.runtimes.engines` (the KV and compute-buffer
rules the accounting asks): this one sits above `vramkit.plan`'s records and costs, which the
engines' placements build on, so the accounting never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..errors import VramkitError
from ..plan.record import Flags, Plan, PlanArgs
from . import Runtime, get_runtime

T = TypeVar("T")


class _OnFirstUse(Mapping[str, T], Generic[T]):
    """Name → record, each built on its first lookup by a function that imports its engine's
    module: a question about one runtime (`fit` on vLLM) imports that engine's placement and
    flags only. The imports are written out in those functions, where the layering tests see
    them."""

    def __init__(self, builders: Mapping[str, Callable[[], T]]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, T] = {}

    def __getitem__(self, name: str) -> T:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


@dataclass(frozen=True)
class PlacementRules:
    """One placement kind: `candidates` (every plan its knobs allow, in order), `any_fits` (the
    same yes/no, stopping at the first that fits), `plan` (one plan at fixed knobs: the kind's
    own keywords) and `host_compute` (the host's compute buffer and its note, where the engine
    runs layers on the CPU; None where it does not)."""

    candidates: Callable[[PlanArgs], Iterator[Plan]]
    any_fits: Callable[[PlanArgs], bool]
    plan: Callable[..., Plan]
    host_compute: Callable[..., tuple[int, str]] | None = None


def _layers() -> PlacementRules:
    from .llamacpp import placement as layers

    return PlacementRules(
        layers.candidates, layers.any_fits, layers.llamacpp_plan, layers.host_compute_buffer
    )


def _ranks() -> PlacementRules:
    from .vllm import placement as ranks

    return PlacementRules(ranks.candidates, ranks.any_fits, ranks.served_plan)


PLACEMENT_RULES: Mapping[str, PlacementRules] = _OnFirstUse({"layers": _layers, "ranks": _ranks})
"""Record capability ``placement`` → its rules (llama.cpp's layer split; vLLM's ranks, which
SGLang shares)."""


@dataclass(frozen=True)
class FlagWriter:
    """One command-line style: `write(plan, model=…, **options)` → `Flags`; `options`: the
    keywords it takes beyond the model."""

    write: Callable[..., Flags]
    options: tuple[str, ...] = ()


_LLAMA_OPTIONS = ("flash_attn", "use_n_cpu_moe")


def _llama_server() -> FlagWriter:
    from .llamacpp import flags as llamacpp_flags

    return FlagWriter(llamacpp_flags.llamacpp_flags, _LLAMA_OPTIONS)


def _ik_llama_server() -> FlagWriter:
    from .ik_llama_flags import ik_llama_flags

    return FlagWriter(ik_llama_flags, _LLAMA_OPTIONS)


def _vllm_serve() -> FlagWriter:
    from .vllm.flags import vllm_flags

    return FlagWriter(vllm_flags)


def _sglang_launch() -> FlagWriter:
    from .sglang_flags import sglang_flags

    return FlagWriter(sglang_flags)


FLAG_WRITERS: Mapping[str, FlagWriter] = _OnFirstUse(
    {
        "llama-server": _llama_server,
        "ik-llama-server": _ik_llama_server,
        "vllm-serve": _vllm_serve,
        "sglang-launch": _sglang_launch,
    }
)
"""Record capability ``flag_style`` → its writer."""
FLAG_OPTIONS = _LLAMA_OPTIONS
"""Every option some writer takes (`vramkit.plan.flags.flags_for` refuses any other): the
llama.cpp-style writers' (`_LLAMA_OPTIONS`); the others take none."""


def placement_rules(runtime: str | Runtime) -> PlacementRules:
    """The placement rules of a runtime the planner places models for."""
    rt = get_runtime(runtime)
    kind = rt.capabilities.placement
    if kind is None:
        raise VramkitError(f"runtime {rt.short_name} has no placement: the planner places none.")
    return PLACEMENT_RULES[kind]


def flag_writer(runtime: str | Runtime) -> FlagWriter:
    """The command-line writer of a runtime (its record's ``flag_style``)."""
    rt = get_runtime(runtime)
    style = rt.capabilities.flag_style
    if style is None:
        raise VramkitError(f"runtime {rt.short_name} has no command line the kit writes.")
    return FLAG_WRITERS[style]
