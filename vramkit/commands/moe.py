"""MoE: total vs active bytes per tensor group, experts a batch touches, bytes a step reads.

JSON keys: model, recipe, batch, zipf_s, total_bytes, active_bytes, dense_bytes,
resident_bytes (weights that must be held in memory: every expert, = total_bytes; "resident" means
held everywhere in vramkit), step_read_bytes (weights one decode step of `batch` tokens reads:
dense + experts touched),
total_to_active, moe_layers, experts, top_k, experts_touched_per_layer,
groups: [{group, bytes, active_bytes}]. Bytes are main-model (no MTP); GB = 1e9, GiB = 2**30.
"""

from __future__ import annotations

import argparse

from ..errors import require_int
from ..moe import active_label_check, expected_experts_touched, moe_split, step_read_bytes
from ..params import GROUPS
from ..textfmt import emit_json, table
from ..units import GB, GiB
from ..validate import MAX_BATCH
from .common import add_model_arguments, resolve_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument("--recipe", help="recipe id (default: the official checkpoint layout)")
    p.add_argument("--batch", type=int, default=1, help="tokens decoded together (default 1)")
    p.add_argument(
        "--zipf", type=float, default=0.0, help="routing skew exponent s (0 = uniform routing)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    require_int("--batch", args.batch, minimum=1, maximum=MAX_BATCH)
    model = resolve_model(args)
    s = moe_split(model, args.recipe)
    step_read = step_read_bytes(s, args.batch, zipf_s=args.zipf)
    first = s.layers[0] if s.layers else None
    touched = (
        expected_experts_touched(first.experts, first.top_k, args.batch, zipf_s=args.zipf)
        if first
        else None
    )
    groups = [
        {"group": g, "bytes": s.bytes_by_group[g], "active_bytes": s.active_bytes_by_group[g]}
        for g in GROUPS
        if s.bytes_by_group[g]
    ]
    if args.json:
        emit_json(
            {
                "model": model.id,
                "recipe": s.recipe_id,
                "batch": args.batch,
                "zipf_s": args.zipf,
                "total_bytes": s.total_bytes,
                "active_bytes": s.active_bytes,
                "dense_bytes": s.dense_bytes,
                "resident_bytes": s.total_bytes,
                "step_read_bytes": step_read,
                "total_to_active": s.total_to_active,
                "moe_layers": len(s.layers),
                "experts": first.experts if first else 0,
                "top_k": first.top_k if first else 0,
                "experts_touched_per_layer": touched,
                "groups": groups,
            }
        )
        return 0
    print(f"{model.name} — recipe {s.recipe_id} — main model, no MTP")
    rows = [
        {"group": g["group"], "GB": g["bytes"] / GB, "active GB": g["active_bytes"] / GB}
        for g in groups
    ]
    print(table(rows))
    lines = [
        ("all weights (what must be resident: every expert)", s.total_bytes),
        ("active per token (if only those were loaded)", s.active_bytes),
        (f"read by one decode step of batch {args.batch}", step_read),
    ]
    print()
    print(
        table(
            [{"quantity": k, "bytes": v, "GB": v / GB, "GiB": v / GiB} for k, v in lines],
        )
    )
    if first:
        routing = "uniform routing" if args.zipf == 0 else f"Zipf routing, s = {args.zipf:g}"
        print(
            f"\n{len(s.layers)} MoE layers, {first.experts} experts, top-{first.top_k}: a batch of "
            f"{args.batch} touches {touched:,.1f} experts per layer on average ({routing})."
        )
    print(f"Loaded / active = {s.total_to_active:.1f}x. GB = 1e9 bytes, GiB = 2**30 bytes.")
    if model.active_params_label != model.params.active:  # a published label to explain
        c = active_label_check(model)
        print(
            f"Active label {c.label / 1e9:g}B vs the architecture: {c.all_params / 1e9:.2f} B per "
            f"token with the embedding lookup, {c.without_embedding / 1e9:.2f} B without it, "
            f"{c.without_embedding_and_head / 1e9:.2f} B without embedding and head; the label "
            f"matches: {', '.join(c.matches) or 'none of these'}."
        )
    return 0
