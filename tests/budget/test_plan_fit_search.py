"""The planner's fast paths answer what the plans answer (issue 22's speed work).

`any_plan_fits` (the capacity searches' question) must equal "does any of `candidate_plans`
fit"; `LlamacppContext.fits(k)` must equal `plan(k).fits`; the no-compute-buffer pass must be
a true bound (a value that fits with the buffers fits without them); the joined -ot search must
select what the patterns one by one select. Every expected value here comes from the slow path
computed in the same test, over machines where some plans fit and some do not.
"""

from __future__ import annotations

import re

import pytest

from vramkit.catalog import get_model
from vramkit.plan import build_machine, plan_for
from vramkit.plan.placement import any_plan_fits, candidate_plans, resolve_args
from vramkit.runtimes.llamacpp.flags import any_search, ffn_exps_block_regex, host_experts_regex
from vramkit.runtimes.llamacpp.placement import LlamacppContext

MACHINES = {
    "2x4090+128GB": (["rtx-4090-24gb:2"], {"ram": "128GB"}),
    "4090+48GB+nvme": (["rtx-4090-24gb"], {"ram": "48GB", "nvme": "7GB/s"}),
    "h200+32GB": (["h200-sxm-141gb"], {"ram": "32GB"}),
    "cpu 256GB": ([], {"ram": "256GB"}),
}
CASES = [
    ("deepseek-v4-flash", "ds4-q2"),
    ("deepseek-v4-flash", None),
    ("gemma-4-31b", "gguf-Q4_K_M"),
]
CONTEXTS = (4096, 131072, 1048576)


def _machine(key: str) -> object:
    gpus, kw = MACHINES[key]
    return build_machine(gpus, **kw)


@pytest.mark.parametrize("machine_key", sorted(MACHINES))
@pytest.mark.parametrize(("model", "recipe"), CASES)
def test_any_plan_fits_is_any_candidate_fitting(machine_key: str, model: str, recipe) -> None:
    machine = _machine(machine_key)
    seen = set()
    for runtime in ("llama.cpp", "ik_llama.cpp", "vllm"):
        for context in CONTEXTS:
            for sequences in (1, 16):
                kw = {"recipe": recipe, "runtime": runtime, "context": context,
                      "sequences": sequences}  # fmt: skip
                if runtime == "vllm" and not machine.devices:
                    continue
                want = any(p.fits for p in candidate_plans(model, machine, **kw))
                assert any_plan_fits(model, machine, **kw) is want, kw
                seen.add(want)
    if machine_key == "2x4090+128GB":  # both answers occur, so the test can tell them apart
        assert seen == {True, False}


def test_plan_for_fits_matches_the_search_question() -> None:
    machine = _machine("2x4090+128GB")
    m = get_model("deepseek-v4-flash")
    for context in (65536, 1048576):
        for sequences in (1, 8, 64):
            p = plan_for(m, machine, context=context, sequences=sequences)
            assert p.fits is any_plan_fits(m, machine, context=context, sequences=sequences)


@pytest.mark.parametrize("machine_key", sorted(MACHINES))
def test_context_fits_equals_plan_fits_and_the_bound_holds(machine_key: str) -> None:
    machine = _machine(machine_key)
    fits_seen = set()
    for model, recipe in CASES:
        for runtime in ("llama.cpp", "ik_llama.cpp"):
            for context in CONTEXTS:
                a = resolve_args(model, machine, recipe=recipe, runtime=runtime, context=context,
                             sequences=4, cache_dtype=None, ubatch=512, expert_parallel=True,
                             margin=None)  # fmt: skip
                kw = {"context": a.context, "sequences": a.sequences, "cache_dtype": None,
                      "ubatch": a.ubatch, "runtime": a.runtime, "margin": a.margin}  # fmt: skip
                real = LlamacppContext.build(a.model, a.costs, a.machine, **kw)
                low = LlamacppContext.build(a.model, a.costs, a.machine, lower_bound=True, **kw)
                assert low.with_compute_buffers().compute == real.compute
                for k in range(a.costs.n_layers + 1) if a.costs.is_moe else range(1):
                    fits = real.plan(k).fits
                    assert real.fits(k) is fits, (model, runtime, context, k)
                    assert low.fits(k) is low.plan(k).fits, (model, runtime, context, k)
                    if fits:  # the bound: no plan fits with buffers that does not fit without
                        assert low.fits(k)
                    fits_seen.add(fits)
    if machine_key in ("2x4090+128GB", "4090+48GB+nvme"):
        assert fits_seen == {True, False}


def test_joined_override_search_selects_what_each_pattern_selects() -> None:
    names = [f"blk.{i}.ffn_{p}_exps.weight" for i in range(40) for p in ("up", "gate", "down")]
    names += [f"blk.{i}.attn_q.weight" for i in range(40)] + ["output.weight", "token_embd.weight"]
    pattern_sets = [
        [],
        [ffn_exps_block_regex(i) for i in range(7)],
        [host_experts_regex([1, 3, 12, 33])],
        [ffn_exps_block_regex(2), r"attn_q", r"^output"],
        [r"(blk)\.1\1", r"(?i)ATTN_Q", r"blk\.3\."],  # a backreference and an inline flag
    ]
    for patterns in pattern_sets:
        search = any_search(tuple(patterns))
        compiled = [re.compile(p) for p in patterns]
        for name in names:
            want = any(p.search(name) for p in compiled)
            assert bool(search(name)) is want, (patterns, name)
