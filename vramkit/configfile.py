"""A `ModelSpec` from a bare config.json: architecture family and stored layout read from the file.

The family comes from ``model_type`` (nested ``text_config`` of multimodal configs is used for
the text decoder); the stored layout from ``quantization_config`` / ``expert_dtype`` /
``torch_dtype``. Parameter labels are not in a config: the derived counts stand in for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .catalog import Checkpoint, ModelSpec, Source
from .errors import VramkitError
from .validate import check_config, is_dir, read_json_object, require_path

FAMILY_OF_MODEL_TYPE: dict[str, str] = {
    "deepseek_v4": "deepseek_v4",
    "deepseek_v3": "deepseek_v3",
    "deepseek_v32": "deepseek_v3",
    "kimi_k2": "deepseek_v3",
    "gemma4": "gemma4",
    "gemma4_text": "gemma4",
    "llama": "llama",
    "mistral": "llama",
    "mixtral": "llama",
    "qwen2": "llama",
    "qwen2_moe": "llama",
    "qwen3": "llama",
    "qwen3_moe": "llama",
    "qwen3_next": "qwen3_next",
    "gpt_oss": "gpt_oss",
    "glm4_moe": "glm4_moe",
}
"""model_type → vramkit architecture family (see vramkit.params.FAMILIES)."""

_DTYPES = {"bfloat16": "BF16", "float16": "FP16", "float32": "FP32"}


def read_config(path: str | Path) -> dict[str, Any]:
    """Parse a config.json file (or a folder's config.json) through `vramkit.validate`: a regular
    file of bounded size, UTF-8, bounded nesting, one JSON object."""
    p = require_path("config path", path)
    if is_dir(p, "config path"):
        p = p / "config.json"
    return read_json_object(p, "config file")


def text_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The decoder's fields: a nested ``text_config`` merged over the top level, if present."""
    if not isinstance(config, Mapping):
        raise VramkitError(f"a config must be a mapping of config.json fields, got {config!r:.80}.")
    inner = config.get("text_config")
    if inner is not None and not isinstance(inner, Mapping):
        raise VramkitError(f"text_config must be an object of config fields, got {inner!r}.")
    if isinstance(inner, Mapping):
        return {**{k: v for k, v in config.items() if k != "text_config"}, **inner}
    return dict(config)


def family_of(config: Mapping[str, Any]) -> str:
    """The architecture family for a config's ``model_type``, or a clear error."""
    model_type = config.get("model_type", "")
    if not isinstance(model_type, str):
        raise VramkitError(f"config field 'model_type' must be text, got {model_type!r:.80}.")
    if model_type in FAMILY_OF_MODEL_TYPE:
        return FAMILY_OF_MODEL_TYPE[model_type]
    raise VramkitError(
        f"cannot count model_type {model_type or '(missing)'!r}: vramkit knows "
        f"{', '.join(sorted(FAMILY_OF_MODEL_TYPE))}; fields seen: {', '.join(sorted(map(str, config))[:25])}."
    )


def stored_layout(config: Mapping[str, Any]) -> str:
    """A recipe id (or group=FORMAT map) for the layout the config says its checkpoint holds."""
    q = config.get("quantization_config") or {}
    if not isinstance(q, Mapping):
        raise VramkitError(f"quantization_config must be an object, got {q!r}.")
    family = family_of(config)
    method = str(q.get("quant_method", "")).lower()
    if family == "deepseek_v4" and method == "fp8":
        if str(config.get("expert_dtype", "")).lower() == "fp4":
            return "deepseek-v4-official"
        scale = "FP8_B128_UE8M0" if q.get("scale_fmt") == "ue8m0" else "FP8_B128_F32"
        return (
            f"routed_experts={scale},attention={scale},shared_experts={scale},indexer.wq_b={scale},"
            "indexer=BF16,compressor=BF16,router=BF16,embed=BF16,lm_head=BF16"
        )
    if method == "fp8" and list(q.get("weight_block_size") or []) == [128, 128]:
        scale = "FP8_B128_UE8M0" if q.get("scale_fmt") == "ue8m0" else "FP8_B128_F32"
        return f"*={scale},router=BF16,embed=BF16,lm_head=BF16,indexer.weights_proj=BF16"
    if method == "mxfp4":
        return _mxfp4_layout(config, q, family)
    if q:
        raise VramkitError(
            f"cannot tell the stored layout from quantization_config {dict(q)}; "
            "pass a recipe explicitly (e.g. --recipe uniform:BF16 or --recipe-map group=FORMAT,...)."
        )
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
    if dtype not in _DTYPES:
        raise VramkitError(f"unknown torch_dtype {dtype!r}; expected one of {sorted(_DTYPES)}.")
    return f"uniform:{_DTYPES[dtype]}"


_NOT_CONVERTED_GROUPS = {
    "self_attn": "attention",
    "router": "router",
    "embed_tokens": "embed",
    "lm_head": "lm_head",
}
"""gpt-oss ``modules_to_not_convert`` entries → vramkit groups (kept in the model dtype)."""


def _mxfp4_layout(config: Mapping[str, Any], q: Mapping[str, Any], family: str) -> str:
    """Stored layout of an HF ``quant_method: mxfp4`` checkpoint.

    transformers' Mxfp4HfQuantizer only replaces the gpt-oss expert modules (``GptOssExperts``:
    gate_up_proj and down_proj as ``*_blocks`` + ``*_scales``, E2M1 values with an E8M0 scale per
    32); everything else stays in the model dtype, and ``modules_to_not_convert`` lists it
    (openai/gpt-oss-*: ``model.layers.*.self_attn``, ``model.layers.*.mlp.router``,
    ``model.embed_tokens``, ``lm_head``). Expert biases are vectors and keep their dtype.
    """
    if family != "gpt_oss":
        raise VramkitError(
            f"quant_method mxfp4 is only defined for gpt-oss experts in transformers; this config "
            f"is family {family!r}. Pass a recipe explicitly (e.g. --recipe-map "
            "routed_experts=MXFP4,*=BF16)."
        )
    keep = q.get("modules_to_not_convert") or []
    if not isinstance(keep, list | tuple) or not all(isinstance(k, str) for k in keep):
        raise VramkitError(f"modules_to_not_convert must be a list of names, got {keep!r}.")
    if any("experts" in k for k in keep):
        raise VramkitError(
            f"modules_to_not_convert {list(keep)} excludes the experts, the only modules MXFP4 "
            "converts; pass a recipe explicitly."
        )
    unknown = [k for k in keep if not any(part in k for part in _NOT_CONVERTED_GROUPS)]
    if unknown:
        raise VramkitError(
            f"cannot map modules_to_not_convert entries {unknown} to tensor groups; known parts: "
            f"{', '.join(_NOT_CONVERTED_GROUPS)}."
        )
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
    if dtype not in _DTYPES:
        raise VramkitError(f"unknown torch_dtype {dtype!r}; expected one of {sorted(_DTYPES)}.")
    return f"routed_experts=MXFP4,*={_DTYPES[dtype]}"


def model_from_config(
    config: Mapping[str, Any], *, name: str = "config.json", total_size_bytes: int | None = None
) -> ModelSpec:
    """Build a `ModelSpec` from config.json fields (labels = the derived counts)."""
    if not isinstance(config, Mapping):
        raise VramkitError(
            f"a config must be a mapping of config.json fields, got {type(config).__name__}."
        )
    cfg = text_config(config)
    family = family_of(cfg)
    check_config(cfg)
    src = Source(document=name, quote="fields read from the user's config.json")
    spec = ModelSpec(
        id=Path(name).parent.name or name,
        name=name,
        family=family,
        variant="instruct",
        config=MappingProxyType(cfg),
        config_source=src,
        total_params_label=1,
        active_params_label=1,
        labels_source=Source(
            document=name, quote="no label in a config: derived from the architecture"
        ),
        checkpoint=Checkpoint(
            layout=stored_layout(cfg),
            status="confirmed" if total_size_bytes else "unpublished",
            source=Source(
                document=name, quote="stored layout read from quantization_config / torch_dtype"
            ),
            total_size_bytes=total_size_bytes,
        ),
    )
    counts = spec.params  # builds the inventory: config errors surface here
    return ModelSpec(
        **{
            **{k: getattr(spec, k) for k in spec.__dataclass_fields__ if not k.startswith("_")},
            "total_params_label": counts.main,
            "active_params_label": counts.active,
        }
    )


def model_from_config_file(path: str | Path) -> ModelSpec:
    """`model_from_config` for a config.json path (or a folder holding one)."""
    p = require_path("config path", path)
    cfg = read_config(p)
    return model_from_config(cfg, name=str(p if p.name == "config.json" else p / "config.json"))
