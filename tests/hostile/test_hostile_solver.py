"""Hostile inputs to the one solver (issue 25 §1): `fit`'s --ram / --parallel, the counting API
(`vramkit.plan.place`, `min_devices`, `longest_context`, `best_recipe`), `budget`'s ram and the
dashboard's host-RAM box. Each runs through the corpus' runner and guards (time bound, no
network, one ``vramkit:`` line and exit 2 for a refusal, no NaN/inf or negative figure) and is
refused with words that say what is allowed, or answered."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import vramkit
from vramkit.errors import MAX_MESSAGE_CHARS
from vramkit.plan import count as plan

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("hostile_corpus", _HERE / "_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("hostile_corpus", corpus)
_spec.loader.exec_module(corpus)

Case, REFUSE, ANSWER = corpus.Case, corpus.REFUSE, corpus.ANSWER
DENSE = "llama-3.1-70b"
F = ["fit", "--model", DENSE, "--gpu", "rtx-4090-24gb", "--context", "4K"]
H200 = "h200-sxm-141gb"


def _api(cid: str, fn, expect: str = REFUSE, needle: str = "") -> Case:
    return Case(f"solver-api-{cid}", "solver-api", [], expect, needle, call=fn)


CASES = [
    Case("solver-fit-ram-no-unit", "solver-cli", [*F, "--runtime", "llama.cpp", "--ram", "128"],
         REFUSE, "did you mean 128GB?"),
    Case("solver-fit-ram-vllm", "solver-cli", [*F, "--runtime", "vllm", "--ram", "128GB"],
         REFUSE, "llama.cpp"),
    Case("solver-fit-parallel-junk", "solver-cli", [*F, "--parallel", "xp"], REFUSE, "auto"),
    Case("solver-fit-ram-llamacpp", "solver-cli",
         [*F, "--runtime", "llama.cpp", "--ram", "64GB", "--recipe", "gguf-Q4_K_M", "--json"],
         ANSWER, '"n_cpu_moe"'),
    Case("solver-fit-count-3-auto", "solver-cli", [*F, "--count", "3", "--json"], ANSWER,
         '"layout"'),
    _api("layout-junk", lambda w: plan.min_devices(DENSE, H200, layout="xp"), needle="auto"),
    _api("count-zero", lambda w: plan.place(DENSE, H200, 0), needle="count"),
    _api("count-text", lambda w: plan.place(DENSE, H200, "2"), needle="count"),
    _api("counts-empty", lambda w: plan.min_devices(DENSE, H200, counts=()), needle="non-empty"),
    _api("counts-falling", lambda w: plan.min_devices(DENSE, H200, counts=(4, 2)), needle="rise"),
    _api("counts-string", lambda w: plan.min_devices(DENSE, H200, counts="1,2"), needle="list"),
    _api("ram-no-unit", lambda w: plan.place(DENSE, H200, 1, runtime="llama.cpp", ram="128"),
         needle="did you mean 128GB?"),
    _api("ram-vllm", lambda w: plan.place(DENSE, H200, 1, runtime="vllm", ram="128GB"),
         needle="llama.cpp"),
    _api("runtime-trtllm", lambda w: plan.place(DENSE, H200, 1, runtime="trtllm"),
         needle="planner runtime"),
    _api("recipes-string", lambda w: plan.best_recipe(DENSE, H200, 1, recipes="gguf-Q2_K"),
         needle="list of recipe ids"),
    _api("budget-ram-vllm", lambda w: vramkit.budget(DENSE, H200, ram="64GB"), needle="llama.cpp"),
    _api("budget-ram-trtllm", lambda w: vramkit.budget(DENSE, H200, runtime="trtllm", ram="64GB"),
         needle="llama.cpp only"),
    _api("budget-parallel-junk", lambda w: vramkit.budget(DENSE, H200, parallel="xp"),
         needle="auto"),
    _api("longest-context", lambda w: plan.longest_context(DENSE, H200, 1), ANSWER),
    _api("min-devices-no-fit", lambda w: plan.min_devices("deepseek-v4-pro", "rtx-4090-24gb",
                                                          context="1M", sequences=512,
                                                          counts=(1, 2)), ANSWER),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_solver_case(case: Case, tmp_path: Path) -> None:
    w = tmp_path / "w"
    w.mkdir()
    before = corpus.snapshot(w)
    outcome = corpus.run_case(case, w, setup=False)
    found = corpus.problems(case, outcome)
    if outcome.rc == 2 and len(outcome.err) > MAX_MESSAGE_CHARS + 100:
        found.append(f"refusal is {len(outcome.err):,} characters long")
    if corpus.snapshot(w) != before:
        found.append("wrote into its folder")
    assert not found, f"{case.id}: " + " | ".join(found)


def test_dashboard_ram_box_refuses_what_fit_refuses() -> None:
    from vramkit.widgets.dashboard import compute

    r = compute({"ram": "128"})
    assert r["ok"] is False
    assert r["field"] == "ram"
    assert "did you mean 128GB?" in r["error"]
    r = compute({"ram": "128GB"})  # the default runtime is vLLM: no offload there
    assert r["ok"] is False
    assert r["field"] == "ram"
    assert "llama.cpp" in r["error"]
