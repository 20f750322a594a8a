"""vLLM: everything the kit knows about this engine, one module per concern.

`kv` (paged KV layout; DeepSeek V4's shared block pool), `batch` (a batch's KV against the
engine's admission rule), `memory` (its memory profile), `load`, `placement` (a plan by ranks:
TP / EP / DP / PP and --cpu-offload-gb; SGLang's plans take it too), `flags` (`vllm serve`).
"""
