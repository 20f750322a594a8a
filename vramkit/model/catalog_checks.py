"""Consistency of a catalog's numbers with the architectures: run by the test suite (and by anyone
loading their own catalog), never at import.

Per model: GQA heads divide, the config builds, the main-model parameter count lies within 5% of
the label (`LABEL_TOLERANCE`), the active label does not exceed the total, the checkpoint's
layout is a known recipe, and a published checkpoint size is within 1% of the bytes that layout
gives. Sits above both the catalog and the weight accounting it calls.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..catalog import LABEL_TOLERANCE, ModelSpec, models
from ..errors import VramkitError
from ..quant import get_recipe, weight_bytes

SIZE_TOLERANCE = 0.01
"""A published checkpoint size must match its stored layout's bytes within 1%."""


def check_model(spec: ModelSpec, origin: str = "models.yaml") -> None:
    """Raise `VramkitError` naming `spec` and the first inconsistency found."""
    where = f"{origin}: {spec.id}"
    cfg = spec.config
    heads, kv = cfg.get("num_attention_heads"), cfg.get("num_key_value_heads")
    if heads and kv and heads % kv:
        raise VramkitError(
            f"{where}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}."
        )
    try:
        counts = spec.params
    except VramkitError as err:
        raise VramkitError(f"{where}: config cannot be built: {err}") from None
    off = abs(counts.main - spec.total_params_label) / spec.total_params_label
    if off > LABEL_TOLERANCE:
        raise VramkitError(
            f"{where}: the architecture gives {counts.main:,} main-model parameters, "
            f"{off:.1%} away from the label {spec.total_params_label:,} (tolerance {LABEL_TOLERANCE:.0%})."
        )
    if spec.active_params_label > spec.total_params_label:
        raise VramkitError(f"{where}: active_params label exceeds total_params label.")
    get_recipe(spec.checkpoint.layout)
    size = spec.checkpoint.total_size_bytes
    if size is not None and spec.checkpoint.status != "unpublished":
        built = weight_bytes(spec).total_bytes
        if abs(built - size) / size > SIZE_TOLERANCE:
            raise VramkitError(
                f"{where}: checkpoint total_size_bytes {size:,} and the layout "
                f"{spec.checkpoint.layout!r} ({built:,} bytes) differ by more than 1%."
            )


def check_models(specs: Mapping[str, ModelSpec] | None = None, origin: str = "models.yaml") -> None:
    """`check_model` for every spec (default: the project catalog)."""
    for spec in (models() if specs is None else specs).values():
        check_model(spec, origin)
