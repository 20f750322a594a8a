"""Tensor name → tensor group (`vramkit.model.params.GROUPS`, or ``other``), for HF and GGUF names.

Covers the checkpoint names of Llama, Qwen2/3 (+MoE, Next), Mistral/Mixtral, DeepSeek V2/V3/V3.2
(HF names), DeepSeek V4 (reference names: ``layers.N.attn.wq_a``, ``layers.N.ffn.experts.E.w1``,
``mtp.0.…``, ``hc_*``, ``attn.compressor.*``, ``attn.indexer.*``), gpt-oss, Gemma, GLM, Kimi, and
llama.cpp GGUF names (``blk.N.ffn_down_exps.weight``, ``blk.N.attn_compressor_kv.weight`` …).

Rules, first match wins: multimodal towers → ``other``; MTP (``mtp.*``, ``*.nextn.*``, or a
layer index ≥ the main layer count) → ``mtp``; then indexer, norms, router, shared experts,
routed experts (gate/up vs down), compressor, hyper-connections, embed, lm_head, attention /
token mixers (incl. linear attention and SSM mixers), dense MLP. Anything else → ``other``:
reported, never dropped. Scale companions (``.scale``, ``weight_scale_inv``, ``_scale_2``,
``qzeros``, ``scales``, ``g_idx`` …) carry their weight's module path, so they land in its group.
"""

from __future__ import annotations

import re

from ..model.params import GROUPS

OTHER = "other"
ALL_GROUPS: tuple[str, ...] = (*GROUPS, OTHER)
"""`vramkit.model.params.GROUPS` plus ``other`` (tensors no rule recognises)."""

SCALE_SUFFIXES: tuple[str, ...] = (
    "weight_scale_inv",
    "weight_scale_2",
    "weight_scale",
    "input_scale",
    "_scale_2",
    "_scales",
    ".scales",
    ".scale",
    ".qzeros",
    ".g_idx",
    ".absmax",
    ".quant_map",
    ".quant_state",
)
"""Name endings of quantisation companions (scales, zero points, group indices)."""

_LAYER = re.compile(r"(?:^|\.)(?:layers|blk|h|block|blocks|decoder\.layers)\.(\d+)\.")

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (group, re.compile(pattern))
    for group, pattern in (
        (
            "vision",
            r"(^|\.)(vision|visual|vision_tower|vision_model|mm_projector"
            r"|multi_modal_projector|image_newline|embed_vision|v\.blk|mm\.)",
        ),
        (OTHER, r"(^|\.)(audio|audio_tower|embed_audio|a\.blk)"),
        ("indexer", r"(^|\.)indexer([._]|$)"),
        ("norms", r"(norm|(^|\.)ln_?\w*|layer_norm|rmsnorm)(\.|_|$)"),
        (
            "router",
            r"(^|\.)(gate|router)\.(weight|bias|e_score_correction_bias|tid2eid|scale)"
            r"|e_score_correction_bias|ffn_gate_inp|exp_probs_b|ffn_gate_tid2eid"
            r"|shared_expert_gate|(^|\.)router(\.|$)|moe\.gate\.",
        ),
        ("shared_experts", r"shared_expert|shexp"),
        (
            "routed_experts_down",
            r"experts?\b.*(down|\.w2\b|w2_weight)|ffn_down_exps"
            r"|block_sparse_moe\.output_linear",  # Granite MoE's stacked experts
        ),
        (
            "routed_experts_gate_up",
            r"experts?\b.*(gate|up|\.w1\b|\.w3\b|w13)|ffn_(gate|up|gate_up)_exps"
            r"|block_sparse_moe\.input_linear",
        ),
        ("compressor", r"compressor"),
        ("hyper_connections", r"(^|\.|_)hc_"),
        (
            "embed",
            r"embed_tokens|token_embd|tok_embeddings|word_embeddings|(^|\.)wte\.|(^|\.)embed\."
            r"|(^|\.)embeddings?\.|per_layer_token_embd|embed_tokens_per_layer",
        ),
        (
            "lm_head",
            r"(^|\.)(lm_head|head|output)\.(weight|scale|bias|qweight|weight_scale\w*)$"
            r"|shared_head\.head|(^|\.)embed_out\.",
        ),
        (
            "attention",
            r"(self_attn|linear_attn|(^|\.)attn|attention|(^|\.)mixer\.|(^|\.)ssm"
            r"|(^|\.)(wq|wk|wv|wo|wqkv|q_proj|k_proj|v_proj|o_proj|qkv_proj)[._]"
            r"|(^|\.)(eh|e|h)_proj\.|time_mix)",
        ),
        ("dense_mlp", r"(mlp|ffn|feed_forward|(^|\.)fc\d|dense_h_to_4h|dense_4h_to_h|channel_mix)"),
    )
)


def strip_scale_suffix(name: str) -> str:
    """The weight name a quantisation companion belongs to (``x.weight_scale_inv`` → ``x``)."""
    for suffix in SCALE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)].rstrip("._")
    return name


def is_scale_tensor(name: str) -> bool:
    """True for quantisation companions (scales, zero points, group indices)."""
    return strip_scale_suffix(name) != name


def layer_index(name: str) -> int | None:
    """The block index in ``model.layers.N.…`` / ``layers.N.…`` / ``blk.N.…`` names, else None."""
    m = _LAYER.search(name)
    return int(m.group(1)) if m else None


def group_of(name: str, *, main_layers: int | None = None) -> str:
    """The breakdown group of a checkpoint tensor `name` (one of `ALL_GROUPS`).

    Parameters
    ----------
    name: the tensor's name in a safetensors or GGUF file.
    main_layers: number of main (non-MTP) decoder layers; a layer index at or beyond it is an MTP
        layer (DeepSeek V3 / GLM store their MTP layers as ``model.layers.61.…``). None: unknown.
    """
    for group, pattern in _RULES[:2]:  # multimodal towers first: their layer indices are not
        if pattern.search(name):  # decoder layers (vision tower / projector, audio tower)
            return group
    if name.startswith(("mtp.", "mtp_")) or ".mtp." in name or ".nextn." in name:
        return "mtp"
    if main_layers is not None:
        i = layer_index(name)
        if i is not None and i >= main_layers:
            return "mtp"
    for group, pattern in _RULES[2:]:
        if pattern.search(name):
            return group
    return OTHER
