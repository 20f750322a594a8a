"""llama.cpp: everything the kit knows about this engine, one module per concern.

`mix` (llama-quantize's per-tensor type rules), `graph` (ggml-alloc's allocator replayed over
recorded graphs), `memory` (model / context / compute buffers per device), `kv` (its KV cell
rules: padding, the V cache), `placement` (a plan's layer split and --n-cpu-moe search),
`flags` (llama-server's command line for a plan, checked by construction), `verify` (a plan's
flags against the engine's own projection).
"""
