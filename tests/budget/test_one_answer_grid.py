"""One answer everywhere (issue 25, item 1): a grid of questions (model × GPU × context × runtime
× host RAM) asked of every face — `fit --json`, `plan --json`, the API (`vramkit.min_gpus`,
`vramkit.min_devices`, i.e. `vramkit.plan.count.min_devices`), the dashboard's `compute(state)`, the index's fit cells
(`vramkit.article.headline.headline`), notebook 04's `budget.fit_grid` and the Quick Summary — must get
the same count and the same verdict (fits / tight).

Nothing here is a pinned figure: every face's answer is compared with every other's, and the
count is checked to be the smallest (the count before it in `COUNTS` does not fit, on the
`plan` face too). The issue's two examples are pinned by their own arithmetic below.
"""

from __future__ import annotations

import functools
import json
import math
import shlex

import pytest

import vramkit
from vramkit import cli
from vramkit.article.headline import headline
from vramkit.budget import COUNTS, fit_grid
from vramkit.plan.count import min_devices
from vramkit.widgets.dashboard import compute

FLASH, PRO = "deepseek-v4-flash", "deepseek-v4-pro"
H200, H100, R4090 = "h200-sxm-141gb", "h100-sxm-80gb", "rtx-4090-24gb"
PLAN_MAX_GPUS = 64
"""`plan --gpu ID:N` takes at most 64 devices (vramkit.plan.machine.MAX_DEVICES)."""

GRID = [
    # (model, gpu, context, runtime, ram)
    *[(m, g, c, "vllm", None) for m in (FLASH, PRO) for g in (H200, H100) for c in ("32K", "1M")],
    *[(m, g, c, "sglang", None) for m in (FLASH, PRO) for g in (H200, H100) for c in ("32K", "1M")],
    *[(m, g, c, "llama.cpp", None) for m in (FLASH,) for g in (H200, R4090) for c in ("32K", "1M")],
    ("llama-3.1-70b", H100, "32K", "vllm", None),
    ("llama-3.1-70b", R4090, "128K", "vllm", None),
    ("llama-3.1-70b", R4090, "32K", "llama.cpp", None),
    ("gemma-4-26b-a4b", R4090, "32K", "sglang", None),
    (FLASH, R4090, "32K", "llama.cpp", "128GB"),
    (FLASH, R4090, "128K", "llama.cpp", "128GB"),
    (FLASH, R4090, "32K", "llama.cpp", "64GB"),
    (PRO, "rtx-pro-6000-blackwell-96gb", "32K", "llama.cpp", "512GB"),
]
"""36 questions: both V4 instruct models on data-centre GPUs under vLLM and SGLang at 32K and
1M, V4-Flash under llama.cpp with and without host RAM (the consumer box: RTX 4090s + 128 GB),
a dense model and a small MoE."""


def _ids(point: tuple) -> str:
    m, g, c, rt, ram = point
    return f"{m}-{g}-{c}-{rt}" + (f"-{ram}" if ram else "")


def _cli(argv: list[str]) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0, argv
    return json.loads(out.getvalue())


@functools.cache
def _fit(point: tuple) -> dict:
    m, g, c, rt, ram = point
    argv = ["fit", "--model", m, "--gpu", g, "--context", c, "--runtime", rt, "--json"]
    return _cli(argv + (["--ram", ram] if ram else []))


def _plan(point: tuple, count: int, recipe: str, ram: str | None) -> dict:
    m, g, c, rt, _ = point
    argv = ["plan", "--model", m, "--gpu", f"{g}:{count}", "--runtime", rt, "--recipe", recipe,
            "--context", c, "--json"]  # fmt: skip
    return _cli(argv + (["--ram", ram] if ram else []))


def _previous(count: int) -> int | None:
    i = COUNTS.index(count)
    return COUNTS[i - 1] if i else None


@pytest.mark.parametrize("point", GRID, ids=_ids)
def test_every_face_gives_one_answer(point: tuple) -> None:
    m, g, _c, rt, ram = point
    fit = _fit(point)
    count, recipe = fit["count"], fit["recipe"]
    ctx = fit["context"]
    kw = {"context": ctx, "runtime": rt, "recipe": recipe, **({"ram": ram} if ram else {})}

    # the API: budget's min_gpus and the planner's min_devices
    api = vramkit.min_gpus(m, g, **kw)
    assert (api.count, api.fits) == (count, fit["fits"])
    solver = min_devices(m, g, **{**kw, "runtime": api.budget.plan.runtime})
    assert vramkit.min_devices is min_devices
    assert (solver.count, solver.fits) == (count, fit["fits"])
    assert solver.verdict.tight == api.budget.verdict.tight == fit["tight"]
    assert fit["verdict"] == solver.verdict.as_dict()

    # `plan --json` at that count: the same verdict and knobs; one count fewer does not fit
    if count is not None and count <= PLAN_MAX_GPUS:
        p = _plan(point, count, recipe, fit["ram"])
        assert p["fits"] is True
        assert p["verdict"]["tight"] == fit["tight"]
        assert p["knobs"] == json.loads(json.dumps(fit["knobs"]))
        assert p["recipe"] == recipe
        prev = _previous(count)
        if prev is not None:
            short = vramkit.budget(m, g, count=prev, **kw)
            assert not short.fits
            assert _plan(point, prev, recipe, _ram_of(short) or ram)["fits"] is False

    # the dashboard's top panel at the count fit found (else at the largest count it tried)
    state = {"model": m, "gpu": g, "context": ctx, "runtime": rt, "recipe": recipe,
             "count": count or COUNTS[-1], "ram": ram or ""}  # fmt: skip
    d = compute(state)
    assert d["ok"], d
    assert (d["fits"], d["tight"]) == (fit["fits"], fit["tight"])
    assert d["verdict"]["headline"] == fit["verdict"]["headline"]
    if count is not None and count > 1:
        below = compute({**state, "count": _previous(count)})
        assert below["ok"]
        assert not below["fits"]
        assert f"Smallest set that fits: {count} × {g}" in below["suggestion"]

    # notebook 04's heatmap cell (budget.fit_grid) — for the questions it asks (no host RAM)
    if ram is None:
        row = fit_grid([m], [recipe], [ctx], g, runtime=rt)[0]
        assert row["min_gpus"] == count


INDEX_POINTS = [pt for pt in GRID if pt[3] == "vllm" and pt[0] in (FLASH, PRO)]


@pytest.mark.parametrize("point", INDEX_POINTS, ids=_ids)
def test_the_index_table_gives_fits_answer(point: tuple) -> None:
    """The index's fit cells (`summary.headline`, official layout, vLLM, batch 1) are `fit`'s."""
    m, g, _c, _rt, _ = point
    fit = _fit(point)
    cell = headline([m], ["official"], [fit["context"]], [g]).fits[0]
    assert cell.count == fit["count"]
    assert cell.tight == fit["tight"]
    if fit["count"] is not None:
        head = fit["per_gpu"]["headroom_bytes"]
        assert cell.headroom_bytes == head
        assert cell.text.startswith(f"{fit['count']} ×")


def test_the_quick_summary_rows_are_fits_answers() -> None:
    """Each fit the Quick Summary lists on a catalog box (DGX Spark 128 GB, Mac Studio 512 GB,
    one device, llama.cpp, 32K) is `fit --count 1 --recipe R`'s verdict, margin included."""
    from vramkit.article.quick_summary import SHORT, quick_summary
    from vramkit.quant import get_recipe

    rows = {r.vram_text: r for r in quick_summary()}
    for text, gpu in (("128GB", "dgx-spark-gb10-128gb"), ("512GB", "mac-studio-m3-ultra-512gb")):
        listed = rows[text].kit_fits.split("; ")
        assert listed
        assert listed != ["no V4 variant"]
        for item in listed:
            short, name = item.split(" ")[:2]
            mid = next(k for k, v in SHORT.items() if v == short)
            rid = get_recipe("official" if name == "official" else _gguf(name), model=mid).id
            argv = ["fit", "--model", mid, "--gpu", gpu, "--count", "1", "--runtime",
                    "llama.cpp", "--recipe", rid, "--json"]  # fmt: skip
            d = _cli(argv)
            assert d["fits"] is True, item
            free = f"{d['per_gpu']['headroom_bytes'] / 1e9:,.1f} GB free beyond the margin"
            assert free in item, (item, free)


def _gguf(name: str) -> str:
    return name if name.startswith("ds4-") else f"gguf-{name}"


def _ram_of(b) -> str | None:
    host = next((q for q in b.plan.places if q.kind == "host"), None)
    return f"{host.capacity_bytes / 1e9:g}GB" if host is not None and host.capacity_bytes else None


def test_the_issue_examples() -> None:
    """DeepSeek-V4-Pro at 1M with vLLM on H200s: fit, plan and the planner say 8 (TP 2 × PP 4
    with expert parallel), not 16; 2 × RTX 4090 + 128 GB with llama.cpp: fit names the offload
    plan (routed experts of some layers in host RAM) instead of 'does NOT fit … 16 × 4090'."""
    pro = _fit((PRO, H200, "1M", "vllm", None))
    assert pro["count"] == 8
    assert pro["knobs"]["tp"] * pro["knobs"]["pp"] * pro["knobs"]["dp"] == 8
    assert pro["knobs"]["pp"] > 1  # pipeline stages split the replicated latent KV
    # per GPU: total + margin ≤ the device total CUDA reports (data/gpus.yaml h200 cuda_total_memory,
    # 139.72 GiB = 150,023,207,649 B, vllm-project/vllm#23192), the margin being vLLM's 1 − 0.92 of it
    g = pro["per_gpu"]
    cuda = round(139.72 * 2**30)
    assert g["margin_bytes"] == cuda - math.floor(cuda * 0.92) == 12_001_856_612
    assert g["total_bytes"] + g["margin_bytes"] <= cuda
    assert pro["plan_command"].startswith("vramkit plan --model deepseek-v4-pro --gpu h200")

    box = _cli(["fit", "--model", FLASH, "--gpu", "2x4090", "--ram", "128GB", "--runtime",
                "llama.cpp", "--json"])  # fmt: skip
    assert box["count"] == 2
    assert box["fits"] is True
    assert box["knobs"]["n_cpu_moe"] > 0  # the offload plan: expert layers in host RAM
    assert "--n-cpu-moe" in box["layout"]
    assert box["recipe"].startswith(("gguf-", "ds4-"))  # a llama.cpp file, not the checkpoint
    alone = _cli(["fit", "--model", FLASH, "--gpu", "2x4090", "--runtime", "llama.cpp",
                  "--json"])  # fmt: skip
    assert alone["fits"] is False
    off = alone["offload_plan"]
    assert off["fits"] is True  # and it names the plan that does
    # the commands fit prints run as printed and give the same plans
    again = _cli([*shlex.split(off["command"])[1:], "--json"])
    assert again["fits"] is True
    assert again["knobs"]["n_cpu_moe"] == off["n_cpu_moe"]
    same = _cli([*shlex.split(pro["plan_command"])[1:], "--json"])
    assert same["knobs"] == pro["knobs"]
    assert same["verdict"] == pro["verdict"]


def test_fit_never_proposes_a_gguf_file_to_vllm_or_sglang() -> None:
    for rt in ("vllm", "sglang"):
        d = _cli(["fit", "--model", FLASH, "--gpu", H200, "--count", "8", "--parallel", "ep",
                  "--runtime", rt, "--json"])  # fmt: skip
        tried = vramkit.best_recipe(FLASH, H200, count=8, parallel="ep", runtime=rt).tried
        assert d["best_recipe"] is None or not d["best_recipe"].startswith(("gguf-", "ds4-"))
        assert not any(r.startswith(("gguf-", "ds4-")) for r, _, _ in tried)
