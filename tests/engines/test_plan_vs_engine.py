"""Plan vs engine: the llama.cpp flags the planner emits, fed to llama.cpp's own projection
(`llama-fit-params`, CPU-only build). Fixtures: data/measured/plan/*.json, written by
benchmarks/engines/plan_vs_engine.py (which says how to re-measure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vramkit.plan import build_machine, plan_for
from vramkit.runtimes.llamacpp.verify import compare, fixture_summary, parse_engine

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "data" / "measured" / "plan").glob("*.json"))


def _plan(case: dict):
    machine = build_machine(case["gpus"], ram=case["ram"])
    return plan_for(case["model"], machine, recipe=f"gguf-{case['layout']}", runtime="llama.cpp",
                    context=case["context"], cache_dtype=case["cache_dtype"])  # fmt: skip


def test_fixtures_exist() -> None:
    assert len(FIXTURES) >= 6


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_engine_puts_exactly_the_planned_experts_in_host_ram(path: Path, plan_runner) -> None:
    rec = json.loads(path.read_text(encoding="utf-8"))
    model, plan, flags = plan_runner.plan_of(rec["case"])
    # the fixture was measured with the flags vramkit emits today (else: re-measure)
    assert list(flags.args) == rec["plan"]["flags"]
    assert rec["returncode"] == 0
    out = parse_engine(rec["lines"])
    check = compare(plan, out, model=model)
    # the engine applied the emitted -ot / --n-cpu-moe patterns to the real GGUF names and
    # overrode to CPU the expert tensors of exactly the planned layers and nothing else, each
    # expert weight matrix of the planned size (whole MiB)
    assert (
        check.engine_layers
        == check.planned_layers
        == frozenset(range(int(plan.knobs["n_cpu_moe"])))
    )
    assert check.non_expert_overrides == ()
    assert check.per_tensor_mib_mismatch == ()
    assert check.host_split_matches
    comps = {c.component: c for c in check.components}
    host = comps["host experts (overridden)"]
    # the engine prints each tensor in whole MiB (rounded down): at most 1 MiB short per tensor
    # (nothing overridden — the model fits on the GPUs — is exact: 0 == 0)
    assert 0 <= host.plan_mib - host.engine_mib < max(check.tensors_overridden, 1)
    # KV: the engine prints whole MiB of its context buffers (DSV4 caches); within 2 MiB
    kv = comps["KV cache (all places)"]
    assert abs(kv.diff_mib) < 2.0
    # weights: the engine's total is the sparse file's tensor bytes in whole MiB (rounded down);
    # vramkit's recipe gives the same bytes, so the plan is at most 1 MiB above it
    w = comps["weights (all places)"]
    assert 0 <= w.diff_mib < 1.0
    # the comparison recorded with the fixture is today's (a stale plan figure fails here:
    # re-measure with `python3 tasks.py engines`)
    assert fixture_summary(check) == rec["comparison"]


def test_a_wrong_plan_is_caught_by_the_engine_record(plan_runner) -> None:
    """The fixture's engine lines disagree with a plan that puts one layer fewer on the host."""
    path = FIXTURES[0]
    rec = json.loads(path.read_text(encoding="utf-8"))
    model, plan, _flags = plan_runner.plan_of(rec["case"])
    import dataclasses
    from types import MappingProxyType

    fewer = dataclasses.replace(
        plan,
        knobs=MappingProxyType(dict(plan.knobs) | {"n_cpu_moe": int(plan.knobs["n_cpu_moe"]) - 1}),
    )
    check = compare(fewer, parse_engine(rec["lines"]), model=model)
    assert not check.host_split_matches


def test_live_engine_when_built(plan_runner) -> None:
    mod = plan_runner
    eng = mod.engine()
    gguf = mod.cache_root() / "sparse-gguf" / "deepseek-v4-flash.Q4_K_M.gguf"
    if eng is None or not gguf.is_file():
        pytest.skip("llama.cpp engine or sparse GGUF not built (benchmarks/engines, engine-truth)")
    rec = mod.run_case(mod.CASES[1], eng)  # the -ot regex variant
    assert rec["returncode"] == 0
    assert rec["comparison"]["host_split_matches"]
