"""vramkit against ik_llama.cpp's own load logs (tests/fixtures/measured/ik_llama/, fast).

Each fixture holds what `llama-cli -n 0 --no-warmup` of ik_llama.cpp@8337e4cd (CPU build,
benchmarks/engines/ik_llama.py) printed while loading a small GGUF written from vramkit's own
inventory (`gguf_sparse`) and creating its context: the buffer lines to two decimals of a MiB,
the wkv_b it derives, the tensors -rtr repacked. Pinned here:

- KV (`KV self size`, c^KV / kv^T or K / V): exact to the printed 0.01 MiB on every run (-mla
  0/1/2/3, -fa on/off, f16 / q8_0 / q8_KV / q6_0, -ub, -c);
- weights: the model buffer is the file's tensor bytes (vramkit's GGUF bytes) to the printed
  0.01 MiB, with and without -rtr; the wkv_b ik derives for every MLA layer of a file with
  split attn_k_b / attn_v_b (-mla 0/2/3; none with -mla 1) has the kit's shape and type; the
  count of tensors -rtr repacks is the kit's;
- compute (CPU compute buffer): an estimate, its measured spread per kind stated in
  `COMPUTE_SPREAD` and asserted, not claimed exact: without flash attention (K*Q and masks
  dominate) −2.9 % … −0.3 % off MLA; with it −23 % … +152 % (llama.cpp's graph stands in for
  ik's: a 4-layer model's buffer is small beside the kit's logits and FFN terms); MLA −56 % …
  +65 % (the kit's MLA chunk is sized for a CUDA build: F16 casts, llama.cpp's graph beside).

The engine refuses a quantized V cache without flash attention (common/common.cpp L4303-L4304:
"Quantized V cache cannot be used without flash attention"), and with -ctk/-ctv q8_KV on a GQA
model it aborts building the graph after printing the KV line (ggml.c L5427, a view past its
source; `ik_llama_rules.check_viewed_v` states why): both are recorded as such, the kit refuses
both, and the KV line printed before the abort is still pinned to the kit's layout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import ik_llama  # noqa: E402

from vramkit.errors import VramkitError  # noqa: E402
from vramkit.kv import kv_cache  # noqa: E402
from vramkit.runtimes import ik_llama_rules as ik  # noqa: E402

MIB = 2**20
HALF_CENT = 0.005 + 1e-9  # half the printed resolution of a MiB figure (%.2f)
MODELS = [mid for mid, _ in ik_llama.MODELS]


def _load(mid: str) -> dict:
    return json.loads(ik_llama.fixture_path(mid).read_text())


@pytest.fixture(scope="module", params=MODELS)
def fixture(request):
    mid = request.param
    fx = _load(mid)
    model = ik_llama.load_model(mid)
    kit = [ik_llama.kit_figures(model, c["settings"]) if _built(c) else None for c in fx["cases"]]
    return fx, model, kit


COMPUTE_SPREAD = {"MLA": (-0.57, 0.66), "no MLA, -fa on": (-0.24, 1.53),
                  "no MLA, -fa off": (-0.03, 0.0)}  # fmt: skip
"""Measured relative error of `ik_llama_rules.device_compute` on these runs (min, max)."""
QUANT_V_REFUSED = "Quantized V cache cannot be used without flash attention"
VIEW_ABORT = "ggml/src/ggml.c:5427: GGML_ASSERT(view_src == NULL"
"""The assert ik_llama.cpp stops on with a q8_KV V cache viewed per head (issue 24)."""


def _refused(case: dict) -> bool:
    return any(QUANT_V_REFUSED in ln for ln in case["printed"])


def _loaded(case: dict) -> bool:
    return case["parsed"]["kv"] is not None


def _aborted(case: dict) -> bool:
    """The engine printed its KV line, then stopped building the graph (the view assert)."""
    return any(VIEW_ABORT in ln for ln in case["printed"])


def _built(case: dict) -> bool:
    return _loaded(case) and not _aborted(case)


def _cases(fx: dict, kit: list) -> list:
    return [(c, k) for c, k in zip(fx["cases"], kit, strict=True) if _built(c)]


def test_fixture_names_engine_commit_and_command(fixture):
    fx, model, _ = fixture
    assert fx["engine"] == "ik_llama.cpp"
    assert fx["commit"] == ik.IK_COMMIT
    assert fx["machine"] == "cpu"
    assert "-DGGML_CUDA=OFF" in fx["cmake_flags"]
    for case in fx["cases"]:
        assert case["command"][:3] == ["llama-cli", "-m", "{gguf}"]
        assert case["printed"], "the kept lines are stored"
        s = case["settings"]
        quant_v_no_fa = s["flash_attn"] == "off" and s["cache"] not in ("f16", "bf16", "f32")
        assert _refused(case) == quant_v_no_fa, (fx["model"], s)
        assert _loaded(case) != quant_v_no_fa, (fx["model"], s, case["printed"][-3:])
        if quant_v_no_fa:  # the kit refuses what the engine refuses
            with pytest.raises(VramkitError, match="without flash attention"):
                ik_llama.kit_figures(model, s)
        gqa_q8_kv = s["cache"] == "q8_KV" and fx["family"] != "deepseek_v3"
        assert _aborted(case) == (gqa_q8_kv and not quant_v_no_fa), (fx["model"], s)
        if _aborted(case):  # the kit refuses what the engine aborts on (issue 24)
            assert _loaded(case), (fx["model"], s)  # the KV line was printed
            assert not case["parsed"]["compute_mib"], (fx["model"], s)  # no graph was built
            with pytest.raises(VramkitError, match="aborts building the graph with a q8_KV V"):
                ik_llama.kit_figures(model, s)
        elif _loaded(case):
            assert case["parsed"]["compute_mib"], (fx["model"], s)
    assert sum(_built(c) for c in fx["cases"]) >= 18


def test_q8_kv_v_cache_refused_exactly_where_the_engine_aborted():
    """Every recorded q8_KV run with -fa: the engine aborted (view assert) on the GQA models
    and built the graph on DeepSeek under -mla 1/2/3 (q8_KV as the latent K cache, no V
    tensor); the kit refuses the first and answers the second, case by case."""
    seen = {"refused": [], "answered": []}
    for mid in MODELS:
        fx, model = _load(mid), ik_llama.load_model(mid)
        for case in fx["cases"]:
            s = case["settings"]
            if s["cache"] != "q8_KV" or s["flash_attn"] != "on":
                continue
            if _aborted(case):
                with pytest.raises(VramkitError, match="q8_KV is allowed only as the latent"):
                    ik_llama.kit_figures(model, s)
                seen["refused"].append((mid, s["mla"]))
            else:
                assert case["parsed"]["compute_mib"], (mid, s)
                k = ik_llama.kit_figures(model, s)
                assert abs(k.kv_bytes / MIB - case["parsed"]["kv"]["total"]) <= HALF_CENT
                seen["answered"].append((mid, s["mla"]))
    assert sorted(seen["refused"]) == [("ik-tiny-gpt-oss", None), ("ik-tiny-llama", None),
                                       ("ik-tiny-qwen3moe", None)]  # fmt: skip
    assert sorted(seen["answered"]) == [("ik-tiny-deepseek2", m) for m in (1, 2, 3)]


def test_kv_line_printed_before_the_abort_is_the_kits_layout(monkeypatch):
    """The refused runs still printed `KV self size` (K: head rows of 8 + head_dim B, V: one
    1-D tensor with one 8 B meta a layer, `gqa_pieces`): with the refusal lifted the kit's
    bytes are that line to its 0.01 MiB, so the layout stays pinned for when ik fixes the view."""
    monkeypatch.setattr(ik, "check_viewed_v", lambda *a, **k: None)
    checked = 0
    for mid in MODELS:
        fx, model = _load(mid), ik_llama.load_model(mid)
        for case in filter(_aborted, fx["cases"]):
            kv = kv_cache(model, case["settings"]["n_ctx"], runtime="ik_llama.cpp",
                          cache_dtype="q8_KV", flash_attn=True)  # fmt: skip
            assert abs(kv.total_bytes / MIB - case["parsed"]["kv"]["total"]) <= HALF_CENT, mid
            checked += 1
    assert checked == 3


def test_kv_self_size_exactly(fixture):
    fx, _, kit = fixture
    for case, k in _cases(fx, kit):
        kv = case["parsed"]["kv"]
        assert abs(k.kv_bytes / MIB - kv["total"]) <= HALF_CENT, (case["settings"], k.kv_bytes)
        bufs = case["parsed"]["kv_buffer_mib"]
        assert abs(k.kv_bytes / MIB - sum(bufs.values())) <= HALF_CENT * len(bufs)


def test_mla_pieces_are_the_printed_c_kv_and_kv_t():
    fx = _load("ik-tiny-deepseek2")
    model = ik_llama.load_model("ik-tiny-deepseek2")
    from vramkit.kv.formats import resolve_cache_dtype
    from vramkit.runtimes import get_runtime

    n_layer = int(model.config["num_hidden_layers"])
    checked = 0
    for case in fx["cases"]:
        s, kv = case["settings"], case["parsed"]["kv"]
        if kv is None or "ckv" not in kv:
            continue
        cache = resolve_cache_dtype(s["cache"], get_runtime("ik_llama.cpp").kv, "default")
        fa = s["flash_attn"] == "on"
        cells = -(-s["n_ctx"] // (256 if fa else 32)) * (256 if fa else 32)
        pieces = {p.name: p for p in ik.mla_pieces(model.config, cache, cache, s["mla"], fa)}
        ckv = pieces["c^KV"].per_cell * cells * n_layer
        assert abs(ckv / MIB - kv["ckv"]) <= HALF_CENT, s
        if "kv^T" in pieces:  # -mla 1 without flash attention: the transposed latent
            t = pieces["kv^T"]
            assert abs((t.per_cell * cells + t.per_layer) * n_layer / MIB - kv["kvt"]) <= HALF_CENT
        else:  # printed "kv^T: not used" (-fa) or "kv^T (f16): 0.00 MiB" (-mla 2/3, no -fa)
            assert kv.get("kvt", 0.0) == 0.0, s
        checked += 1
    assert checked >= 20


def test_model_buffer_is_the_files_tensor_bytes(fixture):
    fx, _, kit = fixture
    for case, k in _cases(fx, kit):
        f = next(x for x in fx["files"] if x["layout"] == case["settings"]["layout"])
        assert k.weight_bytes == f["vramkit_weight_bytes"] == f["tensor_bytes"]
        model_mib = sum(case["parsed"]["model_mib"].values())
        assert abs(k.weight_bytes / MIB - model_mib) <= HALF_CENT, case["settings"]


def test_derived_wkv_b_is_the_kits(fixture):
    fx, model, kit = fixture
    for case, k in _cases(fx, kit):
        got = [(d["cols"], d["rows"], d["type"].upper()) for d in case["parsed"]["derived"]]
        want = [(d.cols, d.rows, d.ggml_type) for d in k.derived]
        assert got == want, case["settings"]
    if model.config.get("kv_lora_rank"):
        mla = {c["settings"]["mla"]: bool(c["parsed"]["derived"]) for c, _ in _cases(fx, kit)}
        assert mla == {0: True, 1: False, 2: True, 3: True}


def test_rtr_repacks_the_kits_tensors_and_keeps_the_bytes(fixture):
    fx, _, kit = fixture
    runs = [(c, k) for c, k in _cases(fx, kit) if c["settings"]["rtr"]]
    assert runs
    for case, k in runs:
        assert case["parsed"]["repacked"] == k.repacked, case["settings"]
        twin = next(
            c for c in fx["cases"]
            if c["settings"] == {**case["settings"], "rtr": False}
        )  # fmt: skip
        assert sum(case["parsed"]["model_mib"].values()) == pytest.approx(
            sum(twin["parsed"]["model_mib"].values()), abs=0.011
        )


def test_compute_buffer_within_its_measured_spread(fixture):
    fx, model, kit = fixture
    errors: dict[str, list[float]] = {}
    for case, k in _cases(fx, kit):
        if not case["parsed"]["compute_mib"]:
            continue
        engine = sum(case["parsed"]["compute_mib"].values()) * MIB
        fa = case["settings"]["flash_attn"]
        key = "MLA" if model.config.get("kv_lora_rank") else f"no MLA, -fa {fa}"
        errors.setdefault(key, []).append(k.compute_bytes / engine - 1)
        assert "an estimate" in k.compute_note
    assert errors
    for key, errs in errors.items():
        lo, hi = COMPUTE_SPREAD[key]
        assert lo <= min(errs), (fx["model"], key, min(errs))
        assert max(errs) <= hi, (fx["model"], key, max(errs))


def test_published_cuda_logs_model_buffers():
    """The held-out published ik_llama.cpp logs (tests/fixtures/ik_published/logs.json; the
    arithmetic of #895 is written out in tests/engines/test_ik_llama_rules.py): each model buffer
    the log prints is the kit's to the printed 0.01 MiB — CPU (experts + their biases' CPU
    copy), CUDA_Host (token_embd) and CUDA0 (with the biases ik keeps on the GPU too)."""
    logs = ik_llama.published_logs()
    assert [x["id"] for x in logs] == ["ik-895-gpt-oss-120b-cpu-moe"]
    for log in logs:
        assert all(f"{v:,.2f}".replace(",", "") in " ".join(log["quote"])
                   for v in log["buffers_mib"].values())  # fmt: skip
        kit = ik_llama.kit_model_buffers(log)
        for buf, pub in log["buffers_mib"].items():
            assert abs(kit[buf] / 2**20 - pub) <= 0.005, (log["id"], buf, kit[buf] / 2**20, pub)
        # mainline's placement of the same file keeps one copy of the biases: CUDA0 0.15 GiB less
        base = ik_llama.kit_model_buffers(log, runtime="llama.cpp")
        assert kit["CUDA0"] - base["CUDA0"] == 36 * 3 * 128 * 2880 * 4


def test_published_cuda_logs_compute_buffers():
    """The compute buffers a published log records (`compute_mib`, quoted in `compute_quote`):
    compute is an estimate; #895's CUDA0 is the kit's +1.4 % (its arithmetic and the host buffer
    in tests/engines/test_ik_llama_rules.py), the row benchmarks/accuracy.py prints."""
    logs = [x for x in ik_llama.published_logs() if x.get("compute_mib")]
    assert [x["id"] for x in logs] == ["ik-895-gpt-oss-120b-cpu-moe"]
    for log in logs:
        quote = " ".join(log["compute_quote"])
        assert all(f"= {v:.2f} MiB" in quote for v in log["compute_mib"].values())
        assert f"n_ctx = {log['compute_settings']['n_ctx']}" in quote
        kit = ik_llama.kit_compute_buffers(log)
        err = kit["CUDA0"] / (log["compute_mib"]["CUDA0"] * 2**20) - 1
        assert err == pytest.approx(0.014, abs=0.001)
