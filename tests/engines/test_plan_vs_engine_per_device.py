"""Plan vs engine PER DEVICE: the llama.cpp flags the planner emits, fed to llama.cpp's own
projection with one `ggml-rpc-server` on 127.0.0.1 per planned GPU (the RPC build,
GGML_RPC=ON), so the engine itself splits layers (-ngl, -ts), applies -ot / --n-cpu-moe and
prints model / context / compute MiB per device. Fixtures: data/measured/plan/rpc/*.json,
written by `benchmarks/engines/plan_vs_engine.py --rpc`."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from vramkit.plan.verify import compare, compare_devices, parse_engine

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "data" / "measured" / "plan" / "rpc").glob("*.json"))


def _runner():
    spec = importlib.util.spec_from_file_location(
        "plan_vs_engine", ROOT / "benchmarks" / "engines" / "plan_vs_engine.py"
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_per_device_fixtures_exist() -> None:
    # every case of the CPU-only check, two of them with two (one of them mixed) GPUs
    assert len(FIXTURES) >= 6
    multi = [p for p in FIXTURES if len(json.loads(p.read_text())["devices"]) == 3]
    assert len(multi) >= 3


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_engine_places_each_device_as_planned(path: Path) -> None:
    rec = json.loads(path.read_text(encoding="utf-8"))
    model, plan, flags = _runner().plan_of(rec["case"])
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


def test_a_wrong_layer_split_is_caught() -> None:
    """The engine's record disagrees with a plan that moves one layer from GPU0 to GPU1."""
    multi = next(p for p in FIXTURES if len(json.loads(p.read_text())["devices"]) == 3)
    rec = json.loads(multi.read_text(encoding="utf-8"))
    model, plan, _ = _runner().plan_of(rec["case"])
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


def test_live_rpc_engine_when_built() -> None:
    mod = _runner()
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
