"""Recipes (a storage format per tensor) and the weight bytes of a model under a recipe.

A recipe maps selectors to format names. Selectors, most specific first:

- ``name:GLOB`` — a tensor whose checkpoint name (``layers.0.hc_attn_fn``) or GGUF name
  (``blk.0.hc_attn_fn.weight``) matches the shell-style pattern;
- ``role:ROLE`` — every tensor with that role (``role:hc_fn``, ``role:attn_sink``);
- ``mtp.<group>.<role>``, ``mtp.<group>``, ``mtp`` (multi-token-prediction tensors only);
- ``<group>.<role>`` (e.g. ``indexer.wq_b``), ``<group>`` (e.g. ``attention``), ``routed_experts``
  (both routed groups);
- ``1d`` / ``2d`` / ``3d`` — tensors of that rank as GGUF stores them (routed experts are 3-D);
  ``vectors`` is a synonym of ``1d``;
- ``*`` — every other matrix and embedding.

``name:``, ``role:``, ``<group>.<role>`` and the rank selectors reach every tensor; the broad ones
(``<group>``, ``routed_experts``, ``mtp``, ``*``) reach matrices and embeddings only, so that 1-D
tensors and small fp parameters (``vector`` kind) keep their native dtype unless a selector names
them (rank selectors included) or the recipe sets ``vectors``; integer tables keep theirs
unless ``name:``, ``role:`` or ``<group>.<role>`` names them. Recipes of kind
``llamacpp`` instead apply llama.cpp's per-tensor rules for a file type (see
`vramkit.runtimes.llamacpp.mix`).

    weight_bytes = Σ_tensors count × format.tensor_bytes(shape)
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..catalog import ModelSpec, get_model
from ..datafiles import load_document
from ..errors import VramkitError, shown, unknown_name
from ..model.tensors import GROUPS, ROUTED_GROUPS, TensorSpec
from ..runtimes.llamacpp import ftypes as llamacpp_ftypes
from ..sources import Source, parse_sources
from ..validate import check_record
from .formats import QuantFormat, get_format, storable_format

if TYPE_CHECKING:
    from ..families import Family
    from ..runtimes.llamacpp import mix as llamacpp_mix  # llama.cpp's rules: imported where used
    from . import llamacpp  # the grouped llama.cpp mix: imported where used (not on vLLM paths)

OFFICIAL = "official"
"""Recipe alias: a model's own checkpoint layout (`ModelSpec.checkpoint_layout`). Resolved here
only, by `get_recipe(OFFICIAL, model=...)`; every caller passes it through."""
RECIPE_KINDS = ("official", "community", "uniform", "llamacpp", "custom")
_SELECTOR_ALIASES = {"routed_experts": ROUTED_GROUPS, "experts": ROUTED_GROUPS}
RANK_SELECTORS = {"1d": 1, "2d": 2, "3d": 3, "vectors": 1}
"""Rank selectors: tensors of that rank as GGUF stores them (routed experts stacked: 3-D)."""


@dataclass(frozen=True)
class Recipe:
    """A storage format per tensor.

    `rules` maps selectors (see module docstring) to format names; `vectors` is the format for
    vector-kind tensors no selector names (None = their native dtype); `ftype` is the llama.cpp
    file type of ``llamacpp`` recipes and `imatrix` whether it was made with an importance matrix
    (None = only when the file type needs one); `outtype` the converter's ``--outtype`` of the
    file llama-quantize reads (``auto`` when None; the ``convert-<TYPE>`` recipes are that file
    itself: `ftype` COPY); `include_mtp` False drops the MTP module (GGUF
    conversions of DeepSeek leave it out: bartowski's DeepSeek-V3-0324 Q8_0 is 713.29 GB = the
    main model only); `user_selectors`: the selectors a user typed (custom recipes), each of
    which must match a tensor of the model it is applied to. `sources`: the `Source` records
    of a data/recipes.yaml recipe (`source` then names where they point); recipes built in code
    name their origin in `source` alone (llama.cpp's rules, the user's input).
    """

    id: str
    name: str
    kind: str
    rules: Mapping[str, str] = field(default_factory=dict)
    vectors: str | None = None
    ftype: str | None = None
    imatrix: bool | None = None
    outtype: str | None = None
    include_mtp: bool = True
    description: str = ""
    source: str = ""
    user_selectors: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()

    def format_for(self, t: TensorSpec) -> QuantFormat:
        """The format tensor `t` is stored in under this (selector) recipe, GGUF row fallback
        applied. ``llamacpp`` recipes need the whole model: use `tensor_formats`."""
        if self.kind == "llamacpp":
            raise VramkitError("llama.cpp recipes type tensors per model: call tensor_formats().")
        name = self._lookup(t)
        if name is None:
            if t.kind == "table":
                return get_format(t.native)
            return get_format(self.vectors or t.native)
        return storable_format(get_format(name), t.shape[-1])

    def _lookup(self, t: TensorSpec) -> str | None:
        name = self._match(t)
        if name is None and t.kind not in ("vector", "table"):
            raise VramkitError(
                f"recipe {self.id!r} has no format for {t.name} (group {t.group!r}); add a rule "
                f"for {t.group!r} or '*'."
            )
        return name

    def _match(self, t: TensorSpec) -> str | None:
        """The format name of the most specific selector that reaches `t`, or None."""
        for key in self.rules:
            if key.startswith("name:") and any(fnmatch.fnmatchcase(n, key[5:]) for n in _names(t)):
                return self.rules[key]
        exact = f"{t.group}.{t.role}"
        rank = [k for k, r in RANK_SELECTORS.items() if r == gguf_rank(t)]
        if t.kind in ("vector", "table"):  # only selectors that name the tensor reach it
            order = [f"role:{t.role}", *(["mtp." + exact] if t.mtp else []), exact]
            order += rank if t.kind == "vector" else []  # integer tables: named ones only
        else:
            keys = [exact, t.group]
            keys += [a for a, groups in _SELECTOR_ALIASES.items() if t.group in groups]
            if t.mtp:
                keys = ["mtp." + k for k in keys] + ["mtp", *keys]
            order = [f"role:{t.role}", *keys, *rank, "*"]
        for key in order:
            if key in self.rules:
                return self.rules[key]
        return None


def gguf_rank(t: TensorSpec) -> int:
    """The tensor's rank as a GGUF file stores it (the routed experts of a layer are one 3-D
    tensor)."""
    return len(t.shape) + (1 if t.experts_per_token is not None else 0)


def _names(t: TensorSpec) -> tuple[str, ...]:
    return (t.name, gguf_name(t)) if t.gguf_class else (t.name,)


def gguf_name(t: TensorSpec) -> str:
    """llama.cpp's name for `t` (``blk.3.ffn_down_exps.weight``). Tensors without a GGUF class get
    a placeholder from their role: a ``.weight`` name for matrices and embeddings (llama.cpp
    quantizes them like any weight of category "other"), none for vectors (1-D tensors and
    biases, which the converter writes F32 and llama.cpp keeps)."""
    from . import llamacpp

    prefix = f"blk.{t.layer}." if t.layer is not None else ""
    return prefix + llamacpp.gguf_stem(t)


@lru_cache(maxsize=256)  # specs hash by identity
def model_facts(model: ModelSpec) -> llamacpp_mix.ModelFacts:
    """What llama.cpp's quantizer reads from a model's GGUF metadata (see `ModelFacts`); the
    llama.cpp arch name comes from the family records' GGUF architectures, the block count
    includes a NextN block the converter keeps in the file (`Family.gguf_keeps_mtp`)."""
    from ..families import gguf_model_types
    from ..runtimes.llamacpp import mix as llamacpp_mix

    cfg = model.config
    model_type = str(cfg.get("model_type") or "")
    archs = [a for a, t in gguf_model_types().items() if t == model_type]
    arch = archs[0] if archs else model_type
    heads = int(cfg.get("num_attention_heads") or 1)
    kv = (
        1 if cfg.get("kv_lora_rank") else (int(cfg.get("num_key_value_heads") or heads) or 1)
    )  # MLA GGUFs: head_count_kv 1
    experts = int(
        cfg.get("n_routed_experts") or cfg.get("num_local_experts") or cfg.get("num_experts") or 0
    )
    layers = int(cfg.get("num_hidden_layers") or 0)
    # hparams.n_layer_all = the file's block_count: the NextN block counts where it is in the file
    mtp = int(cfg.get("num_nextn_predict_layers") or 0) if _keeps_mtp(model) else 0
    return llamacpp_mix.ModelFacts(
        arch,
        layers + mtp,
        experts,
        max(heads // kv, 1),
        llamacpp_mix.is_70b(arch, layers, heads, kv, experts),
    )


@lru_cache(maxsize=65536)
def _gguf_tensor(
    t: TensorSpec, ne: tuple[int, ...], arch: str, checkpoint: str, outtype: str = "auto"
) -> llamacpp_mix.GgufTensor:
    """`t` as the GGUF file holds it (name, dims, the converter's type): a pure function of
    these values, computed once per distinct tensor (layers and models repeat them)."""
    from ..runtimes.llamacpp import mix as llamacpp_mix

    name = gguf_name(t)
    n_dims = len(ne)
    while n_dims > 1 and ne[n_dims - 1] == 1:  # ggml_n_dims (`GgufTensor.n_dims`)
        n_dims -= 1
    src = llamacpp_mix.converter_type(
        name, n_dims, arch=arch, native=t.native, checkpoint=checkpoint, outtype=outtype, ne0=ne[0]
    )
    return llamacpp_mix.GgufTensor(name, ne, src)


@lru_cache(maxsize=64)
def _cached_llamacpp_formats(
    model: ModelSpec, ftype: str, imatrix: bool | None, outtype: str = "auto"
) -> tuple[tuple[TensorSpec, QuantFormat], ...]:
    """llama.cpp types per (spec, file type, imatrix, converter outtype), computed once: specs
    hash by identity."""
    return tuple(_llamacpp_formats(model, ftype, imatrix, outtype))


def _llamacpp_formats(
    model: ModelSpec, ftype: str, imatrix: bool | None, outtype: str = "auto"
) -> list[tuple[TensorSpec, QuantFormat]]:
    from . import llamacpp

    grouped = _llamacpp_groups(model, ftype, imatrix, outtype)
    if grouped is not None:  # expanded from the groups typed once per layer kind
        lay, types, _ = grouped
        fmts = {ty: _ggml_format(ty) for ts in types for ty in set(ts)}
        flat = llamacpp.flat_types(lay, types)
        return [(t, fmts[ty]) for t, ty in zip(lay.specs, flat, strict=True)]
    return _llamacpp_formats_per_tensor(model, ftype, imatrix, outtype)


def _llamacpp_formats_per_tensor(
    model: ModelSpec, ftype: str, imatrix: bool | None, outtype: str = "auto"
) -> list[tuple[TensorSpec, QuantFormat]]:
    """`tensor_formats` of a llama.cpp file type, tensor by tensor (where the grouped path
    does not apply, and where llama-quantize stops: its error names the tensor)."""
    from ..runtimes.llamacpp import mix as llamacpp_mix

    facts = model_facts(model)
    specs, tensors = _gguf_tensors(model, outtype)
    types = llamacpp_mix.target_types(tensors, ftype, facts, imatrix=imatrix)
    fmts = {ty: _ggml_format(ty) for ty in set(types)}  # a handful of types over many tensors
    return [(t, fmts[ty]) for t, ty in zip(specs, types, strict=True)]


@lru_cache(maxsize=64)
def _llamacpp_groups(
    model: ModelSpec, ftype: str, imatrix: bool | None, outtype: str = "auto"
) -> tuple[llamacpp.Layout, tuple[tuple[str, ...], ...], tuple[llamacpp.FormatGroup, ...]] | None:
    """The model's GGUF layout, each group's types under `ftype` and the `FormatGroup`s (see
    `vramkit.quant.llamacpp`), or None where the per-tensor path must answer (a layout the
    grouping does not hold for, a tensor llama-quantize stops on)."""
    from . import llamacpp

    lay = _layout(model, outtype)
    if lay is None:
        return None
    try:
        types = llamacpp.unit_types(lay, ftype, imatrix)
        fmts = {ty: _ggml_format(ty) for ts in types for ty in set(ts)}
    except VramkitError:
        return None
    return lay, types, llamacpp.format_groups(lay, types, fmts)


def llamacpp_format_groups(
    model: ModelSpec, recipe: Recipe
) -> tuple[llamacpp.FormatGroup, ...] | None:
    """A llama.cpp recipe's tensors grouped by layer kind and type (`FormatGroup`: each row
    once × its block count), or None where only `tensor_formats` answers. For sums over the
    file (weight bytes, bytes per layer) without a pass over every tensor."""
    if recipe.kind != "llamacpp":
        return None
    grouped = _llamacpp_groups(model, recipe.ftype or "", recipe.imatrix, recipe.outtype or "auto")
    return None if grouped is None else grouped[2]


@lru_cache(maxsize=64)
def _layout(model: ModelSpec, outtype: str = "auto") -> llamacpp.Layout | None:
    """The model's GGUF tensors grouped by layer kind (`vramkit.quant.llamacpp.build_layout`),
    as the converter writes them at `outtype`; None where the grouping does not hold."""
    from . import llamacpp

    family = model.family_record  # resolved once, on the spec
    try:
        return llamacpp.build_layout(
            model,
            model.tensor_kinds,
            family.gguf_keeps_mtp,
            _checkpoint_types(model),
            model_facts(model),
            family,
            tuple(family.gguf_extra(model.config)),
            outtype,
        )
    except llamacpp.Ungroupable:
        return None


def _checkpoint_types(model: ModelSpec) -> list[str]:
    """Per inventory tensor, its format name in the official layout where the converter keeps
    some of the checkpoint's own types (`llamacpp_ftypes.MXFP4_REPACK_ARCHS`: DeepSeek V4's
    ``deepseek4`` and gpt-oss's MXFP4 experts), else ""."""
    inv = model.tensor_kinds
    if model_facts(model).arch in llamacpp_ftypes.MXFP4_REPACK_ARCHS:
        official = get_recipe(model.checkpoint_layout)
        if official.kind != "llamacpp":
            if any(k.startswith("name:") for k in official.rules):  # names decide: per tensor
                return [f.name for _, f in tensor_formats(model, official)]
            # selectors read a tensor's fields but its name and block: each kind typed once
            check_selectors_match(model, official)
            per_kind = [[official.format_for(t).name for t in kind.tensors] for kind in inv.kinds]
            out: list[str] = []
            for k, _ in inv.blocks:
                out.extend(per_kind[k])
            return out
    return [""] * inv.size


def _split_for_gguf(
    model: ModelSpec, t: TensorSpec, family: Family | None = None
) -> tuple[tuple[TensorSpec, tuple[int, ...]], ...]:
    """The GGUF tensors the converter writes for checkpoint tensor `t`: (part, GGUF ne) pairs —
    the family's `gguf_split` where the converter splits it, else `t` itself (`family`: the
    model's, when the caller has it already)."""
    if family is None:
        family = model.family_record
    parts = family.gguf_split(model.config, t)
    if parts is not None:
        return parts
    ne = tuple(reversed(t.shape))
    if t.experts_per_token is not None:
        ne = (*ne, t.count)  # the routed experts of a layer: one [in, out, n_expert] tensor
    return ((t, ne),)


def _keeps_mtp(model: ModelSpec) -> bool:
    return model.family_record.gguf_keeps_mtp


@lru_cache(maxsize=64)
def _gguf_tensors(
    model: ModelSpec, outtype: str = "auto"
) -> tuple[tuple[TensorSpec, ...], tuple[llamacpp_mix.GgufTensor, ...]]:
    """The model's tensors as its GGUF file holds them (names, dims, the converter's types):
    split where the converter splits (the family's `gguf_split`), the MTP module only where the
    converter keeps it (the family's `gguf_keeps_mtp`: GLM-4.x; DeepSeek V3 ``skip_mtp``, V4
    "Skipping … MTP tensor(s) for conversion v0", V3.2 as converted with --no-mtp)."""
    arch = model_facts(model).arch
    keeps = _keeps_mtp(model)
    keep = [not t.mtp or keeps for t in model.inventory]
    checkpoint = _checkpoint_types(model)  # DeepSeek V4's converter keeps the checkpoint's types
    specs: list[TensorSpec] = []
    tensors: list[llamacpp_mix.GgufTensor] = []
    family = model.family_record
    for t, k, c in zip(model.inventory, keep, checkpoint, strict=True):
        if not k:
            continue
        for part, ne in _split_for_gguf(model, t, family):
            specs.append(part)
            tensors.append(_gguf_tensor(part, ne, arch, c, outtype))
    for part, ne in model.family_record.gguf_extra(model.config):  # converter-generated
        specs.append(part)
        tensors.append(_gguf_tensor(part, ne, arch, "", outtype))
    return tuple(specs), tuple(tensors)


def _ggml_format(type_name: str) -> QuantFormat:
    """A GGML type name as a format (F32/F16/BF16 are the table's float formats)."""
    if type_name in ("F32", "F16", "BF16"):
        return get_format(type_name)
    return get_format(f"gguf:{type_name}")


_SELECTOR_FORMS = (
    "a tensor group (attention, routed_experts, …)",
    "group.role",
    "mtp[.group[.role]]",
    "role:ROLE",
    "name:GLOB",
    "1d / 2d / 3d / vectors",
    "*",
)


def _validate_rules(recipe_id: str, rules: Mapping[str, str]) -> None:
    valid_heads = set(GROUPS) | set(_SELECTOR_ALIASES) | {"*", "mtp"}
    for key, fmt in rules.items():
        if key.startswith(("name:", "role:")):
            if not key[5:].strip() or (key.startswith("role:") and not _ROLE.match(key[5:])):
                raise VramkitError(
                    f"selector {key!r} in recipe {recipe_id!r} needs a value after the colon, e.g. "
                    "role:hc_fn or name:blk.*.attn_sinks*."
                )
        elif key in RANK_SELECTORS:
            pass
        else:
            parts = key.split(".")
            head = parts[1] if key.startswith("mtp.") and len(parts) > 1 else parts[0]
            if head not in valid_heads:
                raise VramkitError(
                    f"unknown selector {key!r} in recipe {recipe_id!r}: {head!r} is not a tensor "
                    f"group. Selectors: {'; '.join(_SELECTOR_FORMS)}. Groups: "
                    f"{', '.join(sorted(valid_heads - {'*', 'mtp'}))}."
                )
        get_format(fmt)


_ROLE = re.compile(r"^[A-Za-z0-9_.]+$")


def check_selectors_match(model: ModelSpec, recipe: Recipe) -> None:
    """Refuse a custom recipe whose selector matches no tensor of `model` (a misspelled role or
    pattern would otherwise be ignored silently); the message lists what the model has."""
    for key in recipe.user_selectors:
        if (
            key in ("*", "mtp")
            or key in RANK_SELECTORS
            or key in set(GROUPS) | set(_SELECTOR_ALIASES)
        ):
            continue
        probe = Recipe(id="probe", name="", kind="custom", rules={key: recipe.rules[key]})
        if any(probe._match(t) is not None for t in model.inventory):
            continue
        if key.startswith("role:"):
            roles = sorted({t.role for t in model.inventory})
            raise VramkitError(
                f"selector {key!r} matches no tensor of {model.id}; its roles are: "
                f"{', '.join(roles)}."
            )
        if key.startswith("name:"):
            raise VramkitError(
                f"selector {key!r} matches no tensor name of {model.id} (checkpoint names such as "
                f"{model.inventory[0].name!r}, GGUF names such as 'blk.0.attn_norm.weight')."
            )
        group = key.removeprefix("mtp.").split(".")[0]
        roles = sorted({t.role for t in model.inventory if t.group == group})
        raise VramkitError(
            f"selector {key!r} matches no tensor of {model.id}; roles of group {group!r}: "
            f"{', '.join(roles) or '(none in this model)'}."
        )


def custom_recipe(mapping: Mapping[str, str] | str, *, base: str | None = None) -> Recipe:
    """A user recipe from ``{"routed_experts": "Q2_K", "*": "Q8_0"}`` or ``"routed_experts=Q2_K,*=Q8_0"``.

    With `base` (a recipe id), the mapping overrides that recipe's rules.
    """
    if isinstance(mapping, str):
        pairs = [p for p in mapping.split(",") if p.strip()]
        parsed: dict[str, str] = {}
        for pair in pairs:
            if "=" not in pair:
                raise VramkitError(
                    f"recipe map entry {pair!r} must look like group=FORMAT, e.g. routed_experts=Q4_K."
                )
            k, v = pair.split("=", 1)
            parsed[k.strip()] = v.strip()
        mapping = parsed
    if not mapping:
        raise VramkitError("a custom recipe needs at least one group=FORMAT rule.")
    rules: dict[str, str] = {}
    vectors = None
    if base is not None:
        parent = get_recipe(base)
        if parent.kind == "llamacpp":
            raise VramkitError(
                "a custom recipe can extend official or uniform recipes, not llamacpp ones."
            )
        rules.update(parent.rules)
        vectors = parent.vectors
    rules.update({str(k): get_format(str(v)).name for k, v in mapping.items()})
    _validate_rules("custom", rules)
    label = ",".join(f"{k}={v}" for k, v in mapping.items())
    return Recipe(
        id=f"custom:{label}",
        name=f"custom ({label})",
        kind="custom",
        rules=MappingProxyType(rules),
        vectors=vectors,
        description="user-defined mix" + (f" on top of {base}" if base else ""),
        source="user input",
        user_selectors=tuple(str(k) for k in mapping),
    )


@cache
def _recipes() -> dict[str, Recipe]:
    doc = load_document("recipes.yaml", ("recipes",))
    out: dict[str, Recipe] = {}
    allowed = {
        "id", "name", "kind", "rules", "vectors", "include_mtp", "description", "sources", "base",
    }  # fmt: skip
    for rec in doc.get("recipes", []):
        unknown = set(rec) - allowed
        missing = {"id", "name", "rules", "sources"} - set(rec)
        if unknown or missing:
            raise VramkitError(
                f"recipes.yaml: recipe {rec.get('id')!r} "
                + (
                    f"has unknown keys {sorted(unknown)}"
                    if unknown
                    else f"misses {sorted(missing)}"
                )
            )
        if rec["id"] in out:
            raise VramkitError(f"recipes.yaml: recipe {rec['id']!r} is listed twice.")
        rec = dict(rec)
        rec["sources"] = parse_sources(f"recipes.yaml recipe {rec['id']}", rec["sources"])
        rec["source"] = "; ".join(str(x.url or x.document) for x in rec["sources"])
        base = rec.pop("base", None)
        if base is not None:  # a variant: the base recipe's fields and rules, its own on top
            if base not in out:
                raise unknown_name(f"base of recipe {rec['id']!r} (listed above it)", base, out)
            parent = out[base]
            inherited = {k: getattr(parent, k) for k in ("kind", "vectors", "include_mtp")}
            rec = {**inherited, **rec, "rules": {**parent.rules, **rec["rules"]}}
        if rec.get("kind") not in RECIPE_KINDS[:2]:
            raise unknown_name("recipe kind in recipes.yaml", rec.get("kind"), RECIPE_KINDS[:2])
        out[rec["id"]] = Recipe(**{**rec, "rules": MappingProxyType(dict(rec["rules"]))})
    for ftype in llamacpp_ftypes.ftype_names():
        out[f"gguf-{ftype}"] = _llamacpp_recipe(ftype, None)
    for outtype in llamacpp_ftypes.CONVERTER_OUTTYPES:
        out[f"convert-{outtype}"] = _convert_recipe(outtype)
    return out


def _convert_recipe(outtype: str) -> Recipe:
    """The file ``convert_hf_to_gguf.py --outtype <outtype>`` writes (no llama-quantize pass):
    llama-quantize COPY of that file, every tensor as the converter wrote it."""
    return Recipe(
        id=f"convert-{outtype}",
        name=f"llama.cpp converter {outtype.lower()}",
        kind="llamacpp",
        ftype="COPY",
        outtype=outtype,
        include_mtp=False,
        description=f"convert_hf_to_gguf.py --outtype {outtype.lower()}: its own file, no "
        "llama-quantize pass (1-D tensors, norms, biases and the router in F32; tensors the "
        "checkpoint stores in MXFP4 — gpt-oss and DeepSeek V4 routed experts — kept MXFP4; "
        "the rest in the outtype); the MTP module is not counted",
        source=f"{llamacpp_ftypes.CONVERT_SOURCE}/base.py converter types "
        "(vramkit.runtimes.llamacpp.mix.converter_type)",
    )


def requantized(model: str | ModelSpec, recipe: str | Recipe) -> dict[tuple[str, str], int]:
    """Tensors a llama.cpp recipe's llama-quantize pass requantizes: (type the converter wrote,
    type llama-quantize writes) → tensor count, for sources of a block type (MXFP4, Q8_0 …)
    that the file type changes. llama-quantize refuses those without ``--allow-requantize``
    ("requantizing from type mxfp4 is disabled", src/llama-quant.cpp L1306-1307 at the pinned
    commit); with it, it dequantizes them to F32 and quantizes again (L1338-1346). Empty for
    other recipes."""
    from ..runtimes.llamacpp import mix as llamacpp_mix

    model = get_model(model)
    r = get_recipe(recipe, model=model)
    if r.kind != "llamacpp" or r.ftype == "COPY":
        return {}
    ftype, outtype = r.ftype or "", r.outtype or "auto"
    pairs: list[tuple[str, str, int]] = []  # (source, target, tensors)
    grouped = _llamacpp_groups(model, ftype, r.imatrix, outtype)
    if grouped is not None:  # each group's templates once × its occurrences
        lay, types, _ = grouped
        for (_, tids, _), times, ts in zip(lay.units, lay.times, types, strict=True):
            pairs += [(lay.templates[i].source, ty, times) for i, ty in zip(tids, ts, strict=True)]
    else:
        _, tensors = _gguf_tensors(model, outtype)
        dst = llamacpp_mix.target_types(tensors, ftype, model_facts(model), imatrix=r.imatrix)
        pairs = [(t.source, ty, 1) for t, ty in zip(tensors, dst, strict=True)]
    out: dict[tuple[str, str], int] = {}
    for src, dst_type, n in pairs:
        if llamacpp_mix.is_block_type(src) and dst_type != src:
            out[(src, dst_type)] = out.get((src, dst_type), 0) + n
    return out


def _llamacpp_recipe(ftype: str, imatrix: bool | None) -> Recipe:
    suffix = {None: "", True: "+imatrix", False: "+no-imatrix"}[imatrix]
    with_im = {
        None: "with an importance matrix where the file type needs one",
        True: "with an importance matrix",
        False: "without an importance matrix",
    }[imatrix]
    copy = ftype == "COPY"
    return Recipe(
        id=f"gguf-{ftype}{suffix}",
        name=f"llama.cpp {ftype}{suffix}",
        kind="llamacpp",
        ftype=ftype,
        imatrix=imatrix,
        include_mtp=False,
        description=(
            "llama-quantize COPY: every tensor as the converter wrote it"
            if copy
            else f"llama-quantize file type {ftype} ({with_im}): per-tensor types by llama.cpp's "
            "rules"
        )
        + "; the MTP module is not counted (converters leave it out of the file, or llama.cpp's "
        "main context does not load it)",
        source=f"{llamacpp_ftypes.QUANT_SOURCE} llama_tensor_get_type (vramkit.runtimes.llamacpp.mix)",
    )


_GGUF_ID = re.compile(r"^gguf-([A-Za-z0-9_]+)(\+imatrix|\+no-imatrix)?$")


def get_recipe(
    recipe: str | Recipe | Mapping[str, str] | None, *, model: str | ModelSpec | None = None
) -> Recipe:
    """A recipe by id (``deepseek-v4-official``, ``gguf-Q4_K_M``, ``gguf-IQ4_XS+imatrix``,
    ``uniform:BF16``, ``uniform:Q4_K``), a `Recipe`, or a selector→format mapping (a custom
    recipe). llama-quantize's aliases (``gguf-Q4_K`` = ``gguf-Q4_K_M``) are accepted.
    ``"official"`` (or None) with a `model` is that model's checkpoint layout."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, Mapping):
        return custom_recipe(recipe)
    if recipe is not None and not isinstance(recipe, str):
        raise VramkitError(
            f"recipe must be a recipe id (text), a Recipe or a selector→format mapping, got "
            f"{type(recipe).__name__} {shown(recipe)}."
        )
    if recipe is None or str(recipe).strip().lower() == OFFICIAL:
        if model is None:
            raise VramkitError(
                "recipe 'official' means a model's own checkpoint layout: pass model=… "
                "(a catalog id or a ModelSpec), or name the layout (e.g. deepseek-v4-official)."
            )
        return get_recipe(get_model(model).checkpoint_layout)
    key = str(recipe).strip()
    table = _recipes()
    if key in table:
        return _validated(table[key])
    m = _GGUF_ID.match(key)
    if m and m.group(1).upper() in {ft.name.upper() for ft in llamacpp_ftypes.file_types()}:
        ftype = llamacpp_ftypes.resolve_ftype(m.group(1))
        imatrix = {None: None, "+imatrix": True, "+no-imatrix": False}[m.group(2)]
        return table[f"gguf-{ftype}"] if imatrix is None else _llamacpp_recipe(ftype, imatrix)
    if key.startswith("uniform:"):
        fmt = get_format(key.removeprefix("uniform:"))
        return Recipe(
            id=f"uniform:{fmt.name}",
            name=f"all weights {fmt.name}",
            kind="uniform",
            rules=MappingProxyType({"*": fmt.name}),
            description=f"every matrix and embedding in {fmt.name}; vectors native",
            source="naive single-format estimate",
        )
    if "=" in key:
        # a custom recipe's own id ('custom:routed_experts=MXFP4,*=Q8_0', what a plan records)
        # names the same map as the text the user typed
        return custom_recipe(key.removeprefix("custom:"))
    raise unknown_name(
        "recipe",
        key,
        [*table, OFFICIAL, "gguf-<TYPE>+imatrix", "uniform:<FORMAT>", "selector=FORMAT,..."],
    )


def _validated(r: Recipe) -> Recipe:
    """`r` once its rules name known groups and formats (checked on first use of each table
    recipe, so that loading the table does not import the gguf package for recipes nobody asked
    for; `_table_recipe_ok` remembers the answer per id)."""
    _table_recipe_ok(r.id)
    return r


@cache
def _table_recipe_ok(recipe_id: str) -> bool:
    r = _recipes()[recipe_id]
    _validate_rules(r.id, r.rules)
    return True


def recipe_ids() -> list[str]:
    """Recipe ids from data/recipes.yaml and the llama.cpp file types."""
    return list(_recipes())


@dataclass(frozen=True)
class WeightBytes:
    """Bytes of a model's weights under a recipe.

    `by_group` holds bytes per breakdown group (all of `params.GROUPS`, zeros included);
    `total_bytes` sums them; `main_bytes` excludes the MTP module; `by_format` holds bytes per
    storage format; `params_by_group` the element counts.
    """

    model_id: str
    recipe_id: str
    total_bytes: int
    main_bytes: int
    by_group: Mapping[str, int]
    by_format: Mapping[str, int]
    params_by_group: Mapping[str, int]
    total_params: int

    def __post_init__(self) -> None:
        check_record(self)

    @property
    def bits_per_weight(self) -> float:
        """Average stored bits per parameter over the whole checkpoint."""
        return 8 * self.total_bytes / self.total_params if self.total_params else 0.0


def tensor_formats(
    model: str | ModelSpec, recipe: str | Recipe | Mapping[str, str] | None = None
) -> list[tuple[TensorSpec, QuantFormat]]:
    """Each tensor of `model` (id or spec) paired with the format `recipe` stores it in."""
    model = get_model(model)
    r = get_recipe(recipe, model=model)
    if (
        r.kind == "llamacpp"
    ):  # llama.cpp types in file order (MTP tensors only where the file holds them)
        return list(_cached_llamacpp_formats(model, r.ftype or "", r.imatrix, r.outtype or "auto"))
    return list(_cached_selector_formats(model, _RecipeKey(r)))


@lru_cache(maxsize=64)  # tensor lists, bounded as `_cached_llamacpp_formats` (fewer for the GC)
def _cached_selector_formats(
    model: ModelSpec, rkey: _RecipeKey
) -> tuple[tuple[TensorSpec, QuantFormat], ...]:
    """`tensor_formats` of a selector recipe, once per (spec, recipe): `weight_bytes` and the
    planner's `layer_costs` both ask it (specs hash by identity)."""
    r = rkey.recipe
    check_selectors_match(model, r)
    by_name = any(k.startswith("name:") for k in r.rules)
    # selector recipes depend only on these fields: thousands of specs share a few dozen keys
    seen: dict[tuple[Any, ...], QuantFormat] = {}
    out = []
    for t in model.inventory:
        # gguf_rank(t) written out: this loop runs over every tensor of a model
        rank = len(t.shape) + (1 if t.experts_per_token is not None else 0)
        key = (t.group, t.role, t.kind, t.native, t.mtp, t.shape[-1], rank)
        if by_name:
            key = (*key, t.name, t.layer)
        if key not in seen:
            seen[key] = r.format_for(t)
        out.append((t, seen[key]))
    return tuple(out)


def weight_bytes(
    model: str | ModelSpec, recipe: str | Recipe | Mapping[str, str] | None = None
) -> WeightBytes:
    """Exact bytes of `model`'s weights stored under `recipe` (default: its official checkpoint
    layout). Formula: Σ_tensors count × bytes(format, shape), by group and by format."""
    model = get_model(model)
    r = get_recipe(recipe, model=model)
    return _cached_weight_bytes(model, _RecipeKey(r))


@dataclass(frozen=True, eq=False)
class _RecipeKey:
    """A recipe as a cache key: equal when id, kind, rules, vectors, ftype, imatrix, outtype
    and MTP agree."""

    recipe: Recipe

    def _key(self) -> tuple[Any, ...]:
        r = self.recipe
        return (
            r.id,
            r.kind,
            tuple(sorted(r.rules.items())),
            r.vectors,
            r.ftype,
            r.imatrix,
            r.outtype,
            r.include_mtp,
        )

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RecipeKey) and self._key() == other._key()


@lru_cache(maxsize=1024)
def _cached_weight_bytes(model: ModelSpec, key: _RecipeKey) -> WeightBytes:
    """Weight bytes per (spec, recipe), computed once: specs hash by identity."""
    return _weight_bytes(model, key.recipe)


@lru_cache(maxsize=64)
def _alike_tensors(model: ModelSpec) -> tuple[tuple[TensorSpec, int], ...]:
    """The model's tensors in classes that every selector recipe without ``name:`` rules stores
    in one format (the fields `Recipe.format_for` reads) and that weigh alike (shape, count,
    group, MTP): each class's first tensor and how many tensors it stands for, in first-seen
    order (V4-Flash: 70 classes for 1,360 tensors). Specs hash by identity."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for t in model.inventory:
        key = (t.group, t.role, t.kind, t.native, t.mtp, t.shape, t.count,
               t.experts_per_token is not None)  # fmt: skip
        hit = out.get(key)
        if hit is None:
            out[key] = [t, 1]
        else:
            hit[1] += 1
    return tuple((t, k) for t, k in out.values())


def _formats_counted(model: ModelSpec, r: Recipe) -> Iterator[tuple[TensorSpec, QuantFormat, int]]:
    """(tensor, its format, how many tensors it stands for) over the model: one row per class
    of `_alike_tensors` for a selector recipe without ``name:`` rules (each class's first
    tensor is typed, so a missing format names the first tensor lacking one, as the
    per-tensor pass does), else one row per tensor (`tensor_formats`)."""
    if r.kind == "llamacpp" or any(k.startswith("name:") for k in r.rules):
        for t, fmt in tensor_formats(model, r):
            yield t, fmt, 1
        return
    check_selectors_match(model, r)
    for t, k in _alike_tensors(model):
        yield t, r.format_for(t), k


def _weight_bytes(model: ModelSpec, r: Recipe) -> WeightBytes:
    groups = llamacpp_format_groups(model, r)
    if groups is not None:
        return _grouped_weight_bytes(model, r, groups)
    by_group = dict.fromkeys(GROUPS, 0)
    params_by_group = dict.fromkeys(GROUPS, 0)
    by_format: dict[str, int] = {}
    main = total = params = 0
    # tensors alike in format, shape, count and breakdown group are summed once: a model's
    # layers repeat a few dozen of them (first-seen order kept: by_format lists formats so)
    alike: dict[tuple[str, tuple[int, ...], int, str, bool], int] = {}
    formats: dict[str, QuantFormat] = {}
    mtp = r.include_mtp
    for t, fmt, k in _formats_counted(model, r):
        if t.mtp and not mtp:
            continue
        key = (fmt.name, t.shape, t.count, t.group, t.mtp)
        n = alike.get(key)
        if n is None:
            formats.setdefault(fmt.name, fmt)
            alike[key] = k
        else:
            alike[key] = n + k
    for (name, shape, count, group, is_mtp), k in alike.items():
        b = k * count * formats[name].tensor_bytes(shape)
        n = k * count * math.prod(shape)  # TensorSpec.params
        g = "mtp" if is_mtp else group  # TensorSpec.breakdown_group
        by_group[g] += b
        params_by_group[g] += n
        by_format[name] = by_format.get(name, 0) + b
        total += b
        params += n
        if not is_mtp:
            main += b
    return WeightBytes(
        model_id=model.id,
        recipe_id=r.id,
        total_bytes=total,
        main_bytes=main,
        by_group=MappingProxyType(by_group),
        by_format=MappingProxyType(by_format),
        params_by_group=MappingProxyType(params_by_group),
        total_params=params,
    )


def _grouped_weight_bytes(
    model: ModelSpec, r: Recipe, groups: tuple[llamacpp.FormatGroup, ...]
) -> WeightBytes:
    """`_weight_bytes` over `FormatGroup`s: each row's bytes once × its block count; formats
    listed in the order they first occur in `tensor_formats` (as the per-tensor sum lists
    them)."""
    by_group = dict.fromkeys(GROUPS, 0)
    params_by_group = dict.fromkeys(GROUPS, 0)
    by_format: dict[str, int] = {}
    first: dict[str, int] = {}
    main = total = params = 0
    mtp = r.include_mtp
    for g in groups:
        times = g.times
        for (t, fmt), size, at in zip(g.rows, g.row_bytes, g.first, strict=True):
            if t.mtp and not mtp:
                continue
            name = fmt.name
            b = times * t.count * size
            n = times * t.count * math.prod(t.shape)  # TensorSpec.params
            grp = "mtp" if t.mtp else t.group  # TensorSpec.breakdown_group
            by_group[grp] += b
            params_by_group[grp] += n
            by_format[name] = by_format.get(name, 0) + b
            if at < first.get(name, at + 1):
                first[name] = at
            total += b
            params += n
            if not t.mtp:
                main += b
    return WeightBytes(
        model_id=model.id,
        recipe_id=r.id,
        total_bytes=total,
        main_bytes=main,
        by_group=MappingProxyType(by_group),
        by_format=MappingProxyType({k: by_format[k] for k in sorted(first, key=first.get)}),
        params_by_group=MappingProxyType(params_by_group),
        total_params=params,
    )


def mtp_draft_bytes(
    model: str | ModelSpec, recipe: str | Recipe | Mapping[str, str] | None = None
) -> int:
    """Exact tensor bytes of the MTP draft GGUF llama.cpp's converter writes with ``--mtp``
    (``mtp-*.gguf``): the MTP module plus the shared token embedding, final norm and output
    head ("keep ONLY NextN-block tensors plus the shared embeddings/norm/lm_head",
    conversion/deepseek.py L497-502 and L621-628 at the pinned commit), each stored as `recipe`
    stores it (default: the official layout). Formula: Σ count × bytes(format, shape) over
    those tensors. llama.cpp file types (``gguf-*``) type the draft file by their own counters
    and are not modelled here."""
    model = get_model(model)
    r = get_recipe(recipe, model=model)
    if r.kind == "llamacpp":
        raise VramkitError(
            f"recipe {r.id!r} is a llama.cpp file type; the MTP draft file's mix is not modelled. "
            "Use the layout the converter writes (e.g. the official checkpoint layout)."
        )
    if not any(t.mtp for t in model.inventory):
        raise VramkitError(f"{model.id} has no MTP module, so there is no MTP draft file.")
    shared = ("embed", "lm_head")
    total = 0
    for t, fmt in tensor_formats(model, r):
        root = t.layer is None and (t.group in shared or t.role == "final_norm")
        if t.mtp or root:
            total += t.count * fmt.tensor_bytes(t.shape)
    return total


def vllm_loaded_bytes(model: Any, recipe: Any = None) -> int:
    """Weight bytes vLLM holds after loading a GPTQ / AWQ / compressed-tensors checkpoint at
    tensor parallel 1: the checkpoint's bytes (`vramkit.quant.weight_bytes`) plus, per linear
    that its Marlin kernel repacks, `CheckpointFormat.vllm_marlin_delta`.

    vLLM's ``MarlinLinearKernel.process_weights_after_loading``
    (vllm-project/vllm@def725a56685f64461a6ae2dd08af6edce28c4b2
    vllm/model_executor/layers/quantization/kernels/mixed_precision/marlin.py) repacks the
    packed weights and permutes the scales in place (``gptq_marlin_repack``,
    ``marlin_permute_scales``: same element counts); without act-order it replaces g_idx with
    ``marlin_make_empty_g_idx(device)`` and sets an empty ``g_idx_sort_indices``; with it, it keeps
    the sorted g_idx and adds ``layer.g_idx_sort_indices``; without zero points it replaces them
    with an empty tensor, with them it repacks them (``marlin_zero_points``: same size). GPTQ
    reaches Marlin only for ``(bits, sym)`` in ``{(4, True), (8, True)}`` and group sizes -1,
    32, 64, 128 (``GPTQMarlinConfig.TYPE_MAP``, ``is_gptq_marlin_compatible``,
    vllm@0ede9ef306be1adf711a1ddca7ce8d81f45c2698 gptq_marlin.py, which passes
    ``zero_points=False, has_g_idx=self.quant_config.desc_act``); other GPTQ checkpoints load
    as stored. Machete (Hopper) and the MoE Marlin path are taken as the same sizes, an
    assumption; the shared Marlin workspace (a few KiB per device) is not counted."""
    from ..model.checkpoint_formats import CheckpointFormat

    model = get_model(model)
    total = weight_bytes(model, recipe).total_bytes
    for t, fmt in tensor_formats(model, recipe):
        if isinstance(fmt, CheckpointFormat) and len(t.shape) == 2:
            total += t.count * fmt.vllm_marlin_delta(t.shape)
    return total
