"""Accuracy benchmark: vramkit's estimates against every published figure in data/ground_truth.yaml.

    python benchmarks/accuracy.py [--out benchmarks/results] [--baseline CSV]

For each figure: the published value, vramkit's estimate for the same conditions, and

    error % = 100 × (estimate − published) / published

then the mean absolute error % per category (weights, params, kv, runtime), and a section on
the decode- and prefill-speed estimates' error on held-out published runs (`speed_section`), and
vLLM's loads and KV pools against the llm-d planner on its own sweep (`peer_llmd_section`), and
SGLang's MTP draft per GPU against its load log (`sglang_draft_section`). Writes
``accuracy.csv`` and ``accuracy.png`` under --out (git-ignored) and prints the table.
A figure whose estimator is not in vramkit yet (vramkit.kv, vramkit.budget) is listed as
"not estimated" with the reason, never silently dropped.

``--baseline CSV`` (an accuracy.csv of an earlier vramkit on the same figures, e.g.
benchmarks/baselines/accuracy_before_issue14.csv) adds the per-category error before and after:
over the figures both estimate, and the count each could not estimate.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from vramkit.article.ground_truth import (  # noqa: E402
    CATEGORIES,
    Figure,
    Row,
    evaluate,
    mean_abs_error,
    to_records,
)


def _print(rows: list[Row]) -> None:
    header = f"{'figure':34} {'cat':8} {'published':>15} {'vramkit':>17} {'unit':8} {'error %':>9}"
    print(header)
    print("-" * len(header))
    for r in rows:
        est = (
            "—"
            if r.estimate is None
            else f"{r.estimate:,.{_digits(r.figure) + (2 if r.figure.precision else 0)}f}"
        )
        err = "n/a" if r.error_pct is None else f"{r.error_pct:+.3f}"
        pub = f"{r.figure.value:,.{_digits(r.figure)}f}"
        low = "  (low confidence)" if r.figure.confidence == "low" else ""
        print(
            f"{r.figure.id:34} {r.figure.category:8} {pub:>15} {est:>17} {r.figure.unit:8} {err:>9}{low}"
        )
    print()
    sure = mean_abs_error(rows, include_low=False)
    for cat, mae in mean_abs_error(rows).items():
        n = sum(1 for r in rows if r.figure.category == cat and r.estimate is not None)
        extra = (
            f"  ({sure[cat]:.3f} % without low-confidence figures)" if sure.get(cat) != mae else ""
        )
        print(f"mean |error| {cat:8} {mae:8.3f} %  over {n} figure(s){extra}")
    skipped = [r for r in rows if r.estimate is None]
    for r in skipped:
        print(f"skipped {r.figure.id}: {r.method}")


def compare_baseline(rows: list[Row], baseline: Path) -> list[dict[str, Any]]:
    """Per category: mean |error %| of the baseline CSV and of `rows` over the figures both
    estimate, and how many figures each could not estimate."""
    with baseline.open(newline="") as fh:
        before = {r["id"]: r for r in csv.DictReader(fh)}
    out = []
    for cat in CATEGORIES:
        now = [r for r in rows if r.figure.category == cat]
        if not now:
            continue
        both = [
            (abs(float(before[r.figure.id]["error_pct"])), abs(r.error_pct), r.figure.confidence)
            for r in now
            if r.error_pct is not None and before.get(r.figure.id, {}).get("error_pct")
        ]
        sure = [(b, a) for b, a, c in both if c != "low"]
        out.append(
            {
                "category": cat,
                "figures": len(now),
                "compared": len(both),
                "before_mean_abs_pct": sum(b for b, _, _ in both) / len(both) if both else None,
                "after_mean_abs_pct": sum(a for _, a, _ in both) / len(both) if both else None,
                "before_sure_pct": sum(b for b, _ in sure) / len(sure) if sure else None,
                "after_sure_pct": sum(a for _, a in sure) / len(sure) if sure else None,
                "not_estimated_before": sum(
                    1 for r in now if not before.get(r.figure.id, {}).get("error_pct")
                ),
                "not_estimated_after": sum(1 for r in now if r.error_pct is None),
            }
        )
    return out


def _print_baseline(table: list[dict[str, Any]], baseline: Path) -> None:
    print(f"\nbefore → after (baseline {baseline.name}; figures both estimate):")
    for t in table:
        b, a = t["before_mean_abs_pct"], t["after_mean_abs_pct"]
        pair = "n/a" if b is None else f"{b:8.3f} % → {a:8.3f} %"
        sb, sa = t["before_sure_pct"], t["after_sure_pct"]
        sure = "" if sb is None or sb == b else f" ({sb:.3f} % → {sa:.3f} % without low confidence)"
        print(
            f"  {t['category']:8} {pair}{sure}  over {t['compared']} of {t['figures']} "
            f"figure(s); not estimated {t['not_estimated_before']} → {t['not_estimated_after']}"
        )


def speed_section() -> dict[str, Any]:
    """Decode-speed estimate against published runs it was never fitted on (held-out rows of
    data/measured_speed.yaml, split by a hash of the row id): per row measured ÷ estimate, and
    the median / 90th percentile of |measured ÷ estimate − 1|. Prints the table."""
    from vramkit.plan.speed_estimate import (
        error_summary,
        held_out_errors,
        load_efficiency,
        load_speed_data,
        row_class,
    )

    facts, rows = load_speed_data()
    eff = load_efficiency()
    errs = held_out_errors(rows, facts, eff)
    print("\nDecode speed estimate on held-out published runs (data/measured_speed.yaml):")
    print(f"  {'row':46} {'class':9} {'measured':>9} {'estimate':>9} {'meas/est':>8}")
    for r, est, x in errs:
        cls = row_class(r, facts)
        print(f"  {r.id:46} {cls:9} {r.tokens_per_s:9.2f} {est:9.2f} {x:8.3f}")
    summary = error_summary([x for _, _, x in errs])
    decode_rows = [r for r in rows if r.kind == "decode"]
    print(
        f"  held-out |measured ÷ estimate − 1|: median {summary['median']:.1%}, 90th percentile "
        f"{summary['p90']:.1%} over {summary['n']} row(s) (targets ≤ 15% / ≤ 35%); "
        f"{len(eff.train_ids)} train row(s); "
        f"{sum(1 for r in decode_rows if not r.estimable)} decode row(s) not estimable"
    )
    prefill_section(rows, facts)
    return summary


def prefill_section(rows: Any, facts: Any) -> dict[str, Any]:
    """The prefill estimate (min(compute, weight-traffic bound) × fitted efficiency) against
    held-out prompt-processing rows: per row measured ÷ estimate, median / 90th percentile of
    |measured ÷ estimate − 1|, and the prefill rows without a bound (why)."""
    from vramkit.plan.speed_estimate import (
        error_summary,
        load_prefill_efficiency,
        prefill_held_out_errors,
        prefill_unestimable,
        row_class,
        row_prefill_bound,
    )

    eff = load_prefill_efficiency()
    errs = prefill_held_out_errors(rows, facts, eff)
    print("\nPrefill estimate on held-out published runs (data/measured_speed.yaml):")
    print(f"  {'row':46} {'class':9} {'limit':8} {'measured':>9} {'estimate':>9} {'meas/est':>8}")
    for r, est, x in errs:
        lim = "compute" if row_prefill_bound(r, facts).limited_by == "compute" else "traffic"
        cls = row_class(r, facts)
        print(f"  {r.id:46} {cls:9} {lim:8} {r.tokens_per_s:9.1f} {est:9.1f} {x:8.3f}")
    summary = error_summary([x for _, _, x in errs])
    print(
        f"  held-out |measured ÷ estimate − 1|: median {summary['median']:.1%}, 90th percentile "
        f"{summary['p90']:.1%} over {summary['n']} row(s) (targets ≤ 30% / ≤ 60%); "
        f"{len(eff.train_ids)} train row(s)"
    )
    for r, why in prefill_unestimable(rows):
        print(f"  no prefill bound: {r.id} ({why})")
    return summary


NO_REPLAY = "no per-architecture replay: the form on those checkpoints"


def compute_section() -> dict[str, Any]:
    """llama.cpp's CPU compute buffer against the engine, traced and untraced apart:

    - traced: the 14 checkpoints whose allocation was recorded (data/llamacpp_graphs/),
      against their fixture runs (tests/fixtures/measured/llamacpp/);
    - untraced, replayed per architecture (vramkit.runtimes.llamacpp.arch): the same fixture runs with
      the checkpoint trace left out, the engine at the full size of published configs
      (tests/fixtures/measured/llamacpp_arch/heldout.json), every template at a synthetic
      30-layer shape (heldout_synthetic.json), and files the pinned converter wrote
      (tests/accounting/gguf_converter/engine.json) read back through `vramkit.ingest`;
    - untraced, estimated: what no template covers gets the labelled plain-GQA form; its
      signed error is printed as measured, not as a bound: on converter files still estimated,
      and on the traced checkpoints no template replays (DeepSeek V4 and Gemma 4: no graph;
      V3.2: its graph grows with the layers past the recorded counts) — the form as it would
      answer for an untraced model of theirs.

    Per group: exact (within the engine's printed 0.01 MiB: |kit − engine| ≤ 0.005 MiB), within
    2 %, off (beyond 2 %), and the signed error range.
    """
    import json

    sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))
    import measure

    from vramkit.runtimes.llamacpp import arch as la
    from vramkit.runtimes.llamacpp import memory as lm

    mib = 2**20

    def settings(st: dict) -> Any:
        cache = st.get("cache") or st["cache_k"]
        return lm.Settings(st["n_ctx"], cache, cache, st["n_ubatch"], st["flash_attn"] == "on",
                           st["n_seq"])  # fmt: skip

    groups: dict[str, list[float]] = {"traced (checkpoint replay)": [],
                                      "untraced: fixture runs, per-architecture replay": [],
                                      "untraced: published configs, per-architecture replay": [],
        "untraced: a synthetic 30-layer shape per template, replayed": [],
                                      "untraced: converter files, per-architecture replay": [],
                                      "untraced: converter files, labelled estimate": [],
        NO_REPLAY: []}  # fmt: skip
    for mid, where in measure.MODELS:
        fx = json.loads((ROOT / "tests/fixtures/measured/llamacpp" / f"{mid}.json").read_text())
        model = measure.load_model(mid, where)
        for c in fx["cases"]:
            if c["layout"] != fx["files"][0]["layout"] or c["returncode"]:
                continue
            s, engine = settings(c["settings"]), c["parsed"]["compute_mib"]["CPU"] * mib
            est = lm.compute_bytes(mid, model.family, model.config, s)
            if est.method == "replay":
                groups["traced (checkpoint replay)"].append((est.bytes, engine))
            r = la.arch_compute(model.config, s)
            if r.bytes is not None:
                groups["untraced: fixture runs, per-architecture replay"].append((r.bytes, engine))
            else:  # no graph, or one not replayed at this layer count (V3.2's 61)
                form = lm.form_bytes(model.family, model.config, s)
                groups[NO_REPLAY].append((form, engine))
    held = json.loads((ROOT / "tests/fixtures/measured/llamacpp_arch/heldout.json").read_text())
    from vramkit.catalog import get_model
    from vramkit.model.configfile import model_from_config_file

    for row in held["models"]:
        src = row["config"]
        model = (get_model(src.removeprefix("catalog:")) if src.startswith("catalog:")
                 else model_from_config_file(str(ROOT / src / "config.json")))  # fmt: skip
        for c in row["cases"]:
            r = la.arch_compute(model.config, settings(c))
            if r.bytes is not None:
                groups["untraced: published configs, per-architecture replay"].append(
                    (r.bytes, c["compute_mib"] * mib)
                )
    synth = json.loads(
        (ROOT / "tests/fixtures/measured/llamacpp_arch/heldout_synthetic.json").read_text()
    )
    for row in synth["models"]:
        if row["template"] in la.NOT_REPLAYED:
            continue
        for c in row["cases"]:
            r = la.replay_symbols(row["template"], row["written"], row["layers"], settings(c))
            if r.bytes is not None:
                groups["untraced: a synthetic 30-layer shape per template, replayed"].append(
                    (r.bytes, c["compute_mib"] * mib)
                )
    conv = ROOT / "tests/accounting/gguf_converter"
    eng = json.loads((conv / "engine.json").read_text())
    import tempfile

    from vramkit.ingest import ingest

    manifest = json.loads((conv / "manifest.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for row in manifest["files"]:  # each file: the converter's header, zeros to its size
            path = Path(tmp) / row["file"]
            with path.open("wb") as f:
                f.write((conv / row["header"]).read_bytes())
                f.truncate(row["size"])
            files[row["file"]] = path
        for run in eng["runs"]:
            ing = ingest(files[run["file"]])
            s = lm.Settings(eng["case"]["n_ctx"], n_ubatch=eng["case"]["n_ubatch"])
            est = lm.compute_bytes(ing.model.id, ing.model.family, dict(ing.model.config), s)
            err = (est.bytes, run["parsed"]["compute_mib"]["CPU"] * mib)
            key = ("untraced: converter files, per-architecture replay"
                   if est.method == "arch-replay" else
                   "untraced: converter files, labelled estimate")  # fmt: skip
            groups[key].append(err)
    print("\nllama.cpp compute buffer (CPU) vs the engine, traced and untraced apart")
    out = {}
    print(f"  {'':66} {'n':>4} {'exact':>5} {'≤2 %':>5} {'off':>4}   signed error")
    for name, pairs in groups.items():
        if not pairs:
            print(f"  {name:66} none")
            continue
        errs = [k / e - 1 for k, e in pairs]
        exact = sum(abs(k - e) <= 0.005 * mib for k, e in pairs)
        within = sum(abs(x) <= 0.02 for x in errs)
        lo, hi = min(errs), max(errs)
        print(f"  {name:66} {len(errs):4d} {exact:5d} {within:5d} {len(errs) - within:4d}   "
              f"{lo:+.2%} … {hi:+.2%}")  # fmt: skip
        out[name] = {"n": len(errs), "exact": exact, "within_2pct": within, "min": lo, "max": hi}
    return out


def ik_llama_section() -> dict[str, Any]:
    """ik_llama.cpp (pinned build) vs vramkit: every recorded load of the CPU build of
    ik_llama.cpp@8337e4cd (tests/fixtures/measured/ik_llama/, benchmarks/engines/ik_llama.py)
    against the kit's KV, weights at load (model buffer, derived wkv_b, -rtr) and compute."""
    import json

    sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))
    import ik_llama

    mib = 2**20
    rows: dict[str, list[float]] = {"KV self size": [], "model buffer": [],
                                    "compute buffer (CPU), MLA": [],
                                    "compute buffer (CPU), no MLA, -fa on": [],
                                    "compute buffer (CPU), no MLA, -fa off": []}  # fmt: skip
    derived = [0, 0]  # runs where the derived wkv_b matches the kit's, runs
    repacked = [0, 0]
    for mid, _ in ik_llama.MODELS:
        path = ik_llama.fixture_path(mid)
        if not path.exists():
            continue
        fx = json.loads(path.read_text())
        model = ik_llama.load_model(mid)
        for c in fx["cases"]:
            p = c["parsed"]
            if not p["compute_mib"] or not p["kv"]:
                continue
            k = ik_llama.kit_figures(model, c["settings"])
            rows["KV self size"].append(k.kv_bytes / mib - p["kv"]["total"])
            rows["model buffer"].append(k.weight_bytes / mib - sum(p["model_mib"].values()))
            fa = c["settings"]["flash_attn"]
            key = "MLA" if model.config.get("kv_lora_rank") else f"no MLA, -fa {fa}"
            engine = sum(p["compute_mib"].values()) * mib
            rows[f"compute buffer (CPU), {key}"].append(k.compute_bytes / engine - 1)
            got = [(d["cols"], d["rows"], d["type"].upper()) for d in p["derived"]]
            derived[0] += got == [(d.cols, d.rows, d.ggml_type) for d in k.derived]
            derived[1] += 1
            if c["settings"]["rtr"]:
                repacked[0] += p["repacked"] == k.repacked
                repacked[1] += 1
    print("\nik_llama.cpp (pinned build) vs vramkit — CPU build of ik_llama.cpp@8337e4cd, "
          "small GGUFs (tests/fixtures/measured/ik_llama/)")  # fmt: skip
    out: dict[str, Any] = {}
    for name in ("KV self size", "model buffer"):
        d = rows[name]
        if d:
            exact = sum(abs(x) <= 0.005 + 1e-9 for x in d)
            print(f"  {name:34} {exact:4d}/{len(d):<4d} exact to the printed 0.01 MiB "
                  f"(max |diff| {max(map(abs, d)):.4f} MiB)")  # fmt: skip
            out[name] = {"n": len(d), "exact": exact}
    print(f"  {'derived attn_kv_b (shape, type)':34} {derived[0]:4d}/{derived[1]:<4d} as the kit")
    print(f"  {'-rtr: tensors repacked':34} {repacked[0]:4d}/{repacked[1]:<4d} as the kit")
    out["derived"], out["rtr"] = derived, repacked
    for name in [n for n in rows if n.startswith("compute")]:
        e = rows[name]
        if e:
            print(f"  {name:38} {len(e):3d} runs, error {min(e):+.1%} … {max(e):+.1%} "
                  "(an estimate)")  # fmt: skip
            out[name] = {"n": len(e), "min": min(e), "max": max(e)}
    print("  published CUDA logs, model buffers (tests/fixtures/ik_published/logs.json):")
    for log in ik_llama.published_logs():
        kit = ik_llama.kit_model_buffers(log)
        for buf, pub in log["buffers_mib"].items():
            err = kit[buf] / (pub * mib) - 1
            print(f"    {log['id']:34} {buf:10} published {pub:>10,.2f} MiB  kit "
                  f"{kit[buf] / mib:>10,.2f} MiB  {err:+.2%}")  # fmt: skip
            out[f"{log['id']} {buf}"] = err
    logs = [x for x in ik_llama.published_logs() if x.get("compute_mib")]
    if logs:
        print("  published CUDA logs, compute buffers (compute: an estimate, with the kit's spread "
              "on the CPU runs above of the same attention kind):")  # fmt: skip
    for log in logs:
        cs = log["compute_settings"]
        kind = "MLA" if cs["mla"] else f"no MLA, -fa {cs['flash_attn']}"
        same = f"compute buffer (CPU), {kind}"
        kit = ik_llama.kit_compute_buffers(log)
        for buf, pub in log["compute_mib"].items():
            err = kit[buf] / (pub * mib) - 1
            e = rows.get(same) or []
            spread = f"spread {min(e):+.1%} … {max(e):+.1%} on {len(e)} runs" if e else "no spread"
            print(f"    {log['id']:34} {buf:10} published {pub:>10,.2f} MiB  kit "
                  f"{kit[buf] / mib:>10,.2f} MiB  {err:+.2%} (compute, an estimate; {spread})")  # fmt: skip
            out[f"{log['id']} {buf} compute"] = err
    print(
        "  not verified here: other CUDA buffers (no GPU build); -ot / -cmoe placement only on "
        "the published logs above"
    )
    return out


def _digits(fig: Figure) -> int:
    if fig.precision <= 0:
        return 0
    return max(0, -math.floor(math.log10(fig.precision * 2) + 1e-9))


def _plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # a script, not a notebook: no display
    import matplotlib.pyplot as plt

    done = [r for r in rows if r.estimate is not None]
    colors = {
        "weights": "tab:blue",
        "params": "tab:green",
        "kv": "tab:orange",
        "runtime": "tab:red",
    }
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(done) + 1.5))
    y = range(len(done))
    ax.barh(
        list(y),
        [r.error_pct for r in done],
        color=[colors[r.figure.category] for r in done],
    )
    ax.set_yticks(list(y), [f"{r.figure.id} ({r.figure.category})" for r in done], fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("vramkit error vs published figure, % (symlog: linear within ±1 %)")
    ax.invert_yaxis()
    ax.set_title("vramkit accuracy against published figures (data/ground_truth.yaml)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def peer_llmd_section() -> dict[str, Any]:
    """vLLM, per engine: the kit against the llm-d planner on the planner's 59-run v0.19.0 / H100
    sweep (benchmarks/peer_llmd.py over data/peer_llmd_sweep.yaml): mean |error| on weights and
    the KV pool over the runs both answer, the held-out runs, and the kit's refusals."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import peer_llmd

    s = peer_llmd.summary([peer_llmd.evaluate(r) for r in peer_llmd.load_runs()])
    print("\nvLLM v0.19 on H100, the llm-d planner's own sweep (benchmarks/peer_llmd.py):")
    for subset in ("all", "held_out", "peer_inputs"):
        t = s[subset]
        print(
            f"  {subset:11} {t['runs']:2} runs: weights kit {t['kit_weights']:.2f} % vs llm-d "
            f"{t['peer_weights']:.2f} %; KV pool kit {t['kit_pool']:.2f} % vs llm-d "
            f"{t['peer_pool']:.2f} %"
        )
    print(f"  refused {len(s['refused'])}; no config stored offline {len(s['no_config'])}")
    return s


def sglang_draft_section() -> dict[str, float]:
    """SGLang, per engine: the MTP / NextN draft per GPU (vramkit.runtimes.sglang_draft) held out
    against the one published load log (DeepSeek-V4-Pro, 8 × H200, TP 8; InferenceX #2128): the
    draft's error, the target's on the same log, and draft ÷ target (the sharding alone)."""
    from vramkit.budget import budget
    from vramkit.catalog import get_model
    from vramkit.quant import get_recipe
    from vramkit.runtimes.sglang_draft import (
        MEASURED_BYTES,
        MEASURED_TARGET_BYTES,
        sglang_draft,
    )

    m = get_model("deepseek-v4-pro")
    draft = sglang_draft(m, get_recipe(None, model=m), tp=8, experts_split=8).per_gpu_bytes
    target = budget(m, "h200-sxm-141gb", count=8, runtime="sglang", parallel="tp").weights_bytes
    out = {
        "draft_err_pct": 100 * (draft - MEASURED_BYTES) / MEASURED_BYTES,
        "target_err_pct": 100 * (target - MEASURED_TARGET_BYTES) / MEASURED_TARGET_BYTES,
        "ratio_err_pct": 100 * ((draft / target) / (MEASURED_BYTES / MEASURED_TARGET_BYTES) - 1),
    }
    print("\nSGLang MTP draft, DeepSeek-V4-Pro 8 × H200 TP 8 (held out, InferenceX #2128):")
    print(
        f"  draft {draft / 2**30:.2f} GiB vs 3.07 logged ({out['draft_err_pct']:+.1f} %); target "
        f"{target / 2**30:.2f} GiB vs 125.65 logged ({out['target_err_pct']:+.1f} %: that image's "
        f"load); draft ÷ target {out['ratio_err_pct']:+.1f} %"
    )
    return out


CUDA_LOGS = ROOT / "tests" / "fixtures" / "cuda_published" / "logs.json"
OFFLOAD_SPLITS = 16
"""Graph splits the bs=512 reserve has beyond the bs=1 one when host-weight matmuls move to a GPU
(a new split per weight, ggml-backend.cpp L1332-1338): dozens to hundreds; a full offload adds
only the input path's few (4 vs 2 in llama.cpp's CI logs of a 12-layer model)."""


def cuda_log_rows() -> list[dict[str, Any]]:
    """The kit's CUDA-plan figures beside held-out published CUDA logs (CUDA_LOGS), one dict per
    figure: row id, figure, published MiB, kit MiB, signed error, and whether the log's engine
    build differs from the pinned commit in the graph that sets the figure. Qualitative rows
    (no quantization or command line) give a check, not an error: the first GPU's compute
    buffer above the others' when the bs=512 graph has OFFLOAD_SPLITS or more splits than the
    bs=1 one (host-weight matmuls moved to CUDA0, vramkit.runtimes.llamacpp.cuda term 6)."""
    import json

    from vramkit.catalog import get_model
    from vramkit.runtimes.llamacpp import cuda as lc
    from vramkit.runtimes.llamacpp.memory import Settings, budget_compute_bytes, kv_lines

    mib = 2**20
    out: list[dict[str, Any]] = []
    for r in json.loads(CUDA_LOGS.read_text(encoding="utf-8"))["rows"]:
        c, st = r.get("compare", {}), r["settings"]
        if "qualitative" in r:
            q = r["qualitative"]
            offload = q["splits_bs512"] - q["splits_bs1"] >= OFFLOAD_SPLITS
            excess = q["cuda0_mib"] - max(q["others_mib"], default=0.0)
            row = {"id": r["id"], "figure": "CUDA0 above the other GPUs (MiB)",
                   "published": excess if q["others_mib"] else None, "kit": None,
                   "error": None, "check": offload and excess > 0 if q["others_mib"] else offload,
                   "engine_differs": True, "url": r["url"]}  # fmt: skip
            if "largest_expert_tensor_mib" in q:  # term 6 charges the whole tensor
                row["kit"] = q["largest_expert_tensor_mib"]
                row["error"] = row["kit"] / excess - 1
            out.append(row)
            continue
        m = get_model(r["model"])
        s = Settings(st["context"], st["cache"], st["cache"], st["ubatch"], True, st["sequences"])
        kit: dict[str, float] = {}
        if "output_buffer_mib" in c:
            vocab = int(m.config["vocab_size"])
            kit["output_buffer_mib"] = (
                lc.output_buffer(vocab, st["sequences"], output_on_gpu=True).bytes / mib
            )
        if "swa_kv_mib" in c:
            swa = [ln for ln in kv_lines(m.family, m.config, s) if ln.cache == "SWA KV cache"]
            kit["swa_kv_mib"] = sum(ln.bytes for ln in swa) / mib
        if "cuda0_compute_mib" in c:
            cb, _ = budget_compute_bytes(m, context=st["context"], batch=st["sequences"],
                                         cache_dtype=st["cache"], n_ubatch=st["ubatch"])  # fmt: skip
            fa, _ = lc.fa_copy_bytes(m, context=st["context"], batch=st["sequences"],
                                     cache_dtype=st["cache"], n_ubatch=st["ubatch"])  # fmt: skip
            kit["cuda0_compute_mib"] = (cb + fa) / mib
        for k, pub in c.items():
            out.append({"id": r["id"], "figure": k, "published": pub, "kit": kit[k],
                        "error": kit[k] / pub - 1, "check": None,
                        "engine_differs": k == "cuda0_compute_mib", "url": r["url"]})  # fmt: skip
    return out


def cuda_log_section() -> list[dict[str, Any]]:
    """Print `cuda_log_rows`: the error table, then the qualitative checks."""
    rows = cuda_log_rows()
    print("\nllama.cpp CUDA terms vs held-out published CUDA logs (tests/fixtures/cuda_published/;")
    print(
        "  no log is from the pinned commit; 'graph differs': that build's graph sets the figure)"
    )
    for r in rows:
        if r["error"] is not None and r["check"] is None:
            flag = "  graph differs" if r["engine_differs"] else ""
            print(f"  {r['id']:32} {r['figure']:20} published {r['published']:>10,.2f} MiB  "
                  f"kit {r['kit']:>10,.2f} MiB  error {r['error']:+8.2%}{flag}")  # fmt: skip
        else:
            what = "" if r["published"] is None else f" by {r['published']:,.2f} MiB"
            if r["kit"] is not None:
                what += (f"; term 6 charges the log's largest expert tensor, {r['kit']:,.2f} MiB "
                         f"({r['error']:+.1%} on the excess)")  # fmt: skip
            print(f"  {r['id']:32} CUDA0 takes the host matmuls (bs=512 splits >> bs=1){what}: "
                  f"{'consistent' if r['check'] else 'NOT consistent'} with term 6")  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="output folder")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument("--baseline", help="accuracy.csv of an earlier run to compare with")
    args = p.parse_args(argv)
    rows = evaluate()
    _print(rows)
    speed_section()
    peer_llmd_section()
    sglang_draft_section()
    compute_section()
    cuda_log_section()
    ik_llama_section()
    if args.baseline:
        _print_baseline(compare_baseline(rows, Path(args.baseline)), Path(args.baseline))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = to_records(rows)
    with (out / "accuracy.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    print(f"\nwrote {out / 'accuracy.csv'}")
    if not args.no_plot:
        _plot(rows, out / "accuracy.png")
        print(f"wrote {out / 'accuracy.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
