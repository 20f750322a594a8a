"""Goals mean what they say (issue 25): ``plan --goal speed`` is the fitting plan with the best
decode estimate (issue 26: the bound's step ÷ a fitted efficiency + overhead; the bound where
no estimate exists), ``--goal fit`` the largest recipe that fits; every answer says why and shows the
runner-up (CLI text and JSON), and `fit` shows the runner-up of its best recipe."""

from __future__ import annotations

import json

import pytest

from vramkit import cli
from vramkit.budget import best_recipe
from vramkit.catalog import get_model
from vramkit.plan import LLAMACPP_RECIPES, choose_recipe, plan_for, plan_speed
from vramkit.plan.machine import build_machine
from vramkit.quant import weight_bytes
from vramkit.speed_estimate import efficiency_for, load_efficiency, overhead_for, plan_limit

FLASH = "deepseek-v4-flash"


def _table(machine, context=32768):
    """(recipe, weight bytes, fits, decode bound) for every GGUF recipe, computed here."""
    return [t[:4] for t in _table_with_estimates(machine, context)]


def _table_with_estimates(machine, context=32768):
    """(recipe, weight bytes, fits, decode bound, decode estimate or None) per GGUF recipe: the
    estimate is a step at the bound ÷ the class's fitted efficiency + its overhead
    (data/speed_efficiency.yaml), written out here."""
    m = get_model(FLASH)
    fit = load_efficiency()
    moe = m.params.active < m.params.main
    out = []
    for r in LLAMACPP_RECIPES:
        p = plan_for(m, machine, recipe=r, context=context)
        s = plan_speed(p, machine, model=m) if p.fits else None
        tok = s.decode_tokens_per_s if s else 0.0
        est = None
        if s:
            gpus = sum(1 for q in p.places if q.kind == "gpu")
            lim = plan_limit(p.runtime, s.limited_by, gpus)
            e, tau = efficiency_for(fit, lim, moe)[0], overhead_for(fit, lim, moe)
            est = min(tok, s.batch / (s.batch / tok / e + tau))
        out.append((r, weight_bytes(m, r).total_bytes, p.fits, tok, est))
    return out


@pytest.mark.parametrize("gpus", [["24GB@1008GB/s:2"], ["rtx-4090-24gb:2"], ["rtx-3090-24gb"]])
def test_speed_is_the_best_decode_estimate_among_fitting_plans(gpus: list[str]) -> None:
    machine = build_machine(gpus, ram="128GB")
    rows = [t for t in _table_with_estimates(machine) if t[2]]
    assert len(rows) >= 2
    assert all(t[4] is not None for t in rows)  # every fitting plan has an estimate here
    by_speed = sorted(rows, key=lambda t: (t[4], t[1]), reverse=True)
    pick = choose_recipe(FLASH, machine, goal="speed", context=32768)
    assert pick.recipe_id == by_speed[0][0]
    assert pick.runner_up == by_speed[1][0]
    assert "decode estimate" in pick.why  # says which it ranked by
    assert f"decode estimate {by_speed[0][4]:.1f} tokens/s" in pick.why
    assert f"bound ≤ {by_speed[0][3]:.1f} tokens/s" in pick.why
    assert f"decode estimate {by_speed[1][4]:.1f} tokens/s" in (pick.runner_up_why or "")


def test_speed_no_longer_takes_the_largest_file() -> None:
    # the case: 2 × 24e9 B + 128 GB, where ds4-q4 (≤ 24.5 tok/s) was chosen over a
    # faster fitting Q3_K_M (≤ 34.3 tok/s)
    machine = build_machine(["24GB@1008GB/s:2"], ram="128GB")
    speed = {r: tok for r, _, fits, tok in _table(machine) if fits}
    assert speed["gguf-Q3_K_M"] > speed["ds4-q4"]
    pick = choose_recipe(FLASH, machine, goal="speed", context=32768)
    assert pick.recipe_id != "ds4-q4"
    assert speed[pick.recipe_id] == max(speed.values())


def test_fit_is_the_largest_fitting_recipe() -> None:
    machine = build_machine(["rtx-4090-24gb:2"], ram="128GB")
    rows = sorted((t for t in _table(machine) if t[2]), key=lambda t: t[1], reverse=True)
    pick = choose_recipe(FLASH, machine, goal="fit", context=32768)
    assert (pick.recipe_id, pick.runner_up) == (rows[0][0], rows[1][0])
    assert "largest" in pick.why


def test_nothing_fits_takes_the_smallest_without_runner_up() -> None:
    machine = build_machine(["rtx-4090-24gb"], ram="16GB")
    pick = choose_recipe(FLASH, machine, goal="speed", context=32768)
    sizes = {r: weight_bytes(get_model(FLASH), r).total_bytes for r in LLAMACPP_RECIPES}
    assert pick.recipe_id == min(sizes, key=sizes.get)
    assert pick.runner_up is None
    assert "none fits" in pick.why


def test_vllm_takes_the_official_checkpoint() -> None:
    pick = choose_recipe(FLASH, build_machine(["h200-sxm-141gb:2"]), runtime="vllm", goal="speed")
    assert pick.recipe_id == get_model(FLASH).checkpoint_layout
    assert pick.runner_up is None


def test_plan_cli_says_why_and_shows_the_runner_up(capsys) -> None:
    argv = ["plan", "--model", FLASH, "--gpu", "2x4090", "--ram", "128GB"]
    assert cli.main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    pick = choose_recipe(FLASH, build_machine(["rtx-4090-24gb:2"], ram="128GB"), context=32768)
    assert doc["recipe"] == pick.recipe_id
    assert doc["recipe_why"] == pick.why
    assert doc["runner_up"] == {"recipe": pick.runner_up, "why": pick.runner_up_why}
    # the decode bound the choice quotes is the plan's own
    assert f"{doc['speed']['decode_tokens_per_s']:.1f} tokens/s" in doc["recipe_why"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert f"runner-up: {pick.runner_up} ({pick.runner_up_why})" in out


def test_fit_cli_shows_the_runner_up(capsys) -> None:
    # llama.cpp: several GGUF files fit one H200 (vLLM serves checkpoint layouts only, and no
    # other V4-Flash layout is smaller than its official FP4 one, so it has no runner-up)
    argv = ["fit", "--model", FLASH, "--gpu", "H200", "--runtime", "llama.cpp", "--json"]
    assert cli.main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    best = best_recipe(
        FLASH, "h200-sxm-141gb", count=doc["count"], context=32768, runtime="llama.cpp"
    )
    assert best.runner_up is not None
    assert doc["best_recipe"] == best.recipe_id
    assert doc["runner_up_recipe"] == best.runner_up
    tried = [r for r, _, fits in best.tried if fits]
    assert tried[:2] == [best.recipe_id, best.runner_up]
