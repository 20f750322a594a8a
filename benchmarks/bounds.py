"""Worst-case cost of inputs the validation layer admits (or refuses at its bounds).

    python benchmarks/bounds.py

Each line: the largest input of one kind vramkit accepts (bounds in `vramkit.validate`), or the
hostile input just past a bound, and how long the call takes (one run, seconds). Targets: every
call ≤ 2 s on 2 cores; refusals ≤ 0.5 s. Not a test: it prints figures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vramkit import validate as v  # noqa: E402
from vramkit.configfile import model_from_config, model_from_config_file  # noqa: E402
from vramkit.errors import VramkitError  # noqa: E402
from vramkit.kv import kv_cache, kv_grid  # noqa: E402
from vramkit.moe import expected_experts_touched, moe_split, step_read_bytes  # noqa: E402
from vramkit.quant import weight_bytes  # noqa: E402

BASE = json.loads((ROOT / "data" / "examples" / "qwen3-30b-a3b" / "config.json").read_text())


def _time(fn: Callable[[], Any]) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        fn()
        what = "answered"
    except VramkitError as err:
        what = f"refused: {str(err)[:70]}"
    return time.perf_counter() - start, what


def _largest_model():
    cfg = {
        **BASE,
        "num_hidden_layers": v.MAX_LAYERS,
        "num_experts": v.MAX_EXPERTS,
        "max_position_embeddings": v.MAX_POSITIONS,
    }
    return model_from_config(cfg, name="largest/config.json")


def main() -> int:
    big = _largest_model()
    deep = Path(tempfile.mkdtemp()) / "config.json"
    deep.write_text("[" * 1_000_000 + "]" * 1_000_000)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("weights, 10,000 layers × 65,536 experts", lambda: weight_bytes(big)),
        (
            "kv, 10,000 layers at 2^27 tokens × 10^6",
            lambda: kv_cache(big, v.MAX_POSITIONS, batch=v.MAX_BATCH),
        ),
        ("kv_grid, 100,000 cells", lambda: kv_grid(big, range(1, 50_001), [1, 2])),
        (
            "moe resident, Zipf s=4, 10^6 tokens",
            lambda: step_read_bytes(moe_split(big), 10**6, zipf_s=4.0),
        ),
        (
            "experts touched, 65,536 experts, Zipf",
            lambda: expected_experts_touched(v.MAX_EXPERTS, 64, 10**12, zipf_s=1.2),
        ),
        ("experts touched, 10^12 experts", lambda: expected_experts_touched(10**12, 8, 10)),
        ("config 2,000,000 brackets deep", lambda: model_from_config_file(deep)),
        ("kv_grid, 10^6 contexts", lambda: kv_grid(big, range(1, 1_000_001), [1])),
    ]
    print(f"{'input':44} {'seconds':>8}  outcome")
    for label, fn in cases:
        seconds, what = _time(fn)
        print(f"{label:44} {seconds:8.3f}  {what}")
    os.unlink(deep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
