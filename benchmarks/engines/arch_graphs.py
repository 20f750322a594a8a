"""Record llama.cpp's compute graph per architecture, with every tensor size symbolic.

    .venv/bin/python benchmarks/engines/arch_graphs.py [--arch llama,qwen2,…]   write data/llamacpp_arch_graphs/
    .venv/bin/python benchmarks/engines/arch_graphs.py --check                   replay vs engine on held-out configs

`alloc_trace.py` records the allocator's sequence of one checkpoint. This tool records it per
*architecture*, from models that exist only as hyperparameters:

1. a traced `libggml-base` is built from the cached engine's `ggml/` (standalone CMake project;
   `ggml-alloc.c` patched to log every `ggml_dyn_tallocr_alloc` with the tensor's type and
   `ne[0..3]`, every `ggml_dyn_tallocr_free_bytes` and every reset; nothing else changes);
2. `arch_probe.cpp` (compiled against the engine's own headers and libraries) builds a model of
   any architecture from GGUF metadata alone with the library's `llama_model_init_from_user`
   (the loader creates every tensor from the hyperparameters, as `tests/test-llama-archs.cpp`
   does) in the no_alloc projection, and creates the context: the worst-case graph is reserved
   as for a real file;
3. per architecture and variant, the probe runs at several hyperparameter settings (widths,
   heads, head dims, experts, vocabulary chosen apart so no two coincide) and context settings
   (-c, -ub, -np) on a few layers; the allocation / free order must be the same at every
   setting, and each tensor dimension is identified as c x a monomial (degree <= 3) of the
   named quantities, exact on every run;
4. writes data/llamacpp_arch_graphs/<arch>.json.gz, which `vramkit.runtimes.llamacpp.arch` replays.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import llamacpp  # noqa: E402

#: ggml-alloc.c anchors: the alloc hook logs size, offset, chunk, name, type and ne[0..3].
PATCHES = (
    (
        "static struct buffer_address ggml_dyn_tallocr_alloc(struct ggml_dyn_tallocr * alloc,"
        " size_t size, const struct ggml_tensor * tensor) {\n",
        """static FILE * vk_trace(void) {
    static FILE * f = NULL;
    static int tried = 0;
    if (!tried) {
        tried = 1;
        const char * path = getenv("VRAMKIT_ALLOC_TRACE");
        f = path ? fopen(path, "w") : NULL;
        if (f) { setvbuf(f, NULL, _IOFBF, 1 << 20); }
    }
    return f;
}
static struct buffer_address vk_alloc_impl(struct ggml_dyn_tallocr * alloc, size_t size,
        const struct ggml_tensor * tensor);
static struct buffer_address ggml_dyn_tallocr_alloc(struct ggml_dyn_tallocr * alloc, size_t size,
        const struct ggml_tensor * tensor) {
    struct buffer_address a = vk_alloc_impl(alloc, size, tensor);
    if (vk_trace()) {
        fprintf(vk_trace(), "@A %zu %zu %d", size, a.offset, a.chunk);
        if (tensor) {
            fprintf(vk_trace(), " %d %lld %lld %lld %lld %d", (int) tensor->type,
                (long long) tensor->ne[0], (long long) tensor->ne[1],
                (long long) tensor->ne[2], (long long) tensor->ne[3], (int) tensor->op);
            if (tensor->op == GGML_OP_FLASH_ATTN_EXT && tensor->src[1] && tensor->src[2]) {
                const struct ggml_tensor * k = tensor->src[1];
                const struct ggml_tensor * v = tensor->src[2];
                int v_is_k = v->view_src && (v->view_src == k ||
                    (v->view_src == k->view_src && v->view_offs == k->view_offs));
                fprintf(vk_trace(), " FA %d %lld %lld %lld %lld %d %lld %lld %lld %lld %d",
                    (int) k->type, (long long) k->ne[0], (long long) k->ne[1],
                    (long long) k->ne[2], (long long) k->ne[3], (int) v->type,
                    (long long) v->ne[0], (long long) v->ne[1], (long long) v->ne[2],
                    (long long) v->ne[3], v_is_k);
            }
        }
        fprintf(vk_trace(), " :: %s", tensor && tensor->name[0] ? tensor->name : "?");
        fprintf(vk_trace(), "\\n");
    }
    return a;
}
static struct buffer_address vk_alloc_impl(struct ggml_dyn_tallocr * alloc, size_t size,
        const struct ggml_tensor * tensor) {
""",
    ),
    (
        "static void ggml_dyn_tallocr_free_bytes(struct ggml_dyn_tallocr * alloc,"
        " struct buffer_address addr, size_t size) {\n",
        '    if (vk_trace()) { fprintf(vk_trace(), "@F %zu %zu\\n", addr.offset, size); }\n',
    ),
    (
        "        ggml_dyn_tallocr_free_bytes(p_alloc, p_addr, extra_size);\n",
        '        if (vk_trace()) { fprintf(vk_trace(), "@X %d %lld %lld %lld %lld %d %lld %lld'
        ' %lld %lld\\n", (int) parent->type, (long long) parent->ne[0], (long long)'
        " parent->ne[1], (long long) parent->ne[2], (long long) parent->ne[3], (int)"
        " node->type, (long long) node->ne[0], (long long) node->ne[1], (long long)"
        " node->ne[2], (long long) node->ne[3]); }\n",
    ),
    (
        "    ggml_dyn_tallocr_free_bytes(alloc, hn->addr, size);\n    hn->allocated = false;\n",
        '    if (vk_trace()) { fprintf(vk_trace(), "@N %d %lld %lld %lld %lld\\n", (int)'
        " node->type, (long long) node->ne[0], (long long) node->ne[1], (long long)"
        " node->ne[2], (long long) node->ne[3]); }\n",
    ),
    (
        "    // allocate in hash table\n    ggml_gallocr_alloc_graph_impl(",
        '    if (vk_trace()) { fprintf(vk_trace(), "@R %zu\\n",'
        " galloc->buf_tallocs[0]->alignment); fflush(vk_trace()); }\n",
    ),
)


def patch_source(text: str) -> str:
    """ggml-alloc.c with the trace hook (each anchor must occur exactly once)."""
    for anchor, insert in PATCHES:
        if text.count(anchor) != 1:
            raise RuntimeError(f"ggml-alloc.c: anchor not found once: {anchor[:60]!r}")
        if anchor.startswith("static struct buffer_address ggml_dyn_tallocr_alloc("):
            text = text.replace(anchor, insert)
        elif anchor.startswith(("    // allocate", "        ggml_dyn", "    ggml_dyn")):
            text = text.replace(anchor, insert + anchor)
        else:
            text = text.replace(anchor, anchor + insert)
    return text


def trace_dir() -> Path:
    return llamacpp.cache_root() / f"llama.cpp-{llamacpp.LLAMA_CPP_PYTHON_VERSION}-archtrace"


def build_traced(engine: llamacpp.Engine, jobs: int = 2) -> Path:
    """The traced libggml-base (ggml/ built standalone from a patched copy; reused)."""
    root = trace_dir()
    out = root / "build" / "src"
    if (out / "libggml-base.so").exists():
        return out
    src = root / "ggml"
    if not src.exists():
        shutil.copytree(Path(engine.source_dir) / "ggml", src)
        alloc_c = src / "src" / "ggml-alloc.c"
        alloc_c.write_text(patch_source(alloc_c.read_text()))
        # the vendored ggml/ lacks the pkg-config template its standalone CMake configures
        (src / "ggml.pc.in").write_text("")
    flags = [
        "-DCMAKE_BUILD_TYPE=Release",
        "-DGGML_OPENMP=OFF",
        "-DBUILD_SHARED_LIBS=ON",
        "-DGGML_BUILD_TESTS=OFF",
        "-DGGML_BUILD_EXAMPLES=OFF",
    ]
    subprocess.run(["cmake", "-S", str(src), "-B", str(root / "build"), *flags], check=True)
    subprocess.run(
        ["cmake", "--build", str(root / "build"), f"-j{jobs}", "--target", "ggml-base"],
        check=True,
    )
    return out


# ----------------------------------------------------------------------------- architectures

#: Hyperparameter settings for identification: every symbol takes a different value in each
#: set, and no two symbols share a value in the same set, so each tensor dimension is
#: identified unambiguously. Head dims are multiples of 64, so a quantized cache gets its
#: Hadamard rotation (src/llama-kv-cache.cpp L321-339: n_embd_head % 64 == 0).
HSETS = (
    {
        "embd": 320,
        "head": 5,
        "head_kv": 1,
        "hd_k": 128,
        "hd_v": 128,
        "ff": 704,
        "vocab": 1003,
        "n_exp": 6,
        "n_used": 2,
        "ff_exp": 208,
        "ff_shexp": 176,
        "n_shexp": 1,
        "swa": 112,
        "q_lora": 144,
        "kv_lora": 192,
        "nope": 64,
        "rope": 64,
        "ssm_inner": 384,
        "ssm_state": 48,
        "ssm_group": 1,
        "ssm_heads": 6,
        "conv": 4,
        "idx_head": 3,
        "idx_hd": 128,
        "idx_topk": 96,
    },
    {
        "embd": 448,
        "head": 6,
        "head_kv": 2,
        "hd_k": 64,
        "hd_v": 64,
        "ff": 832,
        "vocab": 1337,
        "n_exp": 10,
        "n_used": 3,
        "ff_exp": 240,
        "ff_shexp": 272,
        "n_shexp": 2,
        "swa": 176,
        "q_lora": 208,
        "kv_lora": 256,
        "nope": 96,
        "rope": 128,
        "ssm_inner": 512,
        "ssm_state": 80,
        "ssm_group": 2,
        "ssm_heads": 8,
        "conv": 4,
        "idx_head": 4,
        "idx_hd": 256,
        "idx_topk": 160,
    },
    {
        "embd": 576,
        "head": 8,
        "head_kv": 4,
        "hd_k": 192,
        "hd_v": 192,
        "ff": 960,
        "vocab": 1591,
        "n_exp": 12,
        "n_used": 4,
        "ff_exp": 304,
        "ff_shexp": 336,
        "n_shexp": 1,
        "swa": 240,
        "q_lora": 272,
        "kv_lora": 320,
        "nope": 160,
        "rope": 64,
        "ssm_inner": 640,
        "ssm_state": 112,
        "ssm_group": 2,
        "ssm_heads": 10,
        "conv": 4,
        "idx_head": 2,
        "idx_hd": 64,
        "idx_topk": 224,
    },
    {
        "embd": 704,
        "head": 9,
        "head_kv": 3,
        "hd_k": 256,
        "hd_v": 256,
        "ff": 1216,
        "vocab": 2039,
        "n_exp": 14,
        "n_used": 5,
        "ff_exp": 368,
        "ff_shexp": 400,
        "n_shexp": 2,
        "swa": 304,
        "q_lora": 336,
        "kv_lora": 448,
        "nope": 192,
        "rope": 64,
        "ssm_inner": 768,
        "ssm_state": 144,
        "ssm_group": 4,
        "ssm_heads": 12,
        "conv": 4,
        "idx_head": 6,
        "idx_hd": 128,
        "idx_topk": 288,
    },
    {
        "embd": 832,
        "head": 12,
        "head_kv": 4,
        "hd_k": 128,
        "hd_v": 128,
        "ff": 1472,
        "vocab": 2557,
        "n_exp": 16,
        "n_used": 6,
        "ff_exp": 432,
        "ff_shexp": 464,
        "n_shexp": 2,
        "swa": 368,
        "q_lora": 400,
        "kv_lora": 384,
        "nope": 128,
        "rope": 128,
        "ssm_inner": 896,
        "ssm_state": 176,
        "ssm_group": 2,
        "ssm_heads": 14,
        "conv": 4,
        "idx_head": 5,
        "idx_hd": 256,
        "idx_topk": 352,
    },
)

#: Context settings (n_ctx, n_ubatch, n_seq): -np divides -ub, contexts well past the windows.
#: Kept off the fixture grid (4K/32K/128K/1M x -ub 512/2048 x -np 1/4), which stays held out.
CSETS = ((8192, 512, 1), (12288, 384, 2), (24576, 256, 4), (20480, 768, 4))
VARIANTS = (("on", "f16"), ("off", "f16"), ("on", "q8_0"))
GGML_TYPE_IDS = {"f16": 1, "q8_0": 8, "q4_0": 2}
F32, BF16 = 0, 30  # ggml_type ids of the converter's norms and matrices (--outtype bf16)


def _attn(h: dict, dv: bool = True) -> dict:
    d = {
        "attention.head_count": h["head"],
        "attention.head_count_kv": h["head_kv"],
        "attention.key_length": h["hd_k"],
        "rope.dimension_count": h["hd_k"],
    }
    d["attention.value_length"] = h["hd_v"]
    return d


def _moe(h: dict, shared: bool = False, lead: int | None = None) -> dict:
    d = {
        "expert_count": h["n_exp"],
        "expert_used_count": h["n_used"],
        "expert_feed_forward_length": h["ff_exp"],
    }
    if shared:
        d["expert_shared_count"] = h["n_shexp"]
        d["expert_shared_feed_forward_length"] = h["ff_shexp"]
    if lead is not None:
        d["leading_dense_block_count"] = lead
    return d


def _swa(h: dict) -> dict:
    return {"attention.sliding_window": h["swa"]}


def _mla(h: dict) -> dict:
    return {
        "attention.head_count": h["head"],
        "attention.head_count_kv": 1,
        "attention.key_length": h["kv_lora"] + h["rope"],
        "attention.value_length": h["kv_lora"],
        "attention.key_length_mla": h["nope"] + h["rope"],
        "attention.value_length_mla": h["hd_v"],
        "attention.q_lora_rank": h["q_lora"],
        "attention.kv_lora_rank": h["kv_lora"],
        "rope.dimension_count": h["rope"],
    }


def _indexer(h: dict) -> dict:
    """DeepSeek V3.2's lightning indexer (conversion/deepseek.py DeepseekV32Model). Its head size
    is a power of two >= the RoPE size: the indexer's q and k go through a Hadamard rotation
    of the whole head (src/models/deepseek32.cpp L180, L251-254; 192 fails ggml_can_mul_mat)."""
    return {
        "attention.indexer.head_count": h["idx_head"],
        "attention.indexer.key_length": h["idx_hd"],
        "attention.indexer.top_k": h["idx_topk"],
    }


def _ssm(h: dict) -> dict:
    return {
        "ssm.inner_size": h["ssm_inner"],
        "ssm.state_size": h["ssm_state"],
        "ssm.group_count": h["ssm_group"],
        "ssm.time_step_rank": h["ssm_heads"],
        "ssm.conv_kernel": h["conv"],
    }


#: arch → (layers recorded, per-arch keys, symbols the graph may use). The layer count covers
#: the layer-kind pattern twice plus one (leading dense layers first); `record` checks that
#: the engine's buffer does not change when one more period of layers is added.
ARCHS: dict[str, tuple[int, Any, tuple[str, ...]]] = {}
#: Templates recorded from a model *file* (arch_probe FILE=1): template → the tensor infos the
#: pinned converter writes at hyperparameters h and n layers, [(name, ne, ggml type)]. The
#: probe's other path (llama_model_init_from_user) never creates a fused tensor
#: (TENSOR_SKIP_IF_VIRTUAL, src/llama-model-loader.cpp L1292-1294), so a graph that depends on
#: one (Phi-3's attn_qkv) is recorded from a sparse GGUF with the converter's tensor list.
FILE_TENSORS: dict[str, Any] = {}


#: Windows the engine fixes (not a key) and contexts that reach past them, per template.
FIXED_SWA: dict[str, int] = {}
CSETS_BY: dict[str, tuple[tuple[int, int, int], ...]] = {}
#: Layer-kind period (the sliding-window / full-attention pattern) per template; 1 otherwise.
PERIOD = {
    "smollm3": 4,
    "gemma2": 2,
    "gpt-oss": 2,
    "gemma3": 6,
    "cohere2": 4,
    "exaone4": 4,
    "llama4": 4,
    "qwen3next": 4,
}
#: Layer counts recorded beyond `layer_counts` for templates whose buffer never settles with
#: depth: DeepSeek V3.2 allocates one indexer top-k input per layer before the first layer
#: (idx_topk x ubs x ns, F32), so its peak grows with the layers; 61 = V3.2's own count.
EXTRA_LAYERS: dict[str, tuple[int, ...]] = {"deepseek32": (61,)}
#: Constraints some builders assert (the hyperparameter sets are adjusted to meet them).
FIXES: dict[str, Any] = {}


def _arch(
    tid: str, layers: int, keys: Any, symbols: str, arch: str | None = None, fix: Any = None
) -> None:
    ARCHS[tid] = (layers, keys, tuple(symbols.split()), arch or tid)
    if fix is not None:
        FIXES[tid] = fix


BASE = "embd head head_kv hd_k ff vocab"
_arch("llama", 3, lambda h: _attn(h, False), BASE)
_arch(
    "llama-moe", 3, lambda h: {**_attn(h, False), **_moe(h)}, BASE + " n_exp n_used ff_exp", "llama"
)
_arch("mistral3", 3, lambda h: _attn(h, False), BASE)
_arch("qwen2", 3, lambda h: _attn(h, False), BASE)
_arch("qwen3", 3, lambda h: _attn(h, False), BASE)
_arch("qwen3moe", 3, lambda h: {**_attn(h, False), **_moe(h)}, BASE + " n_exp n_used ff_exp")
_arch(
    "qwen2moe",
    3,
    lambda h: {**_attn(h, False), **_moe(h, True)},
    BASE + " n_exp n_used ff_exp ff_shexp",
)
# OLMoE normalises q and k over all heads (q_norm / k_norm of n_embd): multi-head attention
_arch(
    "olmoe",
    3,
    lambda h: {**_attn(h, False), **_moe(h)},
    "embd head hd_k ff vocab n_exp n_used ff_exp",
    fix=lambda h: {**h, "head_kv": h["head"]},
)
_arch("gemma", 3, lambda h: _attn(h, False), BASE)
_arch("gemma2", 3, lambda h: {**_attn(h, False), **_swa(h)}, BASE + " swa")
_arch("gemma3", 7, lambda h: {**_attn(h, False), **_swa(h)}, BASE + " swa")
_arch("phi3", 3, lambda h: _attn(h, False), BASE)
_arch("phi3-swa", 3, lambda h: {**_attn(h, False), **_swa(h)}, BASE + " swa", "phi3")


def _phi3_tensors(h: dict, n_layer: int) -> list[tuple[str, tuple[int, ...], int]]:
    """Phi-3 / Phi-4 as the pinned converter writes them (conversion/phi.py Phi3MiniModel: the
    checkpoint's fused qkv_proj -> attn_qkv, gate_up_proj -> ffn_up; the header of
    tests/accounting/gguf_converter/phi-4.gguf): matrices BF16, norms F32, no biases."""
    e, gqa = h["embd"], h["head_kv"] * h["hd_k"]
    out = [("token_embd.weight", (e, h["vocab"]), BF16), ("output_norm.weight", (e,), F32),
           ("output.weight", (e, h["vocab"]), BF16)]  # fmt: skip
    for i in range(n_layer):
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", (e,), F32),
                (b + "attn_qkv.weight", (e, e + 2 * gqa), BF16),
                (b + "attn_output.weight", (e, e), BF16),
                (b + "ffn_norm.weight", (e,), F32), (b + "ffn_down.weight", (h["ff"], e), BF16),
                (b + "ffn_up.weight", (e, 2 * h["ff"]), BF16)]  # fmt: skip
    return out


def _phi2_tensors(h: dict, n_layer: int) -> list[tuple[str, tuple[int, ...], int]]:
    """Phi-2 as the pinned converter writes it (conversion/phi.py Phi2Model maps the checkpoint's
    q_proj / k_proj / v_proj / dense / fc1 / fc2, each with a bias, one to one; no fusing)."""
    e, v, gqa = h["embd"], h["vocab"], h["head_kv"] * h["hd_k"]
    out = [("token_embd.weight", (e, v), BF16), ("output_norm.weight", (e,), F32),
           ("output_norm.bias", (e,), F32), ("output.weight", (e, v), BF16),
           ("output.bias", (v,), F32)]  # fmt: skip
    for i in range(n_layer):
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", (e,), F32), (b + "attn_norm.bias", (e,), F32)]
        for name, n_in, n_out in (("attn_q", e, e), ("attn_k", e, gqa), ("attn_v", e, gqa),
                                  ("attn_output", e, e), ("ffn_up", e, h["ff"]),
                                  ("ffn_down", h["ff"], e)):  # fmt: skip
            out += [
                (b + name + ".weight", (n_in, n_out), BF16),
                (b + name + ".bias", (n_out,), F32),
            ]
    return out


FILE_TENSORS.update({"phi3": _phi3_tensors, "phi3-swa": _phi3_tensors, "phi2": _phi2_tensors})
_SCALES = {
    "logit_scale": 0.125,
    "residual_scale": 0.22,
    "embedding_scale": 12.0,
    "attention.scale": 0.015625,
}
_arch("command-r", 3, lambda h: {**_attn(h, False), "logit_scale": 0.125}, BASE)
_arch("cohere2", 5, lambda h: {**_attn(h, False), **_swa(h), "logit_scale": 0.125}, BASE + " swa")
_arch("olmo2", 3, lambda h: _attn(h, False), BASE)
_arch("granite", 3, lambda h: {**_attn(h, False), **_SCALES}, BASE)
_arch(
    "granitemoe",
    3,
    lambda h: {**_attn(h, False), **_moe(h), **_SCALES},
    BASE + " n_exp n_used ff_exp",
)
_arch("starcoder2", 3, lambda h: _attn(h, False), BASE)
_arch("exaone4", 5, lambda h: {**_attn(h, False), **_swa(h)}, BASE + " swa")
_arch("internlm2", 3, lambda h: _attn(h, False), BASE)
_arch("stablelm", 3, lambda h: _attn(h, False), BASE)
# SmolLM3 skips RoPE on every 4th layer (no_rope_layer_interval): a period of 4
_arch("smollm3", 5, lambda h: _attn(h, False), BASE)
_arch("ernie4_5", 3, lambda h: _attn(h, False), BASE)
_arch(
    "gpt-oss",
    3,
    lambda h: {**_attn(h, False), **_moe(h), **_swa(h)},
    BASE + " n_exp n_used ff_exp swa",
)
_arch(
    "glm4moe",
    4,
    lambda h: {
        **_attn(h, False),
        **_moe(h, True, 1),
        "expert_gating_func": 2,
        "expert_weights_norm": True,
        "expert_weights_scale": 1.0,
    },
    BASE + " n_exp n_used ff_exp n_shexp",
)
_arch(
    "deepseek2",
    4,
    lambda h: {
        **_mla(h),
        **_moe(h, True, 1),
        "expert_gating_func": 2,
        "expert_weights_norm": True,
        "expert_weights_scale": 1.0,
    },
    "embd head q_lora kv_lora nope rope hd_v ff vocab n_exp n_used ff_exp n_shexp",
)
# DeepSeek-V2-Lite-type files: no q_lora_rank (the converter writes the key only when the config
# has one, conversion/deepseek.py L344-345), so the engine builds attn_q instead of attn_q_a /
# attn_q_b (src/models/deepseek2.cpp L105-110, L498-510); V2's softmax gating (no
# expert_gating_func key: the loader's default, L24-31) and no weight norm; the scale is written
# (routed_scaling_factor 1.0). q_lora_rank 0 stands for the absent key: the loader reads the key
# unless the layer count is 26/27 (is_lite), and the graph asks only whether attn_q exists.
_arch(
    "deepseek2-lite",
    4,
    lambda h: {
        **_mla(h),
        "attention.q_lora_rank": 0,
        **_moe(h, True, 1),
        "expert_weights_scale": 1.0,
    },
    "embd head kv_lora nope rope hd_v ff vocab n_exp n_used ff_exp n_shexp",
    "deepseek2",
)
# DeepSeek V3.2: V3's MLA and MoE with the lightning indexer (its own K cache and top-k); the
# converter's MTP block is not part of the context's graph (n_layer() = blocks - nextn)
_arch(
    "deepseek32",
    4,
    lambda h: {
        **_mla(h),
        **_moe(h, True, 1),
        **_indexer(h),
        "expert_gating_func": 2,
        "expert_weights_norm": True,
        "expert_weights_scale": 2.5,
    },
    "embd head q_lora kv_lora nope rope hd_v ff vocab n_exp n_used ff_exp n_shexp "
    "idx_head idx_hd idx_topk",
)
_arch(
    "falcon-h1",
    3,
    lambda h: {**_attn(h, False), **_ssm(h)},
    BASE + " ssm_inner ssm_state ssm_group ssm_heads",
)
# Qwen3-Next's gated delta net: d_inner = n_v_heads x head_v_dim with head_v_dim = d_state
_arch(
    "qwen3next",
    4,
    lambda h: {**_attn(h, False), **_moe(h, True), **_ssm(h), "full_attention_interval": 4},
    BASE + " n_exp n_used ff_exp ff_shexp ssm_state ssm_group ssm_heads",
    fix=lambda h: {**h, "ssm_inner": h["ssm_heads"] * h["ssm_state"]},
)
_arch("phi2", 3, lambda h: _attn(h, False), BASE)
# Llama 4: chunked attention on 3 of 4 layers with the engine's fixed chunk of 8192 tokens
# (src/models/llama4.cpp load_arch_hparams: n_swa = 8192, load_swa_pattern(ml, 4)); the
# contexts reach past it
_arch(
    "llama4",
    4,
    lambda h: {**_attn(h, False), **_moe(h, True), "interleave_moe_layer_step": 1},
    BASE + " n_exp n_used ff_exp ff_shexp",
)
FIXED_SWA["llama4"] = 8192
CSETS_BY["llama4"] = ((20480, 512, 1), (49152, 384, 2), (65536, 256, 4), (40960, 768, 2))


def write_meta(path: Path, tid: str, h: dict, layers: int | None = None) -> None:
    """A KV-only GGUF for template `tid` at hyperparameters `h` (the keys the pinned converter
    writes for the architecture, as llama.cpp's loader reads them)."""
    import gguf  # the engine's own gguf-py (llamacpp.use_vendored_gguf)

    n_layer, keys, _, arch = ARCHS[tid]
    n_layer = layers or n_layer
    w = gguf.GGUFWriter(str(path), arch)
    base = {
        "context_length": 1 << 20,
        "embedding_length": h["embd"],
        "block_count": n_layer,
        "feed_forward_length": h["ff"],
        "attention.layer_norm_rms_epsilon": 1e-5,
        "attention.layer_norm_epsilon": 1e-5,
        "rope.freq_base": 10000.0,
    }
    for k, v in {**base, **keys(h)}.items():
        name = f"{arch}.{k}"
        if isinstance(v, bool):
            w.add_bool(name, v)
        elif isinstance(v, float):
            w.add_float32(name, v)
        elif isinstance(v, list):
            w.add_array(name, v)
        else:
            w.add_uint32(name, int(v))
    w.add_string("tokenizer.ggml.model", "test")
    w.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(h["vocab"])])
    w.add_array("tokenizer.ggml.scores", [0.0] * h["vocab"])
    data = 0
    if tid in FILE_TENSORS:  # a model file: the converter's tensor infos, data left sparse
        import numpy as np

        align = 32  # GGUF_DEFAULT_ALIGNMENT
        for name, ne, typ in FILE_TENSORS[tid](h, n_layer):
            qt = gguf.GGMLQuantizationType(typ)
            blck, tsize = gguf.GGML_QUANT_SIZES[qt]
            nbytes = ne[0] // blck * tsize
            for d in ne[1:]:
                nbytes *= d
            row_bytes = ne[0] // blck * tsize  # uint8 shapes are in bytes along ne[0]
            shape = (*reversed(ne[1:]), row_bytes)
            w.add_tensor_info(name, shape, np.dtype(np.uint8), nbytes, raw_dtype=qt)
            data += -(-nbytes // align) * align
    w.write_header_to_file()
    w.write_kv_data_to_file()
    if tid in FILE_TENSORS:
        w.write_ti_data_to_file()
    w.close()
    if data:  # the data section after the aligned header, zeros (a sparse file)
        head = path.stat().st_size
        with path.open("r+b") as f:
            f.truncate(-(-head // 32) * 32 + data)


# ----------------------------------------------------------------------------- engine runs

CELL_PAD = 256


def _pad(n: int, to: int = CELL_PAD) -> int:
    return -(-n // to) * to


def context_symbols(n_ctx: int, ub: int, ns: int, swa: int | None) -> dict[str, int]:
    """ub, ns, ubs = ub / ns (tokens per stream), kv = n_ctx_seq and, with a window, win =
    GGML_PAD(min(kv, n_swa + ub), 256) (src/llama-context.cpp L290-303,
    src/llama-kv-cache-iswa.cpp L73)."""
    kv = _pad(_pad(n_ctx) // ns)
    q = {"ub": ub, "ns": ns, "ubs": ub // ns, "kv": kv}
    if swa:
        q["win"] = _pad(min(kv, swa + ub))
    return q


def rot_size(n: int) -> int:
    """The Hadamard rotation's size for head size `n` on a quantized cache: the largest power of
    two >= 64 dividing n (src/llama-kv-cache.cpp L1450-1458), 0 when 64 does not divide n."""
    if n % 64:
        return 0
    r = 64
    while n % (2 * r) == 0:
        r *= 2
    return r


def rot_symbols(h: dict, mla: bool) -> dict[str, int]:
    """krot / vrot (kgrp / vgrp): the rotation sizes (blocks per head) of the K and V heads (MLA: K = kv_lora + rope, V =
    kv_lora, as the converter writes key_length / value_length)."""
    k = h["kv_lora"] + h["rope"] if mla else h["hd_k"]
    v = h["kv_lora"] if mla else h.get("hd_v", h["hd_k"])
    kr, vr = rot_size(k), rot_size(v)
    # kgrp / vgrp: rotation blocks per head (a rotated head is viewed as [rot, head / rot])
    return {"krot": kr, "vrot": vr, "kgrp": k // kr if kr else 0, "vgrp": v // vr if vr else 0}


def build_probe(engine: llamacpp.Engine) -> Path:
    """Compile arch_probe.cpp against the engine (cached next to its binaries, by hash)."""
    import hashlib

    src = HERE / "arch_probe.cpp"
    tag = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    out = Path(engine.bin_dir) / f"vramkit-arch-probe-{tag}"
    if out.exists():
        return out
    root = Path(engine.source_dir)
    cmd = [
        "c++",
        "-O1",
        "-std=c++17",
        str(src),
        f"-I{root / 'include'}",
        f"-I{root / 'ggml' / 'include'}",
        f"-L{engine.bin_dir}",
        "-lllama",
        "-lggml",
        "-lggml-base",
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True, timeout=600)
    return out


def parse_trace(text: str) -> list[tuple]:
    """The last reserved graph: ("A", size, offset, name, type, ne) and ("F", offset, size,
    kind, shapes) events (kind "N": the freed node's (type, ne); "X": the parent's and the
    node's, the extra bytes at the end of an in-place parent)."""
    graphs: list[list[tuple]] = []
    pending: tuple | None = None  # the hook logs the freed shapes just before the free
    for line in text.splitlines():
        p = line.split()
        if not p:
            continue
        if p[0] == "@R":
            graphs.append([])
        elif not graphs:
            continue
        elif p[0] == "@A":
            head, _, name = line.partition(" :: ")
            f = head.split()
            shape = (int(f[4]), tuple(int(x) for x in f[5:9]))
            fa = None
            if len(f) > 10 and f[10] == "FA":  # flash attention: K and V as the node reads them
                fa = (
                    (int(f[11]), tuple(int(x) for x in f[12:16])),
                    (int(f[16]), tuple(int(x) for x in f[17:21])),
                    int(f[21]),
                )
            graphs[-1].append(("A", int(f[1]), int(f[2]), name, shape, fa))
        elif p[0] == "@N":
            pending = ("N", ((int(p[1]), tuple(int(x) for x in p[2:6])),))
        elif p[0] == "@X":
            pending = (
                "X",
                (
                    (int(p[1]), tuple(int(x) for x in p[2:6])),
                    (int(p[6]), tuple(int(x) for x in p[7:11])),
                ),
            )
        elif p[0] == "@F":
            if pending is None:
                raise RuntimeError("a free with no shape logged before it")
            graphs[-1].append(("F", int(p[1]), int(p[2]), *pending))
            pending = None
    if not graphs:
        raise RuntimeError("no allocator trace: is the traced libggml-base loaded?")
    return graphs[-1]


_COMPUTE = re.compile(r"CPU compute buffer size = +([\d.]+) MiB")


def run_probe(
    engine,
    libdir: Path,
    probe: Path,
    meta: Path,
    n_ctx: int,
    ub: int,
    fa: str,
    ns: int,
    cache: str,
    trace: bool = True,
    from_file: bool = False,
) -> tuple[list[tuple] | None, float]:
    """(the last graph's events or None, the printed CPU compute buffer in MiB)."""
    env = engine.env()
    env["LD_LIBRARY_PATH"] = f"{libdir}:{env['LD_LIBRARY_PATH']}"
    with tempfile.TemporaryDirectory() as tmp:
        tpath = Path(tmp) / "alloc.trace"
        if trace:
            env["VRAMKIT_ALLOC_TRACE"] = str(tpath)
        cmd = [
            str(probe),
            str(meta),
            str(n_ctx),
            str(ub),
            str(int(fa == "on")),
            str(ns),
            str(GGML_TYPE_IDS[cache]),
            str(int(from_file)),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        text = res.stdout + res.stderr
        m = _COMPUTE.search(text)
        if res.returncode or not m:
            tail = "\n".join(text.splitlines()[-8:])
            raise RuntimeError(f"{' '.join(cmd[1:])}: rc {res.returncode}\n{tail}")
        return (parse_trace(tpath.read_text()) if trace else None), float(m.group(1))


# ----------------------------------------------------------------------------- identification


def symbolize(ev: list[tuple]) -> tuple[list[tuple], list[list[tuple]]]:
    """(structure, shapes): per event ("A", name, type) with its (type, ne), or
    ("F", kind, alloc number) with the freed shapes; a free returns the latest live
    allocation whose range holds its offset (kind N: at its start)."""
    live: dict[int, tuple[int, int]] = {}  # alloc number -> (offset, size)
    order: list[int] = []
    structure, shapes = [], []
    n = 0
    for e in ev:
        if e[0] == "A":
            # names are not compared: ggml names some nodes by the expert count (the MoE sum)
            fa = e[5]
            structure.append(("A", e[4][0]) if fa is None else ("A", e[4][0], "FA", fa[2]))
            shapes.append([e[4]] if fa is None else [e[4], fa[0], fa[1]])
            live[n] = (e[2], e[1])
            order.append(n)
            n += 1
            continue
        _, off, _size, kind, shp = e
        hit = [i for i in reversed(order) if live[i][0] <= off < live[i][0] + max(live[i][1], 1)]
        if not hit:
            raise RuntimeError(f"free at {off} is in no live allocation")
        i = hit[0]
        if kind == "N" and off != live[i][0]:
            raise RuntimeError(f"a node free at {off} inside allocation {i}")
        structure.append(("F", kind, i, tuple(s[0] for s in shp)))
        shapes.append(list(shp))
        if kind == "N":
            order.remove(i)
    return structure, shapes


def _monomials(names: list[str], degree: int) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]
    for d in range(1, degree + 1):
        out += list(itertools.combinations_with_replacement(names, d))
    return out


def _mval(m: tuple[str, ...], q: dict[str, int]) -> int:
    v = 1
    for s in m:
        v *= q[s]
    return v


def _score(terms: list[tuple[Fraction, tuple[str, ...]]]) -> tuple:
    """Simplest first: no negative coefficient, small numerators and denominators, low degree."""
    return (
        any(f < 0 for f, _ in terms),
        sum(abs(f.numerator) + f.denominator for f, _ in terms),
        sum(len(m) for _, m in terms),
    )


def identify_dim(y: list[int], qs: list[dict[str, int]], names: list[str]) -> list | None:
    """[[num, den, "a*b"], …]: the simplest exact expression for `y` over every run — a
    constant; else c x one monomial (degree <= 3); else two terms of degree <= 2 (a
    concatenation of more parts, as Falcon-H1's Mamba in_proj, stays unidentified: the
    template is then not replayed). Among several exact candidates the simplest wins (`_score`): with five
    hyperparameter sets a spurious fit needs odd coefficients."""
    if len(set(y)) == 1:
        return [[y[0], 1, ""]]
    found = []
    for m in _monomials(names, 3)[1:]:
        vals = [_mval(m, q) for q in qs]
        if 0 in vals:
            continue
        c = Fraction(y[0], vals[0])
        if all(Fraction(yi, v) == c for yi, v in zip(y, vals, strict=True)):
            found.append([(c, m)])
    if not found:
        mons = _monomials(names, 2)
        cols = [[_mval(m, q) for q in qs] for m in mons]
        for i, j in itertools.combinations(range(len(mons)), 2):
            a, b = cols[i], cols[j]
            pick = next(
                ((k, m) for k in range(len(y)) for m in range(k + 1, len(y))
                 if a[k] * b[m] - a[m] * b[k]),
                None,
            )  # fmt: skip
            if pick is None:
                continue
            k0, k1 = pick
            det = a[k0] * b[k1] - a[k1] * b[k0]
            ca = Fraction(y[k0] * b[k1] - y[k1] * b[k0], det)
            cb = Fraction(a[k0] * y[k1] - a[k1] * y[k0], det)
            if ca and cb and all(ca * a[k] + cb * b[k] == y[k] for k in range(len(y))):
                found.append([(ca, mons[i]), (cb, mons[j])])
    if found:
        best = min(found, key=_score)
        return [[f.numerator, f.denominator, "*".join(m)] for f, m in best]
    return None


def deep_period(period: int) -> int:
    """lcm(period, 2): the peak can alternate with the layer count's parity even on a uniform
    stack (Command-R shape at n_embd 3072: 86.01 / 82.01 MiB on 2 / 3 layers … up to 5)."""
    return period if period % 2 == 0 else 2 * period


def layer_counts(n_layer: int, period: int) -> list[int]:
    """Small counts (every count from 1 for a uniform stack, else one per residue from
    `n_layer`: converter test files have 2-7 layers) and deep ones, one per residue of
    `deep_period` from max(8, n_layer + 2 period): the allocator's state needs a few layers to
    settle (Qwen3-Next shape at n_embd 3072: 84.09 MiB on 6 layers, 90.09 on 14 and 30)."""
    small = list(range(1 if period == 1 else n_layer, n_layer + period))
    d = deep_period(period)
    start = max(8, n_layer + 2 * period)
    return small + [x for x in range(start, start + d) if x not in small]


def record_arch(engine, libdir: Path, probe: Path, tid: str) -> dict[str, Any]:
    """The template document of `tid`: per variant the shape rows and the event sequence."""
    import gguf

    n_layer, _keys, syms, arch = ARCHS[tid]
    cs = CSETS_BY.get(tid, CSETS)
    tsz = {str(int(t)): list(v) for t, v in gguf.GGML_QUANT_SIZES.items()}
    period = PERIOD.get(tid, 1)
    by_layers: dict[str, dict[str, Any]] = {}
    hsets = [FIXES[tid](dict(h)) if tid in FIXES else dict(h) for h in HSETS]
    with tempfile.TemporaryDirectory() as tmp:
        # architectures whose graph asserts n_embd_head == n_embd / n_head (llama.cpp's Llama
        # builder: GGML_ASSERT(n_embd_head == hparams.n_embd_head_k()); Command-R reshapes
        # to [n_embd_head, n_head, n_tokens]) get embd = head x hd_k
        write_meta(Path(tmp) / "try.gguf", tid, hsets[0])
        try:
            run_probe(
                engine,
                libdir,
                probe,
                Path(tmp) / "try.gguf",
                *cs[0][:2],
                "on",
                cs[0][2],
                "f16",
                trace=False,
                from_file=tid in FILE_TENSORS,
            )
            tied = False
        except RuntimeError as exc:
            if "GGML_ASSERT" not in str(exc):
                raise
            tied = True
            hsets = [{**h, "embd": h["head"] * h["hd_k"]} for h in hsets]
        else:
            print(f"  {tid}: head dims decoupled from n_embd / n_head")
        # the last layer's kind changes the peak (gpt-oss-120b, 36 layers: 412.83 MiB; the
        # same shapes on 5 layers: 435.33): one recording per layer count modulo the period,
        # and for uniform stacks every count from 1 (small converter test files)
        for layers in layer_counts(n_layer, period) + list(EXTRA_LAYERS.get(tid, ())):
            metas = []
            for k, h in enumerate(hsets):
                p = Path(tmp) / f"h{k}.gguf"
                write_meta(p, tid, h, layers)
                metas.append((p, h))
            for fa, cache in VARIANTS:
                runs = []
                for meta, h in metas:
                    for n_ctx, ub, ns in cs:
                        ev, mib = run_probe(
                            engine, libdir, probe, meta, n_ctx, ub, fa, ns, cache,
                            from_file=tid in FILE_TENSORS,
                        )  # fmt: skip
                        q = {s: h[s] for s in syms}
                        if "ssm_heads" in q and "ssm_group" in q:  # value heads per key group
                            q["ssm_hpg"] = q["ssm_heads"] // q["ssm_group"]
                        if "ssm_inner" in q and "ssm_state" in q:  # one stream's SSM state
                            q["ssm_is"] = q["ssm_inner"] * q["ssm_state"]
                        swa = h["swa"] if "swa" in syms else FIXED_SWA.get(tid)
                        q.update(context_symbols(n_ctx, ub, ns, swa))
                        q.update(rot_symbols(h, "kv_lora" in syms))
                        runs.append((q, *symbolize(ev), mib, ev))
                structure = runs[0][1]
                for r in runs:
                    if r[1] != structure:
                        raise RuntimeError(
                            f"{tid} fa {fa} {cache}: the sequence differs between runs"
                        )
                # the rotation sizes exist for a quantized cache only: an F16 variant's K head
                # (MLA: kv_lora + rope) would otherwise fit kgrp x krot, equal to it at every
                # set (heads multiples of 64) and 0 where 64 does not divide it (the
                # converter's V3.2 file: 80)
                rot = {"krot", "vrot", "kgrp", "vgrp"}
                names = sorted(n for n in runs[0][0] if cache != "f16" or n not in rot)
                qs = [r[0] for r in runs]
                rows: dict[tuple, int] = {}
                row_list: list[list] = []
                inexact = 0
                ev_rows: list[list[int]] = []
                for i, e in enumerate(structure):
                    refs = []
                    for k in range(len(runs[0][2][i])):
                        typ = runs[0][2][i][k][0]
                        key = (typ, tuple(tuple(r[2][i][k][1]) for r in runs))
                        if key not in rows:
                            dims = []
                            for d in range(4):
                                y = [r[2][i][k][1][d] for r in runs]
                                expr = identify_dim(y, qs, names)
                                if expr is None:
                                    print(f"    inexact: {e} dim {d}: {y[:12]}")
                                    inexact += 1
                                    expr = [[max(y), 1, ""]]
                                dims.append(expr)
                            rows[key] = len(row_list)
                            row_list.append([typ, dims])
                        refs.append(rows[key])
                    ev_rows.append(refs)
                events = []
                for e, refs in zip(structure, ev_rows, strict=True):
                    if e[0] == "A":
                        # flash attention: [0, out, K, V, V is a view of K] (the CUDA backend
                        # allocates F16 copies of a quantized K / V past the output)
                        events.append([0, *refs] if len(e) == 2 else [0, *refs, e[3]])
                    else:
                        events.append([1 if e[1] == "N" else 2, e[2], *refs])
                doc = {
                    "rows": row_list,
                    "events": events,
                    "inexact_dims": inexact,
                    "align": 32,
                    "tensors": sum(e[0] == "A" for e in structure),
                }
                # the replay must give the engine's printed figure on every training run
                import vramkit.runtimes.llamacpp.arch as la

                worst = 0.0
                for r in runs:
                    got = la.replay_template(doc, r[0], tsz) / 2**20
                    worst = max(worst, abs(got - r[3]))
                doc["train_worst_abs_mib"] = round(worst, 3)
                # one more pattern of layers must not change the engine's buffer
                p2 = Path(tmp) / "deeper.gguf"
                write_meta(p2, tid, hsets[1], layers + 2 * deep_period(period))
                _, deep = run_probe(
                    engine, libdir, probe, p2, *cs[1][:2], fa, cs[1][2], cache, trace=False,
                    from_file=tid in FILE_TENSORS,
                )  # fmt: skip
                base = [r[3] for r in runs][len(cs) + 1]
                doc["layer_stable"] = abs(deep - base) < 0.005
                by_layers.setdefault(str(layers), {})[f"fa_{fa}_{cache}"] = doc
                print(
                    f"  {tid} L{layers} fa {fa} {cache}: {len(structure)} events, {len(row_list)} shapes"
                    f" ({inexact} dims inexact), train worst {worst:.3f} MiB,"
                    f" layer-stable {doc['layer_stable']} ({base} vs {deep} MiB)"
                )
    used = sorted({r[0] for vs in by_layers.values() for v in vs.values() for r in v["rows"]})
    return {
        "schema_version": 1,
        "engine": "llama.cpp",
        "package": engine.package,
        "llama_cpp_commit": engine.llama_cpp_commit,
        "tool": "benchmarks/engines/arch_graphs.py: arch_probe (llama_model_init_from_user,"
        " no_alloc) with a traced libggml-base",
        "source": {
            "url": "https://github.com/ggml-org/llama.cpp/blob/"
            "0c1e57098bba43ac29e6e3b677cdceebdd22334f/ggml/src/ggml-alloc.c",
            "quote": "chunk->max_size = MAX(chunk->max_size, addr.offset + size);",
            "kind": "code",
        },
        "machine": "cpu",
        "backend": "CPU (ggml-cpu; no GPU backend built)",
        "date": dt.date.today().isoformat(),
        "template": tid,
        "arch": arch,
        "layers_recorded": sorted(int(x) for x in by_layers),
        "period": period,
        "deep_period": deep_period(period),
        "symbols": list(syms),
        "embd_is_heads_x_head_dim": tied,
        "hsets": [{s: h[s] for s in syms} for h in hsets],
        "csets": [list(c) for c in cs],
        "type_sizes": {str(t): tsz[str(t)] for t in used},
        "by_layers": by_layers,
    }


OUT_DIR = ROOT / "data" / "llamacpp_arch_graphs"
HELDOUT = ROOT / "tests" / "fixtures" / "measured" / "llamacpp_arch" / "heldout.json"
#: Full-size settings of the held-out check (n_ctx, -ub, -fa, -np, cache type): the fixture grid's
#: values, none of them a training setting.
HELDOUT_CASES = (
    (4096, 512, "on", 1, "f16"), (32768, 512, "off", 1, "f16"), (131072, 2048, "on", 1, "f16"),
    (32768, 512, "on", 4, "q8_0"), (131072, 512, "on", 4, "f16"), (4096, 2048, "off", 4, "f16"),
)  # fmt: skip


#: A realistic shape none of the hyperparameter sets used (a 3B-8B-class model), 30 layers:
#: the held-out check of every template, including those no published config here covers.
SYNTH = {
    "embd": 3072, "head": 24, "head_kv": 8, "hd_k": 128, "hd_v": 128, "ff": 8192,
    "vocab": 32768, "n_exp": 32, "n_used": 4, "ff_exp": 1024, "ff_shexp": 2048, "n_shexp": 1,
    "swa": 4096, "q_lora": 1536, "kv_lora": 512, "nope": 128, "rope": 64, "ssm_inner": 3072,
    "ssm_state": 128, "ssm_group": 8, "ssm_heads": 24, "conv": 4, "idx_head": 16,
    "idx_hd": 128, "idx_topk": 2048,
}  # fmt: skip
SYNTH_LAYERS = 30
HELDOUT_SYNTH = (
    ROOT / "tests" / "fixtures" / "measured" / "llamacpp_arch" / "heldout_synthetic.json"
)


def record_synthetic(
    engine, libdir: Path, probe: Path, only: set[str] | None = None
) -> dict[str, Any]:
    """The engine at `SYNTH` (fixed per template as the recording's) and 30 layers, for every
    template (`only`: these templates, the other rows kept from the file), over HELDOUT_CASES."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for tid in ARCHS:
            if only is not None and tid not in only:
                continue
            h = FIXES[tid](dict(SYNTH)) if tid in FIXES else dict(SYNTH)
            meta = Path(tmp) / "s.gguf"
            write_meta(meta, tid, h, SYNTH_LAYERS)
            cases = []
            for n_ctx, ub, fa, ns, cache in HELDOUT_CASES:
                try:
                    _, mib = run_probe(engine, libdir, probe, meta, n_ctx, ub, fa, ns, cache, False,
                                       tid in FILE_TENSORS)  # fmt: skip
                except RuntimeError as exc:
                    print(f"{tid}: {n_ctx} {ub} {fa} {ns} {cache}: {str(exc)[-200:]}")
                    continue
                cases.append({"n_ctx": n_ctx, "n_ubatch": ub, "flash_attn": fa, "n_seq": ns,
                              "cache": cache, "compute_mib": mib})  # fmt: skip
            print(f"{tid}: {[c['compute_mib'] for c in cases]}")
            syms = {k: h[k] for k in h if k in ARCHS[tid][2] or k in ("hd_k", "hd_v")}
            rows.append({"template": tid, "layers": SYNTH_LAYERS, "written": syms, "cases": cases})
    return {
        "engine": "llama.cpp",
        "package": engine.package,
        "llama_cpp_commit": engine.llama_cpp_commit,
        "tool": "benchmarks/engines/arch_graphs.py --synthetic: arch_probe (no_alloc) at SYNTH,"
        " 30 layers; the printed 'CPU compute buffer size' (MiB)",
        "machine": "cpu",
        "date": dt.date.today().isoformat(),
        "models": rows,
    }


def heldout_configs() -> list[tuple[str, Any]]:
    """Published configs none of the templates was recorded on: data/examples/*/config.json
    and the catalog's models (source, model)."""
    from vramkit.catalog import models
    from vramkit.model.configfile import model_from_config_file

    out = [(f"catalog:{mid}", m) for mid, m in models().items()]
    for path in sorted((ROOT / "data" / "examples").glob("*/config.json")):
        out.append((str(path.parent.relative_to(ROOT)), model_from_config_file(str(path))))
    return out


def record_heldout(
    engine, libdir: Path, probe: Path, only: set[str] | None = None
) -> dict[str, Any]:
    """The engine's CPU compute buffer for every held-out config whose architecture has a
    template (`only`: of these templates, the other rows kept from the file), at full size (its
    own layer count and widths, no_alloc; a template recorded from files: a sparse file with the
    converter's tensor infos), over HELDOUT_CASES."""
    from vramkit.runtimes.llamacpp.arch import _flat, model_symbols, template_id

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for src, model in heldout_configs():
            tid = template_id(model.config)
            if tid not in ARCHS or (only is not None and tid not in only):
                continue
            try:
                q = model_symbols(tid, model.config)
            except (KeyError, TypeError, ValueError) as exc:
                print(f"{src}: skipped ({exc})")
                continue
            layers = int(_flat(model.config)["num_hidden_layers"])
            meta = Path(tmp) / "m.gguf"
            write_meta(meta, tid, {**HSETS[0], **q}, layers)
            cases = []
            for n_ctx, ub, fa, ns, cache in HELDOUT_CASES:
                try:
                    _, mib = run_probe(engine, libdir, probe, meta, n_ctx, ub, fa, ns, cache, False,
                                       tid in FILE_TENSORS)  # fmt: skip
                except RuntimeError as exc:
                    print(f"{src}: {n_ctx} {ub} {fa} {ns} {cache}: {str(exc)[-200:]}")
                    continue
                cases.append({"n_ctx": n_ctx, "n_ubatch": ub, "flash_attn": fa, "n_seq": ns,
                              "cache": cache, "compute_mib": mib})  # fmt: skip
            print(f"{src} ({tid}, {layers} layers): {[c['compute_mib'] for c in cases]}")
            rows.append({"config": src, "template": tid, "layers": layers, "written": q,
                         "cases": cases})  # fmt: skip
    return {
        "engine": "llama.cpp",
        "package": engine.package,
        "llama_cpp_commit": engine.llama_cpp_commit,
        "tool": "benchmarks/engines/arch_graphs.py --heldout: arch_probe (llama_model_init_from_user,"
        " no_alloc) at each config's full size; the printed 'CPU compute buffer size' (MiB)",
        "machine": "cpu",
        "date": dt.date.today().isoformat(),
        "note": "the hyperparameters written are vramkit.runtimes.llamacpp.arch.model_symbols of the "
        "config (the converter's own files are checked in tests/accounting/gguf_converter/ "
        "and tests/fixtures/measured/llamacpp/)",
        "models": rows,
    }


def _merge(path: Path, doc: dict[str, Any], key: str, only: set[str] | None) -> dict[str, Any]:
    """`doc` with the rows of `path` whose template was not re-recorded (`only`) kept, in
    their order, each re-recorded row in place of its old one."""
    if only is None or not path.exists():
        return doc
    new = {r[key]: r for r in doc["models"]}
    old = json.loads(path.read_text())["models"]
    rows = [new.pop(r[key], r) if r["template"] in only else r for r in old]
    rows = [
        r for r in rows if r["template"] not in only or r[key] in {x[key] for x in doc["models"]}
    ]
    doc["models"] = rows + list(new.values())
    doc["date_rows"] = f"rows of {', '.join(sorted(only))} re-recorded {doc['date']}"
    return doc


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--arch", help="comma-separated template ids (default: all)")
    ap.add_argument("--heldout", action="store_true", help="record the held-out engine runs")
    ap.add_argument("--synthetic", action="store_true", help="held-out runs at SYNTH per template")
    args = ap.parse_args(argv)
    only = set(args.arch.split(",")) if args.arch else None
    sys.path.insert(0, str(ROOT))
    engine = llamacpp.cached() or llamacpp.build()
    llamacpp.use_vendored_gguf(engine)
    libdir = build_traced(engine)
    probe = build_probe(engine)
    if args.synthetic:
        doc = _merge(HELDOUT_SYNTH, record_synthetic(engine, libdir, probe, only), "template", only)
        HELDOUT_SYNTH.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {HELDOUT_SYNTH.relative_to(ROOT)}")
        return 0
    if args.heldout:
        doc = _merge(HELDOUT, record_heldout(engine, libdir, probe, only), "config", only)
        HELDOUT.parent.mkdir(parents=True, exist_ok=True)
        HELDOUT.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {HELDOUT.relative_to(ROOT)}")
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    failed = []
    for tid in args.arch.split(",") if args.arch else ARCHS:
        try:
            doc = record_arch(engine, libdir, probe, tid)
        except RuntimeError as exc:
            print(f"{tid}: FAILED {str(exc)[:600]}")
            failed.append(tid)
            continue
        data = json.dumps(doc, separators=(",", ":")).encode()
        with gzip.GzipFile(OUT_DIR / f"{tid}.json.gz", "wb", mtime=0) as f:
            f.write(data)
        print(f"{tid}: wrote {(OUT_DIR / f'{tid}.json.gz').relative_to(ROOT)}")
    print("failed:", ",".join(failed) or "none")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
