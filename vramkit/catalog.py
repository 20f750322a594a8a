"""The model catalog: `data/models.yaml` loaded, validated and frozen into `ModelSpec` records.

The only module that reads the model catalog file. Validation says what is wrong: a missing
field, an unknown key, a duplicate id, an unknown family, variant, status or parent. Whether the
numbers agree with the architecture (labels, published sizes) is `vramkit.model.catalog_checks`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .datafiles import DATA_DIR, check_document, load_document
from .errors import VramkitError, shown, unknown_name
from .families import get_family
from .model.inventory import Inventory, count_kind_params
from .model.params import FAMILIES, ParamCounts, TensorSpec
from .sources import Source, parse_source

if TYPE_CHECKING:
    from .families import Family

CHECKPOINT_STATUSES = ("confirmed", "derived", "hypothesis", "unpublished")
VARIANTS = ("instruct", "base")
LABEL_TOLERANCE = 0.05
"""Parameter labels ("284B") are rounded marketing figures: the architecture's main-model count
must lie within 5% of them, or the entry is inconsistent."""

_TOP_REQUIRED = {
    "id",
    "name",
    "family",
    "variant",
    "config",
    "config_source",
    "labels",
    "checkpoint",
}
_TOP_OPTIONAL = {"hf_repo", "hf_repo_source", "inherits", "unconfirmed", "notes"}
_LABEL_KEYS = {"total_params", "active_params", "source"}
_CKPT_REQUIRED = {"layout", "status", "source"}
_CKPT_OPTIONAL = {"total_size_bytes"}


@dataclass(frozen=True)
class Checkpoint:
    """The official checkpoint: stored layout (recipe id), size in bytes if published, status."""

    layout: str
    status: str
    source: Source
    total_size_bytes: int | None = None


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A catalog model: its config.json architecture fields, labels and official checkpoint.

    Frozen and compared by identity (``eq=False``), so a spec is a cache key: its inventory and
    parameter counts are computed once per config object (`_derived` below), never stored on it.
    """

    id: str
    name: str
    family: str
    variant: str
    config: Mapping[str, Any]
    config_source: Source
    total_params_label: int
    active_params_label: int
    labels_source: Source
    checkpoint: Checkpoint
    hf_repo: str | None = None
    """The Hugging Face repo id of the official checkpoint ('deepseek-ai/DeepSeek-V4-Flash'): what
    `vllm serve` / SGLang's --model-path take; backed by a source whose url names it."""
    hf_repo_source: Source | None = None
    unconfirmed: tuple[tuple[str, str], ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        from .families import check_config

        cfg = self.config
        if _CHECKED.get(id(cfg)) is cfg:  # a read-only view checked already (`checked_view`)
            return
        check_config(cfg, where=f"model {self.id}" if self.id else "config")

    @functools.cached_property
    def family_record(self) -> Family:
        """The `Family` record of `family`, resolved once per spec (`vramkit.families.get_family`):
        everything below a model's first call asks the spec, never the registry by name."""
        return get_family(self.family)

    def with_family(self, family: Family) -> ModelSpec:
        """This spec holding `family` as its `family_record` (a builder that has resolved the
        family already hands it on instead of the spec looking its name up again)."""
        if family.name != self.family:
            raise VramkitError(f"family record {family.name!r} is not this spec's {self.family!r}.")
        vars(self)["family_record"] = family  # the cached_property's own slot
        return self

    @property
    def inventory(self) -> tuple[TensorSpec, ...]:
        """Every weight tensor of the architecture (see `vramkit.families`)."""
        return _inventory(self)

    @property
    def tensor_kinds(self) -> Inventory:
        """The inventory as layer kinds (`vramkit.model.inventory`): each kind of block once."""
        return _derived(self)[1]

    @property
    def params(self) -> ParamCounts:
        """Total / main / active parameter counts derived from the architecture."""
        return _params(self)

    @property
    def not_counted(self) -> tuple[str, ...]:
        """Notes naming the multimodal towers of the config its inventory leaves out, each with
        a labelled size estimate (`vramkit.families.uncounted_towers`); empty when none."""
        from .families import uncounted_towers

        kinds = self.tensor_kinds.kinds  # each kind once: the groups the inventory holds
        return uncounted_towers(self.config, [t for k in kinds for t in k.tensors])

    @property
    def checkpoint_layout(self) -> str:
        """Recipe id of the official checkpoint's stored layout."""
        return self.checkpoint.layout

    @property
    def num_layers(self) -> int:
        """Main (non-MTP) decoder layers."""
        return int(self.config["num_hidden_layers"])


_CHECKED: dict[int, Mapping[str, Any]] = {}
"""id → a read-only config view whose config passed `check_config` (held, so its id is not
reused; bounded to 64): a spec and its `dataclasses.replace` copies check it once."""


def checked_view(config: dict[str, Any]) -> Mapping[str, Any]:
    """A read-only view of `config`, a dict the caller built, holds alone and has checked with
    `vramkit.families.check_config`: specs holding the view do not check it again."""
    view = MappingProxyType(config)
    if len(_CHECKED) >= 64:
        del _CHECKED[next(iter(_CHECKED))]  # the oldest first
    _CHECKED[id(view)] = view
    return view


def _inventory(spec: ModelSpec) -> tuple[TensorSpec, ...]:
    return _derived(spec)[1].flat


def _params(spec: ModelSpec) -> ParamCounts:
    entry = _derived(spec)
    if entry[2] is None:
        entry[2] = count_kind_params(entry[1])
    return entry[2]


_DERIVED: dict[tuple[str, int], list[Any]] = {}
"""(family, id(config)) → [config, `Inventory`, parameter counts or None]: what a spec derives
from its family and config, shared by the specs that hold the same config object (a spec and
its `dataclasses.replace` copies, e.g. `configfile.model_from_config`'s labelled one). The
config is held, so its id is not reused while the entry lives; bounded to 64 configs."""


def _derived(spec: ModelSpec) -> list[Any]:
    key = (spec.family, id(spec.config))
    hit = _DERIVED.get(key)
    if hit is None or hit[0] is not spec.config:
        hit = [spec.config, spec.family_record.kinds(spec.config), None]
        if len(_DERIVED) >= 64:
            del _DERIVED[next(iter(_DERIVED))]  # the oldest first
        _DERIVED[key] = hit
    return hit


def _source(where: str, raw: Any) -> Source:
    return parse_source(where, raw, strict_keys=True)


def _check_keys(where: str, rec: Mapping[str, Any], required: set[str], optional: set[str]) -> None:
    missing = required - set(rec)
    if missing:
        raise VramkitError(f"{where}: missing field(s) {sorted(missing)}.")
    unknown = set(rec) - required - optional
    if unknown:
        allowed = sorted(required | optional)
        raise VramkitError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {allowed}.")


def _positive_int(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise VramkitError(f"{where} must be a positive whole number, got {value!r}.")
    return value


def parse_models(doc: Any, *, origin: str = "models.yaml") -> dict[str, ModelSpec]:
    """Validate a parsed catalog document's structure and build `ModelSpec`s keyed by id.

    The numbers are checked against the architecture (labels within 5%, published size within 1%
    of the stored layout) by `vramkit.model.catalog_checks.check_models`, a step of the test suite and
    of any caller that loads its own catalog — not here, so that the catalog needs no weight
    accounting (the catalog layer sits below it)."""
    doc = check_document(doc, origin, ("models",))
    raw_by_id: dict[str, Mapping[str, Any]] = {}
    for i, rec in enumerate(doc["models"] or []):
        where = (
            f"{origin}: model #{i + 1} ({rec.get('id', '?') if isinstance(rec, Mapping) else '?'})"
        )
        if not isinstance(rec, Mapping):
            raise VramkitError(f"{where}: each model must be a mapping.")
        _check_keys(where, rec, _TOP_REQUIRED, _TOP_OPTIONAL)
        if rec["id"] in raw_by_id:
            raise VramkitError(f"{origin}: duplicate model id {rec['id']!r}.")
        raw_by_id[rec["id"]] = rec
    models: dict[str, ModelSpec] = {}
    for mid, rec in raw_by_id.items():
        models[mid] = _build(origin, mid, rec, raw_by_id)
    return models


def _resolved_config(
    mid: str, raw_by_id: Mapping[str, Mapping[str, Any]], seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    rec = raw_by_id[mid]
    parent = rec.get("inherits")
    base: dict[str, Any] = {}
    if parent:
        if parent in seen:
            raise VramkitError(f"models.yaml: inherits loop through {parent!r}.")
        if parent not in raw_by_id:
            raise unknown_name(f"parent model (inherits of {mid})", parent, raw_by_id)
        base = _resolved_config(parent, raw_by_id, (*seen, mid))
    if not isinstance(rec["config"], Mapping):
        raise VramkitError(f"models.yaml: {mid}: config must be a mapping of config.json fields.")
    return {**base, **rec["config"]}


def _build(
    origin: str, mid: str, rec: Mapping[str, Any], raw_by_id: Mapping[str, Mapping[str, Any]]
) -> ModelSpec:
    where = f"{origin}: {mid}"
    try:
        get_family(rec["family"])  # loads that family's module only
    except VramkitError:
        raise unknown_name(f"architecture family in {where}", rec["family"], FAMILIES) from None
    if rec["variant"] not in VARIANTS:
        raise unknown_name(f"variant in {where}", rec["variant"], VARIANTS)
    config = _resolved_config(mid, raw_by_id)
    labels = rec["labels"]
    _check_keys(f"{where}.labels", labels, _LABEL_KEYS, set())
    ckpt = rec["checkpoint"]
    _check_keys(f"{where}.checkpoint", ckpt, _CKPT_REQUIRED, _CKPT_OPTIONAL)
    if ckpt["status"] not in CHECKPOINT_STATUSES:
        raise unknown_name(f"checkpoint status in {where}", ckpt["status"], CHECKPOINT_STATUSES)
    size = ckpt.get("total_size_bytes")
    if size is not None:
        size = _positive_int(f"{where}.checkpoint.total_size_bytes", size)
    elif ckpt["status"] != "unpublished":
        raise VramkitError(f"{where}: checkpoint status {ckpt['status']!r} needs total_size_bytes.")
    unconfirmed = []
    for item in rec.get("unconfirmed") or []:
        if not isinstance(item, Mapping) or set(item) != {"field", "reason"}:
            raise VramkitError(
                f"{where}: each 'unconfirmed' item needs exactly 'field' and 'reason'."
            )
        unconfirmed.append((str(item["field"]), str(item["reason"])))
    spec = ModelSpec(
        id=mid,
        name=str(rec["name"]),
        family=rec["family"],
        variant=rec["variant"],
        config=MappingProxyType(config),
        config_source=_source(f"{where}.config_source", rec["config_source"]),
        total_params_label=_positive_int(f"{where}.labels.total_params", labels["total_params"]),
        active_params_label=_positive_int(f"{where}.labels.active_params", labels["active_params"]),
        labels_source=_source(f"{where}.labels.source", labels["source"]),
        checkpoint=Checkpoint(
            layout=str(ckpt["layout"]),
            status=ckpt["status"],
            source=_source(f"{where}.checkpoint.source", ckpt["source"]),
            total_size_bytes=size,
        ),
        hf_repo=rec.get("hf_repo"),
        hf_repo_source=_hf_repo_source(where, rec),
        unconfirmed=tuple(unconfirmed),
        notes=str(rec.get("notes") or ""),
    )
    return spec


def _hf_repo_source(where: str, rec: Mapping[str, Any]) -> Source | None:
    """The source that names the record's `hf_repo`: its own `hf_repo_source`, else the first of
    config_source / labels.source / checkpoint.source whose url is on huggingface.co/<repo>."""
    repo = rec.get("hf_repo")
    if repo is None:
        if "hf_repo_source" in rec:
            raise VramkitError(f"{where}: 'hf_repo_source' without 'hf_repo'.")
        return None
    if not isinstance(repo, str) or repo.count("/") != 1 or not all(repo.split("/")):
        raise VramkitError(f"{where}.hf_repo must be 'owner/name', got {repo!r:.80}.")
    if "hf_repo_source" in rec:
        src = _source(f"{where}.hf_repo_source", rec["hf_repo_source"])
        if repo.lower() not in f"{src.url} {src.quote}".lower():
            raise VramkitError(f"{where}.hf_repo_source neither links nor quotes {repo!r}.")
        return src
    raws = [rec.get("config_source"), (rec.get("labels") or {}).get("source"),
            (rec.get("checkpoint") or {}).get("source")]  # fmt: skip
    for i, raw in enumerate(raws):
        src = _source(f"{where}.source[{i}]", raw) if isinstance(raw, Mapping) else None
        if src and src.url and f"huggingface.co/{repo}".lower() in src.url.lower():
            return src
    raise VramkitError(
        f"{where}: hf_repo {repo!r} has no source; add 'hf_repo_source' (url + quote naming it)."
    )


def load_models(path: str | Path | None = None) -> dict[str, ModelSpec]:
    """Load and structurally validate a catalog file (default: the project's data/models.yaml);
    `vramkit.model.catalog_checks.check_models` checks its numbers."""
    p = Path(path) if path is not None else DATA_DIR / "models.yaml"
    return parse_models(load_document(p), origin=p.name)


@functools.cache
def _default_models() -> dict[str, ModelSpec]:
    return load_models()


def models() -> dict[str, ModelSpec]:
    """The project catalog (loaded once; its numbers are checked by the test suite)."""
    return dict(_default_models())


def model_ids() -> list[str]:
    """Catalog ids in file order."""
    return list(_default_models())


def get_model(model: str | ModelSpec) -> ModelSpec:
    """A catalog model by id (case-insensitive), or the `ModelSpec` itself."""
    if isinstance(model, ModelSpec):
        return model
    if not isinstance(model, str):
        raise VramkitError(
            f"model must be a catalog id (text) or a ModelSpec, got {type(model).__name__} "
            f"{shown(model, 60)}."
        )
    table = _default_models()
    key = str(model).strip().lower()
    if key in table:
        return table[key]
    raise unknown_name("model", model, table)


V4_IDS = ("deepseek-v4-flash", "deepseek-v4-pro", "deepseek-v4-flash-base", "deepseek-v4-pro-base")
"""The four DeepSeek V4 variants the kit is first built for."""


def catalog_rows() -> list[dict[str, Any]]:
    """One plain row per model: ids, labels, derived params, official size (bytes, GB, GiB)."""
    rows = []
    for m in models().values():
        size = m.checkpoint.total_size_bytes
        rows.append(
            {
                "id": m.id,
                "name": m.name,
                "family": m.family,
                "variant": m.variant,
                "total_params_label": m.total_params_label,
                "active_params_label": m.active_params_label,
                "total_params": m.params.total,
                "main_params": m.params.main,
                "active_params": m.params.active,
                "layout": m.checkpoint.layout,
                "checkpoint_bytes": size,
                "checkpoint_gb": size / 1e9 if size else None,
                "checkpoint_gib": size / 2**30 if size else None,
                "checkpoint_status": m.checkpoint.status,
            }
        )
    return rows
