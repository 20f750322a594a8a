"""Engine vs vramkit table (benchmarks/README.md), regenerated from the fixtures.

    .venv/bin/python benchmarks/engines/report.py     rewrites the block between the markers

Rows: each model x file layout (model buffer), and each model x flash-attention x K-cache
class over the settings grid (context row = KV + states; compute buffer). Signed errors are
vramkit − engine. The engine prints the breakdown in whole MiB (floor) and buffers to 0.01 MiB.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import measure  # noqa: E402

README = ROOT / "benchmarks" / "README.md"
BEGIN = "<!-- engines-table:begin (python3 tasks.py engines) -->"
END = "<!-- engines-table:end -->"
MIB = 2**20


def _settings(s: dict):
    from vramkit.runtimes.llamacpp.memory import Settings

    return Settings(
        s["n_ctx"], s["cache_k"], s["cache_v"], s["n_ubatch"], s["flash_attn"] == "on", s["n_seq"]
    )


def table() -> str:
    import gguf_sparse

    from vramkit.runtimes.llamacpp import memory as lm

    out = [
        "Engine: llama.cpp from `llama-cpp-python==0.3.36` (ggml-org/llama.cpp@0c1e570), CPU",
        "build, `llama-fit-params --fit-print on -nr -v` on full-size sparse GGUFs written from",
        "vramkit's inventory. Errors are vramkit − engine.",
        "",
        "**Model buffer** (engine: whole MiB; quantized file types take the engine's own",
        "`llama-quantize --dry-run` types, so a gap is vramkit's mix rules; vramkit: the file's",
        "loaded tensors plus the tied output head's copy, `runtimes.llamacpp.memory.model_buffer_bytes`):",
        "",
        "| model | llama.cpp arch | layout | engine MiB | vramkit MiB | error | tensors typed differently |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    fixtures = {}
    for mid, where in measure.MODELS:
        fx = json.loads(measure.fixture_path(mid).read_text())
        model = measure.load_model(mid, where)
        fixtures[mid] = (fx, model)
        for f in fx["files"]:
            case = next(c for c in fx["cases"] if c["layout"] == f["layout"])
            eng = case["parsed"]["rows"]["Host"]["model"]
            ours = lm.model_buffer_bytes(model, gguf_sparse.recipe_for(f["layout"])) / MIB
            err = ours - (eng + 0.5)
            out.append(
                f"| {mid} | {f['arch'].lower()} | {f['layout']} | {eng:,} | {ours:,.2f} | "
                f"{'0 (exact)' if int(ours) == eng else f'{err:+,.0f} MiB ({err / eng:+.2%})'} | "
                f"{f['type_differences']['count']} |"
            )
    out += [
        "",
        "**Context (KV caches + states) and compute buffer** over the grid (contexts 4K, 32K,",
        "128K, 1M; -ub 512 / 2048; 1 and 4 sequences; K/V cache f16, q8_0, q4_0). The compute",
        "buffer is llama.cpp's own graph allocator replayed over its recorded allocation sequence",
        "(`benchmarks/engines/alloc_trace.py`, `vramkit.runtimes.llamacpp.graph`; trained on other",
        'contexts and -ub values, so every run here is held out); "to 0.01 MiB" counts runs',
        "equal to the engine's printed two decimals:",
        "",
        "| model | flash attn | K cache | cases | KV lines exact | context row exact | compute within 2 % | compute to 0.01 MiB | compute worst error |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mid, (fx, model) in fixtures.items():
        main = fx["files"][0]["layout"]
        groups: dict[tuple[str, str], list] = {}
        for c in fx["cases"]:
            if c["layout"] == main:
                s = c["settings"]
                kind = "f16" if s["cache_k"] == "f16" else "q8_0/q4_0"
                groups.setdefault((s["flash_attn"], kind), []).append(c)
        for (fa, kind), cases in sorted(
            groups.items(), key=lambda kv: (kv[0][0] != "on", kv[0][1])
        ):
            lines_ok = ctx_ok = within = exact = 0
            worst = 0.0
            for c in cases:
                st, p = _settings(c["settings"]), c["parsed"]
                got = [
                    (x.cells, x.layers, x.streams, lm.mib2(x.k_bytes), lm.mib2(x.v_bytes))
                    for x in lm.kv_lines(model.family, model.config, st)
                ]
                want = [
                    (x["cells"], x["layers"], x["seqs"], x["k_mib"], x["v_mib"])
                    for x in p["caches"]
                ]
                lines_ok += got == want
                ctx_ok += (
                    lm.context_bytes(model.family, model.config, st) // MIB
                    == p["rows"]["Host"]["context"]
                )
                eng = p["compute_mib"].get("CPU", p["rows"]["Host"]["compute"] + 0.5)
                ours = lm.compute_bytes(mid, model.family, model.config, st).bytes / MIB
                err = ours / eng - 1
                within += abs(err) <= 0.02
                exact += abs(ours - eng) <= 0.0051 if p["compute_mib"] else int(ours) == int(eng)
                worst = err if abs(err) > abs(worst) else worst
            n = len(cases)
            out.append(
                f"| {mid} | {fa} | {kind} | {n} | {lines_ok}/{n} | {ctx_ok}/{n} | {within}/{n} | "
                f"{exact}/{n} | {worst:+.3%} |"
            )
    out += [
        "",
        "**Held out** (`measure.py --heldout`: 48K, 192K, 200K, 256K contexts, -ub 512 / 768 /",
        "1024, 1 / 2 / 3 / 4 / 16 sequences; neither the fixture grid nor the traces' training",
        "settings, which use 1, 2 and 4 sequences):",
        "",
        "| model | context | -ub | seqs | flash attn | K cache | engine MiB | vramkit MiB | error |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for mid, (_fx, model) in fixtures.items():
        path = measure.heldout_path(mid)
        if not path.exists():
            continue
        for c in json.loads(path.read_text())["cases"]:
            s, p = c["settings"], c["parsed"]
            eng = p["compute_mib"].get("CPU", p["rows"]["Host"]["compute"] + 0.5)
            ours = lm.compute_bytes(mid, model.family, model.config, _settings(s)).bytes / MIB
            out.append(
                f"| {mid} | {s['n_ctx']:,} | {s['n_ubatch']} | {s['n_seq']} | {s['flash_attn']} "
                f"| {s['cache_k']} | {eng:,.2f} | {ours:,.2f} | {ours / eng - 1:+.3%} |"
            )
    return "\n".join(out)


def main() -> int:
    text = README.read_text()
    block = f"{BEGIN}\n{table()}\n{END}"
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = (
            text.rstrip()
            + "\n\n## Engine vs vramkit (llama.cpp's own projection)\n\n"
            + block
            + "\n"
        )
    README.write_text(text)
    print(f"wrote the engines table into {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
