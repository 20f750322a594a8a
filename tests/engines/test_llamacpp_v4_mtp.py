"""DeepSeek V4 with and without its MTP layer against llama.cpp (tests/fixtures/measured/llamacpp_mtp/).

Without MTP: the converter's default main GGUF (its fixtures: tests/fixtures/measured/llamacpp/). With MTP:
the converter's ``--mtp`` draft file ``mtp-*.gguf`` (benchmarks/engines/measure_mtp.py), whose
weights the engine's loader sizes (``llama-quantize --dry-run``, loaded with ``load_mtp``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import gguf_sparse  # noqa: E402
import measure  # noqa: E402
import measure_mtp  # noqa: E402

from vramkit.catalog import get_model  # noqa: E402
from vramkit.errors import VramkitError  # noqa: E402
from vramkit.quant import mtp_draft_bytes, weight_bytes  # noqa: E402
from vramkit.runtimes.llamacpp import memory as lm  # noqa: E402

MIB = 2**20


def _load(mid: str) -> dict:
    return json.loads((measure_mtp.OUT / f"{mid}.json").read_text())


@pytest.fixture(params=measure_mtp.MODELS)
def mtp(request):
    return _load(request.param), get_model(request.param)


def test_fixture_names_engine_version_and_commands(mtp):
    fx, _ = mtp
    assert fx["engine"] == "llama.cpp"
    assert fx["package"] == "llama-cpp-python==0.3.36"
    assert fx["llama_cpp_commit"] == "0c1e57098bba43ac29e6e3b677cdceebdd22334f"
    assert fx["loader"]["command"][:3] == ["llama-quantize", "--dry-run", "--allow-requantize"]
    assert fx["fit_params"]["command"][:3] == ["llama-fit-params", "-m", "{gguf}"]


def test_draft_file_is_the_mtp_block_plus_shared_embedding_norm_head(mtp):
    fx, model = mtp
    n_layer = int(model.config["num_hidden_layers"])
    assert fx["file"]["block_count"] == n_layer + 1  # "block_count += num_nextn_predict_layers"
    assert fx["file"]["nextn_predict_layers"] == 1
    names = {t[0] for t in fx["loader"]["tensors"]}
    assert len(names) == fx["file"]["n_tensors"]  # the loader read every tensor of the file
    assert {"token_embd.weight", "output.weight", "output_norm.weight"} <= names
    assert f"blk.{n_layer}.nextn.eh_proj.weight" in names
    blocks = {n.split(".")[1] for n in names if n.startswith("blk.")}
    assert blocks == {str(n_layer)}  # no trunk layer in the draft


def test_vramkit_draft_bytes_equal_the_engines(mtp):
    fx, model = mtp
    ours = mtp_draft_bytes(model, gguf_sparse.recipe_for("V4_MXFP4"))
    assert ours == fx["file"]["tensor_bytes"]
    assert fx["loader"]["returncode"] == 0
    assert round(ours / MIB, 2) == fx["loader"]["model_size_mib"]  # "model size = … MiB"


def test_with_and_without_mtp_add_up(mtp):
    # main file (no MTP, the engine's model row) + MTP module = the checkpoint's whole model;
    # the draft repeats the shared embedding, head and final norm
    _, model = mtp
    r = gguf_sparse.recipe_for("V4_MXFP4")
    both = weight_bytes(model, replace(r, include_mtp=True))
    module = both.total_bytes - both.main_bytes
    main_fx = json.loads(measure.fixture_path(model.id).read_text())
    row = next(c for c in main_fx["cases"] if c["layout"] == "V4_MXFP4")
    assert both.main_bytes // MIB == row["parsed"]["rows"]["Host"]["model"]
    shared = mtp_draft_bytes(model, r) - module
    hidden, vocab = int(model.config["hidden_size"]), int(model.config["vocab_size"])
    assert shared == 2 * vocab * hidden * 2 + hidden * 4  # BF16 embed + head, F32 norm


def test_fit_params_cannot_project_the_draft(mtp):
    # llama-fit-params has no --spec-type: it opens the draft as a main model (MTP block
    # skipped, no trunk) and dies in the graph reserve; recorded, not hidden
    fx, _ = mtp
    assert fx["fit_params"]["returncode"] != 0


def test_mtp_draft_bytes_refuses_what_it_does_not_model():
    with pytest.raises(VramkitError, match=r"llama\.cpp file type"):
        mtp_draft_bytes("deepseek-v4-flash", "gguf-Q4_K_M")
    with pytest.raises(VramkitError, match="no MTP module"):
        mtp_draft_bytes("llama-3.1-70b")


def test_draft_context_kv_lines_exactly(mtp):
    # the engine's MTP draft context (mtp_context.cpp: load_mtp, LLAMA_CONTEXT_TYPE_MTP):
    # an empty non-SWA cache and a one-layer SWA cache with K and V
    fx, model = mtp
    cases = fx["draft_context"]["cases"]
    assert len(cases) == len(measure_mtp.GRID)
    for case in cases:
        assert case["returncode"] == 0, case["printed"][-3:]
        st = case["settings"]
        s = lm.Settings(
            st["n_ctx"], st["cache_k"], st["cache_v"], st["n_ubatch"], st["flash_attn"] == "on",
            st["n_seq"],
        )  # fmt: skip
        got = [
            (x.cells, x.layers, x.streams, lm.mib2(x.k_bytes), lm.mib2(x.v_bytes))
            for x in lm.mtp_draft_kv_lines(model.family, model.config, s)
        ]
        want = [
            (c["cells"], c["layers"], c["seqs"], c["k_mib"], c["v_mib"])
            for c in case["parsed"]["caches"]
        ]
        assert got == want, st
        assert case["parsed"]["compute_mib"]["CPU"] > 0  # recorded; vramkit does not model it


def test_draft_context_refuses_what_it_does_not_model():
    from vramkit.catalog import get_model as gm

    m = gm("llama-3.1-70b")
    with pytest.raises(VramkitError, match="no MTP layer"):
        lm.mtp_draft_kv_lines(m.family, m.config, lm.Settings(4096))
