"""Per-layer bytes of a model under a recipe: what a placement moves between devices and host.

For layer i: `layer_bytes[i]` (attention, norms, router, compressor, indexer, hyper-connections,
dense MLP — everything but experts), `shared_bytes[i]` (shared experts, part of the layer),
`expert_bytes[i]` (all routed experts of the layer), `expert_one[i]` (one routed expert).
Global tensors: `embed_bytes` (the input embedding), `output_bytes` (output head, final norm and
head mixers). Main model only (MTP excluded: not in GGUF files, loaded only for speculation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ..catalog import ModelSpec
from ..errors import VramkitError
from ..model.tensors import ROUTED_GROUPS
from ..quant import Recipe, get_recipe, llamacpp_format_groups, tensor_formats


@dataclass(frozen=True)
class LayerCosts:
    """Bytes per layer (tuples indexed by layer) and of the global tensors, for one recipe."""

    model_id: str
    recipe_id: str
    n_layers: int
    layer_bytes: tuple[int, ...]
    shared_bytes: tuple[int, ...]
    expert_bytes: tuple[int, ...]
    expert_one: tuple[int, ...]
    experts: int
    top_k: int
    embed_bytes: int
    embed_row_bytes: int
    output_bytes: int
    model: ModelSpec | None = field(default=None, repr=False, compare=False)
    """The model these costs are of (for `names`, built on first use)."""
    recipe: Recipe | None = field(default=None, compare=False, repr=False)
    """The recipe itself (resolved once where the model was; its id is `recipe_id`)."""

    @cached_property
    def names(self) -> tuple[tuple[str, int, str, bool], ...]:
        """(GGUF-style tensor name, layer or -1, group, is routed expert) for every main tensor,
        in `tensor_formats` order (the flags' ``-ot`` patterns; built on first use)."""
        if self.model is None or self.recipe is None:
            return ()
        return _names(self.model, self.recipe)

    @property
    def total_bytes(self) -> int:
        """All main-model weight bytes (= Σ layers + embed + output)."""
        return (
            sum(self.layer_bytes)
            + sum(self.shared_bytes)
            + sum(self.expert_bytes)
            + self.embed_bytes
            + self.output_bytes
        )

    @property
    def is_moe(self) -> bool:
        """True when the model has routed experts."""
        return self.experts > 0


def _gguf_name(
    t_name: str, layer: int | None, cls: str, role: str, used: set[str], routed: bool = False
) -> str:
    suffix = "weight"
    if routed and not cls:  # expert biases: llama.cpp's ffn_<part>_exps.bias
        part = role.removesuffix("_bias").removesuffix("bias").rstrip("_") or "gate_up"
        cls, suffix = f"ffn_{part}_exps", "bias" if "bias" in role else "weight"
    base = cls or role or t_name.rsplit(".", 1)[-1]
    stem = f"blk.{layer}.{base}" if layer is not None else base
    name = f"{stem}.{suffix}"
    if name in used:  # two tensors of one llama.cpp class (V4 compressor wkv / wgate)
        name = f"{stem}_{role}.weight"
    used.add(name)
    return name


_CACHE: dict[tuple[int, str], tuple[ModelSpec, LayerCosts]] = {}


def _names(model: ModelSpec, recipe: Recipe) -> tuple[tuple[str, int, str, bool], ...]:
    names: list[tuple[str, int, str, bool]] = []
    used: set[str] = set()
    for t, _fmt in tensor_formats(model, recipe):
        if t.mtp:
            continue
        routed = t.group in ROUTED_GROUPS and t.experts_per_token is not None
        names.append(
            (
                _gguf_name(t.name, t.layer, t.gguf_class, t.role, used, routed),
                -1 if t.layer is None else int(t.layer),
                t.group,
                routed,
            )
        )
    return tuple(names)


def _grouped_costs(model: ModelSpec, recipe: Recipe, n: int) -> LayerCosts | None:
    """`_costs` over a llama.cpp recipe's `FormatGroup`s (each row's bytes once per group, added
    to each of its blocks), or None where only the per-tensor pass answers (no groups, or a
    main tensor outside the layers, whose error names it)."""
    groups = llamacpp_format_groups(model, recipe)
    if groups is None:
        return None
    layer = [0] * n
    shared = [0] * n
    experts = [0] * n
    one = [0] * n
    embed = row = output = 0
    routed_last = -1
    e_count = top_k = 0
    for g in groups:
        sums = [0, 0, 0, 0]  # layer, shared, experts, one expert
        for (t, _fmt), b, last in zip(g.rows, g.row_bytes, g.last, strict=True):
            if t.mtp:
                continue
            total = t.count * b
            routed = t.group in ROUTED_GROUPS and t.experts_per_token is not None
            if not g.layers:  # global tensors, `times` alike ones
                if t.group == "embed":
                    embed += g.times * total
                    row += g.times * -(-b // t.shape[0])
                else:
                    output += g.times * total
                continue
            if routed:
                sums[2] += total
                sums[3] += b
                if last > routed_last:  # the count and top-k of the last routed tensor
                    routed_last, e_count, top_k = last, t.count, int(t.experts_per_token or 0)
            elif t.group == "shared_experts":
                sums[1] += total
            else:
                sums[0] += total
        if not g.layers or all(t.mtp for t, _ in g.rows):
            continue
        for i in g.layers:
            if not 0 <= i < n:
                return _outside(model, n)
            layer[i] += sums[0]
            shared[i] += sums[1]
            experts[i] += sums[2]
            one[i] += sums[3]
    return _record(model, recipe, (layer, shared, experts, one), (e_count, top_k),
                   (embed, row, output))  # fmt: skip


def _outside(model: ModelSpec, n: int) -> None:
    """Raise `_costs`'s error for the first GGUF tensor (in file order: the inventory's, each
    split into the converter's parts) of a block outside 0..n-1, found from the layer kinds
    without listing every tensor; None where none is found that way (the per-tensor pass then
    answers)."""
    family = model.family_record
    inv = model.tensor_kinds
    for k, block in inv.blocks:
        if block is None or 0 <= block < n:
            continue
        for t in inv.kinds[k].at(block):
            if t.mtp and not family.gguf_keeps_mtp:
                continue  # not in the file
            split = family.gguf_split(model.config, t)
            for part in (t,) if split is None else [p for p, _ in split]:
                i = part.layer
                if not part.mtp and i is not None and not 0 <= i < n:
                    raise VramkitError(
                        f"{model.id}: tensor {part.name} has layer {i} outside 0..{n - 1}."
                    )
    return None


def _record(
    model: ModelSpec,
    recipe: Recipe,
    per_layer: tuple[list[int], list[int], list[int], list[int]],
    experts_top_k: tuple[int, int],
    embed_row_output: tuple[int, int, int],
) -> LayerCosts:
    """The `LayerCosts` record from per-layer sums (layer, shared, experts, one expert), the
    routed expert count and top-k, and the embedding / embedding row / output bytes."""
    layer, shared, experts, one = per_layer
    embed, row, output = embed_row_output
    return LayerCosts(
        model_id=model.id,
        recipe_id=recipe.id,
        n_layers=len(layer),
        layer_bytes=tuple(layer),
        shared_bytes=tuple(shared),
        expert_bytes=tuple(experts),
        expert_one=tuple(one),
        experts=experts_top_k[0],
        top_k=experts_top_k[1],
        embed_bytes=embed,
        embed_row_bytes=row,
        output_bytes=output,
        model=model,
        recipe=recipe,
    )


def _costs(model: ModelSpec, recipe: Recipe) -> LayerCosts:
    n = int(model.config.get("num_hidden_layers") or 0)
    if n <= 0:
        raise VramkitError(f"{model.id}: num_hidden_layers is missing; cannot place layers.")
    grouped = _grouped_costs(model, recipe, n)
    if grouped is not None:
        return grouped
    layer = [0] * n
    shared = [0] * n
    experts = [0] * n
    one = [0] * n
    embed = row = output = 0
    e_count = top_k = 0
    sizes: dict[tuple[str, tuple[int, ...]], int] = {}  # bytes per (format, shape): layers repeat
    for t, fmt in tensor_formats(model, recipe):
        if t.mtp:
            continue
        b = sizes.get((fmt.name, t.shape))
        if b is None:
            b = sizes[fmt.name, t.shape] = fmt.tensor_bytes(t.shape)
        total = t.count * b
        routed = t.group in ROUTED_GROUPS and t.experts_per_token is not None
        if t.layer is None:
            if t.group == "embed":
                embed += total
                row += -(-b // t.shape[0])
            else:
                output += total
            continue
        i = int(t.layer)
        if not 0 <= i < n:
            raise VramkitError(f"{model.id}: tensor {t.name} has layer {i} outside 0..{n - 1}.")
        if routed:
            experts[i] += total
            one[i] += b
            e_count, top_k = t.count, int(t.experts_per_token or 0)
        elif t.group == "shared_experts":
            shared[i] += total
        else:
            layer[i] += total
    return _record(model, recipe, (layer, shared, experts, one), (e_count, top_k),
                   (embed, row, output))  # fmt: skip


def layer_costs(model: ModelSpec, recipe: str | Recipe | None = None) -> LayerCosts:
    """`LayerCosts` of `model` under `recipe` (default: its official checkpoint layout; a
    `Recipe` is used as given, a name resolved)."""
    if isinstance(recipe, Recipe):
        r = recipe
    else:
        r = get_recipe(recipe if recipe is not None else model.checkpoint_layout)
    key = (id(model), r.id)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    costs = _costs(model, r)
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = (model, costs)
    return costs


def kv_per_layer(
    model: ModelSpec, by_kind: dict[str, int] | Mapping[str, int], *, runtime: str = "llama.cpp"
) -> tuple[int, ...]:
    """KV bytes of each main layer: every cache kind's bytes (`KvEstimate.by_kind`) spread evenly
    over the layers that hold it, integers summing to the total (largest remainder).

    Which layers hold a kind: the cache component's layer count (`vramkit.kv.components`) — all
    layers when it equals n_layer, else the layer kind(s) (`Family.layer_kinds`) with exactly that
    many layers, narrowed by name when several match (V4: csa/indexer on the ratio-4 layers,
    hca on the ratio-128 ones, the raw window on every layer; Gemma: sliding vs full layers).
    A kind no rule places is spread over every layer.
    """
    from collections import Counter

    from ..kv import components

    n = int(model.config["num_hidden_layers"])
    try:
        kinds = tuple(model.family_record.layer_kinds(model.config))[:n]
    except (VramkitError, KeyError, TypeError, AttributeError):
        kinds = ()
    if len(kinds) != n:
        kinds = ("layer",) * n
    count = Counter(kinds)
    comp_layers: dict[str, set[int]] = {}
    for c in components(model, runtime=runtime):
        comp_layers.setdefault(c.kind, set()).add(int(c.layers))

    def holders(kind: str) -> list[int]:
        sizes = comp_layers.get(kind, set())
        if not sizes or n in sizes:
            return list(range(n))
        chosen: set[str] = set()
        for size in sizes:
            cands = [k for k, v in count.items() if v == size]
            named = [k for k in cands if kind in k or k in kind]
            chosen.update(named or cands)
        return [i for i, k in enumerate(kinds) if k in chosen] or list(range(n))

    share = [0.0] * n
    for kind, b in by_kind.items():
        if not b:
            continue
        hold = holders(kind)
        for i in hold:
            share[i] += b / len(hold)
    total = sum(int(b) for b in by_kind.values())
    out = [int(x) for x in share]
    rest = total - sum(out)
    for i in sorted(range(n), key=lambda i: share[i] - out[i], reverse=True)[: max(rest, 0)]:
        out[i] += 1
    return tuple(out)


_KV_LAYER_MEMO: dict[int, tuple[object, tuple[int, ...]]] = {}


def kv_layers_of(model: ModelSpec, kv: object) -> tuple[int, ...]:
    """`kv_per_layer` of a KV estimate (its `by_kind`), memoised per estimate object: the
    placements of every runtime ask it once per candidate context."""
    hit = _KV_LAYER_MEMO.get(id(kv))
    if hit is not None and hit[0] is kv:
        return hit[1]
    out = kv_per_layer(model, kv.by_kind)
    if len(_KV_LAYER_MEMO) > 4096:
        _KV_LAYER_MEMO.clear()
    _KV_LAYER_MEMO[id(kv)] = (kv, out)
    return out
