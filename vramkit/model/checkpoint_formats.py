"""Quantized Hugging Face checkpoints (GPTQ, AWQ, compressed-tensors, bitsandbytes): the stored
tensors of every quantized linear, read from a config's ``quantization_config``.

A quantized linear of logical shape ``(out, in)`` is stored as several tensors (packed integer
weights, scales, zero points, group indices, shape records); `CheckpointFormat.stored_tensors`
lists them exactly as the quantizer's code writes them, and `tensor_bytes` sums them. Which
linears are quantized (``modules_to_not_convert``, ``ignore``, ``lm_head``, ``targets``) becomes a
recipe: `layout_for` returns a ``selector=FORMAT,...`` map that `vramkit.quant` reads like any
custom recipe (``name:`` selectors for the tensors left in the checkpoint's float dtype).

Packing rules, each from the writer's code at a pinned commit:

- GPTQ (AutoGPTQ ``QuantLinear``, AutoGPTQ/AutoGPTQ@179776bd1d97
  auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py): ``qweight`` int32
  ``(infeatures // 32 * bits, outfeatures)``, ``qzeros`` int32 ``(ceil(infeatures / group_size),
  outfeatures // 32 * bits)``, ``scales`` float16 ``(ceil(infeatures / group_size), outfeatures)``,
  ``g_idx`` int32 ``(infeatures,)`` — g_idx is registered whatever ``desc_act`` says;
  ``group_size = -1`` means one group of ``infeatures``.
- AWQ GEMM (casper-hansen/AutoAWQ@030fe2a15b95 awq/modules/linear/gemm.py ``WQLinear_GEMM``):
  ``qweight`` int32 ``(in, out // 32 * w_bit)``, ``qzeros`` int32 ``(in // group_size,
  out // 32 * w_bit)``, ``scales`` float16 ``(in // group_size, out)``; no g_idx.
- compressed-tensors ``pack-quantized`` (neuralmagic/compressed-tensors@0199c6e7f96f
  src/compressed_tensors/compressors/quantized_compressors/pack_quantized.py):
  ``weight_packed`` int32 ``(out, ceil(in / (32 // num_bits)))``, ``weight_shape`` =
  ``torch.tensor(weight.shape)`` (int64, 2 values), ``weight_zero_point`` int32
  ``(ceil(out / (32 // num_bits)), in // group_size)`` only when asymmetric, ``weight_g_idx``
  int32 ``(in,)`` with group act-order, ``weight_scale`` ``(out, in / group_size)`` in the
  model's dtype.
- compressed-tensors ``int-quantized`` / ``float-quantized`` / ``naive-quantized``: the weight in
  int8 / float8_e4m3 ``(out, in)``, ``weight_scale`` per channel ``(out, 1)``, per tensor
  ``(1,)``, per group ``(out, in / group_size)`` or per block, in the model's dtype; an
  asymmetric int8 adds ``weight_zero_point`` int8 of the scale's shape; static input
  activations add ``input_scale`` ``(1,)``.
- compressed-tensors ``nvfp4-pack-quantized``: ``weight_packed`` uint8 ``(out, in / 2)``,
  ``weight_scale`` float8_e4m3 ``(out, in / 16)``, ``weight_global_scale`` float32 ``(1,)``,
  ``input_global_scale`` float32 ``(1,)`` when activations are FP4 too.
- ``quant_method: fp8`` (AutoFP8 / vLLM ``Fp8Config``): weight float8_e4m3 ``(out, in)``, one
  float32 ``weight_scale`` per tensor (per ``[n, n]`` block with ``weight_block_size``), one
  float32 ``input_scale`` with ``activation_scheme: static``; the head stays in float.
- bitsandbytes NF4/FP4 (``Params4bit`` and ``QuantState.as_dict(packed=True)``): ``weight``
  uint8 ``(ceil(numel / 2), 1)``, ``absmax`` float32 per 64 weights (double quant: uint8 per 64,
  ``nested_absmax`` float32 per 256 of those, ``nested_quant_map`` float32 256), ``quant_map``
  float32 16, plus a JSON ``quant_state`` blob whose length depends on the values written in
  it (not counted: an estimate, < 200 B per linear). INT8 (``Int8Params``): ``weight`` int8
  ``(out, in)``, ``SCB`` float32 ``(out,)``.

What vLLM does with these at load (Marlin / Machete repacking) is not modelled here: the sizes
are those of the checkpoint files.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import VramkitError
from ..format_facts import QuantFormat
from ..sources import Source
from .tensors import TensorSpec

METHODS = ("gptq", "awq", "compressed-tensors", "bitsandbytes", "fp8")
"""``quant_method`` values of `quantization_config` this module reads (``fp8`` with 128x128
blocks is DeepSeek's layout, read by `vramkit.model.configfile` first; here per-tensor FP8 and other
square blocks)."""

#: bytes per element of the dtypes the stored tensors use
_DTYPE_BYTES = {"I64": 8, "I32": 4, "F32": 4, "F16": 2, "BF16": 2, "I8": 1, "U8": 1, "F8_E4M3": 1}
_SCALE_DTYPES = {"FP16": "F16", "BF16": "BF16", "FP32": "F32"}

#: a stored tensor of a quantized linear: (suffix, safetensors dtype, shape)
Stored = tuple[str, str, tuple[int, ...]]


@dataclass(frozen=True)
class CheckpointFormat(QuantFormat):
    """A quantized linear as a checkpoint stores it (see the module docstring for each scheme).

    scheme: ``gptq``, ``awq``, ``ct-pack``, ``ct-int8``, ``ct-fp8``, ``ct-nvfp4``, ``bnb-nf4``,
    ``bnb-fp4``, ``bnb-int8``; group: weights per scale along ``in`` (0 = one per output channel,
    -1 = one per tensor); scale_dtype: safetensors dtype of the scales; asym: stores zero
    points (compressed-tensors; GPTQ and AWQ always store qzeros, ``asym`` only records
    ``sym: false``); gidx: stores a per-column group index; act_scale: stores a static input
    scale; double_quant: bitsandbytes nested absmax; desc_act: GPTQ act-order (g_idx used).
    """

    scheme: str = ""
    group: int = 0
    scale_dtype: str = "F16"
    asym: bool = False
    gidx: bool = False
    act_scale: bool = False
    double_quant: bool = False
    desc_act: bool = False

    def stored_tensors(self, shape: tuple[int, ...]) -> tuple[Stored, ...]:
        """The tensors one quantized linear of logical `shape` (out, in) is stored as."""
        if len(shape) != 2:
            raise VramkitError(f"format {self.name} stores 2-D linears; got shape {shape}.")
        out, inn = shape
        bits, sd = self.element_bits, self.scale_dtype
        g = inn if self.group == 0 else self.group
        if self.scheme == "gptq":
            ng = math.ceil(inn / g)
            return (
                ("qweight", "I32", (inn // 32 * bits, out)),
                ("qzeros", "I32", (ng, out // 32 * bits)),
                ("scales", "F16", (ng, out)),
                ("g_idx", "I32", (inn,)),
            )
        if self.scheme == "awq":
            return (
                ("qweight", "I32", (inn, out // 32 * bits)),
                ("qzeros", "I32", (inn // g, out // 32 * bits)),
                ("scales", "F16", (inn // g, out)),
            )
        if self.scheme == "ct-pack":
            pack = 32 // bits
            ng = math.ceil(inn / g)
            parts: list[Stored] = [
                ("weight_packed", "I32", (out, math.ceil(inn / pack))),
                ("weight_shape", "I64", (2,)),
                ("weight_scale", sd, (out, ng)),
            ]
            if self.asym:
                parts.append(("weight_zero_point", "I32", (math.ceil(out / pack), ng)))
            if self.gidx:
                parts.append(("weight_g_idx", "I32", (inn,)))
            return tuple(parts)
        if self.scheme in ("ct-int8", "ct-fp8"):
            dtype = "I8" if self.scheme == "ct-int8" else "F8_E4M3"
            if self.group == -1:
                sshape: tuple[int, ...] = (1,)
            elif self.group == 0:
                sshape = (out, 1)
            elif self.block:
                sshape = (math.ceil(out / self.block), math.ceil(inn / self.block))
            else:
                sshape = (out, math.ceil(inn / self.group))
            parts = [("weight", dtype, (out, inn)), ("weight_scale", sd, sshape)]
            if self.asym:
                parts.append(("weight_zero_point", "I8", sshape))
            if self.act_scale:
                parts.append(("input_scale", sd, (1,)))
            return tuple(parts)
        if self.scheme == "ct-nvfp4":
            parts = [
                ("weight_packed", "U8", (out, math.ceil(inn / 2))),
                ("weight_scale", "F8_E4M3", (out, math.ceil(inn / 16))),
                ("weight_global_scale", "F32", (1,)),
            ]
            if self.act_scale:
                parts.append(("input_global_scale", "F32", (1,)))
            return tuple(parts)
        if self.scheme in ("bnb-nf4", "bnb-fp4"):
            numel = out * inn
            blocks = math.ceil(numel / 64)
            parts = [("weight", "U8", (math.ceil(numel / 2), 1)), ("quant_map", "F32", (16,))]
            if self.double_quant:
                parts += [
                    ("absmax", "U8", (blocks,)),
                    ("nested_absmax", "F32", (math.ceil(blocks / 256),)),
                    ("nested_quant_map", "F32", (256,)),
                ]
            else:
                parts.append(("absmax", "F32", (blocks,)))
            return tuple(parts)
        if self.scheme == "bnb-int8":
            return (("weight", "I8", (out, inn)), ("SCB", "F32", (out,)))
        raise VramkitError(f"format {self.name}: unknown checkpoint scheme {self.scheme!r}.")

    def vllm_marlin_delta(self, shape: tuple[int, ...]) -> int:
        """Bytes vLLM holds for one linear of `shape` after loading, minus the checkpoint's
        (tensor parallel 1; see `vramkit.quant.vllm_loaded_bytes`)."""
        out, inn = shape
        marlin_group = self.group in (0, 32, 64, 128)
        if self.scheme == "gptq" and self.element_bits in (4, 8) and not self.asym and marlin_group:
            qzeros = 4 * math.ceil(inn / (self.group or inn)) * (out // 32 * self.element_bits)
            # the qzeros and (without act-order) g_idx become empty; act-order keeps the sorted
            # g_idx and adds g_idx_sort_indices (int32, in)
            return -qzeros + (4 * inn if self.desc_act else -4 * inn)
        if self.scheme == "ct-pack" and self.gidx:
            return 4 * inn  # g_idx_sort_indices
        return 0

    def tensor_bytes(self, shape: tuple[int, ...]) -> int:
        """Exact bytes of the stored tensors of one linear of `shape` (see `stored_tensors`)."""
        return sum(_DTYPE_BYTES[d] * math.prod(s) for _, d, s in self.stored_tensors(shape))

    @property
    def bits_per_weight(self) -> float:
        """Stored bits per weight of a 4096 x 4096 linear (scales and indices included)."""
        return 8 * self.tensor_bytes((4096, 4096)) / 4096**2


# --------------------------------------------------------------------------- format names

_NAME = re.compile(
    r"^(?P<scheme>GPTQ|AWQ|CT_PACK|CT_INT8|CT_FP8|CT_NVFP4|BNB_NF4|BNB_FP4|BNB_INT8)"
    r"(?:_W(?P<bits>\d+))?(?:_(?P<group>G\d+|CH|T|B\d+))?(?P<flags>(?:_[A-Z0-9]+)*)$"
)
_FLAGS = ("ASYM", "ACT", "GIDX", "STATIC", "DQ", "BF16", "FP16", "FP32")


def format_name(
    scheme: str,
    *,
    bits: int | None = None,
    group: str | None = None,
    flags: Sequence[str] = (),
) -> str:
    """The canonical name of a checkpoint format (``GPTQ_W4_G128``, ``CT_FP8_CH_BF16_STATIC``)."""
    parts = [scheme]
    if bits is not None:
        parts.append(f"W{bits}")
    if group is not None:
        parts.append(group)
    parts += [f for f in _FLAGS if f in flags]
    return "_".join(parts)


def is_checkpoint_format_name(name: str) -> bool:
    """True when `name` is spelled like a checkpoint format (``GPTQ_…``, ``CT_…``, …)."""
    return name.strip().upper().startswith(("GPTQ_", "AWQ_", "CT_", "BNB_"))


@cache
def checkpoint_format(name: str) -> CheckpointFormat:
    """The `CheckpointFormat` a name stands for, or one clear error saying what is allowed."""
    key = name.strip().upper()
    m = _NAME.match(key)
    allowed = (
        "GPTQ_W{2,3,4,8}_G<size>|_CH, AWQ_W4_G<size>, CT_PACK_W{4,8}_G<size>|_CH[_ASYM][_GIDX]_"
        "{BF16,FP16}, CT_INT8_{CH,T,G<size>}[_ASYM][_STATIC]_{BF16,FP16,FP32}, "
        "CT_FP8_{CH,T,B128}[_STATIC]_{BF16,FP16,FP32}, CT_NVFP4[_STATIC], BNB_NF4[_DQ], "
        "BNB_FP4[_DQ], BNB_INT8"
    )
    if m is None:
        raise VramkitError(f"unknown checkpoint format {name!r}; allowed: {allowed}.")
    scheme = m.group("scheme")
    flags = [f for f in m.group("flags").split("_") if f]
    bad = [f for f in flags if f not in _FLAGS]
    if bad:
        raise VramkitError(
            f"checkpoint format {name!r}: unknown flag(s) {bad}; allowed: {allowed}."
        )
    bits = int(m.group("bits")) if m.group("bits") else None
    grp = m.group("group")
    scale = next((_SCALE_DTYPES[f] for f in ("BF16", "FP16", "FP32") if f in flags), "F16")
    group, block = _group_of(name, grp)
    kw: dict[str, Any] = {
        "name": key,
        "layout": "checkpoint",
        "group": group,
        "block": block,
        "scale_dtype": scale,
        "asym": "ASYM" in flags,
        "gidx": "GIDX" in flags,
        "act_scale": "STATIC" in flags,
        "desc_act": "ACT" in flags,
        "double_quant": "DQ" in flags,
        "source": _SOURCES[scheme],
        "sources": _records(scheme),
    }
    need_bits = {"GPTQ": (2, 3, 4, 8), "AWQ": (4,), "CT_PACK": (2, 4, 8)}
    if scheme in need_bits:
        if bits not in need_bits[scheme] or grp is None or grp == "T" or grp.startswith("B"):
            raise VramkitError(
                f"checkpoint format {name!r}: {scheme} needs W<bits> with bits in "
                f"{list(need_bits[scheme])} and a group (G<size> or CH); allowed: {allowed}."
            )
        if scheme == "AWQ" and group == 0:
            raise VramkitError(f"checkpoint format {name!r}: AWQ needs a group size G<size>.")
        scheme_id = {"GPTQ": "gptq", "AWQ": "awq", "CT_PACK": "ct-pack"}[scheme]
        desc = f"{scheme} {bits}-bit, " + (f"group {group}" if group else "per channel")
        return CheckpointFormat(element_bits=bits, scheme=scheme_id, description=desc, **kw)
    if bits is not None:
        raise VramkitError(f"checkpoint format {name!r}: {scheme} takes no W<bits>; {allowed}.")
    if scheme in ("CT_INT8", "CT_FP8"):
        if grp is None:
            raise VramkitError(f"checkpoint format {name!r} needs a scale strategy; {allowed}.")
        sid = "ct-int8" if scheme == "CT_INT8" else "ct-fp8"
        return CheckpointFormat(
            element_bits=8, scheme=sid, description=f"compressed-tensors {scheme[3:]}", **kw
        )
    if grp is not None:
        raise VramkitError(f"checkpoint format {name!r}: {scheme} takes no group; {allowed}.")
    if scheme == "CT_NVFP4":
        return CheckpointFormat(
            element_bits=4, scheme="ct-nvfp4", description="compressed-tensors NVFP4", **kw
        )
    sid = {"BNB_NF4": "bnb-nf4", "BNB_FP4": "bnb-fp4", "BNB_INT8": "bnb-int8"}[scheme]
    return CheckpointFormat(
        element_bits=8 if sid == "bnb-int8" else 4,
        scheme=sid,
        description=f"bitsandbytes {scheme[4:]} (quant_state JSON blob not counted)",
        **kw,
    )


_GH = "https://github.com/"
_SOURCES = {
    "GPTQ": _GH + "AutoGPTQ/AutoGPTQ/blob/179776bd1d97a2e7f84b72318630f43719647a11/"
    "auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py (QuantLinear buffers qweight, qzeros, "
    "scales, g_idx)",
    "AWQ": _GH + "casper-hansen/AutoAWQ/blob/030fe2a15b959425d278de8121f03ed895e3b10c/"
    "awq/modules/linear/gemm.py (WQLinear_GEMM qweight, qzeros, scales)",
    "CT_PACK": _GH + "neuralmagic/compressed-tensors/blob/0199c6e7f96f7ac581138849ed8c7140f9842fe1"
    "/src/compressed_tensors/compressors/quantized_compressors/pack_quantized.py",
    "CT_INT8": "compressed-tensors int-quantized: weight int8 + weight_scale (+ zero point, "
    "input_scale); layout as written by llm-compressor, not pinned to a line here",
    "CT_FP8": "compressed-tensors float-quantized: weight F8_E4M3 + weight_scale (+ input_scale); "
    "layout as written by llm-compressor, not pinned to a line here",
    "CT_NVFP4": "compressed-tensors nvfp4-pack-quantized: weight_packed U8, weight_scale F8_E4M3 "
    "per 16, weight_global_scale F32 (+ input_global_scale); not pinned to a line here",
    "BNB_NF4": "bitsandbytes Params4bit + QuantState.as_dict(packed=True); the JSON quant_state "
    "blob is not counted (estimate)",
    "BNB_FP4": "bitsandbytes Params4bit + QuantState.as_dict(packed=True); the JSON quant_state "
    "blob is not counted (estimate)",
    "BNB_INT8": "bitsandbytes Int8Params: weight int8 + SCB float32 per row (estimate)",
}


_RECORDS: dict[str, tuple[Source, ...]] = {
    "GPTQ": (
        Source(
            url=_GH + "AutoGPTQ/AutoGPTQ/blob/179776bd1d97a2e7f84b72318630f43719647a11/"
            "auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py",
            quote="torch.zeros((infeatures // 32 * self.bits, outfeatures), dtype=torch.int32) "
            "... torch.zeros((math.ceil(infeatures / self.group_size), outfeatures // 32 * "
            "self.bits), dtype=torch.int32) ... torch.zeros((math.ceil(infeatures / "
            "self.group_size), outfeatures), dtype=torch.float16) ... torch.tensor([i // "
            "self.group_size for i in range(infeatures)], dtype=torch.int32)",
            kind="code",
            note="QuantLinear.__init__ buffers qweight, qzeros, scales, g_idx",
        ),
    ),
    "AWQ": (
        Source(
            url=_GH + "casper-hansen/AutoAWQ/blob/030fe2a15b959425d278de8121f03ed895e3b10c/"
            "awq/modules/linear/gemm.py",
            quote="(intweight.shape[0], intweight.shape[1] // 32 * awq_linear.w_bit), "
            "dtype=torch.int32 ... (zeros.shape[0], zeros.shape[1] // 32 * awq_linear.w_bit), "
            "dtype=torch.int32",
            kind="code",
            note="WQLinear_GEMM.from_linear packs qweight [in, out/8] and qzeros [in/g, out/8]; "
            "scales [in/g, out] fp16 as registered in __init__ (read, not quoted here)",
        ),
    ),
    "CT_PACK": (
        Source(
            url=_GH + "neuralmagic/compressed-tensors/blob/0199c6e7f96f7ac581138849ed8c7140f9842fe1"
            "/src/compressed_tensors/compressors/quantized_compressors/pack_quantized.py",
            quote='"weight_packed": (torch.Size((weight_shape[0], packed_size)), torch.int32) ... '
            "weight_shape = torch.tensor(weight.shape) ... "
            '"weight_zero_point" ... (packed_size_zp, weight_shape[-1] // zp_dim)',
            kind="code",
            note="torch.tensor of a torch.Size is int64: weight_shape stores 16 bytes",
        ),
    ),
}


def _records(scheme: str) -> tuple[Source, ...]:
    """The `Source` records of a scheme, or one that says its layout is not pinned here."""
    if scheme in _RECORDS:
        return _RECORDS[scheme]
    return (
        Source(
            document="vramkit/model/checkpoint_formats.py",
            quote=_SOURCES[scheme],
            kind="secondary",
            unconfirmed=True,
            note="tensor list as the quantizer writes it; no line of its code is pinned here",
        ),
    )


def _group_of(name: str, grp: str | None) -> tuple[int, int]:
    """(group, block) from a name's group part: G<n> → n, CH → 0, T → -1, B<n> → block n."""
    if grp is None or grp == "CH":
        return 0, 0
    if grp == "T":
        return -1, 0
    size = int(grp[1:])
    if size < 1 or size > 1 << 20:
        raise VramkitError(f"checkpoint format {name!r}: group/block size {size} out of range.")
    return (size, 0) if grp.startswith("G") else (size, size)


# --------------------------------------------------------------------------- quantization_config


def _field(
    q: Mapping[str, Any], where: str, key: str, kind: type | tuple[type, ...], default: Any
) -> Any:
    value = q.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) and kind is int:
        raise VramkitError(f"{where}: {key} must be an integer, got {value!r}.")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise VramkitError(f"{where}: {key} must be {names}, got {value!r:.60}.")
    return value


def _required(q: Mapping[str, Any], where: str, key: str, alias: str = "") -> int:
    """An integer field the quantizer always writes (`alias`: its other spelling)."""
    if q.get(key) is None and alias and q.get(alias) is not None:
        key = alias
    if q.get(key) is None:
        raise VramkitError(
            f"{where}: {key} is missing; the quantizer writes it (e.g. {key}: 4 or 128) and the "
            "checkpoint's size depends on it."
        )
    return _field(q, where, key, int, None)


def _choice(value: Any, where: str, key: str, allowed: Sequence[Any]) -> Any:
    if value not in allowed:
        raise VramkitError(
            f"{where}: {key} {value!r:.60} is not supported; allowed: "
            f"{', '.join(map(repr, allowed))}."
        )
    return value


def _group_size(value: int, where: str) -> str:
    if value == -1:
        return "CH"
    if value < 1 or value > 1 << 20:
        raise VramkitError(f"{where}: group_size must be -1 or a positive size, got {value}.")
    return f"G{value}"


def _name_list(q: Mapping[str, Any], where: str, key: str) -> list[str]:
    value = q.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise VramkitError(f"{where}: {key} must be a list of module names, got {value!r:.80}.")
    return list(value)


def _module(t: TensorSpec) -> str:
    """The module a weight tensor belongs to (``model.layers.0.self_attn.q_proj``)."""
    return t.name.removesuffix(".weight")


def _linear(t: TensorSpec) -> bool:
    """An ``nn.Linear`` weight: every matrix, and the output head (an ``nn.Linear`` too)."""
    return t.kind == "matrix" or (t.group == "lm_head" and t.kind == "embedding")


def _gptq(q: Mapping[str, Any], where: str) -> Callable[[TensorSpec], str | None]:
    bits = _choice(_required(q, where, "bits"), where, "bits", (2, 3, 4, 8))
    group = _group_size(_required(q, where, "group_size"), where)
    act = _field(q, where, "desc_act", bool, False)  # g_idx is stored either way
    sym = _field(q, where, "sym", bool, True)  # qzeros are stored either way
    fmt = str(_field(q, where, "checkpoint_format", str, "gptq")).lower()
    _choice(fmt, where, "checkpoint_format", ("gptq", "gptq_v2"))
    head = _field(q, where, "lm_head", bool, False)
    if q.get("modules_in_block_to_quantize") is not None:
        raise VramkitError(
            f"{where}: modules_in_block_to_quantize (a partial GPTQ) is not modelled; pass a "
            "recipe explicitly (--recipe-map)."
        )
    flags = (["ASYM"] if not sym else []) + (["ACT"] if act and group != "CH" else [])
    name = format_name("GPTQ", bits=bits, group=group, flags=flags)
    skip = _name_list(q, where, "modules_to_not_convert")

    def rule(t: TensorSpec) -> str | None:
        if not _linear(t) or any(s in _module(t) for s in skip):
            return None
        if t.group == "lm_head":
            return name if head else None
        # AutoGPTQ quantizes the linears inside the decoder blocks; routers stay float
        return None if t.group == "router" or t.layer is None else name

    return rule


def _awq(q: Mapping[str, Any], where: str) -> Callable[[TensorSpec], str | None]:
    bits = _required(q, where, "bits", "w_bit")  # AutoAWQ's own quant_config: w_bit
    _choice(bits, where, "bits", (4,))
    group = _required(q, where, "group_size", "q_group_size")
    if group < 1:
        raise VramkitError(f"{where}: AWQ group_size must be a positive size, got {group}.")
    version = str(_field(q, where, "version", str, "gemm")).lower()
    _choice(version, where, "version", ("gemm",))
    _field(q, where, "zero_point", bool, True)  # qzeros are stored either way
    name = format_name("AWQ", bits=bits, group=f"G{group}")
    # transformers' replace_with_awq_linear and vLLM's is_layer_skipped_awq: substring match
    skip = _name_list(q, where, "modules_to_not_convert")

    def rule(t: TensorSpec) -> str | None:
        if not _linear(t) or t.layer is None or any(s in _module(t) for s in skip):
            return None
        return name

    return rule


def _bnb(q: Mapping[str, Any], where: str) -> Callable[[TensorSpec], str | None]:
    four = _field(q, where, "load_in_4bit", bool, False)
    eight = _field(q, where, "load_in_8bit", bool, False)
    if four == eight:
        raise VramkitError(
            f"{where}: exactly one of load_in_4bit and load_in_8bit must be true, got "
            f"{four!r} and {eight!r}."
        )
    if four:
        kind = str(_field(q, where, "bnb_4bit_quant_type", str, "fp4")).lower()
        _choice(kind, where, "bnb_4bit_quant_type", ("nf4", "fp4"))
        dq = _field(q, where, "bnb_4bit_use_double_quant", bool, False)
        name = format_name(f"BNB_{kind.upper()}", flags=("DQ",) if dq else ())
    else:
        name = "BNB_INT8"
    # transformers keeps the output head in float (get_keys_to_not_convert) unless told
    skip = _name_list(q, where, "llm_int8_skip_modules") or ["lm_head"]

    def rule(t: TensorSpec) -> str | None:
        if not _linear(t) or any(s in _module(t) for s in skip):
            return None
        return name

    return rule


def _ct_matches(target: str, t: TensorSpec, where: str) -> bool:
    """compressed-tensors target / ignore matching: ``re:<regex>`` (re.match on the module
    name), the class name ``Linear``, or an exact module name."""
    module = _module(t)
    if target.startswith("re:"):
        try:
            return re.match(target[3:], module) is not None
        except re.error as exc:
            raise VramkitError(
                f"{where}: {target!r} is not a valid regular expression ({exc})."
            ) from None
    if target == "Linear":
        return _linear(t)
    if target[:1].isupper() and "." not in target:
        raise VramkitError(
            f"{where}: target class {target!r} is not modelled; vramkit reads 'Linear', "
            "'re:<regex>' and module names."
        )
    return module == target


def _ct_scheme(group: Mapping[str, Any], fmt: str, dtype: str, where: str) -> str:
    weights = group.get("weights")
    if not isinstance(weights, Mapping):
        raise VramkitError(f"{where}: weights must be an object of quantization args.")
    bits = _field(weights, where, "num_bits", int, 8)
    wtype = _choice(
        str(_field(weights, where, "type", str, "int")), where, "type", ("int", "float")
    )
    gsize = _field(weights, where, "group_size", int, None)
    # QuantizationArgs leaves strategy None: group when a group_size is set, else tensor
    strategy = str(_field(weights, where, "strategy", str, "group" if gsize else "tensor"))
    _choice(strategy, where, "strategy", ("tensor", "channel", "group", "tensor_group", "block"))
    sym = _field(weights, where, "symmetric", bool, True)
    actorder = weights.get("actorder")
    _choice(actorder, where, "actorder", (None, False, "group", "weight", "static", "dynamic"))
    inputs = group.get("input_activations")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise VramkitError(f"{where}: input_activations must be an object or null.")
    static = bool(inputs) and not _field(inputs or {}, where, "dynamic", (bool, str), False)
    scale = {"BF16": "BF16", "FP16": "FP16", "FP32": "FP32"}[dtype]

    def grp() -> str:
        if strategy == "channel":
            return "CH"
        if strategy == "tensor":
            return "T"
        if strategy == "block":
            blk = weights.get("block_structure")
            if (
                not isinstance(blk, list)
                or len(blk) != 2
                or blk[0] != blk[1]
                or not isinstance(blk[0], int)
                or isinstance(blk[0], bool)
            ):
                raise VramkitError(
                    f"{where}: block_structure must be a square [n, n] block, got {blk!r:.40}."
                )
            return f"B{blk[0]}"
        if gsize is None:
            raise VramkitError(f"{where}: strategy {strategy!r} needs a group_size.")
        return _group_size(gsize, where)

    flags: list[str] = []
    if fmt == "nvfp4-pack-quantized" or (wtype == "float" and bits == 4):
        if gsize not in (None, 16) or strategy != "tensor_group":
            raise VramkitError(
                f"{where}: NVFP4 stores one FP8 scale per 16 weights (strategy tensor_group, "
                f"group_size 16); got strategy {strategy!r}, group_size {gsize!r}."
            )
        return format_name("CT_NVFP4", flags=["STATIC"] if inputs else [])
    if strategy == "tensor_group":
        raise VramkitError(f"{where}: strategy 'tensor_group' is only read for NVFP4 weights.")
    if fmt == "pack-quantized":
        _choice(bits, where, "num_bits", (2, 4, 8))
        if wtype != "int" or strategy not in ("group", "channel"):
            raise VramkitError(
                f"{where}: pack-quantized stores int weights per group or channel; got type "
                f"{wtype!r}, strategy {strategy!r}."
            )
        flags = [scale] + (["ASYM"] if not sym else []) + (["GIDX"] if actorder == "group" else [])
        return format_name("CT_PACK", bits=bits, group=grp(), flags=flags)
    if fmt in ("int-quantized", "float-quantized", "naive-quantized"):
        _choice(bits, where, "num_bits", (8,))
        flags = [scale] + (["ASYM"] if not sym else []) + (["STATIC"] if static else [])
        scheme = "CT_INT8" if wtype == "int" else "CT_FP8"
        if scheme == "CT_FP8" and not sym:
            raise VramkitError(
                f"{where}: asymmetric FP8 weights are not a compressed-tensors layout."
            )
        return format_name(scheme, group=grp(), flags=flags)
    raise VramkitError(
        f"{where}: format {fmt!r} is not read; vramkit reads pack-quantized, int-quantized, "
        "float-quantized, naive-quantized and nvfp4-pack-quantized."
    )


def _compressed_tensors(
    q: Mapping[str, Any], where: str, dtype: str
) -> Callable[[TensorSpec], str | None]:
    top = str(_field(q, where, "format", str, ""))
    groups = q.get("config_groups")
    if not isinstance(groups, Mapping) or not groups:
        raise VramkitError(f"{where}: config_groups must be a non-empty object of scheme groups.")
    if q.get("transform_config"):
        raise VramkitError(
            f"{where}: transform_config (rotations stored beside the weights) is not modelled."
        )
    if q.get("sparsity_config"):
        raise VramkitError(
            f"{where}: sparse (2:4) compressed-tensors checkpoints are not modelled."
        )
    ignore = _name_list(q, where, "ignore")
    schemes: list[tuple[list[str], str]] = []
    for gname, group in groups.items():
        gw = f"{where} config_groups.{gname}"
        if not isinstance(group, Mapping):
            raise VramkitError(f"{gw} must be an object.")
        targets = _name_list(group, gw, "targets")
        if not targets:
            raise VramkitError(f"{gw}: targets must name at least one module (e.g. ['Linear']).")
        fmt = str(_field(group, gw, "format", str, top) or top)
        if not fmt:
            raise VramkitError(f"{where}: format is missing (e.g. 'pack-quantized').")
        schemes.append((targets, _ct_scheme(group, fmt, dtype, gw)))

    def rule(t: TensorSpec) -> str | None:
        if not _linear(t) or any(_ct_matches(i, t, where) for i in ignore):
            return None
        for targets, name in schemes:
            if any(_ct_matches(x, t, where) for x in targets):
                return name
        return None

    return rule


def _fp8(q: Mapping[str, Any], where: str) -> Callable[[TensorSpec], str | None]:
    """HF / vLLM ``quant_method: fp8`` checkpoints (AutoFP8, llm-compressor's older export):
    weight F8_E4M3 with one F32 ``weight_scale`` per tensor (or per square block:
    ``weight_scale_inv``), plus one F32 ``input_scale`` with ``activation_scheme: static``. The
    output head stays in float (vLLM's ParallelLMHead is not an fp8 linear); ``ignored_layers``
    (or ``modules_to_not_convert``) name modules left in float, exactly or as a dotted suffix."""
    scheme = str(_field(q, where, "activation_scheme", str, "dynamic"))
    _choice(scheme, where, "activation_scheme", ("static", "dynamic"))
    block = q.get("weight_block_size")
    if block is None:
        group = "T"
    elif (
        isinstance(block, list)
        and len(block) == 2
        and block[0] == block[1]
        and isinstance(block[0], int)
        and not isinstance(block[0], bool)
        and 1 <= block[0] <= 1 << 20
    ):
        group = f"B{block[0]}"
    else:
        raise VramkitError(
            f"{where}: weight_block_size must be a square [n, n] block, got {block!r:.40}."
        )
    flags = ["FP32"] + (["STATIC"] if scheme == "static" else [])
    name = format_name("CT_FP8", group=group, flags=flags)
    skip = _name_list(q, where, "ignored_layers") + _name_list(q, where, "modules_to_not_convert")

    def rule(t: TensorSpec) -> str | None:
        module = _module(t)
        if t.kind != "matrix" or any(module == s or module.endswith("." + s) for s in skip):
            return None
        return name

    return rule


def tensor_rule(q: Mapping[str, Any], native: str) -> Callable[[TensorSpec], str | None]:
    """The format each tensor is stored in under `quantization_config` `q` (None = left in the
    checkpoint's float dtype `native`)."""
    method = str(q.get("quant_method", "")).lower()
    where = f"quantization_config (quant_method {method!r})"
    if method == "gptq":
        return _gptq(q, where)
    if method == "awq":
        return _awq(q, where)
    if method == "bitsandbytes":
        return _bnb(q, where)
    if method == "compressed-tensors":
        return _compressed_tensors(q, where, native)
    if method == "fp8":
        return _fp8(q, where)
    raise VramkitError(
        f"quantization_config quant_method {method!r:.60} is not a checkpoint vramkit reads; "
        f"it reads {', '.join(METHODS)}, fp8 (128x128 blocks) and mxfp4 (gpt-oss)."
    )


def layout_for(q: Mapping[str, Any], inventory: Sequence[TensorSpec], native: str) -> str:
    """A ``selector=FORMAT,...`` recipe for a quantized checkpoint: ``*`` = the commonest
    format of its linears, ``name:GLOB`` for every tensor stored otherwise (layer numbers
    folded into ``*`` where that names exactly the same set of tensors)."""
    rule = tensor_rule(q, native)
    chosen = {t.name: (rule(t) or native) for t in inventory if t.kind in ("matrix", "embedding")}
    if not chosen:
        raise VramkitError("this model has no matrices to quantize.")
    if all(f == native for f in chosen.values()):
        raise VramkitError(
            f"quantization_config {dict(q)!r:.200} quantizes no tensor of this model (every "
            "linear is ignored or not targeted)."
        )
    main = Counter(f for f in chosen.values() if f != native).most_common(1)[0][0]
    rules: dict[str, str] = {"*": main}
    if all(t.native == "BF16" for t in inventory if t.kind == "vector"):
        rules["vectors"] = native  # norms and biases in the checkpoint's dtype (F32 ones kept)
    odd = {n: f for n, f in chosen.items() if f != main}
    by_glob: dict[str, set[str]] = {}
    for n in odd:
        by_glob.setdefault(re.sub(r"\.\d+\.", ".*.", n), set()).add(n)
    for glob, names in by_glob.items():
        fmts = {odd[n] for n in names}
        reach = {n for n in chosen if fnmatch.fnmatchcase(n, glob)}
        if len(fmts) == 1 and reach == names:
            rules[f"name:{glob}"] = fmts.pop()
        else:
            rules.update({f"name:{n}": odd[n] for n in sorted(names)})
    return ",".join(f"{k}={v}" for k, v in rules.items())
