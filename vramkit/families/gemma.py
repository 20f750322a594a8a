"""Tensor inventory of Gemma 1, Gemma 2 and Gemma 3 (sliding + global attention), with Gemma 3's
SigLIP vision tower when the config is the multimodal wrapper. Gemma 1 (``model_type`` gemma,
transformers ``models/gemma/modeling_gemma.py``): the same projections with two RMSNorms a layer
(input, post_attention) and global attention on every layer.

Shapes from transformers (commit-pinned in docs/research/families_i14b.md):
``models/gemma2/modeling_gemma2.py`` and ``models/gemma3/modeling_gemma3.py`` (q [heads*head_dim,
hidden], k/v [kv_heads*head_dim, hidden], o [hidden, heads*head_dim], gate/up/down MLP, four
RMSNorms per layer — input, post_attention, pre_feedforward, post_feedforward — Gemma 3 adds
per-head q_norm/k_norm; tied embeddings), ``models/siglip/modeling_siglip.py`` (the vision tower)
and ``Gemma3MultiModalProjector`` (mm_input_projection_weight [vision_hidden, text_hidden] and
mm_soft_emb_norm [vision_hidden]).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, Repeat, build_every, flat_of
from ._common import (
    GQA_FIELDS,
    HEAD_DIM,
    LAYER_TYPES,
    SLIDING_WINDOW,
    SWA_PATTERN,
    _embedding,
    _gqa,
    _mlp,
    refuse_kv,
    sliding_full_layer_types,
)
from ._record import Family, KvPart
from ._schema import ConfigField, ConfigValues, fields_by_name, read_config
from ._vision import TOWER_FIELDS, VISION_FIELDS

FIELDS = fields_by_name(
    GQA_FIELDS,
    (
        ConfigField("head_dim", HEAD_DIM.kind, HEAD_DIM.meaning, unit="values"),
        ConfigField("tie_word_embeddings", "bool", "the output head reuses the embedding",
                    default=True),
        ConfigField("attention_bias", "bool", "q/k/v projections carry biases", default=False),
        LAYER_TYPES, SWA_PATTERN, SLIDING_WINDOW,
    ),
)  # fmt: skip
"""The config fields Gemma 1/2/3 reads (head_dim required; a Gemma 3 vision tower: ``vision_config``
fields, `vramkit.families._vision.TOWER_FIELDS`)."""

GEMMA_NORMS = (
    "input_layernorm",
    "post_attention_layernorm",
    "pre_feedforward_layernorm",
    "post_feedforward_layernorm",
)


def _layer_kinds(config: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(gemma_layer_types(read_config(FIELDS, config)))


def gemma_layer_types(v: ConfigValues) -> list[str]:
    """Per-layer attention: ``layer_types`` when given; else Gemma 2's alternation (even layers
    sliding, odd full: transformers ``Gemma2Config`` builds ``"sliding_attention" if bool((i + 1)
    % 2)``) or Gemma 3's ``sliding_window_pattern`` (N − 1 sliding layers, then one full)."""
    if v.layer_types or v.sliding_window_pattern:
        return sliding_full_layer_types(v)
    n = v.num_hidden_layers
    if v.model_type == "gemma":  # Gemma 1: global attention everywhere
        return ["full_attention"] * n
    if v.model_type == "gemma2":
        return ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    raise VramkitError(
        "a Gemma 3 config needs layer_types or sliding_window_pattern (which layers are sliding)."
    )


def gemma_kinds(config: Mapping[str, Any]) -> Inventory:
    """Gemma 2 / Gemma 3 text decoder, plus the vision tower and projector of a Gemma 3
    multimodal config (``vision_config`` present).

    Per layer: q, k, v, o (no biases unless ``attention_bias``), Gemma 3 q_norm/k_norm of
    head_dim, gate/up/down of intermediate_size, four RMSNorms of hidden; final norm; embedding
    tied to the head unless ``tie_word_embeddings`` is false.
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    inter = v.intermediate_size
    vocab = v.vocab_size
    tied = v.tie_word_embeddings
    qk_norm = v.model_type.startswith("gemma3")
    gemma1 = v.model_type == "gemma"  # two norms a layer, no sliding layers
    stamper = LayerStamper()
    add = stamper.add
    _embedding(add, vocab, dim)
    for i, _kind in enumerate(gemma_layer_types(v)):
        if stamper.repeat(i, ()):  # sliding and full blocks hold the same tensors
            continue
        kw: dict[str, Any] = {"layer": i}
        _gqa(
            add,
            f"model.layers.{i}.self_attn",
            dim=dim,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            qkv_bias=v.attention_bias,
            qk_norm=qk_norm,
            **kw,
        )
        m = f"model.layers.{i}.mlp"
        _mlp(
            add,
            (f"{m}.gate_proj.weight", f"{m}.up_proj.weight", f"{m}.down_proj.weight"),
            ("dense_mlp", "dense_mlp"),
            inter=inter,
            dim=dim,
            **kw,
        )
        for nm in GEMMA_NORMS[:2] if gemma1 else GEMMA_NORMS:
            add(f"model.layers.{i}.{nm}.weight", "norms", nm, (dim,), kind="vector", **kw)
    add("model.norm.weight", "norms", "final_norm", (dim,), kind="vector")
    if not tied:
        add(
            "lm_head.weight", "lm_head", "head", (vocab, dim), kind="embedding", gguf_class="output"
        )
    vision = read_config(VISION_FIELDS, config).vision_config
    if vision is not None:
        if not isinstance(vision, Mapping):
            raise VramkitError(f"vision_config must be an object of fields, got {vision!r}.")
        siglip_tower(add, vision, text_hidden=dim, repeat=stamper.repeat)
    return stamper.inventory()


gemma_inventory = flat_of(gemma_kinds)


def siglip_tower(
    add: Any, vision: Mapping[str, Any], *, text_hidden: int, repeat: Repeat = build_every
) -> None:
    """SigLIP vision encoder (transformers ``SiglipVisionTransformer``, no pooling head when
    ``vision_use_head`` is false) and the Gemma 3 projector, all in group ``vision``.

    patch_embedding Conv2d [hidden, channels, patch, patch] + bias; position_embedding
    [(image_size / patch)², hidden]; per layer q/k/v/out [hidden, hidden] + biases, layer_norm1/2
    (weight + bias), fc1 [intermediate, hidden] + bias, fc2 [hidden, intermediate] + bias;
    post_layernorm (weight + bias); projector [hidden, text_hidden] and its RMSNorm [hidden].
    """
    t = read_config(TOWER_FIELDS, vision, where="vision_config")
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
    if t.vision_use_head:
        raise VramkitError("a SigLIP pooling head (vision_use_head: true) is not counted.")
    v = "vision_tower.vision_model"

    def vec(name: str, role: str, size: int) -> None:
        add(name, "vision", role, (size,), kind="vector")

    # a 4-D conv kernel: kept in the model dtype (kind vector), as llama.cpp's mmproj does
    add(f"{v}.embeddings.patch_embedding.weight", "vision", "patch", (h, channels, patch, patch),
        kind="vector")  # fmt: skip
    vec(f"{v}.embeddings.patch_embedding.bias", "patch_bias", h)
    add(f"{v}.embeddings.position_embedding.weight", "vision", "position", ((image // patch) ** 2, h),
        kind="embedding")  # fmt: skip
    for i in range(n):
        if repeat(i, "vision"):  # the encoder's blocks alike: built once
            continue
        p = f"{v}.encoder.layers.{i}"
        kw: dict[str, Any] = {"layer": i}
        for nm in ("q_proj", "k_proj", "v_proj", "out_proj"):
            add(f"{p}.self_attn.{nm}.weight", "vision", nm, (h, h), **kw)
            add(f"{p}.self_attn.{nm}.bias", "vision", f"{nm}_bias", (h,), kind="vector", **kw)
        for nm in ("layer_norm1", "layer_norm2"):
            add(f"{p}.{nm}.weight", "vision", nm, (h,), kind="vector", **kw)
            add(f"{p}.{nm}.bias", "vision", f"{nm}_bias", (h,), kind="vector", **kw)
        add(f"{p}.mlp.fc1.weight", "vision", "fc1", (inter, h), **kw)
        add(f"{p}.mlp.fc1.bias", "vision", "fc1_bias", (inter,), kind="vector", **kw)
        add(f"{p}.mlp.fc2.weight", "vision", "fc2", (h, inter), **kw)
        add(f"{p}.mlp.fc2.bias", "vision", "fc2_bias", (h,), kind="vector", **kw)
    vec(f"{v}.post_layernorm.weight", "post_norm", h)
    vec(f"{v}.post_layernorm.bias", "post_norm_bias", h)
    add("multi_modal_projector.mm_input_projection_weight", "vision", "projector",
        (h, text_hidden))  # fmt: skip
    vec("multi_modal_projector.mm_soft_emb_norm.weight", "projector_norm", h)


def gemma_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """Sliding layers min(T, sliding_window) × 2 (K, V) × kv_heads × head_dim; full layers T ×
    the same (Gemma 2 and 3 use one head_dim and KV-head count for both kinds)."""
    v = read_config(FIELDS, cfg)
    types = gemma_layer_types(v)
    _heads = v.num_attention_heads
    # KV heads default to the attention heads, as `gemma_inventory` builds k/v_proj
    kv, hd = v.num_key_value_heads, v.head_dim
    window = v.sliding_window
    n_full = types.count("full_attention")
    if len(types) > n_full and not window:
        raise refuse_kv(cfg, "gemma", f"sliding layers but sliding_window={window!r}")
    return (
        KvPart(
            "sliding",
            len(types) - n_full,
            "window",
            int(window or 0),
            hd,
            vectors=2 * kv,
            kv_heads=kv,
        ),
        KvPart("full", n_full, "full", 1, hd, vectors=2 * kv, kv_heads=kv),
    )


def gemma_from_gguf(cfg: dict[str, Any]) -> None:
    """The pinned loader's sliding-window defaults for a Gemma GGUF, in place.

    gemma3 (src/models/gemma3.cpp L4-L12): sliding layers only when ``sliding_window`` is
    present and > 0 (the converter leaves it out when ``sliding_window_pattern`` is 1,
    conversion/gemma.py L156-157), then ``load_swa_pattern(ml, 6)``: the file's pattern, else
    every 6th layer full; otherwise every layer full. gemma2 (src/models/gemma2.cpp L4-L5, L12):
    ``n_swa = 4096`` unless the file gives ``sliding_window``, pattern 2 unless it gives one.
    (https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/src/models/gemma3.cpp#L4-L12)"""
    arch = cfg.get("gguf_architecture")
    pattern_given = "layer_types" in cfg or "sliding_window_pattern" in cfg
    if arch == "gemma3":
        window = cfg.get("sliding_window")
        if not window:
            cfg.pop("sliding_window", None)
            cfg.pop("sliding_window_pattern", None)
            cfg["layer_types"] = ["full_attention"] * int(cfg.get("num_hidden_layers") or 0)
        elif not pattern_given:
            cfg["sliding_window_pattern"] = 6
    elif arch == "gemma2":
        cfg.setdefault("sliding_window", 4096)
        if not pattern_given:
            cfg["sliding_window_pattern"] = 2


FAMILY = Family(
    name="gemma",
    summary="Gemma 1 / 2 / 3: GQA (2 and 3: sliding + full, four norms a layer); Gemma 3's SigLIP",
    model_types=("gemma", "gemma2", "gemma3", "gemma3_text"),
    gguf_archs={"gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3_text"},
    inventory=gemma_inventory,
    tensor_kinds=gemma_kinds,
    layer_kinds=_layer_kinds,
    kv_parts=gemma_kv_parts,
    config_fields=FIELDS + VISION_FIELDS,
    from_gguf=gemma_from_gguf,
)
