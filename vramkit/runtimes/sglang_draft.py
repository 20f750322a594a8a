"""SGLang's MTP / NextN draft model per GPU (``--speculative-algorithm EAGLE`` / ``NEXTN`` on a
DeepSeek checkpoint): what one tensor-parallel rank holds when the draft is loaded.

SGLang builds the draft as its own model on every rank of the target's TP group, with the same
parallel layers as the target (sgl-project/sglang @ 000328a8cd54dd3aac97cd9977c39b5408034b26):

- python/sglang/srt/models/deepseek_v4_nextn.py, ``DeepseekV4ModelNextN.__init__``:
  ``embed_tokens = VocabParallelEmbedding(..., enable_tp=not is_dp_attention_enabled())`` (vocab
  ÷ TP), ``e_proj`` / ``h_proj = ReplicatedLinear`` (whole on every rank), one
  ``DeepseekV4DecoderLayer(..., is_nextn=True)``; ``DeepseekV4ForCausalLMNextN.__init__``:
  ``lm_head = ParallelLMHead(...)`` (vocab ÷ TP). DeepSeek V3's ``deepseek_nextn.py`` builds the
  same embedding / head; its ``eh_proj`` is a whole ``nn.Linear``.
- python/sglang/srt/models/deepseek_v4.py, ``MQALayer.__init__``: ``wq_a`` / ``wkv`` (or the fused
  ``wqkv_a``) ``ReplicatedLinear``; ``wq_b`` / ``wo_a`` ``ColumnParallelLinear`` and ``wo_b``
  ``RowParallelLinear`` over the attention TP group; ``attn_sink`` all heads; and
  ``register_buffer("freqs_cis", precompute_freqs_cis(dim=qk_rope_head_dim,
  seqlen=max_position_embeddings, ...))`` — a complex64 table of max_position_embeddings ×
  qk_rope_head_dim/2 entries (8 B each) on every rank, one per attention layer, the draft's too.
- The MoE layer is a ``FusedMoE``: routed experts split over the TP (or EP) group, ⌈E/n⌉ experts
  or 1/n of each, the same bytes per rank; the router gate is replicated; the shared expert is
  a TP-sharded MLP.
- Embedding and head: the draft allocates its own (bf16, vocab ÷ TP each) at load, whether or
  not the checkpoint's MTP block holds them (DeepSeek V4's does not). ``set_embed_and_head``
  (``del self.model.embed_tokens.weight`` … ``torch.cuda.empty_cache()``) later points them at the
  target's, so they are charged here as the load counts them ("Load weight end … mem usage").

Measured (held out; SemiAnalysisAI/InferenceX issue #2128, image
``lmsysorg/sglang:deepseek-v4-hopper``, DeepSeek-V4-Pro, 8 × H200, ``--tp 8``): "Load weight end.
quant=fp8, fmt=e4m3, avail mem=12.25 GB, mem usage=125.65 GB" for the target and
"DeepseekV4ForCausalLMNextN draft adds mem usage=3.07 GB" for the draft — SGLang's GB are GiB
(``get_available_gpu_memory`` divides by 1 << 30), so 3.07 × 2**30 = 3,296,387,400 B per GPU. This
module gives 2,589,218,660 B there (−21.5 %; tests/budget/test_sglang_mtp_draft.py writes it out).

Where the gap is: not in the draft's sharding. On the same log the target loaded 125.65 GiB per
GPU where the kit's target at TP 8 is 99.60 GiB (−20.7 %): that image loaded every weight about
26 % above the checkpoint (the issue's closing comment: after an image update "weight usage
dropped from ~125.7 GB to ~103–104 GB/GPU"). Draft ÷ target is 3.07 / 125.65 = 2.443 % measured
against 2.421 % here (−0.9 %): the draft is sharded as the target is, and the absolute spread is the
image's load inflation, which the kit does not model (a since-replaced image). Per rank the draft
allocates at load only its weights, its embedding / head (vocab ÷ TP) and the RoPE table; its KV
pool (``draft_runner_cache_size`` tokens of ``num_nextn_predict_layers`` layers,
model_runner_kv_cache_mixin.py ``init_memory``) and CUDA graphs come later, outside this figure.

The RoPE table: ``precompute_freqs_cis`` is ``@lru_cache(2)`` (python/sglang/srt/layers/
deepseek_v4_rope.py), keyed by (rope base, original length): V4-Pro's 61 main layers are all
compressed (compress_rope_theta) and its MTP layer is not (ratio 0, rope_theta), so the draft
adds the second table; a model whose main stack already has a ratio-0 layer (V4-Flash, layers
0–1) shares it and adds none — not modelled (the table is charged whole per draft).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import require_int
from ..model.params import ROUTED_GROUPS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..catalog import ModelSpec
    from ..quant import Recipe

SOURCE = "sgl-project/sglang @ 000328a8cd54dd3aac97cd9977c39b5408034b26"
"""The SGLang commit the placement rules above were read at."""

TP_SHARDED_ATTENTION = frozenset({"q_b", "kv_b", "o", "wq_b", "wo_a", "wo_b"})
"""Attention roles SGLang splits over the attention TP group (Column/RowParallelLinear); every
other attention-group tensor of the draft (wq_a, wkv, q_a, kv_a, e_proj, h_proj, eh_proj) is
whole on every rank."""

MEASURED_BYTES = 3_296_387_400
"""DeepSeek-V4-Pro's draft per GPU at TP 8 on H200, SGLang's load log: 3.07 GiB
(https://github.com/SemiAnalysisAI/InferenceX/issues/2128; 3.07 × 2**30 rounded)."""

MEASURED_TARGET_BYTES = 134_915_660_186
"""The target's load on the same log, "mem usage=125.65 GB" (GiB): 125.65 × 2**30 rounded."""

MEASURED_SPREAD = -0.21
"""This module's DeepSeek-V4-Pro TP-8 figure against `MEASURED_BYTES`: (2.59 − 3.30) / 3.30 —
the image's load inflation (its target −20.7 % against the kit's); draft ÷ target −0.9 %."""

BF16 = 2
COMPLEX64 = 8


@dataclass(frozen=True)
class SglangDraft:
    """Bytes one GPU holds for SGLang's MTP draft, by part (bytes), at attention TP `tp` with
    the routed experts split over `experts_split` GPUs."""

    tp: int
    experts_split: int
    parts: Mapping[str, int]

    @property
    def per_gpu_bytes(self) -> int:
        """Σ parts (bytes per GPU)."""
        return sum(self.parts.values())

    def note(self) -> str:
        """One line for a plan's notes: the total, the split, and the measured spread."""
        gb = self.per_gpu_bytes / 1e9
        return (
            f"MTP draft as SGLang loads it ({SOURCE}): {gb:,.2f} GB per GPU at attention TP "
            f"{self.tp}, routed experts over {self.experts_split} GPU(s) (embedding and head "
            f"vocab-parallel, e/h projections replicated, the draft's RoPE table whole); "
            f"estimate, {MEASURED_SPREAD:+.0%} against 3.07 GiB measured for DeepSeek-V4-Pro "
            "on 8 × H200 at TP 8 by an image that loaded its target 26% above the checkpoint "
            "too (draft ÷ target within 0.9% of the log)"
        )


def sglang_draft(model: ModelSpec, recipe: Recipe, *, tp: int, experts_split: int) -> SglangDraft:
    """Per-GPU bytes of SGLang's MTP draft of `model` stored under `recipe` (its MTP tensors),
    attention and vocab over `tp` ranks, routed experts over `experts_split` GPUs (tp, or
    tp × dp under expert parallelism). See the module docstring for each rule's source."""
    from ..quant import tensor_formats

    tp = require_int("tp", tp, minimum=1)
    split = require_int("experts_split", experts_split, minimum=1)
    parts = dict.fromkeys(
        ("routed experts", "shared experts", "attention (TP)", "replicated",
         "embedding + head", "RoPE table"), 0,
    )  # fmt: skip
    roles: set[str] = set()
    attn_roles: set[str] = set()
    r = replace(recipe, include_mtp=True)
    for t, fmt in tensor_formats(model, r):
        if not t.mtp:
            continue
        b = t.count * fmt.tensor_bytes(t.shape)
        roles.add(t.group)
        if t.group == "attention":
            attn_roles.add(t.role)
        if t.group in ROUTED_GROUPS:
            parts["routed experts"] += math.ceil(b / split)
        elif t.group == "shared_experts":
            parts["shared experts"] += math.ceil(b / tp)
        elif t.group in ("embed", "lm_head"):
            parts["embedding + head"] += math.ceil(b / tp)
        elif t.group == "attention" and t.role in TP_SHARDED_ATTENTION:
            parts["attention (TP)"] += math.ceil(b / tp)
        else:
            parts["replicated"] += b
    cfg = model.config
    vocab, hidden = int(cfg.get("vocab_size") or 0), int(cfg.get("hidden_size") or 0)
    for group in ("embed", "lm_head"):  # allocated by the draft even when the file lacks them
        if group not in roles:
            parts["embedding + head"] += math.ceil(vocab * hidden * BF16 / tp)
    if "wo_a" in attn_roles:  # an MQALayer (grouped output): its freqs_cis, whole per rank
        rope = int(cfg.get("qk_rope_head_dim") or 0)
        parts["RoPE table"] = int(cfg.get("max_position_embeddings") or 0) * rope // 2 * COMPLEX64
    return SglangDraft(tp, split, MappingProxyType(parts))
