"""A context past the model's limit is treated the same way everywhere (issue 25): `kv`, `plan`
and `fit` — CLI and Python API — refuse it naming the limit (max_position_embeddings), unless the
what-if is asked for explicitly (--allow-extrapolation / allow_extrapolation=True), one rule:
`vramkit.kv.check_context`."""

from __future__ import annotations

import json

import pytest

from vramkit import cli
from vramkit.budget import budget
from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.kv import check_context, kv_cache
from vramkit.plan import plan_for, solve
from vramkit.plan.machine import build_machine

FLASH = "deepseek-v4-flash"
LIMIT = 1_048_576  # data/models.yaml deepseek-v4-flash max_position_embeddings
TOO_LONG = "2M"  # 2,097,152 tokens

CLI_CASES = {
    "kv": ["kv", "--model", FLASH, "--context", TOO_LONG],
    "plan": ["plan", "--model", FLASH, "--gpu", "h200", "--ram", "512GB", "--context", TOO_LONG],
    "fit": ["fit", "--model", FLASH, "--gpu", "h200", "--context", TOO_LONG],
}


def test_the_limit_is_the_catalog_figure() -> None:
    assert get_model(FLASH).config["max_position_embeddings"] == LIMIT


@pytest.mark.parametrize("face", sorted(CLI_CASES))
def test_every_command_refuses_past_the_limit(face: str, capsys) -> None:
    assert cli.main(CLI_CASES[face]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("vramkit: error: context 2,097,152 tokens is past deepseek-v4-flash's")
    assert "limit of 1,048,576 tokens" in err
    assert "--allow-extrapolation" in err


@pytest.mark.parametrize("face", sorted(CLI_CASES))
def test_every_command_answers_an_explicit_what_if(face: str, capsys) -> None:
    assert cli.main([*CLI_CASES[face], "--allow-extrapolation", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc.get("context_tokens", doc.get("context")) == 2 * LIMIT


def test_at_the_limit_nothing_is_refused() -> None:
    assert check_context(FLASH, LIMIT) == (LIMIT, ())
    assert budget(FLASH, "h200", count=8, context=LIMIT).context == LIMIT


@pytest.mark.parametrize(
    "call",
    [
        lambda **kw: kv_cache(FLASH, TOO_LONG, **kw),
        lambda **kw: budget(FLASH, "h200", count=8, context=TOO_LONG, **kw),
        lambda **kw: plan_for(FLASH, build_machine(["h200:8"]), runtime="vllm", context=2 * LIMIT, **kw),
        lambda **kw: solve(FLASH, build_machine(["h200:8"]), runtime="vllm", context=TOO_LONG,
                           curve=False, capacity=False, **kw),
    ],
    ids=["kv_cache", "budget", "plan_for", "solve"],
)  # fmt: skip
def test_the_api_has_the_same_rule(call) -> None:
    with pytest.raises(VramkitError, match="limit of 1,048,576 tokens"):
        call()
    call(allow_extrapolation=True)  # the explicit what-if is answered


def test_a_what_if_still_has_a_ceiling() -> None:
    with pytest.raises(VramkitError, match="beyond what vramkit estimates"):
        check_context(FLASH, 8 * LIMIT + 1, allow_extrapolation=True)
    _, notes = check_context(FLASH, 2 * LIMIT, allow_extrapolation=True)
    assert "what-if" in notes[0]
