"""Commands that run as printed (issue 25): vLLM / SGLang load the Hugging Face repo id (sourced in
data/models.yaml), a llama.cpp command names its GGUF file and how to get it, a custom recipe map
works in `plan`, and a plan over more than one node's GPUs says it is multi-node."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from vramkit import cli
from vramkit.catalog import get_model, models, parse_models
from vramkit.datafiles import load_document
from vramkit.errors import VramkitError
from vramkit.plan import flags_for, plan_for
from vramkit.plan.getfile import PLACEHOLDER_REPO, gguf_file, serve_ref
from vramkit.plan.machine import build_machine
from vramkit.plan.network import GPUS_PER_NODE, nodes_of
from vramkit.quant import custom_recipe, get_recipe

FLASH = "deepseek-v4-flash"


def test_every_hf_repo_is_sourced() -> None:
    for m in models().values():
        if m.hf_repo is None:
            continue
        src = m.hf_repo_source
        assert src is not None, m.id
        assert m.hf_repo.lower() in f"{src.url} {src.quote}".lower(), m.id


def test_an_unsourced_hf_repo_is_refused() -> None:
    doc = copy.deepcopy(dict(load_document("models.yaml")))
    rec = next(r for r in doc["models"] if r["id"] == "deepseek-v3.2")
    del rec["hf_repo_source"]
    with pytest.raises(VramkitError, match=r"hf_repo 'deepseek-ai/DeepSeek-V3\.2' has no source"):
        parse_models(doc, origin="models.yaml")


@pytest.mark.parametrize("runtime", ["vllm", "sglang"])
def test_serving_commands_load_the_hf_repo(runtime: str) -> None:
    p = plan_for(FLASH, build_machine(["h200-sxm-141gb:2"]), runtime=runtime)
    assert p.fits
    f = flags_for(p)
    assert "deepseek-ai/DeepSeek-V4-Flash" in f.args
    assert FLASH not in f.args  # the catalog id is not a repo
    assert f.model_file is not None
    assert f.model_file.source == "https://huggingface.co/deepseek-ai/DeepSeek-V4-Flash"


def test_a_model_without_repo_gets_a_named_placeholder() -> None:
    m = dataclasses.replace(get_model(FLASH), hf_repo=None, hf_repo_source=None)
    ref = serve_ref(m)
    assert ref.ref == PLACEHOLDER_REPO
    assert "replace" in ref.note


def test_llamacpp_file_from_the_checkpoint() -> None:
    m = get_model(FLASH)
    f = gguf_file(m, get_recipe("gguf-Q4_K_M"))
    assert f.ref == "DeepSeek-V4-Flash-Q4_K_M.gguf"
    assert f.source is None
    assert f.steps == (
        "hf download deepseek-ai/DeepSeek-V4-Flash --local-dir DeepSeek-V4-Flash",
        "python convert_hf_to_gguf.py DeepSeek-V4-Flash --outtype bf16 --outfile "
        "DeepSeek-V4-Flash-BF16.gguf",
        # the V4 converter writes the experts MXFP4 and the FP8 tensors Q8_0: llama-quantize
        # changes a block-type source only with --allow-requantize (src/llama-quant.cpp
        # L1306-1307 at 0c1e57098bba: "requantizing from type %s is disabled")
        "llama-quantize --allow-requantize DeepSeek-V4-Flash-BF16.gguf "
        "DeepSeek-V4-Flash-Q4_K_M.gguf Q4_K_M",
    )
    # llama-quantize refuses IQ2_XXS without an importance matrix (tensor_requires_imatrix)
    iq = gguf_file(m, get_recipe("gguf-IQ2_XXS"))
    assert iq.steps[-1].startswith("llama-quantize --allow-requantize --imatrix imatrix.dat ")
    assert any(s.startswith("llama-imatrix ") for s in iq.steps)


def test_llamacpp_file_from_a_publisher() -> None:
    f = gguf_file(get_model(FLASH), get_recipe("ds4-q4"))
    assert f.source == "https://huggingface.co/antirez/deepseek-v4-gguf"  # data/recipes.yaml
    assert f.steps == ("hf download antirez/deepseek-v4-gguf --include '*.gguf'",)


def test_a_publisher_of_another_model_is_not_this_models_file() -> None:
    # data/recipes.yaml: ds4-q2 is "the recipe of antirez's DeepSeek-V4-Flash-… GGUF"; no V4-Pro
    # or Flash-Base file of it is sourced
    for mid in ("deepseek-v4-pro", "deepseek-v4-flash-base"):
        f = gguf_file(get_model(mid), get_recipe("ds4-q2"))
        assert f.source is None, mid
        assert f.steps == ()
        assert "no file of this mix" in f.note


def test_llamacpp_command_names_the_file(capsys) -> None:
    # 136 GB: Q4_K_M no longer fits 2 x 4090 + 128 GB once CUDA0 is charged the host expert
    # tensor its offloaded matmuls copy in (vramkit.runtimes.llamacpp.cuda term 6)
    argv = ["plan", "--model", FLASH, "--gpu", "2x4090", "--ram", "136GB", "--recipe"]
    assert cli.main([*argv, "gguf-Q4_K_M", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    args = doc["flags"]["llama.cpp"]
    assert args[args.index("-m") + 1] == "DeepSeek-V4-Flash-Q4_K_M.gguf"
    assert doc["model_file"]["ref"] == "DeepSeek-V4-Flash-Q4_K_M.gguf"
    assert doc["model_file"]["steps"][-1].startswith("llama-quantize ")
    assert doc["nodes"] == 1
    assert "MODEL.gguf" not in json.dumps(doc)


def test_custom_recipe_maps_work_in_plan(capsys) -> None:
    text = "routed_experts=MXFP4,*=Q8_0"
    # the id a plan records reads back as the same map (was: "unknown selector 'custom:…'")
    assert get_recipe(f"custom:{text}").rules == custom_recipe(text).rules
    argv = ["plan", "--model", FLASH, "--gpu", "h200", "--ram", "256GB", "--recipe", text]
    assert cli.main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["recipe"] == f"custom:{text}"
    assert doc["fits"] is True
    assert doc["flags"]["llama.cpp"] is not None
    assert any("--tensor-type routed_experts=MXFP4" in s for s in doc["model_file"]["steps"])


@pytest.mark.parametrize("runtime", ["vllm", "sglang"])
def test_a_plan_past_one_node_is_multi_node(runtime: str) -> None:
    m = get_model("deepseek-v4-pro")
    big = plan_for(m, build_machine(["h200-sxm-141gb:16"]), runtime=runtime, context=1048576)
    assert big.fits
    gpus = sum(1 for q in big.places if q.kind == "gpu")
    assert gpus == 16 > GPUS_PER_NODE
    assert nodes_of(big) == 2
    f = flags_for(big)
    assert any(n.startswith("multi-node plan: 16 GPUs = 2 nodes of 8") for n in f.notes)
    if runtime == "vllm":
        assert f.args[-2:] == ("--distributed-executor-backend", "ray")
    else:
        i = f.args.index("--nnodes")
        assert f.args[i : i + 4] == ("--nnodes", "2", "--node-rank", "0")
    one = plan_for(m, build_machine(["h200-sxm-141gb:8"]), runtime=runtime, context=32768)
    assert nodes_of(one) == 1
    assert not any("multi-node" in n for n in flags_for(one).notes)


def test_a_llamacpp_plan_past_one_node_says_how_to_reach_the_other():
    # 16 cards: 2 nodes of 8 (GPUS_PER_NODE); llama.cpp's RPC backend serves remote devices
    p = plan_for(
        "deepseek-v4-pro",
        build_machine(["rtx-4090-24gb:16"], ram="64GB"),
        recipe="gguf-Q2_K",
        context=32768,
    )
    assert nodes_of(p) == 2
    notes = flags_for(p).notes
    assert any(
        n.startswith("multi-node plan: 16 GPUs = 2 nodes of 8") and "--rpc" in n for n in notes
    )
