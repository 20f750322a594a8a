"""GGUF files as llama.cpp's converter writes them and its loader reads them (issue 23, item 2).

The fixtures in gguf_converter/ are the headers (metadata + tensor infos) of files written by the
pinned tree's convert_hf_to_gguf.py (ggml-org/llama.cpp@0c1e57098bba) from tiny checkpoints
with published config shapes; benchmarks/engines/converter_headers.py rebuilds them (see
manifest.json). Each test pads a header with zeros to the converter's file size and reads it.
Expected figures are written out as arithmetic on the shrunk configs (the overrides in
converter_headers.CASES, repeated here where a figure depends on them).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from vramkit.cli import main
from vramkit.errors import VramkitError
from vramkit.families import get_family
from vramkit.ingest import ingest
from vramkit.ingest.gguf_file import config_from_metadata, measure_gguf, read_metadata
from vramkit.model.configfile import family_of
from vramkit.runtimes.llamacpp.memory import MIB, Settings, compute_bytes, kv_lines, recurrent_lines

HERE = Path(__file__).parent / "gguf_converter"
MANIFEST = json.loads((HERE / "manifest.json").read_text())


def _materialise(folder: Path) -> dict[str, Path]:
    """Every fixture file as a sparse file: the converter's header, zeros to its size."""
    out = {}
    for row in MANIFEST["files"]:
        head = (HERE / row["header"]).read_bytes()
        assert hashlib.sha256(head).hexdigest() == row["header_sha256"]
        assert len(head) < row["size"]
        path = folder / row["file"]
        with path.open("wb") as f:
            f.write(head)
            f.truncate(row["size"])
        out[row["file"]] = path
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return _materialise(tmp_path_factory.mktemp("converter"))


def _kv(path: Path, capsys, *extra: str) -> dict:
    # 8K for every fixture, past the Llama 2 fixture's 4,096-token limit: an explicit what-if
    argv = ["kv", "--from", str(path), "--context", "8K", "--allow-extrapolation", "--json"]
    assert main([*argv, *extra]) == 0
    return json.loads(capsys.readouterr().out)


CASES = sorted({row["case"] for row in MANIFEST["files"]})
CONFIGS = Path(__file__).parent / "published_configs"


def _shrunk_config(case: str) -> dict:
    """The config the converter read: the published file with the manifest's overrides."""
    row = next(r for r in MANIFEST["files"] if r["case"] == case)
    cfg = json.loads((CONFIGS / row["config"]).resolve().read_text())
    _apply(cfg, row["overrides"])
    return cfg


def _apply(cfg: dict, overrides: dict) -> None:
    """As converter_headers._apply: None removes a key, a dict over a dict recurses."""
    for key, value in overrides.items():
        if value is None:
            cfg.pop(key, None)
        elif isinstance(value, dict) and isinstance(cfg.get(key), dict):
            _apply(cfg[key], value)
        else:
            cfg[key] = value


def test_manifest_names_the_pinned_converter():
    assert "0c1e57098bba43ac29e6e3b677cdceebdd22334f" in MANIFEST["converter"]
    # one converter file for each family the catalog reads but DeepSeek V4 and Gemma 4, whose
    # converters need fields no published config here has (Gemma 4: num_kv_shared_layers,
    # layer_types; tested with the converter's keys written out instead)
    families = {ingest_family(case) for case in CASES}
    assert families == {
        "deepseek_v3",
        "phi3",
        "gemma",
        "gpt_oss",
        "llama",
        "llama4",
        "glm4_moe",
        "qwen3_next",
    }


def ingest_family(case: str) -> str:
    return get_family(family_of(_shrunk_config(case))).name


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("runtime", ["reference", "llama.cpp"])
def test_gguf_config_sizes_like_the_config_it_came_from(files, case, runtime, tmp_path, capsys):
    """The converter's file and the config it was written from give the same KV cache, byte for
    byte, under both runtimes: the loader's defaults restore what the converter left out."""
    (tmp_path / "config.json").write_text(json.dumps(_shrunk_config(case)))
    argv = ["--context", "8K", "--allow-extrapolation", "--runtime", runtime]
    from_gguf = _kv(files[f"{case}.gguf"], capsys, "--runtime", runtime)
    assert main(["kv", "--config", str(tmp_path / "config.json"), *argv, "--json"]) == 0
    from_config = json.loads(capsys.readouterr().out)
    assert from_gguf["by_kind"] == from_config["by_kind"]
    assert from_gguf["total_bytes"] == from_config["total_bytes"] > 0


@pytest.mark.parametrize("case", CASES)
def test_gguf_holds_the_config_parameters(files, case, tmp_path, capsys):
    """Every parameter of the config is in the file (the tensor infos), the MTP block only where
    the converter keeps it: GLM-4.x and V3.2 do ("skip_mtp = False", conversion/deepseek.py
    L466-468), DeepSeek V2/V3 do not ("skip_mtp = True", L239-240)."""
    (tmp_path / "config.json").write_text(json.dumps(_shrunk_config(case)))
    assert main(["weights", "--config", str(tmp_path / "config.json"), "--json"]) == 0
    w = json.loads(capsys.readouterr().out)
    mtp = sum(g["params"] for g in w["groups"] if g["group"] == "mtp")
    with_mtp = ("deepseek-v3", "deepseek-v3.2", "glm-4.7")  # the configs with an MTP block
    assert (mtp > 0) == (case in with_mtp)
    kept = case in ("deepseek-v3.2", "glm-4.7")
    measured = ingest(files[f"{case}.gguf"]).measured
    # a vision tower goes to the mmproj file, not the main GGUF (Llama 4: conversion/llama4.py
    # filter_tensors); llama3 rope scaling adds rope_freqs, F32 [head_dim / 2 = 32]
    # (LlamaModel.generate_extra_tensors, conversion/llama.py L298-326)
    vision = sum(g["params"] for g in w["groups"] if g["group"] == "vision")
    assert (vision > 0) == (case == "llama-4")
    rope_freqs = 64 // 2 if case == "llama-4" else 0
    expected = w["total_params"] - (0 if kept else mtp) - vision + rope_freqs
    assert measured.total_params == expected
    assert (measured.by_group.get("mtp", 0) > 0) == bool(kept and mtp)


@pytest.mark.parametrize("name", ["deepseek-v3", "deepseek-v2-lite"])
def test_deepseek2_mla_lengths(files, name, capsys):
    meta = read_metadata(files[f"{name}.gguf"])
    # the converter's absorbed MQA form: key = kv_lora 64 + rope 16, value = kv_lora 64, and the
    # per-head dims in *_mla: nope 32 + rope 16 = 48, v_head 32 (shrunk config)
    assert meta["deepseek2.attention.head_count_kv"] == 1
    assert meta["deepseek2.attention.key_length"] == 64 + 16
    assert meta["deepseek2.attention.value_length"] == 64
    assert meta["deepseek2.attention.key_length_mla"] == 32 + 16
    assert meta["deepseek2.attention.value_length_mla"] == 32
    ing = ingest(files[f"{name}.gguf"])
    cfg = ing.config
    assert (cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]) == (32, 16, 32)
    assert cfg["kv_lora_rank"] == 64
    assert cfg["num_key_value_heads"] == cfg["num_attention_heads"] == 4
    assert cfg["n_routed_experts"] == 8
    assert ing.model is not None
    assert ing.model.family == "deepseek_v3"
    # KV: layers (V3 shrunk to 3; V2-Lite keeps its 27) × (kv_lora 64 + rope 16) × 2 B per token
    layers = {"deepseek-v3": 3, "deepseek-v2-lite": 27}[name]
    kv = _kv(files[f"{name}.gguf"], capsys)
    assert kv["slope_bytes_per_token"] == layers * (64 + 16) * 2
    assert kv["total_bytes"] == 8192 * layers * (64 + 16) * 2


def test_deepseek_v2_lite_has_no_q_lora(files):
    meta = read_metadata(files["deepseek-v2-lite.gguf"])
    assert "deepseek2.attention.q_lora_rank" not in meta  # V2-Lite: q_lora_rank null
    assert "q_lora_rank" not in ingest(files["deepseek-v2-lite.gguf"]).config


def test_phi4_sliding_window_zero_is_full_attention(files, capsys):
    meta = read_metadata(files["phi-4.gguf"])
    assert meta["phi3.attention.sliding_window"] == 0  # written on purpose: Phi-4 has none
    ing = ingest(files["phi-4.gguf"])
    assert "sliding_window" not in ing.config
    # 2 layers × K and V × 2 KV heads × head_dim 256/8 = 32 × 2 B, every token
    kv = _kv(files["phi-4.gguf"], capsys)
    assert kv["by_kind"] == {"full": 8192 * 2 * 2 * 2 * 32 * 2}


def test_gemma3_loader_default_pattern(files, capsys):
    meta = read_metadata(files["gemma-3.gguf"])
    assert "gemma3.attention.sliding_window_pattern" not in meta  # the converter writes none
    assert meta["gemma3.attention.sliding_window"] == 1024  # medgemma-27b-it's window
    ing = ingest(files["gemma-3.gguf"])
    # load_swa_pattern(ml, 6): il % 6 < 5 sliding → layers 0–4 sliding, 5 full, 6 sliding
    assert ing.config["sliding_window_pattern"] == 6
    assert list(get_family(ing.model.family).layer_kinds(ing.config)) == [
        "sliding_attention"
    ] * 5 + [
        "full_attention",
        "sliding_attention",
    ]
    # per layer and token: K and V × 2 KV heads × head_dim 64 × 2 B = 512 B
    kv = _kv(files["gemma-3.gguf"], capsys)
    assert kv["by_kind"] == {"sliding": 6 * 1024 * 512, "full": 1 * 8192 * 512}


def test_gpt_oss_loader_default_pattern(files, capsys):
    meta = read_metadata(files["gpt-oss.gguf"])
    assert "gpt-oss.attention.sliding_window_pattern" not in meta
    ing = ingest(files["gpt-oss.gguf"])
    # load_swa_pattern(ml, 2): even layers sliding, odd full
    assert (
        list(get_family(ing.model.family).layer_kinds(ing.config))
        == ["sliding_attention", "full_attention"] * 2
    )
    # K and V × 2 KV heads × head_dim 32 × 2 B = 256 B a layer and token; window 128
    kv = _kv(files["gpt-oss.gguf"], capsys)
    assert kv["by_kind"] == {"sliding": 2 * 128 * 256, "full": 2 * 8192 * 256}
    assert ing.measured.by_dtype["MXFP4"] > 0  # the experts as the converter repacks them


@pytest.mark.parametrize(
    "name",
    ["deepseek-v3.gguf", "deepseek-v2-lite.gguf", "phi-4.gguf", "gemma-3.gguf", "gpt-oss.gguf"],
)
def test_plan_reads_every_converter_file(files, name, capsys):
    argv = ["plan", "--from", str(files[name]), "--gpu", "rtx-4090-24gb", "--ram", "64GB"]
    assert main([*argv, "--context", "8K", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["fits"] is True


# ----------------------------------------------------------------------------- split files


def test_split_reads_every_part_from_the_first(files):
    whole, _, _ = measure_gguf(files["phi-4.gguf"])
    split, cfg, meta = measure_gguf(files["phi-4-00001-of-00002.gguf"])
    assert (meta["split.count"], meta["split.no"]) == (2, 0)
    # the converter's --split-max-tensors 8: 8 tensors in part 1, the other 7 in part 2
    assert meta["split.tensors.count"] == 15 == sum(whole.dtype_counts.values())
    assert split.total_bytes == whole.total_bytes
    assert split.by_group == whole.by_group
    assert cfg["num_hidden_layers"] == 2


def test_split_refuses_a_later_part(files):
    with pytest.raises(VramkitError, match=r"part 2 of a 2-part GGUF: give the first part "):
        ingest(files["phi-4-00002-of-00002.gguf"])


def test_split_refuses_a_missing_part(files, tmp_path):
    shutil.copy(files["phi-4-00001-of-00002.gguf"], tmp_path / "m-00001-of-00002.gguf")
    with pytest.raises(VramkitError, match=r"1 of the 2 parts .* missing .*m-00002-of-00002"):
        ingest(tmp_path / "m-00001-of-00002.gguf")


def test_split_refuses_a_renamed_first_part(files, tmp_path):
    shutil.copy(files["phi-4-00001-of-00002.gguf"], tmp_path / "model.gguf")
    with pytest.raises(VramkitError, match=r"not named <prefix>-00001-of-00002\.gguf"):
        ingest(tmp_path / "model.gguf")


def test_split_refuses_a_part_from_another_split(files, tmp_path):
    shutil.copy(files["phi-4-00001-of-00002.gguf"], tmp_path / "m-00001-of-00002.gguf")
    shutil.copy(files["phi-4-00001-of-00002.gguf"], tmp_path / "m-00002-of-00002.gguf")
    with pytest.raises(VramkitError, match=r"split.no / split.count are 0 / 2, expected 1 / 2"):
        ingest(tmp_path / "m-00001-of-00002.gguf")


# ----------------------------------------------------------------------------- loader rules


def _meta(arch: str, **keys) -> dict:
    base = {
        "general.architecture": arch,
        f"{arch}.block_count": 4,
        f"{arch}.embedding_length": 64,
        f"{arch}.attention.head_count": 4,
        f"{arch}.attention.head_count_kv": 1,
    }
    return base | {f"{arch}.{k.replace('__', '.')}": v for k, v in keys.items()}


def test_deepseek2_without_mla_keys_reads_the_mha_lengths():
    # files from before the absorbed form: key_length = nope + rope, value_length = v_head_dim;
    # the loader then takes them as the per-head dims (n_embd_head_k_mla() = n_embd_head_k())
    cfg = config_from_metadata(
        _meta(
            "deepseek2",
            attention__key_length=192,
            attention__value_length=128,
            rope__dimension_count=64,
        )
    )
    assert (cfg["qk_nope_head_dim"], cfg["v_head_dim"]) == (192 - 64, 128)


def test_deepseek2_half_an_mla_pair_is_refused():
    with pytest.raises(VramkitError, match=r"both attention\.key_length_mla and"):
        config_from_metadata(_meta("deepseek2", attention__key_length_mla=192))


def test_deepseek2_key_not_above_rope_is_refused():
    meta = _meta(
        "deepseek2",
        attention__key_length_mla=64,
        attention__value_length_mla=64,
        rope__dimension_count=64,
    )
    with pytest.raises(VramkitError, match=r"must exceed rope\.dimension_count 64"):
        config_from_metadata(meta)


def test_sliding_window_pattern_forms():
    # a per-layer bool array (true = sliding), as the converter writes for Gemma 3n / Gemma 4
    cfg = config_from_metadata(
        _meta(
            "gemma3",
            attention__sliding_window=512,
            attention__sliding_window_pattern=[True, False, True, True],
        )
    )
    assert cfg["layer_types"] == ["sliding_attention", "full_attention"] + ["sliding_attention"] * 2
    # a period: the file's value wins over the loader's default 6
    cfg = config_from_metadata(
        _meta("gemma3", attention__sliding_window=512, attention__sliding_window_pattern=2)
    )
    assert cfg["sliding_window_pattern"] == 2
    # 0: "n_pattern == 0" makes every layer sliding
    cfg = config_from_metadata(_meta("gpt-oss", attention__sliding_window_pattern=0))
    assert cfg["layer_types"] == ["sliding_attention"] * 4
    with pytest.raises(VramkitError, match="an integer or a list of booleans"):
        config_from_metadata(_meta("gemma3", attention__sliding_window_pattern=[1, 0, 1, 1]))


def test_gemma3_without_window_is_all_full():
    # conversion/gemma.py writes no sliding_window when the config's pattern is 1; the loader
    # then sets LLAMA_SWA_TYPE_NONE
    cfg = config_from_metadata(_meta("gemma3"))
    assert cfg["layer_types"] == ["full_attention"] * 4
    assert "sliding_window" not in cfg


def test_gemma2_loader_defaults():
    # src/models/gemma2.cpp: n_swa = 4096 unless the file has sliding_window; pattern 2
    cfg = config_from_metadata(_meta("gemma2"))
    assert (cfg["sliding_window"], cfg["sliding_window_pattern"]) == (4096, 2)
    cfg = config_from_metadata(_meta("gemma2", attention__sliding_window=1024))
    assert cfg["sliding_window"] == 1024


def test_phi3_positive_window_is_dropped_as_the_loader_does():
    # src/models/phi3.cpp: "Phi SWA is currently disabled" (n_swa = 0) whatever the file says
    assert "sliding_window" not in config_from_metadata(
        _meta("phi3", attention__sliding_window=2047)
    )


def test_written_bool_pattern_round_trips(tmp_path):
    import gguf

    w = gguf.GGUFWriter(str(tmp_path / "g.gguf"), "gemma3")
    w.add_block_count(2)
    w.add_sliding_window(64)
    w.add_sliding_window_pattern([True, False])
    w.add_tensor("blk.0.attn_norm.weight", np.zeros((8,), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    cfg = config_from_metadata(read_metadata(tmp_path / "g.gguf"))
    assert cfg["layer_types"] == ["sliding_attention", "full_attention"]


# ----------------------------------------------------------------------------- the engine

ENGINE = json.loads((HERE / "engine.json").read_text())
RUNS = {run["file"]: run for run in ENGINE["runs"]}


def test_engine_loaded_every_converter_file():
    """llama-fit-params (the pinned CPU build) projected every file, a split from its first
    part (benchmarks/engines/converter_headers.py --engine)."""
    singles = {row["file"] for row in MANIFEST["files"] if "-of-" not in row["file"]}
    assert set(RUNS) == singles | {"phi-4-00001-of-00002.gguf"}
    assert ENGINE["case"] == {"n_ctx": 8192, "n_ubatch": 512, "flash_attn": "on"}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_engine_weights_and_kv_equal_the_kit(files, name):
    """The engine's own figures for the converter's file: the model row (whole MiB, rounded
    down) is the file's tensor bytes; every KV cache line (cells, layers, MiB to 2 decimals)
    and recurrent state line is the kit's `runtimes.llamacpp.memory` figure for the config read from
    the file."""
    run = RUNS[name]["parsed"]
    ing = ingest(files[name])
    main_bytes = ing.measured.total_bytes - ing.measured.by_group.get("mtp", 0)
    assert run["rows"]["Host"]["model"] == main_bytes // MIB
    s = Settings(ENGINE["case"]["n_ctx"], n_ubatch=ENGINE["case"]["n_ubatch"])
    family, cfg = ing.model.family, dict(ing.model.config)
    kit = [(ln.cells, ln.layers, round(ln.bytes / MIB, 2)) for ln in kv_lines(family, cfg, s)]
    assert kit == [(c["cells"], c["layers"], c["mib"]) for c in run["caches"]]
    states = [
        (r.cells, round(r.r_bytes / MIB, 2), round(r.s_bytes / MIB, 2))
        for r in recurrent_lines(family, cfg, s)
    ]
    assert states == [(r["cells"], r["r_mib"], r["s_mib"]) for r in run["recurrent"]]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_engine_compute_is_replayed_per_architecture_or_a_labelled_estimate(files, name):
    """No checkpoint trace exists for these shapes. Where the file's architecture has a
    recorded graph (vramkit.runtimes.llamacpp.arch) the kit replays it at the file's hyperparameters,
    read back from the converter's keys: within 2 % of the engine (exact to its printed 0.01
    MiB on every file replayed, 2026-12-07). Otherwise the plain-GQA form, labelled an
    estimate with its measured spread (before the per-architecture graphs: -57.8 % on V3.2's
    indexer graph to +40.8 % on these 14 runs)."""
    ing = ingest(files[name])
    s = Settings(ENGINE["case"]["n_ctx"], n_ubatch=ENGINE["case"]["n_ubatch"])
    est = compute_bytes(ing.model.id, ing.model.family, dict(ing.model.config), s)
    engine = RUNS[name]["parsed"]["compute_mib"]["CPU"]
    assert engine > 0
    if est.method == "arch-replay":
        assert abs(est.bytes / MIB / engine - 1) <= 0.02, (est.bytes / MIB, engine)
    else:
        assert est.method == "form"
        assert est.note.startswith("estimate")
        assert "measured spread" in est.note


def test_every_converter_file_is_replayed_per_architecture(files):
    """Every file the pinned converter wrote here is replayed from its architecture's graph
    (Phi-4 from files with the converter's fused attn_qkv, V2-Lite's attn_q graph, V3.2's
    indexer graph: 2026-12-08; before, these 4 got the plain-GQA form, -57.8 % to +23.9 %)."""
    methods = {}
    for name in RUNS:
        ing = ingest(files[name])
        s = Settings(ENGINE["case"]["n_ctx"], n_ubatch=ENGINE["case"]["n_ubatch"])
        est = compute_bytes(ing.model.id, ing.model.family, dict(ing.model.config), s)
        methods[name] = est.method
    assert set(methods.values()) == {"arch-replay"}, methods


def test_plan_says_how_the_compute_buffer_was_obtained(files, capsys):
    """`plan` names the source of its llama.cpp compute buffer: the architecture's graph
    replayed, or the plain-GQA form labelled an estimate with its measured spread."""
    from vramkit.cli import main

    def note(path: Path) -> str:  # the plan's note on its compute buffer
        main(["plan", "--from", str(path), "--gpu", "rtx-4090-24gb", "--runtime", "llama.cpp",
              "--context", "4096"])  # fmt: skip
        lines = [
            ln for ln in capsys.readouterr().out.splitlines() if "compute buffer per GPU" in ln
        ]
        assert len(lines) == 1, lines
        return lines[0]

    assert "replayed over its phi3 graph, recorded per architecture" in note(files["phi-4.gguf"])
    # an architecture with no recorded graph: Gemma 4's published config, as a config file
    from vramkit.catalog import get_model

    cfg = files["phi-4.gguf"].parent / "gemma-4-31b.json"
    cfg.write_text(json.dumps(dict(get_model("gemma-4-31b").config), default=str))
    main(["plan", "--config", str(cfg), "--gpu", "rtx-4090-24gb", "--runtime", "llama.cpp",
          "--context", "4096"])  # fmt: skip
    out = "\n".join(
        ln for ln in capsys.readouterr().out.splitlines() if "compute buffer per GPU" in ln
    )
    assert "estimate: the plain-GQA form" in out
    assert "no per-architecture graph recorded for 'gemma4'" in out
    assert "measured spread" in out


def test_gemma4_keys_as_the_converter_writes_them(tmp_path, capsys):
    """Gemma 4 with the keys of ``Gemma4Model.set_gguf_parameters`` (conversion/gemma.py
    L681-L733): a bool pattern, key/value_length = global head dim, *_swa = head_dim, and
    head_count_kv per layer. The same model as a config gives the same llama.cpp KV cache."""
    import gguf

    types = ["sliding_attention"] * 5 + ["full_attention"]
    w = gguf.GGUFWriter(str(tmp_path / "g4.gguf"), "gemma4")
    w.add_block_count(6)
    w.add_embedding_length(256)
    w.add_feed_forward_length(512)
    w.add_context_length(8192)
    w.add_vocab_size(512)
    w.add_head_count(8)
    w.add_head_count_kv([4 if t == "sliding_attention" else 2 for t in types])
    w.add_sliding_window(128)
    w.add_sliding_window_pattern([t == "sliding_attention" for t in types])
    w.add_key_length(128)
    w.add_value_length(128)
    w.add_key_length_swa(64)
    w.add_value_length_swa(64)
    w.add_tensor("token_embd.weight", np.zeros((512, 256), np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    cfg = config_from_metadata(read_metadata(tmp_path / "g4.gguf"))
    assert cfg["layer_types"] == types
    assert (cfg["head_dim"], cfg["global_head_dim"]) == (64, 128)
    assert (cfg["num_key_value_heads"], cfg["num_global_key_value_heads"]) == (4, 2)
    source = {
        "model_type": "gemma4_text", "hidden_size": 256, "num_hidden_layers": 6,
        "num_attention_heads": 8, "num_key_value_heads": 4, "num_global_key_value_heads": 2,
        "head_dim": 64, "global_head_dim": 128, "sliding_window": 128, "layer_types": types,
        "intermediate_size": 512, "vocab_size": 512,
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(source))
    argv = ["--context", "8K", "--runtime", "llama.cpp", "--json"]
    assert main(["kv", "--config", str(tmp_path / "config.json"), *argv]) == 0
    from_config = json.loads(capsys.readouterr().out)
    # sliding: 5 layers × K and V × 4 heads × 64 × 2 B over GGML_PAD(128 + 512, 256) = 768
    # cells; global: 1 layer × K and V × 2 heads × 128 × 2 B over 8192 cells
    assert from_config["by_kind"] == {
        "sliding": 5 * 768 * 2 * 4 * 64 * 2,
        "full": 8192 * 2 * 2 * 128 * 2,
    }
    from_gguf = _kv(tmp_path / "g4.gguf", capsys, "--runtime", "llama.cpp")
    assert from_gguf["by_kind"] == from_config["by_kind"]


def test_deepseek4_keys_as_the_converter_writes_them(tmp_path, capsys):
    """DeepSeek V4-Flash's config written with the keys of ``DeepseekV4Model.set_gguf_parameters``
    (conversion/deepseek.py L659-L688, plus TextModel's common keys): the file gives the
    catalog model's KV cache to the byte under both runtimes (it was refused: o_lora_rank)."""
    import gguf

    from vramkit.catalog import get_model

    cfg = get_model("deepseek-v4-flash").config
    a = "deepseek4"
    w = gguf.GGUFWriter(str(tmp_path / "v4.gguf"), a)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_expert_count(cfg["n_routed_experts"])
    w.add_expert_used_count(cfg["num_experts_per_tok"])
    w.add_rope_dimension_count(cfg["qk_rope_head_dim"])
    w.add_q_lora_rank(cfg["q_lora_rank"])
    w.add_sliding_window(cfg["sliding_window"])
    w.add_expert_feed_forward_length(cfg["moe_intermediate_size"])
    w.add_expert_shared_count(cfg["n_shared_experts"])
    w.add_uint32(f"{a}.attention.indexer.head_count", cfg["index_n_heads"])
    w.add_uint32(f"{a}.attention.indexer.key_length", cfg["index_head_dim"])
    w.add_uint32(f"{a}.attention.indexer.top_k", cfg["index_topk"])
    w.add_uint32(f"{a}.attention.output_group_count", cfg["o_groups"])
    w.add_uint32(f"{a}.attention.output_lora_rank", cfg["o_lora_rank"])
    w.add_array(f"{a}.attention.compress_ratios", list(cfg["compress_ratios"]))
    w.add_uint32(f"{a}.hyper_connection.count", cfg["hc_mult"])
    w.add_uint32(f"{a}.hash_layer_count", cfg["num_hash_layers"])
    w.add_tensor("output_norm.weight", np.zeros((8,), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    for runtime in ("reference", "llama.cpp"):
        argv = ["--context", "32K", "--runtime", runtime, "--json"]
        assert main(["kv", "--model", "deepseek-v4-flash", *argv]) == 0
        from_model = json.loads(capsys.readouterr().out)
        assert main(["kv", "--from", str(tmp_path / "v4.gguf"), *argv]) == 0
        from_gguf = json.loads(capsys.readouterr().out)
        assert from_gguf["by_kind"] == from_model["by_kind"]
        assert from_gguf["total_bytes"] == from_model["total_bytes"] > 0
