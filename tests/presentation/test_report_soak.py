"""The short form of the report soak (issue 21): three reports of the widget notebook that used
to stall (02), back to back beside two CPU-burning processes, each bounded by a hard kill.

Required: no run hangs and none fails. No time is asserted (the machine may be busy): the full
30-run form with its p50 / p95 / 3x-median figures is `benchmarks/report_soak.py`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "report_soak.py"


@pytest.mark.notebook
@pytest.mark.slow
def test_three_loaded_reports_neither_hang_nor_fail() -> None:
    spec = importlib.util.spec_from_file_location("report_soak", SOAK)
    assert spec is not None
    assert spec.loader is not None
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    summary = soak.soak(runs=3, n_burners=2, only=["02"], hang_after_s=600)
    problems = [r for r in summary["records"] if r["status"] != "ok"]
    assert summary["hangs"] == 0, problems
    assert summary["failures"] == 0, problems
    assert summary["ok"] == 3
