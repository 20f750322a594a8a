"""One Runtime record per runtime (data/runtimes.yaml): one id each, aliases resolved in one place,
a KV layout, typed capacity rule, and the same overhead sum in budget and audit."""

from __future__ import annotations

import pytest

from vramkit.article.audit import BudgetAssumptions, kv_bytes
from vramkit.budget import budget
from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.kv import kv_cache
from vramkit.runtimes import (
    FRACTION_OF,
    KV_LAYOUTS,
    get_runtime,
    planner_runtimes,
    runtime_aliases,
    runtime_ids,
    runtimes,
)
from vramkit.runtimes.engines import COMPUTE_BUFFERS, compute_buffer


def test_one_id_per_runtime_and_aliases_resolve_to_it():
    assert runtime_ids() == ["vllm", "llama.cpp", "ik-llama.cpp", "sglang", "trtllm", "reference"]
    names = runtime_aliases()
    assert names["llama-cpp"] == names["llama.cpp"] == "llama.cpp"
    assert len(set(names)) == len(names)
    for rid in runtime_ids():
        assert get_runtime(rid.upper()).id == rid
    with pytest.raises(VramkitError, match=r"llama\.cpp"):
        get_runtime("llama_cpp")


def test_every_runtime_has_a_kv_layout_and_a_typed_capacity_rule():
    for rt in runtimes().values():
        assert rt.kv_layout in KV_LAYOUTS
        assert rt.fraction_of in FRACTION_OF
        assert rt.kv.cache_dtypes
    assert get_runtime("trtllm").fraction_of == "free"
    assert get_runtime("sglang").kv_layout == "sglang"
    assert "estimate" in get_runtime("sglang").kv.description  # the approximation is said
    assert get_runtime("llama.cpp").uses_nccl is False
    assert get_runtime("vllm").flags["kv_cache_dtype"].flag == "--kv-cache-dtype"


def test_compute_buffer_hook_is_registered_in_python_for_exactly_the_computed_records():
    """A record that says its compute buffer is computed has a function registered in
    vramkit.runtimes.engines, and a function is registered for no other record."""
    for rt in runtimes().values():
        fn = compute_buffer(rt)
        assert (fn is not None) == rt.capabilities.compute_buffer_computed, rt.id
        assert fn is None or callable(fn)
    assert set(COMPUTE_BUFFERS) <= set(runtimes())


def test_kv_accepts_every_runtime_and_says_which_page_rules_it_used():
    flash = get_model("deepseek-v4-flash")
    via_vllm = kv_cache(flash, 131_072, runtime="vllm")
    via_sglang = kv_cache(flash, 131_072, runtime="sglang")
    via_trt = kv_cache(flash, 131_072, runtime="trtllm")
    assert via_sglang.runtime == "sglang"
    assert via_sglang.layout == "sglang"  # its own token pool (data/runtimes.yaml sglang.kv)
    assert via_trt.layout == "vllm"  # TensorRT-LLM still borrows vLLM's page rules
    assert via_trt.total_bytes == via_vllm.total_bytes
    assert kv_cache(flash, 4096, runtime="llama-cpp").runtime == "llama.cpp"


def test_audit_and_budget_charge_the_same_overheads():
    """The audit's one-GPU overhead is budget's overhead + the record's flat workspace at count 1
    (same function)."""
    for rid in runtime_ids():
        a = BudgetAssumptions(runtime=rid)
        b = budget("deepseek-v4-flash", "b300-288gb", count=1, runtime=rid, context=4096)
        rt = get_runtime(rid)
        # the planner keeps a fixed margin (llama.cpp's --fit margin) apart from the overhead;
        # the audit counts it in its overhead, as the record's overhead_bytes does
        kept = rt.margin_bytes if b.plan is not None else 0
        if rid == "ik-llama.cpp":
            # the planner charges ik_llama.cpp llama.cpp's record (vramkit.plan.placement
            # ._profile: no sourced overhead of the fork's own); the audit its own record
            assert (
                b.overhead_bytes
                == budget(
                    "deepseek-v4-flash", "b300-288gb", count=1, runtime="llama.cpp", context=4096
                ).overhead_bytes
            )
            continue
        # the audit is model-independent: it charges the record's flat workspace figure (none for
        # llama.cpp; vLLM's 1.93 GiB), while a runtime whose compute buffer is a function of the
        # model (llama.cpp, vLLM: vramkit.vllm_memory) has the budget compute it
        assert a.overhead_bytes == b.overhead_bytes + rt.workspace_bytes + kept, rid
        if not compute_buffer(rid):
            assert b.workspace_bytes == rt.workspace_bytes, rid
    # the old spelling passes the audit's own check and works inside kv (it used to fail there)
    llama = BudgetAssumptions(runtime="llama-cpp")
    flash = get_model("deepseek-v4-flash")
    assert (
        kv_bytes(flash, 4096, 1, llama.runtime)
        == kv_cache(flash, 4096, runtime="llama.cpp").total_bytes
    )


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"serves_gguf": "yes"}, "serves_gguf: true or false"),
        ({"placement": "pipes"}, "unknown placement"),
        ({"offload": None}, "unknown offload"),
        ({"flag_style": "ollama"}, "unknown flag_style"),
        ({"plan_overheads_of": "ollama"}, "unknown plan_overheads_of"),
        ({"serves_gguf": True, "speed": "fast"}, "unknown capability"),
        ("layers", "a mapping is required"),
    ],
)
def test_a_bad_capability_in_the_runtimes_file_is_one_clear_error(raw, said):
    from vramkit.runtimes import _capabilities

    if isinstance(raw, dict):
        raw = {"offload": "none", **raw}
    with pytest.raises(VramkitError, match=said):
        _capabilities("x", raw, runtimes())


def test_capabilities_say_what_the_code_used_to_read_from_ids():
    """The records' answers, written out: GGUF engines are llama.cpp and its fork; vLLM alone
    pipelines and offloads whole weights; the reference code and TensorRT-LLM are not planned."""
    caps = {rid: rt.capabilities for rid, rt in runtimes().items()}
    assert [r for r, c in caps.items() if c.serves_gguf] == ["llama.cpp", "ik-llama.cpp"]
    assert [r for r, c in caps.items() if c.pipeline_parallel] == ["vllm"]
    assert [r for r, c in caps.items() if c.offload == "weights"] == ["vllm"]
    assert planner_runtimes() == ("llama.cpp", "ik_llama.cpp", "vllm", "sglang")
    assert get_runtime("ik_llama.cpp").capabilities.plan_overheads_of == "llama.cpp"
    assert get_runtime("trtllm").kv.has("batch_steady_state")  # its KV is vLLM's (same_as)
    with pytest.raises(VramkitError, match="unknown KV trait"):
        get_runtime("vllm").kv.has("paged")
