"""Each engine's command line, as the planner asks it: the record's ``flag_style`` capability
(one of `vramkit.runtimes.FLAG_STYLES`) names its `FlagWriter`. `vramkit.plan.flags.flags_for`
asks here and never compares a runtime's id; the writers load on first use (a plan for vLLM
imports vLLM's writer only, and a count of GPUs none).

A registry of Python functions beside `vramkit.runtimes.planning` (placement): it sits above
`vramkit.plan`'s records, which the writers build, so the accounting never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import VramkitError
from . import Runtime, get_runtime
from ._on_first_use import OnFirstUse

if TYPE_CHECKING:
    from ..plan.command_line import Flags


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


FLAG_WRITERS: Mapping[str, FlagWriter] = OnFirstUse(
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


def flag_writer(runtime: str | Runtime) -> FlagWriter:
    """The command-line writer of a runtime (its record's ``flag_style``)."""
    rt = get_runtime(runtime)
    style = rt.capabilities.flag_style
    if style is None:
        raise VramkitError(f"runtime {rt.short_name} has no command line the kit writes.")
    return FLAG_WRITERS[style]
