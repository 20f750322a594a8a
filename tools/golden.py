#!/usr/bin/env python3
"""The golden file: every CLI command's ``--json`` output over the catalog × recipes × a context
grid (and batches, runtimes, GPUs where the command takes them), run in-process through
`vramkit.cli.main` (one interpreter, no subprocess per case).

    .venv/bin/python tools/golden.py            # rewrite tests/golden/cli_json.golden
    .venv/bin/python tools/golden.py --check    # compare only; exit 1 and print a diff on change

The file is plain text, one block per command line::

    ### weights --model deepseek-v4-flash --recipe ds4-q2 --json
    rc 0
    {…stdout…}
    stderr: …            (only when the command wrote to stderr, e.g. a refused recipe)

`tests/test_golden_cli.py` regenerates it in-process and compares byte for byte. A commit that
deliberately changes a figure regenerates the file with this tool and says so in its message.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "cli_json.golden"
EXAMPLES = ("qwen3-30b-a3b", "gpt-oss-120b", "qwen3-next-80b-a3b-instruct", "glm-4.7")
CONTEXTS = ("4096", "32K", "128K", "1M")
KV_RUNTIMES = ("reference", "vllm", "llama.cpp")
KV_DTYPES = ("bf16", "fp8")
_FLASH = ["--model", "deepseek-v4-flash"]
PLAN_CASES = (
    ["plan", *_FLASH, "--gpu", "rtx-4090-24gb:2", "--ram", "128GB", "--context", "64K", "--json"],
    ["plan", *_FLASH, "--gpu", "rtx-4090-24gb:2", "--ram", "128GB", "--runtime", "vllm", "--json"],
    ["plan", *_FLASH, "--gpu", "rtx-3090-24gb", "--gpu", "rtx-4090-24gb", "--ram", "128GB",
     "--goal", "context", "--json"],
    ["plan", *_FLASH, "--gpu", "h200-sxm-141gb:2", "--runtime", "sglang", "--context", "1M",
     "--json"],
    ["plan", *_FLASH, "--gpu", "24GB@1008GB/s", "--ram", "256GB@ddr5-4800-12ch-epyc9004",
     "--goal", "concurrency", "--json"],
    ["plan", "--model", "deepseek-v4-pro", "--gpu", "mac-studio-m3-ultra-512gb", "--json"],
    ["plan", "--model", "llama-3.1-70b", "--gpu", "rtx-4090-24gb", "--ram", "64GB",
     "--recipe", "gguf-Q4_K_M", "--json"],
    ["plan", *_FLASH, "--gpu", "rtx-4090-24gb", "--ram", "64GB", "--nvme", "nvme-gen5-t705",
     "--recipe", "gguf-Q4_K_M", "--json"],
    ["plan", "--model", "deepseek-v4-pro", "--machine", "data/machines/epyc-pro6000-512gb.yaml",
     "--json"],
    ["plan", *_FLASH, "--gpu", "rtx-9999", "--json"],
    ["plan", *_FLASH, "--ram", "0GB", "--json"],
    ["plan", *_FLASH, "--gpu", "2x4090", "--ram", "128GB", "--goal", "fit", "--json"],
    ["plan", *_FLASH, "--gpu", "a100", "--json"],
    ["plan", *_FLASH, "--gpu", "H200", "--ram", "256GB", "--recipe", "routed_experts=MXFP4,*=Q8_0",
     "--json"],
    ["plan", "--model", "deepseek-v4-pro", "--gpu", "h200:16", "--runtime", "vllm", "--context",
     "1M", "--json"],
    ["plan", *_FLASH, "--gpu", "h200:8", "--context", "2M", "--json"],
)  # fmt: skip
"""`plan` command lines (machines of the placement planner, one refused GPU, no machine)."""
FIT_GPUS = ("rtx-pro-6000-blackwell-96gb", "h100-sxm-80gb", "h200-sxm-141gb")
FIT_RUNTIMES = ("vllm", "llama-cpp", "sglang", "trtllm", "reference")
FIT_CONTEXTS = ("32768", "131072", "1048576")
MOE_BATCHES = ("1", "64")


def _model_args() -> list[list[str]]:
    """Every catalog id, then every bundled example config (paths relative to the repo root)."""
    from vramkit.catalog import model_ids

    return [["--model", m] for m in model_ids()] + [
        ["--config", f"data/examples/{e}/config.json"] for e in EXAMPLES
    ]


def cases() -> Iterator[list[str]]:
    """Every command line the golden file pins, in a fixed order."""
    from vramkit.quant import recipe_ids

    yield ["models", "--json"]
    yield ["formats", "--json"]
    models = _model_args()
    for m in models:
        yield ["weights", *m, "--json"]
        for r in recipe_ids():
            yield ["weights", *m, "--recipe", r, "--json"]
    for m in models:
        for ctx in CONTEXTS:
            for rt in KV_RUNTIMES:
                for dt in KV_DTYPES:
                    yield ["kv", *m, "--context", ctx, "--runtime", rt,
                           "--cache-dtype", dt, "--json"]  # fmt: skip
        yield ["kv", *m, "--context", "128K", "--batch", "8", "--tp", "4", "--json"]
        yield ["kv", *m, "--context", "128K", "--runtime", "vllm", "--no-mtp", "--json"]
        # past a model's limit 1M is refused above; the explicit what-if is answered
        yield ["kv", *m, "--context", "1M", "--allow-extrapolation", "--json"]
    for m in models:
        for b in MOE_BATCHES:
            yield ["moe", *m, "--batch", b, "--json"]
        yield ["moe", *m, "--batch", "16", "--zipf", "1.0", "--json"]
    for m in models:
        for gpu in FIT_GPUS:
            for rt in FIT_RUNTIMES:
                for ctx in FIT_CONTEXTS:
                    yield ["fit", *m, "--gpu", gpu, "--runtime", rt, "--context", ctx, "--json"]
        yield ["fit", *m, "--gpu", "h200-sxm-141gb", "--count", "8", "--parallel", "ep",
               "--recipe", "bf16", "--batch", "4", "--json"]  # fmt: skip
        yield ["fit", *m, "--gpu", "h100-sxm-80gb", "--count", "8", "--parallel", "dp", "--json"]
    yield from PLAN_CASES
    for e in EXAMPLES:
        yield ["inspect", f"data/examples/{e}", "--json"]
    yield ["article", "--json"]


def run_case(argv: list[str]) -> str:
    """One block of the golden file: the command line, its exit status, stdout and stderr."""
    from vramkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse refusals
            rc = exc.code if isinstance(exc.code, int) else 2
    block = f"### {' '.join(argv)}\nrc {rc}\n{out.getvalue()}"
    if err.getvalue():
        block += "".join(f"stderr: {line}\n" for line in err.getvalue().splitlines())
    return block


def render() -> str:
    """The whole golden text (runs every case in this process)."""
    import os

    old = os.getcwd()
    os.chdir(ROOT)  # the example paths are relative to the repository root
    try:
        return "".join(run_case(argv) for argv in cases())
    finally:
        os.chdir(old)


def diff(expected: str, actual: str, limit: int = 80) -> str:
    """A unified diff of the first `limit` changed lines, headed by the changed command lines."""
    lines = list(
        difflib.unified_diff(
            expected.splitlines(), actual.splitlines(), "golden", "now", n=2, lineterm=""
        )
    )
    changed = _changed_cases(expected, actual)
    head = [f"{len(changed)} command line(s) changed output, e.g.:"] + [
        f"  python -m vramkit {c}" for c in changed[:10]
    ]
    body = lines[:limit] + (
        [f"… {len(lines) - limit} more diff lines"] if len(lines) > limit else []
    )
    return "\n".join(head + body)


def _blocks(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in text.split("### ")[1:]:
        argv, _, rest = chunk.partition("\n")
        out[argv] = rest
    return out


def _changed_cases(expected: str, actual: str) -> list[str]:
    a, b = _blocks(expected), _blocks(actual)
    return [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the golden file only")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    text = render()
    if args.check:
        expected = GOLDEN.read_text(encoding="utf-8") if GOLDEN.exists() else ""
        if text == expected:
            print(f"golden file matches ({len(_blocks(text))} command lines)")
            return 0
        print(diff(expected, text))
        return 1
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(text, encoding="utf-8")
    print(
        f"wrote {GOLDEN.relative_to(ROOT)}: {len(_blocks(text))} command lines, {len(text):,} chars"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
