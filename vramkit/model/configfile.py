"""A `ModelSpec` from a bare config.json: architecture family and stored layout read from the file.

The family comes from ``model_type`` (nested ``text_config`` of multimodal configs is used for
the text decoder); the stored layout from ``quantization_config`` / ``expert_dtype`` /
``torch_dtype``. Parameter labels are not in a config: the derived counts stand in for them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..catalog import Checkpoint, ModelSpec, Source, checked_view
from ..datafiles import load_document
from ..errors import VramkitError
from ..families import (
    Family,
    check_config,
    family_of_model_type,
    model_types,
    torch_dtype_format,
    whole_numbers,
)
from ..sources import parse_source
from ..validate import is_dir, read_json_object, require_path
from .checkpoint_formats import METHODS, layout_for


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse a config.json file (or a folder's config.json) through `vramkit.validate`: a regular
    file of bounded size, UTF-8, bounded nesting, one JSON object."""
    p = require_path("config path", path)
    if is_dir(p, "config path"):
        p = p / "config.json"
    return read_json_object(p, "config file")


def text_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The decoder's fields: a nested ``text_config`` merged over the top level, if present; the
    wrapper's own ``model_type`` (``llava``, ``mistral3`` …) is kept as ``wrapper_model_type``
    (the vision tower's layout depends on it)."""
    if not isinstance(config, Mapping):
        raise VramkitError(f"a config must be a mapping of config.json fields, got {config!r:.80}.")
    inner = config.get("text_config")
    if inner is not None and not isinstance(inner, Mapping):
        raise VramkitError(f"text_config must be an object of config fields, got {inner!r}.")
    if isinstance(inner, Mapping):
        outer = {k: v for k, v in config.items() if k != "text_config"}
        return {**outer, **inner, "wrapper_model_type": config.get("model_type")}
    return dict(config)


def family_of(config: Mapping[str, Any]) -> str:
    """The family name of `config` (`family_record_of`'s name)."""
    return family_record_of(config).name


def family_record_of(config: Mapping[str, Any]) -> Family:
    """The architecture family for a config's ``model_type`` (`vramkit.families`), or a clear
    error listing the model types vramkit reads."""
    model_type = config.get("model_type", "")
    if not isinstance(model_type, str):
        raise VramkitError(f"config field 'model_type' must be text, got {model_type!r:.80}.")
    family = family_of_model_type(model_type)
    if family is not None:
        return family
    gap = not_counted().get(model_type)
    why = f" ({gap})" if gap else ""
    raise VramkitError(
        f"cannot count model_type {model_type or '(missing)'!r}{why}: vramkit knows "
        f"{', '.join(sorted(model_types()))}; fields seen: "
        f"{', '.join(sorted(map(str, config))[:25])}."
    )


@functools.cache
def not_counted() -> dict[str, str]:
    """model_type → why vramkit cannot count it yet (data/models_not_counted.yaml, sourced)."""
    doc = load_document("models_not_counted.yaml", ("models",))
    out = {}
    for rec in doc["models"]:
        for fact in rec["facts"]:
            parse_source(f"models_not_counted.yaml {rec['model_type']}", fact["source"])
        out[rec["model_type"]] = " ".join(f"{rec['name']}: {rec['gap']}".split())
    return out


def stored_layout(config: Mapping[str, Any], family: Family | None = None) -> str:
    """A recipe id (or group=FORMAT map) for the layout the config says its checkpoint holds:
    the family's own rule first (`Family.stored_layout`), then the generic ones. `family`: the
    config's family record when the caller has it (else read from its model_type)."""
    q = config.get("quantization_config") or {}
    if not isinstance(q, Mapping):
        raise VramkitError(f"quantization_config must be an object, got {q!r}.")
    if family is None:
        family = family_record_of(config)
    own = family.stored_layout(config, q)
    if own is not None:
        return own
    method = str(q.get("quant_method", "")).lower()
    listed = any(k in q for k in ("modules_to_not_convert", "ignored_layers"))
    if method == "fp8" and list(q.get("weight_block_size") or []) == [128, 128] and not listed:
        # DeepSeek V3 / V3.2's layout (their configs list no unquantized modules)
        scale = "FP8_B128_UE8M0" if q.get("scale_fmt") == "ue8m0" else "FP8_B128_F32"
        layout = f"*={scale},router=BF16,embed=BF16,lm_head=BF16"
        # the indexer rule only where there is an indexer: a selector that matches no tensor is
        # refused (`validate.check_selectors`), so a V3 config would be refused for V3.2's rule
        return layout + (",indexer.weights_proj=BF16" if family.has_indexer(config) else "")
    if method in METHODS:  # GPTQ, AWQ, compressed-tensors, bitsandbytes, other FP8
        return layout_for(q, family.inventory(config), torch_dtype_format(config))
    if method == "mxfp4":
        raise VramkitError(
            f"quant_method mxfp4 is only defined for gpt-oss experts in transformers; this config "
            f"is family {family.name!r}. Pass a recipe explicitly (e.g. --recipe-map "
            "routed_experts=MXFP4,*=BF16)."
        )
    if q:
        raise VramkitError(
            f"cannot tell the stored layout from quantization_config {dict(q)}; "
            "pass a recipe explicitly (e.g. --recipe uniform:BF16 or --recipe-map group=FORMAT,...)."
        )
    return f"uniform:{torch_dtype_format(config)}"


def model_from_config(
    config: Mapping[str, Any], *, name: str = "config.json", total_size_bytes: int | None = None
) -> ModelSpec:
    """Build a `ModelSpec` from config.json fields (labels = the derived counts)."""
    if not isinstance(config, Mapping):
        raise VramkitError(
            f"a config must be a mapping of config.json fields, got {type(config).__name__}."
        )
    cfg = text_config(config)
    fam = family_record_of(cfg)  # resolved once: the spec below holds it
    check_config(cfg)
    cfg = whole_numbers(cfg)  # 4096.0 accepted, stored as 4096
    src = Source(document=name, quote="fields read from the user's config.json")
    spec = ModelSpec(
        id=Path(name).parent.name or name,
        name=name,
        family=fam.name,
        variant="instruct",
        config=checked_view(cfg),  # checked above; a copy of the caller's config
        config_source=src,
        total_params_label=1,
        active_params_label=1,
        labels_source=Source(
            document=name, quote="no label in a config: derived from the architecture"
        ),
        checkpoint=Checkpoint(
            layout=stored_layout(cfg, fam),
            status="confirmed" if total_size_bytes else "unpublished",
            source=Source(
                document=name, quote="stored layout read from quantization_config / torch_dtype"
            ),
            total_size_bytes=total_size_bytes,
        ),
    ).with_family(fam)
    counts = spec.params  # builds the inventory: config errors surface here
    spec.not_counted  # noqa: B018 — a malformed vision_config / audio_config surfaces here too
    labelled = replace(spec, total_params_label=counts.main, active_params_label=counts.active)
    return labelled.with_family(fam)


def model_from_config_file(path: str | Path) -> ModelSpec:
    """`model_from_config` for a config.json path (or a folder holding one)."""
    p = require_path("config path", path)
    cfg = read_config(p)
    return model_from_config(cfg, name=str(p if p.name == "config.json" else p / "config.json"))
