"""GGUF headers written by llama.cpp's own converter, as test fixtures (issue 23, item 2).

For each case: a published config.json (tests/accounting/published_configs/), shrunk (layers,
widths, experts, vocabulary; every other key kept), a tiny random bf16 checkpoint with the
tensor names and shapes of vramkit's inventory for that config, then the pinned tree's
``convert_hf_to_gguf.py`` (llama-cpp-python 0.3.36's vendor/llama.cpp,
ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f, with its own gguf-py) writes the
GGUF. Only the header (metadata + tensor infos, up to the data section) is kept:
tests/accounting/gguf_converter/<case>[-0000k-of-0000n].gguf.header, with the full file's size
and SHA-256 in manifest.json. Tests pad a header with zeros to the recorded size (a sparse file)
and read it as the converter wrote it.

What is not the converter's: the tokenizer. The converter needs one; `_stub_vocab` replaces its
vocab readers with a synthetic list of ``vocab_size`` tokens (model "gpt2", pre "default", one
merge: llama.cpp's loader refuses a gpt2 vocabulary without merges). Every other key, every tensor name, type and shape is the converter's.

Needs torch, safetensors and transformers (not vramkit's dependencies): run it from a separate
environment, e.g. ``python -m venv /tmp/conv && /tmp/conv/bin/pip install torch==2.13.0
transformers safetensors numpy pyyaml sentencepiece``, then from the repository root
``/tmp/conv/bin/python benchmarks/engines/converter_headers.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import runpy
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "tests" / "accounting" / "published_configs"
OUT = ROOT / "tests" / "accounting" / "gguf_converter"
ENGINE = (
    Path(os.environ.get("VRAMKIT_ENGINE_CACHE") or Path.home() / ".cache" / "vramkit" / "engines")
    / "llama.cpp-0.3.36"
    / "src"
    / "llama_cpp_python-0.3.36"
    / "vendor"
    / "llama.cpp"
)
COMMIT = "0c1e57098bba43ac29e6e3b677cdceebdd22334f"

#: case → (published config file, the fields shrunk; every other key is kept as published)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "deepseek-v3": (
        "deepseek-v3.json",
        {
            "num_hidden_layers": 3,
            "first_k_dense_replace": 1,
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "q_lora_rank": 64,
            "kv_lora_rank": 64,
            "qk_nope_head_dim": 32,
            "qk_rope_head_dim": 16,
            "v_head_dim": 32,
            "n_routed_experts": 8,
            "n_group": 2,
            "topk_group": 1,
            "num_experts_per_tok": 2,
            "vocab_size": 512,
            "quantization_config": None,  # bf16 tensors: no FP8 weight_scale_inv to dequantize
        },
    ),
    "deepseek-v2-lite": (
        "../../../data/examples/deepseek-v2-lite/config.json",
        {
            # 27 layers kept: the loader tells a "lite" file (no q_lora_rank) by its layer count
            # (src/models/deepseek2.cpp L8, 27 or 26 layers)
            "num_hidden_layers": 27,
            "first_k_dense_replace": 1,
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "kv_lora_rank": 64,
            "qk_nope_head_dim": 32,
            "qk_rope_head_dim": 16,
            "v_head_dim": 32,
            "n_routed_experts": 8,
            "num_experts_per_tok": 2,
            "vocab_size": 512,
        },
    ),
    "phi-4": (
        "../../../data/examples/phi-4/config.json",
        {
            "num_hidden_layers": 2,
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "vocab_size": 512,
        },
    ),
    "gemma-3": (
        "gemma-3-text-of-medgemma-27b-it.json",
        {
            "num_hidden_layers": 7,
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 64,
            "query_pre_attn_scalar": 64,
            "vocab_size": 512,
            "architectures": ["Gemma3ForCausalLM"],  # the text model of the published wrapper
            "layer_types": ["sliding_attention"] * 5 + ["full_attention", "sliding_attention"],
        },
    ),
    "gpt-oss": (
        "../../../data/examples/gpt-oss-120b/config.json",
        {
            "num_hidden_layers": 4,
            "hidden_size": 256,
            "intermediate_size": 256,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 32,
            "num_local_experts": 4,
            "experts_per_token": 2,
            "num_experts_per_tok": 2,
            "vocab_size": 512,
            "layer_types": ["sliding_attention", "full_attention"] * 2,
        },
    ),
    "qwen3-moe": (
        "../../../data/examples/qwen3-30b-a3b/config.json",
        {
            "num_hidden_layers": 2,
            "max_window_layers": 2,
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 64,
            "num_experts": 8,
            "num_experts_per_tok": 2,
            "vocab_size": 512,
        },
    ),
    "llama-2": (
        "../../../data/examples/llama-2-13b/config.json",
        {
            "num_hidden_layers": 2,
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "vocab_size": 512,
        },
    ),
    "mistral": (
        "../../../data/examples/mistral-7b-v0.3/config.json",
        {
            "num_hidden_layers": 2,
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 64,
            "vocab_size": 512,
        },
    ),
    "gemma-2": (
        "../../../data/examples/gemma-2-9b-it/config.json",
        {
            "num_hidden_layers": 4,
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 64,
            "query_pre_attn_scalar": 64,
            "vocab_size": 512,
        },
    ),
    "glm-4.7": (
        "../../../data/examples/glm-4.7/config.json",
        {
            "num_hidden_layers": 3,
            "first_k_dense_replace": 1,
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 64,
            "n_routed_experts": 8,
            "num_experts_per_tok": 2,
            "vocab_size": 512,
        },
    ),
    "qwen3-next": (
        "../../../data/examples/qwen3-next-80b-a3b-instruct/config.json",
        {
            "num_hidden_layers": 4,
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "shared_expert_intermediate_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 64,
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            "linear_key_head_dim": 32,
            "linear_value_head_dim": 32,
            "num_experts": 8,
            "num_experts_per_tok": 2,
            "vocab_size": 512,
        },
    ),
    "deepseek-v3.2": (
        "deepseek-v3.json",
        {
            # V3.2 = the V3 config + the lightning indexer (data/models.yaml deepseek-v3.2:
            # index_n_heads 64, index_head_dim 128, index_topk 2048), shrunk like deepseek-v3
            "architectures": ["DeepseekV32ForCausalLM"],
            "model_type": "deepseek_v32",
            "index_n_heads": 4,
            "index_head_dim": 128,  # as published: the engine's indexer graph needs it
            "index_topk": 64,
            "num_hidden_layers": 3,
            "first_k_dense_replace": 1,
            "hidden_size": 256,
            "intermediate_size": 512,
            "moe_intermediate_size": 128,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "q_lora_rank": 64,
            "kv_lora_rank": 64,
            "qk_nope_head_dim": 32,
            "qk_rope_head_dim": 16,
            "v_head_dim": 32,
            "n_routed_experts": 8,
            "n_group": 2,
            "topk_group": 1,
            "num_experts_per_tok": 2,
            "vocab_size": 512,
            "quantization_config": None,
        },
    ),
    "llama-4": (
        "../../../data/examples/llama-4-scout-17b-16e-instruct/config.json",
        {
            "text_config": {
                "num_hidden_layers": 4,
                "hidden_size": 256,
                "intermediate_size": 128,
                "intermediate_size_mlp": 512,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "head_dim": 64,
                "num_local_experts": 4,
                "vocab_size": 512,
            },
            "vision_config": {
                "num_hidden_layers": 1,
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_attention_heads": 2,
                "projector_input_dim": 128,
                "projector_output_dim": 128,
                "vision_output_dim": 128,
            },
        },
    ),
}

#: converter options per case: Qwen3-Next's class exports its MTP block unless told not to,
#: and the published config does not say how many there are (conversion/qwen.py L296-305)
CONVERT_ARGS: dict[str, list[str]] = {"qwen3-next": ["--no-mtp"]}

#: the split case: the converter's --split-max-tensors on this case
SPLIT = ("phi-4", 8)


def shrunk_config(case: str) -> dict[str, Any]:
    """The published config of `case` with its shrink overrides (None removes a key)."""
    name, overrides = CASES[case]
    cfg = json.loads((CONFIGS / name).resolve().read_text())
    _apply(cfg, overrides)
    return cfg


def _apply(cfg: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Overrides in place: None removes a key, a dict over a dict (text_config) recurses."""
    for key, value in overrides.items():
        if value is None:
            cfg.pop(key, None)
        elif isinstance(value, dict) and isinstance(cfg.get(key), dict):
            _apply(cfg[key], value)
        else:
            cfg[key] = copy.deepcopy(value)


def _checkpoint(cfg: dict[str, Any], folder: Path) -> None:
    """config.json (as shrunk), a tokenizer stub and model.safetensors with vramkit's inventory
    (checkpoint names and shapes; random bf16 values)."""
    import torch
    from safetensors.torch import save_file

    from vramkit.model.configfile import model_from_config

    (folder / "config.json").write_text(json.dumps(cfg, indent=1))
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "GPT2Tokenizer"}))
    n_vocab = cfg.get("vocab_size") or cfg["text_config"]["vocab_size"]
    vocab = {f"<t{i}>": i for i in range(int(n_vocab))}
    (folder / "tokenizer.json").write_text(
        json.dumps({"model": {"vocab": vocab}, "added_tokens": []})
    )
    torch.manual_seed(0)
    tensors = {}
    mxfp4 = cfg.get("model_type") == "gpt_oss"
    for t in model_from_config(cfg).inventory:
        if mxfp4 and ".mlp.experts." in t.name:
            continue  # written below as the published MXFP4 blocks and scales
        if t.name.endswith("experts.gate_up_proj[up]"):
            continue  # written with its [gate] half below
        if t.name.endswith("experts.gate_up_proj[gate]"):  # Llama 4: [E, hidden, 2 × inter]
            name = t.name.removesuffix("[gate]")
            tensors[name] = torch.randn((t.count, t.shape[1], 2 * t.shape[0]), dtype=torch.bfloat16)
            continue
        if t.name.endswith("experts.down_proj"):  # Llama 4: [E, inter, hidden]
            tensors[t.name] = torch.randn((t.count, t.shape[1], t.shape[0]), dtype=torch.bfloat16)
            continue
        if t.count > 1 and "{e}" not in t.name:
            raise SystemExit(f"unexpected stacked tensor {t.name}")
        for e in range(t.count):  # per-expert matrices as the checkpoint stores them
            tensors[t.name.format(e=e)] = torch.randn(t.shape, dtype=torch.bfloat16)
    if mxfp4:
        tensors.update(_gpt_oss_mxfp4_experts(cfg))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})


def _gpt_oss_mxfp4_experts(cfg: dict[str, Any]) -> dict[str, Any]:
    """gpt-oss experts as the published checkpoint stores them (transformers' MXFP4 layout:
    ``*_blocks`` [E, rows, cols/32, 16] uint8 of packed e2m1 pairs, ``*_scales`` [E, rows, cols/32]
    uint8 e8m0, biases bf16), which the converter repacks to GGML MXFP4
    (conversion/gpt_oss.py ``generate_extra_tensors``)."""
    import torch

    e, dim, inter = cfg["num_local_experts"], cfg["hidden_size"], cfg["intermediate_size"]
    out = {}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}.mlp.experts"
        for name, rows, cols in (("gate_up_proj", 2 * inter, dim), ("down_proj", dim, inter)):
            out[f"{p}.{name}_blocks"] = torch.randint(0, 256, (e, rows, cols // 32, 16)).to(
                torch.uint8
            )
            out[f"{p}.{name}_scales"] = torch.full((e, rows, cols // 32), 127, dtype=torch.uint8)
            out[f"{p}.{name}_bias"] = torch.randn((e, rows), dtype=torch.bfloat16)
    return out


def _stub_vocab() -> None:
    """Replace the converter's tokenizer readers by a synthetic ``vocab_size`` token list."""
    import gguf
    from conversion.base import TextModel

    def vocab_base(self):
        n = int(self.hparams["vocab_size"])
        return [f"<t{i}>" for i in range(n)], [gguf.TokenType.NORMAL] * n, "default"

    def gpt2(self):
        tokens, types, pre = vocab_base(self)
        self.gguf_writer.add_tokenizer_model("gpt2")
        self.gguf_writer.add_tokenizer_pre(pre)
        self.gguf_writer.add_token_list(tokens)
        self.gguf_writer.add_token_types(types)
        self.gguf_writer.add_token_merges(["<t0> <t1>"])  # the engine's loader needs one

    TextModel.get_vocab_base = vocab_base
    TextModel.set_vocab = gpt2
    for name in dir(TextModel):  # _set_vocab_gpt2, _sentencepiece, _glm, _qwen, …
        if name.startswith("_set_vocab_"):
            setattr(TextModel, name, gpt2)
    import conversion

    pick = conversion.get_model_class

    def get_model_class(*args, **kwargs):  # a class's own set_vocab (e.g. V3.2's AutoTokenizer)
        cls = pick(*args, **kwargs)
        for klass in cls.__mro__:
            if "set_vocab" in vars(klass):
                klass.set_vocab = gpt2
        return cls

    conversion.get_model_class = get_model_class


def _convert(folder: Path, out: Path, extra: list[str]) -> None:
    sys.path[:0] = [str(ENGINE), str(ENGINE / "gguf-py")]
    _stub_vocab()
    argv = sys.argv
    sys.argv = ["convert_hf_to_gguf.py", str(folder), "--outfile", str(out), "--outtype", "bf16"]
    sys.argv += extra
    try:
        runpy.run_path(str(ENGINE / "convert_hf_to_gguf.py"), run_name="__main__")
    finally:
        sys.argv = argv


def header_bytes(path: Path) -> bytes:
    """The bytes before the tensor data: ``GGUFReader``'s data offset (the aligned header)."""
    from gguf import GGUFReader

    r = GGUFReader(path, "r")
    return path.read_bytes()[: r.data_offset]


def build(case: str, work: Path, split: int = 0) -> list[dict[str, Any]]:
    """Convert `case` into `work` and return one manifest row per written file."""
    cfg = shrunk_config(case)
    ckpt = work / f"{case}-hf"
    ckpt.mkdir()
    _checkpoint(cfg, ckpt)
    out = work / f"{case}.gguf"
    extra = CONVERT_ARGS.get(case, []) + (["--split-max-tensors", str(split)] if split else [])
    _convert(ckpt, out, extra)
    files = sorted(work.glob(f"{case}-0*-of-*.gguf")) if split else [out]
    rows = []
    for f in files:
        head = header_bytes(f)
        data = f.read_bytes()
        rows.append(
            {
                "case": case,
                "file": f.name,
                "header": f.name + ".header",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "header_sha256": hashlib.sha256(head).hexdigest(),
                "config": CASES[case][0],
                "overrides": CASES[case][1],
                "convert_args": extra,
            }
        )
        (OUT / (f.name + ".header")).write_bytes(head)
    return rows


#: the engine's projection recorded for each converter file (fitparams.Case)
ENGINE_CASE = {"n_ctx": 8192, "n_ubatch": 512, "flash_attn": "on"}


def engine_check() -> int:
    """`llama-fit-params` (the pinned build, benchmarks/engines/llamacpp.py) on every converter
    file, each a sparse file (the header padded with zeros to the converter's size):
    gguf_converter/engine.json keeps what the engine printed and parsed (tests compare it with
    the kit's figures). Runs with vramkit's own environment (stdlib + the kit)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import fitparams

    bin_dir = ENGINE / "build" / "bin"
    if not (bin_dir / "llama-fit-params").is_file():
        print(f"no llama-fit-params in {bin_dir}: run python3 benchmarks/engines/llamacpp.py")
        return 3
    env = {**os.environ, "LD_LIBRARY_PATH": str(bin_dir)}
    manifest = json.loads((OUT / "manifest.json").read_text())
    case = fitparams.Case(**ENGINE_CASE)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in manifest["files"]:
            path = Path(tmp) / row["file"]
            with path.open("wb") as f:
                f.write((OUT / row["header"]).read_bytes())
                f.truncate(row["size"])
        for row in manifest["files"]:
            if "-of-" in row["file"] and not row["file"].endswith("-00001-of-00002.gguf"):
                continue  # a later part: the engine loads a split from its first part
            proj = fitparams.run(bin_dir / "llama-fit-params", Path(tmp) / row["file"], case, env)
            if proj.returncode:
                print(f"{row['file']}: llama-fit-params exited {proj.returncode}")
                print("\n".join(proj.lines[-5:]))
                return 1
            cmd = ["llama-fit-params", "-m", row["file"], *proj.command[3:]]
            runs.append({"file": row["file"], "command": cmd, "lines": proj.lines,
                         "parsed": proj.parsed})  # fmt: skip
            print(f"{row['file']}: {proj.parsed['rows']}")
    record = {
        "engine": f"llama-cpp-python 0.3.36 vendor/llama.cpp (ggml-org/llama.cpp@{COMMIT}), "
        "CPU build, llama-fit-params --fit-print on (no_alloc projection)",
        "case": ENGINE_CASE,
        "made_by": "benchmarks/engines/converter_headers.py --engine",
        "runs": runs,
    }
    (OUT / "engine.json").write_text(json.dumps(record, indent=1) + "\n")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=list(CASES), help="cases (default: all)")
    ap.add_argument("--engine", action="store_true", help="run llama-fit-params on the headers")
    args = ap.parse_args()
    if args.engine:
        return engine_check()
    if not (ENGINE / "convert_hf_to_gguf.py").is_file():
        print(f"no vendored llama.cpp at {ENGINE}: run python3 benchmarks/engines/llamacpp.py")
        return 3
    sys.path.insert(0, str(ROOT))
    OUT.mkdir(parents=True, exist_ok=True)
    manifest_path = OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    files = {r["file"]: r for r in manifest.get("files", [])}
    for case in args.cases:
        with tempfile.TemporaryDirectory() as tmp:
            for row in build(case, Path(tmp)):
                files[row["file"]] = row
        if case == SPLIT[0]:
            with tempfile.TemporaryDirectory() as tmp:
                for row in build(case, Path(tmp), split=SPLIT[1]):
                    files[row["file"]] = row
    manifest = {
        "what": "GGUF headers (metadata + tensor infos) written by llama.cpp's converter",
        "converter": f"ggml-org/llama.cpp@{COMMIT} convert_hf_to_gguf.py --outtype bf16 "
        "(llama-cpp-python 0.3.36 vendor/llama.cpp, its gguf-py)",
        "made_by": "benchmarks/engines/converter_headers.py",
        "tokenizer": "synthetic: vocab_size tokens '<tI>', model gpt2, pre default, one merge",
        "split": {"case": SPLIT[0], "split_max_tensors": SPLIT[1]},
        "files": [files[k] for k in sorted(files)],
    }
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(files)} headers to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
