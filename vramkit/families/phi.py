"""Tensor inventory of Phi-1 / Phi-1.5 / Phi-2 (``model_type`` phi, ``PhiForCausalLM``): a
parallel attention + GELU MLP block with LayerNorms and biases everywhere.

transformers ``models/phi/modeling_phi.py``: ``PhiAttention`` q/k/v_proj Linear(hidden,
heads*head_dim, bias=True) (k/v of num_key_value_heads), ``dense`` Linear(heads*head_dim,
hidden, bias=True), head_dim = hidden_size / num_attention_heads, optional ``q_layernorm`` /
``k_layernorm`` LayerNorm(head_dim) when ``qk_layernorm``; ``PhiMLP`` fc1 Linear(hidden,
intermediate, bias=True), fc2 Linear(intermediate, hidden, bias=True); one ``input_layernorm``
(weight + bias) per layer (attention and MLP read the same normed input); ``final_layernorm``
(weight + bias); ``lm_head`` Linear(hidden, vocab, bias=True), untied unless
``tie_word_embeddings``. ``partial_rotary_factor`` (0.4 on Phi-2: RoPE on 32 of the 80 head
dims) changes no tensor and no cache size.

GGUF (llama.cpp @0c1e57098bba, ``conversion/phi.py`` ``Phi2Model``, ``src/llama-arch.cpp``):
arch ``phi2``; q/k/v stay separate (``attn_q``/``attn_k``/``attn_v``), ``dense`` →
``attn_output``, fc1 → ``ffn_up``, fc2 → ``ffn_down``, final_layernorm → ``output_norm``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, flat_of
from ._common import HEADS, HIDDEN, INTER, KV_HEADS, LAYERS, TIED, VOCAB
from ._record import Family, KvPart
from ._schema import ConfigField, ConfigValues, read_config

FIELDS = (
    HIDDEN, LAYERS, HEADS, KV_HEADS, INTER, VOCAB, TIED,
    ConfigField("qk_layernorm", "bool", "per-head q/k LayerNorms", default=False),
)  # fmt: skip
"""The config fields Phi reads (head_dim is always hidden_size / num_attention_heads)."""


def _heads(v: ConfigValues) -> tuple[int, int, int]:
    """(heads, kv_heads, head_dim) with head_dim = hidden / heads (PhiAttention)."""
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv = v.num_key_value_heads
    if dim % heads or heads % kv:
        raise VramkitError(
            f"hidden_size {dim} must be a multiple of num_attention_heads {heads}, and that of "
            f"num_key_value_heads {kv} (Phi's head_dim is hidden_size / num_attention_heads)."
        )
    return heads, kv, dim // heads


def phi_kinds(config: Mapping[str, Any]) -> Inventory:
    """q [heads*hd, hidden], k/v [kv*hd, hidden], dense [hidden, heads*hd], fc1 [inter, hidden],
    fc2 [hidden, inter], all with biases; one LayerNorm a layer; final LayerNorm; biased head."""
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    n_layers = v.num_hidden_layers
    heads, kv, hd = _heads(v)
    inter = v.intermediate_size
    vocab = v.vocab_size
    tied = v.tie_word_embeddings
    qk_norm = v.qk_layernorm
    stamper = LayerStamper()
    add = stamper.add

    def vec(name: str, group: str, role: str, size: int, **kw: Any) -> None:
        add(name, group, role, (size,), kind="vector", **kw)

    add("model.embed_tokens.weight", "embed", "embed", (vocab, dim), kind="embedding",
        gguf_class="token_embd")  # fmt: skip
    for i in range(n_layers):
        if stamper.repeat(i, ()):  # every block alike: built once
            continue
        kw: dict[str, Any] = {"layer": i}
        a, m = f"model.layers.{i}.self_attn", f"model.layers.{i}.mlp"
        for nm, out in (("q", heads * hd), ("k", kv * hd), ("v", kv * hd)):
            add(f"{a}.{nm}_proj.weight", "attention", nm, (out, dim), gguf_class=f"attn_{nm}",
                **kw)  # fmt: skip
            vec(f"{a}.{nm}_proj.bias", "attention", f"{nm}_bias", out, **kw)
        add(f"{a}.dense.weight", "attention", "o", (dim, heads * hd), gguf_class="attn_output",
            **kw)  # fmt: skip
        vec(f"{a}.dense.bias", "attention", "o_bias", dim, **kw)
        if qk_norm:
            for nm in ("q_layernorm", "k_layernorm"):
                vec(f"{a}.{nm}.weight", "norms", nm, hd, **kw)
                vec(f"{a}.{nm}.bias", "norms", f"{nm}_bias", hd, **kw)
        add(f"{m}.fc1.weight", "dense_mlp", "up", (inter, dim), gguf_class="ffn_up", **kw)
        vec(f"{m}.fc1.bias", "dense_mlp", "up_bias", inter, **kw)
        add(f"{m}.fc2.weight", "dense_mlp", "down", (dim, inter), gguf_class="ffn_down", **kw)
        vec(f"{m}.fc2.bias", "dense_mlp", "down_bias", dim, **kw)
        vec(f"model.layers.{i}.input_layernorm.weight", "norms", "attn_norm", dim, **kw)
        vec(f"model.layers.{i}.input_layernorm.bias", "norms", "attn_norm_bias", dim, **kw)
    vec("model.final_layernorm.weight", "norms", "final_norm", dim)
    vec("model.final_layernorm.bias", "norms", "final_norm_bias", dim)
    if not tied:
        add("lm_head.weight", "lm_head", "head", (vocab, dim), kind="embedding",
            gguf_class="output")  # fmt: skip
        vec("lm_head.bias", "lm_head", "head_bias", vocab)
    return stamper.inventory()


phi_inventory = flat_of(phi_kinds)


def phi_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """Full attention on every layer: T × 2 (K, V) × num_key_value_heads × (hidden / heads)."""
    v = read_config(FIELDS, cfg)
    _h, kv, hd = _heads(v)
    return (KvPart("full", v.num_hidden_layers, "full", 1, hd, vectors=2 * kv, kv_heads=kv),)


FAMILY = Family(
    name="phi",
    summary="Phi-1 / 1.5 / 2: parallel attention + GELU MLP, LayerNorms and biases, biased head",
    model_types=("phi",),
    gguf_archs={"phi2": "phi"},
    inventory=phi_inventory,
    tensor_kinds=phi_kinds,
    layer_kinds=lambda cfg: ("full_attention",) * read_config(FIELDS, cfg).num_hidden_layers,
    kv_parts=phi_kv_parts,
    config_fields=FIELDS,
)
