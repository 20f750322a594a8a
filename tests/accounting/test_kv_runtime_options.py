"""A KV option applies to the runtimes whose KV profile has it (data/runtimes.yaml kv.options), and
one given to another runtime ends in one error naming who takes it — the list comes from the
records, not from a table of runtime ids in vramkit.kv."""

from __future__ import annotations

import pytest

from vramkit.errors import VramkitError
from vramkit.kv import kv_cache

FLASH = "deepseek-v4-flash"


@pytest.mark.parametrize(
    ("runtime", "option", "owner"),
    [
        ("vllm", {"n_ubatch": 512}, "llama.cpp / ik_llama.cpp"),
        ("llama.cpp", {"block_size": 16}, "vllm"),
        ("sglang", {"swa_compress": True}, "ik_llama.cpp"),
        ("reference", {"max_num_batched_tokens": 8192}, "vllm"),
    ],
)
def test_an_option_of_another_runtime_is_refused(runtime, option, owner):
    name = next(iter(option))
    with pytest.raises(VramkitError, match=rf"^{name} apply to runtime {owner} only, not"):
        kv_cache(FLASH, 4096, runtime=runtime, **option)


def test_options_apply_where_the_profile_has_them():
    base = kv_cache(FLASH, 4096, runtime="llama.cpp").total_bytes
    assert kv_cache(FLASH, 4096, runtime="llama.cpp", n_ubatch=512).total_bytes == base
    assert kv_cache(FLASH, 4096, runtime="trtllm", block_size=256).total_bytes > 0  # vLLM's KV
    assert kv_cache(FLASH, 4096, runtime="ik_llama", swa_compress=True).total_bytes > 0
