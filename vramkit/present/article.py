"""The source article audited, as plain JSON-ready values: the reproduced cells, the
first-principles tables of the four V4 variants, the diff per article row, the prose claims, the
size statements and the real-file anchors (used by the `article` command and notebook 01)."""

from __future__ import annotations

from typing import Any

from ..units import GB


def article_report(min_context: int, safer_context: int) -> dict[str, Any]:
    """Everything `python -m vramkit article` prints and notebook 01 shows, as plain values
    (bytes as ints; GB = 1e9 bytes)."""
    from ..article.audit import BudgetAssumptions, article_diff, first_principles_table, fmt_tier
    from ..article.claims import anchor_checks, check_claims, size_findings
    from ..article.tables import reproduce_article
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
