"""Recipes (a storage format per tensor group) and the weight bytes of a model under a recipe.

A recipe maps selectors to format names. Selectors, most specific first:
``mtp.<group>.<role>``, ``mtp.<group>``, ``mtp`` (multi-token-prediction tensors only), then
``<group>.<role>`` (e.g. ``indexer.wq_b``), ``<group>`` (e.g. ``attention``), ``routed_experts``
(both routed groups), and ``*`` (every other matrix and embedding). 1-D tensors and small fp
params (``vector`` kind) keep their native dtype unless the recipe sets ``vectors``; integer tables
are never quantised. Recipes of kind ``llamacpp`` instead apply llama.cpp's per-tensor rules for a
file type (see `vramkit.llamacpp_mix`).

    weight_bytes = Σ_tensors count × format.tensor_bytes(shape)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .datafiles import load_yaml_text
from .errors import VramkitError, unknown_name
from .formats import DATA_DIR, QuantFormat, get_format, storable_format
from .llamacpp_mix import FTYPE_DEFAULT, gguf_type_for
from .tensors import GROUPS, ROUTED_GROUPS, TensorSpec

if TYPE_CHECKING:
    from .catalog import ModelSpec

RECIPE_KINDS = ("official", "community", "uniform", "llamacpp", "custom")
_SELECTOR_ALIASES = {"routed_experts": ROUTED_GROUPS, "experts": ROUTED_GROUPS}


@dataclass(frozen=True)
class Recipe:
    """A storage format per tensor group.

    `rules` maps selectors (see module docstring) to format names; `vectors` is the format for
    vector-kind tensors (None = their native dtype); `ftype` is the llama.cpp file type for
    ``llamacpp`` recipes; `include_mtp` False drops the MTP module (GGUF conversions of DeepSeek
    leave it out: bartowski's DeepSeek-V3-0324 Q8_0 is 713.29 GB = the main model only).
    """

    id: str
    name: str
    kind: str
    rules: Mapping[str, str] = field(default_factory=dict)
    vectors: str | None = None
    ftype: str | None = None
    include_mtp: bool = True
    description: str = ""
    source: str = ""

    def format_for(self, t: TensorSpec, ctx: _ModelContext) -> QuantFormat:
        """The format tensor `t` is stored in under this recipe (GGUF row fallback applied)."""
        if t.kind == "table":
            if f"{t.group}.{t.role}" in self.rules:  # a recipe may name a table's storage
                return get_format(self.rules[f"{t.group}.{t.role}"])
            return get_format("I32" if self.kind == "llamacpp" else t.native)
        if t.kind == "vector":
            if self.kind == "llamacpp":
                return get_format("FP32")
            return get_format(self.vectors or t.native)
        if self.kind == "llamacpp":
            name = gguf_type_for(
                t,
                self.ftype or "",
                n_layers=ctx.n_layers,
                n_experts=ctx.n_experts,
                n_gqa=ctx.n_gqa,
                tied=ctx.tied,
            )
        else:
            name = self._lookup(t)
        return storable_format(get_format(name), t.shape[-1])

    def _lookup(self, t: TensorSpec) -> str:
        keys = [f"{t.group}.{t.role}", t.group]
        keys += [a for a, groups in _SELECTOR_ALIASES.items() if t.group in groups]
        if t.mtp:
            keys = ["mtp." + k for k in keys] + ["mtp", *keys]
        for key in [*keys, "*"]:
            if key in self.rules:
                return self.rules[key]
        raise VramkitError(
            f"recipe {self.id!r} has no format for {t.name} (group {t.group!r}); add a rule for "
            f"{t.group!r} or '*'."
        )


@dataclass(frozen=True)
class _ModelContext:
    n_layers: int
    n_experts: int
    n_gqa: int
    tied: bool


def _context(model: ModelSpec) -> _ModelContext:
    cfg = model.config
    heads = int(cfg.get("num_attention_heads") or 1)
    kv = (
        1 if cfg.get("kv_lora_rank") else (int(cfg.get("num_key_value_heads") or heads) or 1)
    )  # MLA GGUFs: head_count_kv 1
    experts = int(
        cfg.get("n_routed_experts") or cfg.get("num_local_experts") or cfg.get("num_experts") or 0
    )
    layers = int(cfg.get("num_hidden_layers") or 0)
    tied = not any(t.gguf_class == "output" for t in model.inventory)
    return _ModelContext(layers, experts, max(heads // kv, 1), tied)


def _validate_rules(recipe_id: str, rules: Mapping[str, str]) -> None:
    valid_heads = set(GROUPS) | set(_SELECTOR_ALIASES) | {"*", "mtp"}
    for key, fmt in rules.items():
        head = key.split(".")[1 if key.startswith("mtp.") else 0] if key != "mtp" else "mtp"
        if head not in valid_heads:
            raise unknown_name(f"tensor group in recipe {recipe_id!r}", head, valid_heads)
        get_format(fmt)


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
    )


@cache
def _recipes() -> dict[str, Recipe]:
    path = DATA_DIR / "recipes.yaml"
    doc = load_yaml_text(path.read_text())
    out: dict[str, Recipe] = {}
    allowed = {"id", "name", "kind", "rules", "vectors", "include_mtp", "description", "source"}
    for rec in doc.get("recipes", []):
        unknown = set(rec) - allowed
        missing = {"id", "name", "kind", "rules", "source"} - set(rec)
        if unknown or missing:
            raise VramkitError(
                f"{path.name}: recipe {rec.get('id')!r} "
                + (
                    f"has unknown keys {sorted(unknown)}"
                    if unknown
                    else f"misses {sorted(missing)}"
                )
            )
        if rec["id"] in out:
            raise VramkitError(f"{path.name}: recipe {rec['id']!r} is listed twice.")
        if rec["kind"] not in RECIPE_KINDS[:2]:
            raise unknown_name(f"recipe kind in {path.name}", rec["kind"], RECIPE_KINDS[:2])
        out[rec["id"]] = Recipe(**{**rec, "rules": MappingProxyType(dict(rec["rules"]))})
    for ftype in FTYPE_DEFAULT:
        rid = f"gguf-{ftype}"
        out[rid] = Recipe(
            id=rid,
            name=f"llama.cpp {ftype}",
            kind="llamacpp",
            ftype=ftype,
            include_mtp=False,
            description=(
                f"llama-quantize file type {ftype}: per-tensor types by llama.cpp's rules; "
                "the MTP module is not in the file"
            ),
            source="ggml-org/llama.cpp src/llama-quant.cpp llama_tensor_get_type (vramkit.llamacpp_mix)",
        )
    return out


def get_recipe(recipe: str | Recipe | Mapping[str, str]) -> Recipe:
    """A recipe by id (``deepseek-v4-official``, ``gguf-Q4_K_M``, ``uniform:BF16``, ``uniform:Q4_K``),
    a `Recipe`, or a group→format mapping (a custom recipe)."""
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, Mapping):
        return custom_recipe(recipe)
    key = str(recipe).strip()
    table = _recipes()
    if key in table:
        return _validated(table[key])
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
        return custom_recipe(key)
    raise unknown_name("recipe", key, [*table, "uniform:<FORMAT>", "group=FORMAT,..."])


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

    @property
    def bits_per_weight(self) -> float:
        """Average stored bits per parameter over the whole checkpoint."""
        return 8 * self.total_bytes / self.total_params if self.total_params else 0.0


def tensor_formats(
    model: ModelSpec, recipe: str | Recipe | Mapping[str, str]
) -> list[tuple[TensorSpec, QuantFormat]]:
    """Each tensor of `model` paired with the format `recipe` stores it in."""
    r = get_recipe(recipe)
    ctx = _context(model)
    if r.kind == "llamacpp":  # per-layer rules: no sharing between tensors of a group
        return [(t, r.format_for(t, ctx)) for t in model.inventory]
    # selector recipes depend only on these fields: thousands of specs share a few dozen keys
    seen: dict[tuple[Any, ...], QuantFormat] = {}
    out = []
    for t in model.inventory:
        key = (t.group, t.role, t.kind, t.native, t.mtp, t.shape[-1])
        if key not in seen:
            seen[key] = r.format_for(t, ctx)
        out.append((t, seen[key]))
    return out


def weight_bytes(
    model: ModelSpec, recipe: str | Recipe | Mapping[str, str] | None = None
) -> WeightBytes:
    """Exact bytes of `model`'s weights stored under `recipe` (default: its official checkpoint
    layout). Formula: Σ_tensors count × bytes(format, shape), by group and by format."""
    r = get_recipe(recipe if recipe is not None else model.checkpoint_layout)
    return _cached_weight_bytes(model, _RecipeKey(r))


@dataclass(frozen=True, eq=False)
class _RecipeKey:
    """A recipe as a cache key: equal when id, kind, rules, vectors, ftype and MTP agree."""

    recipe: Recipe

    def _key(self) -> tuple[Any, ...]:
        r = self.recipe
        return (r.id, r.kind, tuple(sorted(r.rules.items())), r.vectors, r.ftype, r.include_mtp)

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RecipeKey) and self._key() == other._key()


@lru_cache(maxsize=4096)
def _cached_weight_bytes(model: ModelSpec, key: _RecipeKey) -> WeightBytes:
    """Weight bytes per (spec, recipe), computed once: specs hash by identity."""
    return _weight_bytes(model, key.recipe)


def _weight_bytes(model: ModelSpec, r: Recipe) -> WeightBytes:
    by_group = dict.fromkeys(GROUPS, 0)
    params_by_group = dict.fromkeys(GROUPS, 0)
    by_format: dict[str, int] = {}
    main = total = params = 0
    sizes: dict[tuple[str, tuple[int, ...]], int] = {}
    for t, fmt in tensor_formats(model, r):
        if t.mtp and not r.include_mtp:
            continue
        key = (fmt.name, t.shape)
        if key not in sizes:
            sizes[key] = fmt.tensor_bytes(t.shape)
        b = t.count * sizes[key]
        n = t.params
        g = t.breakdown_group
        by_group[g] += b
        params_by_group[g] += n
        by_format[fmt.name] = by_format.get(fmt.name, 0) + b
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
        by_format=MappingProxyType(by_format),
        params_by_group=MappingProxyType(params_by_group),
        total_params=params,
    )


def weight_table(model: ModelSpec, recipes: list[str]) -> list[dict[str, Any]]:
    """One row per recipe: total bytes, GB, GiB, bits per weight (for tables and plots)."""
    rows = []
    for rid in recipes:
        w = weight_bytes(model, rid)
        rows.append(
            {
                "model": model.id,
                "recipe": w.recipe_id,
                "total_bytes": w.total_bytes,
                "total_gb": w.total_bytes / 1e9,
                "total_gib": w.total_bytes / 2**30,
                "bits_per_weight": w.bits_per_weight,
            }
        )
    return rows
