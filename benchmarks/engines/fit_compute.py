"""Fit llama.cpp's CPU compute buffer per model from the recorded projections: the fallback.

vramkit sizes the compute buffer by replaying llama.cpp's own allocator over a recorded trace
(alloc_trace.py, vramkit.runtimes.llamacpp.graph; exact on every fixture run). These fitted lines are
used only where no trace applies (a K cache type without a recorded variant, e.g. q5_0).

    .venv/bin/python benchmarks/engines/fit_compute.py     rewrites data/llamacpp_compute.yaml

The compute buffer is ggml-alloc's peak over the reserved worst-case graph (n_ubatch tokens,
src/llama-context.cpp sched_reserve / graph_reserve). Read off the fixtures it is, per token of
the micro-batch, the larger of an output term and an attention term:

    compute = n_ubatch x max(4 x n_vocab + 8 x n_embd,
                             max_i (a_i + b_i x n_ctx_seq + c_i x min(n_ctx_seq / r, top_k)))

The output term (F32 logits of every token of the ubatch plus two F32 hidden rows) is derived
and reproduces the short-context plateau of every dense model exactly; for plain GQA without
flash attention b = 4 x (n_head + 1) (the F32 KQ scores of every head plus the F32 mask) and
with flash attention b = 2 (the F16 mask), both exact on Llama/Qwen. The a_i / b_i lines are
fitted here (max-affine least squares, at most three lines) for each model x flash-attention x
(F16 | quantized) K cache; the fit and its worst error on the fixtures are recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import measure  # noqa: E402

OUT = ROOT / "data" / "llamacpp_compute.yaml"
MIB = 2**20


def _pad(n: int, to: int = 256) -> int:
    return -(-n // to) * to


def sparse_topk(cfg: dict) -> tuple[int, int] | None:
    """(ratio, top_k) of a lightning indexer: V3.2 selects among n_ctx_seq keys, V4 among the
    n_ctx_seq / 4 compressed ones; None without an indexer."""
    if not cfg.get("index_topk"):
        return None
    return (4 if cfg.get("compress_ratios") else 1), int(cfg["index_topk"])


def sliding_window(cfg: dict) -> int:
    """n_swa of models with sliding-window layers (V4: every layer's raw window), else 0."""
    return (
        int(cfg.get("sliding_window") or 0)
        if cfg.get("model_type") in ("deepseek_v4", "gpt_oss", "gemma4_text")
        else 0
    )


def points(fixture: dict) -> dict[str, list[tuple[int, int, float]]]:
    """(n_ctx_seq, n_ubatch, compute bytes) per group "fa_on_f16" / "fa_on_quant" / "fa_off_f16"."""
    out: dict[str, list[tuple[int, int, float]]] = {}
    main = fixture["files"][0]["layout"]
    for c in fixture["cases"]:
        s = c["settings"]
        if c["layout"] != main or c["returncode"]:
            continue
        cm = c["parsed"]["compute_mib"]
        v = cm["CPU"] * MIB if cm else (c["parsed"]["rows"]["Host"]["compute"] + 0.5) * MIB
        kv = _pad(_pad(s["n_ctx"]) // s["n_seq"])
        key = f"fa_{s['flash_attn']}_{'f16' if s['cache_k'] == 'f16' else 'quant'}"
        out.setdefault(key, []).append((kv, s["n_ubatch"], v))
    return out


def features(
    kv: np.ndarray, ub: np.ndarray, topk: tuple[int, int] | None, window: int
) -> np.ndarray:
    """[1, n_ctx_seq, min(n_ctx_seq / ratio, top_k), swa_cells]: the third for sparse-attention
    models (the indexer keeps at most top_k of n_ctx_seq / ratio entries), the fourth for
    sliding-window models (their window cache holds GGML_PAD(min(kv, window + n_ubatch), 256)
    cells, so its scores grow with n_ubatch)."""
    sel = np.zeros_like(kv) if topk is None else np.minimum(kv / topk[0], topk[1])
    swa = np.zeros_like(kv) if not window else -(-np.minimum(kv, window + ub) // 256) * 256
    return np.stack([np.ones_like(kv), kv, sel, swa], 1)


def _predict(lines: np.ndarray, floor: float, X: np.ndarray) -> np.ndarray:
    return np.maximum(floor, (X @ lines.T).max(1))


def fit_group(
    pts: list[tuple[int, int, float]], floor: float, topk: tuple[int, int] | None, window: int
) -> tuple[list[list[float]], float]:
    """Max-affine fit of compute/n_ubatch (bytes per token) on `features`; returns the lines
    [a, b, c] and the worst relative error over the points."""
    kv = np.array([p[0] for p in pts], float)
    ub = np.array([p[1] for p in pts], float)
    y = np.array([p[2] for p in pts]) / ub
    X = features(kv, ub, topk, window)
    rng = np.random.default_rng(0)
    best: tuple[float, np.ndarray] | None = None
    for k in (1, 2, 3):
        for _ in range(30):
            lab = rng.integers(0, k, len(y))
            lines = np.zeros((k, 4))
            for _ in range(60):
                for j in range(k):
                    m = lab == j
                    if m.sum() >= 4:
                        lines[j], *_ = np.linalg.lstsq(X[m], y[m], rcond=None)
                new = (X @ lines.T).argmax(1)
                if (new == lab).all():
                    break
                lab = new
            err = float(np.abs(_predict(lines, floor, X) / y - 1).max())
            if best is None or err < best[0] - 1e-9:
                best = (err, lines.copy())
    assert best is not None
    return [[round(float(v), 6) for v in line] for line in best[1]], best[0]


def main() -> int:
    models = {}
    worst = 0.0
    for mid, where in measure.MODELS:
        path = measure.fixture_path(mid)
        if not path.exists():
            continue
        fixture = json.loads(path.read_text())
        cfg = measure.load_model(mid, where).config
        floor = 4 * int(cfg["vocab_size"]) + 8 * int(cfg["hidden_size"])
        topk = sparse_topk(cfg)
        groups = {}
        for key, pts in sorted(points(fixture).items()):
            lines, err = fit_group(pts, floor, topk, sliding_window(cfg))
            worst = max(worst, err)
            groups[key] = {"lines": lines, "max_abs_error": round(err, 4), "points": len(pts)}
        models[mid] = {"fixture": f"tests/fixtures/measured/llamacpp/{mid}.json", **groups}
        print(f"{mid}: " + ", ".join(f"{k} {v['max_abs_error']:.1%}" for k, v in groups.items()))
    lines = [
        "# llama.cpp CPU compute buffer, fitted per model to the engine's own projections: the",
        "# fallback where no allocator trace applies (data/llamacpp_graphs/, exact, used first).",
        "# Written by benchmarks/engines/fit_compute.py (do not edit); see that module for the form:",
        "#   compute_bytes = n_ubatch * max(4*n_vocab + 8*n_embd, max_i(a_i + b_i*n_ctx_seq",
        "#                       + c_i*min(n_ctx_seq/ratio, top_k) + d_i*swa_cells))",
        "# a_i bytes per ubatch token; b_i, c_i, d_i bytes per ubatch token per cell of one stream;",
        "# (ratio, top_k): the lightning indexer's (V3.2: 1, V4: 4); swa_cells: the sliding",
        "# window cache's GGML_PAD(min(n_ctx_seq, n_swa + n_ubatch), 256) (V4, gpt-oss), else 0.",
        "# Published CUDA figures (different backend, for scale): see cuda_published.",
        "# Backend: CPU (ggml-cpu); engine llama-cpp-python==0.3.36 = ggml-org/llama.cpp@0c1e570.",
        "schema_version: 1",
        f"fitted_on: {dt.date.today().isoformat()}",
        "backend: CPU",
        "estimate: true",
        "cuda_published:",
        "  - url: https://github.com/ggml-org/llama.cpp/pull/12449",
        '    quote: "n_ctx = 512 ... n_ubatch = 512 ... flash_attn = 0 ... CUDA0 compute buffer'
        ' size =   508.03 MiB ... CUDA_Host compute buffer size =    23.00 MiB"',
        "  - url: https://github.com/ggml-org/llama.cpp/pull/6122",
        '    quote: "n_ctx = 4096 ... n_ubatch = 512 ... pipeline parallelism enabled (n_copies=4)'
        ' ... CUDA0 compute buffer size =   672.01 MiB"',
        "  - url: https://github.com/GenerelSchwerz/llama.cpp/pull/62",
        '    quote: "the prompt reserve allocated logits for every token of a ubatch. On this'
        ' 248320 token vocabulary that is 0.947 MiB per ubatch token"',
        "    note: the 4 x n_vocab bytes per ubatch token of the output term (a fork's PR;"
        " llama-server sizes n_outputs_max by its slots there)",
        "models:",
    ]
    for mid, rec in models.items():
        lines.append(f"  {mid}:")
        lines.append(f"    fixture: {rec['fixture']}")
        for key in ("fa_on_f16", "fa_on_quant", "fa_off_f16"):
            if key in rec:
                g = rec[key]
                # fixed-point numbers: YAML 1.1 reads "2e-06" (no dot) as a string
                fitted = (
                    "["
                    + ", ".join(
                        "[" + ", ".join(f"{v:.6f}" for v in line) + "]" for line in g["lines"]
                    )
                    + "]"
                )
                lines.append(
                    f"    {key}: {{lines: {fitted}, max_abs_error: "
                    f"{g['max_abs_error']:.4f}, points: {g['points']}}}"
                )
    OUT.write_text("\n".join(lines) + "\n")
    print(f"worst {worst:.1%}; wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
