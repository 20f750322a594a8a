"""Shared fixtures of the engine tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def plan_runner() -> ModuleType:
    """benchmarks/engines/plan_vs_engine.py, loaded once (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "plan_vs_engine", ROOT / "benchmarks" / "engines" / "plan_vs_engine.py"
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
