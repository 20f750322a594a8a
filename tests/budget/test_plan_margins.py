"""Verdicts a user can act on (issue 25 item 2): a margin per GPU (by default the engine's own),
each place's headroom, host RAM past 90 % of what is offered making a fitting plan "tight" with
what to try, and `fit` naming the planner's offload plan for llama.cpp."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from vramkit import budget as budget_mod
from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.plan import build_machine, engine_margin, plan_for, resolve_margin, solve, summary
from vramkit.plan.verdict import HOST_TIGHT, plan_reasons

FLASH = "deepseek-v4-flash"
DENSE = "llama-3.1-70b"
GIB = 1024 * 1024 * 1024
H200_CUDA = round(139.72 * 2**30)  # data/gpus.yaml h200 cuda_total_memory (vLLM#23192)

LLAMACPP_FIT_TARGET = 1024 * 1024 * 1024
"""llama.cpp's --fit margin per device: common/common.h line 483 of the llama.cpp tree vendored in
llama-cpp-python 0.3.36 (llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f):
``std::vector<size_t> fit_params_target = std::vector<size_t>(llama_max_devices(), 1024 *
1024*1024);`` — the "target margin per device for --fit" of common/arg.cpp lines 2895-2898."""

VENDORED_COMMON_H = (
    Path.home()
    / ".cache/vramkit/engines/llama.cpp-0.3.36/src/llama_cpp_python-0.3.36/vendor/llama.cpp"
    / "common/common.h"
)


def _cli_json(argv: list[str], capsys) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_llamacpp_margin_is_the_engines_fit_target() -> None:
    m = engine_margin("llama.cpp")
    assert m.fixed_bytes == LLAMACPP_FIT_TARGET
    assert m.bytes_for(24 * 10**9) == LLAMACPP_FIT_TARGET  # per device, whatever its size
    # ik_llama.cpp: its --fit is off by default (and keeps 1024 MiB only when on: src/llama.cpp
    # L4208 at 8337e4cd), so none is assumed (the figure the article's audit charges too:
    # tests/catalog/test_runtime_records.py)
    assert engine_margin("ik_llama.cpp").fixed_bytes == 0


def test_fit_target_read_from_the_vendored_engine_source() -> None:
    if not VENDORED_COMMON_H.is_file():
        pytest.skip("llama.cpp is not built here (tasks.py builds it into ~/.cache/vramkit)")
    text = VENDORED_COMMON_H.read_text(encoding="utf-8", errors="replace")
    line = next(x for x in text.splitlines() if "fit_params_target =" in x)
    assert "1024 * 1024*1024" in line
    assert engine_margin("llama.cpp").fixed_bytes == 1024 * 1024 * 1024


def test_vllm_margin_is_what_gpu_memory_utilization_leaves_and_is_counted_once() -> None:
    # data/runtimes.yaml vllm.memory_fraction_default 0.92 (vllm/config/cache.py @002f10e:
    # "If unspecified, will use the default value of 0.92"): of 141e9 bytes it keeps
    # 141e9 - floor(141e9 * 0.92) = 11.28e9 bytes free; an H200 is sized by the total CUDA
    # reports (data/gpus.yaml cuda_total_memory 139.72 GiB = 150,023,207,649 B, vLLM#23192):
    # 150,023,207,649 - floor(0.92 x 150,023,207,649) = 12,001,856,612 B free.
    m = engine_margin("vllm")
    assert m.memory_fraction == 0.92
    assert m.bytes_for(141 * 10**9) == 141 * 10**9 - math.floor(141 * 10**9 * 0.92)
    machine = build_machine(["h200-sxm-141gb:2"])
    p = plan_for(FLASH, machine, runtime="vllm", context=32768)
    g = p.place("GPU0")
    assert g.margin_bytes == H200_CUDA - math.floor(H200_CUDA * 0.92) == 12_001_856_612
    # once: the memory fraction's share is the margin, not also a 'runtime overhead'
    overhead = budget_mod.get_runtime("vllm").overhead_bytes(split=True)
    assert g.bytes_by_component["runtime overhead"] == overhead
    assert g.headroom_bytes == g.capacity_bytes - g.margin_bytes - g.total_bytes
    assert p.knobs["gpu_memory_utilization"] == 0.92


def test_sglang_assumes_no_margin_unless_given() -> None:
    assert engine_margin("sglang").bytes_for(80 * 10**9) == 0
    assert "pass --margin" in engine_margin("sglang").why


def test_every_llamacpp_gpu_keeps_the_margin_free() -> None:
    """A plan packed to the last layer used to read 'X of X GB, fits': now the margin is kept
    apart and each GPU's total + margin ≤ capacity, with headroom = capacity − margin − total."""
    machine = build_machine(["rtx-4090-24gb:2"], ram="256GB")
    p = plan_for(FLASH, machine, runtime="llama.cpp", recipe="gguf-Q4_K_M", context=32768)
    assert p.fits
    for g in (q for q in p.places if q.kind == "gpu"):
        assert g.margin_bytes == LLAMACPP_FIT_TARGET
        assert g.total_bytes + g.margin_bytes <= g.capacity_bytes
        assert g.headroom_bytes == g.capacity_bytes - g.margin_bytes - g.total_bytes >= 0


def test_a_larger_margin_leaves_fewer_bytes_on_each_gpu() -> None:
    machine = build_machine(["rtx-4090-24gb:2"], ram="256GB")
    kw = {"runtime": "llama.cpp", "recipe": "gguf-Q4_K_M", "context": 32768}
    base = plan_for(FLASH, machine, **kw)
    wide = plan_for(FLASH, machine, margin="4GiB", **kw)
    for a, b in zip(base.places, wide.places, strict=True):
        if a.kind == "gpu":
            assert b.margin_bytes == 4 * GIB
            assert b.total_bytes + 4 * GIB <= b.capacity_bytes
            assert b.total_bytes <= a.total_bytes
    assert wide.place("host").total_bytes >= base.place("host").total_bytes


def test_no_margin_and_a_full_gpu_is_tight() -> None:
    machine = build_machine(["rtx-4090-24gb:2"], ram="512GB")
    p = plan_for(FLASH, machine, runtime="llama.cpp", recipe="gguf-Q4_K_M", margin="0GB")
    gpus = [q for q in p.places if q.kind == "gpu"]
    assert all(q.margin_bytes == 0 for q in gpus)
    tight, reasons = plan_reasons(p)
    # tight exactly when some GPU has under 1 % of its memory free (arithmetic of the rule)
    assert tight == any(q.headroom_bytes < 0.01 * q.capacity_bytes for q in gpus)
    assert all("no margin kept" in r for r in reasons)


def test_vllm_margin_as_a_share_sets_the_memory_fraction() -> None:
    machine = build_machine(["h200-sxm-141gb:2"])
    p = plan_for(FLASH, machine, runtime="vllm", context=32768, margin="10%")
    assert p.knobs["gpu_memory_utilization"] == 0.9
    g = p.place("GPU0")
    assert g.margin_bytes == H200_CUDA - math.floor(H200_CUDA * 0.9) == 15_002_320_765
    # a size: (141e9 - 20 GiB) / 141e9 = 0.8477 -> rounded down to 0.84 (keeps at least 20 GiB)
    m = resolve_margin("20GiB", "vllm", memory_bytes=141 * 10**9)
    assert m.memory_fraction == 0.84


def test_tight_host_on_a_constructed_machine() -> None:
    """The llama.cpp placement does not depend on the RAM offered (no disk): plan once with
    room, then offer RAM such that the host is 95 % full (tight) or 85 % full (not)."""
    kw = {"runtime": "llama.cpp", "recipe": "gguf-Q4_K_M", "context": 32768}
    roomy = plan_for(FLASH, build_machine(["rtx-4090-24gb:2"], ram="1TB"), **kw)
    host = roomy.place("host").total_bytes
    ram95 = host * 100 // 95  # host / ram ≈ 0.95 > 0.90
    s = solve(FLASH, build_machine(["rtx-4090-24gb:2"], ram=ram95), curve=False,
              capacity=False, **kw)  # fmt: skip
    assert s.plan.knobs == roomy.knobs
    v = s.verdict
    assert v is not None
    assert v.fits
    assert v.tight
    share = host / ram95
    assert 0.949 < share <= 0.951
    assert v.reasons[0].startswith(f"host RAM {share:.0%} used ({host / 1e9:,.1f} of ")
    # what to try, each checked by the planner: a smaller recipe, and the RAM for ≤ 90 %
    need = math.ceil(host / HOST_TIGHT / 1e9)
    assert f"--ram {need}GB" in " ".join(v.tries)
    smaller = [t for t in v.tries if t.startswith("--recipe ")]
    assert smaller, v.tries
    r = smaller[0].split()[1]
    q = plan_for(FLASH, build_machine(["rtx-4090-24gb:2"], ram=ram95), **{**kw, "recipe": r})
    assert q.fits
    assert not plan_reasons(q)[0]
    assert v.headline.startswith("fits, tight: host RAM 95% used")
    assert "; try --recipe " in v.headline
    d = v.as_dict()
    assert (d["fits"], d["tight"]) == (True, True)
    assert d["reasons"] == list(v.reasons)
    ram85 = host * 100 // 85
    calm = solve(FLASH, build_machine(["rtx-4090-24gb:2"], ram=ram85), curve=False,
                 capacity=False, **kw)  # fmt: skip
    assert calm.verdict is not None
    assert calm.verdict.fits
    assert not calm.verdict.tight
    g = min((q for q in calm.plan.places if q.kind == "gpu"), key=lambda q: q.headroom_bytes)
    assert calm.verdict.headline == (
        f"fits (least headroom: {g.name} {g.headroom_bytes / 1e9:,.2f} GB free, beyond its "
        f"{g.margin_bytes / 1e9:,.2f} GB margin)"
    )
    assert calm.verdict.tries == ()


def test_not_fitting_says_which_place_is_short() -> None:
    p = solve(DENSE, build_machine(["rtx-4090-24gb"]), runtime="vllm", context=4096,
              curve=False, capacity=False)  # fmt: skip
    v = p.verdict
    assert v is not None
    assert not v.fits
    assert not v.tight
    g = p.plan.place("GPU0")
    assert v.reasons[0].startswith(f"GPU0 needs {g.total_bytes / 1e9:,.2f} GB")
    assert f"(short {-g.headroom_bytes / 1e9:,.2f} GB)" in v.reasons[0]


def test_plan_cli_json_and_text_show_margin_headroom_and_verdict(capsys) -> None:
    # 136 GB: at 128 GB the plan no longer fits once CUDA0 is charged the largest host expert
    # tensor its offloaded matmuls copy in (1,680 MiB; vramkit.runtimes.llamacpp.cuda term 6)
    argv = ["plan", "--model", FLASH, "--gpu", "rtx-4090-24gb:2", "--ram", "136GB",
            "--recipe", "gguf-Q4_K_M"]  # fmt: skip
    d = _cli_json([*argv, "--json"], capsys)
    assert d["verdict"]["fits"] is True
    assert d["verdict"]["tight"] is True
    assert d["verdict"]["reasons"][0].startswith("host RAM ")
    for q in d["places"]:
        assert q["headroom_bytes"] == q["capacity_bytes"] - q["margin_bytes"] - q["total_bytes"]
    assert [q["margin_bytes"] for q in d["places"] if q["kind"] == "gpu"] == [GIB, GIB]
    d2 = _cli_json([*argv, "--margin", "2GiB", "--json"], capsys)
    assert [q["margin_bytes"] for q in d2["places"] if q["kind"] == "gpu"] == [2 * GIB, 2 * GIB]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "fits, tight: host RAM" in text
    assert "margin per GPU: llama.cpp's --fit margin, 1,024 MiB per device" in text
    assert "headroom GB" in text


def test_summary_and_panel_carry_the_verdict() -> None:
    from vramkit.widgets import plan as panel

    s = summary(FLASH, recipe="gguf-Q4_K_M", ram="136GB", details=False)
    assert s["verdict"]["tight"] is True
    for q in s["places"]:
        assert q["headroom_gb"] == pytest.approx(q["capacity_gb"] - q["margin_gb"] - q["total_gb"])
    r = panel.compute({**panel.DEFAULTS})
    assert r["ok"], r
    v = r["summary"]["verdict"]
    assert f"data-tight='{str(v['tight']).lower()}'" in r["html"]
    assert "vk-plan-headroom" in r["html"]


def test_budget_margin_replaces_the_fit_margin() -> None:
    kw = {"recipe": "gguf-Q2_K", "runtime": "llama.cpp", "context": 32768}
    base = budget_mod.budget(FLASH, "h200-sxm-141gb", **kw)
    wide = budget_mod.budget(FLASH, "h200-sxm-141gb", margin="3GiB", **kw)
    assert base.margin_bytes == GIB
    assert wide.margin_bytes == 3 * GIB
    # the planner keeps the margin apart from the overhead: usable shrinks by the 2 GiB more
    assert wide.overhead_bytes == base.overhead_bytes
    assert base.usable_bytes - wide.usable_bytes == 2 * GIB
    v = budget_mod.budget(FLASH, "h200-sxm-141gb", runtime="vllm", margin="10%")
    assert v.usable_bytes == math.floor(H200_CUDA * 0.9)
    assert v.margin_bytes == H200_CUDA - v.usable_bytes


def test_fit_names_the_planners_offload_plan_for_llamacpp(capsys) -> None:
    argv = ["fit", "--model", FLASH, "--gpu", "2x4090", "--runtime", "llama.cpp",
            "--recipe", "gguf-Q4_K_M"]  # fmt: skip
    # with --ram, fit's answer IS the planner's offload plan (one solver)
    d = _cli_json([*argv, "--ram", "256GB", "--json"], capsys)
    p = plan_for(FLASH, build_machine(["rtx-4090-24gb:2"], ram="256GB"), runtime="llama.cpp",
                 recipe="gguf-Q4_K_M", context=32768)  # fmt: skip
    assert d["fits"] is p.fits is True
    assert d["knobs"]["n_cpu_moe"] == p.knobs["n_cpu_moe"] > 0
    assert d["offload_plan"] is None
    assert d["per_gpu"]["margin_bytes"] == GIB
    # without --ram the GPUs alone do not hold it; fit names the offload plan that does
    d = _cli_json([*argv, "--json"], capsys)
    assert d["fits"] is False
    off = d["offload_plan"]
    assert off["fits"] is True
    assert off["recipe"] == "gguf-Q4_K_M"
    q = plan_for(FLASH, build_machine(["rtx-4090-24gb:2"], ram=off["ram"]), runtime="llama.cpp",
                 recipe="gguf-Q4_K_M", context=32768)  # fmt: skip
    assert off["n_cpu_moe"] == q.knobs["n_cpu_moe"]
    assert off["host_bytes"] == q.place("host").total_bytes
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "With host RAM (llama.cpp offloads routed experts; the planner's plan)" in text
    assert f"--n-cpu-moe {q.knobs['n_cpu_moe']}" in text
    # vLLM never gets an offload plan from fit
    d = _cli_json(["fit", "--model", FLASH, "--gpu", "h200-sxm-141gb", "--json"], capsys)
    assert d["offload_plan"] is None


@pytest.mark.parametrize(
    ("margin", "needle"),
    [
        ("1", "no unit"),
        ("95%", "0% to 90%"),
        ("nan%", "0% to 90%"),
        ("-5%", "0% to 90%"),
        ("lots", "cannot read margin"),
        (True, "margin must be"),
        (1.5, "margin must be"),
    ],
)
def test_bad_margins_are_refused(margin: object, needle: str) -> None:
    with pytest.raises(VramkitError, match=needle):
        resolve_margin(margin, "llama.cpp")


def test_a_size_margin_at_least_the_gpu_is_refused_for_served_runtimes() -> None:
    with pytest.raises(VramkitError, match="not less than the GPU"):
        resolve_margin("200GB", "vllm", memory_bytes=141 * 10**9)
    with pytest.raises(VramkitError, match="margin or memory_fraction, not both"):
        budget_mod.budget(FLASH, "h200-sxm-141gb", margin="1GiB", memory_fraction=0.9)
    with pytest.raises(VramkitError, match="not trtllm"):
        budget_mod.budget(FLASH, "h200-sxm-141gb", runtime="trtllm", margin="1GiB")
