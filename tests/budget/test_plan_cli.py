"""`python -m vramkit plan`: the issue's example prints a per-device plan, the flags (one line per
runtime), the speed bounds and the context/speed curve; --json; bad machines get clear errors."""

from __future__ import annotations

import json

import pytest

from vramkit import cli
from vramkit.article.quick_summary import offload_rows
from vramkit.widgets.plan import describe

EXAMPLE = ["plan", "--model", "deepseek-v4-flash", "--gpu", "rtx-4090-24gb:2", "--ram", "128GB",
           "--context", "64K", "--runtime", "llama.cpp"]  # fmt: skip


def test_issue_example_prints_plan_flags_speed_and_curve(capsys) -> None:
    assert cli.main(EXAMPLE) == 0
    out = capsys.readouterr().out
    assert "Bytes per place" in out
    for place in ("GPU0", "GPU1", "host"):
        assert f"\n{place} " in out
    for rt in ("llama.cpp", "ik_llama.cpp", "vllm", "sglang"):
        assert f"\n  {rt} " in out
    # goal speed: Q2_K, the best decode bound that fits (tests/budget/test_plan_goals.py); the
    # command names its file (tests/budget/test_plan_runnable.py)
    assert "llama-server -m DeepSeek-V4-Flash-Q2_K.gguf -c 65536 -ngl 44" in out
    assert "--n-cpu-moe" in out
    assert "Speed (upper bounds" in out
    assert "Context vs decode bound" in out
    assert "1,048,576" in out


def test_json_keys(capsys) -> None:
    assert cli.main([*EXAMPLE, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["fits"] is True
    assert d["context"] == 65536
    assert [p["name"] for p in d["places"]] == ["GPU0", "GPU1", "host"]
    assert d["flags"]["llama.cpp"][:3] == ["llama-server", "-m", d["model_file"]["ref"]]
    assert d["speed"]["decode_tokens_per_s"] > 0
    assert len(d["curve"]) == 9
    total = sum(p["total_bytes"] for p in d["places"])
    assert total == sum(sum(p["bytes"].values()) for p in d["places"])


def test_not_fitting_prints_no_speed(capsys) -> None:
    argv = [
        "plan",
        "--model",
        "deepseek-v4-pro",
        "--gpu",
        "rtx-4090-24gb",
        "--ram",
        "64GB",
        "--json",
    ]
    assert cli.main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["fits"] is False
    assert d["speed"] is None
    assert d["flags"]["llama.cpp"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gpu", "rtx-9999"], "unknown GPU"),
        (["--gpu", "24GB@"], "cannot read GPU memory bandwidth ''"),
        (["--gpu", "rtx-4090-24gb", "--ram", "lots"], "cannot read host RAM size"),
        (["--gpu", "rtx-4090-24gb", "--runtime", "ollama"], "unknown planner runtime"),
        (["--gpu", "rtx-4090-24gb", "--context", "lots"], "cannot read context"),
        (["--machine", "missing.yaml"], "machine file 'missing.yaml' does not exist"),
        ([], "no machine given"),
    ],
)
def test_bad_machines_get_clear_errors(capsys, extra: list[str], message: str) -> None:
    assert cli.main(["plan", "--model", "deepseek-v4-flash", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vramkit: error: ")
    assert message in err
    assert "Traceback" not in err


def test_quick_summary_offload_rows() -> None:
    rows = offload_rows()
    assert [r.vram_text for r in rows] == ["24GB", "48GB", "80GB", "96GB", "96GB"]
    assert all(r.fits for r in rows)
    # the article: "24GB: cannot fully run" — with experts in RAM it runs, most experts in RAM
    assert rows[0].expert_layers_on_host > rows[1].expert_layers_on_host
    assert rows[-1].model == "Pro"
    assert "--n-cpu-moe" in rows[0].flags


def test_widget_text_and_errors() -> None:
    text = describe("deepseek-v4-flash", "rtx-3090-24gb,rtx-4090-24gb", "128GB", "llama.cpp", 32768)
    assert "fits" in text
    assert "-ts " in text
    assert describe("deepseek-v4-flash", "rtx-9999", "128GB", "llama.cpp", 32768).startswith(
        "vramkit: unknown GPU"
    )
