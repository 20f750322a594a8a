"""Every public function of `vramkit` called twice, in a fresh interpreter (the lazy-attribute
bug: `vramkit.budget(...)` worked once, then the submodule shadowed it), with a model id and
with a spec; `"official"` accepted everywhere a recipe is; searches say why instead of None."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, vramkit
    M, SPEC = "deepseek-v4-flash", None
    calls = {
        "get_model": lambda m: vramkit.get_model(M).id,
        "models": lambda m: len(vramkit.models()),
        "weight_bytes": lambda m: vramkit.weight_bytes(m).total_bytes,
        "get_recipe": lambda m: vramkit.get_recipe("official", model=m).id,
        "get_format": lambda m: vramkit.get_format("Q8_0").name,
        "kv_cache": lambda m: vramkit.kv_cache(m, 4096).total_bytes,
        "kv_grid": lambda m: int(vramkit.kv_grid(m, [4096]).total_bytes[0]),
        "moe_split": lambda m: vramkit.moe_split(m).total_bytes,
        "budget": lambda m: vramkit.budget(m, "h200-sxm-141gb", count=2).total_bytes,
        "min_gpus": lambda m: vramkit.min_gpus(m, "h200-sxm-141gb").count,
        "max_context": lambda m: vramkit.max_context(m, "h200-sxm-141gb", count=2),
        "best_recipe": lambda m: vramkit.best_recipe(m, "h200-sxm-141gb", count=2).recipe_id,
        "min_devices": lambda m: vramkit.min_devices(m, "h200-sxm-141gb").count,
        "model_from_config_file": lambda m: vramkit.model_from_config_file(
            "data/examples/qwen3-30b-a3b/config.json").params.total,
        "ingest": lambda m: vramkit.ingest("data/examples/qwen3-30b-a3b").model.params.total,
    }
    missing = sorted(set(vramkit.__all__) - set(calls) - {"__version__", "VramkitError"})
    out = {"missing": missing}
    for name, call in calls.items():
        by_id = [call(M), call(M)]
        spec = vramkit.get_model(M)
        by_spec = [call(spec), call(spec)]
        out[name] = by_id + by_spec
    print(json.dumps(out))
    """
)


def test_every_public_function_twice_by_id_and_by_spec():
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out.pop("missing") == [], "a public name has no call in this test"
    for name, results in out.items():
        assert len(set(map(str, results))) == 1, f"{name}: {results}"
    # official index total_size of DeepSeek-V4-Flash (data/models.yaml)
    assert out["weight_bytes"][0] == 159_609_485_896
    assert out["get_recipe"][0] == "deepseek-v4-official"
    assert out["min_gpus"][0] == 2
    assert out["min_devices"][0] == out["min_gpus"][0]  # one solver under both names
