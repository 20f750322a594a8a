"""llama.cpp's compute buffer per architecture: the allocator replayed over a symbolic graph.

`vramkit.runtimes.llamacpp.graph` replays the allocation sequence recorded on one checkpoint. This
module replays the sequence recorded per *architecture*
(`benchmarks/engines/arch_graphs.py`; data/llamacpp_arch_graphs/<template>.json.gz): the
engine built each architecture from hyperparameters alone (``llama_model_init_from_user``,
no_alloc) at four hyperparameter sets x three context settings, the traced ggml-alloc logged
every allocation and free with the tensor's type and ``ne[0..3]``, and each dimension was
identified as c x a monomial of the named quantities — the model's (``embd``, ``head``,
``head_kv``, ``hd_k``, ``ff``, ``vocab``, ``n_exp``, ``n_used``, ``ff_exp``, ``swa``, MLA ranks,
SSM sizes …) and the context's (``ub`` tokens, ``ns`` streams, ``ubs`` = ub / ns, ``kv`` cells
per stream, ``win`` window cells) — exact on every run. Evaluating the shapes at a model's
values and running ggml-alloc's best fit (`graph.replay`'s allocator) gives the
engine's figure.

Layers: the template holds a few layers (the layer-kind pattern twice, leading dense layers
first), once per layer count modulo the pattern's period — the last layer's kind changes the
peak (gpt-oss-120b at 32K, -np 4, q8_0: 412.83 MiB on 36 layers, 435.33 on 5). The recorder
checks that the engine's buffer is the same with two more periods of layers (the allocator
reaches a periodic state after the first layers: its free list at each layer's start
repeats), so the recorded peak is the model's.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...datafiles import DATA_DIR, cached_parse, check_document

ARCH_DIR = "llamacpp_arch_graphs"
CELL_PAD = 256


def _align(n: int, to: int) -> int:
    return -(-n // to) * to


def _dim(expr: list[list[Any]], q: Mapping[str, int]) -> int:
    total = 0
    for num, den, mono in expr:
        v = num
        for s in mono.split("*") if mono else ():
            v *= q[s]
        total += v / den if den != 1 else v
    return int(total)


def _nbytes(row: list[Any], q: Mapping[str, int], sizes: Mapping[str, list[int]]) -> int:
    typ, dims = row
    ne = [_dim(d, q) for d in dims]
    blck, tsize = sizes[str(typ)]
    return ne[0] // blck * tsize * ne[1] * ne[2] * ne[3]


#: CUDA buffers align every tensor to 128 bytes (ggml-cuda.cu get_alignment), the CPU to 32.
CUDA_ALIGN = 128
F16 = 1


def _fa_extra(e: list[int], rows: list[Any], nb: list[int], q: Mapping[str, int]) -> int:
    """A flash-attention node's CUDA allocation past its output: GGML_PAD(…, 128), then F16
    copies of a quantized K and (unless V is a view of K) V (vramkit.runtimes.llamacpp.cuda.fa_f16_extra;
    ggml/src/ggml-cuda/fattn.cu L722-756)."""
    out, k, v, v_is_k = e[1], e[2], e[3], e[4]
    end = nb[out]

    def elems(row: Any) -> int:
        n = 1
        for d in row[1]:
            n *= _dim(d, q)
        return n

    if rows[k][0] != F16:
        end = _align(end, 128) + 2 * elems(rows[k])
    if rows[v][0] != F16 and not v_is_k:
        end = _align(end, 128) + 2 * elems(rows[v])
    return end - nb[out]


def replay_template(
    doc: Mapping[str, Any], q: Mapping[str, int], sizes: Any = None, *, cuda: bool = False
) -> int:
    """Peak bytes of ggml_dyn_tallocr over a template variant's events at quantities `q`.
    Events: [0, row] allocate ([0, out, K, V, V-is-K] for a flash-attention node); [1, alloc,
    row] free a node of shape `row` at that allocation's start; [2, alloc, parent_row,
    node_row] free the extra bytes of an in-place parent (ggml_gallocr_free_extra_space).
    `cuda`: the CUDA buffer type's sizes — 128-byte alignment and flash attention's F16 copies
    of a quantized cache (code-derived, vramkit.runtimes.llamacpp.cuda; not measured on a GPU)."""
    from .graph import free_bytes as _free

    sizes = sizes or doc.get("type_sizes") or {"0": [1, 4], "1": [1, 2], "26": [1, 4]}
    align = CUDA_ALIGN if cuda else int(doc.get("align", 32))
    rows = doc["rows"]
    nb = [_nbytes(r, q, sizes) for r in rows]
    offs: list[int] = [0]  # free blocks (graph.replay's layout): offsets, sorted
    lens: list[int] = [1 << 62]  # and sizes; the last block open-ended
    offsets: list[int] = []
    own: list[tuple[int, int]] = []  # per allocation: its row and its CUDA extra bytes
    peak = 0
    for e in doc["events"]:
        if e[0] == 0:
            extra = _fa_extra(e, rows, nb, q) if cuda and len(e) > 2 else 0
            size = _align(nb[e[1]] + extra, align)
            own.append((e[1], extra))
            last = len(lens) - 1
            best, best_size = last, 1 << 63
            for i in range(last):  # best fit among all blocks but the last (ties: the later)
                if size <= lens[i] <= best_size:
                    best, best_size = i, lens[i]
            off = offs[best]
            if lens[best] - size:
                offs[best], lens[best] = off + size, lens[best] - size
            else:
                del offs[best], lens[best]
            peak = max(peak, off + size)
            offsets.append(off)
        elif e[0] == 1:
            row, extra = own[e[1]]
            size = _align(nb[e[2]] + (extra if e[2] == row else 0), align)
            if size:
                _free(offs, lens, offsets[e[1]], size)
        else:
            parent, node = _align(nb[e[2]], align), _align(nb[e[3]], align)
            if parent > node:
                _free(offs, lens, offsets[e[1]] + node, parent - node)
    return peak


@functools.cache
def load_template(tid: str) -> Mapping[str, Any] | None:
    """data/llamacpp_arch_graphs/<tid>.json.gz, or None when the architecture was not recorded."""
    path = DATA_DIR / ARCH_DIR / f"{tid}.json.gz"
    if not path.exists():
        return None
    raw = path.read_bytes()
    # kept in the parsed-data cache (vramkit.datafiles) as read here, tuples and all
    doc = cached_parse(path.name, raw, "", lambda: _tuples(json.loads(gzip.decompress(raw))))
    keys = ("by_layers", "symbols", "engine", "llama_cpp_commit", "source", "type_sizes")
    return check_document(doc, path.name, keys)


def _tuples(x: Any, key: str = "") -> Any:
    """`x` (parsed JSON) with every list a tuple. A template holds ~10⁵ small event lists, kept
    for the process's life: the garbage collector walks every list at each full collection,
    while tuples of numbers are untracked after the first (objects it tracked after the
    1,000-model sweep of benchmarks/speed.py: ~325,000 with them as lists, ~184,000 as tuples).
    A variant's ``events`` are lists of integers (the recorder writes them so): each becomes a
    tuple without a call per element."""
    if isinstance(x, list):
        if key == "events":
            return tuple(map(tuple, x))
        return tuple([_tuples(v) for v in x])
    if isinstance(x, dict):
        return {k: _tuples(v, k) for k, v in x.items()}
    return x


def recorded_templates() -> list[str]:
    """Template ids with a recorded graph (sorted)."""
    d = DATA_DIR / ARCH_DIR
    return sorted(p.name.removesuffix(".json.gz") for p in d.glob("*.json.gz"))


#: HF ``model_type`` → llama.cpp architecture (what the pinned converter writes as
#: general.architecture: convert_hf_to_gguf.py's @ModelBase.register classes; Mistral and
#: Mixtral are written as "llama", DeepSeek V2/V3 as "deepseek2").
MODEL_TYPE_ARCH = {
    "llama": "llama", "mistral": "llama", "mixtral": "llama", "qwen2": "qwen2",
    "qwen2_moe": "qwen2moe", "qwen3": "qwen3", "qwen3_moe": "qwen3moe", "olmoe": "olmoe",
    "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3", "gemma3_text": "gemma3",
    "phi3": "phi3", "mistral3": "mistral3", "cohere": "command-r", "cohere2": "cohere2",
    "olmo2": "olmo2", "granite": "granite", "granitemoe": "granitemoe",
    "starcoder2": "starcoder2", "exaone4": "exaone4", "internlm2": "internlm2",
    "stablelm": "stablelm", "smollm3": "smollm3", "ernie4_5": "ernie4_5", "gpt_oss": "gpt-oss",
    "glm4_moe": "glm4moe", "deepseek_v2": "deepseek2", "deepseek_v3": "deepseek2",
    "deepseek_v32": "deepseek32", "deepseek_v4": "deepseek4", "gemma4": "gemma4",
    "gemma4_text": "gemma4",
    "falcon_h1": "falcon-h1", "qwen3_next": "qwen3next", "phi": "phi2", "llama4": "llama4",
    "llama4_text": "llama4", "olmo": "olmo", "exaone": "exaone",
}  # fmt: skip


def _get(cfg: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        v = cfg.get(n)
        if v is not None:
            return v
    return default


def _flat(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(cfg.get("text_config"), Mapping):  # multimodal configs nest the text model
        return {**cfg, **cfg["text_config"]}
    return cfg


def template_id(cfg: Mapping[str, Any]) -> str | None:
    """The recorded template for a config: its GGUF architecture (a file's
    general.architecture, else the converter's arch for the model_type), "llama-moe" for a
    Llama-architecture model with experts (Mixtral), "phi3-swa" for Phi-3 with a window,
    "deepseek2-lite" for an MLA model without q_lora_rank (DeepSeek-V2-Lite type)."""
    cfg = _flat(cfg)
    arch = cfg.get("gguf_architecture") or MODEL_TYPE_ARCH.get(str(cfg.get("model_type")))
    for keys, refined in _REFINED_TEMPLATES.get(str(arch), ()):
        if _get(cfg, *keys, default=0):
            return refined
    for keys, refined in _REFINED_IF_ABSENT.get(str(arch), ()):
        if not _get(cfg, *keys, default=0):
            return refined
    return arch


_REFINED_TEMPLATES: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "llama": ((("num_local_experts", "num_experts"), "llama-moe"),),  # Mixtral
    "phi3": ((("sliding_window",), "phi3-swa"),),
}
"""GGUF architecture → (config keys, template) pairs: a config that sets any of the keys (non-zero)
builds another graph, recorded as its own template."""

_REFINED_IF_ABSENT: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    # no q_lora_rank: attn_q instead of attn_q_a / attn_q_b (src/models/deepseek2.cpp L105-110,
    # L498-510), recorded with V2-Lite's softmax gating. Moonlight / Kimi-VL-A3B (the same graph
    # with sigmoid gating and normalised weights) gives the engine the same buffer: at its
    # shape (n_embd 2048, 27 layers, 64 experts, vocab 163840) over arch_graphs.HELDOUT_CASES
    # 360.38 / 1174.01 / 1441.51 / 360.38 / 360.38 / 1448.04 MiB with either (2026-12-08). So
    # does the deepseek2 template (recorded with V3's sigmoid) for DeepSeek-V2 236B's softmax:
    # 396.01 / 8632.01 / 2080.04 / 400.01 / 424.01 / 2600.04 MiB with either gating
    "deepseek2": ((("q_lora_rank",), "deepseek2-lite"),),
}
"""GGUF architecture → (config keys, template) pairs: a config that sets none of the keys builds
another graph."""


def model_symbols(tid: str, cfg: Mapping[str, Any]) -> dict[str, int]:
    """The template's model quantities from an HF config (the keys the pinned converter
    reads for these hyperparameters)."""
    if isinstance(cfg.get("text_config"), Mapping):  # multimodal configs nest the text model
        cfg = {**cfg, **cfg["text_config"]}
    embd = int(_get(cfg, "hidden_size", "n_embd", "d_model"))
    head = int(_get(cfg, "num_attention_heads", "n_head"))
    hd_k = int(_get(cfg, "head_dim", default=0) or embd // head)
    q: dict[str, int] = {
        "embd": embd, "head": head, "head_kv": int(_get(cfg, "num_key_value_heads", default=head)),
        "hd_k": hd_k, "hd_v": int(_get(cfg, "v_head_dim", default=hd_k)),
        "ff": int(_get(cfg, "intermediate_size", "ffn_hidden_size", default=0)),
        "vocab": int(cfg["vocab_size"]),
    }  # fmt: skip
    n_exp = _get(cfg, "num_local_experts", "num_experts", "n_routed_experts", default=0)
    if n_exp:
        q["n_exp"] = int(n_exp)
        q["n_used"] = int(_get(cfg, "num_experts_per_tok", "experts_per_token", "moe_topk"))
        q["ff_exp"] = int(_get(cfg, "moe_intermediate_size", "intermediate_size"))
        q["n_shexp"] = int(_get(cfg, "n_shared_experts", default=1) or 1)
        q["ff_shexp"] = int(_get(cfg, "shared_expert_intermediate_size", default=q["ff_exp"]))
    if cfg.get("sliding_window"):
        q["swa"] = int(cfg["sliding_window"])
    if cfg.get("kv_lora_rank"):
        # DeepSeek-V2-Lite-type models (no q_lora_rank) build another graph (template
        # deepseek2-lite, which has no q_lora symbol)
        if cfg.get("q_lora_rank"):
            q["q_lora"] = int(cfg["q_lora_rank"])
        q.update(kv_lora=int(cfg["kv_lora_rank"]),
                 nope=int(cfg["qk_nope_head_dim"]), rope=int(cfg["qk_rope_head_dim"]),
                 hd_v=int(cfg["v_head_dim"]))  # fmt: skip
    extra = _TEMPLATE_SYMBOLS.get(tid)
    if extra is not None:
        q.update(extra(cfg, q))
    return q


def _llama4_symbols(cfg: Mapping[str, Any], q: Mapping[str, int]) -> dict[str, int]:
    """Llama 4: experts and the shared expert at intermediate_size; dense layers at
    intermediate_size_mlp."""
    return {
        "ff_shexp": int(_get(cfg, "intermediate_size")),
        "ff_exp": int(_get(cfg, "intermediate_size")),
        "ff": int(_get(cfg, "intermediate_size_mlp", "intermediate_size")),
    }


def _falcon_h1_symbols(cfg: Mapping[str, Any], q: Mapping[str, int]) -> dict[str, int]:
    """Falcon-H1's Mamba-2 mixer sizes."""
    return {"ssm_inner": int(_get(cfg, "mamba_d_ssm", default=0) or 2 * q["embd"]),
                "ssm_state": int(cfg["mamba_d_state"]), "ssm_group": int(cfg["mamba_n_groups"]),
                "ssm_heads": int(cfg["mamba_n_heads"]), "conv": int(cfg.get("mamba_d_conv", 4))}  # fmt: skip


def _qwen3next_symbols(cfg: Mapping[str, Any], q: Mapping[str, int]) -> dict[str, int]:
    """Qwen3-Next's gated delta-net sizes."""
    return {"ssm_inner": int(cfg["linear_value_head_dim"]) * int(cfg["linear_num_value_heads"]),
                "ssm_state": int(cfg["linear_key_head_dim"]),
                "ssm_group": int(cfg["linear_num_key_heads"]),
                "ssm_heads": int(cfg["linear_num_value_heads"]),
                "conv": int(cfg.get("linear_conv_kernel_dim", 4))}  # fmt: skip


def _deepseek32_symbols(cfg: Mapping[str, Any], q: Mapping[str, int]) -> dict[str, int]:
    """DeepSeek V3.2's lightning indexer: heads, head size, top-k (the converter's
    attention.indexer.* keys)."""
    return {"idx_head": int(cfg["index_n_heads"]), "idx_hd": int(cfg["index_head_dim"]),
            "idx_topk": int(cfg["index_topk"])}  # fmt: skip


_TEMPLATE_SYMBOLS: Mapping[str, Any] = {
    "deepseek32": _deepseek32_symbols,
    "llama4": _llama4_symbols,
    "falcon-h1": _falcon_h1_symbols,
    "qwen3next": _qwen3next_symbols,
}
"""Template → the function giving its own quantities beyond the common ones (declarative, one
entry a template, as gguf-py's per-architecture tables)."""


def _rot(n: int) -> int:
    """Hadamard rotation size for a quantized cache: the largest power of two >= 64 dividing
    the head size, 0 when 64 does not (src/llama-kv-cache.cpp L321-339, L1450-1458)."""
    if n % 64:
        return 0
    r = 64
    while n % (2 * r) == 0:
        r *= 2
    return r


def context_symbols(q: Mapping[str, int], s: Any, mla: bool) -> dict[str, int]:
    """ub, ns, ubs (ub / ns), kv (n_ctx_seq), win (GGML_PAD(min(kv, n_swa + ub), 256)) and
    the rotation sizes krot / vrot with kgrp / vgrp blocks per head."""
    kv = s.n_ctx_seq
    out = {"ub": s.n_ubatch, "ns": s.n_seq, "ubs": s.n_ubatch // s.n_seq, "kv": kv}
    if "swa" in q:
        out["win"] = _align(min(kv, q["swa"] + s.n_ubatch), CELL_PAD)
    k = q["kv_lora"] + q["rope"] if mla else q["hd_k"]
    v = q["kv_lora"] if mla else q["hd_v"]
    kr, vr = _rot(k), _rot(v)
    out.update(krot=kr, vrot=vr, kgrp=k // kr if kr else 0, vgrp=v // vr if vr else 0)
    return out


#: Templates whose recorded graph is not the one the converter's files give the engine: left
#: out of the replay (the labelled estimate applies). Empty since Phi-3/Phi-4 are recorded from
#: files with the converter's fused attn_qkv (benchmarks/engines/arch_graphs.py FILE_TENSORS):
#: the probe's own path built separate Q/K/V (12.01 MiB where the converter's Phi-4 file gives
#: the engine 12.51, tests/accounting/gguf_converter, 8K, -ub 512).
NOT_REPLAYED: dict[str, str] = {}


#: Windows the engine fixes whatever the file says: Llama 4's chunked attention on 3 of 4
#: layers, 8192 tokens (src/models/llama4.cpp load_arch_hparams: hparams.n_swa = 8192).
FIXED_WINDOW = {"llama4": 8192}


@dataclass(frozen=True)
class ArchReplay:
    """The per-architecture replay of one setting: bytes, the template used, or why none."""

    bytes: int | None
    template: str | None
    reason: str


def arch_compute(cfg: Mapping[str, Any], s: Any, *, cuda: bool = False) -> ArchReplay:
    """llama.cpp's CPU compute buffer for a config at settings `s` from its architecture's
    recorded graph, or an ArchReplay with bytes None and the reason (no template, a variant
    not recorded, a shape the template cannot stand for). `cuda`: the same graph with the CUDA
    buffer type's sizes (`replay_template`; derived from the code, not measured on a GPU)."""
    tid = template_id(cfg)
    if tid in NOT_REPLAYED:
        return ArchReplay(None, tid, NOT_REPLAYED[tid])
    if tid is None:
        mt = _flat(cfg).get("model_type")
        return ArchReplay(None, None, f"no llama.cpp architecture known for model_type {mt!r}")
    if load_template(tid) is None:
        return ArchReplay(None, tid, f"no per-architecture graph recorded for {tid!r}")
    try:
        q = model_symbols(tid, cfg)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        return ArchReplay(None, tid, f"the config lacks a hyperparameter the graph needs ({exc})")
    layers = int(_get(_flat(cfg), "num_hidden_layers", "n_layer", default=0) or 0)
    return replay_symbols(tid, q, layers, s, cuda=cuda)


def replay_symbols(
    tid: str, q: Mapping[str, int], layers: int, s: Any, *, cuda: bool = False
) -> ArchReplay:
    """Template `tid` replayed at model quantities `q` (`model_symbols`), `layers` layers and
    settings `s`: the recording at that layer count, else the deepest layer-stable one with
    the same layer kinds at the end (same count modulo the period)."""
    doc = load_template(tid)
    if doc is None:
        return ArchReplay(None, tid, f"no per-architecture graph recorded for {tid!r}")
    quant = s.cache_k not in ("f16", "fp16")
    if quant and (not s.flash_attn or s.cache_v != s.cache_k):
        return ArchReplay(None, tid, "a quantized cache is recorded with flash attention and "
                          "-ctk = -ctv only")  # fmt: skip
    key = f"fa_{'on' if s.flash_attn else 'off'}_{'q8_0' if quant else 'f16'}"
    recorded = [int(x) for x in doc["by_layers"]]
    period = int(doc.get("deep_period", doc.get("period", 1)))
    if layers in recorded:  # recorded at this very layer count
        rec = layers
        var = doc["by_layers"][str(rec)].get(key)
    else:  # the deepest recording with the same count modulo lcm(period, 2), if layer-stable
        same = [r for r in recorded if r % period == layers % period and r < layers]
        if not same:
            return ArchReplay(None, tid, f"{layers} layers: no recording of the {tid} graph "
                              f"with as many layers modulo {period} or fewer")  # fmt: skip
        rec = max(same)
        var = doc["by_layers"][str(rec)].get(key)
        if var is not None and not var.get("layer_stable", False):
            return ArchReplay(None, tid, f"the {tid} graph is not layer-stable at {max(same)} "
                              "layers")  # fmt: skip
    if var is None or var.get("inexact_dims"):
        return ArchReplay(None, tid, f"the {tid} graph's {key} variant is not exact")
    q = dict(q)
    if tid in FIXED_WINDOW:
        q["swa"] = FIXED_WINDOW[tid]
    if "ssm_heads" in q and "ssm_group" in q:  # value heads per key group (delta net)
        q["ssm_hpg"] = q["ssm_heads"] // max(q["ssm_group"], 1)
    if "ssm_inner" in q and "ssm_state" in q:  # one stream's SSM state (Mamba-2's ssm_scan
        q["ssm_is"] = q["ssm_inner"] * q["ssm_state"]  # output holds y, then the states)
    bad = sorted(k for k in doc["symbols"] if k in q and not 0 < q[k] < 1 << 40)
    if bad:
        return ArchReplay(None, tid, f"hyperparameters out of range: {', '.join(bad)}")
    if doc.get("embd_is_heads_x_head_dim") and q["embd"] != q["head"] * q["hd_k"]:
        return ArchReplay(None, tid, "n_embd != n_head x head_dim, which this graph asserts")
    missing = [x for x in doc["symbols"] if x not in q]
    if missing:
        return ArchReplay(None, tid, f"the config lacks {', '.join(missing)}")
    q.update(context_symbols(q, s, "kv_lora" in doc["symbols"]))
    if "idx_topk" in q and q["kv"] < q["idx_topk"]:  # the indexer keeps min(cells, top_k)
        return ArchReplay(None, tid, f"{q['kv']} cells per sequence, fewer than the indexer's "
                          f"top-k {q['idx_topk']}: min(cells, top-k) is not recorded")  # fmt: skip
    if quant and (q["krot"] == 0 or q["vrot"] == 0):
        return ArchReplay(None, tid, "head size not a multiple of 64: no rotation, not recorded")
    memo = (tid, rec, key, cuda, tuple(sorted(q.items())))
    peak = _PEAKS.get(memo)
    if peak is None:
        peak = replay_template(var, q, doc["type_sizes"], cuda=cuda)
        if len(_PEAKS) >= _PEAKS_MAX:
            _PEAKS.clear()
        _PEAKS[memo] = peak
    how = " with the CUDA buffer type's sizes (from its code)" if cuda else ""
    return ArchReplay(peak, tid, f"{tid} graph replayed{how}")


_PEAKS: dict[tuple[object, ...], int] = {}
"""(template, recorded layer count, variant, cuda, quantities) → the replay's peak bytes:
`replay_template` is a pure function of these (a template file is fixed for the package's
life), and one plan asks the same replay several times (the compute buffer, flash attention's
CPU side), as do models that differ only where the graph does not look (its layer count past a
layer-stable recording)."""
_PEAKS_MAX = 4096


def coverage() -> dict[str, str]:
    """Per recorded template: "replayed", or why the labelled estimate applies instead (set
    aside, a dimension not identified). Architectures with no template get the estimate too."""
    out = {}
    for tid in recorded_templates():
        doc = load_template(tid)
        variants = [v for vs in doc["by_layers"].values() for v in vs.values()]
        if tid in NOT_REPLAYED:
            out[tid] = f"labelled estimate: {NOT_REPLAYED[tid]}"
        elif any(v["inexact_dims"] for v in variants):
            out[tid] = "labelled estimate: a tensor dimension was not identified exactly"
        elif not any(v.get("layer_stable") for v in variants):
            counts = ", ".join(str(x) for x in doc["layers_recorded"])
            out[tid] = (f"replayed at the recorded layer counts only ({counts}); other counts "
                        "get the labelled estimate: the buffer grows with the layers")  # fmt: skip
        else:
            out[tid] = "replayed"
    return out
