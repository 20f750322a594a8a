"""The kit against the llm-d planner on the planner's own vLLM v0.19.0 / H100 sweep
(benchmarks/peer_llmd.py over data/peer_llmd_sweep.yaml): ahead on weights and on the KV pool over
the runs both answer, on the held-out runs too, and no run refused."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("peer_llmd", ROOT / "benchmarks" / "peer_llmd.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("peer_llmd", bench)
_spec.loader.exec_module(bench)


def test_kit_ahead_of_the_planner_on_its_own_sweep():
    results = [bench.evaluate(r) for r in bench.load_runs()]
    s = bench.summary(results)
    assert s["refused"] == []
    for subset in ("all", "held_out"):
        t = s[subset]
        assert t["runs"] >= (40 if subset == "all" else 8)
        assert t["kit_weights"] < t["peer_weights"]
        assert t["kit_pool"] < t["peer_pool"]
    # the standard: each term within 1 % on average
    assert s["all"]["kit_weights"] < 1.0
    assert s["all"]["kit_pool"] < 1.0
    # what is not answered is named, never dropped
    assert len(s["no_config"]) + s["all"]["runs"] == 59


def test_every_run_not_answered_says_why():
    for r in (bench.evaluate(r) for r in bench.load_runs()):
        assert (r.weights is None) == bool(r.why) or r.why == "reconstructed quantization_config"
