"""Tensor inventory of Phi-3 / Phi-3.5 / Phi-4 (``model_type`` phi3): a GQA decoder with fused
projections.

transformers ``models/phi3/modeling_phi3.py`` (commit-pinned in docs/research/families_i14b.md):
``Phi3Attention.qkv_proj`` Linear(hidden, heads*head_dim + 2*kv_heads*head_dim, bias=False),
``o_proj`` Linear(heads*head_dim, hidden); ``Phi3MLP.gate_up_proj`` Linear(hidden,
2*intermediate, bias=False), ``down_proj`` Linear(intermediate, hidden); input and
post_attention RMSNorms; untied embedding and head unless ``tie_word_embeddings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model.inventory import Inventory, LayerStamper, flat_of
from ._common import (
    GQA_FIELDS,
    SLIDING_WINDOW,
    _embed_norm_head,
    _embedding,
    _layer_norms,
    gqa_shape,
)
from ._record import Family, KvPart
from ._schema import read_config

FIELDS = (*GQA_FIELDS, SLIDING_WINDOW)
"""The config fields Phi-3 reads."""


def phi3_kinds(config: Mapping[str, Any]) -> Inventory:
    """qkv [(heads + 2*kv_heads)*head_dim, hidden], o [hidden, heads*head_dim], gate_up
    [2*inter, hidden], down [hidden, inter]; head_dim = hidden/heads unless ``head_dim`` is set."""
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    n_layers = v.num_hidden_layers
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    inter = v.intermediate_size
    vocab = v.vocab_size
    tied = v.tie_word_embeddings
    stamper = LayerStamper()
    add = stamper.add
    _embedding(add, vocab, dim)
    for i in range(n_layers):
        if stamper.repeat(i, ()):  # every block alike: built once
            continue
        kw: dict[str, Any] = {"layer": i}
        a, m = f"model.layers.{i}.self_attn", f"model.layers.{i}.mlp"
        add(f"{a}.qkv_proj.weight", "attention", "qkv", ((heads + 2 * kv_heads) * head_dim, dim),
            gguf_class="attn_qkv", **kw)  # fmt: skip
        add(f"{a}.o_proj.weight", "attention", "o", (dim, heads * head_dim),
            gguf_class="attn_output", **kw)  # fmt: skip
        add(f"{m}.gate_up_proj.weight", "dense_mlp", "gate_up", (2 * inter, dim),
            gguf_class="ffn_up", **kw)  # fmt: skip
        add(f"{m}.down_proj.weight", "dense_mlp", "down", (dim, inter), gguf_class="ffn_down", **kw)
        _layer_norms(add, f"model.layers.{i}", dim, **kw)
    _embed_norm_head(add, vocab, dim, tied)
    return stamper.inventory()


phi3_inventory = flat_of(phi3_kinds)


def phi3_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """GQA on every layer, T × 2 × kv_heads × head_dim; with ``sliding_window`` set
    (Phi-3-mini-4k: 2047) every layer keeps only that window (transformers Phi3Attention passes
    ``sliding_window`` to every layer; Phi-4: null, full attention)."""
    v = read_config(FIELDS, cfg)
    kv, hd = gqa_shape(v)
    n = v.num_hidden_layers
    window = v.sliding_window
    if window:
        return (KvPart("sliding", n, "window", window, hd, vectors=2 * kv, kv_heads=kv),)
    return (KvPart("full", n, "full", 1, hd, vectors=2 * kv, kv_heads=kv),)


def _phi3_kinds(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    v = read_config(FIELDS, cfg)
    kind = "sliding_attention" if v.sliding_window else "full_attention"
    return (kind,) * v.num_hidden_layers


def phi3_from_gguf(cfg: dict[str, Any]) -> None:
    """The pinned loader's reading of a phi3 GGUF's ``sliding_window``, in place: the converter
    writes 0 when the config has none ("use zero value of sliding_window to distinguish Phi-4
    from other PHI3 models", conversion/phi.py L169-173), and the loader runs every layer with
    full attention whatever the value ("Phi SWA is currently disabled", n_swa = 0,
    https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/src/models/phi3.cpp#L13-L24).
    So the window is dropped: a GGUF is sized as llama.cpp runs it (a full cache)."""
    cfg.pop("sliding_window", None)


FAMILY = Family(
    name="phi3",
    summary="Phi-3 / Phi-3.5 / Phi-4: GQA decoder with fused qkv and gate_up projections",
    model_types=("phi3",),
    gguf_archs={"phi3": "phi3"},
    inventory=phi3_inventory,
    tensor_kinds=phi3_kinds,
    layer_kinds=_phi3_kinds,
    kv_parts=phi3_kv_parts,
    from_gguf=phi3_from_gguf,
    config_fields=FIELDS,
)
