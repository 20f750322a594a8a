"""vramkit against llama.cpp's own memory projections (tests/fixtures/measured/llamacpp/, fast).

Each fixture is what `llama-fit-params --fit-print on -nr -v` printed for a full-size sparse
GGUF written from vramkit's inventory (benchmarks/engines/measure.py). The engine prints the
model / context / compute row in whole MiB (floor) and each buffer to two decimals of a MiB.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import measure  # noqa: E402

from vramkit.errors import VramkitError  # noqa: E402
from vramkit.kv import kv_cache  # noqa: E402
from vramkit.quant import weight_bytes  # noqa: E402
from vramkit.runtimes.llamacpp import memory as lm  # noqa: E402

MIB = 2**20
FIXTURES = {mid: measure.fixture_path(mid) for mid, _ in measure.MODELS}
WHERE = dict(measure.MODELS)


def _load(mid: str) -> dict:
    return json.loads(FIXTURES[mid].read_text())


def _settings(s: dict) -> lm.Settings:
    return lm.Settings(
        s["n_ctx"], s["cache_k"], s["cache_v"], s["n_ubatch"], s["flash_attn"] == "on", s["n_seq"]
    )


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def fixture(request):
    mid = request.param
    return _load(mid), measure.load_model(mid, WHERE[mid])


def test_every_family_has_a_fixture():
    assert all(p.exists() for p in FIXTURES.values()), "run python3 tasks.py engines"
    families = {_load(mid)["files"][0]["arch"] for mid in FIXTURES}
    # ten llama.cpp architectures: deepseek4, deepseek2, deepseek32, llama (Llama, Mixtral),
    # qwen2, qwen3, qwen3moe, gpt-oss, glm4moe
    assert len(families) >= 9


def test_fixture_names_engine_version_and_command(fixture):
    fx, _ = fixture
    assert fx["engine"] == "llama.cpp"
    assert fx["package"] == "llama-cpp-python==0.3.36"
    assert re.fullmatch(r"[0-9a-f]{40}", fx["llama_cpp_commit"])
    assert fx["machine"] == "cpu"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", fx["date"])
    for case in fx["cases"]:
        cmd = case["command"]
        assert cmd[0] == "llama-fit-params"
        assert cmd[1:3] == ["-m", "{gguf}"]
        assert "--fit-print" in cmd
        assert "-nr" in cmd
        assert "-v" in cmd
        assert case["returncode"] == 0, (fx["model"], case["settings"], case["printed"][-3:])
        assert case["printed"], "the printed lines are kept"


def test_model_buffer_is_the_files_tensor_bytes(fixture):
    # the engine's model column = Σ ggml_nbytes of the tensors it loads, floored to MiB: the
    # file's tensors; GLM's NextN block is in the file but not loaded; a tied output head
    # (Gemma 4: no output.weight) is loaded a second time from token_embd (TENSOR_DUPLICATED)
    fx, _ = fixture
    for f in fx["files"]:
        case = next(c for c in fx["cases"] if c["layout"] == f["layout"])
        engine = case["parsed"]["rows"]["Host"]["model"]
        if f["arch"] == "GLM4_MOE":
            assert f["tensor_bytes"] > (engine + 1) * MIB
        elif f["arch"] == "GEMMA4":
            assert f["tensor_bytes"] < engine * MIB
        else:
            assert f["tensor_bytes"] // MIB == engine, (fx["model"], f["layout"])


def test_vramkit_gguf_bytes_equal_the_engines_on_every_file(fixture):
    # every tensor's type = llama-quantize's own (--dry-run) choice, so vramkit's bytes are the
    # file's bytes to the byte, and the engine's model column (whole MiB, floor) is vramkit's
    # model buffer (the file's loaded tensors, the tied head's copy included)
    fx, model = fixture
    import gguf_sparse

    for f in fx["files"]:
        case = next(c for c in fx["cases"] if c["layout"] == f["layout"])
        engine_mib = case["parsed"]["rows"]["Host"]["model"]
        recipe = gguf_sparse.recipe_for(f["layout"])
        ours = weight_bytes(model, recipe).main_bytes
        assert ours == f["vramkit_weight_bytes"], "vramkit's GGUF bytes moved: re-measure"
        assert f["type_differences"] == {"count": 0, "first": []}, (fx["model"], f["layout"])
        assert lm.model_buffer_bytes(model, recipe) // MIB == engine_mib, (fx["model"], f["layout"])
        if f["arch"] != "GLM4_MOE":  # GLM's file also holds the NextN block (not loaded)
            assert ours == f["tensor_bytes"], (fx["model"], f["layout"])


def test_every_kv_cache_line_exactly(fixture):
    fx, model = fixture
    for case in fx["cases"]:
        s, p = _settings(case["settings"]), case["parsed"]
        lines = lm.kv_lines(model.family, model.config, s)
        got = [
            (x.cells, x.layers, x.streams, lm.mib2(x.k_bytes), lm.mib2(x.v_bytes)) for x in lines
        ]
        want = [(c["cells"], c["layers"], c["seqs"], c["k_mib"], c["v_mib"]) for c in p["caches"]]
        assert got == want, case["settings"]
        states = sorted(lm.mib2(v) for v in lm.state_bytes(model.family, model.config, s).values())
        assert states == sorted(x["mib"] for x in p["dsv4_states"])
        rec = [
            (r.cells, lm.mib2(r.r_bytes), lm.mib2(r.s_bytes))
            for r in lm.recurrent_lines(model.family, model.config, s)
        ]
        assert rec == [(x["cells"], x["r_mib"], x["s_mib"]) for x in p["recurrent"]]
        ctx = lm.context_bytes(model.family, model.config, s)
        assert ctx // MIB == p["rows"]["Host"]["context"]


def test_kv_cache_api_matches_the_context_row(fixture):
    fx, model = fixture
    checked = 0
    for case in fx["cases"]:
        s = case["settings"]
        if s["flash_attn"] == "off" and model.family == "gemma4":
            # the API gives llama.cpp's default (-fa auto: on); without flash attention the V
            # rows are padded to the widest layer's (lm.kv_lines, checked above)
            continue
        try:
            est = kv_cache(
                model,
                s["n_ctx"] // s["n_seq"],
                batch=s["n_seq"],
                cache_dtype=s["cache_k"],
                runtime="llama.cpp",
                n_ubatch=s["n_ubatch"],
                # the engine was run past some models' limits: an explicit what-if here
                allow_extrapolation=True,
            )
        except VramkitError:
            # vramkit refuses contexts beyond 8 x max_position_embeddings (Qwen/Mixtral at 1M)
            assert s["n_ctx"] // s["n_seq"] > 8 * int(model.config["max_position_embeddings"])
            continue
        # known gap: vramkit.kv keeps a recurrent state in the model dtype (vLLM's shapes);
        # llama.cpp keeps R and S in F32, twice the BF16 bytes (lm.recurrent_lines)
        f32_extra = est.by_kind.get("recurrent_state", 0)
        assert (est.total_bytes + f32_extra) // MIB == case["parsed"]["rows"]["Host"]["context"]
        checked += 1
    assert checked >= 48


def test_compute_buffer_function(fixture):
    # every fixture run, no exemptions: the compute buffer is llama.cpp's own allocator
    # replayed over its recorded sequence (data/llamacpp_graphs/; the fixture grid is not
    # among the trace's training settings, so each run here is a held-out check)
    fx, model = fixture
    main = fx["files"][0]["layout"]
    errors = []
    for case in fx["cases"]:
        if case["layout"] != main:
            continue
        s, p = _settings(case["settings"]), case["parsed"]
        est = lm.compute_bytes(fx["model"], model.family, model.config, s)
        assert est.method == "replay", (fx["model"], case["settings"])
        assert est.backend == "CPU"
        engine = p["compute_mib"].get("CPU", p["rows"]["Host"]["compute"] + 0.5) * MIB
        err = est.bytes / engine - 1
        assert abs(err) <= 0.02, (fx["model"], case["settings"], f"{err:+.2%}")
        errors.append(err)
    assert len(errors) >= 48


def test_compute_output_term_is_the_logits():
    # llama-3.1-70b, 4K context, -ub 512, flash attention: the plateau is the output term
    # n_ubatch x (4 x 128,256 + 8 x 8,192) = 512 x 578,560 = 296,222,720 B = 282.5 MiB
    fx = _load("llama-3.1-70b")
    case = next(
        c
        for c in fx["cases"]
        if c["settings"] == {"n_ctx": 4096, "cache_k": "f16", "cache_v": "f16", "n_ubatch": 512,
                             "flash_attn": "on", "n_seq": 1}
    )  # fmt: skip
    assert case["parsed"]["compute_mib"]["CPU"] == 282.5
    assert 512 * (4 * 128_256 + 8 * 8_192) == 296_222_720 == int(282.5 * MIB)
