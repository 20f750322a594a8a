"""Vision towers of multimodal wrappers whose decoder is read through ``text_config`` (Mistral 3's
Pixtral encoder and patch-merging projector, LLaVA's CLIP encoder and MLP projector), and the note
for towers vramkit cannot count.

`vision_tower` adds the tower a family's inventory should hold (group ``vision``, as Gemma 3's
SigLIP and Llama 4's encoder are counted); `uncounted_towers` names, with a labelled estimate,
every ``vision_config`` / ``audio_config`` the inventory left out, so no face drops it silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import VramkitError
from ..model.inventory import Repeat, build_every
from ..model.tensors import TensorSpec
from ..validate import MAX_LAYERS
from ._common import MAX_CHANNELS
from ._schema import ConfigField, nested, read_config

Add = Callable[..., None]
VC = "vision_config"
"""The sub-config a tower's fields sit in, named in a refusal."""
MAX_MERGE = 64
"""Largest ``spatial_merge_size`` read (Pixtral merges 2 × 2 patches; the merging layer's input
is hidden × merge², so an unbounded merge would be an unbounded tensor)."""

TOWER_FIELDS = (
    ConfigField("hidden_size", "dim", "encoder width", unit="values"),
    ConfigField("intermediate_size", "dim", "encoder MLP width", unit="values"),
    ConfigField("num_hidden_layers", "dim", "encoder layers", unit="layers", bound=MAX_LAYERS),
    ConfigField("patch_size", "dim", "side of one image patch", unit="pixels"),
    ConfigField("image_size", "dim", "side of the input image", unit="pixels"),
    ConfigField("num_channels", "dim", "image channels", unit="channels", default=3,
                bound=MAX_CHANNELS),
    ConfigField("vision_use_head", "bool", "SigLIP pooling head (not counted)", default=False),
)  # fmt: skip
"""The fields of a ``vision_config`` a ViT tower reads (read with ``where="vision_config"``)."""

PROJECTOR_FIELDS = (
    ConfigField("spatial_merge_size", "dim", "Pixtral: patches merged per side", default=2,
                bound=MAX_MERGE),
    ConfigField("vision_feature_layer", "any", "encoder layer(s) the projector reads (int or "
                "list)", default=-1),
    ConfigField("multimodal_projector_bias", "bool", "projector linears carry biases",
                default=None),
    ConfigField("vision_config", "any", "the vision tower's sub-config", default=None),
    ConfigField("audio_config", "any", "an audio tower's sub-config (noted, not counted)",
                default=None),
    ConfigField("wrapper_model_type", "str", "model_type of a multimodal wrapper read through "
                "text_config", default=""),
)  # fmt: skip
"""The wrapper's own fields the towers and projectors read."""

MOONVIT_FIELDS = (
    ConfigField("init_pos_emb_height", "dim", "MoonViT: rows of the learned position table",
                unit="patches", default=64, bound=4096),
    ConfigField("init_pos_emb_width", "dim", "MoonViT: columns of the learned position table",
                unit="patches", default=64, bound=4096),
    ConfigField("merge_kernel_size", "any", "MoonViT: patches merged (rows, columns)",
                default=[2, 2]),
)  # fmt: skip
"""The MoonViT (Kimi-VL) fields beside `TOWER_FIELDS`."""

VISION_FIELDS = PROJECTOR_FIELDS + nested(VC, TOWER_FIELDS + MOONVIT_FIELDS)
"""Every field a counted tower may read, for the field lists (`Family.config_fields`)."""


def _tower_config(config: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    tower = read_config(PROJECTOR_FIELDS, config)[key]
    if tower is not None and not isinstance(tower, Mapping):
        raise VramkitError(f"{key} must be an object of fields, got {tower!r:.80}.")
    return tower


def pixtral_mistral3(
    add: Add,
    config: Mapping[str, Any],
    vision: Mapping[str, Any],
    text_hidden: int,
    repeat: Repeat = build_every,
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
    t = read_config(TOWER_FIELDS, vision, where=VC)
    w = read_config(PROJECTOR_FIELDS, config)
    h = t.hidden_size
    inter = t.intermediate_size
    n = t.num_hidden_layers
    patch = t.patch_size
    channels = t.num_channels
    merge = w.spatial_merge_size
    feats = _feature_layers(config)
    bias = bool(w.multimodal_projector_bias)
    v = "vision_tower"

    def vec(name: str, role: str, size: int, **kw: Any) -> None:
        add(name, "vision", role, (size,), kind="vector", **kw)

    # a 4-D conv kernel: kept in the model dtype (kind vector), as for SigLIP
    add(f"{v}.patch_conv.weight", "vision", "patch", (h, channels, patch, patch), kind="vector")
    vec(f"{v}.ln_pre.weight", "pre_norm", h)
    for i in range(n):
        if repeat(i, "vision"):  # the encoder's blocks alike: built once
            continue
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


def clip_llava(
    add: Add,
    config: Mapping[str, Any],
    vision: Mapping[str, Any],
    text_hidden: int,
    repeat: Repeat = build_every,
) -> None:
    """CLIP vision encoder (transformers ``CLIPVisionModel``, no ``visual_projection``: LLaVA
    builds the tower with ``AutoModel.from_config(vision_config)``) and the LLaVA projector
    (``LlavaMultiModalProjector``), group ``vision``.

    ``class_embedding`` [hidden]; ``patch_embedding`` Conv2d(channels, hidden, patch,
    bias=False); ``position_embedding`` [(image / patch)² + 1, hidden]; ``pre_layrnorm`` and
    ``post_layernorm`` (weight + bias); per layer q/k/v/out_proj [hidden, hidden] + biases,
    layer_norm1/2 (weight + bias), fc1 [intermediate, hidden] + bias, fc2 [hidden, intermediate]
    + bias — every layer is stored even when ``vision_feature_layer`` reads an earlier one.
    Projector: ``linear_1`` [text_hidden, hidden · feature layers], ``linear_2`` [text_hidden,
    text_hidden], biased unless ``multimodal_projector_bias`` is false (LlavaConfig default
    true).
    """
    t = read_config(TOWER_FIELDS, vision, where=VC)
    h = t.hidden_size
    inter = t.intermediate_size
    n = t.num_hidden_layers
    patch = t.patch_size
    image = t.image_size
    channels = t.num_channels
    if image % patch:
        raise VramkitError(
            f"vision_config image_size {image} must be a multiple of patch_size {patch}."
        )
    feats = _feature_layers(config)
    bias = read_config(PROJECTOR_FIELDS, config).multimodal_projector_bias
    bias = True if bias is None else bias
    v = "vision_tower.vision_model"

    def vec(name: str, role: str, size: int, **kw: Any) -> None:
        add(name, "vision", role, (size,), kind="vector", **kw)

    vec(f"{v}.embeddings.class_embedding", "class_embedding", h)
    add(f"{v}.embeddings.patch_embedding.weight", "vision", "patch", (h, channels, patch, patch),
        kind="vector")  # fmt: skip
    add(f"{v}.embeddings.position_embedding.weight", "vision", "position",
        ((image // patch) ** 2 + 1, h), kind="embedding")  # fmt: skip
    for nm in ("pre_layrnorm", "post_layernorm"):
        vec(f"{v}.{nm}.weight", nm, h)
        vec(f"{v}.{nm}.bias", f"{nm}_bias", h)
    for i in range(n):
        if repeat(i, "vision"):  # the encoder's blocks alike: built once
            continue
        p, kw = f"{v}.encoder.layers.{i}", {"layer": i}
        for nm in ("q_proj", "k_proj", "v_proj", "out_proj"):
            add(f"{p}.self_attn.{nm}.weight", "vision", nm, (h, h), **kw)
            vec(f"{p}.self_attn.{nm}.bias", f"{nm}_bias", h, **kw)
        for nm in ("layer_norm1", "layer_norm2"):
            vec(f"{p}.{nm}.weight", nm, h, **kw)
            vec(f"{p}.{nm}.bias", f"{nm}_bias", h, **kw)
        add(f"{p}.mlp.fc1.weight", "vision", "fc1", (inter, h), **kw)
        vec(f"{p}.mlp.fc1.bias", "fc1_bias", inter, **kw)
        add(f"{p}.mlp.fc2.weight", "vision", "fc2", (h, inter), **kw)
        vec(f"{p}.mlp.fc2.bias", "fc2_bias", h, **kw)
    m = "multi_modal_projector"
    add(f"{m}.linear_1.weight", "vision", "projector", (text_hidden, h * feats))
    add(f"{m}.linear_2.weight", "vision", "projector_2", (text_hidden, text_hidden))
    if bias:
        vec(f"{m}.linear_1.bias", "projector_bias", text_hidden)
        vec(f"{m}.linear_2.bias", "projector_2_bias", text_hidden)


def moonvit_kimi_vl(
    add: Add,
    config: Mapping[str, Any],
    vision: Mapping[str, Any],
    text_hidden: int,
    repeat: Repeat = build_every,
) -> None:
    """MoonViT encoder + Kimi-VL projector (vLLM ``model_executor/models/moonvit.py`` @
    97d4c384797422487d141f4f9d0289a39802f92f, ``MoonVitPretrainedModel``, ``MoonVitVLProjector``),
    group ``vision``.

    ``patch_embed.proj`` Conv2dLayer(3, hidden, patch, stride=patch) with bias; ``patch_embed.
    pos_emb.weight`` [init_pos_emb_height, init_pos_emb_width, hidden]; per block ``norm0`` and
    ``norm1`` LayerNorms (weight + bias), ``wqkv`` [3·hidden, hidden] and ``wo`` [hidden, hidden]
    with biases (``attn_bias: True``), ``mlp.fc0`` [intermediate, hidden] and ``mlp.fc1``
    [hidden, intermediate] with biases; ``encoder.final_layernorm`` (weight + bias); 2-D rope
    (no weights). Projector: ``pre_norm`` LayerNorm(hidden), ``linear_1`` [hidden·k², hidden·k²]
    and ``linear_2`` [text_hidden, hidden·k²], both biased, k² = Π merge_kernel_size. The linears
    are ``ReplicatedLinear`` at that commit, yet the llm-d sweep's vLLM v0.19 load of Kimi-VL at
    TP 2 (15.53 GiB) is 1.0 % above a sharded tower and 1.6 % below a replicated one: sizing
    shards it like the decoder (the nearer), an open question labelled here.
    """
    t = read_config(TOWER_FIELDS + MOONVIT_FIELDS, vision, where=VC)
    h, inter, n, patch = t.hidden_size, t.intermediate_size, t.num_hidden_layers, t.patch_size
    ph, pw = t.init_pos_emb_height, t.init_pos_emb_width
    kernel = t.merge_kernel_size
    if (
        not isinstance(kernel, list | tuple)
        or len(kernel) != 2
        or not all(
            isinstance(k, int) and not isinstance(k, bool) and 0 < k <= MAX_MERGE for k in kernel
        )
    ):
        raise VramkitError(
            f"{VC}.merge_kernel_size must be two whole numbers 1..{MAX_MERGE}, got {kernel!r:.60}."
        )
    merged = h * kernel[0] * kernel[1]
    v, m = "vision_tower", "multi_modal_projector"

    def vec(name: str, role: str, size: int, **kw: Any) -> None:
        add(name, "vision", role, (size,), kind="vector", **kw)

    add(f"{v}.patch_embed.proj.weight", "vision", "patch", (h, 3, patch, patch), kind="vector")
    vec(f"{v}.patch_embed.proj.bias", "patch_bias", h)
    add(f"{v}.patch_embed.pos_emb.weight", "vision", "position", (ph, pw, h), kind="vector")
    for i in range(n):
        if repeat(i, "vision"):  # the encoder's blocks alike: built once
            continue
        p, kw = f"{v}.encoder.blocks.{i}", {"layer": i}
        for nm in ("norm0", "norm1"):
            vec(f"{p}.{nm}.weight", nm, h, **kw)
            vec(f"{p}.{nm}.bias", f"{nm}_bias", h, **kw)
        add(f"{p}.wqkv.weight", "vision", "qkv", (3 * h, h), **kw)
        vec(f"{p}.wqkv.bias", "qkv_bias", 3 * h, **kw)
        add(f"{p}.wo.weight", "vision", "o", (h, h), **kw)
        vec(f"{p}.wo.bias", "o_bias", h, **kw)
        add(f"{p}.mlp.fc0.weight", "vision", "up", (inter, h), **kw)
        vec(f"{p}.mlp.fc0.bias", "up_bias", inter, **kw)
        add(f"{p}.mlp.fc1.weight", "vision", "down", (h, inter), **kw)
        vec(f"{p}.mlp.fc1.bias", "down_bias", h, **kw)
    vec(f"{v}.encoder.final_layernorm.weight", "post_norm", h)
    vec(f"{v}.encoder.final_layernorm.bias", "post_norm_bias", h)
    vec(f"{m}.pre_norm.weight", "projector_norm", h)
    vec(f"{m}.pre_norm.bias", "projector_norm_bias", h)
    add(f"{m}.linear_1.weight", "vision", "projector", (merged, merged))
    vec(f"{m}.linear_1.bias", "projector_bias", merged)
    add(f"{m}.linear_2.weight", "vision", "projector_2", (text_hidden, merged))
    vec(f"{m}.linear_2.bias", "projector_2_bias", text_hidden)


def _feature_layers(config: Mapping[str, Any]) -> int:
    """How many encoder layers the projector reads (``vision_feature_layer``: one int or a list)."""
    layers = read_config(PROJECTOR_FIELDS, config).vision_feature_layer
    feats = len(layers) if isinstance(layers, list | tuple) else 1
    if not feats:
        raise VramkitError("vision_feature_layer must name at least one layer.")
    return feats


#: (wrapper model_type, vision_config model_type) → the tower + projector builder
TOWERS: dict[tuple[str, str], Callable[..., None]] = {
    ("mistral3", "pixtral"): pixtral_mistral3,
    ("llava", "clip_vision_model"): clip_llava,
    ("kimi_vl", "moonvit"): moonvit_kimi_vl,
}


def vision_tower(
    add: Add, config: Mapping[str, Any], *, text_hidden: int, repeat: Repeat = build_every
) -> None:
    """Add the vision tower + projector of `config` when vramkit knows the wrapper's layout
    (`TOWERS`: Mistral 3 + Pixtral, LLaVA + CLIP, Kimi-VL + MoonViT). Other towers are left to `uncounted_towers`,
    which names them. `repeat`: the builder's `LayerStamper.repeat` (the encoder's blocks
    built once)."""
    vision = _tower_config(config, "vision_config")
    if vision is None:
        return
    build = TOWERS.get((str(config.get("wrapper_model_type")), str(vision.get("model_type"))))
    if build is not None:
        build(add, config, vision, text_hidden, repeat)


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


def uncounted_towers(config: Mapping[str, Any], inventory: Iterable[TensorSpec]) -> tuple[str, ...]:
    """One note per ``vision_config`` / ``audio_config`` of `config` whose tower the inventory
    (its tensors, or one of each kind) does not hold, with the size a plain ViT of its fields would have (labelled an estimate)."""
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
