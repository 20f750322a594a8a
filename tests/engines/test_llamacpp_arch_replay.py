"""vramkit.runtimes.llamacpp.arch: llama.cpp's compute buffer from each architecture's graph, recorded on
models that exist only as hyperparameters (benchmarks/engines/arch_graphs.py) and replayed at
the hyperparameters of models that were never traced for it. Held out:

- tests/fixtures/measured/llamacpp/<model>.json: the engine's projections of full-size converter-layout
  GGUF files (llama-fit-params), 64 settings per model;
- tests/fixtures/measured/llamacpp_arch/heldout.json: the engine at the full size of published configs
  (data/examples/, the catalog) over settings none of the templates was recorded at;
- tests/accounting/gguf_converter/engine.json: files the pinned converter wrote, read back
  through `vramkit.ingest` (the GGUF keys → config path included).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "engines"))

import measure  # noqa: E402

from vramkit.runtimes.llamacpp import arch as la  # noqa: E402
from vramkit.runtimes.llamacpp import memory as lm  # noqa: E402

MIB = 2**20
HELDOUT = json.loads((ROOT / "tests/fixtures/measured/llamacpp_arch/heldout.json").read_text())
TEMPLATES = {t: la.load_template(t) for t in la.recorded_templates()}


def _settings(st: dict) -> lm.Settings:
    cache = st.get("cache") or st["cache_k"]
    return lm.Settings(st["n_ctx"], cache, cache, st["n_ubatch"], st["flash_attn"] == "on",
                       st["n_seq"])  # fmt: skip


def _replayed_archs() -> set[str]:
    """Architectures with a template the kit replays at any layer count: not set aside
    (NOT_REPLAYED), every variant's dimensions identified exactly, and layer-stable at its
    deepest recording (DeepSeek V3.2's is not: replayed at its recorded counts only)."""
    out = set()
    for tid, doc in TEMPLATES.items():
        if tid in la.NOT_REPLAYED:
            continue
        variants = [v for vs in doc["by_layers"].values() for v in vs.values()]
        exact = all(v["inexact_dims"] == 0 for v in variants)
        if exact and any(v.get("layer_stable") for v in variants):
            out.add(doc["arch"])
    return out


def test_at_least_25_architectures_are_recorded():
    archs = _replayed_archs()
    assert len(archs) >= 25, sorted(archs)
    # every family the catalog reads through llama.cpp with a per-architecture graph or a
    # checkpoint trace: the ones without a template keep their recorded checkpoints
    for arch in ("llama", "qwen2", "qwen3", "qwen3moe", "gemma2", "gemma3", "mistral3",
                 "deepseek2", "glm4moe", "gpt-oss", "command-r", "olmo2", "granite"):  # fmt: skip
        assert arch in archs


@pytest.mark.parametrize("tid", sorted(TEMPLATES))
def test_every_replayed_variant_reproduces_its_training_runs(tid):
    """The recorder replays each variant over its own 20-run grid (4 hyperparameter sets x
    5 context settings): the engine printed 2-decimal MiB, so 0.005 MiB is its rounding."""
    doc = TEMPLATES[tid]
    assert doc["engine"] == "llama.cpp"
    assert doc["source"]["url"].startswith("https://github.com")
    for layers, variants in doc["by_layers"].items():
        for key, var in variants.items():
            if var["inexact_dims"] == 0:
                assert var["train_worst_abs_mib"] <= 0.0051, (tid, layers, key)


def test_a_hand_worked_template_replays_the_allocator():
    """Three tensors: A (4 KiB) and B (1 KiB) live, A freed, C (2 KiB) fits A's hole (best fit
    among the blocks but the last), so the peak is A + B = 5 KiB."""
    doc = {
        "align": 32,
        "rows": [[0, [[[1, 1, "n"]], [[1, 1, ""]], [[1, 1, ""]], [[1, 1, ""]]]],
                 [0, [[[1, 4, "n"]], [[1, 1, ""]], [[1, 1, ""]], [[1, 1, ""]]]],
                 [0, [[[1, 2, "n"]], [[1, 1, ""]], [[1, 1, ""]], [[1, 1, ""]]]]],
        "events": [[0, 0], [0, 1], [1, 0, 0], [0, 2]],
    }  # fmt: skip
    sizes = {"0": [1, 4]}
    assert la.replay_template(doc, {"n": 1024}, sizes) == 4096 + 1024
    # with n = 4096 the C (8 KiB) no longer fits A's 16 KiB hole? it does: peak stays A + B
    assert la.replay_template(doc, {"n": 4096}, sizes) == 4 * 4096 + 4096


def _fixture_errors() -> list[tuple[str, dict, float]]:
    out = []
    for mid, where in measure.MODELS:
        fx = json.loads((ROOT / f"tests/fixtures/measured/llamacpp/{mid}.json").read_text())
        model = measure.load_model(mid, where)
        for c in fx["cases"]:
            if c["layout"] != fx["files"][0]["layout"] or c["returncode"]:
                continue
            r = la.arch_compute(model.config, _settings(c["settings"]))
            if r.bytes is not None:
                engine = c["parsed"]["compute_mib"]["CPU"] * MIB
                out.append((mid, c["settings"], r.bytes / engine - 1))
    return out


def test_checkpoints_never_traced_for_the_templates_are_replayed_within_2_percent():
    """The 14 traced checkpoints' engine projections (full-size GGUFs in the converter's
    layout) were not used to record any template: each covered architecture's graph at the
    checkpoint's hyperparameters gives the engine's figure (recorded 2026-12-07)."""
    errs = _fixture_errors()
    models = {m for m, _, _ in errs}
    assert len(models) >= 7, models
    within = sum(abs(e) <= 0.02 for _, _, e in errs)
    assert within / len(errs) >= 0.95, [(m, s, e) for m, s, e in errs if abs(e) > 0.02]
    exact = sum(abs(e) <= 0.0001 for _, _, e in errs)
    assert exact / len(errs) >= 0.9


def test_published_configs_are_replayed_within_2_percent():
    """Full-size engine runs of published configs of every covered architecture (none a
    training setting): ≥ 95 % within 2 %."""
    errs = []
    for row in HELDOUT["models"]:
        src = row["config"]
        if src.startswith("catalog:"):
            from vramkit.catalog import get_model

            model = get_model(src.removeprefix("catalog:"))
        else:
            from vramkit.model.configfile import model_from_config_file

            model = model_from_config_file(str(ROOT / src / "config.json"))
        if row["template"] in la.NOT_REPLAYED:
            continue
        for c in row["cases"]:
            r = la.arch_compute(model.config, _settings(c))
            if r.bytes is None:  # a variant not recorded (e.g. a head size with no rotation)
                assert r.reason
                continue
            errs.append((src, c, r.bytes / (c["compute_mib"] * MIB) - 1))
    assert len({s for s, _, _ in errs}) >= 15
    bad = [(s, c, round(e, 4)) for s, c, e in errs if abs(e) > 0.02]
    assert (len(errs) - len(bad)) / len(errs) >= 0.95, bad


def test_compute_bytes_labels_the_replay_and_the_estimate():
    model = measure.load_model("qwen3-8b", dict(measure.MODELS)["qwen3-8b"])
    cfg = dict(model.config, num_hidden_layers=37)  # not the traced checkpoint
    est = lm.compute_bytes("qwen3-8b-37", model.family, cfg, lm.Settings(32768))
    assert est.method == "arch-replay"
    assert "qwen3 graph" in est.note
    cfg = dict(model.config, model_type="no_such_type")
    est = lm.compute_bytes("x", model.family, cfg, lm.Settings(32768))
    assert est.method == "form"
    assert est.note.startswith("estimate")
    assert "measured spread" in est.note


@pytest.mark.parametrize(
    "change",
    [{"num_attention_heads": None}, {"vocab_size": "many"}, {"num_hidden_layers": 0},
     {"hidden_size": 0}, {"num_attention_heads": 0, "head_dim": None},
     {"kv_lora_rank": 512, "q_lora_rank": None, "qk_nope_head_dim": 128,
      "qk_rope_head_dim": 64, "v_head_dim": 128, "model_type": "deepseek_v3"}],
)  # fmt: skip
def test_a_config_the_graph_cannot_stand_for_gets_a_reason_not_a_number(change):
    model = measure.load_model("qwen3-8b", dict(measure.MODELS)["qwen3-8b"])
    cfg = {k: v for k, v in {**model.config, **change}.items() if v is not None}
    r = la.arch_compute(cfg, lm.Settings(4096))
    assert r.bytes is None
    assert r.reason


SYNTH = json.loads(
    (ROOT / "tests/fixtures/measured/llamacpp_arch/heldout_synthetic.json").read_text()
)


def test_every_replayed_template_reproduces_a_shape_it_was_not_recorded_at():
    """The engine at a realistic shape none of the hyperparameter sets used (n_embd 3072, 24
    heads, 8 KV heads, head 128, 30 layers, 32 experts …), per template, over the held-out
    settings: ≥ 95 % within 2 %, and every replayed architecture has such a check."""
    errs, seen = [], set()
    for row in SYNTH["models"]:
        tid = row["template"]
        for c in row["cases"]:
            r = la.replay_symbols(tid, row["written"], row["layers"], _settings(c))
            if r.bytes is None:  # set aside, inexact or a variant not recorded: says why
                assert r.reason
                continue
            seen.add(TEMPLATES[tid]["arch"])
            errs.append((tid, c, r.bytes / (c["compute_mib"] * MIB) - 1))
    assert _replayed_archs() <= seen
    bad = [(t, c, round(e, 4)) for t, c, e in errs if abs(e) > 0.02]
    assert (len(errs) - len(bad)) / len(errs) >= 0.95, bad


def test_coverage_says_which_templates_are_replayed_and_why_not():
    cov = la.coverage()
    assert cov["llama"] == "replayed"
    # recorded from files with the converter's fused attn_qkv (no longer set aside)
    assert cov["phi3"] == "replayed"
    # its buffer grows with the layers past the recorded depth: those counts only
    assert cov["deepseek32"].startswith(
        "replayed at the recorded layer counts only (1, 2, 3, 4, 8, 9, 61)"
    )
    assert {TEMPLATES[t]["arch"] for t, v in cov.items() if v == "replayed"} == _replayed_archs()


@pytest.mark.parametrize(
    ("model_type", "extra", "tid"),
    [("phi3", {}, "phi3"), ("phi3", {"sliding_window": 2047}, "phi3-swa"),
     ("deepseek_v2", {"kv_lora_rank": 512, "q_lora_rank": None}, "deepseek2-lite"),
     ("deepseek_v3", {"kv_lora_rank": 512, "q_lora_rank": 1536}, "deepseek2"),
     ("deepseek_v32", {"kv_lora_rank": 512, "q_lora_rank": 1536}, "deepseek32")],
)  # fmt: skip
def test_template_ids_follow_the_graph_the_engine_builds(model_type, extra, tid):
    """V2-Lite-type configs (no q_lora_rank: attn_q, softmax gating) and V3.2 (the indexer)
    build their own graphs (src/models/deepseek2.cpp L105-110, L498-510; deepseek32.cpp)."""
    assert la.template_id({"model_type": model_type, **extra}) == tid


def test_the_indexer_graph_is_not_replayed_below_its_top_k():
    """DeepSeek V3.2 keeps min(cells, top-k) indexer scores (src/models/deepseek32.cpp L320):
    the template was recorded with top-k below the cells, so a context with fewer cells than
    top-k gets a reason, not a number (3 layers: a recorded count; the template is replayed at
    its recorded counts only)."""
    cfg = {"model_type": "deepseek_v32", "hidden_size": 7168, "num_attention_heads": 128,
           "num_hidden_layers": 3, "vocab_size": 129280, "intermediate_size": 18432,
           "moe_intermediate_size": 2048, "n_routed_experts": 256, "num_experts_per_tok": 8,
           "n_shared_experts": 1, "q_lora_rank": 1536, "kv_lora_rank": 512,
           "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
           "index_n_heads": 64, "index_head_dim": 128, "index_topk": 2048}  # fmt: skip
    assert la.arch_compute(cfg, lm.Settings(8192)).bytes is not None
    short = la.arch_compute(cfg, lm.Settings(1024))
    assert short.bytes is None
    assert "top-k" in short.reason
    deep = la.arch_compute({**cfg, "num_hidden_layers": 62}, lm.Settings(8192))
    assert deep.bytes is None
    assert "not layer-stable" in deep.reason
