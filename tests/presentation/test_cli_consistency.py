"""CLI consistency (issue 17): one context parser, `fit --cache-dtype/--mtp`, a best-recipe search
over every recipe that applies, one unified-memory rule for `fit` and the Quick Summary, root
JupyterLab documented, no kernel warnings in a report run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vramkit import cli
from vramkit.article.quick_summary import RECIPES as QUICK_RECIPES
from vramkit.article.quick_summary import SHORT, quick_summary
from vramkit.budget import best_recipe as budget_best
from vramkit.budget import budget, candidate_recipes
from vramkit.catalog import V4_IDS, get_model
from vramkit.hardware import UNIFIED_OS_SHARE, gpu_working_set, gpus
from vramkit.plan import build_machine
from vramkit.quant import get_recipe, weight_bytes

ROOT = Path(__file__).resolve().parents[2]
FLASH = "deepseek-v4-flash"
SPARK = "dgx-spark-gb10-128gb"


def _fit(capsys, *args: str, model: str = FLASH) -> dict:
    assert cli.main(["fit", "--model", model, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_fit_context_takes_the_same_forms_as_kv(capsys) -> None:
    # K = 1024 and M = 1024**2 tokens, as `kv --context` and the README say
    by_suffix = _fit(capsys, "--gpu", "h200-sxm-141gb", "--context", "1M")
    by_number = _fit(capsys, "--gpu", "h200-sxm-141gb", "--context", "1048576")
    assert by_suffix == by_number
    assert by_suffix["context"] == 1024 * 1024
    assert _fit(capsys, "--gpu", "h200-sxm-141gb", "--context", "128K")["context"] == 131_072


def test_article_contexts_take_the_same_forms(capsys) -> None:
    assert cli.main(["article", "--min-context", "32K", "--safer-context", "128K", "--json"]) == 0
    by_suffix = json.loads(capsys.readouterr().out)
    assert cli.main(["article", "--json"]) == 0  # defaults 32768 and 131072
    assert by_suffix == json.loads(capsys.readouterr().out)


def test_fit_refuses_an_unreadable_context(capsys) -> None:
    assert cli.main(["fit", "--model", FLASH, "--gpu", "h200-sxm-141gb", "--context", "1X"]) == 2
    assert "cannot read context '1X'" in capsys.readouterr().err


def test_budget_reads_context_text_with_the_same_parser() -> None:
    assert budget(FLASH, "h200-sxm-141gb", count=2, context="1M").context == 1_048_576


def test_fit_cache_dtype_and_mtp(capsys) -> None:
    base = ["--gpu", "mac-studio-m3-ultra-512gb", "--count", "1", "--context", "128K"]
    bf16 = _fit(capsys, *base)
    fp8 = _fit(capsys, *base, "--cache-dtype", "fp8")
    mtp = _fit(capsys, *base, "--mtp")
    assert fp8["per_gpu"]["kv_bytes"] < bf16["per_gpu"]["kv_bytes"]
    assert fp8["per_gpu"]["weights_bytes"] == bf16["per_gpu"]["weights_bytes"]
    # on one device the MTP module adds exactly its own bytes (the official layout's 'mtp' group)
    mtp_group = weight_bytes(get_model(FLASH), "deepseek-v4-official").by_group["mtp"]
    assert mtp_group > 0
    assert mtp["per_gpu"]["weights_bytes"] - bf16["per_gpu"]["weights_bytes"] == mtp_group
    assert not any("MTP module not loaded" in a for a in mtp["assumptions"])


def test_best_recipe_search_includes_the_ds4_recipes(capsys) -> None:
    assert {"ds4-q2", "ds4-q4"} <= set(candidate_recipes(FLASH))
    # DGX Spark: 128 GB unified, 75% usable = 96 GB; ds4-q2 (86.79 GB of weights) fits it,
    # llama.cpp's Q2_K (103.28 GB) does not, so the best recipe on one box is ds4-q2
    args = ["--gpu", SPARK, "--count", "1", "--runtime", "llama.cpp"]
    assert _fit(capsys, *args, "--recipe", "ds4-q2")["fits"] is True
    assert _fit(capsys, *args)["best_recipe"] == "ds4-q2"


def test_quick_summary_and_fit_share_the_unified_rule(capsys) -> None:
    rows = {r.vram_bytes: r for r in quick_summary()}
    unified = [g for g in gpus().values() if g.unified and g.memory_bytes in rows]
    assert {g.id for g in unified} >= {SPARK, "mac-studio-m3-ultra-512gb"}
    for g in unified:
        row = rows[g.memory_bytes]
        # one rule (vramkit.hardware.gpu_working_set) for fit, the Quick Summary and the planner
        ws, why = gpu_working_set(g)
        assert why in row.reason
        assert f"{ws / 1e9:,.0f} GB usable" in row.reason
        assert build_machine([g.id]).devices[0].usable_bytes == ws
        for mid in V4_IDS:
            # one solver: the Quick Summary's pick over its recipes is the API's answer to the
            # same question, and `fit` with that recipe gives the same verdict
            recipes = [get_recipe(r, model=mid).id for r in QUICK_RECIPES]
            best = budget_best(mid, g, count=1, runtime="llama.cpp", recipes=recipes).recipe_id
            listed = [p for p in row.kit_fits.split("; ") if p.split(" ")[0] == SHORT[mid]]
            if best is None:
                assert listed == [], (g.id, mid, row.kit_fits)
                continue
            assert len(listed) == 1, (g.id, mid, row.kit_fits)
            official = best == get_model(mid).checkpoint_layout
            expected = "official" if official else best.removeprefix("gguf-")
            assert listed[0].split(" ")[1] == expected, (g.id, mid, row.kit_fits)
            args = ["--gpu", g.id, "--count", "1", "--runtime", "llama.cpp", "--recipe", best]
            assert _fit(capsys, *args, model=mid)["fits"] is True


def test_unified_usable_memory_is_three_quarters_of_the_pool() -> None:
    # DGX Spark (unified, not Apple): the OS-share assumption, in fit and in the planner
    b = budget(FLASH, SPARK, count=1, recipe="ds4-q2", runtime="llama.cpp")
    # usable = the working set less the margin the planner keeps (llama.cpp's --fit 1 GiB)
    ws = b.usable_bytes + b.margin_bytes
    assert ws == math.floor(128 * 10**9 * (1 - UNIFIED_OS_SHARE))
    assert build_machine([SPARK]).devices[0].usable_bytes == ws


def test_a_mac_gets_metals_working_set_in_fit_and_plan() -> None:
    # Mac Studio 512 GB: Metal's recommendedMaxWorkingSetSize, estimated from the measured
    # 128 GiB point (107.52 GiB, antirez/ds4#893): 512e9 x 107.52/128 = 430.08e9 bytes
    # (floor), not 75% (384 GB). llama.cpp's runtime fraction is 1.0, so usable = working set.
    mac = "mac-studio-m3-ultra-512gb"
    want = math.floor(512 * 10**9 * 107.52 / 128)
    b = budget(FLASH, mac, count=1, recipe="ds4-q2", runtime="llama.cpp")
    # (107.52 GiB is 115,448,725,094.4 bytes, rounded to whole bytes first: a few bytes off)
    ws = b.usable_bytes + b.margin_bytes  # the planner keeps llama.cpp's margin apart
    assert abs(ws - want) <= 8
    assert build_machine([mac]).devices[0].usable_bytes == ws
    assert any("recommendedMaxWorkingSetSize" in a for a in b.assumptions)


def test_readme_documents_jupyterlab_as_root() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "--allow-root" in readme


def test_report_run_prints_no_kernel_warnings(tmp_path, capfd) -> None:
    from vramkit.report import run_report

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    nb = new_notebook(cells=[new_markdown_cell("# 00 · tiny"), new_code_cell("print(1 + 1)")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, nbs / "00_tiny.ipynb")
    report = run_report(tmp_path / "out", notebooks_dir=nbs, progress=False)
    assert report.failed == ()
    captured = capfd.readouterr()
    assert "running over TCP" not in captured.err + captured.out
    assert "KeyboardInterrupt" not in captured.err


@pytest.mark.parametrize("name", ["deepseek-v4-flash", "deepseek-v4-pro"])
def test_fit_default_count_search_takes_text_contexts(capsys, name) -> None:
    out = _fit(capsys, "--gpu", "h200-sxm-141gb", "--context", "1M", model=name)
    assert out["context"] == 1_048_576
    assert out["fits"] is True
