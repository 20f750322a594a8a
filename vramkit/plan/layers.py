"""Per-layer bytes of a model under a recipe: what a placement moves between devices and host.

For layer i: `layer_bytes[i]` (attention, norms, router, compressor, indexer, hyper-connections,
dense MLP — everything but experts), `shared_bytes[i]` (shared experts, part of the layer),
`expert_bytes[i]` (all routed experts of the layer), `expert_one[i]` (one routed expert).
Global tensors: `embed_bytes` (the input embedding), `output_bytes` (output head, final norm and
head mixers). Main model only (MTP excluded: not in GGUF files, loaded only for speculation).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import ModelSpec
from ..errors import VramkitError
from ..quant import Recipe, get_recipe, tensor_formats
from ..tensors import ROUTED_GROUPS


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
    names: tuple[tuple[str, int, str, bool], ...]
    """(GGUF-style tensor name, layer or -1, group, is routed expert) for every main tensor."""

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


def _gguf_name(t_name: str, layer: int | None, cls: str, role: str, used: set[str]) -> str:
    base = cls or role or t_name.rsplit(".", 1)[-1]
    stem = f"blk.{layer}.{base}" if layer is not None else base
    name = f"{stem}.weight"
    if name in used:  # two tensors of one llama.cpp class (V4 compressor wkv / wgate)
        name = f"{stem}_{role}.weight"
    used.add(name)
    return name


_CACHE: dict[tuple[int, str], tuple[ModelSpec, LayerCosts]] = {}


def _costs(model: ModelSpec, recipe: Recipe) -> LayerCosts:
    n = int(model.config.get("num_hidden_layers") or 0)
    if n <= 0:
        raise VramkitError(f"{model.id}: num_hidden_layers is missing; cannot place layers.")
    layer = [0] * n
    shared = [0] * n
    experts = [0] * n
    one = [0] * n
    embed = row = output = 0
    e_count = top_k = 0
    names: list[tuple[str, int, str, bool]] = []
    used: set[str] = set()
    for t, fmt in tensor_formats(model, recipe):
        if t.mtp:
            continue
        b = fmt.tensor_bytes(t.shape)
        total = t.count * b
        routed = t.group in ROUTED_GROUPS and t.experts_per_token is not None
        names.append(
            (
                _gguf_name(t.name, t.layer, t.gguf_class, t.role, used),
                -1 if t.layer is None else int(t.layer),
                t.group,
                routed,
            )
        )
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
    return LayerCosts(
        model_id=model.id,
        recipe_id=recipe.id,
        n_layers=n,
        layer_bytes=tuple(layer),
        shared_bytes=tuple(shared),
        expert_bytes=tuple(experts),
        expert_one=tuple(one),
        experts=e_count,
        top_k=top_k,
        embed_bytes=embed,
        embed_row_bytes=row,
        output_bytes=output,
        names=tuple(names),
    )


def layer_costs(model: ModelSpec, recipe: str | Recipe | None = None) -> LayerCosts:
    """`LayerCosts` of `model` under `recipe` (default: its official checkpoint layout)."""
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
