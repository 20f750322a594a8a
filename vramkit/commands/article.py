"""The source article audited: every reproduced cell with a match flag, the first-principles tables
of the four V4 variants, the diff per article row, the prose claims and the real-file anchors.

JSON keys: assumptions, reproduced [{variant, label, column, printed_text, printed_bytes,
reproduced_bytes, matches, reason}], tables {model: [rows]}, diff [rows], claims [rows],
sizes [rows], anchors [rows]. Bytes are ints; GB = 1e9 B, GiB = 2**30 B.
"""

from __future__ import annotations

import argparse

from ..textfmt import emit_json, table
from ..units import GB


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--min-context", default="32768", help="tokens for the minimum column: 32768, 32K, 1M"
    )
    p.add_argument(
        "--safer-context", default="131072", help="tokens for the safer column: 131072, 128K"
    )
    p.add_argument("--json", action="store_true", help="print JSON (bytes as integers)")


def run(args: argparse.Namespace) -> int:
    from ..kv import parse_tokens
    from ..present.article import article_report

    data = article_report(parse_tokens(args.min_context), parse_tokens(args.safer_context))
    if args.json:
        emit_json(data)
        return 0
    rep = data["reproduced"]
    ok = sum(c["matches"] for c in rep)
    print(f"1. The article's method reproduced: {ok}/{len(rep)} cells match.\n")
    print(
        table(
            [
                {
                    "variant": c["variant"],
                    "label": c["label"],
                    "column": c["column"],
                    "printed": c["printed_text"],
                    "reproduced_gb": c["reproduced_bytes"] / GB,
                    "match": "yes" if c["matches"] else "NO",
                }
                for c in rep
            ]
        )
    )
    for c in rep:
        if not c["matches"]:
            print(f"  mismatch {c['variant']} {c['label']} {c['column']}: {c['reason']}")
    a = data["assumptions"]
    print(
        f"\n2. First principles: weights under real recipes; minimum = article tier ≥ weights + KV "
        f"at {a['minimum_context_tokens']:,} tokens + {a['overhead_note']}; safer = the same at "
        f"{a['safer_context_tokens']:,} tokens. GB = 1e9 bytes."
    )
    cols = ["recipe", "weight_gb", "bits_per_param", "minimum", "safer"]
    for mid, rows in data["tables"].items():
        print(f"\n{mid}\n" + table(rows, cols))
    print("\n3. The article's rows vs the real files their labels name:\n")
    dcols = ["variant", "label", "article_gb", "article_bits", "kit_recipe", "kit_gb", "kit_bits",
             "ratio", "article_min", "kit_min", "article_safer", "kit_safer"]  # fmt: skip
    print(table(data["diff"], dcols))
    for d in data["diff"]:
        print(f"\n  {d['variant']} {d['label']}: {d['explanation']}")
    print("\n4. The article's fit claims:\n")
    print(table(data["claims"], ["where", "quote", "model", "recipe", "need_gb", "holds"]))
    for s in data["sizes"]:
        print(f"\n  {s['topic']} — {s['verdict']}: “{s['quote']}” {s['explanation']}")
    print("\n5. Sanity anchors (kit vs published files):\n")
    print(table(data["anchors"], ["file", "recipe", "published", "kit_bytes", "error_pct"]))
    return 0
