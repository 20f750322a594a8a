"""A llama.cpp plan on CUDA GPUs charges the CUDA backend's terms where the engine puts them
(vramkit.runtimes.llamacpp.cuda, read from ggml-org/llama.cpp@0c1e570; not measured on a GPU
here): each GPU's compute buffer gains flash attention's F16 copies and, where expert matmuls
run, the MoE pool; CUDA0 the largest host weight its offloaded matmuls copy in; the weights
their row padding; the host the logits buffer, with the CPU compute buffer reported pinned.
CPU-only plans, RPC devices and Apple's unified memory carry none of them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from vramkit.cli import main
from vramkit.model.configfile import model_from_config_file
from vramkit.plan import build_machine, plan_for
from vramkit.plan.costs import compute_buffer_bytes
from vramkit.quant import tensor_formats
from vramkit.runtimes.llamacpp import cuda as lc
from vramkit.runtimes.llamacpp.placement import host_compute_buffer

MIB = 2**20
EX = "data/examples"


def _model(name: str):
    return model_from_config_file(f"{EX}/{name}/config.json")


def _plan(model, gpus, ram, **kw):
    kw = {"runtime": "llama.cpp", "context": 32768, **kw}
    return plan_for(model, build_machine(gpus, ram=ram), **kw)


def _terms(p, name: str):
    return [t for t in p.cuda_terms if t.name.startswith(name)]


def test_cpu_only_and_rpc_plans_carry_no_cuda_term():
    m = _model("qwen3-8b")
    cpu = plan_for(m, build_machine([], ram="64GB"), runtime="llama.cpp", context=8192)
    assert cpu.cuda_terms == ()
    assert not any(n.startswith("CUDA terms charged") for n in cpu.notes)
    mach = build_machine(["rtx-4090-24gb"], ram="64GB")
    rpc = replace(mach, devices=tuple(replace(d, backend="rpc") for d in mach.devices))
    p = plan_for(m, rpc, runtime="llama.cpp", context=8192)
    assert p.cuda_terms == ()
    # on RPC devices the host holds exactly the projected CPU compute buffer, nothing more
    host = p.place("host")
    hb, _ = host_compute_buffer(m, "llama.cpp", context=8192, ubatch=512, sequences=1,
                                cache_dtype=p.cache_dtype, host_experts=False, cpu_layers=0,
                                full_bytes=0, gpus=1)  # fmt: skip
    assert host.bytes_by_component["compute buffer"] == hb


def test_dense_gpu_plan_with_a_q8_cache_charges_the_fa_copies_and_the_logits():
    m = _model("llama-3.1-8b-instruct")
    p = _plan(m, ["rtx-4090-24gb"], "64GB", context=131072, cache_dtype="q8_0",
              recipe="gguf-Q4_K_M")  # fmt: skip
    assert p.fits
    cb = compute_buffer_bytes(m, "llama.cpp", context=131072, ubatch=512, cache_dtype="q8_0")
    fa, how = lc.fa_copy_bytes(m, context=131072, batch=1, cache_dtype="q8_0", n_ubatch=512)
    assert "replayed" in how
    # fattn-common.cuh: F16 K and V of one attention node, 128 x 131072 cells x 8 KV heads,
    # each padded to 128 bytes first: the replayed peak grows by at most that
    k = 128 * 131072 * 8
    assert 0 < fa <= 2 * (128 + 2 * k)
    g = p.place("GPU0")
    assert g.bytes_by_component["compute buffer"] == cb + fa  # dense: no MoE pool, no copy
    assert [t.bytes for t in _terms(p, "flash attention")] == [fa]
    # the logits buffer: n_vocab x n_seq F32 on the host, pinned (the output is on GPU0)
    (out,) = _terms(p, "output (logits)")
    assert out.bytes == 4 * 128256 * 1
    assert out.where == "host, pinned (CUDA_Host)"
    hb, _ = host_compute_buffer(m, "llama.cpp", context=131072, ubatch=512, sequences=1,
                                cache_dtype="q8_0", host_experts=False, cpu_layers=0,
                                full_bytes=0, gpus=1)  # fmt: skip
    assert p.place("host").bytes_by_component["compute buffer"] == hb + out.bytes
    (pin,) = _terms(p, "CPU compute buffer in pinned")
    assert pin.bytes == hb
    assert lc.pinned_bytes(p.cuda_terms) == hb + out.bytes
    for t in p.cuda_terms:
        assert t.source.startswith(lc.URL)
        assert "#L" in t.source
        assert "not measured on a GPU" in t.kind
    # an F16 cache: no copies (the CUDA replay differs from the CPU's by alignment only)
    f16 = _plan(m, ["rtx-4090-24gb"], "64GB", context=131072, cache_dtype="f16",
                recipe="gguf-Q4_K_M")  # fmt: skip
    assert sum(t.bytes for t in _terms(f16, "flash attention")) < MIB


def test_host_experts_put_the_largest_expert_tensor_in_cuda0s_buffer():
    # Qwen3-30B-A3B Q4_K_M on a 16 GB GPU at 40K (its limit): some experts stay on the host
    m = _model("qwen3-30b-a3b")
    p = _plan(m, ["16GB@448GB/s"], "64GB", context=40960, recipe="gguf-Q4_K_M")
    assert p.fits
    assert p.knobs["n_cpu_moe"] > 0
    c = p.knobs["n_cpu_moe"]
    # every routed tensor of a host layer, by hand: all experts of one GGUF tensor plus CUDA's
    # one-row padding (ne0 = 768 for ffn_down_exps: 256 elements more)
    want = 0
    for t, fmt in tensor_formats(m, "gguf-Q4_K_M"):
        if t.layer is not None and t.layer < c and t.experts_per_token is not None:
            pad = (-t.shape[-1]) % 512
            want = max(
                want, t.count * fmt.tensor_bytes(t.shape) + pad // fmt.block * fmt.block_bytes
            )
    (copy,) = _terms(p, "largest host weight")
    assert copy.bytes == want > 100 * MIB
    assert copy.where == "GPU0 compute buffer"
    ws = lc.moe_pool_workspace(512, 8, 2048, 768).bytes  # 8 experts of 768, n_embd 2048
    assert ws == 8 * 512 * 8 + 4 * 512 * 8 * (2048 + 768)
    cb = compute_buffer_bytes(m, "llama.cpp", context=40960, ubatch=512, cache_dtype=p.cache_dtype)
    fa = sum(t.bytes for t in _terms(p, "flash attention"))
    assert p.place("GPU0").bytes_by_component["compute buffer"] == cb + fa + ws + want
    # below 32 tokens per ubatch CUDA does not take the host matmuls (ggml-cuda.cu L5651-5655)
    small = _plan(m, ["16GB@448GB/s"], "64GB", context=40960, recipe="gguf-Q4_K_M", ubatch=16)
    assert not _terms(small, "largest host weight")


def test_row_padding_is_one_row_per_quantized_tensor_on_the_gpu():
    # gpt-oss-20b: n_embd 2880 = 5 x 512 + 320 -> every quantized matrix reading n_embd gains
    # 192 elements' bytes once; the expert tensors are charged where their layers sit
    m = _model("gpt-oss-20b")
    sh = lc.weight_shapes(m, "gguf-Q8_0")
    assert sum(sh.pad_layer) > 0
    assert sum(sh.pad_experts) > 0
    p = _plan(m, ["rtx-4090-24gb"], "64GB", context=8192, recipe="gguf-Q8_0")
    (pad,) = _terms(p, "quantized row padding")
    assert pad.bytes == sum(sh.pad_layer) + sum(sh.pad_experts) + sh.pad_output
    assert pad.bytes < MIB  # a few hundred bytes per tensor


def test_ik_llama_charges_its_own_terms_and_always_pins_the_logits():
    # ik_llama.cpp's terms are its own (vramkit.runtimes.ik_llama_cuda; the arithmetic of each is
    # pinned in tests/engines/test_ik_llama_cuda.py): flash attention's F16 copies in the CUDA
    # pool, its MoE kernels' pool, the fused up + gate copy; the logits always in CUDA_Host
    from vramkit.runtimes.ik_llama_cuda import IK_URL

    m = _model("qwen3-30b-a3b")
    p = _plan(m, ["16GB@448GB/s"], "64GB", context=40960, recipe="gguf-Q4_K_M",
              runtime="ik_llama.cpp", cache_dtype="q8_0")  # fmt: skip
    (fa,) = _terms(p, "flash attention")
    assert fa.where.startswith("GPU0 CUDA pool")
    assert fa.bytes == 2 * (2 * 128 * 4) * 40960  # K and V, 4 KV heads of 128, 40,960 cells
    (copy,) = _terms(p, "largest host")
    sh = lc.weight_shapes(m, "gguf-Q4_K_M")
    assert copy.bytes == max(sh.fused_routed) > max(sh.big_routed)  # -fmoe: up + gate at once
    (moe,) = _terms(p, "MoE")
    assert moe.where == "GPU0, CUDA pool (outside the compute buffer)"
    (out,) = _terms(p, "output (logits)")
    assert out.where == "host, pinned (CUDA_Host)"
    assert all(t.source.startswith(IK_URL) for t in p.cuda_terms)
    assert any("read from ik_llama.cpp's code" in n for n in p.notes)


@pytest.mark.parametrize("c", [0, 4, 12, 24, 48])
def test_fits_agrees_with_the_built_plan(c):
    from vramkit.plan.layers import layer_costs
    from vramkit.runtimes.llamacpp.placement import LlamacppContext

    m = _model("qwen3-30b-a3b")
    machine = build_machine(["rtx-3090-24gb", "rtx-3090-24gb"], ram="64GB")
    at = LlamacppContext.build(m, layer_costs(m, "gguf-Q4_K_M"), machine, context=40960,
                                sequences=1, cache_dtype="q8_0", ubatch=512,
                                runtime="llama.cpp", margin=None)  # fmt: skip
    assert at.cuda is not None
    assert at.fits(c) == at.plan(c).fits


def test_plan_cli_shows_each_term_with_its_source(capsys):
    argv = ["plan", "--config", f"{EX}/qwen3-30b-a3b/config.json", "--gpu", "16GB@448GB/s",
            "--ram", "64GB", "--context", "40960", "--recipe", "gguf-Q4_K_M"]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    names = [t["name"] for t in d["cuda_terms"]]
    assert any(n.startswith("largest host weight") for n in names)
    assert all(t["source"].startswith(lc.URL) and t["bytes"] >= 0 for t in d["cuda_terms"])
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "CUDA terms in this plan (code (read from the pinned tree; not measured" in text
    assert "MiB of it pinned (CUDA_Host)" in text
