"""Placement planner: conservation, agreement with `budget` (the no-offload case), llama.cpp's
layer-split rule, flags checked by construction, speed bounds from written-out arithmetic."""

from __future__ import annotations

import dataclasses
import re
from types import MappingProxyType

import pytest

from vramkit import budget as budget_mod
from vramkit.catalog import get_model
from vramkit.errors import VramkitError
from vramkit.kv import kv_cache
from vramkit.plan import build_machine, context_speed_curve, flags_for, plan_for, plan_speed, solve
from vramkit.plan.layers import layer_costs
from vramkit.plan.placement import candidate_plans
from vramkit.quant import weight_bytes
from vramkit.runtimes import get_runtime
from vramkit.runtimes.llamacpp.flags import check_llamacpp, llamacpp_layer_devices
from vramkit.runtimes.llamacpp.placement import llamacpp_plan
from vramkit.runtimes.vllm.placement import served_plan

FLASH = "deepseek-v4-flash"


@pytest.fixture(scope="module")
def two_4090() -> object:
    return build_machine(["rtx-4090-24gb:2"], ram="128GB")


def test_layer_costs_add_up_to_the_main_weights() -> None:
    m = get_model(FLASH)
    for recipe in ("gguf-Q4_K_M", "ds4-q2", None):
        c = layer_costs(m, recipe)
        w = weight_bytes(m, recipe or m.checkpoint_layout)
        assert c.total_bytes == w.total_bytes - w.by_group["mtp"]
        assert len({n for n, *_ in c.names}) == len(c.names)  # unique tensor names


def test_every_plan_conserves_weights_and_kv(two_4090) -> None:
    m = get_model(FLASH)
    costs = layer_costs(m, "ds4-q2")
    kv = kv_cache(m, 65536, runtime="llama.cpp").total_bytes
    weights = ("attention+dense", "shared experts", "routed experts", "embeddings/output")
    for p in candidate_plans(m, two_4090, recipe="ds4-q2", context=65536):
        assert sum(q.bytes_by_component[c] for q in p.places for c in weights) == costs.total_bytes
        assert sum(q.bytes_by_component["KV cache"] for q in p.places) == kv == p.kv_bytes


def test_llamacpp_no_offload_case_agrees_with_budget() -> None:
    """One H200, V4-Flash Q2_K (103 GB): everything fits on the GPU. `budget` is the planner's
    plan (one solver): its line items are the plan's GPU, term by term, and its verdict is the
    plan's; the input embedding stays in host RAM, as llama.cpp keeps it."""
    m = get_model(FLASH)
    machine = build_machine(["h200-sxm-141gb"], ram="64GB")
    p = plan_for(m, machine, recipe="gguf-Q2_K", runtime="llama.cpp", context=32768)
    assert p.fits
    assert p.knobs["n_cpu_moe"] == 0
    assert p.knobs["n_gpu_layers"] == 44
    b = budget_mod.budget(
        m, "h200-sxm-141gb", recipe="gguf-Q2_K", runtime="llama.cpp", context=32768
    )
    gpu = p.place("GPU0").bytes_by_component
    costs = layer_costs(m, "gguf-Q2_K")
    plan_weights = sum(
        gpu[c] for c in ("attention+dense", "shared experts", "routed experts", "embeddings/output")
    )
    assert plan_weights == b.weights_bytes
    assert b.plan.place("host").bytes_by_component["embeddings/output"] == costs.embed_bytes
    assert gpu["KV cache"] == b.kv_bytes
    assert gpu["compute buffer"] == b.workspace_bytes
    assert gpu["runtime overhead"] == b.overhead_bytes
    # the margin (llama.cpp's --fit margin) is kept apart: usable = capacity − margin
    assert p.place("GPU0").margin_bytes == b.margin_bytes == 1024 * 1024 * 1024
    assert b.usable_bytes == p.place("GPU0").capacity_bytes - b.margin_bytes
    assert p.place("GPU0").total_bytes == b.total_bytes
    assert b.headroom_bytes == p.place("GPU0").headroom_bytes
    assert p.fits == b.fits


@pytest.mark.parametrize(
    ("runtime", "gpu", "count"), [("vllm", "h200-sxm-141gb", 2), ("sglang", "h100-sxm-80gb", 4)]
)
def test_served_no_offload_case_agrees_with_budget(runtime: str, gpu: str, count: int) -> None:
    m = get_model(FLASH)
    machine = build_machine([f"{gpu}:{count}"], ram="256GB")
    p = plan_for(m, machine, runtime=runtime, context=131072)
    assert p.knobs["cpu_offload_gb"] == 0
    assert p.knobs["tp"] == count
    assert p.knobs["ep"]
    b = budget_mod.budget(m, gpu, count=count, runtime=runtime, context=131072, parallel="ep")
    g = p.place("GPU0")
    # the share the memory fraction leaves unused is the plan's margin (counted once)
    assert g.margin_bytes == g.capacity_bytes - b.usable_bytes == b.margin_bytes
    assert g.total_bytes == b.total_bytes
    assert g.bytes_by_component["KV cache"] == b.kv_bytes
    assert p.fits == b.fits


def test_llamacpp_split_rule_by_hand() -> None:
    # n_layer = 4, -ngl 5 (all + output), -ts 2,3: splits = [0.4, 1.0];
    # j/5 = 0, 0.2 → device 0; 0.4 (not > 0.4), 0.6, 0.8 → device 1 (upper_bound).
    assert llamacpp_layer_devices(4, 5, (2, 3)) == [0, 0, 1, 1, 1]
    # -ngl 3: i_gpu_start = 4 + 1 - 3 = 2, so layers 0, 1 on the CPU; act = 3, -ts 1,2.
    assert llamacpp_layer_devices(4, 3, (1, 2)) == [-1, -1, 0, 1, 1]
    assert llamacpp_layer_devices(4, 0, (1,)) == [-1] * 5


def test_ot_regex_selects_exactly_the_host_experts(two_4090) -> None:
    m = get_model(FLASH)
    p = plan_for(m, two_4090, recipe="gguf-Q3_K_M", runtime="ik_llama.cpp", context=65536)
    f = flags_for(p)
    ot = f.args[f.args.index("-ot") + 1]
    pattern, _, target = ot.rpartition("=")
    assert target == "CPU"
    host = p.place("host")
    costs = layer_costs(m, "gguf-Q3_K_M")
    selected = {n for n, *_ in costs.names if re.search(pattern, n)}
    want = {n for n, layer, _g, routed in costs.names if routed and layer in host.expert_layers}
    assert selected == want
    assert len(want) == 3 * len(host.expert_layers)
    # the plan's KV and GPU bytes fit, and the -ts split reproduces its layer ranges
    dev = llamacpp_layer_devices(
        costs.n_layers, int(p.knobs["n_gpu_layers"]), tuple(p.knobs["tensor_split"])
    )
    for g in (p.place("GPU0"), p.place("GPU1")):
        assert g.layers is not None
        assert {dev[i] for i in range(*g.layers)} == {int(g.name[-1])}


def test_check_fails_when_flags_and_plan_disagree(two_4090) -> None:
    m = get_model(FLASH)
    p = plan_for(m, two_4090, recipe="gguf-Q3_K_M", context=65536)
    check_llamacpp(p, use_n_cpu_moe=True)
    host = p.place("host")
    tampered_host = dataclasses.replace(host, expert_layers=host.expert_layers[:-1])
    bad = dataclasses.replace(p, places=tuple(tampered_host if q is host else q for q in p.places))
    with pytest.raises(VramkitError, match="do not realise the plan"):
        check_llamacpp(bad, use_n_cpu_moe=True)
    knobs = dict(p.knobs) | {"tensor_split": (20, 24)}
    with pytest.raises(VramkitError, match="-ts"):
        check_llamacpp(dataclasses.replace(p, knobs=MappingProxyType(knobs)), use_n_cpu_moe=True)


def test_llamacpp_flags_for_the_issue_example(two_4090) -> None:
    s = solve(FLASH, two_4090, recipe="gguf-Q3_K_M", context=65536, curve=False)
    assert s.plan.fits
    assert s.flags is not None
    a = s.flags.args
    assert a[a.index("-c") + 1] == "65536"
    assert a[a.index("-ngl") + 1] == "44"
    assert a[a.index("--n-cpu-moe") + 1] == str(s.plan.knobs["n_cpu_moe"])
    assert a[a.index("-lm") + 1] == "none"  # --load-mode none (the pinned tree's --no-mmap)
    assert a[a.index("-ctk") + 1] == "bf16"
    assert sum(int(x) for x in a[a.index("-ts") + 1].split(",")) == 44  # 43 layers + output


def test_offload_grows_with_context_and_the_curve_falls(two_4090) -> None:
    pts = context_speed_curve(
        FLASH, two_4090, recipe="gguf-Q3_K_M", contexts=(4096, 131072, 1048576)
    )
    assert all(p.fits for p in pts)
    assert [p.host_expert_layers for p in pts] == sorted(p.host_expert_layers for p in pts)
    speeds = [p.decode_tokens_per_s for p in pts]
    assert speeds == sorted(speeds, reverse=True)
    assert speeds[0] > speeds[-1]


def test_decode_bound_by_hand_for_a_dense_model_on_one_gpu() -> None:
    """Llama 3.1 70B Q4_K_M on a 96 GB RTX PRO 6000, one sequence at 4K: one step reads every
    layer and the output head from GPU memory, plus the KV of the sequence, plus one embedding
    row from host RAM. t = (Σ layers + output + KV) / 1792e9 + row / 89.6e9."""
    m = get_model("llama-3.1-70b")
    machine = build_machine(["rtx-pro-6000-blackwell-96gb"], ram="64GB")
    p = plan_for(m, machine, recipe="gguf-Q4_K_M", context=4096)
    assert p.fits
    assert p.knobs["n_gpu_layers"] == 81
    c = layer_costs(m, "gguf-Q4_K_M")
    kv = kv_cache(m, 4096, runtime="llama.cpp").total_bytes
    g = p.place("GPU0")
    t = (sum(c.layer_bytes) + c.output_bytes + kv) / g.bandwidth_bytes_per_s
    t += c.embed_row_bytes / 89.6e9
    s = plan_speed(p, machine)
    assert s.decode_step_seconds == pytest.approx(t, rel=1e-12)
    assert s.decode_tokens_per_s == pytest.approx(1 / t, rel=1e-12)


def test_vllm_offloads_what_does_not_fit_in_gib_per_gpu() -> None:
    m = get_model(FLASH)
    # 8 cards of 24e9 B each (a 4090's 25.76e9 B lets vLLM pipeline 8 stages with 2 GiB offload)
    machine = build_machine(["24GB@1008GB/s:8"], ram="512GB")
    p = plan_for(m, machine, runtime="vllm", context=32768)
    k = p.knobs
    assert k["tp"] == 8
    assert k["cpu_offload_gb"] > 0
    prof = get_runtime("vllm")
    g = p.place("GPU0")
    usable = int(g.capacity_bytes * 0.92)
    # what is left on the GPU fits; one GiB less offload would not
    assert g.total_bytes <= g.capacity_bytes
    # expert parallel over the 8 GPUs, attention tensor-parallel over the same 8 (vLLM's EP)
    w = budget_mod.weights_per_gpu(
        m, m.checkpoint_layout, count=8, parallel="ep", attention_tp=k["tp"]
    )
    need = (
        w
        + g.bytes_by_component["KV cache"]
        + g.bytes_by_component["compute buffer"]  # vLLM's profiling-run peak (vllm_memory)
        + prof.cuda_context_bytes
        + prof.nccl_bytes_per_gpu
    )
    assert need - k["cpu_offload_gb"] * 2**30 <= usable < need - (k["cpu_offload_gb"] - 1) * 2**30
    assert "--cpu-offload-gb" in flags_for(p).args


def test_nothing_fits_is_reported_not_hidden() -> None:
    m = get_model("deepseek-v4-pro")
    machine = build_machine(["rtx-4090-24gb"], ram="64GB")
    p = plan_for(m, machine, recipe="gguf-Q2_K", context=8192)
    assert not p.fits
    assert not p.place("host").fits


def test_served_runtimes_need_a_gpu() -> None:
    with pytest.raises(VramkitError, match="needs at least one GPU"):
        plan_for(FLASH, build_machine([], ram="512GB"), runtime="vllm")


def test_mixed_3090_4090_split_respects_each_card() -> None:
    m = get_model(FLASH)
    machine = build_machine(["rtx-3090-24gb", "rtx-4090-24gb"], ram="128GB")
    p = plan_for(m, machine, recipe="ds4-q2", context=32768)
    assert p.fits
    # driver-visible totals (data/gpus.yaml visible_memory, nvidia-smi): 3090 24576 MiB, 4090 24564 MiB
    assert p.place("GPU0").capacity_bytes == 24576 * 2**20
    assert p.place("GPU1").capacity_bytes == 24564 * 2**20
    check_llamacpp(p, use_n_cpu_moe=True)


def test_llamacpp_plan_validates_its_knob() -> None:
    m = get_model(FLASH)
    with pytest.raises(VramkitError, match="cpu_expert_layers"):
        llamacpp_plan(m, layer_costs(m, "ds4-q2"), build_machine(["rtx-4090-24gb"], ram="64GB"),
                      context=4096, sequences=1, cpu_expert_layers=99, cache_dtype=None, ubatch=512)  # fmt: skip
    assert served_plan  # imported for the served runtimes above


def test_kv_per_layer_follows_the_layer_kinds() -> None:
    """V4-Flash (llama.cpp layout, 64K): layers 0-1 keep only the 128-token raw window (ratio 0);
    CSA layers add their compressed entries, indexer keys and compressor state; HCA layers theirs.
    Each kind's bytes spread evenly over the layers holding it; the sum is the total."""
    from vramkit.plan.layers import kv_per_layer

    m = get_model(FLASH)
    k = kv_cache(m, 65536, runtime="llama.cpp")
    per = kv_per_layer(m, k.by_kind)
    assert sum(per) == k.total_bytes
    window = k.by_kind["window"] / 43
    assert per[0] == pytest.approx(window, abs=1)
    ratios = m.config["compress_ratios"]
    n_csa, n_hca = ratios[:43].count(4), ratios[:43].count(128)
    state = k.by_kind["state"] / (n_csa + n_hca)
    csa = window + (k.by_kind["csa"] + k.by_kind["indexer"]) / n_csa + state
    hca = window + k.by_kind["hca"] / n_hca + state
    assert per[ratios.index(4)] == pytest.approx(csa, abs=1)
    assert per[ratios.index(128)] == pytest.approx(hca, abs=1)
    g = get_model("gemma-4-31b")
    kg = kv_cache(g, 65536, runtime="llama.cpp")
    pg = kv_per_layer(g, kg.by_kind)
    assert max(pg) == kg.by_kind["full"] // 10  # 10 full-attention layers hold the full cache


def test_nvme_spill_when_host_ram_is_short() -> None:
    """V4-Flash Q4_K_M (172 GB) on one RTX 4090 + 64 GB RAM + a PCIe 5 NVMe: the experts that do
    not fit in RAM stay in the mmap'd file (no -lm none) and page in from NVMe; the NVMe share of
    the touched host experts bounds decode."""
    m = get_model(FLASH)
    box = build_machine(["rtx-4090-24gb"], ram="64GB", nvme="nvme-gen5-t705")
    p = plan_for(m, box, recipe="gguf-Q4_K_M", context=32768)
    assert p.fits
    disk = p.place("disk")
    host = p.place("host")
    assert host.total_bytes == 64 * 10**9  # RAM filled, the rest spilled
    assert disk.bytes_by_component["routed experts"] > 0
    assert p.knobs["no_mmap"] is False
    f = flags_for(p)
    assert "-lm" not in f.args
    s = plan_speed(p, box)
    assert s.limited_by.startswith("NVMe")
    without = build_machine(["rtx-4090-24gb"], ram="64GB")
    assert not plan_for(m, without, recipe="gguf-Q4_K_M", context=32768).fits


@pytest.mark.parametrize(("count", "tp", "pp"), [(3, 1, 3), (6, 2, 3), (8, 8, 1)])
def test_vllm_uses_every_gpu_with_divisible_tp_and_pipeline_stages(
    count: int, tp: int, pp: int
) -> None:
    """V4-Flash has 64 attention heads: TP must divide 64 and the GPU count; 3 or 6 H100s need
    pipeline stages (layers split) instead of idle GPUs or replicas that do not fit."""
    m = get_model(FLASH)
    p = plan_for(
        m, build_machine([f"h100-sxm-80gb:{count}"], ram="256GB"), runtime="vllm", context=32768
    )
    k = p.knobs
    assert (k["tp"], k["pp"]) == (tp, pp)
    assert k["tp"] * k["dp"] * k["pp"] == count
    assert 64 % k["tp"] == 0
    assert p.fits
    args = flags_for(p).args
    assert ("--pipeline-parallel-size" in args) == (pp > 1)


def test_capacity_falls_with_context(two_4090) -> None:
    from vramkit.plan import capacity_table

    rows = capacity_table(FLASH, two_4090, recipe="gguf-Q3_K_M", contexts=(4096, 131072, 1048576))
    seqs = [s for _, s in rows]
    assert seqs == sorted(seqs, reverse=True)
    assert seqs[-1] >= 1
    # the limit is real: one more sequence than the table says does not fit
    ctx, n = rows[1]
    assert not plan_for(FLASH, two_4090, recipe="gguf-Q3_K_M", context=ctx, sequences=n + 1).fits
    assert plan_for(FLASH, two_4090, recipe="gguf-Q3_K_M", context=ctx, sequences=n).fits


def test_vllm_pipeline_stages_split_layers_as_get_pp_indices() -> None:
    from vramkit.runtimes.vllm.placement import vllm_pp_layers

    # vLLM get_pp_indices (vllm/distributed/utils.py @5a6541d): n // pp layers each, the
    # remainder one each to the stages before the last. 61 layers over 4: 15 each, 1 left,
    # given to partitions[-2] -> 15, 15, 16, 15. 43 over 2: 21 each, 1 left -> 22, 21.
    assert vllm_pp_layers(61, 4) == [(0, 15), (15, 30), (30, 46), (46, 61)]
    assert vllm_pp_layers(43, 2) == [(0, 22), (22, 43)]
    # 22 over 4: 5 each, 2 left -> partitions[-2] and [-3] get one: 5, 6, 6, 5
    assert [b - a for a, b in vllm_pp_layers(22, 4)] == [5, 6, 6, 5]
    assert vllm_pp_layers(8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]


def test_a_host_filled_past_90_percent_of_the_ram_offered_says_so() -> None:
    """--ram is what the runtime may fill: a plan that fills more than 90 % of it notes that the OS
    needs RAM beyond it; with room to spare there is no such note."""
    from vramkit.plan.record import HOST_FILL_WARN

    m = get_model("deepseek-v4-flash")
    tight = plan_for(
        m, build_machine(["rtx-4090-24gb:2"], ram="128GB"), runtime="llama.cpp",
        recipe="gguf-Q4_K_M", context=32768,
    )  # fmt: skip
    host = tight.place("host")
    share = host.total_bytes / host.capacity_bytes
    assert share >= HOST_FILL_WARN
    assert f"host RAM filled to {share:.1%} of the 128.0 GB offered" in " ".join(tight.notes)
    roomy = plan_for(
        m, build_machine(["rtx-4090-24gb:2"], ram="256GB"), runtime="llama.cpp",
        recipe="gguf-Q4_K_M", context=32768,
    )  # fmt: skip
    roomy_host = roomy.place("host")
    assert roomy_host.total_bytes < HOST_FILL_WARN * roomy_host.capacity_bytes
    assert not any(n.startswith("host RAM filled") for n in roomy.notes)
