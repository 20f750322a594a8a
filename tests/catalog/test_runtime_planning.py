"""The planner asks each engine's placement and command line through the registry
(`vramkit.runtimes.planning`, `vramkit.runtimes.flag_writers`), by the record's capabilities: every capability value a record may
take has its rules, every planner runtime resolves to them, and `vramkit.plan` holds no engine's
placement or flags (issue 22: an engine's knowledge in its own package)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vramkit
from vramkit.errors import VramkitError
from vramkit.runtimes import FLAG_STYLES, PLACEMENTS, get_runtime, runtimes
from vramkit.runtimes.flag_writers import FLAG_WRITERS, flag_writer
from vramkit.runtimes.planning import PLACEMENT_RULES, placement_rules

PLAN = Path(vramkit.__file__).resolve().parent / "plan"


def test_every_capability_value_has_its_rules():
    assert set(PLACEMENT_RULES) == set(PLACEMENTS)
    assert set(FLAG_WRITERS) == set(FLAG_STYLES)


def test_each_planner_runtime_gets_the_rules_its_record_names():
    planners = [rt for rt in runtimes().values() if rt.plans]
    assert len(planners) >= 4  # llama.cpp, ik_llama.cpp, vLLM, SGLang (data/runtimes.yaml)
    for rt in planners:
        assert placement_rules(rt) is PLACEMENT_RULES[rt.capabilities.placement]
        assert flag_writer(rt) is FLAG_WRITERS[rt.capabilities.flag_style]


def test_a_runtime_without_placement_is_refused_clearly():
    others = [rt for rt in runtimes().values() if not rt.plans]
    assert others, "data/runtimes.yaml has records the planner does not place (reference code)"
    for rt in others:
        with pytest.raises(VramkitError, match="no placement"):
            placement_rules(rt)
    assert get_runtime("llama.cpp").flag("n_gpu_layers") == "-ngl"  # common/arg.cpp


def test_plan_package_defines_no_engine_placement_or_flags():
    """The functions that moved into the engines' packages are not defined again in `plan/`."""
    moved = {"llamacpp_plan", "served_plan", "llamacpp_flags", "vllm_flags", "sglang_flags",
             "check_llamacpp", "host_compute_buffer", "vllm_pp_layers"}  # fmt: skip
    defined = {
        node.name
        for path in PLAN.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }
    assert not moved & defined, sorted(moved & defined)


def test_flag_options_are_every_writers_options():
    """`FLAG_OPTIONS` is written out (the writers load on first use): it must equal the union
    of the options every writer takes."""
    from vramkit.runtimes.flag_writers import FLAG_OPTIONS

    assert set(FLAG_OPTIONS) == {o for style in FLAG_STYLES for o in FLAG_WRITERS[style].options}
