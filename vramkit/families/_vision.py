"""Vision towers of multimodal wrappers whose decoder is read through ``text_config`` (Mistral 3's
Pixtral encoder and patch-merging projector), and the note for towers vramkit cannot count.

`vision_tower` adds the tower a family's inventory should hold (group ``vision``, as Gemma 3's
SigLIP and Llama 4's encoder are counted); `uncounted_towers` names, with a labelled estimate,
every ``vision_config`` / ``audio_config`` the inventory left out, so no face drops it silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import VramkitError
from ..tensors import TensorSpec
from ._common import _layers, _nonzero, _pos_int

Add = Callable[..., None]


def _tower_config(config: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    tower = config.get(key)
    if tower is not None and not isinstance(tower, Mapping):
        raise VramkitError(f"{key} must be an object of fields, got {tower!r:.80}.")
    return tower


def pixtral_mistral3(
    add: Add, config: Mapping[str, Any], vision: Mapping[str, Any], text_hidden: int
) -> None:
    """Pixtral encoder + Mistral 3 projector (transformers ``modeling_pixtral.py``,
    ``modeling_mistral3.py``; vLLM ``model_executor/models/mistral3.py``), group ``vision``.

    Encoder: ``patch_conv`` Conv2d(channels, hidden, patch, bias=False) [hidden, channels, patch,
    patch]; ``ln_pre`` RMSNorm(hidden); per layer ``attention_norm`` and ``ffn_norm`` RMSNorms,
    ``attention`` q/k/v/o [hidden, hidden] and ``feed_forward`` gate/up [intermediate, hidden],
    down [hidden, intermediate], no biases; rotary positions (no weights). Projector: ``norm``
    RMSNorm(hidden); ``patch_merger.merging_layer`` [hidden, hidden · spatial_merge_size²];
    ``linear_1`` [text_hidden, hidden · feature layers], ``linear_2`` [text_hidden, text_hidden],
    biased when ``multimodal_projector_bias``.
    """
    h = _nonzero("vision_config hidden_size", _pos_int(vision, "hidden_size"))
    inter = _nonzero("vision_config intermediate_size", _pos_int(vision, "intermediate_size"))
    n = _layers(vision)
    patch = _nonzero("vision_config patch_size", _pos_int(vision, "patch_size"))
    channels = _nonzero("vision_config num_channels", _pos_int(vision, "num_channels", 3))
    merge = _nonzero("spatial_merge_size", _pos_int(config, "spatial_merge_size"))
    layers = config.get("vision_feature_layer", -1)
    feats = len(layers) if isinstance(layers, list | tuple) else 1
    if not feats:
        raise VramkitError("vision_feature_layer must name at least one layer.")
    bias = bool(config.get("multimodal_projector_bias", False))
    v = "vision_tower"

    def vec(name: str, role: str, size: int, **kw: Any) -> None:
        add(name, "vision", role, (size,), kind="vector", **kw)

    # a 4-D conv kernel: kept in the model dtype (kind vector), as for SigLIP
    add(f"{v}.patch_conv.weight", "vision", "patch", (h, channels, patch, patch), kind="vector")
    vec(f"{v}.ln_pre.weight", "pre_norm", h)
    for i in range(n):
        p, kw = f"{v}.transformer.layers.{i}", {"layer": i}
        for nm in ("q_proj", "k_proj", "v_proj", "o_proj"):
            add(f"{p}.attention.{nm}.weight", "vision", nm, (h, h), **kw)
        add(f"{p}.feed_forward.gate_proj.weight", "vision", "gate", (inter, h), **kw)
        add(f"{p}.feed_forward.up_proj.weight", "vision", "up", (inter, h), **kw)
        add(f"{p}.feed_forward.down_proj.weight", "vision", "down", (h, inter), **kw)
        vec(f"{p}.attention_norm.weight", "attn_norm", h, **kw)
        vec(f"{p}.ffn_norm.weight", "ffn_norm", h, **kw)
    m = "multi_modal_projector"
    vec(f"{m}.norm.weight", "projector_norm", h * feats)
    add(f"{m}.patch_merger.merging_layer.weight", "vision", "merger", (h, h * merge * merge))
    add(f"{m}.linear_1.weight", "vision", "projector", (text_hidden, h * feats))
    add(f"{m}.linear_2.weight", "vision", "projector_2", (text_hidden, text_hidden))
    if bias:
        vec(f"{m}.linear_1.bias", "projector_bias", text_hidden)
        vec(f"{m}.linear_2.bias", "projector_2_bias", text_hidden)


def vision_tower(add: Add, config: Mapping[str, Any], *, text_hidden: int) -> None:
    """Add the vision tower + projector of `config` when vramkit knows its layout: Pixtral under
    a Mistral 3 wrapper (``spatial_merge_size`` set). Other towers are left to
    `uncounted_towers`, which names them."""
    vision = _tower_config(config, "vision_config")
    if vision is None:
        return
    if vision.get("model_type") == "pixtral" and config.get("spatial_merge_size") is not None:
        pixtral_mistral3(add, config, vision, text_hidden)


def _vit_estimate(tower: Mapping[str, Any]) -> int | None:
    """Parameters of a plain ViT encoder of the tower's fields: layers × (4·hidden² +
    2·hidden·intermediate), None when the fields are not all whole numbers (an estimate: no
    embeddings, norms, biases or projector)."""
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers")
    vals = [tower.get(k) for k in keys]
    if not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x < 10**6 for x in vals):
        return None
    h, inter, n = vals
    return n * (4 * h * h + 2 * h * inter)


def uncounted_towers(
    config: Mapping[str, Any], inventory: tuple[TensorSpec, ...]
) -> tuple[str, ...]:
    """One note per ``vision_config`` / ``audio_config`` of `config` whose tower the inventory
    does not hold, with the size a plain ViT of its fields would have (labelled an estimate)."""
    counted = any(t.group == "vision" for t in inventory)
    notes = []
    for key, what in (("vision_config", "vision"), ("audio_config", "audio")):
        tower = _tower_config(config, key)
        if tower is None or (what == "vision" and counted):
            continue
        kind = tower.get("model_type") or "unnamed"
        est = _vit_estimate(tower)
        size = (
            f"about {est / 1e9:.2f}B parameters estimated as a plain encoder of its hidden_size, "
            "intermediate_size and num_hidden_layers (no embeddings, norms or projector)"
            if est
            else "its size could not be estimated from its fields"
        )
        notes.append(
            f"the {what} tower ({key} model_type {str(kind)[:40]!r}) and its projector are not "
            f"counted: the weights are the text decoder's alone; {size}."
        )
    return tuple(notes)
