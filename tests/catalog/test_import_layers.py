"""The import graph of the package: no circle among module-level imports, the core never imports
the presentation edge (plots, widgets, commands, cli), the catalog layer never imports the
accounting above it, and no module imports another module's private (underscore) names."""

from __future__ import annotations

import ast
from pathlib import Path

import vramkit

PKG = Path(vramkit.__file__).resolve().parent
EDGE = (
    "vramkit.plots", "vramkit.widgets", "vramkit.commands", "vramkit.cli", "vramkit.__main__",
    "vramkit.present",
    # the report: runs the notebooks, writes HTML pages and the front page (teaching picture)
    "vramkit.report",
)  # fmt: skip
"""The presentation edge: may import anything; nothing below may import it."""
CATALOG = (
    "vramkit.errors", "vramkit.units", "vramkit.datafiles", "vramkit.sources", "vramkit.model.tensors",
    "vramkit.model.inventory",
    "vramkit.families", "vramkit.runtimes", "vramkit.hardware", "vramkit.model.params",
    "vramkit.catalog", "vramkit.model.configfile",
)  # fmt: skip
"""The data/catalog layer: reads data files and architectures; counts no bytes of a deployment."""
ACCOUNTING = (
    "vramkit.kv",
    "vramkit.quant",
    "vramkit.moe",
    "vramkit.model.routing",
    "vramkit.budget",
)
ARTICLE = ("vramkit.article",)
"""The source article's story (its tables reproduced and audited, the report's headline): built
on the core, asked only by the presentation edge."""
ENGINES = "vramkit.runtimes."
"""The engines' own modules (vramkit/runtimes/<engine>): accounting, under the registry
(`vramkit.runtimes` itself, catalog layer)."""


def _catalog(mod: str) -> bool:
    return _within(mod, CATALOG) and not mod.startswith(ENGINES)


def _accounting(mod: str) -> bool:
    return _within(mod, ACCOUNTING) or mod.startswith(ENGINES)


def _name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import in the file, resolved to absolute names."""
    tree = ast.parse(path.read_text())
    me = _name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            names = [a.name for a in node.names]
            # `from . import x` imports the submodule x
            subs = [
                f"{mod}.{n}"
                for n in names
                if (PKG.parent / f"{mod}.{n}".replace(".", "/")).exists()
                or (PKG.parent / (f"{mod}.{n}".replace(".", "/") + ".py")).exists()
            ]
            out.append((mod, names))
            out.extend((s, []) for s in subs)
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return [(m, n) for m, n in out if m.startswith("vramkit")]


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in PKG.rglob("*.py")}


def _within(mod: str, prefixes: tuple[str, ...]) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        seen[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if seen.get(n) == 1:
                cycles.append([*stack[stack.index(n) :], n])
            elif n not in seen:
                visit(n)
        stack.pop()
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m)
    return cycles


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    mods = _modules()
    return {
        m: {i for i, _ in _imports(p, top_level_only=top_level_only) if i in mods and i != m}
        for m, p in mods.items()
    }


def test_no_circle_among_module_level_imports():
    cycles = _cycles(_graph(top_level_only=True))
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_circle_among_any_imports():
    """Function-level and TYPE_CHECKING imports included (issue 22): a deferred import that
    closes a circle hides a layering fault rather than removing it. A package's ``__init__``
    re-exporting its own submodules is not a circle (the submodules never import it back)."""
    graph = _graph(top_level_only=False)
    cycles = _cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_core_never_imports_the_presentation_edge():
    bad = []
    for m, p in _modules().items():
        if _within(m, EDGE) or m == "vramkit":
            continue
        bad += [
            f"{m} imports {i}" for i, _ in _imports(p, top_level_only=False) if _within(i, EDGE)
        ]
    assert not bad, "\n".join(bad)


def test_core_never_imports_the_article_story():
    """Issue 22: the article/audit story sits in its own package outside the core; only the
    presentation edge (report, notebooks' helpers, the `article` command) asks it."""
    bad = []
    for m, p in _modules().items():
        if _within(m, EDGE) or _within(m, ARTICLE) or m == "vramkit":
            continue
        bad += [
            f"{m} imports {i}" for i, _ in _imports(p, top_level_only=False) if _within(i, ARTICLE)
        ]
    assert not bad, "\n".join(bad)


def test_catalog_layer_never_imports_accounting():
    bad = []
    for m, p in _modules().items():
        if not _catalog(m):
            continue
        bad += [f"{m} imports {i}" for i, _ in _imports(p, top_level_only=False) if _accounting(i)]
    assert not bad, "\n".join(bad)


def test_no_private_names_imported_from_another_module():
    """`from x import _helper` across modules is refused, except from a package's private helper
    module (a file whose name starts with `_`, e.g. families/_common.py) by its siblings."""
    bad = []
    for m, p in _modules().items():
        for mod, names in _imports(p, top_level_only=False):
            if (
                mod.rpartition(".")[2].startswith("_")
                and mod.rpartition(".")[0] == m.rpartition(".")[0]
            ):
                continue
            bad += [
                f"{m} imports {mod}.{n}"
                for n in names
                if n.startswith("_") and not n.startswith("__")
            ]
    assert not bad, "\n".join(bad)


OWNERS = {
    "vramkit.runtimes": ("Runtime", "get_runtime", "runtimes", "runtime_ids"),
    "vramkit.hardware": ("Gpu", "Link", "get_gpu", "get_link", "gpus", "links"),
}
"""Catalog lookups and the one module that owns each: the only place they are imported from."""


def test_catalog_lookups_are_imported_from_their_owner_only():
    """`vramkit.runtimes` owns the runtime records: `vramkit.hardware` (GPUs and links) neither
    imports nor re-exports them, and every module imports a lookup from the module that defines
    it, never through another (a re-export would keep two spellings of one catalog alive)."""
    import vramkit.hardware as hardware

    owner_of = {n: owner for owner, names in OWNERS.items() for n in names}
    bad = []
    for m, p in _modules().items():
        for mod, names in _imports(p, top_level_only=False):
            bad += [
                f"{m} imports {n} from {mod} (owner: {owner_of[n]})"
                for n in names
                if n in owner_of and mod != owner_of[n] and mod.startswith("vramkit.")
            ]
    hw = [i for i, _ in _imports(PKG / "hardware.py", top_level_only=False)]
    assert "vramkit.runtimes" not in hw, "vramkit.hardware imports vramkit.runtimes"
    for name in ("get_runtime", "runtimes", "RuntimeProfile", "Runtime"):
        assert not hasattr(hardware, name), f"vramkit.hardware still offers {name}"
    assert not bad, "\n".join(bad)


ROOT_MODULES_MAX = 15
"""Issue 22: the package root holds at most 15 modules; the rest live in packages that say what
they hold (model, quant, kv, runtimes, plan, article, report, …)."""


def test_package_root_holds_at_most_15_modules():
    root = sorted(p.name for p in PKG.glob("*.py"))
    assert len(root) <= ROOT_MODULES_MAX, root
