"""Weight bytes of a model under a recipe, per tensor group, with GB (1e9) and GiB (2**30) columns.

JSON keys: model, recipe, total_bytes, main_bytes (without MTP), total_params, bits_per_weight,
groups: [{group, params, bytes, gb, gib}], formats: {format: bytes}; not_counted: [text] only
when the config has a multimodal tower vramkit does not count (named, with an estimate);
requantized: [{from, to, tensors}] only for a llama-quantize file type that requantizes tensors
the converter wrote in a block type (gpt-oss / DeepSeek V4 MXFP4 experts, V4's Q8_0): the file
sized is llama-quantize's with ``--allow-requantize``, not the converter's (``convert-<TYPE>``).
"""

from __future__ import annotations

import argparse

from ..model.params import GROUPS
from ..quant import custom_recipe, get_recipe, requantized, weight_bytes
from ..textfmt import emit_json, table
from ..units import GB, GiB
from ..validate import check_selectors
from .common import add_model_arguments, resolve_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    r = p.add_mutually_exclusive_group()
    r.add_argument(
        "--recipe",
        help="recipe id: the official layout (default), gguf-Q4_K_M …, uniform:FORMAT",
    )
    r.add_argument(
        "--recipe-map",
        metavar="SELECTOR=FMT,...",
        help=(
            "custom mix, e.g. routed_experts=Q2_K,attention=Q8_0,vectors=F32,*=Q4_K; selectors: "
            "a group, group.role, mtp[.group], role:ROLE, name:GLOB (checkpoint or GGUF name), "
            "1d/2d/3d/vectors (GGUF rank), *"
        ),
    )
    p.add_argument("--json", action="store_true", help="print JSON (bytes under total_bytes)")


def run(args: argparse.Namespace) -> int:
    model = resolve_model(args)
    recipe = (
        custom_recipe(args.recipe_map)
        if args.recipe_map
        else get_recipe(args.recipe or model.checkpoint_layout)
    )
    if args.recipe_map:
        check_selectors(model, recipe.rules)
    w = weight_bytes(model, recipe)
    requant = [
        {"from": src, "to": dst, "tensors": n}
        for (src, dst), n in requantized(model, recipe).items()
    ]
    groups = [
        {
            "group": g,
            "params": w.params_by_group[g],
            "bytes": w.by_group[g],
            "gb": w.by_group[g] / GB,
            "gib": w.by_group[g] / GiB,
        }
        for g in GROUPS
        if w.params_by_group[g]
    ]
    if args.json:
        emit_json(
            {
                "model": model.id,
                "recipe": w.recipe_id,
                "total_bytes": w.total_bytes,
                "main_bytes": w.main_bytes,
                "total_params": w.total_params,
                "bits_per_weight": w.bits_per_weight,
                "groups": groups,
                "formats": dict(w.by_format),
                **({"not_counted": list(model.not_counted)} if model.not_counted else {}),
                **({"requantized": requant} if requant else {}),
            }
        )
        return 0
    print(f"{model.name} — recipe {w.recipe_id}")
    rows = [
        {
            "group": g["group"],
            "params": g["params"],
            "bytes": g["bytes"],
            "GB": g["gb"],
            "GiB": g["gib"],
        }
        for g in groups
    ]
    rows.append(
        {
            "group": "TOTAL",
            "params": w.total_params,
            "bytes": w.total_bytes,
            "GB": w.total_bytes / GB,
            "GiB": w.total_bytes / GiB,
        }
    )
    print(table(rows))
    print(
        f"\n{w.bits_per_weight:.3f} bits per parameter on average. GB = 1e9 bytes, GiB = 2**30 bytes."
    )
    if w.main_bytes != w.total_bytes:
        print(f"Without the MTP module: {w.main_bytes:,} bytes ({w.main_bytes / GB:,.2f} GB).")
    for note in model.not_counted:
        print(f"note: {note}")
    if requant:
        print(_requant_note(recipe.ftype or "", requant))
    return 0


def _requant_note(ftype: str, requant: list[dict[str, object]]) -> str:
    """Which file a llama-quantize file type that requantizes the converter's block-type
    tensors sizes (see `vramkit.quant.requantized`)."""
    moves = ", ".join(f"{r['tensors']} {r['from']} → {r['to']}" for r in requant)
    return (
        f"note: this is llama-quantize {ftype} with --allow-requantize of the converter's file: "
        f"it requantizes tensors the converter wrote in a block type ({moves}); without that "
        'flag llama-quantize stops ("requantizing from type … is disabled"). The converter\'s '
        "own file (what GGUF repositories publish as F16 / BF16 / Q8_0 for such models) is "
        "recipe convert-F16 / convert-BF16 / convert-Q8_0."
    )
