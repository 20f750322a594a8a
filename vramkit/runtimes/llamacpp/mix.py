"""llama.cpp's per-tensor type choice for every `llama-quantize` file type.

A file type such as Q4_K_M is not one block type: ``llama_tensor_get_type`` (src/llama-quant.cpp)
starts from the file type's default type and bumps some tensors (the output head, attn_v, ffn_down
in the layers `use_more_bits` picks, attn_output of 8-expert models …), keeps tensors it may not
quantize (1-D tensors, norms, the MoE router ffn_gate_inp, DeepSeek V4's tid2eid …) in the type
the converter wrote, and falls back to a 32-element block type when a row does not fill a block.
This module re-implements those rules, keyed on each tensor's GGUF name, in llama.cpp's own
tensor order (its counters for attn_v and ffn_down depend on it).

Pinned source: ggml-org/llama.cpp b11312, commit 0c1e57098bba43ac29e6e3b677cdceebdd22334f (the copy
vendored in the llama-cpp-python 0.3.36 sdist); line numbers ``Lnnn`` below refer to
https://github.com/ggml-org/llama.cpp/blob/0c1e57098bba43ac29e6e3b677cdceebdd22334f/src/llama-quant.cpp
(``tensor_get_category`` L119, ``tensor_allows_quantization`` L287, ``tensor_type_fallback`` L390,
``llama_tensor_get_type_impl`` L446-713, ``llama_tensor_get_type`` L717, ``tensor_requires_imatrix``
L856, ``llama_ftype_get_default_type`` L881, ``init_quantize_state_counters`` L927) and the
tensor order of ``weight_name_comparer`` (src/llama-model-loader.h L54: layer number, then name).
Block sizes come from the `gguf` package (`gguf.GGML_QUANT_SIZES`), never from a copied table;
Q2_0, newer than every gguf release on PyPI, from the pinned llama.cpp's own gguf-py
(`vramkit.format_facts.GGML_TYPES_AHEAD_OF_PYPI_GGUF`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from ...errors import VramkitError, unknown_name
from ...format_facts import ggml_block
from .ftypes import (  # noqa: F401 — CONVERT_SOURCE, MXFP4_REPACK_ARCHS, CONVERTER_OUTTYPES re-exported
    CONVERT_SOURCE,
    CONVERTER_OUTTYPES,
    FTYPE_DEFAULT,
    LLAMA_CPP_BUILD,
    MXFP4_REPACK_ARCHS,
    ROW_FALLBACK,
    resolve_ftype,
)

# tensor_requires_imatrix (L856-877): target types that need an importance matrix
_IMATRIX_TYPES = {"IQ3_XXS", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_M", "IQ1_S"}

_IQ_LOW = {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"}  # the L543 branch
_IQ2_SM = {"IQ2_S", "IQ2_M"}
_ATTN_OUT_8X = {
    "Q2_K",
    "IQ3_XS",
    "IQ3_XXS",
    "Q3_K_S",
    "Q3_K_M",
    "IQ4_NL",
    "Q4_K_S",
    "Q4_K_M",
    "IQ3_S",
    "IQ3_M",
    "IQ4_XS",
}  # fmt: skip  (L672-675)


def use_more_bits(i_layer: int, n_layers: int) -> bool:
    """L452: ``i_layer < n_layers/8 || i_layer >= 7*n_layers/8 || (i_layer - n_layers/8)%3 == 2``
    (integer division, as in C)."""
    eighth = n_layers // 8
    return i_layer < eighth or i_layer >= 7 * n_layers // 8 or (i_layer - eighth) % 3 == 2


@dataclass(frozen=True)
class GgufTensor:
    """A tensor as llama-quantize sees it: GGUF name, dims ``ne`` (ne[0] = row length) and the
    type the converter wrote (kept when the tensor may not be quantized, and by COPY)."""

    name: str
    ne: tuple[int, ...]
    source: str

    @property
    def n_dims(self) -> int:
        """ggml_n_dims: trailing dimensions of size 1 do not count."""
        n = len(self.ne)
        while n > 1 and self.ne[n - 1] == 1:
            n -= 1
        return n

    @property
    def layer(self) -> int:
        """The block number of a ``blk.N.`` name, -1 for global tensors."""
        return _layer_number(self.name)


@lru_cache(maxsize=65536)
def _layer_number(name: str) -> int:
    m = re.match(r"blk\.(\d+)\.", name)
    return int(m.group(1)) if m else -1


@dataclass(frozen=True)
class ModelFacts:
    """What llama_tensor_get_type reads from the model: llama.cpp arch name (``llama``, ``falcon``,
    ``deepseek4`` …), block count (hparams.n_layer_all), routed experts (hparams.n_expert),
    heads per KV head of layer 0 (hparams.n_gqa()) and whether llama.cpp types it LLM_TYPE_70B."""

    arch: str
    n_layer: int
    n_expert: int = 0
    n_gqa: int = 1
    is_70b: bool = False


# LLM_TYPE_70B, the only model type llama_tensor_get_type tests (L593): llama.cpp arch → layer
# count (src/models/llama.cpp L28, qwen2.cpp L14, olmo.cpp L10, deci.cpp L8, jais2.cpp L8);
# the llama arch also needs grouped-query attention (L28: n_head == n_head_kv is 65B) and not 8
# experts (L9-13: those are Mixtral 8x7B / 8x22B)
_70B_LAYERS = {"llama": 80, "qwen2": 80, "olmo": 80, "deci": 80, "jais2": 68}
_70B_GQA_ONLY = frozenset({"llama"})


def is_70b(arch: str, n_layer: int, n_head: int, n_head_kv: int, n_expert: int) -> bool:
    """Whether llama.cpp types the model LLM_TYPE_70B (see `_70B_LAYERS`)."""
    if _70B_LAYERS.get(arch) != n_layer:
        return False
    return arch not in _70B_GQA_ONLY or (n_head != n_head_kv and n_expert != 8)


@lru_cache(maxsize=65536)
def category(name: str) -> str:
    """tensor_get_category (L119-156): substring matches, first hit wins."""
    if name == "output.weight":
        return "output"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "token_embd"
    for key, cat in (
        ("attn_qkv.weight", "attn_qkv"),
        ("attn_kv_b.weight", "attn_kv_b"),
        ("attn_v.weight", "attn_v"),
        ("attn_k.weight", "attn_k"),
        ("attn_q.weight", "attn_q"),
        ("attn_output.weight", "attn_output"),
        ("ffn_up", "ffn_up"),
        ("ffn_gate", "ffn_gate"),
        ("ffn_down", "ffn_down"),
    ):
        if key in name:
            return cat
    return "other"


def _is_attn_v(cat: str) -> bool:
    """category_is_attn_v (L159): attn_v, attn_qkv and attn_kv_b share the attn_v rules."""
    return cat in ("attn_v", "attn_qkv", "attn_kv_b")


_NO_QUANT_SUBSTRINGS = (
    "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
    "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
    "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
    "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
    "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
    "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd",
    "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
    "mm.a.code_embd",
)  # fmt: skip
_GLM5_NEXT_NO_QUANT = (
    "hc_", "indexer.attn_q_b", "indexer.attn_k", "indexer.proj", "indexer_compressor_gate",
    "indexer_compressor_ape", "ssm_f_a.weight", "ssm_f_b.weight", "ssm_g_a.weight",
    "ssm_g_b.weight", "ssm_beta.weight", "attn_kv_a_mqa.weight", "attn_k_b.weight",
    "attn_v_b.weight",
)  # fmt: skip


def allows_quantization(t: GgufTensor, arch: str) -> bool:
    """tensor_allows_quantization (L287-385): 2-D and 3-D tensors whose name ends in ``weight``,
    minus norms, the router, DeepSeek V4's tid2eid table and a list of small or special tensors."""
    if t.n_dims < 2 or not t.name.endswith("weight"):
        return False
    return _name_allows_quantization(t.name, arch)


@lru_cache(maxsize=65536)
def _name_allows_quantization(name: str, arch: str) -> bool:
    """The name part of `allows_quantization` (names repeat across models: computed once)."""
    if name in ("position_embd.weight", "token_types.weight"):
        return False  # LLM_TENSOR_POS_EMBD / LLM_TENSOR_TOKEN_TYPES (L318-319)
    if any(s in name for s in _NO_QUANT_SUBSTRINGS):
        return False
    return not (arch == "glm5-next" and any(s in name for s in _GLM5_NEXT_NO_QUANT))


@lru_cache(maxsize=128)
def _block(type_name: str) -> int:
    """Elements per block of a GGML type: the gguf package's, or (Q2_0, newer than every gguf
    release on PyPI) the pinned llama.cpp's own gguf-py value (`format_facts.ggml_block`)."""
    sizes = ggml_block(type_name)
    if sizes is None:
        import importlib.metadata

        raise VramkitError(
            f"GGML type {type_name} is not in the installed gguf package "
            f"({importlib.metadata.version('gguf')}) nor in llama.cpp {LLAMA_CPP_BUILD}'s own "
            "gguf-py, so vramkit has no block size for it."
        )
    return sizes[0]


def _quantized(type_name: str) -> bool:
    """ggml_is_quantized: block types (F32, F16, BF16 and integers are not)."""
    return type_name not in ("F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64")


def is_block_type(type_name: str) -> bool:
    """Whether llama-quantize counts a GGML type as quantized (``ggml_is_quantized``): a source
    tensor of such a type that the file type changes needs ``--allow-requantize``."""
    return _quantized(type_name)


def fallback(type_name: str, ncols: int, tensor: str = "") -> str:
    """tensor_type_fallback (L390-441): the type a row of `ncols` elements is really stored in."""
    block = _block(type_name)
    if ncols % block == 0:
        return type_name
    if type_name in ROW_FALLBACK:
        new = ROW_FALLBACK[type_name]
    elif block <= 32:
        new = type_name  # already a 32-block type: F16 below (L418-423)
    else:
        raise VramkitError(
            f"llama-quantize stops on {tensor or 'a tensor'}: rows of {ncols} elements do not fill "
            f"{type_name} blocks of {block} and llama.cpp defines no fallback for {type_name} "
            '("no tensor type fallback is defined", L424-425).'
        )
    return new if ncols % _block(new) == 0 else "F16"


class Position(NamedTuple):
    """Where a tensor stands among the tensors llama-quantize counts: all that
    ``llama_tensor_get_type_impl`` reads of its counters (quantize_state_impl, L163-195), as the
    tests it makes on them.

    attn_v-like tensors (counter i = i_attention_wv of n = n_attention_wv): `wv_first2` i < 2
    (Q3_K_M), `wv_first4` i < 4 (Q4_K_S), `wv_more_bits` use_more_bits(i, n) (Q4_K_M, Q5_K_M).
    ffn_down / ffn_gate / ffn_up with i = layer_info (L457-471: the block number in MoE models,
    else the category's counter) and n = n_layer: `first_16th` i < n/16, `first_8th` i < n/8,
    `last_8th` i >= 7n/8 (gate/up: the IQ3_XS middle is neither), `more_bits`
    use_more_bits(i, n); `count_first_8th` the ffn_down counter itself < n/8 (the low-bit IQ
    branch, L553-560, reads the counter, not layer_info). Integer division throughout, as in C.
    A tensor of any other category stands `NOWHERE` (all False). Layers whose tensors stand
    alike get the same types: the grouped mix (`vramkit.quant.llamacpp`) types them once.
    """

    wv_first2: bool = False
    wv_first4: bool = False
    wv_more_bits: bool = False
    count_first_8th: bool = False
    first_16th: bool = False
    first_8th: bool = False
    last_8th: bool = False
    more_bits: bool = False


NOWHERE = Position()
"""The position of a tensor no counter counts."""


@dataclass
class Counters:
    """quantize_state_impl's counters (L163-195, initialised at L927-941) as llama-quantize
    advances them over a file's tensors in its order (`tensor_order`): each tensor it types by
    the rules advances its category's counter. `step` is called for every tensor that reaches
    the rules (`counted`), whatever the file type: a type whose branch returns before a counter
    moves (MXFP4_MOE, the low-bit IQ types for ffn_gate / ffn_up) reads no counter either, so
    the positions are the file type's own wherever they are read."""

    n_attention_wv: int
    n_layer: int
    moe: bool
    attention_wv: int = 0
    ffn_down: int = 0
    ffn_gate: int = 0
    ffn_up: int = 0

    def step(self, cat: str, layer: int) -> Position:
        """The `Position` of the next counted tensor of category `cat` in block `layer` (-1 for
        a global tensor), its counter advanced."""
        if cat in ("attn_v", "attn_qkv", "attn_kv_b"):  # category_is_attn_v
            i, n = self.attention_wv, self.n_attention_wv
            self.attention_wv = i + 1
            return _position(i < 2, i < 4, use_more_bits(i, n), False, False, False, False, False)
        n = self.n_layer
        if cat == "ffn_down":
            raw = self.ffn_down
            self.ffn_down = raw + 1
            i = layer if self.moe else raw  # layer_info
            return _position(False, False, False, raw < n // 8, i < n // 16, i < n // 8, False,
                             use_more_bits(i, n))  # fmt: skip
        if cat in ("ffn_gate", "ffn_up"):
            if cat == "ffn_gate":
                raw, self.ffn_gate = self.ffn_gate, self.ffn_gate + 1
            else:
                raw, self.ffn_up = self.ffn_up, self.ffn_up + 1
            i = layer if self.moe else raw
            return _position(False, False, False, False, False, i < n // 8, i >= 7 * n // 8, False)
        return NOWHERE


_POSITIONS: dict[tuple[bool, ...], Position] = {}


def _position(*flags: bool) -> Position:
    """One shared `Position` per combination (positions are compared and hashed often)."""
    hit = _POSITIONS.get(flags)
    if hit is None:
        hit = _POSITIONS[flags] = Position(*flags)
    return hit


def counters_for(cats: Sequence[str], m: ModelFacts) -> Counters:
    """Fresh counters for a file whose tensors have categories `cats`: n_attention_wv counts
    every attn_v-like tensor (L927-941), n_ffn_down = n_layer, layer_info by block number when
    the model has more than one expert."""
    return Counters(sum(_is_attn_v(c) for c in cats), m.n_layer, max(1, m.n_expert) > 1)


_GLM5_EARLY = ("attn_q_a", "attn_q_b", "nextn.eh_proj")  # L473-486


def counted(name: str, arch: str) -> bool:
    """Whether a tensor llama-quantize may quantize reaches the counting rules (all but GLM-5's
    early Q8_0 tensors, L473-486)."""
    return not (arch == "glm5-next" and any(s in name for s in _GLM5_EARLY))


def tensor_order(names: Sequence[str]) -> list[int]:
    """llama.cpp's tensor order (weight_name_comparer, src/llama-model-loader.h L54): block
    number (-1 for global tensors), then name; ties keep the input order."""
    keys = [(_layer_number(n), n) for n in names]
    return sorted(range(len(names)), key=keys.__getitem__)


def _impl(
    new: str,
    t: GgufTensor,
    ftype: str,
    cat: str,
    m: ModelFacts,
    pos: Position,
    imatrix: bool,
    tied: bool,
) -> str:
    """llama_tensor_get_type_impl (L446-713) for one tensor; `new` is the default type, `pos`
    its place among the counted tensors (the counters are advanced by `Counters.step`)."""
    arch = m.arch
    name = t.name
    if (
        arch == "glm5-next"
        and any(s in name for s in _GLM5_EARLY)
        and new not in ("F32", "BF16", "F16")
    ):
        return "Q8_0"  # L473-486
    if cat == "output" or (tied and cat == "token_embd"):  # L490-511
        if ftype == "MXFP4_MOE":
            return "Q8_0"
        if arch == "falcon" or t.ne[0] % _block(new):
            return "Q8_0"
        if ftype in ("IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"):
            return "Q5_K"
        return new if new == "Q8_0" else "Q6_K"
    if ftype == "MXFP4_MOE":  # L512-524
        expert = len(t.ne) > 2 and t.ne[2] > 1
        if arch == "bailingmoe3":
            expert = expert and cat in ("ffn_up", "ffn_gate", "ffn_down")
        return "MXFP4" if expert else "Q8_0"
    if cat == "token_embd":  # L525-542
        if ftype in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            return "Q2_K"
        if ftype in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            return "IQ3_S"
        if ftype in ("TQ1_0", "TQ2_0", "Q2_0"):
            return "Q4_K"
        return new
    if ftype in _IQ_LOW:  # L543-566
        if _is_attn_v(cat):
            if m.n_gqa >= 4 or m.n_expert >= 4:
                return "Q4_K"
            return "IQ3_S" if ftype in _IQ2_SM else "Q2_K"
        if m.n_expert == 8 and cat == "attn_k":
            return "Q4_K"
        if cat == "ffn_down":
            if pos.count_first_8th:
                return "IQ3_S" if ftype in _IQ2_SM else "Q2_K"
            return new
        if cat == "attn_output":
            if m.n_expert == 8:
                return "Q5_K"
            if ftype in ("IQ1_S", "IQ1_M"):
                return "IQ2_XXS"
            if ftype in _IQ2_SM:
                return "IQ3_S"
        return new
    if _is_attn_v(cat):  # L567-604 (attn_qkv lands here, so the L689 branch is never reached)
        if ftype == "Q2_K":
            new = "Q4_K" if m.n_gqa >= 4 else "Q3_K"
        elif ftype == "Q2_K_S" and m.n_gqa >= 4:
            new = "Q4_K"
        elif ftype == "IQ3_XXS":
            new = "Q4_K" if m.n_gqa >= 4 else ("IQ3_XXS" if imatrix else "IQ3_S")
        elif (ftype in ("IQ3_XS", "IQ3_S") and m.n_gqa >= 4) or ftype == "IQ3_M":
            new = "Q4_K"
        elif ftype == "Q3_K_M":
            new = "Q5_K" if pos.wv_first2 else "Q4_K"
        elif ftype == "Q3_K_L" or (ftype in ("IQ4_NL", "IQ4_XS") and m.n_gqa >= 4):
            new = "Q5_K"
        elif ftype in ("Q4_K_M", "Q5_K_M") and pos.wv_more_bits:
            new = "Q6_K"
        elif ftype == "Q4_K_S" and pos.wv_first4:
            new = "Q5_K"
        if m.is_70b and new in ("Q3_K", "Q4_K"):
            new = "Q5_K"  # L593-598
        if m.n_expert == 8:
            new = "Q8_0"  # L599-603
        return new
    if cat == "attn_k":  # L605-616
        if m.n_expert == 8:
            return "Q8_0"
        if ftype == "IQ3_XS":
            return "IQ3_XXS"
        if ftype == "IQ3_XXS":
            return "IQ2_S"
        return new
    if cat == "attn_q":  # L617-623
        if ftype == "IQ3_XS":
            return "IQ3_XXS"
        if ftype == "IQ3_XXS":
            return "IQ2_S"
        return new
    if cat == "ffn_down":  # L624-668
        first_8th, more_bits = pos.first_8th, pos.more_bits
        falcon = arch == "falcon"
        if ftype == "Q2_K":
            return "Q3_K"
        if ftype == "Q2_K_S":
            return "Q4_K" if first_8th else new
        if ftype == "IQ3_XXS" and not imatrix:
            return "Q4_K" if first_8th else "Q3_K"
        if ftype == "Q3_K_M":  # L634-638: `arch != LLM_ARCH_FALCON || use_more_bits(...)`
            if pos.first_16th:
                return "Q5_K"
            return "Q4_K" if (not falcon or more_bits) else "Q3_K"
        if ftype == "IQ3_M" and (first_8th or (m.n_expert == 8 and more_bits)):
            return "Q4_K"
        if ftype == "Q3_K_L":
            return "Q4_K" if falcon else "Q5_K"
        if ftype == "Q4_K_M":
            if falcon:
                return "Q6_K" if pos.first_16th else ("Q5_K" if more_bits else "Q4_K")
            return "Q6_K" if more_bits else new
        if first_8th and ftype in ("IQ4_NL", "IQ4_XS") and not imatrix:
            return "Q5_K"
        if ftype == "Q5_K_M" and more_bits:
            return "Q6_K"
        if ftype == "Q4_K_S" and not falcon and first_8th:
            return "Q5_K"
        if ftype in ("Q4_0", "Q5_0") and imatrix and first_8th:
            return "Q4_1" if ftype == "Q4_0" else "Q5_1"
        return new
    if cat == "attn_output":  # L669-688
        if arch != "falcon":
            if m.n_expert == 8:
                return "Q5_K" if ftype in _ATTN_OUT_8X else new
            return {
                "Q2_K": "Q3_K",
                "IQ3_XXS": "IQ3_S",
                "Q3_K_M": "Q4_K",
                "Q3_K_L": "Q5_K",
                "IQ3_M": "Q4_K",
            }.get(ftype, new)
        return "Q4_K" if ftype == "Q3_K_L" else new
    if cat in ("ffn_gate", "ffn_up"):  # L696-711
        if ftype == "IQ3_XS" and not pos.first_8th and not pos.last_8th:  # n/8 <= i < 7n/8
            return "IQ3_XXS"
        return new
    return new


def _requires_imatrix(name: str, dst: str, ftype: str) -> bool:
    """tensor_requires_imatrix (L856-877)."""
    if name in ("token_embd.weight", "per_layer_token_embd.weight", "output.weight"):
        return False
    return dst in _IMATRIX_TYPES or (dst == "Q2_K" and ftype == "Q2_K_S")


def needs_imatrix(t: GgufTensor, dst: str, ftype: str) -> bool:
    """Whether typing `t` as `dst` makes llama-quantize ask for an importance matrix
    (`tensor_requires_imatrix`, a tensor it changes)."""
    return dst != t.source and _requires_imatrix(t.name, dst, ftype)


def target_types(
    tensors: Sequence[GgufTensor], ftype: str, model: ModelFacts, *, imatrix: bool | None = None
) -> list[str]:
    """The GGML type llama-quantize gives each tensor under `ftype` (in the input order).

    `imatrix`: whether an importance matrix is given (it changes IQ3_XXS, IQ4_NL/XS and Q4_0/Q5_0
    mixes). None: only when the file type needs one — llama-quantize refuses to write IQ1/IQ2/IQ3_XXS
    (and Q2_K_S) files without it ("this quantization requires an imatrix!"), so real files of
    those types always had one.
    """
    ftype = resolve_ftype(ftype)
    if imatrix is None:
        plain = _assign(tensors, ftype, model, imatrix=False)
        needs = any(needs_imatrix(t, ty, ftype) for t, ty in zip(tensors, plain, strict=True))
        return _assign(tensors, ftype, model, imatrix=True) if needs else plain
    return _assign(tensors, ftype, model, imatrix=imatrix)


@lru_cache(maxsize=64)
def _plan(
    tensors: tuple[GgufTensor, ...], model: ModelFacts
) -> tuple[list[int], list[bool], list[str], list[Position], bool]:
    """What does not depend on the file type: llama.cpp's tensor order, which tensors it may
    quantize, each tensor's category and `Position`, and whether the output is tied."""
    names = [t.name for t in tensors]
    order = tensor_order(names)
    allows = [allows_quantization(t, model.arch) for t in tensors]
    cats = [category(n) for n in names]
    counters = counters_for(cats, model)
    pos = [NOWHERE] * len(tensors)
    for k in order:
        if allows[k] and counted(names[k], model.arch):
            pos[k] = counters.step(cats[k], tensors[k].layer)
    return order, allows, cats, pos, "output.weight" not in names


def type_of(
    t: GgufTensor,
    cat: str,
    allowed: bool,
    pos: Position,
    ftype: str,
    model: ModelFacts,
    *,
    imatrix: bool,
    tied: bool,
) -> str:
    """The GGML type llama-quantize gives tensor `t` (category `cat`, standing at `pos`) under
    the canonical file type `ftype`: its source type when it may not be quantized (or COPY), the
    file type's default type for F16 / BF16 / F32 files, else llama_tensor_get_type_impl and
    the row fallback (L742-772, L1121-1127); raises where llama-quantize stops on it."""
    if ftype == "COPY" or not allowed:
        return t.source  # L1121-1127 (only_copy: L289): kept as the source stores it
    new = FTYPE_DEFAULT.get(ftype, "")
    if not _quantized(new):  # L742-772: the mix and the fallback run for quantized types only
        return new
    new = _impl(new, t, ftype, cat, model, pos, imatrix, tied)
    return _fallback(new, t.ne[0]) or fallback(new, t.ne[0], t.name)


def _assign(
    tensors: Sequence[GgufTensor], ftype: str, model: ModelFacts, *, imatrix: bool
) -> list[str]:
    tensors = tuple(tensors)
    order, allows, cats, pos, tied = _plan(tensors, model)
    out = [""] * len(tensors)
    for k in order:  # in llama.cpp's order: the first tensor it stops on is the one named
        out[k] = type_of(
            tensors[k], cats[k], allows[k], pos[k], ftype, model, imatrix=imatrix, tied=tied
        )
    return out


@lru_cache(maxsize=4096)
def _fallback(type_name: str, ncols: int) -> str:
    """`fallback` per (type, row length), or "" where llama-quantize stops (`fallback` then
    raises the error naming the tensor)."""
    try:
        return fallback(type_name, ncols)
    except VramkitError:
        return ""


# convert_hf_to_gguf keeps these ≥2-D tensors in F32 (conversion/base.py L1088-1120 at the pinned
# commit: FFN_GATE_INP, FFN_GATE_INP_SHEXP, POS_EMBD, TOKEN_TYPES, SSM_CONV1D, … INDEXER_PROJ)
_CONVERTER_F32 = ("ffn_gate_inp", "position_embd", "token_types", "ssm_conv1d", "indexer.proj")

# CONVERT_SOURCE, MXFP4_REPACK_ARCHS and CONVERTER_OUTTYPES: in .ftypes (the tables the
# recipe list reads without these rules), imported above.


def converter_type(
    gguf_name: str,
    n_dims: int,
    *,
    arch: str,
    native: str,
    checkpoint: str = "",
    outtype: str = "auto",
    ne0: int = 0,
) -> str:
    """The type convert_hf_to_gguf writes a tensor in (the source llama-quantize starts from).

    1-D tensors and ``*_norm.weight``: F32 (conversion/base.py L1084). Checkpoint MXFP4 tensors
    of the `MXFP4_REPACK_ARCHS` (gpt-oss and DeepSeek V4 routed experts): MXFP4 at every
    ``--outtype``. DeepSeek V4's converter keeps the checkpoint's own types for the rest too
    (conversion/deepseek.py ``tensor_force_quant`` L894-905): FP8 tensors are dequantized to
    Q8_0, BF16 stays BF16 and F32 stays F32; ``tid2eid`` is written as I32
    (``_write_hash_routing_tensors``, L757 ``.to(torch.int32)``). Other tensors: the forced-F32
    list above and every tensor whose name does not end in ``.weight`` (biases) in F32, else
    the ``--outtype`` (base.py L1142-1156): `outtype` ``auto`` (the checkpoint's 16-bit dtype,
    `native`), ``F32``, ``F16``, ``BF16`` or ``Q8_0`` (rows of `ne0` elements that 32 does not
    divide fall back to F16, L1160-1166). `checkpoint` is the format name of the tensor in the
    model's official layout (``FP8_B128_UE8M0``, ``MXFP4``, ``BF16``, ``FP32`` …).
    """
    return _converter_type(gguf_name, n_dims, arch, native, checkpoint, outtype, ne0)


@lru_cache(maxsize=65536)
def _converter_type(
    gguf_name: str, n_dims: int, arch: str, native: str, checkpoint: str, outtype: str, ne0: int
) -> str:
    """`converter_type`, computed once per (name, dims, arch, dtype, checkpoint format,
    outtype, row length)."""
    if "tid2eid" in gguf_name:
        return "I32"
    if n_dims <= 1 or gguf_name.endswith("_norm.weight"):
        return "F32"
    if checkpoint == "MXFP4" and arch in MXFP4_REPACK_ARCHS:
        return "MXFP4"
    if arch == "deepseek4":
        if checkpoint.startswith("FP8"):
            return "Q8_0"
        return "F32" if checkpoint in ("FP32", "F32") else "BF16"
    if any(s in gguf_name for s in _CONVERTER_F32) or not gguf_name.endswith(".weight"):
        return "F32"  # base.py L1119: `new_name[-7:] not in (".weight", ".lora_a", ".lora_b")`
    if outtype == "auto":
        return {"F32": "F32", "FP32": "F32", "F16": "F16", "FP16": "F16"}.get(native, "BF16")
    if outtype not in CONVERTER_OUTTYPES:
        raise unknown_name("convert_hf_to_gguf --outtype", outtype, ["auto", *CONVERTER_OUTTYPES])
    if outtype == "Q8_0" and ne0 % _block("Q8_0"):
        return "F16"  # gguf.QuantError (can_quantize: rows of whole blocks), "falling back to F16"
    return outtype
