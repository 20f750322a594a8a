"""The decode-speed estimate: its dataset (every figure quoted with its source), the fixed
held-out split, the committed fit reproduced from the data, and errors on bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from vramkit.datafiles import load_document
from vramkit.errors import VramkitError
from vramkit.plan.speed_estimate import (
    _fit_class,
    _fit_class_per_gpu,
    decode_estimate,
    decode_ratios,
    efficiency_for,
    fit_efficiency,
    fit_prefill_efficiency,
    held_out,
    load_efficiency,
    load_prefill_efficiency,
    load_speed_data,
    overhead_for,
    plan_limit,
    prefill_held_out_errors,
    row_decode_bound,
)

ROOT = Path(__file__).resolve().parents[2]


def _fit_script():
    spec = importlib.util.spec_from_file_location("fit_speed", ROOT / "benchmarks" / "fit_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fmt(x: float) -> set[str]:
    """How a figure may be printed in a quote: '59.02', '13', '145', '9.7'."""
    return {f"{x:g}", f"{x:.2f}", f"{x:.1f}", f"{x:.0f}"}


def test_every_row_quotes_its_figures():
    facts, rows = load_speed_data()
    assert len(rows) >= 25
    raw = {r["id"]: r for r in load_document("measured_speed.yaml")["rows"]}
    for r in rows:
        quote = r.source.quote
        assert r.source.url, r.id
        assert r.source.url.startswith("https://"), r.id
        assert any(s in quote for s in _fmt(r.tokens_per_s)), (r.id, r.tokens_per_s)
        size = raw[r.id].get("file_gib", raw[r.id].get("file_gb"))
        size_quote = quote + " " + str((raw[r.id].get("file_source") or {}).get("quote", ""))
        assert any(s in size_quote for s in _fmt(size)), (r.id, size)
        if r.host_bytes_per_s:
            host = raw[r.id].get("host_gb_s", raw[r.id].get("host_gib_s"))
            assert any(s in quote for s in _fmt(host)), r.id
    for mid, f in facts.items():
        assert any(s in f.source.quote for s in _fmt(f.active_params / 1e9)), mid


def test_held_out_split_is_fixed_by_id():
    # sha256(id)[:8] as an int, mod 3 == 0; pinned for ids whose hash was computed here:
    import hashlib

    for rid in ("spark-gemma-3-4b-q4-tg32-d4096", "spark-gpt-oss-20b-tg32", "a", "b"):
        want = int(hashlib.sha256(rid.encode()).hexdigest()[:8], 16) % 3 == 0
        assert held_out(rid) is want
    assert held_out("spark-gemma-3-4b-q4-tg32-d4096") is True
    assert held_out("spark-gpt-oss-20b-tg32") is False
    eff = load_efficiency()
    assert all(held_out(i) for i in eff.held_out_ids)
    assert not any(held_out(i) for i in eff.train_ids)
    assert not set(eff.train_ids) & set(eff.held_out_ids)


def test_committed_fit_reproduces_from_the_data():
    facts, rows = load_speed_data()
    text = _fit_script().render(fit_efficiency(rows, facts), fit_prefill_efficiency(rows, facts))
    assert (ROOT / "data" / "speed_efficiency.yaml").read_text(encoding="utf-8") == text


@pytest.mark.parametrize("moe", [False, True])
def test_gpu_class_is_the_least_squares_fit_of_its_train_rows(moe):
    # minimise sum(((a*tb + tau*L) / tm - 1)^2) over the class's train rows: the 2x2 normal
    # equations written out here, then efficiency = 1/a and overhead = tau per layer (L: the
    # model's layers); tb is the row's bound step over its GPU's committed device factor (the
    # classes are refitted last, on the factored bounds)
    facts, rows = load_speed_data()
    dev = load_efficiency().device_factor
    steps = [
        # (bound step ÷ device factor, measured step, layers)
        (
            r.batch / r.tokens_per_s * x / dev.get(str(r.gpu), 1.0),
            r.batch / r.tokens_per_s,
            facts[r.model].layers,
        )
        for r, x in decode_ratios(rows, facts)
        if r.placement == "gpu"
        and not held_out(r.id)
        and (facts[r.model].active_params < facts[r.model].total_params) is moe
    ]
    assert len(steps) >= 3
    u = [tb / tm for tb, tm, _ in steps]
    v = [n / tm for _, tm, n in steps]
    suu, svv = sum(x * x for x in u), sum(y * y for y in v)
    suv = sum(x * y for x, y in zip(u, v, strict=True))
    det = suu * svv - suv * suv
    a = (sum(u) * svv - sum(v) * suv) / det
    tau = (suu * sum(v) - suv * sum(u)) / det
    assert a > 1  # both constraints inactive for these classes
    assert tau > 0
    cls = "gpu-moe" if moe else "gpu-dense"
    eff = load_efficiency()
    # 1e-4: the committed file keeps 6 significant digits, of the device factors used here too
    assert eff.by_class[cls] == pytest.approx(1 / a, rel=1e-4)
    assert eff.overhead_s[cls] == pytest.approx(tau, rel=1e-4)


def test_class_fit_recovers_a_known_efficiency_and_overhead():
    # steps made exactly as bound step / 0.8 + 2 ms: the fit returns (0.8, 0.002)
    steps = [(tb, tb / 0.8 + 0.002) for tb in (0.001, 0.004, 0.010, 0.030)]
    e, tau = _fit_class(steps)
    assert e == pytest.approx(0.8, rel=1e-9)
    assert tau == pytest.approx(0.002, rel=1e-9)
    # equal bound steps cannot separate efficiency from overhead: no fit (median ratio used)
    assert _fit_class([(0.001, 0.03), (0.001, 0.025), (0.001, 0.04)]) is None
    assert _fit_class([(0.001, 0.003), (0.002, 0.004)]) is None  # fewer than 3 rows
    # never faster than the bound: a ratio fit above 1 is clamped to efficiency 1
    e, tau = _fit_class([(0.010, 0.008), (0.020, 0.017), (0.030, 0.026)])
    assert e == 1.0
    assert tau == 0.0


def test_tp_class_is_a_median_ratio_without_overhead():
    # its train rows share one bound (one model on 16 H100): no separable fit
    facts, rows = load_speed_data()
    xs = sorted(
        x for r, x in decode_ratios(rows, facts) if r.placement == "tp" and not held_out(r.id)
    )
    eff = load_efficiency()
    n = len(xs)
    median = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    assert eff.by_class["tp"] == pytest.approx(median, rel=1e-5)
    assert "tp" not in eff.overhead_s


def test_held_out_split_sizes_and_rule_recorded():
    facts, rows = load_speed_data()
    decode = [r for r, _ in decode_ratios(rows, facts) if held_out(r.id)]
    assert len(decode) >= 20
    assert len(prefill_held_out_errors(rows, facts, load_prefill_efficiency())) >= 10
    assert len(rows) >= 80
    header = (ROOT / "data" / "measured_speed.yaml").read_text(encoding="utf-8")[:4000]
    assert "sha256" in header
    assert "mod 3 == 0" in header


def test_row_bound_arithmetic():
    facts, rows = load_speed_data()
    r = next(x for x in rows if x.id == "spark-gpt-oss-120b-tg32")
    # 273 GB/s (data/gpus.yaml) / (59.02 GiB x 5.1 / 117 active share)
    want = 273e9 / (59.02 * 2**30 * 5.1 / 117)
    assert row_decode_bound(r, facts) == pytest.approx(want, rel=1e-9)


def test_estimate_is_bound_step_over_efficiency_plus_overhead_with_spread():
    eff = load_efficiency()
    e = decode_estimate(100.0, "gpu", moe=True, eff=eff, layers=24)
    # one step: 1/100 s at the bound, ÷ efficiency, + the class's fixed time per layer × 24
    step = 0.01 / eff.by_class["gpu-moe"] + eff.overhead_s["gpu-moe"] * 24
    assert e.tokens_per_s == pytest.approx(1 / step)
    assert e.tokens_per_s < 100.0
    four = decode_estimate(400.0, "gpu", moe=True, eff=eff, batch=4, layers=24)  # same step
    assert four.tokens_per_s == pytest.approx(4 * e.tokens_per_s)
    assert e.low_tokens_per_s == pytest.approx(e.tokens_per_s * eff.spread_p10)
    assert e.high_tokens_per_s == pytest.approx(e.tokens_per_s * eff.spread_p90)
    assert e.label.startswith("estimate ")
    assert e.fitted
    host = decode_estimate(100.0, "host", moe=True, eff=eff)  # no host train rows yet
    assert not host.fitted
    assert host.efficiency == eff.fallback
    assert host.overhead_s == 0.0
    assert host.tokens_per_s == pytest.approx(100.0 * eff.fallback)
    assert decode_estimate(0.0, "gpu", moe=False, eff=eff, layers=32).tokens_per_s == 0.0
    with pytest.raises(VramkitError, match="layers"):  # a per-layer overhead needs the layers
        decode_estimate(100.0, "gpu", moe=False, eff=eff)


def test_plan_limit_classes():
    assert plan_limit("llama.cpp", "GPU memory", 1) == "gpu"
    assert plan_limit("llama.cpp", "host RAM", 2) == "host"
    assert plan_limit("llama.cpp", "host RAM", 0) == "cpu"
    assert plan_limit("vllm", "GPU memory", 8) == "tp"


@pytest.mark.parametrize(
    ("bound", "limit"), [(float("nan"), "gpu"), (-1.0, "gpu"), (float("inf"), "gpu"), (1.0, "disk")]
)
def test_bad_estimate_input_is_a_vramkit_error(bound, limit):
    with pytest.raises(VramkitError):
        decode_estimate(bound, limit, moe=False)


@pytest.mark.parametrize("batch", [0, -1, 1.5, True, "2"])
def test_bad_estimate_batch_is_a_vramkit_error(batch):
    with pytest.raises(VramkitError, match="batch"):
        decode_estimate(10.0, "gpu", moe=False, batch=batch)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda r: r.update(kind="speed"), "kind must be one of"),
        (lambda r: r.update(tokens_per_s=float("nan")), "'tokens_per_s' must be a number"),
        (lambda r: r.update(tokens_per_s=-3), "must be > 0"),
        (lambda r: r.update(placement="moon"), "placement must be one of"),
        (lambda r: r.update(model="nope"), "is not in models"),
        (lambda r: r.update(gpu="rtx-9999"), "rtx-9999"),
        (lambda r: r.pop("source"), "source must be a mapping"),
        (lambda r: r.update(file_gb=3), "exactly one of file_gib / file_gb"),
    ],
)
def test_bad_rows_are_vramkit_errors(tmp_path, edit, needle):
    import yaml

    doc = dict(load_document("measured_speed.yaml"))
    rows = [dict(r) for r in doc["rows"]]
    edit(rows[0])
    doc["rows"] = rows
    p = tmp_path / "speed.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(VramkitError, match=needle):
        load_speed_data(p)


PLAN = ["plan", "--model", "deepseek-v4-flash", "--gpu", "rtx-4090-24gb:2", "--ram", "128GB",
        "--context", "64K", "--runtime", "llama.cpp"]  # fmt: skip


def test_plan_shows_the_estimate_beside_the_bound(capsys):
    import json

    from vramkit import cli

    assert cli.main([*PLAN, "--json"]) == 0
    speed = json.loads(capsys.readouterr().out)["speed"]
    est = speed["decode_estimate"]
    assert est["moe"] is True  # V4-Flash routes to 6 of 256 experts
    fit = load_efficiency()
    eff, _ = efficiency_for(fit, est["limit"], True)
    from vramkit.catalog import get_model

    tau = overhead_for(fit, est["limit"], True) * get_model("deepseek-v4-flash").num_layers
    assert est["efficiency"] == pytest.approx(eff, rel=1e-5)
    assert est["overhead_ms"] == pytest.approx(tau * 1e3, rel=1e-5)
    step = speed["batch"] / speed["decode_tokens_per_s"] / eff + tau
    assert est["tokens_per_s"] == pytest.approx(speed["batch"] / step, rel=1e-5)
    assert "estimate" in est["label"]
    assert est["low_tokens_per_s"] <= est["tokens_per_s"] <= speed["decode_tokens_per_s"]
    assert cli.main(PLAN) == 0
    out = capsys.readouterr().out
    bound_line = next(i for i, line in enumerate(out.splitlines()) if line.startswith("Speed ("))
    assert out.splitlines()[bound_line + 1].startswith("  decode estimate ")
    assert "held-out spread" in out.splitlines()[bound_line + 1]


def test_curve_shows_the_estimate_beside_each_bound(capsys):
    import json

    from vramkit import cli

    assert cli.main([*PLAN, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    fit = load_efficiency()
    fitting = [c for c in doc["curve"] if c["fits"]]
    assert fitting
    for c in doc["curve"]:
        if not c["fits"]:
            assert c["decode_estimate_tokens_per_s"] is None
            continue
        # this plan is limited by host RAM on 2 GPUs: class host-moe (no train row: the
        # overall median ratio, no overhead), one sequence
        eff, fitted = efficiency_for(fit, "host", True)
        assert not fitted
        want = c["decode_tokens_per_s"] * eff
        assert c["decode_estimate_tokens_per_s"] == pytest.approx(want, rel=1e-4)
        assert c["decode_estimate_tokens_per_s"] <= c["decode_tokens_per_s"]
    assert cli.main(PLAN) == 0
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if line.startswith("Context vs decode bound"))
    assert "estimate" in head
    assert "decode estimate tok/s" in out
    assert "estimate range" in out


def test_planner_panel_shows_the_estimate_labelled():
    from vramkit.widgets import plan as panel

    state = {"model": "deepseek-v4-flash", "gpus": "rtx-4090-24gb:2", "ram": "128GB",
             "runtime": "llama.cpp", "context": "65536"}  # fmt: skip
    r = panel.compute(state)
    assert r["ok"]
    assert "vk-plan-estimate" in r["html"]
    assert "not a measurement" in r["html"]
    assert "upper bounds" in r["html"]
    d = panel.details(state)
    assert "decode estimate tokens/s (range)" in d["html"]
    assert "decode ≤ tokens/s (bound)" in d["html"]
    text = panel.describe("deepseek-v4-flash", "rtx-4090-24gb:2", "128GB", "llama.cpp", 65536)
    assert "(upper bound)" in text
    assert "estimate" in text
    assert "not a measurement" in text


def test_leave_one_source_out_never_sees_the_source_it_estimates():
    import dataclasses

    from vramkit.plan.speed_estimate import source_cv_errors

    facts, rows = load_speed_data()
    cv = source_cv_errors(rows, facts)
    ids = [r.id for r, _, _ in cv]
    assert sorted(ids) == sorted(r.id for r, _ in decode_ratios(rows, facts))  # each once
    url = "https://github.com/tenstorrent/tt-inference-server/issues/356"
    before = {r.id: est for r, est, _ in cv if r.source.url == url}
    assert len(before) >= 3
    # triple that source's measurements: its own estimates must not move (its rows are never
    # in the fit that estimates them), while its measured ÷ estimate triples
    tripled = [
        dataclasses.replace(r, tokens_per_s=r.tokens_per_s * 3) if r.source.url == url else r
        for r in rows
    ]
    after = {r.id: (est, x) for r, est, x in source_cv_errors(tripled, facts) if r.id in before}
    for rid, est in before.items():
        assert after[rid][0] == pytest.approx(est, rel=1e-12)
    with pytest.raises(VramkitError, match="kind"):
        source_cv_errors(rows, facts, "speed")


def test_api_summary_carries_the_estimate_beside_the_bound():
    from vramkit.catalog import get_model
    from vramkit.plan import summary
    from vramkit.plan.speed_estimate import curve_estimates, plan_decode_estimate

    s = summary("deepseek-v4-flash", gpus="rtx-4090-24gb:2", ram="128GB", context=65536)
    sol = s["solution"]
    m = get_model("deepseek-v4-flash")
    want = plan_decode_estimate(sol.plan, sol.speed, m)
    est = s["decode_estimate"]
    assert est["tokens_per_s"] == want.tokens_per_s
    assert est["low_tokens_per_s"] <= est["tokens_per_s"] <= s["decode_tokens_per_s"]
    assert est["label"].startswith("estimate ")
    assert est["curve"] == [e.tokens_per_s for e in curve_estimates(sol.plan, sol.curve, m)]
    assert len(est["curve"]) == len(s["curve"])
    none = summary("deepseek-v4-flash", gpus="rtx-4090-24gb", ram="8GB", context=65536,
                   details=False)  # fmt: skip
    assert none["fits"] is False
    assert none["decode_estimate"] is None


@pytest.mark.parametrize(
    ("overhead", "needle"),
    [({"gpu-dense": -1.0}, "must be ≥ 0 µs"), ({"gpu-dense": "fast"}, "must be a number"),
     ({"nope": 1.0}, "overhead_us_per_layer must map fitted classes"),
     ([1.0], "overhead_us_per_layer must map")],
)  # fmt: skip
def test_bad_overhead_in_the_fit_file_is_a_vramkit_error(tmp_path, overhead, needle):
    import yaml

    doc = dict(load_document("speed_efficiency.yaml"))
    doc["overhead_us_per_layer"] = overhead
    p = tmp_path / "eff.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(VramkitError, match=needle):
        load_efficiency(p)


def test_device_factor_scales_a_gpu_limited_bound_only():
    # estimate = min(bound, 1 / (1 / (bound × d) / e + τ)) at batch 1, d the GPU's committed
    # factor; another limiter or no GPU id: d = 1; an unknown id is a VramkitError
    eff = load_efficiency()
    assert eff.device_factor, "the committed fit has device factors"
    gpu, d = min(eff.device_factor.items(), key=lambda kv: kv[1])
    assert 0 < d < 1
    e, tau = eff.by_class["gpu-dense"], eff.overhead_s["gpu-dense"]
    got = decode_estimate(100.0, "gpu", moe=False, eff=eff, gpu=gpu, layers=32).tokens_per_s
    assert got == pytest.approx(min(100.0, 1 / (1 / (100.0 * d) / e + 32 * tau)), rel=1e-12)
    plain = decode_estimate(100.0, "gpu", moe=False, eff=eff, layers=32).tokens_per_s
    assert plain == pytest.approx(min(100.0, 1 / (1 / 100.0 / e + 32 * tau)), rel=1e-12)
    assert got < plain
    tp = decode_estimate(100.0, "tp", moe=True, eff=eff, gpu=gpu).tokens_per_s
    assert tp == decode_estimate(100.0, "tp", moe=True, eff=eff).tokens_per_s
    with pytest.raises(VramkitError, match="gpu"):
        decode_estimate(100.0, "gpu", moe=False, eff=eff, gpu="no-such-gpu", layers=32)


def test_row_split_fit_recovers_a_known_per_gpu_overhead():
    # steps made exactly as bound step / 0.4 + 8 ms + 3.5 ms × (GPUs − 1): the fit returns them
    steps = [
        (tb, tb / 0.4 + 0.008 + 0.0035 * g, float(g))
        for tb, g in ((0.002, 1), (0.006, 1), (0.003, 2), (0.02, 2), (0.004, 5), (0.05, 5))
    ]
    e, tau, tau_g = _fit_class_per_gpu(steps)
    assert (e, tau, tau_g) == pytest.approx((0.4, 0.008, 0.0035), rel=1e-9)
    # one GPU count only: a and the two overheads are not separable, the caller falls back
    assert (
        _fit_class_per_gpu([(tb, tb / 0.4 + 0.01, 1.0) for tb in (0.001, 0.01, 0.1, 0.2)]) is None
    )


def test_row_split_estimate_pays_its_overhead_per_extra_gpu():
    # estimate = 1 / (1 / bound / e + 32 × (τ + τ_gpu × (GPUs − 1))) at batch 1, 32 layers
    eff = load_efficiency()
    e, tau = eff.by_class["row-dense"], eff.overhead_s["row-dense"]
    tau_g = eff.overhead_per_gpu_s["row-dense"]
    assert tau > 0
    assert tau_g > 0
    for gpus in (2, 6):
        got = decode_estimate(400.0, "row", moe=False, eff=eff, gpus=gpus, layers=32)
        want = 1 / (1 / 400.0 / e + 32 * (tau + tau_g * (gpus - 1)))
        assert got.tokens_per_s == pytest.approx(want, rel=1e-12)
    # other limiters: the GPU count does not enter the fixed cost
    one = decode_estimate(400.0, "gpu", moe=False, eff=eff, layers=32).tokens_per_s
    assert decode_estimate(400.0, "gpu", moe=False, eff=eff, gpus=8, layers=32).tokens_per_s == one


def test_a_plan_on_one_gpu_model_gets_its_device_factor():
    # a GPU-limited plan (dense 13B) on 1 x A100 SXM4 80GB: the estimate is decode_estimate of its bound with
    # that GPU's fitted factor; the same bound with no GPU id differs by exactly that factor
    from vramkit.catalog import get_model
    from vramkit.plan import summary
    from vramkit.plan.speed_estimate import plan_decode_estimate, plan_gpu_id

    s = summary("llama-2-13b", gpus="a100-sxm4-80gb", context=4096, details=False)
    sol = s["solution"]
    assert plan_gpu_id(sol.plan) == "a100-sxm4-80gb"
    m = get_model("llama-2-13b")
    got = plan_decode_estimate(sol.plan, sol.speed, m)
    assert got.limit == "gpu"
    eff = load_efficiency()
    d = eff.device_factor["a100-sxm4-80gb"]
    e, tau = eff.by_class["gpu-dense"], eff.overhead_s["gpu-dense"]
    b = sol.speed.decode_tokens_per_s
    n = m.num_layers
    assert got.tokens_per_s == pytest.approx(min(b, 1 / (1 / (b * d) / e + n * tau)), rel=1e-12)
    assert s["decode_estimate"]["tokens_per_s"] == got.tokens_per_s


def test_a_decode_model_without_layers_is_refused(tmp_path):
    # the decode overhead is per layer: a model with decode rows must carry its sourced layers
    import yaml

    doc = dict(load_document("measured_speed.yaml"))
    models = {k: dict(v) for k, v in doc["models"].items()}
    models["gemma-3-4b"].pop("layers")
    models["gemma-3-4b"].pop("layers_source")
    doc["models"] = models
    p = tmp_path / "speed.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(VramkitError, match=r"gemma-3-4b.*layers"):
        load_speed_data(p)
    facts, _ = load_speed_data()
    assert facts["gemma-3-4b"].layers == 34
    assert "Layers2834" in facts["gemma-3-4b"].layers_source.quote  # 28 (Llama 3.2 3B), 34
