"""Tensor inventory of Qwen3-Next (Gated DeltaNet linear attention + gated full attention, MoE)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import VramkitError
from ..model.inventory import Inventory, LayerStamper, flat_of
from ..model.tensors import TensorSpec
from ._common import (
    GQA_FIELDS,
    _embed_norm_head,
    _embedding,
    _gqa,
    _layer_norms,
    _mlp,
    _nonzero,
    _routed,
    gqa_shape,
    mtp_layers,
    refuse_kv,
)
from ._record import Config, Family, GgufPart, KvPart
from ._schema import REQUIRED, ConfigField, fields_by_name, read_config
from .recurrent import FIELDS as RECURRENT_FIELDS
from .recurrent import (
    QWEN3NEXT_SSM_KEYS,
    attention_layers,
    layer_kinds,
    qwen3next_linear_fields,
    recurrent_state,
)

_LINEAR = tuple(
    replace(f, default=REQUIRED) for f in RECURRENT_FIELDS if f.name.startswith("linear_")
)
FIELDS = fields_by_name(
    GQA_FIELDS,
    _LINEAR,
    (
        ConfigField("intermediate_size", "count", "width of a dense (mlp_only) layer's MLP",
                    unit="values", default=0),
        ConfigField("num_experts", "count", "routed experts per MoE layer (0: dense)",
                    unit="experts", default=0),
        ConfigField("num_experts_per_tok", "count", "experts routed per token", unit="experts",
                    default=0),
        ConfigField("moe_intermediate_size", "count", "width of one routed expert",
                    unit="values", default=0),
        ConfigField("shared_expert_intermediate_size", "count", "width of the shared expert "
                    "(0: none)", unit="values", default=0),
        ConfigField("decoder_sparse_step", "count", "every N-th layer is MoE (0 or absent: 1)",
                    unit="layers", default=0),
        ConfigField("mlp_only_layers", "any", "layers with a dense MLP instead of MoE (list)",
                    default=None),
        ConfigField("num_nextn_predict_layers", "layers", "MTP layers after the main stack",
                    keys=("num_nextn_predict_layers", "mtp_num_hidden_layers"), unit="layers",
                    default=0),
        ConfigField("attention_bias", "bool", "attention projections carry biases",
                    default=False),
    ),
)  # fmt: skip
"""The config fields Qwen3-Next reads (layer kinds and the recurrent state: `recurrent.FIELDS`)."""

if TYPE_CHECKING:  # pragma: no cover
    from ..runtimes import KvProfile

# --------------------------------------------------------------------------- Qwen3-Next


def qwen3_next_kinds(config: Mapping[str, Any]) -> Inventory:
    """Qwen3-Next (hybrid Gated DeltaNet + gated attention, high-sparsity MoE with a shared expert).

    Shapes as HF transformers ``modeling_qwen3_next.py``. Linear-attention layers
    (``Qwen3NextGatedDeltaNet``): in_proj_qkvz [2·key_dim + 2·value_dim, hidden], in_proj_ba
    [2·n_v, hidden], conv1d [conv_dim, 1, kernel] with conv_dim = 2·key_dim + value_dim, dt_bias and
    A_log [n_v], gated RMSNorm [head_v_dim], out_proj [hidden, value_dim]; key_dim = n_k·d_k,
    value_dim = n_v·d_v. Full-attention layers (``Qwen3NextAttention``): q_proj
    [2·heads·head_dim, hidden] (query + output gate), k/v [kv_heads·head_dim, hidden], o_proj,
    q_norm/k_norm [head_dim]. MoE (``Qwen3NextSparseMoeBlock``): router [E, hidden], E routed
    experts of moe_intermediate_size, one shared expert of shared_expert_intermediate_size and
    shared_expert_gate [1, hidden]; ``mlp_only_layers`` / ``decoder_sparse_step`` layers get a dense
    MLP of intermediate_size. MTP (``num_nextn_predict_layers`` / ``mtp_num_hidden_layers``, not in
    transformers; vLLM ``qwen3_next_mtp.py``): fc [hidden, 2·hidden], two pre-fc norms, one
    full-attention MoE layer and a final norm per MTP layer.
    """
    v = read_config(FIELDS, config)
    dim = v.hidden_size
    heads = v.num_attention_heads
    kv_heads = v.num_key_value_heads
    head_dim = v.head_dim
    nk = v.linear_num_key_heads
    nv = v.linear_num_value_heads
    dk = v.linear_key_head_dim
    dv = v.linear_value_head_dim
    kernel = v.linear_conv_kernel_dim
    vocab = v.vocab_size
    experts = v.num_experts
    topk = v.num_experts_per_tok
    moe_inter = v.moe_intermediate_size
    shared_inter = v.shared_expert_intermediate_size
    inter = v.intermediate_size
    step = v.decoder_sparse_step or 1
    mlp_only = set(v.mlp_only_layers or ())
    n_mtp = v.num_nextn_predict_layers
    tied = v.tie_word_embeddings
    if experts and (not topk or not moe_inter):
        raise VramkitError("an MoE Qwen3-Next config needs num_experts_per_tok and "
                           "moe_intermediate_size.")  # fmt: skip
    kinds = layer_kinds(config)
    bad = sorted({k for k in kinds if k not in ("attention", "recurrent")})
    if bad:
        raise VramkitError(f"Qwen3-Next layers are linear or full attention; config gives {bad}.")
    key_dim, value_dim = nk * dk, nv * dv
    conv_dim = 2 * key_dim + value_dim
    stamper = LayerStamper()
    add = stamper.add

    def moe_at(i: int) -> bool:
        return bool(experts) and i not in mlp_only and (i + 1) % step == 0

    def attention(p: str, kw: dict[str, Any]) -> None:
        _gqa(
            add,
            f"{p}.self_attn",
            dim=dim,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            q_mult=2,  # query and output gate from one projection
            qkv_bias=v.attention_bias,
            o_bias=v.attention_bias,
            qk_norm=True,
            **kw,
        )

    def mlp(p: str, i: int, kw: dict[str, Any]) -> None:
        m = f"{p}.mlp"
        if moe_at(i):
            add(f"{m}.gate.weight", "router", "gate", (experts, dim), gguf_class="ffn_gate_inp",
                **kw)  # fmt: skip
            _routed(add, m, experts=experts, topk=topk, inter=moe_inter, dim=dim, **kw)
            if shared_inter:
                s = f"{m}.shared_expert"
                _mlp(
                    add,
                    (f"{s}.gate_proj.weight", f"{s}.up_proj.weight", f"{s}.down_proj.weight"),
                    ("shared_experts", "shared_experts"),
                    inter=shared_inter,
                    dim=dim,
                    suffix="_shexp",
                    **kw,
                )
                add(f"{m}.shared_expert_gate.weight", "router", "shared_gate", (1, dim),
                    gguf_class="ffn_gate_inp_shexp", **kw)  # fmt: skip
        else:
            _mlp(
                add,
                (f"{m}.gate_proj.weight", f"{m}.up_proj.weight", f"{m}.down_proj.weight"),
                ("dense_mlp", "dense_mlp"),
                inter=_nonzero("intermediate_size", inter),
                dim=dim,
                **kw,
            )

    _embedding(add, vocab, dim)
    for i, kind in enumerate(kinds):
        if stamper.repeat(i, (kind, moe_at(i))):  # each kind of mixer and MLP built once
            continue
        p = f"model.layers.{i}"
        kw: dict[str, Any] = {"layer": i}
        if kind == "recurrent":
            a = f"{p}.linear_attn"
            add(f"{a}.in_proj_qkvz.weight", "attention", "in_proj_qkvz",
                (2 * key_dim + 2 * value_dim, dim), gguf_class="attn_qkv", **kw)  # fmt: skip
            add(f"{a}.in_proj_ba.weight", "attention", "in_proj_ba", (2 * nv, dim),
                gguf_class="ssm_ba", **kw)  # fmt: skip
            add(f"{a}.conv1d.weight", "attention", "conv1d", (conv_dim, 1, kernel),
                kind="vector", gguf_class="ssm_conv1d", **kw)  # fmt: skip
            add(f"{a}.dt_bias", "attention", "dt_bias", (nv,), kind="vector", **kw)
            add(f"{a}.A_log", "attention", "A_log", (nv,), kind="vector", **kw)
            add(f"{a}.norm.weight", "norms", "ssm_norm", (dv,), kind="vector", **kw)
            add(f"{a}.out_proj.weight", "attention", "out_proj", (dim, value_dim),
                gguf_class="ssm_out", **kw)  # fmt: skip
        else:
            attention(p, kw)
        mlp(p, i, kw)
        _layer_norms(add, p, dim, **kw)
    _embed_norm_head(add, vocab, dim, tied)
    n_layers = len(kinds)
    for j in range(n_mtp):
        i = n_layers + j
        kw = {"layer": i, "mtp": True}
        add(f"mtp.fc.{j}.weight", "attention", "eh_proj", (dim, 2 * dim),
            gguf_class="nextn_eh_proj", **kw)  # fmt: skip
        for nm in ("pre_fc_norm_embedding", "pre_fc_norm_hidden", "norm"):
            add(f"mtp.{nm}.{j}.weight", "norms", nm, (dim,), kind="vector", **kw)
        p = f"mtp.layers.{j}"
        attention(p, kw)
        mlp(p, i, kw)
        _layer_norms(add, p, dim, **kw)
    return stamper.inventory()


qwen3_next_inventory = flat_of(qwen3_next_kinds)


def qwen3_next_kv_parts(cfg: Mapping[str, Any], include_mtp: bool) -> tuple[KvPart, ...]:
    """KV only on the full-attention layers (T × 2 × kv_heads × head_dim; MTP layers are full
    attention too) + the constant per-sequence Gated DeltaNet state of the linear layers
    (`recurrent_state`, already in bytes: conv and state have their own dtypes), one slot per
    sequence, kind ``recurrent_state``.

    Under TP the state splits by heads as vLLM does (``MambaStateShapeCalculator.
    gated_delta_net_state_shape`` in vllm/model_executor/layers/mamba/mamba_utils.py divides
    num_k_heads and num_v_heads by the TP size: conv (divide(conv_dim, tp), kernel - 1),
    temporal (divide(num_v_heads, tp), head_k_dim, head_v_dim)).
    """
    v = read_config(FIELDS, cfg)
    kv, hd = gqa_shape(v)
    n_attn = len(attention_layers(cfg)) + mtp_layers(v, include_mtp)
    state = recurrent_state(cfg)
    if state.kind != "gated_deltanet":
        raise refuse_kv(cfg, "qwen3_next", f"recurrent layers of kind {state.kind!r}")
    return (
        KvPart("full", n_attn, "full", 1, hd, vectors=2 * kv, kv_heads=kv),
        KvPart(
            "recurrent_state",
            len(state.layers),
            "state",
            1,
            state.per_layer_bytes,
            store="bytes",
            kv_heads=v.linear_num_key_heads,
            paging="recurrent",
        ),
    )


def _notes(cfg: Mapping[str, Any], kv: KvProfile, has_indexer: bool) -> tuple[str, ...]:
    return (
        "recurrent_state: Gated DeltaNet conv + delta state, one slot per sequence in the "
        "model dtype (vLLM shapes); prefix-caching checkpoints and speculative-decoding "
        "columns are not counted.",
    )


def _gguf_split(cfg: Config, t: TensorSpec) -> tuple[GgufPart, ...] | None:
    """``in_proj_qkvz`` → ``attn_qkv`` (q, k, v) and ``attn_gate`` (z, linear_value_head_dim ×
    linear_num_value_heads rows): Qwen3NextModel.modify_tensors reorders it "[q * head_count,
    k * head_count, v * head_count, z * head_count]" and yields the two
    (https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/qwen.py)."""
    if t.role != "in_proj_qkvz":
        return None
    v = read_config(FIELDS, cfg)
    value = v.linear_value_head_dim * v.linear_num_value_heads
    rows, dim = t.shape
    qkv = replace(t, role="in_proj_qkv", shape=(rows - value, dim), gguf_class="attn_qkv")
    gate = replace(t, role="in_proj_z", shape=(value, dim), gguf_class="attn_gate")
    return ((qkv, (dim, rows - value)), (gate, (dim, value)))


def qwen3_next_from_gguf(cfg: dict[str, Any]) -> None:
    """A qwen3next GGUF's linear-attention shape under transformers' names, in place. The
    converter writes them as SSM keys (``Qwen3NextModel.set_gguf_parameters``,
    https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/conversion/qwen.py#L375-L381):
    conv_kernel = linear_conv_kernel_dim, state_size = linear_key_head_dim, group_count =
    linear_num_key_heads, time_step_rank = linear_num_value_heads, inner_size =
    linear_value_head_dim × linear_num_value_heads; the loader requires the same five
    (src/models/qwen3next.cpp L10-L14: ``get_key`` without ``required = false``), so a missing,
    0 or out-of-range one is refused naming its key (`qwen3next_linear_fields`), and, without ``recurrent_layers``, makes every layer
    recurrent but each ``full_attention_interval``-th (default 4, L17-L21)."""
    fields = qwen3next_linear_fields(cfg)  # each of the five present and positive
    for field, _key, _meaning in QWEN3NEXT_SSM_KEYS:
        del cfg[field]
    cfg.update(fields)
    cfg.setdefault("full_attention_interval", 4)


FAMILY = Family(
    name="qwen3_next",
    summary="Qwen3-Next: Gated DeltaNet linear attention + gated full attention, sparse MoE",
    model_types=("qwen3_next",),
    gguf_archs={"qwen3next": "qwen3_next"},
    inventory=qwen3_next_inventory,
    tensor_kinds=qwen3_next_kinds,
    layer_kinds=lambda cfg: tuple(layer_kinds(cfg)),
    kv_parts=qwen3_next_kv_parts,
    kv_notes=_notes,
    gguf_split=_gguf_split,
    from_gguf=qwen3_next_from_gguf,
    config_fields=FIELDS + RECURRENT_FIELDS[1:5],
)
