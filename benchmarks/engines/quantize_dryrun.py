"""Record the per-tensor types llama-quantize itself picks, for vramkit's mix rules to be checked.

    .venv/bin/python benchmarks/engines/quantize_dryrun.py [--models ID,…] [--ftypes T,…]

For each model, write the full-size sparse source GGUF the converter would produce (`gguf_sparse`:
DeepSeek V4 its MXFP4 file, other models BF16), run
``llama-quantize --dry-run --allow-requantize SRC.gguf TYPE`` for each file type (nothing is
written; no importance matrix is given, so llama.cpp's has_imatrix is false) and store every
tensor's name, shape and chosen type with the exact command and engine version in
``tests/fixtures/measured/llamacpp_quantize/<model>.json``. tests/accounting/test_llamacpp_engine_types.py
compares vramkit's ``gguf-<TYPE>+no-imatrix`` recipes with those files, tensor by tensor.
Needs the engine built by ``python3 tasks.py engines`` (benchmarks/engines/llamacpp.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import llamacpp  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "measured" / "llamacpp_quantize"
MODELS = {
    "deepseek-v4-flash": "V4_MXFP4",
    "llama-3.1-70b": "BF16",
    # the three whose GGUF tensors are not vramkit's checkpoint tensors one to one: MLA's split
    # attn_k_b/attn_v_b, Qwen3-Next's attn_qkv + attn_gate, GLM's NextN block kept in the file
    "deepseek-v3": "BF16",
    "qwen3-next-80b-a3b-instruct": "BF16",
    "glm-4.7": "BF16",
    "gemma-4-31b": "BF16",  # tied embeddings, converter-generated rope_freqs
}
FTYPES = (
    "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q3_K_L", "Q3_K_M", "Q3_K_S",
    "Q2_K", "Q2_K_S", "IQ4_XS", "IQ4_NL", "IQ3_M", "IQ3_S", "IQ3_XS", "IQ3_XXS", "IQ2_M",
    "IQ2_S", "IQ2_XS", "IQ2_XXS", "IQ1_M", "IQ1_S", "TQ1_0", "TQ2_0", "Q5_1", "Q5_0", "Q4_1",
    "Q4_0", "Q2_0", "Q1_0", "MXFP4_MOE", "BF16", "F16", "COPY",
)  # fmt: skip
FTYPE_IDS = {"BF16": 32, "V4_MXFP4": 38}  # llama_ftype of the source file


def dry_run(engine: Any, src: Path, ftype: str, names: list[str]) -> dict[str, Any]:
    """Run llama-quantize --dry-run and parse its per-tensor lines (types in `names` order)."""
    from measure import _DRY

    cmd = [str(engine.quantize), "--dry-run", "--allow-requantize", str(src), ftype]
    res = subprocess.run(cmd, capture_output=True, text=True, env=engine.env(), timeout=600)
    types: dict[str, str] = {}
    summary: list[str] = []
    for line in res.stdout.splitlines() + res.stderr.splitlines():
        if m := _DRY.match(line.strip()):
            types[m.group(1)] = (m.group(3) or m.group(2)).upper()
        elif "quant size" in line or "model size" in line:
            summary.append(line.strip())
    return {
        "ftype": ftype,
        "command": ["llama-quantize", "--dry-run", "--allow-requantize", "{source gguf}", ftype],
        "returncode": res.returncode,
        "printed_summary": summary,
        "stderr_tail": res.stderr[-400:] if res.returncode else "",
        **_encode([types.get(n, "?") for n in names]),
    }


CODES = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _encode(seq: list[str]) -> dict[str, Any]:
    """Types in source-tensor order as one character each: ``legend[CODES.index(c)]``."""
    legend = sorted(set(seq))
    return {"legend": legend, "codes": "".join(CODES[legend.index(x)] for x in seq)}


def measure(engine: Any, mid: str, ftypes: list[str]) -> dict[str, Any]:
    import gguf_sparse
    from measure import MODELS as WHERE
    from measure import load_model

    model = load_model(mid, dict(WHERE)[mid])
    layout = MODELS[mid]
    src = llamacpp.cache_root() / "sparse-gguf" / f"{mid}.{layout}.gguf"
    src.parent.mkdir(parents=True, exist_ok=True)
    plan = gguf_sparse.plan(model, layout)
    gguf_sparse.write(plan, src, file_type=FTYPE_IDS[layout])
    return {
        "engine": "llama.cpp",
        "package": engine.package,
        "llama_cpp_commit": engine.llama_cpp_commit,
        "tool": "llama-quantize --dry-run (no imatrix)",
        "date": dt.date.today().isoformat(),
        "model": mid,
        "source": {
            "layout": layout,
            "written_by": "benchmarks/engines/gguf_sparse.py (the converter's names and types)",
            "tensors": [[t.name, list(t.shape), t.ggml_type] for t in plan.tensors],
        },
        "runs": [dry_run(engine, src, ft, [t.name for t in plan.tensors]) for ft in ftypes],
    }


def _dump(rec: dict[str, Any]) -> str:
    """JSON with one tensor or one run per line (diff-friendly, small)."""
    lines = ["{"]
    items = list(rec.items())
    for i, (k, v) in enumerate(items):
        end = "," if i < len(items) - 1 else ""
        if k == "source":
            tensors = ",\n".join("   " + json.dumps(t) for t in v["tensors"])
            head = json.dumps({a: b for a, b in v.items() if a != "tensors"})[:-1]
            lines.append(f' "source": {head}, "tensors": [\n{tensors}\n ]}}{end}')
        elif k == "runs":
            runs = ",\n".join("  " + json.dumps(r) for r in v)
            lines.append(f' "runs": [\n{runs}\n ]{end}')
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}{end}")
    return "\n".join(lines) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--ftypes", default=",".join(FTYPES))
    args = ap.parse_args(argv)
    engine = llamacpp.build()
    llamacpp.use_vendored_gguf(engine)
    OUT.mkdir(parents=True, exist_ok=True)
    for mid in args.models.split(","):
        rec = measure(engine, mid, args.ftypes.split(","))
        path = OUT / f"{mid}.json"
        path.write_text(_dump(rec))
        bad = [r["ftype"] for r in rec["runs"] if r["returncode"]]
        print(f"wrote {path.relative_to(ROOT)} ({len(rec['runs'])} file types; failed: {bad})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
