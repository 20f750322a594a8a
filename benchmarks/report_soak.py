"""Soak the report: the full `python -m vramkit report` N times back to back beside CPU-burning
processes, each run in its own subprocess with a hard wall-clock bound.

    .venv/bin/python benchmarks/report_soak.py               # 30 runs, 2 burners (issue 21)
    .venv/bin/python benchmarks/report_soak.py --runs 3 --only 02

Prints runs, failures (a notebook failed: exit 1), hangs (the run passed --hang-after seconds
and was killed), p50 / p95 / max seconds, the slowest cell seen (papermill's per-cell duration,
what `vramkit.report.DEFAULT_CELL_TIMEOUT_S` is sized against), whether any run took more than
3x the median, and every kernel stall the watchdog recovered from. Writes
benchmarks/results/report_soak.json. A benchmark, not a test: `tests/presentation/
test_report_soak.py` runs the short form (3 runs of notebook 02 beside the burners) and
requires no hang and no failure, not a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BURN = "while True: pass"


def burners(n: int) -> list[subprocess.Popen]:
    """`n` processes that each keep one CPU busy until killed."""
    return [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(n)]


def slowest_cell(report: Path) -> tuple[float, str]:
    """(seconds, 'NN_x.ipynb cell K') of the slowest cell papermill timed in a report folder."""
    import nbformat

    best = (0.0, "")
    for nb_path in sorted(report.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for i, cell in enumerate(nb.cells):
            seconds = cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
            if seconds > best[0]:
                best = (float(seconds), f"{nb_path.name} cell {i}")
    return best


def one_run(i: int, work: Path, only: list[str], hang_after_s: int) -> dict:
    """One report in a subprocess; killed (a hang) past `hang_after_s` seconds."""
    out = work / f"run-{i:02d}"
    cmd = [sys.executable, "-m", "vramkit", "report", "--out", str(out), "--no-progress"]
    for name in only:
        cmd += ["--only", name]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=hang_after_s, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"run": i, "status": "hang", "seconds": time.monotonic() - start}
    seconds = time.monotonic() - start
    status = "ok" if proc.returncode == 0 else "failed"
    record = {
        "run": i,
        "status": status,
        "seconds": seconds,
        "exit": proc.returncode,
        "stalls_recovered": proc.stderr.count("running it once more on a new kernel"),
    }
    if status != "ok":
        record["stderr"] = proc.stderr[-2000:]
    if out.is_dir():
        record["slowest_cell_s"], record["slowest_cell"] = slowest_cell(out)
    return record


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def soak(runs: int, n_burners: int, only: list[str], hang_after_s: int) -> dict:
    """Run the report `runs` times beside `n_burners` CPU burners; the summary record."""
    procs = burners(n_burners)
    records = []
    try:
        with tempfile.TemporaryDirectory(prefix="vramkit-soak-") as tmp:
            for i in range(runs):
                rec = one_run(i, Path(tmp), only, hang_after_s)
                records.append(rec)
                print(
                    f"run {i + 1:2d}/{runs}: {rec['status']:6s} {rec['seconds']:6.1f} s"
                    f"  slowest cell {rec.get('slowest_cell_s', 0):5.1f} s"
                    f" ({rec.get('slowest_cell', '-')})",
                    flush=True,
                )
    finally:
        for p in procs:
            p.kill()
            p.wait()
    seconds = [r["seconds"] for r in records]
    median = statistics.median(seconds)
    return {
        "runs": runs,
        "burners": n_burners,
        "only": only,
        "cpus": os.cpu_count(),
        "ok": sum(r["status"] == "ok" for r in records),
        "failures": sum(r["status"] == "failed" for r in records),
        "hangs": sum(r["status"] == "hang" for r in records),
        "p50_s": median,
        "p95_s": percentile(seconds, 95),
        "max_s": max(seconds),
        "over_3x_median": sum(s > 3 * median for s in seconds),
        "slowest_cell_s": max((r.get("slowest_cell_s", 0.0) for r in records), default=0.0),
        "stalls_recovered": sum(r.get("stalls_recovered", 0) for r in records),
        "records": records,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--burners", type=int, default=2)
    ap.add_argument("--only", action="append", default=[], help="notebook(s) to run (default all)")
    ap.add_argument("--hang-after", type=int, default=900, help="seconds before a run is a hang")
    args = ap.parse_args(argv)
    summary = soak(args.runs, args.burners, args.only, args.hang_after)
    print(
        f"\n{summary['ok']}/{summary['runs']} ok, {summary['failures']} failed, "
        f"{summary['hangs']} hung; p50 {summary['p50_s']:.1f} s, p95 {summary['p95_s']:.1f} s, "
        f"max {summary['max_s']:.1f} s; runs over 3x the median: {summary['over_3x_median']}; "
        f"slowest cell {summary['slowest_cell_s']:.1f} s; kernel stalls recovered by a rerun: "
        f"{summary['stalls_recovered']} "
        f"({summary['burners']} burners, {summary['cpus']} CPUs)"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report_soak.json").write_text(json.dumps(summary, indent=1))
    bad = summary["failures"] or summary["hangs"] or summary["over_3x_median"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
