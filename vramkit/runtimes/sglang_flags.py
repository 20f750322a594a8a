"""SGLang's command line for a plan (`python -m sglang.launch_server` arguments).

SGLang (sgl-project/sglang @ 469c63e54e7d94591617ef9590c6aa26d54dc1bb,
  python/sglang/srt/server_args.py): --tp, --dp, --mem-fraction-static, --context-length,
  --max-running-requests — written here, not yet in its record.
vLLM and SGLang plans are NOT checked by their engines here (they need a GPU; none is lent to
these checks): the rules they follow are cited to the engines' code in
`vramkit.runtimes.vllm.placement`; only llama.cpp plans are re-run in
the engine (data/measured/plan/, per device tests/fixtures/measured/plan/rpc/).
"""

from __future__ import annotations

import math

from ..catalog import ModelSpec, get_model
from ..plan.command_line import Flags
from ..plan.getfile import serve_ref
from ..plan.network import multi_node_note, nodes_of
from ..plan.record import Plan


def sglang_flags(plan: Plan, *, model: ModelSpec | None = None) -> Flags:
    """`python -m sglang.launch_server` arguments for an SGLang plan: the static fraction is
    (weights + KV pool) / memory, rounded up to 0.01."""
    k = plan.knobs
    gpu = next(p for p in plan.places if p.kind == "gpu")
    static = gpu.bytes_by_component["attention+dense"] + gpu.bytes_by_component["routed experts"]
    static += gpu.bytes_by_component["KV cache"]
    frac = min(0.99, math.ceil(100 * static / gpu.capacity_bytes) / 100)
    ref = serve_ref(model or get_model(plan.model_id))
    args = ["python", "-m", "sglang.launch_server", "--model-path", ref.ref]
    args += ["--tp", str(k["tp"])]
    if int(k.get("dp", 1)) > 1:  # type: ignore[call-overload]
        args += ["--dp", str(k["dp"])]
    args += ["--mem-fraction-static", f"{frac:.2f}", "--context-length", str(plan.context)]
    args += ["--max-running-requests", str(plan.sequences)]
    notes: tuple[str, ...] = (f"{ref.ref}: {ref.note}",)
    nodes = nodes_of(plan)
    if nodes > 1:
        # https://docs.sglang.io/references/multi_node_deployment/multi_node.html: the same
        # command on every node with --dist-init-addr HEAD:PORT --nnodes N --node-rank R
        args += ["--nnodes", str(nodes), "--node-rank", "0", "--dist-init-addr", "HEAD_IP:20000"]
        notes += (
            multi_node_note(
                plan,
                f"run this command on each node with --node-rank 0 … {nodes - 1} (0 on the node "
                "whose address is HEAD_IP)",
            ),
        )
    if k.get("ep"):
        notes += ("expert parallel planned; SGLang's EP flag is not emitted (not checked here)",)
    return Flags("sglang", tuple(args), notes, ref)
