"""The Python API takes whole numbers as numbers: a digit string (``batch="2"``), a boolean, None
or a fraction where an int is asked for is one VramkitError naming the argument, in every public
function alike (issue 16: "types (booleans are booleans)", "strings in integer fields"). The
command line and notebook parameters parse their own text first, so ``--batch 2`` still works.

Context lengths are the one documented exception: every face reads the token notation
(``131072``, ``"128K"``, ``"1M"``), so a context given as text is parsed, not refused."""

from __future__ import annotations

import numpy as np
import pytest

import vramkit
from vramkit import kv_capacity, moe, plan
from vramkit.article import audit
from vramkit.article import tables as article
from vramkit.errors import VramkitError, parse_int, require_int, require_number
from vramkit.runtimes.llamacpp import memory as llamacpp_memory

FLASH = "deepseek-v4-flash"
DENSE = "llama-3.1-70b"
MOE = "gemma-4-26b-a4b"


def _machine():
    return plan.build_machine(["rtx-4090-24gb"], ram="128GB")


CALLS = {
    # name: (callable taking the hostile value, the argument name the error must name)
    "kv_cache batch": (lambda v: vramkit.kv_cache(FLASH, 4096, batch=v), "batch"),
    "kv_cache tp": (lambda v: vramkit.kv_cache(FLASH, 4096, tp=v), "tp"),
    "kv_cache dp": (lambda v: vramkit.kv_cache(FLASH, 4096, dp=v), "dp"),
    "kv_cache block_size": (
        lambda v: vramkit.kv_cache(FLASH, 4096, runtime="vllm", block_size=v),
        "block_size",
    ),
    "kv_cache max_num_batched_tokens": (
        lambda v: vramkit.kv_cache(FLASH, 4096, runtime="vllm", max_num_batched_tokens=v),
        "max_num_batched_tokens",
    ),
    "kv_cache n_ubatch": (
        lambda v: vramkit.kv_cache(FLASH, 4096, runtime="llama.cpp", n_ubatch=v),
        "n_ubatch",
    ),
    "kv_grid batches": (lambda v: vramkit.kv_grid(FLASH, [4096], [v]), "batch"),
    "kv_grid tp": (lambda v: vramkit.kv_grid(FLASH, [4096], tp=v), "tp"),
    "budget count": (lambda v: vramkit.budget(FLASH, "h200-sxm-141gb", count=v), "count"),
    "budget batch": (lambda v: vramkit.budget(FLASH, "h200-sxm-141gb", count=2, batch=v), "batch"),
    "min_gpus batch": (lambda v: vramkit.min_gpus(FLASH, "h200-sxm-141gb", batch=v), "batch"),
    "max_context count": (
        lambda v: vramkit.max_context(FLASH, "h200-sxm-141gb", count=v),
        "count",
    ),
    "best_recipe count": (
        lambda v: vramkit.best_recipe(FLASH, "h200-sxm-141gb", count=v),
        "count",
    ),
    "step_read_bytes batch": (lambda v: moe.step_read_bytes(moe.moe_split(MOE), v), "batch"),
    "expected_experts_touched tokens": (
        lambda v: moe.expected_experts_touched(128, 8, v),
        "tokens",
    ),
    "expected_experts_touched experts": (
        lambda v: moe.expected_experts_touched(v, 8, 4),
        "experts",
    ),
    "offload_gpu_bytes cached_experts": (
        lambda v: moe.offload_gpu_bytes(moe.moe_split(MOE), v),
        "cached_experts",
    ),
    "plan solve sequences": (
        lambda v: plan.solve(DENSE, _machine(), sequences=v, curve=False),
        "sequences",
    ),
    "plan candidate_plans ubatch": (
        lambda v: plan.candidate_plans(DENSE, _machine(), ubatch=v),
        "ubatch",
    ),
    "vllm_pool tp": (
        lambda v: kv_capacity.vllm_pool(DENSE, available_bytes=10**10, max_model_len=4096, tp=v),
        "tp",
    ),
    "sglang_pool tokens": (lambda v: kv_capacity.sglang_pool(DENSE, tokens=v), "tokens"),
    "llama.cpp Settings n_ctx": (lambda v: llamacpp_memory.Settings(n_ctx=v), "n_ctx"),
    "BudgetAssumptions batch": (lambda v: audit.BudgetAssumptions(batch=v), "batch"),
    "article_weight_bytes bits": (lambda v: article.article_weight_bytes(10**9, v), "bits"),
}

HOSTILE = {
    "digit string": "2",
    "padded digit string": " 2 ",
    "bool": True,
    "numpy bool": np.bool_(True),
    "None": None,
    "fraction": 2.5,
    "nan": float("nan"),
    "bytes": b"2",
    "list": [2],
}


OPTIONAL = {"block_size", "max_num_batched_tokens", "n_ubatch", "tokens"}
"""Arguments whose None means 'the runtime's default' (or, for sglang_pool, 'profile it')."""


@pytest.mark.parametrize(
    ("case", "kind"),
    [(c, k) for c in CALLS for k in HOSTILE if not (k == "None" and CALLS[c][1] in OPTIONAL)],
)
def test_an_int_argument_refuses_every_other_type(case, kind):
    call, name = CALLS[case]
    value = HOSTILE[kind]
    with pytest.raises(VramkitError, match=rf"\b{name}\b") as err:
        call(value)
    assert "Traceback" not in str(err.value)
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize(
    "case",
    ["kv_cache batch", "budget count", "step_read_bytes batch", "llama.cpp Settings n_ctx"],
)
def test_an_int_argument_takes_numpy_integers_and_whole_floats_alike(case):
    """2, numpy.int64(2) and 2.0 are one number: the same answer for each."""
    call, _ = CALLS[case]
    plain = call(2)
    assert call(np.int64(2)) == plain
    assert call(2.0) == plain


def test_the_message_names_the_argument_the_value_and_what_is_allowed():
    with pytest.raises(VramkitError) as err:
        vramkit.kv_cache(FLASH, 4096, batch="2")
    assert str(err.value) == "batch must be a whole number (an int), got text '2'."


@pytest.mark.parametrize("value", ["0.9", True, None, b"1"])
def test_a_float_argument_refuses_text_and_booleans(value):
    if value is not None:  # memory_fraction=None: the runtime's own fraction
        with pytest.raises(VramkitError, match="memory_fraction must be a number"):
            vramkit.budget(FLASH, "h200-sxm-141gb", count=2, memory_fraction=value)
    with pytest.raises(VramkitError, match="zipf_s must be a number"):
        moe.expected_experts_touched(128, 8, 4, zipf_s=value)
    with pytest.raises(VramkitError, match="mem_fraction_static"):
        kv_capacity.sglang_pool(DENSE, available_gib=20, total_gib=24, mem_fraction_static=value)


def test_swa_compress_is_a_switch_not_a_number():
    with pytest.raises(VramkitError, match="swa_compress must be true or false"):
        vramkit.kv_cache(FLASH, 4096, runtime="ik_llama.cpp", swa_compress=1)


def test_contexts_read_the_token_notation_everywhere():
    """The documented exception: "128K" = 128 × 1024 = 131072 tokens, in kv_cache, budget and
    the planner alike; a boolean or a fraction is still refused."""
    a = vramkit.kv_cache(FLASH, 131072).total_bytes
    assert vramkit.kv_cache(FLASH, "128K").total_bytes == a
    assert vramkit.kv_cache(FLASH, "131072").total_bytes == a
    b = vramkit.budget(FLASH, "h200-sxm-141gb", count=2, context=131072)
    assert vramkit.budget(FLASH, "h200-sxm-141gb", count=2, context="128K") == b
    machine = _machine()
    p = plan.solve(DENSE, machine, context=65536, curve=False)
    assert plan.solve(DENSE, machine, context="64K", curve=False) == p
    for bad in (True, 2.5, None, "lots"):
        with pytest.raises(VramkitError, match="context"):
            vramkit.kv_cache(FLASH, bad)
        with pytest.raises(VramkitError, match="context"):
            plan.solve(DENSE, machine, context=bad, curve=False)


def test_text_boundaries_parse_their_own_digits():
    """parse_int is for text the kit itself reads (a CLI value, 'rtx-4090-24gb:2'): digits only."""
    assert parse_int("count", " 12 ") == 12
    assert parse_int("count", 12) == 12
    for bad in ("1e3", "12.0", "٣", "１２", "", "2 GPUs", "9" * 31):
        with pytest.raises(VramkitError, match="count must be a whole number"):
            parse_int("count", bad)
    assert len(plan.build_machine(["rtx-4090-24gb:2"]).devices) == 2
    with pytest.raises(VramkitError, match="GPU count"):
        plan.build_machine(["rtx-4090-24gb:two"])


def test_require_helpers_refuse_huge_floats_rather_than_round_them():
    """2**53 + 1 is not a float: a float that large is refused, an int that large is exact."""
    assert require_int("n", 2**60 + 1) == 2**60 + 1
    with pytest.raises(VramkitError, match="whole number"):
        require_int("n", 1e300)
    with pytest.raises(VramkitError, match="finite"):
        require_number("x", 10**400)
