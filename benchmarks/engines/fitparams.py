"""Run llama.cpp's own memory projection (`llama-fit-params --fit-print on`) and parse it.

`llama-fit-params` loads the model with `no_alloc` ("only load metadata and simulate memory
allocations"), creates the context (KV caches, compute graph reservation) and prints one
`<device> model context compute` row in whole MiB per device plus `Host`; with `-v` the loader
and context log every buffer to two decimals of a MiB:

    llama_model_load_from_file_impl / load_tensors:  CPU_Mapped model buffer size = 149123.45 MiB
    llama_kv_cache: size = 1024.00 MiB (131072 cells, 32 layers, 1/1 seqs), K (f16): 512.00 MiB, V (f16): 512.00 MiB
    sched_reserve:        CPU compute buffer size =   123.45 MiB

(log formats: src/llama-model.cpp, src/llama-kv-cache.cpp, src/llama-kv-cache-dsv4.cpp,
src/llama-context.cpp of ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f).
Stdlib only.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_MODEL_BUF = re.compile(r"(\S+) model buffer size = +([\d.]+) MiB")
_KV = re.compile(
    r"(?P<fn>\w+): size = +(?P<mib>[\d.]+) MiB \( *(?P<cells>\d+) cells, +(?P<layers>\d+) layers, "
    r"+(?P<seqs>\d+)/(?P<seqs_max>\d+) seqs\), K \((?P<ktype>\w+)\): +(?P<kmib>[\d.]+) MiB, "
    r"V \((?P<vtype>\w+)\): +(?P<vmib>[\d.]+) MiB"
)
_RS = re.compile(
    r"(?P<fn>\w+): size = +(?P<mib>[\d.]+) MiB \( *(?P<cells>\d+) cells, +(?P<layers>\d+) layers, "
    r"+(?P<seqs>\d+) seqs +(?P<rs>\d+) rs_seq\), R \((?P<rtype>\w+)\): +(?P<rmib>[\d.]+) MiB, "
    r"S \((?P<stype>\w+)\): +(?P<smib>[\d.]+) MiB"
)
_STATE = re.compile(r"(\S+) DSV4 (.+?) state buffer size = +([\d.]+) MiB")
_KV_BUF = re.compile(r"(\S+) (KV|RS) buffer size = +([\d.]+) MiB")
_COMPUTE = re.compile(r"(\S+) compute buffer size = +([\d.]+) MiB")
_OUTPUT = re.compile(r"(\S+) +output buffer size = +([\d.]+) MiB")
_ROW = re.compile(r"^(\S+) (\d+) (\d+) (\d+)\s*$")
_CREATING = re.compile(r"creating (.+?)(?:, size = \d+ cells)?$")
_STAMP = re.compile(r"^\d+\.\d+\.\d+\.\d+ [A-Z] ")  # the log's time/level prefix


@dataclass(frozen=True)
class Case:
    """One projection: context, cache types, micro-batch, flash attention, sequences."""

    n_ctx: int
    cache_k: str = "f16"
    cache_v: str = "f16"
    n_ubatch: int = 512
    flash_attn: str = "on"  # on | off
    n_seq: int = 1

    def args(self) -> list[str]:
        a = ["-c", str(self.n_ctx), "-ctk", self.cache_k, "-ctv", self.cache_v]
        a += ["-ub", str(self.n_ubatch), "-b", str(max(self.n_ubatch, 2048))]
        a += ["-fa", self.flash_attn, "-np", str(self.n_seq)]
        return a


@dataclass
class Projection:
    """What the engine printed and what was parsed from it."""

    command: list[str]
    returncode: int
    lines: list[str] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)


def command(bin_path: Path | str, gguf: Path | str, case: Case) -> list[str]:
    """`llama-fit-params -m F … --fit-print on -nr -v` (`-nr`: no weight repacking, so the CPU
    model buffer is the plain one on AMX machines too; `-ngl 0` is implied on a CPU build)."""
    return [str(bin_path), "-m", str(gguf), *case.args(), "--fit-print", "on", "-nr", "-v"]


_KEEP = re.compile(
    r"buffer size|: size = |creating|ratio = |memory breakdown|- Host|error|"
    r"llama_context: (n_ctx|n_ctx_seq|n_seq_max|n_ubatch|flash_attn) |Flash Attention|"
    r"worst-case|graph: nodes"
)


def keep(line: str) -> bool:
    """The printed lines a fixture keeps (buffers, caches, the breakdown rows, errors)."""
    return bool(_KEEP.search(line) or _ROW.match(line))


def parse(lines: list[str]) -> dict[str, Any]:
    """Numbers from the printed lines (MiB as printed; cells/layers/seqs as integers)."""
    out: dict[str, Any] = {"model_mib": {}, "caches": [], "recurrent": [], "dsv4_states": []}
    out["compute_mib"] = {}
    out["output_mib"] = {}
    out["kv_buffer_mib"] = []
    out["rows"] = {}
    creating = ""
    for line in lines:
        if m := _CREATING.search(line):
            creating = m.group(1).strip()
        if m := _MODEL_BUF.search(line):
            out["model_mib"][m.group(1)] = float(m.group(2))
        elif m := _KV.search(line):
            d = m.groupdict()
            out["caches"].append(
                {
                    "cache": creating,
                    "mib": float(d["mib"]),
                    "cells": int(d["cells"]),
                    "layers": int(d["layers"]),
                    "seqs": int(d["seqs"]),
                    "k_type": d["ktype"],
                    "k_mib": float(d["kmib"]),
                    "v_type": d["vtype"],
                    "v_mib": float(d["vmib"]),
                }
            )
        elif m := _RS.search(line):
            d = m.groupdict()
            out["recurrent"].append(
                {
                    "mib": float(d["mib"]),
                    "cells": int(d["cells"]),
                    "layers": int(d["layers"]),
                    "r_type": d["rtype"],
                    "r_mib": float(d["rmib"]),
                    "s_type": d["stype"],
                    "s_mib": float(d["smib"]),
                }
            )
        elif m := _STATE.search(line):
            out["dsv4_states"].append({"name": m.group(2), "mib": float(m.group(3))})
        elif m := _KV_BUF.search(line):
            out["kv_buffer_mib"].append(float(m.group(3)))
        elif m := _COMPUTE.search(line):
            out["compute_mib"][m.group(1)] = float(m.group(2))
        elif m := _OUTPUT.search(line):
            out["output_mib"][m.group(1)] = float(m.group(2))
        elif m := _ROW.match(line):
            out["rows"][m.group(1)] = {
                "model": int(m.group(2)),
                "context": int(m.group(3)),
                "compute": int(m.group(4)),
            }
    return out


def run(
    bin_path: Path | str, gguf: Path | str, case: Case, env: dict[str, str], tries: int = 12
) -> Projection:
    """One projection. The engine's log is written by an asynchronous thread and
    `common_fit_print` returns without flushing it, so its last lines (the compute buffer)
    are sometimes lost at exit (19 of 717 runs on a quiet machine, more under load): rerun
    until they are there, and raise rather than return a projection without them."""
    cmd = command(bin_path, gguf, case)
    for _ in range(tries):
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        text = (res.stderr or "") + "\n" + (res.stdout or "")
        lines = [_STAMP.sub("", ln.rstrip()) for ln in text.splitlines() if keep(ln)]
        parsed = parse(lines)
        # the log is written by an asynchronous thread: its last lines are sometimes lost at
        # exit (seen on 19 of 717 runs); the stdout breakdown row is always there
        if res.returncode or parsed["compute_mib"]:
            break
    else:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))}: the compute buffer line was lost {tries} times in a row "
            "(the engine's asynchronous log); rerun on a less loaded machine"
        )
    return Projection(cmd, res.returncode, lines, parsed)
