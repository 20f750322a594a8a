"""ik_llama.cpp's command line for a plan: llama.cpp's llama-server arguments
(`vramkit.runtimes.llamacpp.flags`) in ik_llama.cpp's own spelling — its -ctk / -ctv names, -fa
with a value, --no-mmap, the -mla / -amb / -fmoe switches of its options, and -ot instead of
--n-cpu-moe (as ik_llama.cpp's common/common.cpp parses them, read at ik_llama.cpp@8337e4cd).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..plan.command_line import Flags
from ..plan.record import Plan
from .llamacpp.flags import ServerDialect, llamacpp_flags

IK_CACHE_TYPES = MappingProxyType({"q8_kv": "q8_KV", "q6_0": "q6_0"})
"""ik_llama.cpp's own -ctk / -ctv names (common/common.cpp L4184-L4220 at ik_llama.cpp@8337e4cd)."""


def _ik_attention(knobs: Mapping[str, object], flash_attn: str) -> list[str]:
    """ik_llama.cpp's -fa takes a value (common/common.cpp L1927-L1940 at 8337e4cd): ``-fa on``
    unless the plan's engine options turn it off; then the options' own flags."""
    ik_flags = [str(a) for a in knobs.get("ik_flags", ())]  # type: ignore[attr-defined]
    return ([] if "-fa" in ik_flags else ["-fa", "on"]) + ik_flags


IK_LLAMA_SERVER = ServerDialect(
    cache_types=IK_CACHE_TYPES,
    n_cpu_moe=False,  # -ot is the documented way; no --n-cpu-moe assumed
    attention=_ik_attention,
    no_mmap=("--no-mmap",),
    note="ik_llama.cpp: -ot, -ts, -ngl, -ctk/-ctv, --no-mmap and -fa on|off, -mla, -amb, "
    "-no-fmoe as ik_llama.cpp's common/common.cpp parses them (vramkit.runtimes.ik_llama_rules, "
    "read at ik_llama.cpp@8337e4cd)",
)
"""ik_llama.cpp's llama-server spellings."""


def ik_llama_flags(plan: Plan, **kw: object) -> Flags:
    """`llamacpp_flags` in ik_llama.cpp's spelling (`IK_LLAMA_SERVER`)."""
    return llamacpp_flags(plan, dialect=IK_LLAMA_SERVER, **kw)  # type: ignore[arg-type]
