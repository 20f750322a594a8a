"""Tensor inventory types: one `TensorSpec` per distinct weight tensor, grouped for breakdowns.

A model is described by its *tensor inventory*: one `TensorSpec` per distinct tensor shape in each
layer (identical tensors, e.g. the 256 routed experts of a layer, share one spec with a `count`).
Byte sizes come later, from `vramkit.quant` (a format per tensor); this module counts elements.
The per-family builders live in `vramkit.families`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import VramkitError
from ..validate import check_record

GROUPS: tuple[str, ...] = (
    "embed",
    "lm_head",
    "attention",
    "indexer",
    "compressor",
    "norms",
    "router",
    "shared_experts",
    "routed_experts_gate_up",
    "routed_experts_down",
    "dense_mlp",
    "hyper_connections",
    "vision",
    "mtp",
)
"""Tensor groups of a breakdown. `mtp` holds every tensor of the multi-token-prediction layer(s);
`vision` the image encoder and its projector into the text model (multimodal checkpoints)."""

ROUTED_GROUPS = ("routed_experts_gate_up", "routed_experts_down")

KINDS = ("matrix", "embedding", "vector", "table")
"""`matrix`: a linear weight [out, in] (quantisable); `embedding`: a [vocab, dim] lookup table
(quantisable); `vector`: 1-D or small fp params (norms, biases, sinks, mHC mixers) that runtimes keep
in their native float dtype; `table`: integer tables (hash routing) that are never quantised."""


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One weight tensor (or `count` identical ones) of the model.

    Attributes
    ----------
    name: representative checkpoint name, e.g. ``layers.5.ffn.experts.{e}.w1``.
    group: functional group, one of `GROUPS` minus ``mtp`` (MTP tensors set ``mtp=True``).
    role: short role inside the group (``wq_a``, ``gate_up`` …), used by recipes and mixes.
    shape: logical element shape; for matrices ``(out_features, in_features)``.
    count: how many identical tensors this spec stands for (e.g. routed experts of one layer).
    kind: one of `KINDS`.
    native: the dtype a plain bf16 export of the reference architecture stores it in.
    layer: layer index (MTP layers continue after the main ones), or None for global tensors.
    mtp: True for tensors of the multi-token-prediction module.
    gguf_class: llama.cpp's tensor class name (``attn_v``, ``ffn_down_exps`` …) for GGUF mixes.
    experts_per_token: for routed expert tensors, how many of `count` one token uses.
    """

    name: str
    group: str
    role: str
    shape: tuple[int, ...]
    count: int = 1
    kind: str = "matrix"
    native: str = "BF16"
    layer: int | None = None
    mtp: bool = False
    gguf_class: str = ""
    experts_per_token: int | None = None

    def __init__(
        self,
        name: str,
        group: str,
        role: str,
        shape: tuple[int, ...],
        count: int = 1,
        kind: str = "matrix",
        native: str = "BF16",
        layer: int | None = None,
        mtp: bool = False,
        gguf_class: str = "",
        experts_per_token: int | None = None,
    ) -> None:
        """The fields above, in order, with the same defaults. Written out because an inventory
        builds one spec per tensor (hundreds per model, ~10⁶ in a 1,000-model sweep): each field
        stored through its slot's own setter (`_SETTERS`, which the frozen ``__setattr__`` does
        not see) costs less than the generated ``__init__``'s ``object.__setattr__`` per field,
        and slots leave no per-instance dict for the garbage collector to walk. Frozen all the
        same: assignment still raises."""
        s = _SETTERS
        s[0](self, name)
        s[1](self, group)
        s[2](self, role)
        s[3](self, shape)
        s[4](self, count)
        s[5](self, kind)
        s[6](self, native)
        s[7](self, layer)
        s[8](self, mtp)
        s[9](self, gguf_class)
        s[10](self, experts_per_token)
        if experts_per_token is not None and not 0 < experts_per_token <= count:
            self.__post_init__()  # raises, naming the tensor

    def __post_init__(self) -> None:
        if self.experts_per_token is not None and not 0 < self.experts_per_token <= self.count:
            raise VramkitError(
                f"{self.name}: {self.experts_per_token} experts per token of {self.count} routed "
                "experts; num_experts_per_tok must be between 1 and the number of experts."
            )

    @property
    def numel(self) -> int:
        """Elements of one tensor."""
        return math.prod(self.shape)

    @property
    def params(self) -> int:
        """Elements of all `count` tensors."""
        return self.numel * self.count

    @property
    def active_params(self) -> int:
        """Elements one token reads: routed experts count `experts_per_token` of `count`."""
        if self.experts_per_token is None:
            return self.params
        return self.numel * self.experts_per_token

    @property
    def breakdown_group(self) -> str:
        """The group a breakdown reports it under (``mtp`` for every MTP tensor)."""
        return "mtp" if self.mtp else self.group


_SETTERS = tuple(
    TensorSpec.__dict__[f].__set__
    for f in ("name", "group", "role", "shape", "count", "kind", "native", "layer", "mtp",
              "gguf_class", "experts_per_token")
)  # fmt: skip
"""Each field's slot setter, in `TensorSpec.__init__`'s order."""


@dataclass(frozen=True)
class ParamCounts:
    """Parameter totals (elements, not bytes) of an inventory.

    `total` includes MTP; `main` excludes it (the usual "model size" label); `active` is what one
    token of the main model reads (embedding row lookups counted in full, as DeepSeek does).
    """

    total: int
    main: int
    active: int
    by_group: Mapping[str, int]
    active_by_group: Mapping[str, int]

    def __post_init__(self) -> None:
        check_record(self)


def count_params(
    inventory: Iterable[TensorSpec], times: Iterable[int] | None = None
) -> ParamCounts:
    """Sum an inventory into total / main (no MTP) / active-per-token, by breakdown group.
    `times`: per tensor, how many tensors it stands for beyond its own `count` (a layer kind's
    tensor × its block count, `vramkit.model.inventory.count_kind_params`); 1 each if None."""
    by_group = dict.fromkeys(GROUPS, 0)
    active_by_group = dict.fromkeys(GROUPS, 0)
    total = main = active = 0
    numel: dict[tuple[int, ...], int] = {}  # elements per shape: layers repeat a few shapes
    pairs = ((t, 1) for t in inventory) if times is None else zip(inventory, times, strict=True)
    for t, k in pairs:
        e = numel.get(t.shape)
        if e is None:
            e = numel[t.shape] = math.prod(t.shape)
        n = e * t.count * k  # t.params
        total += n
        if t.mtp:
            by_group["mtp"] += n  # t.breakdown_group
            continue
        by_group[t.group] += n
        main += n
        a = n if t.experts_per_token is None else e * t.experts_per_token * k  # t.active_params
        active += a
        active_by_group[t.group] += a
    return ParamCounts(total, main, active, by_group, active_by_group)
