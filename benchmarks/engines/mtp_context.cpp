// llama.cpp's MTP draft context, projected without weights (no_alloc), for the vramkit harness.
//
//   mtp_context MODEL N_CTX N_UBATCH FLASH_ATTN(0|1) N_SEQ CACHE_TYPE(ggml_type id)
//
// llama-fit-params cannot do this: it has no --spec-type option, so it never loads the MTP
// layer (load_mtp) nor creates a context of type LLAMA_CONTEXT_TYPE_MTP. This program does
// both with the library's own public API (include/llama.h) and the same defaults the common
// CLI uses (swa_full off, no mmap, as common/fit.cpp's projection), then lets the engine log
// its buffers (KV cache lines, compute buffer) as llama-fit-params -v does.
#include "llama.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char ** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s MODEL N_CTX N_UBATCH FA N_SEQ CACHE_TYPE\n", argv[0]);
        return 2;
    }
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.no_alloc = true;                  // "only load metadata and simulate memory allocations"
    mp.load_mode = LLAMA_LOAD_MODE_NONE; // as common/fit.cpp L57-58
    mp.use_extra_bufts = false;          // -nr: no weight repacking
    mp.load_mtp = true;                  // what --spec-type draft-mtp sets (common.cpp L1625)
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (model == nullptr) {
        std::fprintf(stderr, "error: the model did not load\n");
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
    cp.ctx_type = LLAMA_CONTEXT_TYPE_MTP;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (ctx == nullptr) {
        std::fprintf(stderr, "error: the MTP context was not created\n");
        return 1;
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
