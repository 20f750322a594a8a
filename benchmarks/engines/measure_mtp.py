"""DeepSeek V4 with and without its MTP layer, as llama.cpp's converter and loader see them.

    .venv/bin/python benchmarks/engines/measure_mtp.py [--models deepseek-v4-flash,…]

Without MTP: the main GGUF (the converter's default: "Skipping … DeepSeek-V4 MTP tensor(s) for
conversion v0"), measured by `measure.py` (tests/fixtures/measured/llamacpp/<model>.json).
With MTP: the converter's ``--mtp`` run writes a separate draft file, ``mtp-*.gguf``: the MTP
block as ``blk.{n_layer}`` plus the shared token embedding, output norm and head
(`gguf_sparse.plan_v4_mtp`). This script writes that file (full-size, sparse) and asks the engine
twice:

- ``llama-quantize --dry-run --allow-requantize {mtp gguf} COPY``: the loader opens the draft
  with ``load_mtp`` (src/llama-quant.cpp L972) and prints every tensor's type and size and
  "model size" (MiB, two decimals) — the draft model's weights;
- ``llama-fit-params -m {mtp gguf} … --fit-print on``: fit-params has no ``--spec-type`` option
  (common/arg.cpp registers it for the speculative, server and cli examples only), so it opens
  the draft as a main model with ``load_mtp`` off: the MTP block is skipped (``TENSOR_SKIP``,
  src/models/deepseek4.cpp L98) and the graph has no trunk. The return code and the last lines
  are recorded as they come;
- ``mtp_context`` (mtp_context.cpp here, compiled against the engine's own library and headers):
  loads the draft with ``load_mtp`` and creates the draft context (``LLAMA_CONTEXT_TYPE_MTP``)
  in the no_alloc projection, over a small grid; its KV cache lines and compute buffer are
  parsed as llama-fit-params' are.

Output: ``tests/fixtures/measured/llamacpp_mtp/<model>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import fitparams  # noqa: E402
import llamacpp  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "measured" / "llamacpp_mtp"
MODELS = ("deepseek-v4-flash", "deepseek-v4-pro")
_TENSOR = re.compile(
    r"^\[ *\d+/ *\d+\] +(\S+) +- \[([^\]]*)\], type = +(\w+), size = +([\d.]+) MiB"
)
_SIZE = re.compile(r"model size += +([\d.]+) MiB")


def dry_run(engine: Any, path: Path) -> dict[str, Any]:
    """The loader's view of the draft file (per tensor: name, ne, type, MiB as printed)."""
    cmd = [str(engine.quantize), "--dry-run", "--allow-requantize", str(path), "COPY"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=engine.env(), timeout=600)
    tensors, size = [], None
    for line in (res.stdout + res.stderr).splitlines():
        if m := _TENSOR.match(line.strip()):
            ne = [int(x) for x in m.group(2).split(",")]
            tensors.append([m.group(1), ne, m.group(3).upper(), float(m.group(4))])
        elif m := _SIZE.search(line):
            size = float(m.group(1))
    return {
        "command": ["llama-quantize", "--dry-run", "--allow-requantize", "{mtp gguf}", "COPY"],
        "returncode": res.returncode,
        "model_size_mib": size,
        "tensors": tensors,
    }


#: (n_ctx, n_ubatch, flash attention, sequences, cache type) of the draft-context grid
GRID = tuple(
    (ctx, ub, fa, ns, ct)
    for ctx in (4096, 131072, 1048576)
    for ub in (512, 2048)
    for fa, ns, ct in ((1, 1, "f16"), (0, 1, "f16"), (1, 4, "f16"), (1, 1, "q8_0"))
)
GGML_TYPE_IDS = {"f16": 1, "q8_0": 8, "q4_0": 2}  # enum ggml_type (ggml/include/ggml.h)


def build_probe(engine: Any) -> Path:
    """Compile mtp_context.cpp against the engine (cached next to its binaries, by source hash)."""
    import hashlib

    src = HERE / "mtp_context.cpp"
    tag = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    out = Path(engine.bin_dir) / f"vramkit-mtp-context-{tag}"
    if out.exists():
        return out
    root = Path(engine.source_dir)
    cmd = [
        "c++", "-O1", "-std=c++17", str(src), f"-I{root / 'include'}",
        f"-I{root / 'ggml' / 'include'}", f"-L{engine.bin_dir}", "-lllama", "-lggml",
        "-lggml-base", "-o", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=600)
    return out


def draft_context(engine: Any, probe: Path, path: Path) -> list[dict[str, Any]]:
    """The engine's MTP draft context over `GRID`: printed lines kept and parsed."""
    cases = []
    for ctx, ub, fa, ns, ct in GRID:
        args = [str(ctx), str(ub), str(fa), str(ns), str(GGML_TYPE_IDS[ct])]
        res = subprocess.run(
            [str(probe), str(path), *args],
            capture_output=True, text=True, env=engine.env(), timeout=600,
        )  # fmt: skip
        lines = [ln for ln in (res.stdout + res.stderr).splitlines() if fitparams.keep(ln)]
        cases.append(
            {
                "settings": asdict(fitparams.Case(ctx, ct, ct, ub, "on" if fa else "off", ns)),
                "command": ["mtp_context", "{mtp gguf}", *args],
                "returncode": res.returncode,
                "printed": lines,
                "parsed": fitparams.parse(lines),
            }
        )
    return cases


def measure(engine: Any, mid: str) -> dict[str, Any]:
    import gguf_sparse
    from measure import FTYPE_IDS, plan_digest, relative_command, sparse_dir

    from vramkit.catalog import get_model

    model = get_model(mid)
    p = gguf_sparse.plan_v4_mtp(model)
    path = sparse_dir() / f"mtp-{mid}.V4_MXFP4.gguf"
    size = gguf_sparse.write(p, path, file_type=FTYPE_IDS["V4_MXFP4"])
    proj = fitparams.run(engine.fit_params, path, fitparams.Case(4096), engine.env())
    return {
        "engine": "llama.cpp",
        "package": engine.package,
        "llama_cpp_commit": engine.llama_cpp_commit,
        "machine": "cpu",
        "date": dt.date.today().isoformat(),
        "model": mid,
        "file": {
            "form": "mtp-*.gguf (convert_hf_to_gguf.py --mtp)",
            "block_count": p.metadata["block_count"],
            "nextn_predict_layers": p.metadata["nextn_predict_layers"],
            "file_bytes": size,
            "tensor_bytes": p.tensor_bytes,
            "n_tensors": len(p.tensors),
            "plan_sha256": plan_digest(p),
        },
        "loader": dry_run(engine, path),
        "fit_params": {
            "command": relative_command(proj.command, path),
            "returncode": proj.returncode,
            "printed_tail": proj.lines[-8:],
        },
        "draft_context": {
            "tool": "benchmarks/engines/mtp_context.cpp (load_mtp, LLAMA_CONTEXT_TYPE_MTP, "
            "no_alloc)",
            "cases": draft_context(engine, build_probe(engine), path),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--check", action="store_true", help="re-measure, compare, write nothing")
    args = ap.parse_args(argv)
    engine = llamacpp.build()
    llamacpp.use_vendored_gguf(engine)
    OUT.mkdir(parents=True, exist_ok=True)
    drift = 0
    for mid in args.models.split(","):
        rec = measure(engine, mid)
        if args.check:
            old = json.loads((OUT / f"{mid}.json").read_text())
            keys = ("file", "loader")
            same = all(old[k] == rec[k] for k in keys) and [
                (c["settings"], c["parsed"]) for c in old["draft_context"]["cases"]
            ] == [(c["settings"], c["parsed"]) for c in rec["draft_context"]["cases"]]
            drift += not same
            print(f"{mid}: {'reproduced' if same else 'DRIFT'}")
            continue
        (OUT / f"{mid}.json").write_text(json.dumps(rec, indent=1) + "\n")
        print(
            f"{mid}: draft {rec['loader']['model_size_mib']} MiB (loader), "
            f"fit-params rc {rec['fit_params']['returncode']}"
        )
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())
