"""The prefill estimate: sourced dense TFLOPS, the FLOPs arithmetic, the bound (compute or
weight traffic, the lower), the fit on train rows only, and where it shows (plan text + JSON)."""

from __future__ import annotations

import json

import pytest

from vramkit.errors import VramkitError
from vramkit.speed_estimate import (
    efficiency_for,
    fit_prefill_efficiency,
    gpu_flops,
    held_out,
    load_gpu_compute,
    load_prefill_efficiency,
    load_speed_data,
    prefill_estimate,
    prefill_flops_per_token,
    prefill_held_out_errors,
    prefill_ratios,
    row_prefill_bound,
)


def _fmt(x: float) -> set[str]:
    return {f"{x:g}", f"{x:.1f}", f"{x:.0f}", f"{x:,.0f}"}


def test_every_dense_tflops_is_quoted_or_derived_with_a_formula():
    import yaml

    from vramkit.datafiles import DATA_DIR

    raw = yaml.safe_load((DATA_DIR / "gpu_compute.yaml").read_text())["gpus"]
    comp = load_gpu_compute()
    assert {"h100-sxm-80gb", "rtx-4090-24gb", "rtx-3090-24gb", "dgx-spark-gb10-128gb"} <= set(comp)
    for gid, rec in comp.items():
        src = raw[gid]["source"]
        if src.get("kind") == "derived":
            assert src.get("formula"), gid
            assert any(s in src["formula"] for s in _fmt(rec.flops_per_s / 1e12)), gid
        else:
            assert any(s in rec.source.quote for s in _fmt(rec.flops_per_s / 1e12)), gid
        assert rec.source.unconfirmed or src.get("kind") == "vendor-doc", gid


def test_flops_per_token_arithmetic():
    # 2 FLOPs per active parameter per token, no attention term
    assert prefill_flops_per_token(8.03e9, 512) == 2 * 8.03e9
    # + QK^T and A.V: 2 x layers x heads x (qk + v) x average context (prompt / 2)
    want = 2 * 8.03e9 + 2 * 32 * (32 * 256) * 2048 / 2
    assert prefill_flops_per_token(8.03e9, 2048, layers=32, attn_width=32 * 256) == want
    # a 1024-position window over a 4096-token prompt: 1024 - 1024^2 / (2 x 4096) = 896 attended
    got = prefill_flops_per_token(1e9, 4096, layers=2, attn_width=10, window=1024)
    assert got == 2e9 + 2 * 2 * 10 * 896


def test_row_bound_is_the_lower_of_compute_and_traffic():
    facts, rows = load_speed_data()
    r = next(x for x in rows if x.id == "lcpp4766-codellama7b-f16-rtx4090-pp512")
    b = row_prefill_bound(r, facts)
    # 330.3 TFLOPS (data/gpu_compute.yaml) / (2 x 6.74e9 FLOPs per token)
    assert b.compute_tokens_per_s == pytest.approx(330.3e12 / (2 * 6.74e9), rel=1e-9)
    # 512 tokens per pass x 1008 GB/s / 12.55 GiB
    assert b.traffic_tokens_per_s == pytest.approx(512 * 1008e9 / (12.55 * 2**30), rel=1e-9)
    assert b.limited_by == "compute"
    assert b.tokens_per_s == b.compute_tokens_per_s
    moe = next(x for x in rows if x.id == "spark-gpt-oss-120b-pp2048")
    mb = row_prefill_bound(moe, facts)
    # a 2048-token ubatch reads the 59.02 GiB file once at 273 GB/s
    assert mb.traffic_tokens_per_s == pytest.approx(2048 * 273e9 / (59.02 * 2**30), rel=1e-9)
    assert mb.limited_by == "weight traffic"


def test_committed_prefill_fit_uses_train_rows_only():
    facts, rows = load_speed_data()
    eff = load_prefill_efficiency()
    fit = fit_prefill_efficiency(rows, facts)
    assert (eff.train_ids, eff.held_out_ids) == (fit.train_ids, fit.held_out_ids)
    for k, v in fit.by_class.items():  # the file keeps 6 significant digits
        assert eff.by_class[k] == pytest.approx(v, rel=1e-5)
    ids = {r.id for r, _ in prefill_ratios(rows, facts)}
    assert set(eff.train_ids) | set(eff.held_out_ids) == ids
    assert not any(held_out(i) for i in eff.train_ids)
    assert all(held_out(i) for i in eff.held_out_ids)
    dense = sorted(x for r, x in prefill_ratios(rows, facts)
                   if r.id in eff.train_ids and r.placement == "gpu"
                   and facts[r.model].active_params == facts[r.model].total_params)  # fmt: skip
    import statistics

    assert eff.by_class["gpu-dense"] == pytest.approx(statistics.median(dense), rel=1e-5)
    errs = prefill_held_out_errors(rows, facts, eff)
    assert len(errs) == len(eff.held_out_ids) >= 3


def test_estimate_is_the_lower_bound_times_efficiency():
    eff = load_prefill_efficiency()
    e = prefill_estimate(
        flops_per_token=2e10, compute_flops_per_s=1e14, traffic_tokens_per_s=1e6,
        prompt_tokens=4096, limit="gpu", moe=False, eff=eff,
    )  # fmt: skip
    assert e.bound.tokens_per_s == 5000
    assert e.bound.limited_by == "compute"
    assert e.tokens_per_s == pytest.approx(5000 * efficiency_for(eff, "gpu", False)[0])
    assert e.low_tokens_per_s == pytest.approx(e.tokens_per_s * eff.spread_p10)
    assert e.label.startswith("estimate ")


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"flops_per_token": float("nan")}, "FLOPs per token"),
        ({"flops_per_token": 0}, "FLOPs per token"),
        ({"compute_flops_per_s": -1}, "compute FLOP/s"),
        ({"traffic_tokens_per_s": float("nan")}, "traffic"),
        ({"traffic_tokens_per_s": 0}, "traffic"),
        ({"limit": "disk"}, "unknown speed limiter"),
        ({"moe": "yes"}, "moe must be"),
    ],
)
def test_bad_prefill_input_is_a_vramkit_error(kw, needle):
    base = {"flops_per_token": 1e10, "compute_flops_per_s": 1e14, "traffic_tokens_per_s": 1e4,
                "prompt_tokens": 512, "limit": "gpu", "moe": False}  # fmt: skip
    with pytest.raises(VramkitError, match=needle):
        prefill_estimate(**{**base, **kw})
    with pytest.raises(VramkitError, match="prompt tokens"):
        prefill_flops_per_token(1e9, 0)


def test_a_gpu_without_sourced_tflops_has_none():
    assert gpu_flops("mac-studio-m3-ultra-512gb") is None
    assert gpu_flops(None) is None
    assert gpu_flops("h100-sxm-80gb") == pytest.approx(989.4e12)


PLAN = ["plan", "--model", "deepseek-v4-flash", "--gpu", "rtx-4090-24gb:2", "--ram", "128GB",
        "--context", "64K", "--runtime", "llama.cpp"]  # fmt: skip


def test_plan_shows_the_prefill_estimate_beside_the_bound(capsys):
    from vramkit import cli

    assert cli.main([*PLAN, "--json"]) == 0
    speed = json.loads(capsys.readouterr().out)["speed"]
    pf = speed["prefill_estimate"]
    assert pf["prompt_tokens"] == 65536
    assert pf["traffic_tokens_per_s"] == pytest.approx(speed["prefill_tokens_per_s"], rel=1e-5)
    low = min(pf["compute_tokens_per_s"], pf["traffic_tokens_per_s"])
    assert pf["tokens_per_s"] == pytest.approx(low * pf["efficiency"], rel=1e-4)
    assert "estimate" in pf["label"]
    assert cli.main(PLAN) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("Speed ("))
    assert lines[i + 2].startswith("  prefill of a 65,536-token prompt estimate ")
    assert "held-out spread" in lines[i + 2]


def test_plan_on_a_gpu_without_tflops_says_why(capsys):
    from vramkit import cli

    argv = ["plan", "--model", "deepseek-v4-pro", "--gpu", "mac-studio-m3-ultra-512gb", "--json"]
    assert cli.main(argv) == 0
    pf = json.loads(capsys.readouterr().out)["speed"]["prefill_estimate"]
    assert pf["tokens_per_s"] is None
    assert "no sourced dense TFLOPS" in pf["why"]


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ({"rtx-9999": {"dense_tflops": 1, "source": {"url": "https://x.org", "quote": "1"}}},
         "rtx-9999"),
        ({"h100-sxm-80gb": {"dense_tflops": -5, "source": {"url": "https://x.org", "quote": "5"}}},
         "must be > 0"),
        ({"h100-sxm-80gb": {"dense_tflops": 989.4}}, "source must be a mapping"),
        ({"h100-sxm-80gb": "989.4"}, "must be a mapping"),
    ],
)  # fmt: skip
def test_bad_gpu_compute_file_is_a_vramkit_error(tmp_path, record, needle):
    import yaml

    p = tmp_path / "gpu_compute.yaml"
    p.write_text(yaml.safe_dump({"schema_version": 1, "gpus": record}), encoding="utf-8")
    with pytest.raises(VramkitError, match=needle):
        load_gpu_compute(p)
