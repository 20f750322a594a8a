"""MoE routing: the experts a batch of tokens touches (the formula `vramkit.moe` and the planner's
speed bounds share). Every token picks `top_k` distinct experts of `E`; tokens route
independently. Uniform routing gives each expert a per-token probability q = k/E; a Zipf skew
(popularity ∝ rank^-s) gives q_e = k·p_e, capped at 1 with the excess handed down (Σ q_e = k).
Apart from `vramkit.moe` (its records: splits, decode bounds, all-to-all) so that a planner
start need not build those records (issue 22); `vramkit.moe` re-exports these names.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import VramkitError, require_int, require_number
from ..validate import MAX_EXPERTS

MAX_ZIPF_S = 4.0
"""Largest skew exponent accepted (s = 4 already sends nearly every token to the top experts)."""


def _check_routing(experts: object, top_k: object, zipf_s: object) -> tuple[int, int, float]:
    e = require_int("experts", experts, minimum=1, maximum=MAX_EXPERTS)
    k = require_int("top_k", top_k, minimum=1)
    if k > e:
        raise VramkitError(f"top_k must be <= experts ({e}), got {k}.")
    return e, k, require_number("zipf_s", zipf_s, minimum=0.0, maximum=MAX_ZIPF_S)


def _q(e: int, k: int, s: float) -> Any:
    """Per-token routing probabilities q (float64 array of E, most popular first), in O(E).

    Popularity weights w_i = (i+1)^-s are non-increasing, so the experts capped at q = 1 are a
    prefix: with m capped, the rest share mass k − m in proportion to w. The cap count is the
    smallest m with (k − m)·w_m / Σ_{j≥m} w_j < 1 (the first uncapped expert stays below 1),
    found for every m at once from suffix sums (one pass, no repeated capping rounds). Powers
    use the C library's ``pow`` (Python's ``**``), not numpy's SIMD power, so figures are the
    same on every CPU (numpy's vectorised power differs in the last bit on ~5% of inputs).
    """
    import numpy as np  # only for a skewed (Zipf) routing; a CLI start need not load it

    if s == 0.0:
        return np.full(e, k / e)
    w = np.array([(i + 1) ** -s for i in range(e)])  # O(E), E <= MAX_EXPERTS
    suffix = np.cumsum(w[::-1])[::-1]  # Σ_{j≥m} w_j
    m_all = np.arange(e)
    fits = (k - m_all) * w < suffix  # expert m below the cap when the first m are capped
    fits &= m_all < k
    m = int(np.argmax(fits)) if fits.any() else min(k, e)
    q = np.ones(e)
    if m < e:
        total = sum(w[m:].tolist())  # sequential, as Σ over the uncapped experts in order
        q[m:] = float(k - m) * w[m:] / total
    return np.minimum(q, 1.0)


def routing_probabilities(experts: int, top_k: int, *, zipf_s: float = 0.0) -> tuple[float, ...]:
    """Per-token probability q_e that a token routes to expert e, most popular first.

    Notes
    -----
    p_e = (e+1)^-s / Σ_j (j+1)^-s (s = 0: uniform); q_e = k·p_e, and any q_e above 1 is capped
    at 1 with its excess shared among the others in proportion to p (so Σ q_e = k, q_e ≤ 1).
    Cost O(E) time and memory, E ≤ `MAX_EXPERTS`.
    """
    e, k, s = _check_routing(experts, top_k, zipf_s)
    return tuple(_q(e, k, s).tolist())


def _touched(e: int, k: int, s: float, b: int, c: int) -> float:
    """Σ_{i ≥ c} 1 − (1 − q_i)^b; uniform routing in closed form (E − c)·(1 − (1 − k/E)^b)."""
    if b == 0 or c >= e:
        return 0.0
    if s == 0.0:  # E − c equal terms: their exact sum is one rounded product
        return (e - c) * (1.0 - (1.0 - k / e) ** b)
    return math.fsum(1.0 - (1.0 - qe) ** b for qe in _q(e, k, s)[c:].tolist())  # O(E)


def expected_experts_touched(
    experts: int, top_k: int, tokens: int, *, zipf_s: float = 0.0, cached: int = 0
) -> float:
    """Expected distinct experts (of one layer) that `tokens` tokens route to, not counting the
    `cached` most popular ones.

    Notes
    -----
    touched = Σ_{e ≥ cached} 1 − (1 − q_e)^B with q_e from `routing_probabilities`; uniform
    routing gives E·(1 − (1 − k/E)^B) (cached = 0) and never exceeds min(E, k·B). Cost O(1)
    uniform, O(E) with a skew.
    """
    e, k, s = _check_routing(experts, top_k, zipf_s)
    b = require_int("tokens", tokens, minimum=0)
    c = require_int("cached", cached, minimum=0, maximum=e)
    return _touched(e, k, s, b, c)
