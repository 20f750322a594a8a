"""Hostile inputs, round 2 (issue 21 §3, issue 25 §3): the placement planner, machine files,
sizes and rates, and the planning API. Every case runs through the corpus' runner and guards
(`_corpus.run_case`: time bound, no network, one ``vramkit:`` line and exit 2 for a refusal, no
NaN/inf or negative figure in an answer) and must be refused with words that say what is
allowed, or answered right."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vramkit import plan
from vramkit.errors import MAX_MESSAGE_CHARS, VramkitError, shown
from vramkit.plan import machine as machine_mod
from vramkit.plan import placement
from vramkit.plan.search import max_int
from vramkit.units import GB, MAX_SIZE_BYTES, GiB, parse_size

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("hostile_corpus", _HERE / "_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("hostile_corpus", corpus)
_spec.loader.exec_module(corpus)

Case, REFUSE, ANSWER = corpus.Case, corpus.REFUSE, corpus.ANSWER
DENSE = "llama-3.1-70b"
P = ["plan", "--model", DENSE, "--recipe", "gguf-Q4_K_M", "--context", "4K"]
G = [*P, "--gpu", "rtx-4090-24gb"]
F = ["fit", "--model", DENSE, "--gpu", "rtx-4090-24gb", "--context", "4K"]


def _write(name: str, text: str):
    def setup(w: Path) -> None:
        (w / name).write_text(text, encoding="utf-8")

    return setup


def _fifo(w: Path) -> None:
    os.mkfifo(w / "m.yaml")


_NINE = ",".join(["x"] * 9)
ALIAS_BOMB = f"a: &a [{_NINE}]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
"""The billion-laughs shape: 9**9 leaves once expanded; under 300 bytes on disk."""
ALIAS_BOMB_IN_FIELD = (
    f"x: &a [{_NINE}]\n"
    + "".join(
        f"x{i}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    ).replace("x0:", "y0:")
    + "devices: [{gpu: *i}]\n"
)


def size_cases() -> list[Case]:
    """Sizes and rates that overflow, a size without a unit, non-ASCII digits."""
    out = [
        ("ram-1e308TB", [*G, "--ram", "1e308TB"], "2**64 - 1"),
        ("ram-5000-digits", [*G, "--ram", "9" * 5000 + "GB"], "at most 40"),
        ("ram-5000-digits-bare", [*G, "--ram", "9" * 5000], "at most 40"),
        ("gpu-1e300TBps", [*P, "--gpu", "128GB@1e300TB/s"], "1000TB/s"),
        ("ram-1e300TBps", [*G, "--ram", "128GB@1e300TB/s"], "1000TB/s"),
        ("ram-1e-320GBps", [*G, "--ram", "128GB@1e-320GB/s"], "1MB/s"),
        (
            "ram-bandwidth-denormal",
            [*G, "--ram", "128GB", "--ram-bandwidth", "1e-320GB/s"],
            "1MB/s",
        ),
        ("nvme-denormal", [*G, "--ram", "128GB", "--nvme", "1e-320GB/s"], "1MB/s"),
        ("gpu-denormal", [*P, "--gpu", "24GB@1e-320GB/s"], "1MB/s"),
        ("gpu-1e308TB", [*P, "--gpu", "1e308TB@1TB/s"], "2**64 - 1"),
        ("ram-no-unit", [*G, "--ram", "128"], "did you mean 128GB?"),
        ("ram-no-unit-decimal", [*G, "--ram", "12.5"], "did you mean 12.5GB?"),
        ("gpu-memory-no-unit", [*P, "--gpu", "24@936GB/s"], "did you mean 24GB?"),
        ("gpu-rate-no-unit", [*P, "--gpu", "24GB@936"], "did you mean 936GB/s?"),
        ("ram-bandwidth-no-unit", [*G, "--ram", "128GB@89.6"], "did you mean 89.6GB/s?"),
        (
            "wired-limit-no-unit",
            [*P, "--gpu", "mac-studio-m3-ultra-512gb", "--wired-limit", "480"],
            "did you mean 480GB?",
        ),
        ("ram-fullwidth", [*G, "--ram", "１２８GB"], "ASCII digits"),
        ("ram-arabic-indic", [*G, "--ram", "١٢٨GB"], "ASCII digits"),
        ("gpu-memory-fullwidth", [*P, "--gpu", "２４GB@936GB/s"], "ASCII digits"),
        ("gpu-rate-arabic-indic", [*P, "--gpu", "24GB@٩٣٦GB/s"], "ASCII digits"),
        ("count-fullwidth", [*P, "--gpu", "rtx-4090-24gb:２"], "ASCII digits"),
        ("count-arabic-indic", [*P, "--gpu", "rtx-4090-24gb:٢"], "ASCII digits"),
        ("ram-underscore", [*G, "--ram", "1_000GB"], "cannot read host RAM size"),
        ("link-ram-tier", [*G, "--link", "ddr5-5600-2ch"], "not a host link"),
        ("link-disk", [*G, "--link", "nvme-gen4-990pro"], "not a host link"),
        ("link-peer", [*G, "--link", "nvlink4-900"], "not a host link"),
        ("link-network", [*G, "--link", "ib-ndr-400"], "not a host link"),
        ("ram-bandwidth-pcie", [*G, "--ram", "128GB@pcie-gen4-x16"], "host-link entry"),
        (
            "ram-bandwidth-disk",
            [*G, "--ram", "128GB", "--ram-bandwidth", "nvme-gen4-990pro"],
            "storage entry",
        ),
        ("nvme-ram-tier", [*G, "--nvme", "ddr5-5600-2ch"], "host-memory entry"),
        # issue 25 item 2: the margin kept free per GPU, and fit's host RAM for llama.cpp offload
        ("margin-no-unit", [*G, "--margin", "1"], "did you mean 1GB?"),
        ("margin-share-too-big", [*G, "--margin", "95%"], "0% to 90%"),
        ("margin-share-nan", [*G, "--margin", "nan%"], "0% to 90%"),
        ("margin-negative", [*G, "--margin", "-1GB"], "margin"),
        ("margin-fullwidth", [*G, "--margin", "１GiB"], "ASCII digits"),
        (
            "margin-vllm-whole-gpu",
            [*G, "--runtime", "vllm", "--margin", "30GB"],
            "not less than the GPU",
        ),
        ("fit-margin-no-unit", [*F, "--margin", "2"], "did you mean 2GB?"),
        ("fit-margin-trtllm", [*F, "--runtime", "trtllm", "--margin", "1GiB"], "not trtllm"),
        ("fit-ram-no-unit", [*F, "--runtime", "llama.cpp", "--ram", "128"], "did you mean 128GB?"),
        ("fit-ram-vllm", [*F, "--ram", "128GB"], "llama.cpp offloads experts to"),
    ]
    cases = [Case(f"plan2-{cid}", "plan-input", argv, REFUSE, needle) for cid, argv, needle in out]
    answers = [
        ("ram-zero", [*G, "--ram", "0", "--json"], '"machine": "1 \\u00d7 NVIDIA GeForce RTX 4090'),
        ("ram-with-unit", [*G, "--ram", "128GB", "--json"], "128 GB RAM"),
        ("link-host", [*G, "--ram", "64GB", "--link", "pcie-gen5-x16", "--json"], '"fits"'),
        ("margin-share", [*G, "--margin", "10%", "--json"], '"margin_bytes": 2575722087'),
        ("margin-zero", [*G, "--margin", "0", "--json"], '"margin_bytes": 0'),
    ]
    cases += [Case(f"plan2-{cid}", "plan-input", argv, ANSWER, n) for cid, argv, n in answers]
    return cases


def machine_file_cases() -> list[Case]:
    """Machine files: special files, alias bombs, too many devices, duplicate keys, numbers
    where a size belongs, and the Mac + MEMORY@BANDWIDTH machine that lost its second GPU."""
    m = [*P, "--machine", "{w}/m.yaml"]
    dev_lines = "devices:\n" + "  - {gpu: rtx-4090-24gb}\n" * 100_000
    flow_100k = "d: &d {gpu: rtx-4090-24gb}\ndevices: [" + ", ".join(["*d"] * 100_000) + "]\n"
    refusals: list[tuple[str, Any, list[str], str]] = [
        ("fifo", _fifo, m, "FIFO"),
        ("dev-zero", None, [*P, "--machine", "/dev/zero"], "regular files only"),
        ("dev-urandom", None, [*P, "--machine", "/dev/urandom"], "regular files only"),
        ("alias-bomb", _write("m.yaml", ALIAS_BOMB), m, "alias"),
        ("alias-bomb-in-gpu", _write("m.yaml", ALIAS_BOMB_IN_FIELD), m, "alias"),
        ("recursive-alias", _write("m.yaml", "devices: &a [*a]\n"), m, "alias"),
        ("100k-device-lines", _write("m.yaml", dev_lines), m, "at most 1,000,000"),
        ("100k-device-aliases", _write("m.yaml", flow_100k), m, "10,000"),
        (
            "65-records",
            _write("m.yaml", "devices:\n" + "  - {gpu: rtx-4090-24gb}\n" * 65),
            m,
            "at most 64",
        ),
        (
            "two-count-64",
            _write(
                "m.yaml",
                "devices:\n  - {gpu: rtx-4090-24gb, count: 64}\n"
                "  - {gpu: rtx-4090-24gb, count: 64}\n",
            ),
            m,
            "at most 64",
        ),
        ("count-65", _write("m.yaml", "devices: [{gpu: rtx-4090-24gb, count: 65}]\n"), m, "64"),
        (
            "duplicate-host",
            _write(
                "m.yaml", "devices: [{gpu: rtx-4090-24gb}]\nhost: {ram: 128GB}\nhost: {ram: 2GB}\n"
            ),
            m,
            "appears twice",
        ),
        (
            "duplicate-device-key",
            _write("m.yaml", "devices:\n  - {gpu: rtx-4090-24gb, gpu: rtx-3090-24gb}\n"),
            m,
            "appears twice",
        ),
        (
            "ram-int",
            _write("m.yaml", "devices: [{gpu: rtx-4090-24gb}]\nhost: {ram: 128}\n"),
            m,
            "did you mean '128GB'?",
        ),
        (
            "memory-int",
            _write("m.yaml", "devices: [{memory: 24, bandwidth: 936GB/s}]\n"),
            m,
            "did you mean '24GB'?",
        ),
        (
            "bandwidth-int",
            _write("m.yaml", "devices: [{memory: 24GB, bandwidth: 936}]\n"),
            m,
            "did you mean '936GB/s'?",
        ),
        (
            "ram-unitless-text",
            _write("m.yaml", "devices: [{gpu: rtx-4090-24gb}]\nhost: {ram: '128'}\n"),
            m,
            "did you mean 128GB?",
        ),
        ("gpu-list", _write("m.yaml", "devices: [{gpu: [rtx-4090-24gb]}]\n"), m, "must be text"),
        (
            "link-ram-tier",
            _write("m.yaml", "devices: [{gpu: rtx-4090-24gb, link: ddr5-5600-2ch}]\n"),
            m,
            "not a host link",
        ),
        (
            "host-extra-key",
            _write("m.yaml", "devices: [{gpu: rtx-4090-24gb}]\nhost: {ram: 64GB, rma: 1}\n"),
            m,
            "'host' must be a mapping",
        ),
        ("not-utf8", lambda w: (w / "m.yaml").write_bytes(b"devices: [\xff]\n"), m, "UTF-8"),
        (
            "machine-and-link",
            _write("m.yaml", "devices: [{gpu: rtx-4090-24gb}]\n"),
            [*m, "--link", "pcie-gen5-x16"],
            "--link",
        ),
    ]
    cases = [
        Case(f"plan2-machine-{cid}", "machine-file", argv, REFUSE, needle, setup=setup)
        for cid, setup, argv, needle in refusals
    ]
    mac = "devices:\n  - {gpu: mac-studio-m3-ultra-512gb}\n  - {memory: 24GB, bandwidth: 936GB/s}\n"
    cases.append(
        Case(
            "plan2-machine-mac-plus-adhoc",
            "machine-file",
            [*m, "--json"],
            ANSWER,
            "24GB@936GB/s",
            setup=_write("m.yaml", mac),
        )
    )
    return cases


def api_string_cases() -> list[Case]:
    """The Python API's strings follow the command line's rules (a size needs its unit)."""

    def c(cid: str, fn, expect: str = REFUSE, needle: str = "") -> Case:
        return Case(f"plan2-api-{cid}", "plan-api", [], expect, needle, call=fn)

    return [
        c(
            "summary-ram-128",
            lambda w: plan.summary(DENSE, ram="128", details=False),
            needle="did you mean 128GB?",
        ),
        c(
            "build-machine-ram-128",
            lambda w: plan.build_machine([], ram="128"),
            needle="did you mean 128GB?",
        ),
        c(
            "build-machine-gpu-no-unit",
            lambda w: plan.build_machine(["24@936"]),
            needle="did you mean 24GB?",
        ),
        c(
            "build-machine-long-spec",
            lambda w: plan.build_machine(["x" * 10_000]),
            needle="(10,000 chars)",
        ),
        c("parse-size-fullwidth", lambda w: parse_size("１２８GB"), needle="ASCII"),
        c("parse-rate-huge", lambda w: machine_mod.parse_rate(1e300), needle="1000TB/s"),
        c("parse-rate-tiny", lambda w: machine_mod.parse_rate(5e-324), needle="1MB/s"),
        c("parse-size-huge-int", lambda w: parse_size(10**5000), needle="bit integer"),
        c("build-machine-ram-int-bytes", lambda w: plan.build_machine([], ram=128 * GiB), ANSWER),
        c(
            "summary-margin-no-unit",
            lambda w: plan.summary(DENSE, margin="2", details=False),
            needle="did you mean 2GB?",
        ),
        c(
            "solve-margin-bool",
            lambda w: plan.solve(DENSE, plan.build_machine(["rtx-4090-24gb"]), margin=True),
            needle="margin must be",
        ),
        c(
            "plan-for-margin-share",
            lambda w: plan.plan_for(DENSE, plan.build_machine(["rtx-4090-24gb"]), margin="91%"),
            needle="0% to 90%",
        ),
        c(
            "summary-margin-share",
            lambda w: plan.summary(DENSE, recipe="gguf-Q4_K_M", margin="5%", details=False),
            ANSWER,
        ),
    ]


def report_parameter_cases() -> list[Case]:
    """`report -p` values of the wrong kind: refused before any kernel starts."""
    r = ["report", "--out", "{w}/r", "--no-progress", "-p"]
    out = [
        ("context-banana", ["context", "banana"], "context"),
        ("batch-fraction", ["batch", "2.5"], "batch"),
        ("unknown", ["no_such_parameter", "1"], "unknown notebook parameter"),
        ("ram-no-unit", ["ram", "128"], "did you mean 128GB?"),
        ("ram-fullwidth", ["ram", "１２８GB"], "ASCII"),
        ("sequences-zero", ["sequences", "0"], "sequences"),
        ("sequences-huge", ["sequences", "5000"], "4,096"),
        ("parallel-junk", ["parallel", "xp"], "tp"),
        ("zipf-nan", ["zipf_s", "nan"], "zipf_s"),
    ]
    return [
        Case(f"plan2-report-{cid}", "report-parameter", [*r, *kv], REFUSE, needle)
        for cid, kv, needle in out
    ]


CASES = size_cases() + machine_file_cases() + api_string_cases() + report_parameter_cases()


def _check(case: Case, w: Path) -> corpus.Outcome:
    before = corpus.snapshot(w)
    outcome = corpus.run_case(case, w, setup=False)
    found = corpus.problems(case, outcome)
    if outcome.rc == 2 and len(outcome.err) > MAX_MESSAGE_CHARS + 100:
        found.append(f"refusal is {len(outcome.err):,} characters long")
    if corpus.snapshot(w) != before:
        found.append("wrote into its folder")
    assert not found, f"{case.id}: " + " | ".join(found)
    return outcome


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_round2_case(case: Case, tmp_path: Path, monkeypatch) -> None:
    import vramkit.report.run

    def no_kernel(*args, **kwargs):
        raise AssertionError("a notebook kernel was started for a refused parameter")

    monkeypatch.setattr(vramkit.report.run, "run_notebook", no_kernel)
    w = tmp_path / "w"
    w.mkdir()
    if case.setup is not None:
        case.setup(w)
    _check(case, w)


def test_ids_unique_and_disjoint_from_the_corpus() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert not set(ids) & {c.id for c in corpus.all_cases()}


# ── right answers ────────────────────────────────────────────────────────────────────────────
def test_mac_plus_adhoc_gpu_file_equals_the_same_gpu_flags(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(
        "devices:\n  - {gpu: mac-studio-m3-ultra-512gb}\n  - {memory: 24GB, bandwidth: 936GB/s}\n"
    )
    from_file = machine_mod.machine_from_file(f)
    from_flags = plan.build_machine(["mac-studio-m3-ultra-512gb", "24GB@936GB/s"])
    assert len(from_file.devices) == 2  # the ad-hoc GPU used to be dropped
    assert from_file == from_flags


def test_two_count_32_records_are_64_devices(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(
        "devices:\n  - {gpu: rtx-4090-24gb, count: 32}\n  - {gpu: rtx-3090-24gb, count: 32}\n"
    )
    m = machine_mod.machine_from_file(f)
    assert [d.index for d in m.devices] == list(range(64))
    assert "no GPU" not in " ".join(m.notes)


def test_python_ints_are_bytes_and_text_needs_a_unit() -> None:
    # the documented API contract (parse_size, build_machine): a Python int is a byte count
    m = plan.build_machine([], ram=128 * GB)
    assert m.host is not None
    assert m.host.ram_bytes == 128 * GB
    assert plan.build_machine([], ram="128GB") == m
    assert parse_size(np.int64(1024)) == 1024
    assert parse_size("0") == 0  # zero needs no unit
    with pytest.raises(VramkitError, match="did you mean 128GB"):
        plan.build_machine([], ram="128")


def test_dashboard_planner_box_refuses_a_size_without_unit() -> None:
    from vramkit.widgets import plan as panel

    r = panel.compute({"ram": "128"})
    assert r["ok"] is False
    assert r["field"] == "ram"
    assert "did you mean 128GB?" in r["error"]


def test_sizes_and_counts_share_one_digit_rule() -> None:
    # one rule: ASCII digits only, in sizes, rates and counts alike
    for text in ("１２８GB", "١٢٨GB", "۱۲۸GB"):
        with pytest.raises(VramkitError, match="ASCII digits"):
            parse_size(text)
    for count in ("２", "٢", "۲"):
        with pytest.raises(VramkitError, match="ASCII digits"):
            plan.build_machine([f"rtx-4090-24gb:{count}"])


def test_nothing_fits_is_said_not_an_untried_1023(capsys) -> None:
    from vramkit import cli

    m = plan.build_machine(["24GB@936GB/s"])
    s = plan.solve("deepseek-v4-flash", m, recipe="gguf-Q2_K", context=4096, curve=False)
    assert s.capacity == {"max_context": 0, "max_sequences": 0}
    # 0 is an answer the search tried: not even 1 token or 1 sequence fits
    assert not plan.plan_for("deepseek-v4-flash", m, recipe="gguf-Q2_K", context=1).fits
    assert not plan.plan_for("deepseek-v4-flash", m, recipe="gguf-Q2_K", context=4096).fits
    argv = [
        "plan",
        "--model",
        "deepseek-v4-flash",
        "--gpu",
        "24GB@936GB/s",
        "--recipe",
        "gguf-Q2_K",
        "--context",
        "4K",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "nothing fits at 1 sequence(s), not even 1 token" in out
    assert "1,023" not in out


def test_sequence_capacity_is_searched_past_256() -> None:
    # the golden case that read 256 (the old ceiling): 279 fit, 280 do not (280 before the CUDA
    # terms: the host's logits buffer grows 4 x 129,280 bytes per sequence, GPU0 keeps the copy
    # of a host expert tensor; vramkit.runtimes.llamacpp.cuda)
    m = plan.build_machine(["rtx-4090-24gb"], ram="64GB", nvme="nvme-gen5-t705")
    s = plan.solve("deepseek-v4-flash", m, recipe="gguf-Q4_K_M", curve=False)
    n = s.capacity["max_sequences"]
    assert n == 279
    kw = {"recipe": "gguf-Q4_K_M", "context": 32768}
    assert plan.plan_for("deepseek-v4-flash", m, sequences=n, **kw).fits
    assert not plan.plan_for("deepseek-v4-flash", m, sequences=n + 1, **kw).fits


def test_search_ceiling_is_said_as_at_least() -> None:
    m = plan.build_machine(["h200-sxm-141gb:2"])
    s = plan.solve(DENSE, m, runtime="vllm", context=16, curve=False)
    assert s.capacity["max_sequences"] == plan.MAX_SEQUENCES == 4096
    assert plan.plan_for(DENSE, m, runtime="vllm", context=16, sequences=4096).fits
    note = plan.capacity_note(s.capacity, context=16, sequences=1, limit=131072)
    assert "at least 4,096 sequences of 16 tokens (search ceiling)" in note
    assert "longest context 131,072 tokens at 1 sequence(s) (the model's limit)" in note


def test_max_int_returns_only_values_it_tried() -> None:
    rng = random.Random(21)
    for _ in range(2000):
        lo = rng.randint(0, 5)
        hi = rng.randint(lo, 5000)
        t = rng.randint(lo - 1, hi + 2)
        for gallop in (False, True):
            tried: list[int] = []

            def ok(x: int, tried=tried, t=t) -> bool:
                tried.append(x)
                return x <= t

            got = max_int(lo, hi, ok, gallop=gallop)
            assert got == (min(t, hi) if t >= lo else lo - 1)
            assert got == lo - 1 or got in tried


def test_shown_cuts_long_values_in_one_place() -> None:
    assert shown("x" * 10_000) == "'" + "x" * 80 + "…' (10,000 chars)"
    assert shown(2**5000) == "a 5,001-bit integer"
    nested: list[Any] = []
    nested.append(nested)
    assert len(shown(nested)) < 100
    assert len(str(VramkitError("y" * 50_000))) < MAX_MESSAGE_CHARS + 100


# ── the planning API with wrong types (seeded) ───────────────────────────────────────────────
LONG = "x" * 10_000
BAD: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    float("nan"),
    float("inf"),
    -float("inf"),
    "",
    " ",
    "x",
    "128",
    LONG,
    [],
    [1],
    ["x"],
    [LONG],
    {},
    {"a": 1},
    b"rtx-4090-24gb",
    object(),
    ("rtx-4090-24gb",),
    2**100,
    -(2**100),
    10**5000,
    np.int64(3),
    np.float64(2.5),
    np.bool_(True),
    "rtx-4090-24gb",
    "128GB",
    "１２８GB",
    "1M",
    "llama.cpp",
    1e308,
    5e-324,
    set(),
    0.0,
    {"devices": []},
    range(10**9),
    Path("/dev/zero"),
)


def _templates() -> dict[str, tuple[Any, list[Any], dict[str, Any]]]:
    m = plan.build_machine(["rtx-4090-24gb"], ram="128GB")
    p = plan.plan_for(DENSE, m, recipe="gguf-Q4_K_M", context=4096)
    small = {"recipe": "gguf-Q4_K_M", "runtime": "llama.cpp", "context": 4096}
    return {
        "build_machine": (
            plan.build_machine,
            [["rtx-4090-24gb"]],
            {
                "ram": "128GB",
                "ram_bandwidth": None,
                "nvme": None,
                "link": None,
                "wired_limit": None,
            },
        ),
        "solve": (
            plan.solve,
            [DENSE, m],
            {
                **small,
                "goal": "speed",
                "sequences": 1,
                "cache_dtype": None,
                "ubatch": 512,
                "curve": False,
                "capacity": False,
            },
        ),
        "summary": (
            plan.summary,
            [DENSE],
            {
                "gpus": "rtx-4090-24gb",
                "ram": "128GB",
                "runtime": "llama.cpp",
                "context": 4096,
                "sequences": 1,
                "recipe": "gguf-Q4_K_M",
                "details": False,
            },
        ),
        "plan_for": (
            plan.plan_for,
            [DENSE, m],
            {**small, "sequences": 1, "cache_dtype": None, "ubatch": 512},
        ),
        "capacity_table": (
            plan.capacity_table,
            [DENSE, m],
            {"contexts": (4096,), "max_sequences": 4, "recipe": "gguf-Q4_K_M"},
        ),
        "context_speed_curve": (
            plan.context_speed_curve,
            [DENSE, m],
            {"contexts": (4096,), "recipe": "gguf-Q4_K_M"},
        ),
        "auto_recipe": (plan.auto_recipe, [DENSE, m], {"runtime": "llama.cpp", "context": 4096}),
        "resolve_machine": (
            plan.resolve_machine,
            [],
            {
                "machine": None,
                "gpu": ("rtx-4090-24gb",),
                "ram": "128GB",
                "ram_bandwidth": None,
                "nvme": None,
                "link": None,
                "wired_limit": None,
            },
        ),
        "flags_for": (plan.flags_for, [p], {"model": DENSE}),
        "flags_for_llamacpp": (
            plan.flags_for,
            [p],
            {"model": DENSE, "use_n_cpu_moe": True, "flash_attn": "on"},
        ),
        "plan_speed": (plan.plan_speed, [p, m], {}),
        "candidate_plans": (placement.candidate_plans, [DENSE, m], dict(small)),
        "machine_from_mapping": (
            machine_mod.machine_from_mapping,
            [{"devices": [{"gpu": "rtx-4090-24gb"}], "host": {"ram": "128GB"}}],
            {},
        ),
        "parse_device_spec": (
            machine_mod.parse_device_spec,
            ["rtx-4090-24gb"],
            {"start": 0, "link": None},
        ),
        "parse_host": (machine_mod.parse_host, ["128GB"], {}),
        "parse_disk": (machine_mod.parse_disk, ["nvme-gen4-990pro"], {}),
        "parse_rate": (machine_mod.parse_rate, ["1GB/s"], {}),
        "machine_from_file": (machine_mod.machine_from_file, ["m.yaml"], {}),
    }


N_FUZZ = 600
"""Seeded calls (issue 21 counted 60 tracebacks in 483 such calls)."""


def fuzz_calls(n: int = N_FUZZ, seed: int = 21):
    """(label, fn, args, kwargs): each public plan function with one or two arguments replaced
    by a value of the wrong type or range (seeded: the same calls every run)."""
    rng = random.Random(seed)
    templates = _templates()
    m = plan.build_machine(["rtx-4090-24gb"], ram="128GB")
    extra = (m, templates["flags_for"][1][0])  # a Machine or a Plan where something else belongs
    names = sorted(templates)
    for i in range(n):
        name = names[i % len(names)]
        fn, args, kw = templates[name]
        args, kw = list(args), dict(kw)
        slots = [("a", j) for j in range(len(args))] + [("k", k) for k in kw]
        changed = []
        for _ in range(rng.choice((1, 1, 2))):
            kind, key = rng.choice(slots)
            value = rng.choice(BAD + extra)
            if kind == "a":
                args[key] = value
            else:
                kw[key] = value
            changed.append(f"{key}={shown(value, 30)}")
        yield f"{i:03d}-{name}({', '.join(changed)})", fn, args, kw


def test_planning_api_wrong_types_fuzz(tmp_path: Path) -> None:
    """Every seeded call ends in a VramkitError or a result (no traceback, no hang: the corpus'
    runner and guards), and no refusal repeats the 10,000-character argument."""
    w = tmp_path / "w"
    w.mkdir()
    (w / "m.yaml").write_text("devices: [{gpu: rtx-4090-24gb}]\nhost: {ram: 64GB}\n")
    failures, refused = [], 0
    for label, fn, args, kw in fuzz_calls():
        case = Case(
            f"fuzz-{label}",
            "plan-api-fuzz",
            [],
            corpus.EITHER,
            call=lambda w, fn=fn, args=args, kw=kw: fn(*args, **kw),
        )
        outcome = corpus.run_case(case, w, setup=False)
        found = corpus.problems(case, outcome)
        if outcome.rc == 2:
            refused += 1
            if LONG in outcome.err or len(outcome.err) > 1000:
                found.append(f"echoes a long argument ({len(outcome.err):,} chars)")
        if found:
            failures.append(f"{label}: {found[0][:300]}")
    assert not failures, f"{len(failures)} of {N_FUZZ} calls:\n" + "\n".join(failures[:20])
    assert refused > N_FUZZ // 2  # the generator throws mostly wrong values


def test_fuzz_templates_are_right_answers(tmp_path: Path, monkeypatch) -> None:
    """The unmutated calls answer (so a refusal in the fuzz is the bad value's doing)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text("devices: [{gpu: rtx-4090-24gb}]\nhost: {ram: 64GB}\n")
    for name, (fn, args, kw) in _templates().items():
        assert fn(*args, **kw) is not None, name


def test_json_of_refused_rates_is_never_written(capsys) -> None:
    from vramkit import cli

    rc = cli.main([*G, "--ram", "128GB@1e-320GB/s", "--json"])
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.out == ""
    assert "Infinity" not in captured.err
    assert "1MB/s" in captured.err


def test_dashboard_capacity_words_match_the_cli() -> None:
    from vramkit.widgets.plan import render_details_html

    none = render_details_html({"max_context": 0, "max_sequences": 0, "curve": []})
    assert "nothing fits</b> (not even 1 token)" in none
    assert "1,023" not in none
    ceiling = render_details_html({"max_context": 8192, "max_sequences": 4096, "curve": []})
    assert "at least 4,096</b> (search ceiling)" in ceiling
    plain = render_details_html({"max_context": 8192, "max_sequences": 280, "curve": []})
    assert "<b>280</b>" in plain


# ── sizes and rates: properties ──────────────────────────────────────────────────────────────
_SIZE_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789.eE+-_, ", max_size=12).map(lambda s: s + "GB"),
    st.text(alphabet="0123456789.eE+-", min_size=1, max_size=12),
    st.sampled_from(["１２８GB", "١٢٨GB", "1e308TB", "1e-320GB", "9" * 5000, "0", "0GB"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SIZE_TEXT)
def test_parse_size_text_is_bytes_in_range_with_a_unit_or_refused(text: str) -> None:
    message = ""
    try:
        n = parse_size(text)
    except VramkitError as err:
        message = str(err)
    if message:
        assert len(message) < 1000  # a 5,000-digit size is not echoed
        return
    assert isinstance(n, int)
    assert 0 <= n <= MAX_SIZE_BYTES
    compact = text.strip().replace(" ", "").replace(",", "")
    # a bare number is read only when it is zero; digits are ASCII
    assert n == 0 or not compact.replace(".", "").isdigit()
    assert compact.isascii()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.text(alphabet="0123456789.eE+-", min_size=1, max_size=12).map(lambda s: s + "GB/s"),
        st.text(max_size=20),
    )
)
def test_parse_rate_is_finite_and_bounded_or_refused(value: Any) -> None:
    try:
        rate = machine_mod.parse_rate(value)
    except VramkitError:
        return
    assert machine_mod.MIN_RATE_BYTES_PER_S <= rate <= machine_mod.MAX_RATE_BYTES_PER_S
