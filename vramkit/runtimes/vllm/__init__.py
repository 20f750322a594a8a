"""vLLM: everything the kit knows about this engine, one module per concern.

`kv` (paged KV layout; DeepSeek V4's shared block pool), `batch` (a batch's KV against the
engine's admission rule).
"""
