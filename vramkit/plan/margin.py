"""The margin a plan keeps free on each GPU: by default each engine's own, else what the user asks.

llama.cpp  ``--fit`` keeps a fixed margin per device: ``fit_params_target``, 1024 MiB
    (llama.cpp common/common.h line 483 at the tree vendored in llama-cpp-python 0.3.36, commit
    0c1e57098bba43ac29e6e3b677cdceebdd22334f: ``std::vector<size_t> fit_params_target =
    std::vector<size_t>(llama_max_devices(), 1024 * 1024*1024);``; set with ``-fitt/--fit-target
    MiB0,MiB1,...``, common/arg.cpp lines 2895-2898). The figure is the runtime record's
    ``fit_margin`` (data/runtimes.yaml, with that source), read here, not copied.
    The flags a plan emits set -ngl / -ts / --n-cpu-moe, so llama.cpp's own --fit does not re-fit
    them (common/fit.cpp line 464: "n_gpu_layers already set by user ..., abort"): the plan keeps
    the same margin itself.
ik_llama.cpp  its --fit is off by default (common/common.h L308 ``bool fit = false;``) and,
    when on, keeps 1024 MiB per device unless --fit-margin says otherwise (src/llama.cpp L4208
    ``k_default_mem_margin = 1024 * 1024 * 1024``, L4298; both at ikawrakow/ik_llama.cpp@8337e4cd). A plan's flags set -ngl / -ot themselves, so no margin is
    assumed unless given (the record carries none): the same figure `fit`, the plan and the
    article's audit charge.
vLLM  the share of memory ``gpu_memory_utilization`` does not take: 1 − 0.92 of each GPU's total
    memory (the record's ``memory_fraction_default``, vllm/config/cache.py), counted once: the plan
    charges no other margin for vLLM.
SGLang  ``--mem-fraction-static`` is chosen at start-up from the GPU and the parallel setup (the
    record has no single default), so no margin is assumed unless one is given.

A margin given by the user is a size with its unit ('1GiB', '512MiB'; an int is bytes) or a share
of each GPU's memory ('10%'). For vLLM / SGLang it becomes the memory fraction the command sets
(rounded down to 0.01, so the engine keeps at least that much free).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import VramkitError, shown
from ..runtimes import get_runtime
from ..units import GiB, MiB, parse_size

MAX_MARGIN_PERCENT = 90.0
"""Largest margin accepted as a share of each GPU's memory (%)."""


@dataclass(frozen=True)
class Margin:
    """Bytes kept free on each GPU: `fixed_bytes` + the share of its memory a `memory_fraction`
    below 1 leaves unused (vLLM / SGLang). `why`: where the figure comes from, in words."""

    fixed_bytes: int
    memory_fraction: float
    why: str
    given: bool = False

    def bytes_for(self, memory_bytes: int) -> int:
        """Margin on a GPU of `memory_bytes` (bytes): fixed + memory − ⌊memory × fraction⌋."""
        return self.fixed_bytes + memory_bytes - math.floor(memory_bytes * self.memory_fraction)


def _served(runtime: str) -> bool:
    """A runtime whose margin is what its memory fraction leaves (vLLM, SGLang)."""
    return get_runtime(runtime).capabilities.margin_rule == "memory_fraction"


def engine_margin(runtime: str) -> Margin:
    """The engine's own default margin for a planner runtime ('llama.cpp', 'ik_llama.cpp',
    'vllm', 'sglang'; see the module docstring for the sources)."""
    rt = get_runtime(runtime)
    if rt.capabilities.margin_rule == "fit_target" and not rt.margin_bytes:
        return Margin(
            0,
            1.0,
            f"no margin assumed: {rt.short_name}'s --fit is off by default (1024 MiB per device "
            "when on) and the plan's flags place the layers; pass --margin",
        )
    if rt.capabilities.margin_rule == "fit_target":
        b = rt.margin_bytes
        return Margin(
            b,
            1.0,
            f"llama.cpp's --fit margin, {b / MiB:,.0f} MiB per device (fit_params_target, "
            "common/common.h)",
        )
    if rt.memory_fraction is None:
        return Margin(
            0,
            1.0,
            f"no margin assumed: {rt.name} picks its memory fraction at start-up (no single "
            "default); pass --margin",
        )
    f = rt.memory_fraction
    return Margin(
        0,
        f,
        f"{rt.name} gpu_memory_utilization {f:g} (its default): {1 - f:.0%} of each GPU's memory "
        "left unused",
    )


def resolve_margin(margin: object, runtime: str, *, memory_bytes: int | None = None) -> Margin:
    """`margin` as a `Margin` for a planner runtime: None → `engine_margin`; a size ('1GiB', an
    int of bytes) or a share ('10%', at most 90%). For vLLM / SGLang the margin becomes a memory
    fraction rounded down to 0.01 (what the command sets), computed on `memory_bytes` (the
    smallest GPU's) when given as a size."""
    if margin is None:
        return engine_margin(runtime)
    if isinstance(margin, str) and margin.strip().endswith("%"):
        text = margin.strip()[:-1].strip()
        try:
            pct = float(text)
        except ValueError:
            pct = math.nan
        if not math.isfinite(pct) or not 0 <= pct <= MAX_MARGIN_PERCENT:
            raise VramkitError(
                f"margin {shown(margin)} is not a share of 0% to {MAX_MARGIN_PERCENT:g}% of each "
                "GPU's memory; write e.g. '10%', or a size such as '1GiB'."
            )
        frac = math.floor(round(100 - pct, 6)) / 100 if _served(runtime) else 1 - pct / 100
        return Margin(0, frac, f"{pct:g}% of each GPU's memory (given)", given=True)
    if not isinstance(margin, str | int) or isinstance(margin, bool):
        raise VramkitError(
            f"margin must be a size such as '1GiB' or '512MiB', a share such as '10%', an int of "
            f"bytes, or None (the engine's default), got {type(margin).__name__} {shown(margin)}."
        )
    b = parse_size(margin, what="margin")
    label = f"{b / GiB:,.2f} GiB per GPU (given)"
    if not _served(runtime):
        return Margin(b, 1.0, label, given=True)
    if memory_bytes is None or memory_bytes <= 0:
        raise VramkitError(f"a margin in bytes for {runtime} needs the GPU's memory to convert.")
    if b >= memory_bytes:
        raise VramkitError(
            f"margin {shown(margin)} is not less than the GPU's {memory_bytes / GiB:,.2f} GiB."
        )
    frac = math.floor(100 * (memory_bytes - b) / memory_bytes) / 100
    if frac <= 0:
        raise VramkitError(
            f"margin {shown(margin)} leaves {runtime} less than 1% of the GPU's memory."
        )
    return Margin(0, frac, f"{label}: memory fraction {frac:.2f}", given=True)
