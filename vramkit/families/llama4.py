"""Tensor inventory and KV cache of Llama 4 (Scout 17B-16E, Maverick 17B-128E): interleaved
chunked / global attention (iRoPE), MoE on every ``interleave_moe_layer_step``-th layer with a
shared expert, and the multimodal wrapper's vision tower.

Shapes from transformers ``models/llama4/modeling_llama4.py`` @
000c33fdfde12e1ffafbfcdb3c926df5727a00b6 and the config rules of
``models/llama4/configuration_llama4.py`` @ 008e574391258935f3ecc3035c882e73bbcac419:

- ``Llama4TextAttention``: q [heads·head_dim, hidden], k/v [kv_heads·head_dim, hidden], o
  [hidden, heads·head_dim] (bias when ``attention_bias``); the q/k norm is a weightless L2 norm.
- ``moe_layers`` = ``range(interleave_moe_layer_step - 1, num_hidden_layers, step)`` unless
  given. A MoE layer (``Llama4TextMoe``): router [E, hidden]; experts ``gate_up_proj`` [E, hidden,
  2·intermediate_size] and ``down_proj`` [E, intermediate_size, hidden]; ``shared_expert`` a
  SwiGLU MLP of intermediate_size. Other layers: a SwiGLU MLP of ``intermediate_size_mlp``.
- ``no_rope_layers`` (1 = RoPE, chunked attention; 0 = NoPE, global attention) defaults to
  ``int((i + 1) % no_rope_layer_interval != 0)`` (interval 4); ``layer_types`` are
  ``"chunked_attention" if no_rope else "full_attention"``.
- Vision (``Llama4VisionModel``): ``patch_embedding.linear`` [hidden, channels·patch²] (no bias),
  ``class_embedding`` [hidden], ``positional_embedding_vlm`` [(image/patch)² + 1, hidden],
  ``layernorm_pre`` / ``layernorm_post`` (weight + bias); per layer q/k/v/o [hidden, hidden] +
  biases, fc1 [intermediate, hidden] + bias, fc2 [hidden, intermediate] + bias, two LayerNorms
  (weight + bias); ``vision_adapter.mlp.fc1`` [projector_input_dim, intermediate] and ``fc2``
  [projector_output_dim, projector_output_dim] (no biases); ``multi_modal_projector.linear_1``
  [text hidden, vision_output_dim] (no bias).

llama.cpp (src/models/llama4.cpp @ ggml-org/llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f,
vendored by llama-cpp-python 0.3.36): the same MoE rule ``(i + 1) % n_moe_layer_step == 0``,
``swa_type = LLAMA_SWA_TYPE_CHUNKED``, ``n_swa = 8192`` and "pattern: 3 chunked - 1 full"; its
iSWA cache sizes the chunked layers like any SWA cache (src/llama-kv-cache-iswa.cpp:
``GGML_PAD(std::min(size_base, n_swa*n_seq + n_ubatch), 256)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, Repeat, build_every, flat_of
from ..validate import MAX_LAYERS
from ._common import (
    GQA_FIELDS,
    _embed_norm_head,
    _embedding,
    _gqa,
    _layer_norms,
    _mlp,
    gqa_shape,
    refuse_kv,
)
from ._record import Family, KvPart
from ._schema import ConfigField, ConfigValues, fields_by_name, nested, read_config
from ._vision import TOWER_FIELDS

FIELDS = fields_by_name(
    GQA_FIELDS,
    (
        ConfigField("intermediate_size_mlp", "dim", "width of a dense (non-MoE) layer's MLP",
                    unit="values", default=16384),
        ConfigField("moe_layers", "any", "indices of the MoE layers (list)", default=None),
        ConfigField("interleave_moe_layer_step", "dim", "every N-th layer is MoE",
                    unit="layers", default=1, bound=MAX_LAYERS),
        ConfigField("layer_types", "any", "chunked_attention / full_attention per layer",
                    default=None),
        ConfigField("no_rope_layers", "any", "1 = RoPE (chunked) layer, 0 = NoPE (global)",
                    default=None),
        ConfigField("no_rope_layer_interval", "dim", "every N-th layer is NoPE (global)",
                    unit="layers", default=4, bound=MAX_LAYERS),
        ConfigField("num_local_experts", "count", "routed experts per MoE layer",
                    unit="experts", default=0),
        ConfigField("num_experts_per_tok", "count", "experts routed per token", unit="experts",
                    default=0),
        ConfigField("attention_bias", "bool", "attention projections carry biases",
                    default=False),
        ConfigField("attention_chunk_size", "count", "tokens a chunked layer keeps",
                    unit="tokens", default=None),
        ConfigField("vision_config", "any", "the vision tower's sub-config", default=None),
    ),
)  # fmt: skip
"""The config fields Llama 4's text decoder reads (its vision tower: `VISION_FIELDS`)."""

VISION_FIELDS = fields_by_name(
    TOWER_FIELDS,
    (
        ConfigField("projector_input_dim", "dim", "pixel-shuffle adapter input", unit="values"),
        ConfigField("projector_output_dim", "dim", "pixel-shuffle adapter output",
                    unit="values"),
        ConfigField("vision_output_dim", "dim", "vision features the projector reads",
                    unit="values"),
    ),
)  # fmt: skip
"""The ``vision_config`` fields Llama 4's vision tower reads."""

if TYPE_CHECKING:  # pragma: no cover
    from ..runtimes import KvProfile


def _int_list(values: ConfigValues, key: str, n: int) -> list[int] | None:
    """A list field of non-negative ints, None when absent. transformers reads an empty
    ``no_rope_layers`` as "use the default" (``if self.no_rope_layers``) but an empty
    ``moe_layers`` as "no MoE layer" (``is not None``)."""
    value = values[key]
    if value is None or (value == [] and key == "no_rope_layers"):
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise VramkitError(f"config field {key!r} must be a list of non-negative integers.")
    if key == "no_rope_layers" and len(value) < n:
        raise VramkitError(f"no_rope_layers has {len(value)} entries for {n} layers.")
    return list(value)


def llama4_moe_layers(config: ConfigValues) -> set[int]:
    """Layer indices with a MoE block: ``moe_layers`` if given, else every
    ``interleave_moe_layer_step``-th layer (indices step−1, 2·step−1, …)."""
    n = config.num_hidden_layers
    given = _int_list(config, "moe_layers", n)
    if given is not None:
        bad = [i for i in given if i >= n]
        if bad:
            raise VramkitError(f"moe_layers lists layer {bad[0]}, but the model has {n} layers.")
        return set(given)
    step = config.interleave_moe_layer_step
    return set(range(step - 1, n, step))


def llama4_layer_types(config: ConfigValues) -> list[str]:
    """``chunked_attention`` (RoPE layers) or ``full_attention`` (NoPE layers) per layer:
    ``layer_types`` if given, else from ``no_rope_layers`` / ``no_rope_layer_interval``."""
    n = config.num_hidden_layers
    types = config.layer_types
    if types:
        allowed = {"chunked_attention", "full_attention"}
        if not isinstance(types, list | tuple) or len(types) != n or set(types) - allowed:
            raise VramkitError(
                f"layer_types must list {n} entries of {sorted(allowed)}, got {types!r:.120}."
            )
        return list(types)
    rope = _int_list(config, "no_rope_layers", n)
    if rope is None:
        interval = config.no_rope_layer_interval
        rope = [int((i + 1) % interval != 0) for i in range(n)]
    return ["chunked_attention" if r else "full_attention" for r in rope[:n]]


def llama4_kinds(config: Mapping[str, Any]) -> Inventory:
    """Llama 4 text decoder (see the module docstring for every shape), plus the vision tower,
    its pixel-shuffle adapter and the projector when ``vision_config`` is present."""
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    inter = v.intermediate_size
    inter_mlp = v.intermediate_size_mlp
    vocab = v.vocab_size
    moe = llama4_moe_layers(v)
    experts = v.num_local_experts if moe else 0
    topk = v.num_experts_per_tok if moe else 0
    if moe and not (experts and topk):
        raise VramkitError("a Llama 4 config with MoE layers needs num_local_experts and "
                           "num_experts_per_tok.")  # fmt: skip
    bias = v.attention_bias
    tied = v.tie_word_embeddings
    stamper = LayerStamper()
    add = stamper.add
    _embedding(add, vocab, dim)
    for i in range(v.num_hidden_layers):
        if stamper.repeat(i, i in moe):  # an MoE or a dense block, each built once
            continue
        p = f"model.layers.{i}"
        kw: dict[str, Any] = {"layer": i}
        _gqa(add, f"{p}.self_attn", dim=dim, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
             qkv_bias=bias, o_bias=bias, **kw)  # fmt: skip
        f = f"{p}.feed_forward"
        if i in moe:
            add(f"{f}.router.weight", "router", "gate", (experts, dim), gguf_class="ffn_gate_inp",
                **kw)  # fmt: skip
            e = f"{f}.experts"
            _mlp(add, (f"{e}.gate_up_proj[gate]", f"{e}.gate_up_proj[up]", f"{e}.down_proj"),
                 ("routed_experts_gate_up", "routed_experts_down"), inter=inter, dim=dim,
                 suffix="_exps", count=experts, experts_per_token=topk, **kw)  # fmt: skip
            s = f"{f}.shared_expert"
            _mlp(add, (f"{s}.gate_proj.weight", f"{s}.up_proj.weight", f"{s}.down_proj.weight"),
                 ("shared_experts", "shared_experts"), inter=inter, dim=dim, suffix="_shexp",
                 **kw)  # fmt: skip
        else:
            if not inter_mlp:
                raise VramkitError("a dense Llama 4 layer needs intermediate_size_mlp > 0.")
            _mlp(add, (f"{f}.gate_proj.weight", f"{f}.up_proj.weight", f"{f}.down_proj.weight"),
                 ("dense_mlp", "dense_mlp"), inter=inter_mlp, dim=dim, **kw)  # fmt: skip
        _layer_norms(add, p, dim, **kw)
    _embed_norm_head(add, vocab, dim, tied)
    vision = v.vision_config
    if vision is not None:
        if not isinstance(vision, Mapping):
            raise VramkitError(f"vision_config must be an object of fields, got {vision!r:.80}.")
        llama4_vision_tower(add, vision, text_hidden=dim, repeat=stamper.repeat)
    return stamper.inventory()


llama4_inventory = flat_of(llama4_kinds)


def llama4_vision_tower(
    add: Any, vision: Mapping[str, Any], *, text_hidden: int, repeat: Repeat = build_every
) -> None:
    """``Llama4VisionModel`` + ``Llama4MultiModalProjector`` (shapes in the module docstring),
    all in group ``vision``; matrices as matrices, biases / norms / embeddings as vectors
    (`repeat`: a `LayerStamper`'s, its blocks alike)."""
    t = read_config(VISION_FIELDS, vision, where="vision_config")
    h = t.hidden_size
    inter = t.intermediate_size
    patch = t.patch_size
    image = t.image_size
    channels = t.num_channels
    proj_in = t.projector_input_dim
    proj_out = t.projector_output_dim
    out_dim = t.vision_output_dim
    if image % patch:
        raise VramkitError(
            f"vision_config image_size {image} must be a multiple of patch_size {patch}."
        )
    v = "vision_model"

    def vec(name: str, role: str, size: int, **kw: Any) -> None:
        add(name, "vision", role, (size,), kind="vector", **kw)

    add(f"{v}.patch_embedding.linear.weight", "vision", "patch", (h, channels * patch * patch))
    vec(f"{v}.class_embedding", "class_embedding", h)
    add(f"{v}.positional_embedding_vlm", "vision", "position", ((image // patch) ** 2 + 1, h),
        kind="embedding")  # fmt: skip
    for nm in ("layernorm_pre", "layernorm_post"):
        vec(f"{v}.{nm}.weight", nm, h)
        vec(f"{v}.{nm}.bias", f"{nm}_bias", h)
    for i in range(t.num_hidden_layers):
        if repeat(i, "vision"):
            continue
        p = f"{v}.model.layers.{i}"
        kw: dict[str, Any] = {"layer": i}
        for nm in ("q_proj", "k_proj", "v_proj", "o_proj"):
            add(f"{p}.self_attn.{nm}.weight", "vision", nm, (h, h), **kw)
            vec(f"{p}.self_attn.{nm}.bias", f"{nm}_bias", h, **kw)
        add(f"{p}.mlp.fc1.weight", "vision", "fc1", (inter, h), **kw)
        vec(f"{p}.mlp.fc1.bias", "fc1_bias", inter, **kw)
        add(f"{p}.mlp.fc2.weight", "vision", "fc2", (h, inter), **kw)
        vec(f"{p}.mlp.fc2.bias", "fc2_bias", h, **kw)
        for nm in ("input_layernorm", "post_attention_layernorm"):
            vec(f"{p}.{nm}.weight", nm, h, **kw)
            vec(f"{p}.{nm}.bias", f"{nm}_bias", h, **kw)
    add(f"{v}.vision_adapter.mlp.fc1.weight", "vision", "adapter_fc1", (proj_in, inter))
    add(f"{v}.vision_adapter.mlp.fc2.weight", "vision", "adapter_fc2", (proj_out, proj_out))
    add("multi_modal_projector.linear_1.weight", "vision", "projector", (text_hidden, out_dim))


def llama4_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """Chunked layers keep at most ``attention_chunk_size`` tokens of K and V (rule ``window``:
    llama.cpp's iSWA cache, vLLM's ``ChunkedLocalAttentionSpec`` page class ``chunked``); global
    (NoPE) layers keep T. Each entry 2 (K, V) × kv_heads × head_dim."""
    v = read_config(FIELDS, cfg)
    types = llama4_layer_types(v)
    kv, hd = gqa_shape(v)
    n_chunked = types.count("chunked_attention")
    chunk = v.attention_chunk_size
    if n_chunked and not chunk:
        raise refuse_kv(cfg, "llama4", f"{n_chunked} chunked layers but attention_chunk_size="
                        f"{chunk!r}")  # fmt: skip
    return (
        KvPart(
            "chunked",
            n_chunked,
            "window",
            int(chunk or 0),
            hd,
            vectors=2 * kv,
            kv_heads=kv,
            paging="chunked",
        ),
        KvPart("full", len(types) - n_chunked, "full", 1, hd, vectors=2 * kv, kv_heads=kv),
    )


def _notes(cfg: Mapping[str, Any], kv: KvProfile, has_indexer: bool) -> tuple[str, ...]:
    # vllm/envs.py: VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE defaults to "1" in newer
    # vLLM (code-index ids 52119304068, 66428353334) and "0" in older releases ("causes a latency
    # regression. For this reason, we disable it by default", code-index id 6351456)
    if kv.has("chunked_local_hybrid_manager"):
        return (
            "vLLM pages Llama 4's chunked layers as chunked-local only with the hybrid KV-cache "
            "manager (VLLM_ALLOW_CHUNKED_LOCAL_ATTN_WITH_HYBRID_KV_CACHE=1, the default of newer "
            "vLLM; older releases default to 0 and then keep the whole context on every layer).",
        )
    if kv.has("chunked_local_hybrid_ratio"):
        return (
            "SGLang keeps Llama 4's chunked layers in a separate pool only with "
            "--hybrid-kvcache-ratio (not read from its code here); the chunked layers are "
            "counted at attention_chunk_size tokens.",
        )
    return ()


def llama4_from_gguf(cfg: dict[str, Any]) -> None:
    """Llama 4 GGUF fields → transformers' names, in place. llama.cpp's converter
    (conversion/llama.py ``Llama4Model`` @0c1e57098bba) writes ``intermediate_size_mlp`` as
    feed_forward_length and the expert ``intermediate_size`` as expert_feed_forward_length; its
    loader (src/models/llama4.cpp) chunks with ``n_swa = 8192`` every layer but each 4th
    ("pattern: 3 chunked - 1 full") unless ``sliding_window`` is 0 (then no chunking)."""
    if "intermediate_size" in cfg:
        cfg["intermediate_size_mlp"] = cfg.pop("intermediate_size")
    if "moe_intermediate_size" in cfg:
        cfg["intermediate_size"] = cfg.pop("moe_intermediate_size")
    if "num_experts" in cfg:
        cfg["num_local_experts"] = cfg.pop("num_experts")
    if cfg.pop("sliding_window", None) == 0:
        cfg["layer_types"] = ["full_attention"] * int(cfg.get("num_hidden_layers") or 0)
    else:
        cfg["attention_chunk_size"] = 8192
        cfg["no_rope_layer_interval"] = 4


FAMILY = Family(
    name="llama4",
    summary="Llama 4: chunked (RoPE) + global (NoPE) GQA, MoE with a shared expert, vision tower",
    model_types=("llama4", "llama4_text"),
    gguf_archs={"llama4": "llama4_text"},
    inventory=llama4_inventory,
    tensor_kinds=llama4_kinds,
    layer_kinds=lambda cfg: tuple(llama4_layer_types(read_config(FIELDS, cfg))),
    kv_parts=llama4_kv_parts,
    config_fields=FIELDS + nested("vision_config", VISION_FIELDS),
    kv_notes=_notes,
    from_gguf=llama4_from_gguf,
)
