"""llama.cpp file types over a model, typed once per distinct layer kind.

A GGUF file repeats a few *layer kinds* (the set of tensors a block holds, with their shapes)
over its blocks. llama-quantize's rules (`vramkit.runtimes.llamacpp.mix`) read of a tensor its
name without the block number, its dims, its source type and its place among the counted tensors
(`mix.Position`: the tests its rules make on the attn_v / ffn_down / ffn_gate / ffn_up counters
and the block number). So the blocks of one kind whose tensors stand alike get the same types.

`layout(model)` walks the model's GGUF tensors once (the converter's splits and names, each
tensor's template: its fields but name and block), walks llama.cpp's counters block by block,
and groups the blocks by (kind, positions); `mix_groups(model, ftype, imatrix)` types each group
once per file type (groups of equal content are typed once for all models), so a file type costs
a few dozen decisions instead of one per tensor. Weight bytes and per-layer bytes sum each group
once × its block count (`FormatGroup`); the per-tensor list is expanded from the groups on
request (`flat_types`). Where a grouping cannot be trusted (a global tensor whose name parses as
a block) or llama-quantize stops on a tensor, the callers fall back to the per-tensor path, whose
errors name the tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING

from ..model.inventory import Inventory
from ..model.tensors import TensorSpec
from ..runtimes.llamacpp import mix

if TYPE_CHECKING:
    from ..catalog import ModelSpec
    from .formats import QuantFormat

_TEMPLATE_FIELDS = attrgetter(
    "group", "role", "shape", "count", "kind", "native", "mtp", "gguf_class", "experts_per_token"
)
"""A tensor's fields but its name and block: alike tensors of different blocks share them."""
_COUNTED_CATS = frozenset({"attn_v", "attn_qkv", "attn_kv_b", "ffn_down", "ffn_gate", "ffn_up"})


@dataclass(frozen=True, eq=False)
class Layout:
    """A model's GGUF tensors grouped for llama-quantize (see the module docstring).

    `specs`: every GGUF tensor in file-writing order (`tensor_formats` order; `n_specs` of
    them, built by `expand` on first use: sums over the groups never need them); `facts`: what the
    quantizer reads of the model; `templates`: one `GgufTensor` per distinct tensor template (a
    block tensor named ``blk.#.<stem>``); `rows`: per template, a representative spec (its
    fields but `name` / `layer` hold for every tensor of the template); `units`: per group,
    (blocks, template ids in llama.cpp's order, positions), the global tensors first (blocks
    ``()``: one group per distinct template and position); `times`: how many times each group
    occurs (its block count; a global group: its alike tensors); `flat`: per group, per
    occurrence, the `specs` index of each template;
    `unit_ids`: each group's content id (shared by models holding the same group); `first` /
    `last`: per group, the lowest / highest `specs` index of each template; `tied`: the file
    has no ``output.weight``."""

    expand: Callable[[], tuple[TensorSpec, ...]]
    facts: mix.ModelFacts
    templates: tuple[mix.GgufTensor, ...]
    rows: tuple[TensorSpec, ...]
    units: tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[mix.Position, ...]], ...]
    times: tuple[int, ...]
    flat: tuple[tuple[tuple[int, ...], ...], ...]
    unit_ids: tuple[int, ...]
    first: tuple[tuple[int, ...], ...]
    last: tuple[tuple[int, ...], ...]
    tied: bool
    n_specs: int

    @cached_property
    def specs(self) -> tuple[TensorSpec, ...]:
        """Every GGUF tensor in file-writing order, expanded on first use (`expand`)."""
        out = self.expand()
        assert len(out) == self.n_specs
        return out


_UNIT_IDS: dict[tuple[object, ...], int] = {}
"""Group content (arch, template ids, positions) → a small id shared by every model holding
it."""
_TEMPLATE_IDS: dict[mix.GgufTensor, int] = {}
"""A tensor template (`GgufTensor`) → a small id shared by every model holding it."""
_UNIT_TYPES: dict[tuple[object, ...], tuple[tuple[str, ...], bool]] = {}
"""(group id, file type, imatrix, facts without n_layer, tied) → the group's types and
whether they need an importance matrix."""


def gguf_stem(t: TensorSpec) -> str:
    """llama.cpp's name for `t` without the ``blk.N.`` prefix (see `vramkit.quant.gguf_name`)."""
    stem = t.gguf_class or t.role
    weight = t.gguf_class or t.kind in ("matrix", "embedding")
    return f"{stem}.weight" if weight else stem


class Ungroupable(Exception):
    """The model's tensors do not fit the grouping's assumptions: use the per-tensor path."""


def build_layout(
    model: ModelSpec,
    inventory: Inventory,
    keep_mtp: bool,
    checkpoint: list[str],
    facts: mix.ModelFacts,
    family: object,
    extra: tuple[tuple[TensorSpec, tuple[int, ...]], ...],
    outtype: str = "auto",
) -> Layout:
    """The `Layout` of `model` (arguments as `vramkit.quant._gguf_tensors` computes them:
    `inventory` the model's layer kinds, `checkpoint` the checkpoint format name per tensor of
    the flat inventory, or "" each; `extra` the converter-generated tensors; `outtype` the
    converter's ``--outtype``, see `mix.converter_type`). A block of a kind met before is placed
    from that kind's template ids, without a pass over its tensors.
    Raises `Ungroupable` where the grouping does not hold."""
    arch = facts.arch
    config = model.config
    split_of = family.gguf_split  # type: ignore[attr-defined]
    n_specs = 0
    # per inventory template: None (one GGUF tensor, its part template id) or True (split)
    inv_ids: dict[tuple[object, ...], tuple[bool, int]] = {}
    part_ids: dict[tuple[object, ...], int] = {}
    templates: list[mix.GgufTensor] = []
    rows: list[TensorSpec] = []
    global_rows: list[tuple[int, int]] = []  # (specs index, template id)
    blocks: dict[int, tuple[list[int], list[int]]] = {}  # block → (template ids, specs indices)
    kind_pids: dict[int, tuple[int, ...] | None] = {}  # kind → its template ids, in order

    def part_id(part: TensorSpec, ne: tuple[int, ...], c: str) -> int:
        key = (part.group, part.role, part.shape, part.count, part.kind, part.native, part.mtp,
               part.gguf_class, part.experts_per_token, part.layer is None, ne, c)  # fmt: skip
        pid = part_ids.get(key)
        if pid is None:
            stem = gguf_stem(part)
            name = stem if part.layer is None else f"blk.#.{stem}"
            real = stem if part.layer is None else f"blk.{part.layer}.{stem}"
            if part.layer is None and mix.GgufTensor(stem, ne, "").layer != -1:
                raise Ungroupable(stem)  # a global name llama.cpp would read as a block's
            n_dims = len(ne)
            while n_dims > 1 and ne[n_dims - 1] == 1:
                n_dims -= 1
            src = mix.converter_type(real, n_dims, arch=arch, native=part.native, checkpoint=c,
                                     outtype=outtype, ne0=ne[0])  # fmt: skip
            pid = part_ids[key] = len(templates)
            templates.append(mix.GgufTensor(name, ne, src))
            rows.append(part)
        return pid

    def place(layer: int | None, pid: int) -> None:
        nonlocal n_specs
        if layer is None:
            global_rows.append((n_specs, pid))
        else:
            ids = blocks.get(layer)
            if ids is None:
                ids = blocks[layer] = ([], [])
            ids[0].append(pid)
            ids[1].append(n_specs)
        n_specs += 1

    fields = _TEMPLATE_FIELDS
    kind_c: dict[int, list[str]] = {}  # kind → its first block's checkpoint types
    at = 0  # index in the flat inventory (of `checkpoint`)
    for k, layer in inventory.blocks:
        kind = inventory.kinds[k]
        size = len(kind.tensors)
        start = at
        if layer is not None and k in kind_pids:
            pids = kind_pids[k]
            # a kind met before, its tensors of the same checkpoint types: its template ids
            if pids is not None and checkpoint[at : at + size] == kind_c[k]:
                ids = blocks.get(layer)
                if ids is None:
                    ids = blocks[layer] = ([], [])
                ids[0].extend(pids)
                ids[1].extend(range(n_specs, n_specs + len(pids)))
                n_specs += len(pids)
                at += size
                continue
        one_layer = True  # every GGUF tensor of this block in block `layer`
        placed: list[int] = []
        for t in kind.at(layer):
            c = checkpoint[at]
            at += 1
            if t.mtp and not keep_mtp:
                continue
            key = (fields(t), t.layer is None, c)
            hit = inv_ids.get(key)
            if hit is None:
                parts = split_of(config, t)
                if parts is None:
                    ne = tuple(reversed(t.shape))
                    if t.experts_per_token is not None:
                        ne = (*ne, t.count)
                    hit = inv_ids[key] = (False, part_id(t, ne, c))
                else:
                    hit = inv_ids[key] = (True, -1)
            if hit[0]:
                for part, ne in split_of(config, t):
                    pid = part_id(part, ne, c)
                    one_layer = one_layer and part.layer == layer
                    placed.append(pid)
                    place(part.layer, pid)
            else:
                one_layer = one_layer and t.layer == layer
                placed.append(hit[1])
                place(t.layer, hit[1])
        if layer is not None and k not in kind_pids:
            kind_pids[k] = tuple(placed) if one_layer else None
            kind_c[k] = checkpoint[start : start + size]
    for part, ne in extra:
        place(part.layer, part_id(part, ne, ""))

    def expand() -> tuple[TensorSpec, ...]:
        out: list[TensorSpec] = []
        for t in inventory.flat:
            if t.mtp and not keep_mtp:
                continue
            parts = split_of(config, t)
            if parts is None:
                out.append(t)
            else:
                out.extend(part for part, _ in parts)
        out.extend(part for part, _ in extra)
        return tuple(out)

    names = [t.name for t in templates]
    cats = [mix.category(n) for n in names]
    allows = [mix.allows_quantization(t, arch) for t in templates]
    steps = [
        allows[i] and cats[i] in _COUNTED_CATS and mix.counted(names[i], arch)
        for i in range(len(templates))
    ]
    attn_v = [c in ("attn_v", "attn_qkv", "attn_kv_b") for c in cats]  # category_is_attn_v
    n_wv = sum(attn_v[pid] for _, pid in global_rows)
    # kind → (llama.cpp's order, counted ones, attn_v count, the counted ones' categories)
    kinds: dict[tuple[int, ...], tuple[list[int], list[int], int, tuple[str, ...]]] = {}
    for ids, _ in blocks.values():
        kind = tuple(ids)
        hit = kinds.get(kind)
        if hit is None:
            order = sorted(range(len(kind)), key=lambda j, k=kind: names[k[j]])
            steppers = [j for j in order if steps[kind[j]]]
            hit = kinds[kind] = (order, steppers, sum(attn_v[pid] for pid in kind),
                                 tuple([cats[kind[j]] for j in steppers]))  # fmt: skip
        n_wv += hit[2]
    counters = mix.Counters(n_wv, facts.n_layer, max(1, facts.n_expert) > 1)
    step = counters.step
    # the global tensors first, by name (block -1), as llama.cpp orders them; alike ones (a
    # vision tower's repeated blocks) form one group each
    units: list[tuple[tuple[int, ...], tuple[int, ...], tuple[mix.Position, ...]]] = []
    times: list[int] = []
    where: list[list[tuple[int, ...]]] = []
    groups: dict[tuple[object, ...], int] = {}
    for j in mix.tensor_order([names[pid] for _, pid in global_rows]):
        at, pid = global_rows[j]
        pos = counters.step(cats[pid], -1) if steps[pid] else mix.NOWHERE
        g = groups.get((pid, pos))
        if g is None:
            g = groups[(pid, pos)] = len(units)
            units.append(((), (pid,), (pos,)))
            times.append(0)
            where.append([])
        times[g] += 1
        where[g].append((at,))
    layers: list[list[int]] = [[] for _ in units]
    for layer in sorted(blocks):
        ids, idx = blocks[layer]
        kind = tuple(ids)
        order, steppers, _, step_cats = kinds[kind]
        pos = tuple([step(c, layer) for c in step_cats])
        sig = (kind, pos)
        g = groups.get(sig)
        if g is None:
            g = groups[sig] = len(units)
            full = dict.fromkeys(order, mix.NOWHERE)
            full.update(zip(steppers, pos, strict=True))
            units.append(((), tuple([kind[j] for j in order]), tuple(full.values())))
            times.append(0)
            where.append([])
            layers.append([])
        times[g] += 1
        layers[g].append(layer)
        where[g].append(tuple([idx[j] for j in order]))
    # each template as a process-wide id (equal templates, equal ids): a group's content key
    # then hashes integers, not the templates
    gids = [_TEMPLATE_IDS.setdefault(t, len(_TEMPLATE_IDS)) for t in templates]
    unit_ids = []
    for g, (_, tids, ps) in enumerate(units):
        units[g] = (tuple(layers[g]), tids, ps)
        content = (arch, tuple([gids[i] for i in tids]), ps)
        uid = _UNIT_IDS.get(content)
        if uid is None:
            uid = _UNIT_IDS[content] = len(_UNIT_IDS)
        unit_ids.append(uid)
    first = tuple(w[0] if len(w) == 1 else tuple(map(min, *w)) for w in where)
    last = tuple(w[0] if len(w) == 1 else tuple(map(max, *w)) for w in where)
    return Layout(
        expand=expand,
        facts=facts,
        templates=tuple(templates),
        rows=tuple(rows),
        units=tuple(units),
        times=tuple(times),
        flat=tuple(tuple(w) for w in where),
        unit_ids=tuple(unit_ids),
        first=first,
        last=last,
        tied="output.weight" not in names,
        n_specs=n_specs,
    )


def unit_types(lay: Layout, ftype: str, imatrix: bool | None) -> tuple[tuple[str, ...], ...]:
    """The GGML type of each template of each group under the canonical file type `ftype`
    (`imatrix` None: with an importance matrix only where the file type needs one, as
    `mix.target_types`). Raises `VramkitError` where llama-quantize stops on a tensor."""
    if imatrix is None:
        plain = _unit_types(lay, ftype, False)
        if any(needs for _, needs in plain):
            return tuple(types for types, _ in _unit_types(lay, ftype, True))
        return tuple(types for types, _ in plain)
    return tuple(types for types, _ in _unit_types(lay, ftype, imatrix))


def _unit_types(lay: Layout, ftype: str, imatrix: bool) -> list[tuple[tuple[str, ...], bool]]:
    """Per group: its types and whether one of them makes llama-quantize ask for an
    importance matrix (`mix.needs_imatrix`), each group typed once for all models holding it."""
    # the rules never read n_layer but through the positions: groups are shared across models
    facts = replace(lay.facts, n_layer=0)
    out = []
    for uid, (_, tids, ps) in zip(lay.unit_ids, lay.units, strict=True):
        key = (uid, ftype, imatrix, facts, lay.tied)
        hit = _UNIT_TYPES.get(key)
        if hit is None:
            types = []
            needs = False
            for i, p in zip(tids, ps, strict=True):
                t = lay.templates[i]
                allowed = mix.allows_quantization(t, facts.arch)
                ty = mix.type_of(t, mix.category(t.name), allowed, p, ftype, facts,
                                 imatrix=imatrix, tied=lay.tied)  # fmt: skip
                needs = needs or mix.needs_imatrix(t, ty, ftype)
                types.append(ty)
            hit = (tuple(types), needs)
            if len(_UNIT_TYPES) >= 65536:
                _UNIT_TYPES.clear()
            _UNIT_TYPES[key] = hit
        out.append(hit)
    return out


def flat_types(lay: Layout, types: tuple[tuple[str, ...], ...]) -> list[str]:
    """The per-tensor types in `Layout.specs` order, expanded from the groups."""
    out = [""] * lay.n_specs
    for where, ts in zip(lay.flat, types, strict=True):
        for idx in where:
            for k, ty in zip(idx, ts, strict=True):
                out[k] = ty
    return out


@dataclass(frozen=True)
class FormatGroup:
    """Tensors stored alike: `rows` (a representative spec — every field but `name` and
    `layer` holds for each tensor it stands for — and its format) occurring `times` times: once
    in each block of `layers`, or, for global tensors (`layers` ``()``), once per alike global
    tensor. `row_bytes`: bytes of one tensor of each row in its format (`tensor_bytes`); `first`
    / `last`: per row, the index in `tensor_formats` order of its first / last tensor."""

    layers: tuple[int, ...]
    times: int
    rows: tuple[tuple[TensorSpec, QuantFormat], ...]
    row_bytes: tuple[int, ...]
    first: tuple[int, ...]
    last: tuple[int, ...]


_ROW_BYTES: dict[tuple[object, ...], tuple[int, ...]] = {}
"""(group id, its types) → bytes of one tensor of each row."""


def format_groups(
    lay: Layout, types: tuple[tuple[str, ...], ...], fmt: dict[str, QuantFormat]
) -> tuple[FormatGroup, ...]:
    """`FormatGroup`s of a layout typed by `unit_types` (`fmt`: GGML type → format)."""
    out = []
    for uid, (layers, tids, _), times, ts, first, last in zip(
        lay.unit_ids, lay.units, lay.times, types, lay.first, lay.last, strict=True
    ):
        rows = tuple([(lay.rows[i], fmt[ty]) for i, ty in zip(tids, ts, strict=True)])
        key = (uid, ts)
        sizes = _ROW_BYTES.get(key)
        if sizes is None:
            sizes = tuple([f.tensor_bytes(t.shape) for t, f in rows])
            if len(_ROW_BYTES) >= 65536:
                _ROW_BYTES.clear()
            _ROW_BYTES[key] = sizes
        out.append(FormatGroup(layers, times, rows, sizes, first, last))
    return tuple(out)
