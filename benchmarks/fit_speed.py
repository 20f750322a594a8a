"""Refit the decode-speed efficiencies from data/measured_speed.yaml into data/speed_efficiency.yaml.

    python benchmarks/fit_speed.py [--check]

Train rows are the rows that `vramkit.plan.speed_estimate.held_out` does not hold out (sha256 of the
row id, first 8 hex digits mod 3 == 0: fixed before any fit, never chosen by looking at the
data); per class the decode fit is an efficiency and a per-step overhead (least squares on the
relative step-time error; a median ratio where a class has too few rows), and per GPU id with
>= 3 GPU-limited train rows a bandwidth factor, the prefill fit a
median ratio. It prints the error on the held-out rows (never fitted): median and 90th
percentile of |measured ÷ estimate − 1|. --check refits and exits 1 if the committed file
differs (tests run the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from vramkit.plan.speed_estimate import (  # noqa: E402
    Efficiency,
    error_summary,
    fit_efficiency,
    fit_prefill_efficiency,
    held_out_errors,
    load_speed_data,
    prefill_held_out_errors,
    source_cv_errors,
)

OUT = ROOT / "data" / "speed_efficiency.yaml"

HEADER = """\
# Decode-speed efficiencies (measured ÷ bound), fitted by benchmarks/fit_speed.py on the TRAIN
# rows of data/measured_speed.yaml; do not edit by hand: rerun the script.
# efficiency: per class (limiter gpu | tp | row | host | cpu, and -dense | -moe) and per limiter;
# overhead_us_per_layer: the same classes' fixed time per decode step per model layer
#   (microseconds; kernel launches and syncs scale with the layers a token passes). A class with
#   >= 3 train rows of different bounds is fitted by least squares on the relative step-time
#   error (estimate step = bound step ÷ efficiency + layers × overhead); otherwise efficiency is
#   the median of measured ÷ bound and it has no overhead. fallback: the median ratio over all
#   train rows (a class with no train row uses its limiter's, else this).
# overhead_per_gpu_us_per_layer: a row-split class's fixed time per step per layer per GPU
#   beyond the first (+ layers × this × (GPUs − 1)), fitted with the class by least squares
#   where its train rows span >= 2 GPU counts.
# device_factor: per GPU id with >= 3 GPU-limited train rows, the fraction of its catalog
#   bandwidth its decode reaches relative to its class (bound step ÷ (factor × efficiency));
#   fitted in turn with the classes. Other GPUs: 1.
# spread: 10th / 90th percentile of measured ÷ estimate over the held-out rows (never fitted);
#   a face shows estimate × p10 … estimate × p90 as the estimate's spread.
# prefill: the same for prompt processing, on prefill rows' measured ÷ min(compute bound,
#   weight-traffic bound) (dense FP16 TFLOPS from data/gpu_compute.yaml; same held-out rule).
"""


def _section(eff: Efficiency, indent: str) -> list[str]:
    return [
        f"{indent}efficiency:",
        *[f"{indent}  {k}: {eff.by_class[k]:.6g}" for k in sorted(eff.by_class)],
        f"{indent}fallback: {eff.fallback:.6g}",
        f"{indent}spread:",
        f"{indent}  p10: {eff.spread_p10:.6g}",
        f"{indent}  p90: {eff.spread_p90:.6g}",
        f"{indent}train_ids:",
        *[f"{indent}  - {i}" for i in eff.train_ids],
        f"{indent}held_out_ids:",
        *[f"{indent}  - {i}" for i in eff.held_out_ids],
    ]


def render(eff: Efficiency, prefill: Efficiency) -> str:
    """The YAML text of both fits (stable: 6 significant digits, sorted classes)."""
    lines = [HEADER.rstrip("\n"), "schema_version: 1", "efficiency:"]
    lines += [f"  {k}: {eff.by_class[k]:.6g}" for k in sorted(eff.by_class)]
    lines += ["overhead_us_per_layer:"] + [
        f"  {k}: {eff.overhead_s[k] * 1e6:.6g}" for k in sorted(eff.overhead_s)
    ]
    lines += ["overhead_per_gpu_us_per_layer:"] + [
        f"  {k}: {eff.overhead_per_gpu_s[k] * 1e6:.6g}" for k in sorted(eff.overhead_per_gpu_s)
    ]
    lines += ["device_factor:"] + [
        f"  {k}: {eff.device_factor[k]:.6g}" for k in sorted(eff.device_factor)
    ]
    lines += [
        f"fallback: {eff.fallback:.6g}",
        "spread:",
        f"  p10: {eff.spread_p10:.6g}",
        f"  p90: {eff.spread_p90:.6g}",
        "train_ids:",
        *[f"  - {i}" for i in eff.train_ids],
        "held_out_ids:",
        *[f"  - {i}" for i in eff.held_out_ids],
        "prefill:",
        *_section(prefill, "  "),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the committed file only")
    args = p.parse_args(argv)
    facts, rows = load_speed_data()
    eff, pf = fit_efficiency(rows, facts), fit_prefill_efficiency(rows, facts)
    text = render(eff, pf)
    for what, errs in (
        ("decode", held_out_errors(rows, facts, eff)),
        ("prefill", prefill_held_out_errors(rows, facts, pf)),
    ):
        e = error_summary([x for _, _, x in errs])
        cv = error_summary([x for _, _, x in source_cv_errors(rows, facts, what)])
        print(
            f"{what}: held-out error on {e['n']} rows never fitted: median "
            f"{e['median']:.1%}, 90th percentile {e['p90']:.1%}; leaving one source out "
            f"({cv['n']} rows, each estimated by a fit on the other sources): median "
            f"{cv['median']:.1%}, 90th percentile {cv['p90']:.1%}"
        )
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT.name} differs from a refit")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
