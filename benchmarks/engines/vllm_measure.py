"""Measure vLLM's own memory figures on a GPU (random weights, nothing downloaded).

    .venv/bin/python benchmarks/engines/vllm_measure.py [--timeout 420] [--models a,b]

NEEDS A GPU: vLLM does not run on a CPU-only machine. Without one this script says so and
exits with status 3, writing nothing. With one (and `pip install vllm` from PyPI), it starts
vLLM once per model with `--load-format dummy` (random weights from a local config.json) and
`--skip-tokenizer-init`, each in its own subprocess under a timeout, and records under
tests/fixtures/measured/vllm/<model>.json the engine version, the exact command, machine kind, date,
the printed lines and the parsed numbers:

    "Model loading took X GiB"            weights as loaded
    "Available KV cache memory: X GiB"    the KV pool after profiling
    "GPU KV cache size: N tokens"         vLLM's capacity figure (max_concurrency x max_model_len)
    "Maximum concurrency for N tokens per request: Xx"   its admission arithmetic
    "Graph capturing finished in S secs, took X GiB"     CUDA-graph memory
    torch.cuda.max_memory_reserved                        the process peak (reported by vLLM's
                                                          profiler lines when present)

Local configs: Llama-3.1-8B and gpt-oss-20b (benchmarks/engines/configs/vllm/), Qwen3-30B-A3B
(data/examples/), DeepSeek-V4-Flash cut to 4 layers (written from vramkit's catalog config).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "tests" / "fixtures" / "measured" / "vllm"

MODELS = {
    "llama-3.1-8b": HERE / "configs" / "vllm" / "llama-3.1-8b",
    "qwen3-30b-a3b": ROOT / "data" / "examples" / "qwen3-30b-a3b",
    "gpt-oss-20b": HERE / "configs" / "vllm" / "gpt-oss-20b",
    "deepseek-v4-flash-4l": None,  # written from the catalog config, 4 layers
}
MAX_MODEL_LEN = {"deepseek-v4-flash-4l": 65536}

_PATTERNS = {
    "model_loading_gib": r"Model loading took ([\d.]+) GiB",
    "available_kv_gib": r"Available KV cache memory: ([\d.]+) GiB",
    "kv_cache_tokens": r"GPU KV cache size: ([\d,]+) tokens",
    "max_concurrency": r"Maximum concurrency for [\d,]+ tokens per request: ([\d.]+)x",
    "cuda_graph_gib": r"Graph capturing finished in [\d.]+ secs?, took ([\d.]+) GiB",
}
_KEEP = re.compile(r"GiB|tokens|concurrency|memory|Graph capturing|KV cache|Error|error")

_SCRIPT = """
import sys
from vllm import LLM
llm = LLM(model=sys.argv[1], load_format="dummy", skip_tokenizer_init=True,
          max_model_len=int(sys.argv[2]), gpu_memory_utilization=0.9, enforce_eager=False,
          trust_remote_code=False)
print("VRAMKIT_DONE", flush=True)
"""


def has_gpu() -> bool:
    """True when an NVIDIA GPU is visible (nvidia-smi lists one)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    res = subprocess.run([smi, "-L"], capture_output=True, text=True)
    return res.returncode == 0 and "GPU" in res.stdout


def v4_reduced_config(dest: Path, layers: int = 4) -> Path:
    """DeepSeek-V4-Flash's catalog config cut to `layers` layers (+ its MTP layer's ratio)."""
    sys.path.insert(0, str(ROOT))
    from vramkit.catalog import get_model

    cfg = dict(get_model("deepseek-v4-flash").config)
    cfg["num_hidden_layers"] = layers
    cfg["compress_ratios"] = [*cfg["compress_ratios"][:layers], 0]
    cfg["num_hash_layers"] = min(int(cfg.get("num_hash_layers", 0)), layers)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps(cfg, indent=1))
    return dest


def parse(lines: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, pat in _PATTERNS.items():
        for line in lines:
            if m := re.search(pat, line):
                out[key] = float(m.group(1).replace(",", ""))
    return out


def measure(name: str, folder: Path, timeout: int) -> dict:
    max_len = MAX_MODEL_LEN.get(name, 32768)
    cmd = [sys.executable, "-c", _SCRIPT, str(folder), str(max_len)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        text, rc = res.stdout + res.stderr, res.returncode
    except subprocess.TimeoutExpired as err:
        text, rc = (err.stdout or b"").decode() + (err.stderr or b"").decode(), 124
    lines = [ln.rstrip() for ln in text.splitlines() if _KEEP.search(ln)]
    import vllm  # type: ignore[import-not-found]

    return {
        "engine": "vllm",
        "version": vllm.__version__,
        "machine": subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "date": dt.date.today().isoformat(),
        "model": name,
        "command": ["python", "-c", "<LLM(model, load_format='dummy', skip_tokenizer_init=True,"
                    f" max_model_len={max_len}, gpu_memory_utilization=0.9)>"],
        "returncode": rc,
        "printed": lines[-200:],
        "parsed": parse(lines),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--timeout", type=int, default=420, help="seconds per model (default 420)")
    ap.add_argument("--models", help=f"comma-separated, from {', '.join(MODELS)}")
    args = ap.parse_args(argv)
    if not has_gpu():
        print(
            "vllm_measure: this needs an NVIDIA GPU (vLLM does not run on a CPU-only machine); "
            "none is visible here (nvidia-smi lists no GPU). Nothing was measured or written."
        )
        return 3
    try:
        import vllm  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        print("vllm_measure: install vLLM from PyPI first (pip install vllm).")
        return 3
    wanted = args.models.split(",") if args.models else list(MODELS)
    OUT.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in wanted:
            folder = MODELS[name] or v4_reduced_config(Path(tmp) / name)
            rec = measure(name, folder, args.timeout)
            (OUT / f"{name}.json").write_text(json.dumps(rec, indent=1) + "\n")
            failed += rec["returncode"] != 0
            print(f"{name}: rc {rec['returncode']}, {rec['parsed']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
