"""One registry of runtimes (issue 22): no module outside `vramkit/runtimes/` compares a value
against a runtime's id, alias, short name or KV layout name — it asks the record's capabilities
(`vramkit.runtimes.Capabilities`, `KvProfile.traits`) — and no data file names Python code as a
"module:function" string (hooks are registered in Python, `vramkit.runtimes.engines`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

import vramkit
from vramkit.datafiles import DATA_DIR
from vramkit.quant import RECIPE_KINDS
from vramkit.runtimes import KV_LAYOUTS, runtime_aliases, runtimes

PKG = Path(vramkit.__file__).resolve().parent
RUNTIME_PACKAGE = PKG / "runtimes"
MODULE_FUNCTION = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+:[A-Za-z_]\w*")
"""A dotted module path, a colon, a name: how data used to point at code."""


def _runtime_names() -> set[str]:
    names = set(runtime_aliases()) | set(KV_LAYOUTS)
    names |= {rt.short_name.lower() for rt in runtimes().values()}
    return names


def _constants(node: ast.AST) -> Iterator[str]:
    """String constants of a comparison operand, looking inside tuple / list / set literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for elt in node.elts:
            yield from _constants(elt)


def _is_recipe_kind(node: ast.Compare) -> bool:
    """`recipe.kind == "llamacpp"`: a recipe kind (`vramkit.quant.RECIPE_KINDS`, a llama-quantize
    mix) that happens to be spelled like a runtime alias, not a runtime."""
    operands = (node.left, *node.comparators)
    return any(isinstance(o, ast.Attribute) and o.attr == "kind" for o in operands)


def compared_runtime_names(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, constant) for every runtime name a comparison (==, !=, in, not in, is) in `source`
    holds as a string constant."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                out += [
                    (node.lineno, c)
                    for c in _constants(operand)
                    if c.lower() in names and not (_is_recipe_kind(node) and c in RECIPE_KINDS)
                ]
    return out


def test_the_check_finds_a_comparison_against_a_runtime_id():
    """The detector itself, on the shapes the issue counted: == , in (…), != , a list."""
    names = _runtime_names()
    src = (
        'if runtime_id == "vllm":\n    pass\n'
        'if rt in ("llama.cpp", "ik_llama.cpp"):\n    pass\n'
        'ok = "SGLang" != name or name not in ["llama-cpp"]\n'
        'fine = runtime == "fit" or kind in ("a", "b") or recipe.kind == "llamacpp"\n'
        'bad = r.kind == "vllm"\n'
    )
    found = sorted(compared_runtime_names(src, names))
    assert found == [(1, "vllm"), (3, "ik_llama.cpp"), (3, "llama.cpp"), (5, "SGLang"),
                     (5, "llama-cpp"), (7, "vllm")]  # fmt: skip


def test_no_runtime_id_is_compared_outside_the_runtime_package():
    names = _runtime_names()
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        if RUNTIME_PACKAGE in path.parents:
            continue
        for line, const in compared_runtime_names(path.read_text(), names):
            bad.append(f"{path.relative_to(PKG.parent)}:{line} compares against {const!r}")
    assert not bad, "ask the runtime record instead:\n" + "\n".join(bad)


def _strings(doc: object) -> Iterator[str]:
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def test_module_function_pattern_matches_what_it_must():
    assert MODULE_FUNCTION.fullmatch("vramkit.llamacpp_memory:budget_compute_bytes")
    assert not MODULE_FUNCTION.fullmatch("https://github.com/ggml-org/llama.cpp")
    assert not MODULE_FUNCTION.fullmatch("common/common.h:483")


def test_no_data_file_names_python_code():
    files = sorted(Path(DATA_DIR).glob("*.yaml"))
    assert files, DATA_DIR
    bad = []
    for f in files:
        text = f.read_text()
        for s in _strings(yaml.safe_load(text)):
            if MODULE_FUNCTION.fullmatch(s.strip()):
                bad.append(f"{f.name}: {s.strip()!r}")
        bad += [f"{f.name}: {m.group(0)!r}" for m in re.finditer(r"vramkit(?:\.\w+)+:\w+", text)]
    assert not bad, "register code in Python (vramkit.runtimes.engines):\n" + "\n".join(bad)
