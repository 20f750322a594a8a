"""vramkit's llama.cpp mixes against llama-quantize's own choices (recorded --dry-run output)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from vramkit.catalog import get_model
from vramkit.format_facts import ggml_block
from vramkit.model.configfile import model_from_config_file
from vramkit.quant import gguf_name, tensor_formats, weight_bytes
from vramkit.runtimes.llamacpp.ftypes import LLAMA_CPP_COMMIT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "measured" / "llamacpp_quantize"
ROOT = Path(__file__).resolve().parents[2]
CODES = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NAME = {"FP32": "F32", "FP16": "F16"}


def _load(model: str) -> dict:
    return json.loads((FIXTURES / f"{model}.json").read_text())


#: every model with a dry-run fixture; the last three are the ones whose GGUF tensors are not
#: vramkit's checkpoint tensors one to one (MLA's attn_k_b/attn_v_b, Qwen3-Next's attn_qkv +
#: attn_gate, GLM's NextN block in the file)
MODELS = (
    "deepseek-v4-flash", "llama-3.1-70b", "deepseek-v3", "qwen3-next-80b-a3b-instruct", "glm-4.7",
    "gemma-4-31b",
)  # fmt: skip


def _model(mid: str):
    """The catalog model, or the harness's config file for it (benchmarks/engines/measure.py)."""
    where = {
        "qwen3-next-80b-a3b-instruct": "data/examples/qwen3-next-80b-a3b-instruct",
        "glm-4.7": "data/examples/glm-4.7",
    }.get(mid)
    return model_from_config_file(str(ROOT / where / "config.json")) if where else get_model(mid)


def _runs():
    for model in MODELS:
        doc = _load(model)
        for run in doc["runs"]:
            yield pytest.param(model, run["ftype"], id=f"{model}-{run['ftype']}")


def _engine_types(doc: dict, ftype: str) -> dict[str, str]:
    run = next(r for r in doc["runs"] if r["ftype"] == ftype)
    assert run["returncode"] == 0
    names = [t[0] for t in doc["source"]["tensors"]]
    return {n: run["legend"][CODES.index(c)] for n, c in zip(names, run["codes"], strict=True)}


def _bytes(shape: list[int], type_name: str) -> int:
    # the gguf package's block sizes (Q2_0: the pinned llama.cpp's own gguf-py, formats.py)
    block, size = ggml_block(type_name)
    return math.prod(shape[:-1]) * (shape[-1] // block) * size


def test_fixtures_name_the_engine():
    for model in MODELS:
        doc = _load(model)
        assert doc["llama_cpp_commit"] == LLAMA_CPP_COMMIT
        assert doc["package"] == "llama-cpp-python==0.3.36"
        assert len(doc["runs"]) == 35


@pytest.mark.parametrize(("model", "ftype"), list(_runs()))
def test_vramkit_types_and_bytes_equal_llama_quantize(model, ftype):
    doc = _load(model)
    engine = _engine_types(doc, ftype)
    shapes = {t[0]: t[1] for t in doc["source"]["tensors"]}
    m = _model(model)
    recipe = f"gguf-{ftype}" if ftype in ("COPY", "BF16", "F16") else f"gguf-{ftype}+no-imatrix"
    ours = {gguf_name(t): _NAME.get(f.name, f.name) for t, f in tensor_formats(m, recipe)}
    matrices = [n for n, s in shapes.items() if len([d for d in s if d > 1]) >= 2]
    assert all(n in ours for n in matrices)  # every 2-D/3-D tensor of the file is named alike
    assert {n: ours[n] for n in matrices} == {n: engine[n] for n in matrices}
    # total bytes: the engine's types on the file's shapes = vramkit's bytes of the same tensors
    engine_bytes = sum(_bytes(shapes[n], ty) for n, ty in engine.items())
    assert sum(t.count * f.tensor_bytes(t.shape) for t, f in tensor_formats(m, recipe)) == (
        engine_bytes
    )
    # main (no-MTP) bytes: GLM's file also holds the NextN block (blocks >= num_hidden_layers)
    n_main = int(m.config["num_hidden_layers"])
    main = {n: ty for n, ty in engine.items() if _block(n) < n_main}
    assert weight_bytes(m, recipe).main_bytes == sum(
        _bytes(shapes[n], ty) for n, ty in main.items()
    )


def _block(name: str) -> int:
    """The block number of a ``blk.N.`` tensor, -1 for global tensors."""
    return int(name.split(".")[1]) if name.startswith("blk.") else -1


def test_q3_k_m_v4_flash_engine_figure():
    # the audit's finding, now settled by the engine itself: 135,313,636,308 B of tensors
    doc = _load("deepseek-v4-flash")
    engine = _engine_types(doc, "Q3_K_M")
    shapes = {t[0]: t[1] for t in doc["source"]["tensors"]}
    assert sum(_bytes(shapes[n], ty) for n, ty in engine.items()) == 135_313_636_308
    downs = {ty for n, ty in engine.items() if "ffn_down" in n}
    assert downs == {"Q4_K", "Q5_K"}  # no Q3_K ffn_down on a non-Falcon model
