"""Plan vs engine PER DEVICE: the llama.cpp flags the planner emits, fed to llama.cpp's own
projection with one `ggml-rpc-server` on 127.0.0.1 per planned GPU (the RPC build,
GGML_RPC=ON), so the engine itself splits layers (-ngl, -ts), applies -ot / --n-cpu-moe and
prints model / context / compute MiB per device. Fixtures: tests/fixtures/measured/plan/rpc/*.json,
written by `benchmarks/engines/plan_vs_engine.py --rpc`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from vramkit.runtimes.llamacpp.verify import compare, compare_devices, parse_engine

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "measured" / "plan" / "rpc").glob("*.json"))


def test_per_device_fixtures_exist() -> None:
    # every case of the CPU-only check, two of them with two (one of them mixed) GPUs
    assert len(FIXTURES) >= 6
    multi = [p for p in FIXTURES if len(json.loads(p.read_text())["devices"]) == 3]
    assert len(multi) >= 3


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_engine_places_each_device_as_planned(path: Path, plan_runner) -> None:
    rec = json.loads(path.read_text(encoding="utf-8"))
    model, plan, flags = plan_runner.plan_of(rec["case"])
    # measured with the flags vramkit emits today (else: re-measure with --rpc)
    assert list(flags.args) == rec["plan"]["flags"]
    assert rec["returncode"] == 0
    out = parse_engine(rec["lines"])
    gpus = [q for q in plan.places if q.kind == "gpu"]
    # one engine device per planned GPU (RPC0 … in --rpc order) plus the host
    assert sorted(out.rows) == sorted([f"RPC{i}" for i in range(len(gpus))] + ["Host"])
    checks = compare_devices(plan, out, n_layer=int(model.config["num_hidden_layers"]))
    assert [c.place for c in checks] == [q.name for q in plan.places]
    for c in checks:
        # the engine put exactly the planned layers (output layer with the last) on each GPU
        assert c.layers_match, (c.place, c.plan_layers, c.engine_layers)
        # weights per device: the engine prints whole MiB rounded down, so the plan (exact
        # bytes of the same tensors) is 0 … 1 MiB above it
        assert 0 <= c.weights.diff_mib < 1.0, (c.place, c.weights)
        # KV per device: each cache buffer printed rounded down; within 2 MiB
        assert abs(c.kv.diff_mib) < 2.0, (c.place, c.kv)
    # and the host split as in the CPU-only check: exactly the planned experts overridden
    assert compare(plan, out, model=model).host_split_matches


def test_a_wrong_layer_split_is_caught(plan_runner) -> None:
    """The engine's record disagrees with a plan that moves one layer from GPU0 to GPU1."""
    multi = next(p for p in FIXTURES if len(json.loads(p.read_text())["devices"]) == 3)
    rec = json.loads(multi.read_text(encoding="utf-8"))
    model, plan, _ = plan_runner.plan_of(rec["case"])
    g0, g1 = plan.places[0], plan.places[1]
    moved = dataclasses.replace(
        plan,
        places=(
            dataclasses.replace(g0, layers=(g0.layers[0], g0.layers[1] - 1)),
            dataclasses.replace(g1, layers=(g1.layers[0] - 1, g1.layers[1])),
            *plan.places[2:],
        ),
    )
    checks = compare_devices(
        moved, parse_engine(rec["lines"]), n_layer=int(model.config["num_hidden_layers"])
    )
    assert not checks[0].layers_match
    assert not checks[1].layers_match


def test_live_rpc_engine_when_built(plan_runner) -> None:
    mod = plan_runner
    eng = mod.rpc_engine()
    case = next(c for c in mod.CASES if len(c["gpus"]) == 2)  # 3090 + 4090, mixed sizes
    gguf = mod.cache_root() / "sparse-gguf" / f"{case['model']}.{case['layout']}.gguf"
    if eng is None or not gguf.is_file():
        pytest.skip("RPC build or sparse GGUF absent (benchmarks/engines/llamacpp.py builds it)")
    rec = mod.run_rpc_case(case, eng)
    fixture = json.loads((mod.OUT_RPC / f"{case['id']}.json").read_text(encoding="utf-8"))
    assert rec["returncode"] == 0
    assert rec["rows_mib"] == fixture["rows_mib"]
    assert all(d["layers_match"] for d in rec["devices"])


# ── the host's compute buffer (llama.cpp's CPU backend on a GPU run) ──


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_host_compute_buffer_matches_the_engine(path: Path, plan_runner) -> None:
    """The plan charges the host the CPU backend's compute buffer (graph inputs + one host
    expert layer's intermediates, vramkit.runtimes.llamacpp.memory.host_compute_bytes); the engine
    prints it as `sched_reserve: CPU compute buffer size = X MiB` (two decimals)."""
    rec = json.loads(path.read_text(encoding="utf-8"))
    model, plan, _ = plan_runner.plan_of(rec["case"])
    out = parse_engine(rec["lines"])
    assert out.cpu_compute_mib is not None
    assert out.cpu_compute_mib > 0
    host = next(
        c
        for c in compare_devices(plan, out, n_layer=int(model.config["num_hidden_layers"]))
        if c.place == "host"
    )
    assert host.compute_printed_mib == out.cpu_compute_mib
    # within 0.15 MiB of the printed figure (the engine's few other small index inputs, e.g.
    # DeepSeek V4's compressor positions, ≤ 0.13 MiB at -ub 2048, are not charged)
    assert host.compute_printed_diff_mib is not None
    assert abs(host.compute_printed_diff_mib) < 0.15, (host.compute.plan_mib, out.cpu_compute_mib)
    # and the breakdown row (whole MiB, rounded down) agrees
    assert host.compute.engine_mib == int(out.cpu_compute_mib)


def test_host_compute_fixtures_cover_other_settings() -> None:
    """Beyond the 6 plan cases: -ub 512 / 1024 / 2048, 1 and 2 GPUs, and several host expert
    layer counts, with and without host experts."""
    ubs, host_layers = set(), set()
    for p in FIXTURES:
        flags = json.loads(p.read_text(encoding="utf-8"))["plan"]["flags"]
        ubs.add(int(flags[flags.index("-ub") + 1]))
        if "--n-cpu-moe" in flags:
            host_layers.add(int(flags[flags.index("--n-cpu-moe") + 1]))
    assert len(FIXTURES) >= 11
    assert ubs == {512, 1024, 2048}
    assert len(host_layers) >= 5


def test_host_compute_arithmetic_qwen3_32k() -> None:
    """Qwen3-30B-A3B (one KV cache kind), -c 32768 -ub 512, flash attention, f16 cache:
    inputs = 512 x (8 x 2048 + 28) + 2 x 512 x 32768 = 8,402,944 + 33,554,432 = 41,957,376 B
    (two F32 n_embd rows, tokens / positions / output ids 4 B and K / V cell indices 8 B each
    per token, the F16 mask; 40.01 MiB, the engine's `CPU compute buffer size = 40.01 MiB` in
    tests/fixtures/measured/plan/rpc/qwen3-30b-a3b-q4km-3090-32gb-32k.json)."""
    from vramkit.configfile import model_from_config_file
    from vramkit.runtimes.llamacpp.memory import budget_host_compute

    m = model_from_config_file(ROOT / "data" / "examples" / "qwen3-30b-a3b")
    est = budget_host_compute(m, context=32768, batch=1, cache_dtype="f16", n_ubatch=512,
                              host_experts=False)  # fmt: skip
    assert est.inputs_bytes == 512 * (8 * 2048 + 28) + 2 * 512 * 32768 == 41_957_376
    assert est.bytes == 41_957_376  # nothing else on the host without host experts
    # with host experts (--n-cpu-moe ≥ 1) the inputs are copied and freed before layer 0's
    # experts run; the layer's tensors then sit above the never-freed input embedding and the
    # holes: the engine printed 80.01 MiB (…-q8-3090-64gb-32k.json), more than the inputs
    # and less than inputs + every layer tensor (no reuse)
    with_e = budget_host_compute(m, context=32768, batch=1, cache_dtype="f16", n_ubatch=512,
                                 host_experts=True)  # fmt: skip
    layer = 512 * (4 * 2048 + 4 * 8 * 768 * 3 + 4 * 8 * 2048) + 511 * 4 * 128 + 4 * 8
    assert est.bytes < with_e.bytes < est.bytes + layer
    assert round(with_e.bytes / 2**20, 2) == 80.01


def test_host_compute_bad_input() -> None:
    from vramkit.configfile import model_from_config_file
    from vramkit.errors import VramkitError
    from vramkit.runtimes.llamacpp.memory import Settings, host_compute_bytes

    m = model_from_config_file(ROOT / "data" / "examples" / "qwen3-30b-a3b")
    with pytest.raises(VramkitError, match="top_k"):
        host_compute_bytes(m.family, m.config, Settings(4096), n_expert=128, top_k=0, expert_ff=768,
                           host_experts=True)  # fmt: skip


def test_plan_charges_host_compute_as_its_own_line(plan_runner) -> None:
    """A GPU + RAM plan's host row carries the compute buffer, and a note says how."""
    rec = json.loads(
        (ROOT / "tests/fixtures/measured/plan/rpc/v4-flash-q4km-2x4090-192gb-64k.json").read_text()
    )
    _, plan, _ = plan_runner.plan_of(rec["case"])
    host = plan.place("host")
    assert host.bytes_by_component["compute buffer"] > 0
    assert any(n.startswith("host compute buffer") for n in plan.notes)
