"""A model is resolved once (issue 22): the first call (`plan.solve`, `fit`'s `place`) turns the
catalog id into its `ModelSpec` (config facts; its `Family` record, `ModelSpec.family_record`,
and tensor inventory derived once per spec) and the recipe name into its `Recipe`; below that,
functions are handed those objects (`LayerCosts.recipe`, `Plan.recipe`) and never look a name
up again.

Counted here: every call of `catalog.get_model`, `families.get_family` and `quant.get_recipe`
that resolves a *name* (a call handed the resolved object returns it unchanged and is not a
resolution), in a fresh interpreter (no memo of an earlier test hides a lookup), the catalog
loaded before counting. Before this change the `solve` below resolved "gemma4" by name 101 times
and the recipe "bf16" 252 times (the fit: 1 and 1 — `place` already handed its recipe down)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import collections, importlib, json, pkgutil, sys
import vramkit, vramkit.catalog as catalog, vramkit.families as families, vramkit.quant as quant
for info in pkgutil.walk_packages(vramkit.__path__, "vramkit."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
catalog.model_ids()  # the catalog loads (and checks each entry's family) before counting
counts = collections.defaultdict(collections.Counter)
resolved = {"get_model": catalog.ModelSpec, "get_family": families.Family,
            "get_recipe": quant.Recipe}

def counted(name, fn):
    def wrapper(*args, **kw):
        arg = args[0] if args else kw.get("recipe")
        if not isinstance(arg, resolved[name]):
            counts[name][str(arg)] += 1
        return fn(*args, **kw)
    return wrapper

originals = {"get_model": catalog.get_model, "get_family": families.get_family,
             "get_recipe": quant.get_recipe}
for mod in list(sys.modules.values()):
    if getattr(mod, "__name__", "").startswith("vramkit"):
        for name, fn in originals.items():
            if getattr(mod, name, None) is fn:
                setattr(mod, name, counted(name, fn))
case = sys.argv[1]
if case == "solve":
    from vramkit.plan import build_machine, solve
    solve("gemma-4-26b-a4b", build_machine(["rtx-4090-24gb"] * 2, ram="128GB"),
          context=32768, curve=True, capacity=True)
elif case == "config":
    from vramkit.model.configfile import model_from_config_file
    from vramkit.plan.count import place
    spec = model_from_config_file(sys.argv[2])
    place(spec, "h100-sxm-80gb", 1, runtime="vllm", context=8192)
else:
    from vramkit.plan.count import place
    place("llama-3.1-70b", "h100-sxm-80gb", 2, runtime="vllm", context=32768)
print(json.dumps(counts))
"""


def _counts(case: str, *args: str) -> dict[str, dict[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, case, *args], capture_output=True, text=True, env=env,
        timeout=600, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_solve_resolves_model_family_and_recipe_once():
    c = _counts("solve")
    assert c["get_model"] == {"gemma-4-26b-a4b": 1}
    assert c["get_family"] == {"gemma4": 1}
    recipes = c["get_recipe"]
    # the asked recipe (None: the checkpoint's layout) once; the verdict's smaller llama.cpp
    # recipes (`vramkit.plan.recipes.smaller_recipes`) are other recipes, each looked up once
    from vramkit.catalog import get_model

    assert recipes.pop(get_model("gemma-4-26b-a4b").checkpoint_layout) == 1
    assert all(n == 1 for n in recipes.values()), recipes


def test_one_fit_resolves_model_family_and_recipe_once():
    c = _counts("fit")
    assert c["get_model"] == {"llama-3.1-70b": 1}
    assert c["get_family"] == {"llama": 1}
    assert sum(c["get_recipe"].values()) == 1, c["get_recipe"]


def test_a_config_file_is_resolved_once():
    """From a config.json the family comes from its model_type once (`family_record_of`) and
    the spec holds it (`ModelSpec.with_family`): no lookup by name follows. Before: 3."""
    c = _counts("config", str(ROOT / "data/examples/gemma-2-2b-it/config.json"))
    assert "get_model" not in c  # a spec, not a catalog id
    assert "get_family" not in c, c["get_family"]
    assert c["get_recipe"] == {"uniform:BF16": 1}  # its stored layout (torch_dtype bfloat16)
