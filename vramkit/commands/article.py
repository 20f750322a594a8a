"""The source article audited: every reproduced cell with a match flag, the first-principles tables
of the four V4 variants, the diff per article row, the prose claims and the real-file anchors.

JSON keys: assumptions, reproduced [{variant, label, column, printed_text, printed_bytes,
reproduced_bytes, matches, reason}], tables {model: [rows]}, diff [rows], claims [rows],
sizes [rows], anchors [rows]. Bytes are ints; GB = 1e9 B, GiB = 2**30 B.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..textfmt import emit_json, table
from ..units import GB


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-context", type=int, default=32_768, help="tokens for the minimum column")
    p.add_argument("--safer-context", type=int, default=131_072, help="tokens for the safer column")
    p.add_argument("--json", action="store_true", help="print JSON (bytes as integers)")


def collect(min_context: int, safer_context: int) -> dict[str, Any]:
    """Everything the command prints, as plain values."""
    from ..article import reproduce_article
    from ..audit import BudgetAssumptions, article_diff, first_principles_table, fmt_tier
    from ..audit_claims import anchor_checks, check_claims, size_findings
    from ..catalog import V4_IDS

    a = BudgetAssumptions(minimum_context_tokens=min_context, safer_context_tokens=safer_context)
    tables = {
        mid: [
            {
                "recipe": r.recipe_id,
                "weight_bytes": r.weight_bytes,
                "weight_gb": r.weight_bytes / GB,
                "bits_per_param": r.bits_per_param,
                "kv_min_bytes": r.minimum_need.kv_bytes,
                "need_min_bytes": r.minimum_need.total_bytes,
                "need_safer_bytes": r.safer_need.total_bytes,
                "minimum": fmt_tier(r.minimum_tier_bytes),
                "safer": fmt_tier(r.safer_tier_bytes),
                "minimum_bytes": r.minimum_tier_bytes,
                "safer_bytes": r.safer_tier_bytes,
            }
            for r in first_principles_table(mid, assumptions=a)
        ]
        for mid in V4_IDS
    }
    diff = [
        {
            "variant": d.variant,
            "label": d.label,
            "article_gb": d.article_size_bytes / GB,
            "article_bits": d.article_bits_per_param,
            "kit_recipe": d.kit_recipe_id,
            "kit_gb": d.kit_size_bytes / GB,
            "kit_bits": d.kit_bits_per_param,
            "ratio": d.size_ratio,
            "article_min": fmt_tier(d.article_minimum_bytes),
            "kit_min": fmt_tier(d.kit_minimum_tier_bytes),
            "article_safer": fmt_tier(d.article_safer_bytes),
            "kit_safer": fmt_tier(d.kit_safer_tier_bytes),
            "explanation": d.explanation,
        }
        for d in article_diff(a)
    ]
    claims = [
        {
            "where": c.claim.where,
            "quote": c.claim.quote,
            "recipe": c.recipe_id,
            "model": c.claim.model_id,
            "need_gb": c.need_bytes / GB,
            "holds": c.holds,
            "explanation": c.explanation,
        }
        for c in check_claims(a)
    ]
    anchors = [
        {
            "file": x.name,
            "recipe": x.recipe_id,
            "published": x.published_text,
            "published_bytes": x.published_bytes,
            "kit_bytes": x.kit_bytes,
            "error_pct": x.error_pct,
            "source": x.source,
        }
        for x in anchor_checks()
    ]
    return {
        "assumptions": {
            "minimum_context_tokens": a.minimum_context_tokens,
            "safer_context_tokens": a.safer_context_tokens,
            "batch": a.batch,
            "overhead_bytes": a.overhead_bytes,
            "overhead_note": a.overhead_label,
        },
        "reproduced": [c.__dict__ for c in reproduce_article()],
        "tables": tables,
        "diff": diff,
        "claims": claims,
        "sizes": [f.__dict__ for f in size_findings()],
        "anchors": anchors,
    }


def run(args: argparse.Namespace) -> int:
    data = collect(args.min_context, args.safer_context)
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
