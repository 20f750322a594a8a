"""The index's consumer box (issue 25 item 6): desk machines with RAM offload beside the
data-centre counts, each row the planner's own answer — the same verdict `vramkit plan` prints."""

from __future__ import annotations

import json

import pytest

from vramkit.article.quick_summary import OFFLOAD_MACHINES, offload_rows
from vramkit.cli import main
from vramkit.report.index import consumer_html
from vramkit.units import GB


@pytest.fixture(scope="module")
def rows():
    return offload_rows()


def test_box_shows_every_offload_row(rows):
    box = consumer_html()
    assert box.count("<tr>") == len(OFFLOAD_MACHINES) + 1  # header + one row a machine
    for r in rows:
        assert r.machine in box
        assert f"{r.gpu_bytes / GB:,.1f}" in box
        assert f"{r.host_bytes / GB:,.1f}" in box
        # a bound is shown as a bound, never as a measured speed
        assert f"≤ {r.decode_tokens_per_s:,.1f}" in box
    assert "upper bound" in box
    assert "not a measurement" in box


def test_box_verdict_is_the_plan_commands(rows, capsys):
    # the 2 x RTX 4090 + 128 GB row: the same question asked of `vramkit plan` gives the same
    # verdict, its margin and what to try (one answer across faces)
    (i,) = [k for k, m in enumerate(OFFLOAD_MACHINES) if m[2] == ("rtx-4090-24gb:2",)]
    r = rows[i]
    _, _, gpus, ram, model = OFFLOAD_MACHINES[i]
    # the row names a GGUF type by itself (Q4_K_M) or a recipe id (ds4-q4, since the CUDA
    # terms moved Q4_K_M past 128 GB)
    from vramkit.quant import recipe_ids

    rid = r.recipe if r.recipe in recipe_ids() else f"gguf-{r.recipe}"
    argv = ["plan", "--model", model, "--gpu", gpus[0], "--ram", ram, "--runtime", "llama.cpp",
            "--recipe", rid, "--context", "32768", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"]["headline"] == r.verdict
    assert r.verdict.startswith("fits, tight: host RAM")
    assert r.verdict in consumer_html()
