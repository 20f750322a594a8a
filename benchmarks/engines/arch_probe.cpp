// A model of any llama.cpp architecture from GGUF metadata alone, projected without weights
// (no_alloc), for vramkit's per-architecture graph recorder (arch_graphs.py).
//
//   arch_probe META_GGUF N_CTX N_UBATCH FLASH_ATTN(0|1) N_SEQ CACHE_TYPE(ggml_type id) [FILE(0|1)]
//
// META_GGUF holds key/value pairs only (no tensors). llama_model_init_from_user (include/llama.h)
// lets the loader create every tensor from those hyperparameters, as tests/test-llama-archs.cpp
// of the same tree does; with no_alloc nothing is allocated or read. That path creates every
// optional tensor but never a fused one (TENSOR_SKIP_IF_VIRTUAL in src/llama-model-loader.cpp:
// no attn_qkv), so FILE=1 loads META_GGUF as a model file instead (llama_model_load_from_file,
// no_alloc): a sparse GGUF whose tensor infos are the ones the pinned converter writes. The context is then created
// as llama-fit-params creates it (swa_full off, -b max(ub, 2048)), so the worst-case ubatch graph
// is reserved, and the engine logs its buffers (KV cache lines, compute buffer).
#include "gguf.h"
#include "llama.h"

#include <cstdio>
#include <cstdlib>

static void no_data(struct ggml_tensor *, void *) {}

int main(int argc, char ** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s META_GGUF N_CTX N_UBATCH FA N_SEQ CACHE_TYPE\n", argv[0]);
        return 2;
    }
    llama_backend_init();
    struct gguf_init_params gp = { /*.no_alloc =*/ true, /*.ctx =*/ nullptr };
    struct gguf_context * meta = gguf_init_from_file(argv[1], gp);
    if (meta == nullptr) {
        std::fprintf(stderr, "error: cannot read %s\n", argv[1]);
        return 1;
    }
    llama_model_params mp = llama_model_default_params();
    mp.no_alloc = true;                  // "only load metadata and simulate memory allocations"
    mp.use_extra_bufts = false;          // -nr: no weight repacking
    mp.n_gpu_layers = 0;
    const bool from_file = argc > 7 && std::atoi(argv[7]) != 0;
    if (from_file) {
        mp.load_mode = LLAMA_LOAD_MODE_NONE; // no mmap: the memory-fit pass maps nothing (GGML_ASSERT(!ml.no_alloc))
    }
    llama_model * model = from_file ? llama_model_load_from_file(argv[1], mp)
                                    : llama_model_init_from_user(meta, no_data, nullptr, mp);
    if (model == nullptr) {
        std::fprintf(stderr, "error: the model was not created\n");
        return 1;
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) std::atoi(argv[2]);
    cp.n_ubatch = (uint32_t) std::atoi(argv[3]);
    cp.n_batch = cp.n_ubatch > 2048 ? cp.n_ubatch : 2048;
    cp.flash_attn_type = std::atoi(argv[4]) ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.n_seq_max = (uint32_t) std::atoi(argv[5]);
    cp.type_k = (ggml_type) std::atoi(argv[6]);
    cp.type_v = cp.type_k;
    cp.swa_full = false;                 // the common CLI default
    llama_context * ctx = llama_init_from_model(model, cp);
    if (ctx == nullptr) {
        std::fprintf(stderr, "error: the context was not created\n");
        return 1;
    }
    llama_free(ctx);
    llama_model_free(model);
    gguf_free(meta);
    return 0;
}
