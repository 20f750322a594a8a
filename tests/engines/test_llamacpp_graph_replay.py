"""vramkit.runtimes.llamacpp.graph: ggml-alloc's best-fit allocator replayed over llama.cpp's recorded
allocation sequence (data/llamacpp_graphs/), checked by hand-worked sequences and against the
held-out engine runs (tests/fixtures/measured/llamacpp/heldout/: contexts and -ub values used neither by
the fixture grid nor by the traces' training settings)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import alloc_trace  # noqa: E402
import measure  # noqa: E402

from vramkit.errors import VramkitError  # noqa: E402
from vramkit.runtimes.llamacpp import graph as lg  # noqa: E402
from vramkit.runtimes.llamacpp import memory as lm  # noqa: E402

MIB = 2**20
MODELS = dict(measure.MODELS)


def _events(*ops):
    ev = {"align": 32, "op": [], "a": [], "b": [], "c": []}
    for op in ops:
        if op[0] == "A":  # allocate row op[1]
            ev["op"].append(0), ev["a"].append(op[1]), ev["b"].append(0), ev["c"].append(0)
        else:  # free row op[3] bytes at row op[2] past allocation op[1]
            ev["op"].append(1), ev["a"].append(op[1]), ev["b"].append(op[2]), ev["c"].append(op[3])
    return ev


def test_best_fit_reuses_a_hole_but_never_the_last_block():
    # sizes: row0 = 0, row1 = 100 -> 128 aligned, row2 = 50 -> 64, row3 = 60 -> 64
    sizes = [0, 100, 50, 60]
    # A 128 @0, B 64 @128, free A (hole 0..128), C 64 -> best fit: the hole (@0), not the end
    ev = _events(("A", 1), ("A", 2), ("F", 0, 0, 1), ("A", 3))
    assert lg.replay(ev, sizes) == 128 + 64
    # no hole large enough: the last block grows the buffer (A 64, B 64, free A, C 128 @128)
    ev = _events(("A", 2), ("A", 3), ("F", 0, 0, 2), ("A", 1))
    assert lg.replay(ev, sizes) == 64 + 64 + 128


def test_freed_neighbours_merge_into_one_block():
    sizes = [0, 32, 64]
    # A 32 @0, B 32 @32, C 32 @64; free A and B -> one 64-byte hole @0; D 64 fits it
    ev = _events(("A", 1), ("A", 1), ("A", 1), ("F", 0, 0, 1), ("F", 1, 0, 1), ("A", 2))
    assert lg.replay(ev, sizes) == 96
    # without the merge D would have gone to the end: 96 + 64
    ev = _events(("A", 1), ("A", 1), ("A", 1), ("F", 0, 0, 1), ("A", 2))
    assert lg.replay(ev, sizes) == 96 + 64


def test_partial_free_of_an_in_place_parent():
    # A 128 @0; a node reuses A in place with 64 bytes: the tail 64..128 is freed (row 2 = 64
    # bytes past A's start, row 2 = 64 bytes); B 64 then lands in that tail: peak stays 128
    sizes = [0, 128, 64]
    ev = _events(("A", 1), ("F", 0, 2, 2), ("A", 2))
    assert lg.replay(ev, sizes) == 128


def test_trace_patch_anchors_match_the_pinned_engine_source():
    src = ROOT / "benchmarks" / "engines" / "alloc_trace.py"
    assert "ggml_dyn_tallocr_free_bytes" in src.read_text()
    text = (
        "static struct buffer_address ggml_dyn_tallocr_alloc(struct ggml_dyn_tallocr * alloc,"
        " size_t size, const struct ggml_tensor * tensor) {\n    body\n}\n"
        "static void ggml_dyn_tallocr_free_bytes(struct ggml_dyn_tallocr * alloc,"
        " struct buffer_address addr, size_t size) {\n    body\n}\n"
        "    // allocate in hash table\n    ggml_gallocr_alloc_graph_impl(galloc);\n"
    )
    out = alloc_trace.patch_source(text)
    assert out.count("vk_trace()") >= 3
    assert "@A" in out
    assert "@F" in out
    assert "@R" in out


@pytest.mark.parametrize("mid", sorted(MODELS))
def test_every_model_has_a_trace_naming_its_engine(mid):
    trace = lg.load_trace(mid)
    assert trace is not None, f"run benchmarks/engines/alloc_trace.py --models {mid}"
    assert trace["engine"] == "llama.cpp"
    assert trace["package"] == "llama-cpp-python==0.3.36"
    assert len(trace["llama_cpp_commit"]) == 40
    assert trace["command"][0] == "llama-fit-params"
    assert "{gguf}" in trace["command"]
    model = measure.load_model(mid, MODELS[mid])
    assert trace["config_sha256"] == lg.config_digest(model.config)
    assert set(trace["variants"]) == {"fa_on_f16", "fa_on_q8_0", "fa_on_q4_0", "fa_off_f16"}
    # the training settings are off the fixture grid, so the fixtures are held out
    grid = {(c, u, n) for c in measure.CONTEXTS for u in measure.UBATCHES for n in measure.SEQS}
    assert not grid & {tuple(t) for t in trace["train"]}


def test_a_changed_config_does_not_replay_another_models_trace():
    model = measure.load_model("qwen3-8b", MODELS["qwen3-8b"])
    cfg = dict(model.config, num_hidden_layers=int(model.config["num_hidden_layers"]) + 1)
    s = lm.Settings(32768)
    assert lm.compute_bytes("qwen3-8b", model.family, model.config, s).method == "replay"
    assert lm.compute_bytes("qwen3-8b", model.family, cfg, s).method != "replay"


HELDOUT = sorted(
    p for p in (ROOT / "tests" / "fixtures" / "measured" / "llamacpp" / "heldout").glob("*.json")
)


def test_heldout_runs_exist_for_every_model():
    assert {p.stem for p in HELDOUT} >= set(MODELS)


@pytest.mark.parametrize("path", HELDOUT, ids=[p.stem for p in HELDOUT])
def test_heldout_runs_reproduce(path):
    fx = json.loads(path.read_text())
    assert fx["engine"] == "llama.cpp"
    assert fx["package"] == "llama-cpp-python==0.3.36"
    model = measure.load_model(fx["model"], MODELS[fx["model"]])
    train = {tuple(t) for t in lg.load_trace(fx["model"])["train"]}
    for case in fx["cases"]:
        st, p = case["settings"], case["parsed"]
        assert case["command"][0] == "llama-fit-params"
        assert (st["n_ctx"], st["n_ubatch"], st["n_seq"]) not in train
        s = lm.Settings(st["n_ctx"], st["cache_k"], st["cache_v"], st["n_ubatch"],
                        st["flash_attn"] == "on", st["n_seq"])  # fmt: skip
        est = lm.compute_bytes(fx["model"], model.family, model.config, s)
        engine = p["compute_mib"].get("CPU", p["rows"]["Host"]["compute"] + 0.5) * MIB
        assert abs(est.bytes / engine - 1) <= 0.02, (fx["model"], st, est.bytes / engine - 1)


MTP = sorted((ROOT / "tests" / "fixtures" / "measured" / "llamacpp_mtp").glob("*.json"))


@pytest.mark.parametrize("path", MTP, ids=[p.stem for p in MTP])
def test_mtp_draft_compute_buffer_replays(path):
    # the V4 MTP draft context (tests/fixtures/measured/llamacpp_mtp/, recorded by measure_mtp.py through
    # the engine's library): every draft projection's compute buffer within 2 %
    fx = json.loads(path.read_text())
    model = measure.load_model(fx["model"], "catalog")
    trace = lg.load_trace(f"{fx['model']}-mtp")
    assert trace["context"].startswith("MTP draft")
    assert trace["command"][0] == "mtp_context"
    cases = fx["draft_context"]["cases"]
    assert len(cases) >= 24
    for case in cases:
        st, p = case["settings"], case["parsed"]
        s = lm.Settings(st["n_ctx"], st["cache_k"], st["cache_v"], st["n_ubatch"],
                        st["flash_attn"] == "on", st["n_seq"])  # fmt: skip
        est = lm.mtp_draft_compute_bytes(fx["model"], model.family, model.config, s)
        assert est.method == "replay"
        engine = p["compute_mib"]["CPU"] * MIB
        assert abs(est.bytes / engine - 1) <= 0.02, (fx["model"], st, est.bytes / engine - 1)


def test_mtp_draft_compute_needs_a_recorded_graph():
    model = measure.load_model("qwen3-8b", MODELS["qwen3-8b"])
    with pytest.raises(VramkitError, match="no recorded MTP draft graph"):
        lm.mtp_draft_compute_bytes("qwen3-8b", model.family, model.config, lm.Settings(4096))
