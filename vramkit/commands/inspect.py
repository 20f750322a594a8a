"""Inspect a model from outside the catalog: a config.json, a folder of safetensors shards
(headers only), a GGUF file, or a Hugging Face Hub id (with --online; cached afterwards); a GGUF
file on the Hub by ``hf://OWNER/REPO/FILE.gguf`` or ``OWNER/REPO --file FILE.gguf`` (with
--online; its header by HTTP range requests, never the weights).

Prints exact stored bytes per tensor group (from the headers) next to vramkit's architecture
estimate when a config is present, parameter counts, and the dtype histogram.

JSON keys: source, kind, family, model_note, params {total, main, active} (from the
architecture; null without a model), official_total_size (index metadata.total_size),
measured {total_bytes, total_params, groups: [{group, bytes, params}], dtypes: [{dtype,
tensors, bytes}], other_names}, compare: [{group, measured_bytes, estimate_bytes, diff_bytes}],
recurrent_state_bytes_per_sequence, attention_layers; not_counted: [text] only when the config
has a multimodal tower vramkit does not count. GB = 1e9 bytes, GiB = 2**30 bytes.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..textfmt import emit_json, table
from ..units import GB, GiB, fmt_gb, fmt_params


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "path_or_id",
        metavar="PATH_OR_ID",
        help="local file/folder, Hub owner/name, or hf://OWNER/REPO/FILE.gguf",
    )
    p.add_argument(
        "--file",
        metavar="NAME.gguf",
        help="with a Hub owner/name: the GGUF file in that repo to size from its header "
        "(the first part of a split file, -00001-of-0000N.gguf); needs --online",
    )
    p.add_argument("--json", action="store_true", help="print JSON (bytes as integers)")
    p.add_argument(
        "--online",
        action="store_true",
        help="allow reading config, safetensors and GGUF headers from the Hub (never the "
        "weights); or set VRAMKIT_ALLOW_NETWORK=1",
    )


def report(path_or_id: str, *, online: bool = False) -> dict[str, Any]:
    """Everything `inspect` shows, as plain JSON-ready values."""
    from ..families.recurrent import attention_layers, is_recurrent, recurrent_state_bytes
    from ..ingest import compare_with_estimate, ingest

    ing = ingest(path_or_id, online=online)
    m = ing.measured
    if m is None and ing.model is None:  # a bare config that cannot be counted: nothing to show
        ing.require_model()
    out: dict[str, Any] = {
        "source": ing.source,
        "kind": ing.kind,
        "family": ing.model.family if ing.model else None,
        "model_note": ing.model_note,
        "params": None,
        "official_total_size": ing.official_total_size,
        "measured": None,
        "compare": compare_with_estimate(ing),
        "recurrent_state_bytes_per_sequence": None,
        "attention_layers": None,
    }
    if ing.model is not None:
        pc = ing.model.params
        out["params"] = {"total": pc.total, "main": pc.main, "active": pc.active}
        if ing.model.not_counted:
            out["not_counted"] = list(ing.model.not_counted)
    if m is not None:
        counts = m.dtype_counts
        out["measured"] = {
            "total_bytes": m.total_bytes,
            "total_params": m.total_params,
            "groups": [
                {"group": g, "bytes": b, "params": m.params_by_group[g]}
                for g, b in m.by_group.items()
                if b
            ],
            "dtypes": [
                {"dtype": d, "tensors": counts[d], "bytes": b} for d, b in m.by_dtype.items()
            ],
            "other_names": list(m.other_names),
        }
    if ing.model is not None and "num_hidden_layers" in ing.config:  # a validated config only
        out["attention_layers"] = len(attention_layers(ing.config))
        if is_recurrent(ing.config):
            out["recurrent_state_bytes_per_sequence"] = recurrent_state_bytes(ing.config)
    return out


def source_of(path_or_id: str, file: str | None) -> str:
    """What `report` reads: `path_or_id`, or ``hf://OWNER/REPO/FILE`` when --file is given."""
    if file is None:
        return path_or_id
    from ..errors import VramkitError
    from ..ingest.gguf_remote import hub_file_from_id
    from ..ingest.hub import looks_like_hub_id

    if not looks_like_hub_id(path_or_id):
        raise VramkitError(
            f"--file names a GGUF file in a Hub repo: give the repo as OWNER/NAME, got "
            f"{path_or_id!r:.80} (or give hf://OWNER/REPO/FILE.gguf without --file)."
        )
    return hub_file_from_id(path_or_id, file)


def run(args: argparse.Namespace) -> int:
    r = report(source_of(args.path_or_id, args.file), online=args.online)
    if args.json:
        emit_json(r)
        return 0
    print(f"{r['source']} ({r['kind']})")
    if r["params"]:
        p = r["params"]
        print(
            f"architecture: {r['family']}; {fmt_params(p['main'])} parameters "
            f"({fmt_params(p['active'])} active per token; {fmt_params(p['total'])} with MTP)"
        )
    else:
        print(f"no architecture estimate: {r['model_note']}")
    for note in r.get("not_counted", ()):
        print(f"note: {note}")
    rows = [
        {
            "group": c["group"],
            "measured bytes": c["measured_bytes"],
            "measured GB": None if c["measured_bytes"] is None else c["measured_bytes"] / GB,
            "estimate bytes": c["estimate_bytes"],
            "measured − estimate": c["diff_bytes"],
        }
        for c in r["compare"]
    ]
    print()
    print(table(rows))
    meas = r["measured"]
    if meas:
        total = meas["total_bytes"]
        print(
            f"\nmeasured total: {total:,} bytes = {total / GB:,.2f} GB = {total / GiB:,.2f} GiB; "
            f"{fmt_params(meas['total_params'])} parameters in the file"
        )
        print("\ndtype histogram:")
        print(
            table(
                [
                    {
                        "dtype": d["dtype"],
                        "tensors": d["tensors"],
                        "bytes": d["bytes"],
                        "GB": d["bytes"] / GB,
                    }
                    for d in meas["dtypes"]
                ]
            )
        )
        if meas["other_names"]:
            shown = ", ".join(meas["other_names"][:8])
            more = len(meas["other_names"]) - 8
            print(
                f"\nnot recognised (group 'other'): {shown}" + (f" … (+{more})" if more > 0 else "")
            )
    if r["official_total_size"]:
        print(
            f"\nindex metadata.total_size: {fmt_gb(r['official_total_size'])} ({r['official_total_size']:,} bytes)"
        )
    if r["recurrent_state_bytes_per_sequence"] is not None:
        print(
            f"\nrecurrent (linear-attention / SSM) state: {r['recurrent_state_bytes_per_sequence']:,} "
            f"bytes per sequence; {r['attention_layers']} layers keep a growing KV cache."
        )
    print("\nGB = 1e9 bytes, GiB = 2**30 bytes. Measured bytes are tensor data from the headers.")
    return 0
