"""A plan's command line: `flags_for` asks the plan's runtime record for its ``flag_style`` and
the registry (`vramkit.runtimes.flag_writers`) for that style's writer — llama.cpp's
(`vramkit.runtimes.llamacpp.flags`, checked by construction against llama.cpp's own placement
rules), ik_llama.cpp's spelling of it (`vramkit.runtimes.ik_llama_flags`), vLLM's
(`vramkit.runtimes.vllm.flags`), SGLang's (`vramkit.runtimes.sglang_flags`). Each module cites
the engine source its flags are read from.
"""

from __future__ import annotations

from ..catalog import ModelSpec, get_model
from ..errors import VramkitError, unknown_name
from .command_line import Flags
from .record import Plan, require_plan


def flags_for(plan: Plan, *, model: ModelSpec | None = None, **kw: object) -> Flags:
    """The flags of `plan`'s runtime (`model`: the plan's ModelSpec if not a catalog id; `kw`:
    the writer's own options, e.g. llama.cpp's ``flash_attn``, ``use_n_cpu_moe``)."""
    from ..runtimes.flag_writers import FLAG_OPTIONS, flag_writer

    plan = require_plan(plan)
    if model is not None:
        model = get_model(model)
    unknown = set(kw) - set(FLAG_OPTIONS)
    if unknown:
        raise unknown_name("flags_for option", sorted(unknown)[0], FLAG_OPTIONS)
    writer = flag_writer(plan.runtime)
    if set(kw) - set(writer.options):
        raise VramkitError(
            f"{', '.join(sorted(kw))} apply to llama.cpp plans; this plan is for {plan.runtime}."
        )
    return writer.write(plan, model=model, **kw)
