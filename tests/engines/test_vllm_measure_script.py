"""The vLLM measurement script exists, is bounded and says plainly when it needs a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "engines" / "vllm_measure.py"
sys.path.insert(0, str(SCRIPT.parent))

import vllm_measure  # noqa: E402


@pytest.mark.skipif(vllm_measure.has_gpu(), reason="a GPU is present: the script would measure")
def test_says_it_needs_a_gpu():
    res = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 3
    assert "needs an NVIDIA GPU" in res.stdout


def test_local_configs_and_reduced_v4(tmp_path):
    for name, folder in vllm_measure.MODELS.items():
        if folder is not None:
            assert (folder / "config.json").exists(), name
    cfg = vllm_measure.v4_reduced_config(tmp_path / "v4")
    import json

    c = json.loads((cfg / "config.json").read_text())
    assert c["num_hidden_layers"] == 4
    assert len(c["compress_ratios"]) == 5  # 4 layers + the MTP layer's entry


def test_parses_vllm_lines():
    lines = [
        "INFO Model loading took 14.99 GiB and 3.2 seconds",
        "INFO Available KV cache memory: 103.42 GiB",
        "INFO GPU KV cache size: 847,200 tokens",
        "INFO Maximum concurrency for 32,768 tokens per request: 25.85x",
        "INFO Graph capturing finished in 12 secs, took 0.57 GiB",
    ]
    assert vllm_measure.parse(lines) == {
        "model_loading_gib": 14.99,
        "available_kv_gib": 103.42,
        "kv_cache_tokens": 847_200.0,
        "max_concurrency": 25.85,
        "cuda_graph_gib": 0.57,
    }
