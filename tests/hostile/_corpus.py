"""The hostile-input corpus: a generator of command-line and Python API cases, the files they
need, and the in-process runner with its guards (per-case time bound, socket guard, write
guard). Loaded by the tests of this folder with importlib (no package, any import mode).

A case either must be refused (`REFUSE`: exit 2, exactly one stderr line starting
``vramkit:``, optionally containing `needle`) or answered (`ANSWER`: exit 0, no NaN/inf, no
negative figure in JSON output), or, for random mutations where both are honest, `EITHER`
(one of the two, with the same checks). Every case must finish within `CASE_TIMEOUT_S`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import os
import re
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REFUSE, ANSWER, EITHER = "refuse", "answer", "either"
CASE_TIMEOUT_S = 20
"""Bound on one in-process case (the slowest honest case takes well under a second)."""
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "examples"
MAX_EXAMPLE_CONFIGS = 10
"""Example configs broken field by field (the first, sorted): keeps the suite's time bounded as
data/examples grows (each adds ~100 cases)."""


# ── cases ────────────────────────────────────────────────────────────────────────────────────
@dataclass
class Case:
    """One hostile input. `argv` may hold ``{w}`` (the case's work folder); `setup(w)` writes
    the files it needs; `call(w)` replaces argv for Python API cases."""

    id: str
    category: str
    argv: list[str] = field(default_factory=list)
    expect: str = REFUSE
    needle: str = ""
    setup: Callable[[Path], None] | None = None
    call: Callable[[Path], Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    may_write: str = ""
    """A folder (relative to the work folder) the case may create; nothing else may change."""


def _w(case_argv: list[str], w: Path) -> list[str]:
    return [a.replace("{w}", str(w)) for a in case_argv]


# ── file builders ────────────────────────────────────────────────────────────────────────────
def write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def write_bytes(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)


def safetensors_bytes(header: Any, data: bytes = b"", *, raw_header: bytes | None = None) -> bytes:
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@functools.cache
def base_configs() -> dict[str, dict[str, Any]]:
    """Real configs to break: the example config.json files and catalog configs per family."""
    from vramkit.catalog import get_model
    from vramkit.model.configfile import text_config

    out = {
        p.parent.name: text_config(json.loads(p.read_text()))
        for p in sorted(EXAMPLES.glob("*/config.json"))[:MAX_EXAMPLE_CONFIGS]
    }
    for mid in ("deepseek-v4-flash", "deepseek-v3.2", "gemma-4-31b", "llama-3.1-70b"):
        cfg = dict(get_model(mid).config)
        out[mid] = json.loads(json.dumps(cfg))
    return out


def gguf_file(path: Path, *, block_count: Any = 2, arch: str = "llama", extra=None) -> None:
    import gguf
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), arch)
    if isinstance(block_count, str):
        w.add_string(f"{arch}.block_count", block_count)
    elif block_count is not None:
        w.add_uint32(f"{arch}.block_count", block_count)
    w.add_embedding_length(256)
    w.add_feed_forward_length(512)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_context_length(4096)
    w.add_vocab_size(32)
    for key, value in (extra or {}).items():
        if isinstance(value, str):
            w.add_string(key, value)
        else:
            w.add_uint32(key, value)
    w.add_tensor("token_embd.weight", np.zeros((32, 256), np.float16))
    w.add_tensor("blk.0.attn_q.weight", np.zeros((64, 256), np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ── generators per category ──────────────────────────────────────────────────────────────────
INT_FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
    "head_dim",
    "max_position_embeddings",
    "intermediate_size",
    "moe_intermediate_size",
    "num_experts_per_tok",
    "kv_lora_rank",
    "sliding_window",
    "num_experts",
    "n_routed_experts",
    "num_local_experts",
    "qk_rope_head_dim",
    "linear_num_key_heads",
    "num_nextn_predict_layers",
    "first_k_dense_replace",
)
BOOL_FIELDS = ("tie_word_embeddings", "attention_bias", "attention_k_eq_v", "use_qk_norm")
BAD_INTS: tuple[tuple[str, Any], ...] = (
    ("zero", 0),
    ("minus1", -1),
    ("minus5", -5),
    ("string12", "12"),
    ("stringfalse", "false"),
    ("true", True),
    ("half", 1.5),
    ("e25", 10**25),
    ("2p62", 2**62),
    ("list", [4]),
    ("object", {"v": 4}),
)
NON_NEGATIVE = ("num_nextn_predict_layers", "first_k_dense_replace")
BAD_BOOLS: tuple[tuple[str, Any], ...] = (
    ("sfalse", "false"),
    ("strue", "true"),
    ("zero", 0),
    ("one", 1),
    ("no", "no"),
    ("list", [False]),
)
COMMANDS = (
    ["inspect", "{w}/cfg/config.json", "--json"],
    ["weights", "--config", "{w}/cfg/config.json", "--json"],
    ["kv", "--config", "{w}/cfg/config.json", "--context", "4K", "--json"],
    ["moe", "--config", "{w}/cfg/config.json", "--json"],
)


def _config_case(cid: str, cfg: Any, n: int, expect: str, needle: str = "") -> Case:
    argv = COMMANDS[n % len(COMMANDS)]
    if argv[0] == "moe":
        expect = EITHER if expect == ANSWER else expect  # dense configs: moe says it has none
    return Case(
        cid,
        "config",
        list(argv),
        expect,
        needle,
        setup=lambda w, cfg=cfg: write_json(w / "cfg" / "config.json", cfg),
    )


def config_mutations() -> Iterator[Case]:
    """Each integer field of each real config set to each bad value; each boolean field to
    each non-boolean; plus the named cases of the issue."""
    n = 0
    for name, base in base_configs().items():
        for fld in INT_FIELDS:
            if fld not in base:
                continue
            for label, value in BAD_INTS:
                if label == "zero" and fld in NON_NEGATIVE:
                    continue
                cfg = {**base, fld: value}
                yield _config_case(f"{name}-{fld}-{label}", cfg, n, REFUSE, fld)
                n += 1
        for fld in BOOL_FIELDS:
            for label, value in BAD_BOOLS:
                cfg = {**base, fld: value}
                yield _config_case(f"{name}-{fld}-{label}", cfg, n, REFUSE, fld)
                n += 1
        yield _config_case(f"{name}-as-is", base, n, ANSWER)
        n += 1
        for drop in ("hidden_size", "num_hidden_layers", "model_type"):
            if drop in base:
                cfg = {k: v for k, v in base.items() if k != drop}
                yield _config_case(f"{name}-without-{drop}", cfg, n, REFUSE, "")
                n += 1


def _llama(**over: Any) -> dict[str, Any]:
    base = json.loads((EXAMPLES / "qwen3-30b-a3b" / "config.json").read_text())
    return {**base, **over}


def named_config_cases() -> Iterator[Case]:
    """The issue's config cases, each with its expected outcome."""
    llama = {
        "model_type": "llama",
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 32000,
        "intermediate_size": 11008,
        "max_position_embeddings": 4096,
    }
    named = {
        "tie-string-false": ({**llama, "tie_word_embeddings": "false"}, "tie_word_embeddings"),
        "kv-heads-zero": ({**llama, "num_key_value_heads": 0}, "num_key_value_heads"),
        "kv-heads-7-of-32": ({**llama, "num_key_value_heads": 7}, "must divide"),
        "kv-heads-64-of-32": ({**llama, "num_key_value_heads": 64}, "must divide"),
        "zero-layers": ({**llama, "num_hidden_layers": 0}, "num_hidden_layers"),
        "hidden-zero": ({**llama, "hidden_size": 0}, "hidden_size"),
        "vocab-zero": ({**llama, "vocab_size": 0}, "vocab_size"),
        "negative-window": ({**llama, "sliding_window": -4096}, "sliding_window"),
        "maxpos-minus5": ({**llama, "max_position_embeddings": -5}, "max_position_embeddings"),
        "hidden-1e400-int": ({**llama, "hidden_size": 10**400}, "digit"),
        "head-dim-1e15": ({**llama, "head_dim": 10**15}, "head_dim"),
        "string-in-int": ({**llama, "num_attention_heads": "32"}, "num_attention_heads"),
        # the family config reader (issue 22): a default computed from other fields is checked
        # like a value, and two aliases of one field that disagree are refused
        "head-dim-derived-zero": ({**llama, "hidden_size": 16}, "head_dim"),
        "window-pattern-aliases-disagree": (
            {
                **json.loads((EXAMPLES / "gemma-2-9b-it" / "config.json").read_text()),
                "sliding_window_pattern": 2,
                "full_attention_interval": 3,
            },
            "disagree",
        ),
        "qwen3next-mtp-1e9": (
            {
                **json.loads(
                    (EXAMPLES / "qwen3-next-80b-a3b-instruct" / "config.json").read_text()
                ),
                "num_nextn_predict_layers": 10**9,
            },
            "num_nextn_predict_layers",
        ),
        "experts-1e12": (_llama(num_experts=10**12), "num_experts"),
        "kv-lora-zero": (
            {
                **base_configs()["deepseek-v3.2"],
                "kv_lora_rank": 0,
            },
            "kv_lora_rank",
        ),
        "text-config-list": ({**llama, "text_config": [1]}, "text_config"),
        "model-type-list": ({**llama, "model_type": ["llama"]}, "model_type"),
        "model-type-unknown": ({**llama, "model_type": "nope"}, "model_type"),
        "quant-config-list": ({**llama, "quantization_config": [1]}, "quantization_config"),
        "torch-dtype-int": ({**llama, "torch_dtype": 16}, "torch_dtype"),
        "topk-over-experts": (_llama(num_experts_per_tok=1000), "num_experts_per_tok"),
        "dense-over-layers": (
            {**base_configs()["deepseek-v3.2"], "first_k_dense_replace": 500},
            "first_k_dense_replace",
        ),
    }
    for cid, (cfg, needle) in named.items():
        for argv in COMMANDS[:3]:
            yield Case(
                f"named-{cid}-{argv[0]}",
                "config",
                list(argv),
                REFUSE,
                needle,
                setup=lambda w, cfg=cfg: write_json(w / "cfg" / "config.json", cfg),
            )
    # answered correctly: a huge but valid config gives exact, non-negative integers
    huge = {**llama, "hidden_size": 1 << 24, "num_attention_heads": 1 << 16}
    huge["num_key_value_heads"] = 1 << 16
    huge["head_dim"] = 1 << 24
    huge["max_position_embeddings"] = 1 << 27
    yield Case(
        "huge-valid-kv-exact",
        "resources",
        [
            "kv",
            "--config",
            "{w}/cfg/config.json",
            "--context",
            "1M",
            "--batch",
            "1000000",
            "--json",
        ],
        ANSWER,
        # GQA, bf16: T · 2 (K, V) · kv_heads · head_dim · 2 bytes · layers · batch, exactly
        f'"total_bytes": {2**20 * 2 * 2**16 * 2**24 * 2 * 32 * 10**6}',
        setup=lambda w: write_json(w / "cfg" / "config.json", huge),
    )


def raw_config_cases() -> Iterator[Case]:
    """config.json files that are not clean JSON objects: encodings, nesting, numbers, kinds."""
    good = json.dumps(_llama())
    raws: dict[str, tuple[bytes, str, str]] = {
        "utf16-bom": (good.encode("utf-16"), REFUSE, "UTF-16"),
        "utf16le-no-bom": (good.encode("utf-16-le"), REFUSE, "UTF-16"),
        "utf32": (good.encode("utf-32"), REFUSE, "UTF-32"),
        "latin1": (good.replace("}", ', "name": "caf\u00e9"}').encode("latin-1"), REFUSE, "UTF-8"),
        "utf8-bom": (b"\xef\xbb\xbf" + good.encode(), ANSWER, ""),
        "empty": (b"", REFUSE, "JSON"),
        "whitespace": (b"   \n\t ", REFUSE, "JSON"),
        "null": (b"null", REFUSE, "object"),
        "list": (b"[1, 2]", REFUSE, "object"),
        "number": (b"42", REFUSE, "object"),
        "string": (b'"config"', REFUSE, "object"),
        "deep-100k-list": (b"[" * 100_000 + b"]" * 100_000, REFUSE, "levels deep"),
        "deep-100k-object": (
            b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
            REFUSE,
            "levels deep",
        ),
        "deep-unclosed": (b"[" * 200_000, REFUSE, "deep"),
        "deep-in-field": (
            good[:-1].encode() + b', "rope_scaling": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            REFUSE,
            "deep",
        ),
        "int-5000-digits": (
            good[:-1].encode() + b', "hidden_size": ' + b"9" * 5000 + b"}",
            REFUSE,
            "digit",
        ),
        "float-1e400": (good[:-1].encode() + b', "rope_theta": 1e400}', REFUSE, "float"),
        "nan-literal": (good[:-1].encode() + b', "max_position_embeddings": NaN}', REFUSE, "NaN"),
        "infinity-literal": (
            good[:-1].encode() + b', "rope_theta": -Infinity}',
            REFUSE,
            "Infinity",
        ),
        "truncated": (good[: len(good) // 2].encode(), REFUSE, "JSON"),
        "binary": (bytes(range(256)) * 4, REFUSE, ""),
        "nul-bytes": (b"\x00" * 64, REFUSE, ""),
        "trailing-garbage": (good.encode() + b" }}}", REFUSE, "JSON"),
        "duplicate-key": (good[:-1].encode() + b', "hidden_size": 0}', REFUSE, "hidden_size"),
        "many-keys": (
            json.dumps({**_llama(), **{f"k{i}": i for i in range(100_000)}}).encode(),
            ANSWER,
            "",
        ),
        "long-string-value": (
            json.dumps({**_llama(), "junk": "x" * 5_000_000}).encode(),
            ANSWER,
            "",
        ),
        "surrogate-escape": (good[:-1].encode() + b', "name": "\\ud800"}', ANSWER, ""),
    }
    for n, (cid, (raw, expect, needle)) in enumerate(raws.items()):
        argv = COMMANDS[n % 3]
        yield Case(
            f"raw-{cid}",
            "encoding",
            list(argv),
            expect,
            needle,
            setup=lambda w, raw=raw: write_bytes(w / "cfg" / "config.json", raw),
        )


def _fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def _symlink(target: str | Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def path_cases() -> Iterator[Case]:
    """File kinds and odd paths, for every command that reads a path."""
    kinds: dict[str, tuple[str, Callable[[Path], None] | None, str, str]] = {
        "fifo-config": (
            "{w}/f/config.json",
            lambda w: _fifo(w / "f" / "config.json"),
            REFUSE,
            "FIFO",
        ),
        "fifo-in-folder": ("{w}/f", lambda w: _fifo(w / "f" / "config.json"), REFUSE, "FIFO"),
        "fifo-safetensors": (
            "{w}/f/model.safetensors",
            lambda w: _fifo(w / "f" / "model.safetensors"),
            REFUSE,
            "FIFO",
        ),
        "fifo-gguf": ("{w}/f/m.gguf", lambda w: _fifo(w / "f" / "m.gguf"), REFUSE, "FIFO"),
        "dev-null": ("/dev/null", None, REFUSE, "device"),
        "dev-zero": ("/dev/zero", None, REFUSE, "device"),
        "dev-urandom": ("/dev/urandom", None, REFUSE, "device"),
        "symlink-to-dev-zero": (
            "{w}/l/config.json",
            lambda w: _symlink("/dev/zero", w / "l" / "config.json"),
            REFUSE,
            "device",
        ),
        "symlink-loop": (
            "{w}/loop/config.json",
            lambda w: _symlink(w / "loop" / "config.json", w / "loop" / "config.json"),
            REFUSE,
            "",
        ),
        "dangling-symlink": (
            "{w}/d/config.json",
            lambda w: _symlink(w / "nowhere", w / "d" / "config.json"),
            REFUSE,
            "",
        ),
        "folder-named-config": (
            "{w}/dir/config.json",
            lambda w: (w / "dir" / "config.json").mkdir(parents=True),
            REFUSE,
            "folder",
        ),
        "empty-folder": ("{w}/empty", lambda w: (w / "empty").mkdir(), REFUSE, ""),
        "nonexistent": ("{w}/nope/config.json", None, REFUSE, "does not exist"),
        "long-path-5000": ("{w}/" + "a" * 5000, None, REFUSE, ""),
        "long-component-300": ("{w}/" + "b" * 300 + "/config.json", None, REFUSE, ""),
        "nul-in-path": ("{w}/x\x00y", None, REFUSE, ""),
        "empty-string": ("", None, REFUSE, ""),
        "space": (" ", None, REFUSE, ""),
        "dash": ("-", None, REFUSE, ""),
        "txt-file": ("{w}/notes.txt", lambda w: (w / "notes.txt").write_text("hi"), REFUSE, ".txt"),
        "proc-self": ("/proc/self/status", None, REFUSE, ""),
        "root": ("/", None, REFUSE, ""),
    }
    for cid, (path, setup, expect, needle) in kinds.items():
        for argv in (
            ["inspect", path],
            ["weights", "--config", path],
            ["kv", "--from", path, "--context", "4K"],
            ["moe", "--from", path],
        ):
            if cid in ("nul-in-path",) and argv[0] != "inspect":
                continue
            yield Case(
                f"path-{cid}-{argv[0]}",
                "paths",
                argv,
                expect,
                needle if argv[0] == "inspect" else "",
                setup,
            )


def hub_id_cases() -> Iterator[Case]:
    """Offline Hub ids: odd ones refused as ids, well-formed ones refused as not cached."""
    ids = {
        "long-5000": "a" * 2500 + "/" + "b" * 2499,
        "long-300": "o" * 150 + "/" + "n" * 149,
        "dotdot": "../etc",
        "dotdot-name": "owner/..",
        "three-parts": "a/b/c",
        "leading-slash": "/owner/name",
        "unicode": "ówner/náme",
        "spaces": "owner name/x",
        "trailing-slash": "owner/",
        "only-slash": "/",
        "shell": "owner/$(rm -rf ~)",
        "url": "https://huggingface.co/Qwen/Qwen3-8B",
        "newline": "owner/name\nvramkit: fake",
        "well-formed-uncached": "Qwen/Qwen3-8B",
        "well-formed-uncached-2": "deepseek-ai/DeepSeek-V4-Flash",
        "tab": "owner/\tname",
    }
    for cid, hid in ids.items():
        for argv in (
            ["inspect", hid],
            ["weights", "--from", hid],
            ["kv", "--from", hid, "--context", "1K"],
        ):
            yield Case(f"hubid-{cid}-{argv[0]}", "hub", argv, REFUSE, "")


def hub_gguf_cases() -> Iterator[Case]:
    """Hub GGUF addresses (hf://OWNER/REPO/FILE.gguf, inspect OWNER/REPO --file NAME.gguf):
    malformed ones refused as addresses, well-formed ones refused without --online; no socket
    is opened either way (the corpus runner's socket guard)."""
    addresses = {
        "no-file": "hf://owner/name",
        "no-repo": "hf://owner",
        "not-gguf": "hf://owner/name/model.safetensors",
        "dotdot-file": "hf://owner/name/../x.gguf",
        "dotdot-repo": "hf://../name/x.gguf",
        "empty": "hf://",
        "long": "hf://o/n/" + "a" * 2000 + ".gguf",
        "unicode": "hf://ówner/name/x.gguf",
        "space": "hf://owner/name/a b.gguf",
        "bad-revision": "hf://owner/name@../x.gguf",
        "newline": "hf://owner/name/x.gguf\nvramkit: fake",
        "well-formed-offline": "hf://owner/name/model-Q4_K_M.gguf",
        "well-formed-revision-offline": "hf://owner/name@v1.0/sub/model.gguf",
    }
    for cid, address in addresses.items():
        needle = "--online" if cid.startswith("well-formed") else ""
        for argv in (["inspect", address], ["weights", "--from", address]):
            yield Case(f"hubgguf-{cid}-{argv[0]}", "hub", argv, REFUSE, needle)
    files = {
        "file-not-gguf": ["inspect", "owner/name", "--file", "x.bin"],
        "file-dotdot": ["inspect", "owner/name", "--file", "../x.gguf"],
        "file-absolute": ["inspect", "owner/name", "--file", "/x.gguf"],
        "file-with-local-path": ["inspect", "{w}", "--file", "x.gguf"],
        "file-with-address": ["inspect", "hf://owner/name/x.gguf", "--file", "x.gguf"],
        "file-offline": ["inspect", "owner/name", "--file", "x.gguf"],
    }
    for cid, argv in files.items():
        needle = "--online" if cid == "file-offline" else ""
        yield Case(f"hubgguf-{cid}", "hub", argv, REFUSE, needle)


def _cache_entry(w: Path, doc: Any, *, raw: bytes | None = None, repo="acme/tiny") -> None:
    path = w / "cache" / "hub" / f"{repo.replace('/', '--')}@main.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw if raw is not None else json.dumps(doc).encode())


def _tiny_header() -> dict[str, Any]:
    return {
        "model.embed_tokens.weight": {
            "dtype": "BF16",
            "shape": [32, 16],
            "data_offsets": [0, 1024],
        },
        "lm_head.weight": {"dtype": "BF16", "shape": [32, 16], "data_offsets": [1024, 2048]},
    }


def hub_cache_cases() -> Iterator[Case]:
    """Poisoned entries of vramkit's Hub cache (VRAMKIT_CACHE)."""
    cfg = _llama()
    ok = {"config": cfg, "total_size": 2048, "headers": {"model.safetensors": _tiny_header()}}
    big = 2**53 + 1
    entries: dict[str, tuple[Any, bytes | None, str, str]] = {
        "valid": (ok, None, ANSWER, ""),
        "not-json": (None, b"{not json", REFUSE, "JSON"),
        "utf16": (None, json.dumps(ok).encode("utf-16"), REFUSE, "UTF-16"),
        "deep": (None, b'{"config": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", REFUSE, "deep"),
        "list": ([1, 2], None, REFUSE, "object"),
        "missing-headers": ({"config": cfg, "total_size": 1}, None, REFUSE, "headers"),
        "config-list": ({**ok, "config": [1]}, None, REFUSE, "config"),
        "total-size-abc": ({**ok, "total_size": "abc"}, None, REFUSE, "total_size"),
        "total-size-negative": ({**ok, "total_size": -1}, None, REFUSE, "total_size"),
        "total-size-float-nan": (
            None,
            json.dumps(ok).replace("2048", "NaN", 1).encode(),
            REFUSE,
            "NaN",
        ),
        "headers-list": ({**ok, "headers": [1]}, None, REFUSE, "headers"),
        "header-entry-string": ({**ok, "headers": {"a.safetensors": "x"}}, None, REFUSE, "headers"),
        "dtype-list": (
            {
                **ok,
                "headers": {
                    "a.safetensors": {
                        "w": {"dtype": ["BF16"], "shape": [2], "data_offsets": [0, 4]}
                    }
                },
            },
            None,
            REFUSE,
            "dtype",
        ),
        "overlap": (
            {
                **ok,
                "headers": {
                    "a.safetensors": {
                        "x.weight": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},
                        "y.weight": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]},
                    }
                },
            },
            None,
            REFUSE,
            "overlap",
        ),
        "elements-2p53-plus-1": (
            {
                **ok,
                "total_size": big,
                "headers": {
                    "a.safetensors": {
                        "model.embed_tokens.weight": {
                            "dtype": "U8",
                            "shape": [big],
                            "data_offsets": [0, big],
                        }
                    }
                },
            },
            None,
            ANSWER,
            str(big),
        ),
        "bad-config-in-cache": (
            {**ok, "config": {**cfg, "tie_word_embeddings": "false"}},
            None,
            EITHER,
            "",
        ),
        "fifo-entry": (None, None, REFUSE, "FIFO"),
        "folder-entry": (None, None, REFUSE, "folder"),
    }
    for cid, (doc, raw, expect, needle) in entries.items():

        def setup(w: Path, doc=doc, raw=raw, cid=cid) -> None:
            if cid == "fifo-entry":
                _fifo(w / "cache" / "hub" / "acme--tiny@main.json")
            elif cid == "folder-entry":
                (w / "cache" / "hub" / "acme--tiny@main.json").mkdir(parents=True)
            else:
                _cache_entry(w, doc, raw=raw)

        for argv in (
            ["inspect", "acme/tiny", "--json"],
            ["weights", "--from", "acme/tiny", "--json"],
        ):
            exp = expect
            if argv[0] == "weights" and cid == "elements-2p53-plus-1":
                exp, nd = ANSWER, ""
            else:
                nd = needle if argv[0] == "inspect" or expect == REFUSE else ""
            yield Case(
                f"hubcache-{cid}-{argv[0]}",
                "hub-cache",
                argv,
                exp,
                nd,
                setup,
                env={"VRAMKIT_CACHE": "{w}/cache"},
            )


def safetensors_cases() -> Iterator[Case]:
    """Safetensors headers and index files, broken one way each."""
    e = {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 32]}
    h = {"model.embed_tokens.weight": e}
    files: dict[str, tuple[bytes, str, str]] = {
        "valid": (safetensors_bytes(h, b"\0" * 32), ANSWER, ""),
        "short": (b"\x01\x02", REFUSE, "too short"),
        "len-zero": (struct.pack("<Q", 0), REFUSE, ""),
        "len-huge": (struct.pack("<Q", 2**64 - 1) + b"{}", REFUSE, "exceeds"),
        "len-past-end": (struct.pack("<Q", 1000) + b"{}", REFUSE, "truncated"),
        "not-json": (safetensors_bytes(None, raw_header=b"{nope"), REFUSE, "JSON"),
        "not-utf8": (safetensors_bytes(None, raw_header=b'{"\xff": 1}'), REFUSE, "UTF-8"),
        "deep": (
            safetensors_bytes(None, raw_header=b"[" * 100_000 + b"]" * 100_000),
            REFUSE,
            "deep",
        ),
        "list-header": (safetensors_bytes([1]), REFUSE, "object"),
        "dtype-list": (
            safetensors_bytes({"w": {**e, "dtype": ["BF16"]}}, b"\0" * 32),
            REFUSE,
            "dtype",
        ),
        "dtype-unknown": (
            safetensors_bytes({"w": {**e, "dtype": "Q9"}}, b"\0" * 32),
            REFUSE,
            "dtype",
        ),
        "dtype-null": (safetensors_bytes({"w": {**e, "dtype": None}}, b"\0" * 32), REFUSE, "dtype"),
        "shape-negative": (
            safetensors_bytes({"w": {**e, "shape": [-4, -4]}}, b"\0" * 32),
            REFUSE,
            "shape",
        ),
        "shape-float": (
            safetensors_bytes({"w": {**e, "shape": [4.0, 4]}}, b"\0" * 32),
            REFUSE,
            "shape",
        ),
        "shape-string": (
            safetensors_bytes({"w": {**e, "shape": "4,4"}}, b"\0" * 32),
            REFUSE,
            "shape",
        ),
        "shape-bool": (
            safetensors_bytes({"w": {**e, "shape": [True, 4]}}, b"\0" * 32),
            REFUSE,
            "shape",
        ),
        "shape-overflow": (
            safetensors_bytes({"w": {**e, "shape": [2**63] * 8}}, b"\0" * 32),
            REFUSE,
            "",
        ),
        "shape-rank-1000": (
            safetensors_bytes({"w": {**e, "shape": [1] * 1000}}, b"\0" * 32),
            REFUSE,
            "shape",
        ),
        "offsets-reversed": (
            safetensors_bytes({"w": {**e, "data_offsets": [32, 0]}}, b"\0" * 32),
            REFUSE,
            "data_offsets",
        ),
        "offsets-three": (
            safetensors_bytes({"w": {**e, "data_offsets": [0, 16, 32]}}, b"\0" * 32),
            REFUSE,
            "data_offsets",
        ),
        "offsets-past-end": (
            safetensors_bytes({"w": {**e, "data_offsets": [32, 64]}}, b"\0" * 32),
            REFUSE,
            "",
        ),
        "size-mismatch": (
            safetensors_bytes({"w": {**e, "data_offsets": [0, 30]}}, b"\0" * 32),
            REFUSE,
            "corrupt",
        ),
        "overlap": (
            safetensors_bytes(
                {
                    "a.weight": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                    "b.weight": {"dtype": "U8", "shape": [16], "data_offsets": [8, 24]},
                },
                b"\0" * 24,
            ),
            REFUSE,
            "overlap",
        ),
        "same-range-twice": (
            safetensors_bytes(
                {
                    "a.weight": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                    "b.weight": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                },
                b"\0" * 16,
            ),
            REFUSE,
            "overlap",
        ),
        "metadata-list": (
            safetensors_bytes({**h, "__metadata__": [1]}, b"\0" * 32),
            REFUSE,
            "metadata",
        ),
        "entry-missing-keys": (
            safetensors_bytes({"w": {"dtype": "BF16"}}, b"\0" * 32),
            REFUSE,
            "needs",
        ),
        "entry-not-object": (safetensors_bytes({"w": 5}, b"\0" * 32), REFUSE, "needs"),
        "int-5000-digits": (
            safetensors_bytes(
                None,
                raw_header=b'{"w": {"dtype": "U8", "shape": ['
                + b"9" * 5000
                + b'], "data_offsets": [0, 1]}}',
            ),
            REFUSE,
            "digit",
        ),
    }
    for n, (cid, (raw, expect, needle)) in enumerate(files.items()):
        cmd = (
            ["inspect", "{w}/st/model.safetensors", "--json"]
            if n % 2 == 0
            else ["inspect", "{w}/st"]
        )
        yield Case(
            f"safetensors-{cid}",
            "safetensors",
            cmd,
            expect,
            needle,
            setup=lambda w, raw=raw: write_bytes(w / "st" / "model.safetensors", raw),
        )
    shard = safetensors_bytes(h, b"\0" * 32)
    indexes: dict[str, tuple[bytes, str, str]] = {
        "valid": (
            json.dumps(
                {
                    "metadata": {"total_size": 32},
                    "weight_map": {"model.embed_tokens.weight": "a.safetensors"},
                }
            ).encode(),
            ANSWER,
            "",
        ),
        "metadata-list": (
            json.dumps({"metadata": [1], "weight_map": {"w": "a.safetensors"}}).encode(),
            REFUSE,
            "metadata",
        ),
        "total-size-abc": (
            json.dumps(
                {"metadata": {"total_size": "abc"}, "weight_map": {"w": "a.safetensors"}}
            ).encode(),
            REFUSE,
            "total_size",
        ),
        "total-size-neg": (
            json.dumps(
                {"metadata": {"total_size": -32}, "weight_map": {"w": "a.safetensors"}}
            ).encode(),
            REFUSE,
            "total_size",
        ),
        "total-size-bool": (
            json.dumps(
                {"metadata": {"total_size": True}, "weight_map": {"w": "a.safetensors"}}
            ).encode(),
            REFUSE,
            "total_size",
        ),
        "weight-map-list": (
            json.dumps({"weight_map": ["a.safetensors"]}).encode(),
            REFUSE,
            "weight_map",
        ),
        "weight-map-missing": (json.dumps({"metadata": {}}).encode(), REFUSE, "weight_map"),
        "shard-traversal": (
            json.dumps({"weight_map": {"w": "../../etc/passwd"}}).encode(),
            REFUSE,
            "weight_map",
        ),
        "shard-absolute": (
            json.dumps({"weight_map": {"w": "/etc/passwd"}}).encode(),
            REFUSE,
            "weight_map",
        ),
        "shard-missing": (
            json.dumps({"weight_map": {"w": "b.safetensors"}}).encode(),
            REFUSE,
            "not there",
        ),
        "shard-int": (json.dumps({"weight_map": {"w": 5}}).encode(), REFUSE, "weight_map"),
        "utf16": (
            json.dumps({"weight_map": {"w": "a.safetensors"}}).encode("utf-16"),
            REFUSE,
            "UTF-16",
        ),
        "latin1": (
            '{"weight_map": {"w\u00e9": "a.safetensors"}}'.encode("latin-1"),
            REFUSE,
            "UTF-8",
        ),
        "deep": (
            b'{"weight_map": {}, "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            REFUSE,
            "deep",
        ),
        "not-json": (b"{", REFUSE, "JSON"),
        "list": (b"[]", REFUSE, "object"),
    }
    for n, (cid, (raw, expect, needle)) in enumerate(indexes.items()):

        def setup(w: Path, raw=raw) -> None:
            write_bytes(w / "idx" / "model.safetensors.index.json", raw)
            write_bytes(w / "idx" / "a.safetensors", shard)

        cmd = ["inspect", "{w}/idx", "--json"] if n % 2 == 0 else ["inspect", "{w}/idx"]
        yield Case(f"index-{cid}", "index", cmd, expect, needle, setup)


def gguf_cases() -> Iterator[Case]:
    """GGUF files with odd metadata or corrupt bytes."""

    def make(**kw):
        return lambda w: gguf_file(w / "g" / "m.gguf", **kw)

    def corrupt(cut: int | None = None, patch: tuple[int, bytes] | None = None):
        def setup(w: Path) -> None:
            gguf_file(w / "g" / "m.gguf")
            raw = bytearray((w / "g" / "m.gguf").read_bytes())
            if cut is not None:
                raw = raw[:cut]
            if patch is not None:
                raw[patch[0] : patch[0] + len(patch[1])] = patch[1]
            (w / "g" / "m.gguf").write_bytes(bytes(raw))

        return setup

    cases = {
        "valid": (make(), ANSWER, ""),
        "block-count-string": (make(block_count="32"), REFUSE, "block_count"),
        "block-count-missing": (make(block_count=None), EITHER, ""),
        "block-count-zero": (make(block_count=0), EITHER, ""),
        "block-count-huge": (make(block_count=2**31), EITHER, ""),
        "nextn-over-blocks": (make(extra={"llama.nextn_predict_layers": 5}), REFUSE, "nextn"),
        "head-count-string": (
            make(extra={"llama.attention.head_count": "4"}),
            REFUSE,
            "head_count",
        ),
        "arch-unknown": (make(arch="zzz"), EITHER, ""),
        "truncated-8": (corrupt(cut=8), REFUSE, ""),
        "truncated-40": (corrupt(cut=40), REFUSE, ""),
        "truncated-half": (corrupt(cut=300), REFUSE, ""),
        "tensor-count-huge": (corrupt(patch=(8, struct.pack("<Q", 2**62))), REFUSE, ""),
        "kv-count-huge": (corrupt(patch=(16, struct.pack("<Q", 2**62))), REFUSE, ""),
        "version-99": (corrupt(patch=(4, struct.pack("<I", 99))), REFUSE, ""),
        "bad-magic": (corrupt(patch=(0, b"GGUX")), REFUSE, ""),
        # split files: a first part whose name cannot lead to its other parts, a later part,
        # an absurd part count (llama.cpp's split.count is a uint16)
        "split-unnamed-first": (make(extra={"split.count": 2, "split.no": 0}), REFUSE, "named"),
        "split-later-part": (make(extra={"split.count": 3, "split.no": 1}), REFUSE, "first part"),
        "split-count-huge": (make(extra={"split.count": 2**20, "split.no": 0}), REFUSE, "split"),
        "split-no-past-count": (make(extra={"split.count": 2, "split.no": 7}), REFUSE, "split.no"),
        # the converter's keys with values it never writes
        "mla-half-pair": (
            make(arch="deepseek2", extra={"deepseek2.attention.key_length_mla": 192}),
            REFUSE,
            "key_length_mla",
        ),
        "swa-pattern-string": (
            make(arch="gemma3", extra={"gemma3.attention.sliding_window_pattern": "6"}),
            REFUSE,
            "sliding_window_pattern",
        ),
    }
    for cid, (setup, expect, needle) in cases.items():
        for argv in (
            ["inspect", "{w}/g/m.gguf", "--json"],
            ["kv", "--from", "{w}/g/m.gguf", "--context", "1K"],
        ):
            exp = expect
            if argv[0] == "kv" and expect == ANSWER:
                exp = EITHER
            yield Case(
                f"gguf-{cid}-{argv[0]}",
                "gguf",
                argv,
                exp,
                needle if argv[0] == "inspect" else "",
                setup,
            )


def _mutate(raw: bytes, rng) -> bytes:
    """1-6 random byte edits: overwrite, truncate, overwrite 4 bytes, insert up to 16."""
    out = bytearray(raw)
    for _ in range(rng.randint(1, 6)):
        if len(out) < 2:
            break
        op, pos = rng.random(), rng.randrange(len(out))
        if op < 0.5:
            out[pos] = rng.randrange(256)
        elif op < 0.7:
            out = out[:pos]
        elif op < 0.85:
            out[pos : pos + 4] = rng.randbytes(4)
        else:
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
    return bytes(out)


@functools.cache
def _valid_gguf_bytes() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        gguf_file(Path(tmp) / "m.gguf")
        return (Path(tmp) / "m.gguf").read_bytes()


def byte_fuzz_cases(n: int = 120) -> Iterator[Case]:
    """Seeded random corruptions of a valid GGUF and a valid safetensors file: each is refused
    or answered with sane figures (EITHER), never a traceback or a hang."""
    import random

    rng = random.Random(20261201)
    header = {
        "model.embed_tokens.weight": {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 32]},
        "lm_head.weight": {"dtype": "F32", "shape": [4], "data_offsets": [32, 48]},
    }
    st_raw = safetensors_bytes(header, b"\0" * 48)
    for i in range(n):
        kind = "gguf" if i % 2 else "safetensors"
        seed = rng.randrange(2**32)

        def setup(w: Path, kind=kind, seed=seed) -> None:
            import random as _random

            local = _random.Random(seed)
            if kind == "gguf":
                write_bytes(w / "b" / "m.gguf", _mutate(_valid_gguf_bytes(), local))
            else:
                write_bytes(w / "b" / "model.safetensors", _mutate(st_raw, local))

        name = "m.gguf" if kind == "gguf" else "model.safetensors"
        yield Case(
            f"bytes-{kind}-{i}",
            "bytes",
            ["inspect", f"{{w}}/b/{name}", "--json"],
            EITHER,
            "",
            setup,
        )


def flag_cases() -> Iterator[Case]:
    """Every numeric and id flag of every command given junk."""
    m = ["--model", "deepseek-v4-flash"]
    junk_ints = [
        "0",
        "-1",
        "abc",
        "",
        " ",
        "1e3",
        "1.5",
        "99999999999999999999999",
        "nan",
        "0x10",
        "٣",
    ]
    junk_ctx = [
        "0",
        "-5",
        "abc",
        "",
        "1e400",
        "nan",
        "inf",
        "1K1",
        "1.5",
        "99999999M",
        "１２",
        "1MM",
        "K",
    ]
    specs: list[tuple[str, list[str], str, list[str]]] = [
        ("kv-context", ["kv", *m, "--context"], "context", junk_ctx),
        ("kv-batch", ["kv", *m, "--context", "1K", "--batch"], "batch", junk_ints),
        ("kv-tp", ["kv", *m, "--context", "1K", "--tp"], "tp", [*junk_ints, "1000000"]),
        ("kv-dp", ["kv", *m, "--context", "1K", "--dp"], "dp", junk_ints),
        (
            "kv-cache-dtype",
            ["kv", *m, "--context", "1K", "--cache-dtype"],
            "",
            ["fp7", "", "bf16x", "../x", "q8_0\n"],
        ),
        (
            "kv-runtime",
            ["kv", *m, "--context", "1K", "--runtime"],
            "",
            ["vllm2", "", "llama.cpp2", "REFERENCE!"],
        ),
        (
            "kv-indexer",
            ["kv", "--model", "llama-3.1-70b", "--context", "1K", "--indexer-dtype"],
            "",
            ["fp8", "fp3"],
        ),
        (
            "weights-recipe",
            ["weights", *m, "--recipe"],
            "",
            ["gguf-Q9_K", "", "uniform:", "uniform:Q9", "x" * 5000],
        ),
        (
            "weights-recipe-map",
            ["weights", *m, "--recipe-map"],
            "",
            [
                "routed_expert=Q4_K",
                "attention.qq=Q4_K,*=BF16",
                "mtp.attention.nope=Q8_0",
                "indexer.wq_bb=BF16",
                "=Q4_K",
                "routed_experts=",
                ",,,",
                "routed_experts=Q4_K=Q8_0",
                "a" * 5000 + "=Q4_K",
            ],
        ),
        ("moe-batch", ["moe", *m, "--batch"], "batch", junk_ints),
        (
            "moe-zipf",
            ["moe", *m, "--zipf"],
            "zipf",
            ["nan", "inf", "-1", "5", "abc", "1e400", "-inf"],
        ),
        ("moe-recipe", ["moe", *m, "--recipe"], "", ["nope", ""]),
        ("fit-gpu", ["fit", *m, "--gpu"], "", ["h900", "", "x" * 3000]),
        # past the model's context limit: refused the same way by kv, plan and fit
        ("kv-past-limit", ["kv", *m, "--context"], "limit of", ["2M", "1048577"]),
        ("plan-past-limit", ["plan", *m, "--ram", "64GB", "--context"], "limit of", ["2M"]),
        ("fit-past-limit", ["fit", *m, "--gpu", "h200", "--context"], "limit of", ["2M"]),
        # typed GPU names (vramkit.hardware.resolve_gpu): ambiguous, no GPU, a count out of range
        (
            "fit-gpu-typed",
            ["fit", *m, "--gpu"],
            "GPU",
            ["a100", "gh200", "rtx", "0x4090", "65x h100"],
        ),
        ("fit-gpu-counts", ["fit", *m, "--count", "3", "--gpu"], "--count", ["2x4090"]),
        (
            "plan-gpu-typed",
            ["plan", *m, "--ram", "64GB", "--gpu"],
            "GPU",
            ["a100", "2x4090:2", "0x4090", "9" * 40 + "x4090", "24GB", "rtx 4080"],
        ),
        ("fit-count", ["fit", *m, "--gpu", "h200-sxm-141gb", "--count"], "count", junk_ints),
        ("fit-context", ["fit", *m, "--gpu", "h200-sxm-141gb", "--context"], "context", junk_ctx),
        ("fit-batch", ["fit", *m, "--gpu", "h200-sxm-141gb", "--batch"], "batch", junk_ints),
        ("fit-runtime", ["fit", *m, "--gpu", "h200-sxm-141gb", "--runtime"], "", ["vllm2", ""]),
        # runtimes resolve in the registry only (issue 22): one the planner does not place, a
        # spelling the registry refuses, and --ram for a runtime that does not offload tensors
        (
            "plan-runtime",
            ["plan", *m, "--gpu", "h200-sxm-141gb", "--runtime"],
            "planner runtime",
            ["trtllm", "reference", "llama_cpp", "ik-llama-cpp", "vllm2"],
        ),
        (
            "fit-ram-runtime",
            ["fit", *m, "--gpu", "h200-sxm-141gb", "--ram", "64GB", "--runtime"],
            "--ram is the host RAM",
            ["vllm", "sglang", "trtllm", "reference", "ollama"],
        ),
        ("fit-parallel", ["fit", *m, "--gpu", "h200-sxm-141gb", "--parallel"], "", ["xp", ""]),
        ("article-min", ["article", "--min-context"], "", ["0", "-1", "abc", "nan", "1e400"]),
        ("article-safer", ["article", "--safer-context"], "", ["0", "-1", "abc"]),
        (
            "model-id",
            ["weights", "--model"],
            "",
            [
                "deepseek-v9",
                "",
                " ",
                "x" * 5000,
                "../../etc/passwd",
                "deepseek-v4-flash\x01",
                "\x00",
                "None",
                "0",
            ],
        ),
    ]
    for sid, argv, needle, values in specs:
        for i, v in enumerate(values):
            yield Case(f"flag-{sid}-{i}", "cli", [*argv, v], REFUSE, needle)
    structural = {
        "no-command": [],
        "unknown-command": ["nope"],
        "missing-model": ["weights"],
        "two-sources": ["weights", "--model", "deepseek-v4-flash", "--config", "x"],
        "kv-no-context": ["kv", "--model", "deepseek-v4-flash"],
        "kv-mtp-both": [
            "kv",
            "--model",
            "deepseek-v4-flash",
            "--context",
            "1K",
            "--mtp",
            "--no-mtp",
        ],
        "unknown-flag": ["models", "--nope"],
        "flag-no-value": ["kv", "--model", "deepseek-v4-flash", "--context"],
        "double-dash-only": ["--"],
        "kv-context-zero": ["kv", "--model", "deepseek-v4-flash", "--context", "0"],
        "kv-context-over-cap": ["kv", "--model", "llama-3.1-70b", "--context", "100M"],
        "kv-tp-not-dividing": ["kv", "--model", "llama-3.1-70b", "--context", "1K", "--tp", "3"],
    }
    for sid, argv in structural.items():
        yield Case(f"cli-{sid}", "cli", argv, REFUSE, "")
    answers = {
        "models": ["models", "--json"],
        "formats": ["formats", "--json"],
        "kv-1m": ["kv", "--model", "deepseek-v4-pro", "--context", "1M", "--json"],
        "kv-batch-max": [
            "kv",
            "--model",
            "deepseek-v4-pro",
            "--context",
            "1M",
            "--batch",
            "1000000",
            "--json",
        ],
        "kv-1": ["kv", "--model", "llama-3.1-70b", "--context", "1", "--json"],
        "weights": ["weights", "--model", "deepseek-v4-flash", "--json"],
        "weights-map": [
            "weights",
            "--model",
            "deepseek-v4-flash",
            "--recipe-map",
            "indexer.wq_b=BF16,*=Q8_0",
            "--json",
        ],
        "moe-zipf4": [
            "moe",
            "--model",
            "deepseek-v4-pro",
            "--zipf",
            "4",
            "--batch",
            "1000000",
            "--json",
        ],
        "fit": ["fit", "--model", "deepseek-v4-flash", "--gpu", "h200-sxm-141gb", "--json"],
        "example-config": ["inspect", str(EXAMPLES / "gpt-oss-120b" / "config.json"), "--json"],
    }
    for sid, argv in answers.items():
        yield Case(f"answer-{sid}", "cli", argv, ANSWER, "")


def report_cases() -> Iterator[Case]:
    """Report options that must be refused before any notebook runs or any file is written."""
    nbs = str(ROOT / "notebooks")
    cases = {
        "out-empty": (["report", "--out", ""], "empty"),
        "out-notebooks": (["report", "--out", nbs], "notebook folder"),
        "out-notebooks-force": (["report", "--out", nbs, "--force"], "notebook folder"),
        "out-inside-notebooks": (["report", "--out", nbs + "/sub"], "notebook folder"),
        "out-project-root": (["report", "--out", str(ROOT), "--force"], "notebook folder"),
        "out-notebooks-other-nb": (
            ["report", "--out", nbs, "--notebooks", "{w}/nbs", "--force"],
            "notebook folder",
        ),
        "out-given-notebooks": (
            ["report", "--out", "{w}/nbs", "--notebooks", "{w}/nbs", "--force"],
            "notebook folder",
        ),
        "out-around-given": (
            ["report", "--out", "{w}", "--notebooks", "{w}/nbs", "--force"],
            "notebook folder",
        ),
        "out-symlink-to-notebooks": (["report", "--out", "{w}/link"], "notebook folder"),
        "out-dotdot-notebooks": (["report", "--out", nbs + "/../notebooks/x"], "notebook folder"),
        "out-under-file": (["report", "--out", "{w}/afile/x", "--notebooks", "{w}/nbs"], ""),
        "out-is-file": (["report", "--out", "{w}/afile", "--notebooks", "{w}/nbs"], "not a folder"),
        "out-non-empty": (["report", "--out", "{w}/full", "--notebooks", "{w}/nbs"], "not empty"),
        "out-locked": (
            ["report", "--out", "{w}/locked", "--notebooks", "{w}/nbs", "--force"],
            "another report",
        ),
        "out-long-name": (["report", "--out", "{w}/" + "n" * 300, "--notebooks", "{w}/nbs"], ""),
        "out-nul": (["report", "--out", "{w}/a\x00b", "--notebooks", "{w}/nbs"], ""),
        "notebooks-missing": (
            ["report", "--out", "{w}/o", "--notebooks", "{w}/none"],
            "does not exist",
        ),
        "notebooks-dev-null": (["report", "--out", "{w}/o", "--notebooks", "/dev/null"], ""),
        "notebooks-empty": (
            ["report", "--out", "{w}/o", "--notebooks", "{w}/emptynbs"],
            "no NN_name",
        ),
        "notebook-broken-json": (
            ["report", "--out", "{w}/o", "--notebooks", "{w}/badnbs"],
            "cannot read notebook",
        ),
        "only-unknown": (["report", "--out", "{w}/o", "--only", "99_nope"], "99_nope"),
        "param-unknown": (["report", "--out", "{w}/o", "-p", "modle", "x"], "modle"),
        "param-batch-zero": (["report", "--out", "{w}/o", "-p", "batch", "0"], "batch"),
        "param-batch-text": (["report", "--out", "{w}/o", "-p", "batch", "many"], "batch"),
        "param-model-id": (["report", "--out", "{w}/o", "-p", "model_id", "gpt-5"], "gpt-5"),
        "param-model-id-not-v4": (
            ["report", "--out", "{w}/o", "-p", "model_id", "llama-3.1-70b"],
            "DeepSeek V4",
        ),
        "param-models": (["report", "--out", "{w}/o", "-p", "models", "deepseek-v3,nope"], "nope"),
        "param-zipf-nan": (["report", "--out", "{w}/o", "-p", "zipf_s", "nan"], "zipf_s"),
        "param-zipf-big": (["report", "--out", "{w}/o", "-p", "zipf_s", "9"], "zipf_s"),
        "param-cached-neg": (
            ["report", "--out", "{w}/o", "-p", "cached_experts", "-1"],
            "cached_experts",
        ),
        "param-context-zero": (["report", "--out", "{w}/o", "-p", "context", "0"], "context"),
        "param-gpu": (["report", "--out", "{w}/o", "-p", "gpu", "h900"], "h900"),
        "param-injection": (["report", "--out", "{w}/o", "-p", "batch", "1; import os"], "batch"),
        "param-huge-value": (
            ["report", "--out", "{w}/o", "-p", "model", "x" * 10_000],
            "characters",
        ),
        "param-bad-name": (["report", "--out", "{w}/o", "-p", "a-b", "1"], "identifier"),
        "cell-timeout-zero": (["report", "--out", "{w}/o", "--cell-timeout", "0"], "cell_timeout"),
        "cell-timeout-text": (["report", "--out", "{w}/o", "--cell-timeout", "x"], "cell-timeout"),
        "stall-timeout-zero": (
            ["report", "--out", "{w}/o", "--stall-timeout", "0"],
            "stall_after_s",
        ),
        "stall-timeout-huge": (
            ["report", "--out", "{w}/o", "--stall-timeout", "86401"],
            "stall_after_s",
        ),
        "stall-timeout-text": (
            ["report", "--out", "{w}/o", "--stall-timeout", "1m"],
            "stall-timeout",
        ),
    }

    def setup(w: Path) -> None:
        import nbformat
        from nbformat.v4 import new_code_cell, new_notebook

        (w / "nbs").mkdir()
        nb = new_notebook(cells=[new_code_cell("print(1)")])
        nbformat.write(nb, w / "nbs" / "01_one.ipynb")
        (w / "emptynbs").mkdir()
        (w / "badnbs").mkdir()
        (w / "badnbs" / "01_bad.ipynb").write_text("{not a notebook")
        (w / "afile").write_text("x")
        (w / "full").mkdir()
        (w / "full" / "keep.txt").write_text("mine")
        (w / "locked").mkdir()
        (w / "locked" / ".vramkit-report.lock").write_text("")
        os.symlink(ROOT / "notebooks", w / "link")

    for cid, (argv, needle) in cases.items():
        yield Case(f"report-{cid}", "report", [*argv, "--no-progress"], REFUSE, needle, setup)


# ── Python API ───────────────────────────────────────────────────────────────────────────────
def api_cases() -> Iterator[Case]:
    """Python API calls with ids, None, numbers or junk where a spec, path or flag belongs."""
    import vramkit as vk

    def c(cid: str, fn: Callable[[Path], Any], expect: str = REFUSE, needle: str = "") -> Case:
        return Case(f"api-{cid}", "api", [], expect, needle, call=fn)

    bad_models: list[Any] = [None, 5, 1.5, [], {}, b"deepseek-v4-flash", "nope", "", True]
    for i, bad in enumerate(bad_models):
        yield c(f"get_model-{i}", lambda w, b=bad: vk.get_model(b))
        yield c(f"weight_bytes-{i}", lambda w, b=bad: vk.weight_bytes(b))
        yield c(f"kv_cache-model-{i}", lambda w, b=bad: vk.kv_cache(b, 1024))
        yield c(f"moe_split-{i}", lambda w, b=bad: vk.moe_split(b))
    m = "deepseek-v4-flash"
    bad_ctx: list[Any] = [None, -1, "x", 1e400, float("nan"), True, [1], 2**70, "1e400", 1.5]
    for i, bad in enumerate(bad_ctx):
        yield c(f"kv_cache-context-{i}", lambda w, b=bad: vk.kv_cache(m, b))
    for i, bad in enumerate([0, -1, None, 1.5, "two", True, 10**7]):
        yield c(f"kv_cache-batch-{i}", lambda w, b=bad: vk.kv_cache(m, 1024, batch=b))
    for i, bad in enumerate(["no", "yes", 1, 0, "false", [True]]):
        yield c(
            f"kv_cache-include_mtp-{i}",
            lambda w, b=bad: vk.kv_cache(m, 1024, include_mtp=b),
            REFUSE,
            "include_mtp",
        )
    for i, bad in enumerate(["false", 1, None, [True]]):  # issue 24: "false" loaded the draft
        yield c(
            f"budget-sglang-include_mtp-{i}",
            lambda w, b=bad: vk.budget(m, "h200", count=8, runtime="sglang", include_mtp=b),
            REFUSE,
            "include_mtp",
        )
    for i, bad in enumerate([None, 5, "fp7", ["bf16"]]):
        yield c(f"kv_cache-dtype-{i}", lambda w, b=bad: vk.kv_cache(m, 1024, cache_dtype=b))
    yield c("kv_grid-huge", lambda w: vk.kv_grid(m, range(1, 1_000_001), [1, 2]), REFUSE, "100,000")
    yield c("kv_grid-cells", lambda w: vk.kv_grid(m, range(1, 50_001), [1, 2, 3]), REFUSE, "cells")
    yield c("kv_grid-huge-lazy", lambda w: vk.kv_grid(m, iter(range(1, 10**12)), [1]), REFUSE, "")
    yield c("kv_grid-string", lambda w: vk.kv_grid(m, "1024", [1]), REFUSE, "")
    yield c("kv_grid-empty", lambda w: vk.kv_grid(m, [], [1]), REFUSE, "")
    yield c("kv_grid-ok", lambda w: vk.kv_grid(m, [0, 1024, 2**20], [1, 8]), ANSWER)
    yield c("kv_cache-zero-ok", lambda w: vk.kv_cache(m, 0), ANSWER)

    from vramkit import moe

    for i, (e, k, s) in enumerate(
        [
            (10**12, 8, 0.0),
            (10**12, 8, 1.0),
            (0, 1, 0.0),
            (8, 9, 0.0),
            (8, 2, float("nan")),
            (8, 2, -1.0),
            (8, 2, 5.0),
        ]
    ):
        yield c(f"routing-{i}", lambda w, e=e, k=k, s=s: moe.routing_probabilities(e, k, zipf_s=s))
    yield c(
        "touched-20k-zipf",
        lambda w: moe.expected_experts_touched(20_000, 8, 10**6, zipf_s=1.2),
        ANSWER,
    )
    yield c(
        "touched-64k-zipf",
        lambda w: moe.expected_experts_touched(65_536, 64, 10**9, zipf_s=4.0),
        ANSWER,
    )
    yield c(
        "touched-uniform-max", lambda w: moe.expected_experts_touched(65_536, 8, 10**12), ANSWER
    )
    yield c("touched-tokens-neg", lambda w: moe.expected_experts_touched(8, 2, -1))
    yield c("touched-cached-over", lambda w: moe.expected_experts_touched(8, 2, 1, cached=9))

    from vramkit.ingest import ingest
    from vramkit.model.configfile import model_from_config, model_from_config_file

    for i, bad in enumerate(
        [None, 5, b"/dev/zero", "", "/dev/zero", "/dev/null", [], Path("/dev/zero")]
    ):
        yield c(f"ingest-{i}", lambda w, b=bad: ingest(b))
        yield c(f"model_from_config_file-{i}", lambda w, b=bad: model_from_config_file(b))
    for i, bad in enumerate(
        [None, [], "config", 5, {"model_type": None}, {1: 2}, {"model_type": "llama"}]
    ):
        yield c(f"model_from_config-{i}", lambda w, b=bad: model_from_config(b))
    yield c(
        "ingest-online-string",
        lambda w: ingest(str(EXAMPLES / "glm-4.7"), online="no"),
        REFUSE,
        "online",
    )
    from vramkit.budget import budget

    for i, bad in enumerate([None, 0, -1, "x", 1.5, True]):
        yield c(f"budget-count-{i}", lambda w, b=bad: budget(m, "h200-sxm-141gb", count=b))
    for i, bad in enumerate([None, 5, "h900"]):
        yield c(f"budget-gpu-{i}", lambda w, b=bad: budget(m, b))
    from vramkit.budget import best_recipe, max_context, min_gpus

    gpu = "h200-sxm-141gb"
    for i, kw in enumerate(
        [{"context": 0}, {"batch": -1}, {"count": 10**9}, {"recipe": 5}, {"os_share": float("nan")}]
    ):
        yield c(
            f"min_gpus-{i}",
            lambda w, kw=kw: (
                min_gpus(m, gpu, **{k: v for k, v in kw.items() if k != "count"})
                if "count" not in kw
                else budget(m, gpu, **kw)
            ),
        )
        yield c(
            f"max_context-{i}",
            lambda w, kw=kw: (
                max_context(m, gpu, **{k: v for k, v in kw.items() if k != "context"})
                if "context" not in kw
                else budget(m, gpu, **kw)
            ),
        )
    yield c("best_recipe-recipes-junk", lambda w: best_recipe(m, gpu, recipes=["nope"]))
    yield c("best_recipe-recipes-str", lambda w: best_recipe(m, gpu, recipes=5))
    for i, bad in enumerate([None, 5, [], {}, "Q9_K", "INT4_G7"]):
        yield c(f"get_format-{i}", lambda w, b=bad: vk.get_format(b))
        yield c(f"get_recipe-{i}", lambda w, b=bad: vk.get_recipe(b))
    from vramkit.report import coerce_parameter, run_report

    for i, (v, t) in enumerate(
        [
            ("nan", "float"),
            ("inf", None),
            ("[" * 10_000, "list"),
            ("x", "int"),
            ("maybe", "bool"),
            ("[" * 10 + "]" * 10, "list"),
        ]
    ):
        yield c(f"coerce-{i}", lambda w, v=v, t=t: coerce_parameter("p", v, t))
    for i, kw in enumerate(
        [
            {"out_dir": ""},
            {"out_dir": ROOT / "notebooks"},
            {"out_dir": "{w}/o", "force": "yes"},
            {"out_dir": "{w}/o", "parameters": [("batch", "1")]},
            {"out_dir": "{w}/o", "parameters": {"batch": 1}},
            {"out_dir": "{w}/o", "only": "01"},
            {"out_dir": "{w}/o", "cell_timeout_s": 0},
            {"out_dir": "{w}/o", "stall_after_s": 0},
            {"out_dir": "{w}/o", "stall_after_s": "60"},
            {"out_dir": "{w}/o", "stall_after_s": 2.5},
            {"out_dir": 5},
        ]
    ):

        def call(w: Path, kw=kw) -> Any:
            kw = {k: (v.replace("{w}", str(w)) if isinstance(v, str) else v) for k, v in kw.items()}
            return run_report(progress=False, **kw)

        yield c(f"run_report-{i}", call)

    from vramkit.plan import speed_estimate as se

    bad_est: list[tuple[Any, Any, Any]] = [
        (float("nan"), "gpu", False),
        (-1.0, "gpu", False),
        (float("inf"), "gpu", False),
        ("10", "gpu", False),
        (None, "gpu", False),
        (True, "gpu", False),
        (10.0, "disk", False),
        (10.0, ["gpu"], False),
        (10.0, "gpu", "yes"),
    ]
    for i, (bound, limit, shape) in enumerate(bad_est):
        yield c(
            f"decode_estimate-{i}",
            lambda w, b=bound, lim=limit, m=shape: se.decode_estimate(b, lim, moe=m),
        )
    yield c(
        "decode_estimate-ok",
        lambda w: se.decode_estimate(50.0, "gpu", moe=True, layers=24),
        ANSWER,
    )
    for i, layers in enumerate([0, -1, 2.5, True, "32"]):
        yield c(
            f"decode_estimate-layers-{i}",
            lambda w, n=layers: se.decode_estimate(50.0, "gpu", moe=True, layers=n),
        )
    yield c("decode_estimate-no-layers", lambda w: se.decode_estimate(50.0, "gpu", moe=True))
    for i, batch in enumerate([0, -3, 2.5, True, "4", None, float("nan")]):
        yield c(
            f"decode_estimate-batch-{i}",
            lambda w, b=batch: se.decode_estimate(50.0, "gpu", moe=True, batch=b),
        )

    def speed_file(w: Path, text: str) -> None:
        (w / "speed.yaml").write_text(text, encoding="utf-8")

    for i, text in enumerate(
        [
            "schema_version: 1\nmodels: {}\nrows: [1]\n",
            "schema_version: 1\nmodels: {m: {total_params_b: 1, active_params_b: 2}}\nrows: []\n",
            "schema_version: 2\nmodels: {}\nrows: []\n",
            "[not, a, mapping]\n",
            "schema_version: 1\nmodels: []\nrows: {}\n",
            "schema_version: 1\nmodels: {m: 5}\nrows: []\n",
            # layers without a source, a fractional or a negative layer count
            "schema_version: 1\nmodels: {m: {total_params_b: 1, active_params_b: 1, "
            "source: {url: 'https://example.org/x', quote: 'q 1'}, layers: 32}}\nrows: []\n",
            "schema_version: 1\nmodels: {m: {total_params_b: 1, active_params_b: 1, "
            "source: {url: 'https://example.org/x', quote: 'q 1'}, layers: 2.5, layers_source: {url: 'https://example.org/x', quote: 'q 1'}}}\nrows: []\n",
            "schema_version: 1\nmodels: {m: {total_params_b: 1, active_params_b: 1, "
            "source: {url: 'https://example.org/x', quote: 'q 1'}, layers: -3, layers_source: {url: 'https://example.org/x', quote: 'q 1'}}}\nrows: []\n",
        ]
    ):
        yield Case(
            f"api-speed_data-{i}",
            "api",
            [],
            REFUSE,
            "",
            setup=lambda w, t=text: speed_file(w, t),
            call=lambda w: se.load_speed_data(w / "speed.yaml"),
        )
    yield c("speed_data-missing", lambda w: se.load_speed_data(w / "nope.yaml"), REFUSE, "exist")

    fit_head = (
        "schema_version: 1\nefficiency: {gpu-dense: 0.8}\nfallback: 0.6\n"
        "spread: {p10: 0.5, p90: 1.1}\ntrain_ids: []\nheld_out_ids: []\n"
    )
    for i, tail in enumerate(
        [
            "overhead_us_per_layer: {gpu-dense: -2}\n",
            "overhead_us_per_layer: {gpu-dense: .nan}\n",
            "overhead_us_per_layer: {gpu-dense: .inf}\n",
            "overhead_us_per_layer: {gpu-dense: fast}\n",
            "overhead_us_per_layer: {moon: 1}\n",
            "overhead_us_per_layer: [1, 2]\n",
            "overhead_us_per_layer: {gpu-dense: true}\n",
        ]
    ):
        yield Case(
            f"api-speed_efficiency-{i}",
            "api",
            [],
            REFUSE,
            "overhead_us_per_layer",
            setup=lambda w, t=tail: (w / "eff.yaml").write_text(fit_head + t, encoding="utf-8"),
            call=lambda w: se.load_efficiency(w / "eff.yaml"),
        )
    for i, tail in enumerate(
        [
            "device_factor: {a100-sxm4-80gb: -0.5}\n",
            "device_factor: {a100-sxm4-80gb: 0}\n",
            "device_factor: {a100-sxm4-80gb: .nan}\n",
            "device_factor: {a100-sxm4-80gb: slow}\n",
            "device_factor: {a100-sxm4-80gb: true}\n",
            "device_factor: {no-such-gpu: 0.5}\n",
            "device_factor: [0.5]\n",
        ]
    ):
        yield Case(
            f"api-speed_efficiency-device-{i}",
            "api",
            [],
            REFUSE,
            "",
            setup=lambda w, t=tail: (w / "eff.yaml").write_text(fit_head + t, encoding="utf-8"),
            call=lambda w: se.load_efficiency(w / "eff.yaml"),
        )
    for i, tail in enumerate(
        [
            "overhead_per_gpu_us_per_layer: {gpu-dense: -1}\n",
            "overhead_per_gpu_us_per_layer: {gpu-dense: .nan}\n",
            "overhead_per_gpu_us_per_layer: {moon: 1}\n",
            "overhead_per_gpu_us_per_layer: [1]\n",
        ]
    ):
        yield Case(
            f"api-speed_efficiency-per-gpu-{i}",
            "api",
            [],
            REFUSE,
            "overhead_per_gpu",
            setup=lambda w, t=tail: (w / "eff.yaml").write_text(fit_head + t, encoding="utf-8"),
            call=lambda w: se.load_efficiency(w / "eff.yaml"),
        )
    for i, gpus in enumerate([0, -2, 2.5, True, "4", None]):
        yield c(
            f"decode_estimate-gpus-{i}",
            lambda w, g=gpus: se.decode_estimate(50.0, "row", moe=False, gpus=g),
        )
    yield c(
        "decode_estimate-row-ok",
        lambda w: se.decode_estimate(50.0, "row", moe=False, gpus=4, layers=32),
        ANSWER,
    )
    for i, gpu in enumerate(["no-such-gpu", "", 5, ["a100-sxm4-80gb"]]):
        yield c(
            f"decode_estimate-gpu-{i}",
            lambda w, g=gpu: se.decode_estimate(50.0, "gpu", moe=True, gpu=g, layers=24),
        )
    yield c(
        "decode_estimate-gpu-ok",
        lambda w: se.decode_estimate(50.0, "gpu", moe=False, gpu="a100-sxm4-80gb", layers=32),
        ANSWER,
    )


def resource_cases() -> Iterator[Case]:
    """Inputs meant to take time or memory: each is answered quickly or refused by a bound."""
    moe20k = _llama(num_experts=20_000)
    moe64k = _llama(num_experts=65_536, num_hidden_layers=94)
    cases = {
        "moe-20k-experts-zipf": (
            moe20k,
            [
                "moe",
                "--config",
                "{w}/cfg/config.json",
                "--zipf",
                "1.2",
                "--batch",
                "1000000",
                "--json",
            ],
            ANSWER,
            "",
        ),
        "moe-64k-experts-zipf": (
            moe64k,
            [
                "moe",
                "--config",
                "{w}/cfg/config.json",
                "--zipf",
                "4",
                "--batch",
                "1000000",
                "--json",
            ],
            ANSWER,
            "",
        ),
        "moe-1e12-experts": (
            _llama(num_experts=10**12),
            ["moe", "--config", "{w}/cfg/config.json"],
            REFUSE,
            "num_experts",
        ),
        "layers-10000": (
            _llama(num_hidden_layers=10_000),
            ["kv", "--config", "{w}/cfg/config.json", "--context", "32K", "--json"],
            ANSWER,
            "",
        ),
        "layers-10001": (
            _llama(num_hidden_layers=10_001),
            ["weights", "--config", "{w}/cfg/config.json"],
            REFUSE,
            "num_hidden_layers",
        ),
        "vocab-huge": (
            _llama(vocab_size=1 << 24),
            ["weights", "--config", "{w}/cfg/config.json", "--json"],
            ANSWER,
            "",
        ),
        "vocab-over": (
            _llama(vocab_size=(1 << 24) + 1),
            ["weights", "--config", "{w}/cfg/config.json"],
            REFUSE,
            "vocab_size",
        ),
        "layer-types-1e6": (
            {**_llama(), "layer_types": ["full_attention"] * 1_000_001},
            ["kv", "--config", "{w}/cfg/config.json", "--context", "1K"],
            REFUSE,
            "layer_types",
        ),
    }
    for cid, (cfg, argv, expect, needle) in cases.items():
        yield Case(
            f"resource-{cid}",
            "resources",
            argv,
            expect,
            needle,
            setup=lambda w, cfg=cfg: write_json(w / "cfg" / "config.json", cfg),
        )


def ik_cases() -> Iterator[Case]:
    """ik_llama.cpp's inputs (issue 24 item 1): -mla, -fa, -amb, -no-fmoe, its cache types
    q8_KV / q6_0, on the CLI and through the API; each bad one ends in one vramkit error."""
    import vramkit as vk
    from vramkit.runtimes import ik_llama_rules as ik

    v3 = ["--model", "deepseek-v3", "--context", "4K"]
    ikr = ["--runtime", "ik_llama.cpp"]
    box = ["--gpu", "rtx-4090", "--ram", "256GB"]

    def cli(cid: str, argv: list[str], expect: str = REFUSE, needle: str = "") -> Case:
        return Case(f"ik-{cid}", "cli", argv, expect, needle)

    for i, bad in enumerate(["4", "-1", "abc", "", "1.5", "99999999999999999999", "٣"]):
        yield cli(f"kv-mla-{i}", ["kv", *v3, *ikr, "--mla", bad])
        yield cli(f"plan-mla-{i}", ["plan", *v3, *ikr, *box, "--mla", bad])
    for i, bad in enumerate(["-1", "abc", "", "1e3", "99999999999999999999"]):
        yield cli(f"plan-amb-{i}", ["plan", *v3, *ikr, *box, "--amb", bad])
    for i, bad in enumerate(["yes", "1", "", "ON "]):
        yield cli(f"kv-fa-{i}", ["kv", *v3, *ikr, "--flash-attn", bad])
    yield cli("kv-mla-llamacpp", ["kv", *v3, "--runtime", "llama.cpp", "--mla", "1"], REFUSE,
              "ik_llama.cpp only")  # fmt: skip
    yield cli("kv-fa-vllm", ["kv", *v3, "--runtime", "vllm", "--flash-attn", "off"], REFUSE,
              "ik_llama.cpp only")  # fmt: skip
    yield cli("plan-amb-llamacpp", ["plan", *v3, *box, "--amb", "512"], REFUSE, "ik_llama.cpp")
    yield cli("kv-swa-compress-llamacpp", ["kv", *v3, "--runtime", "llama.cpp", "--swa-compress"],
              REFUSE, "ik_llama.cpp only")  # fmt: skip
    yield cli("plan-swa-compress-vllm", ["plan", *v3, *box, "--runtime", "vllm",
                                         "--swa-compress"], REFUSE, "ik_llama.cpp")  # fmt: skip
    yield cli("plan-swa-compress-ok", ["plan", "--model", "deepseek-v4-flash", "--context", "8K",
                                       *ikr, *box, "--swa-compress", "--json"], ANSWER)  # fmt: skip
    yield cli("plan-nofmoe-vllm", ["plan", *v3, *box, "--runtime", "vllm", "--no-fmoe"], REFUSE,
              "ik_llama.cpp")  # fmt: skip
    yield cli("kv-q8kv-llamacpp", ["kv", *v3, "--runtime", "llama.cpp", "--cache-type-k",
                                   "q8_KV"], REFUSE, "q8_KV")  # fmt: skip
    yield cli("kv-q8kv-vllm", ["kv", *v3, "--runtime", "vllm", "--cache-type-k", "q8_KV"])
    yield cli("kv-q9kv", ["kv", *v3, *ikr, "--cache-type-k", "q9_KV"], REFUSE, "q9_KV")
    yield cli("kv-q8kv-odd-dims", ["kv", "--model", "llama-2-13b", "--context", "4K", *ikr,
                                   "--cache-type-k", "q6_0"], ANSWER)  # fmt: skip
    for mla in ("0", "1", "2", "3"):
        # ik_llama.cpp aborts building the graph with a q8_KV V cache viewed per head: -mla 0
        # (decompressed V) is refused, -mla 1/2/3 keep q8_KV as the latent K cache (issue 24)
        yield cli(f"kv-ok-{mla}-on", ["kv", *v3, *ikr, "--mla", mla, "--flash-attn", "on",
                                      "--cache-type-k", "q8_KV", "--json"],
                  *((REFUSE, "under -mla 0") if mla == "0" else (ANSWER,)))  # fmt: skip
        # ik_llama.cpp refuses a quantized V cache without -fa (common/common.cpp L4303)
        yield cli(f"kv-quant-v-no-fa-{mla}", ["kv", *v3, *ikr, "--mla", mla, "--flash-attn",
                                              "off", "--cache-type-k", "q8_KV"], REFUSE,
                  "without flash attention")  # fmt: skip
        yield cli(f"kv-ok-{mla}-off", ["kv", *v3, *ikr, "--mla", mla, "--flash-attn", "off",
                                       "--cache-type-k", "f16", "--json"], ANSWER)  # fmt: skip
    yield cli("plan-ok", ["plan", *v3, *ikr, *box, "--mla", "2", "--amb", "0", "--no-fmoe",
                          "--json"], ANSWER)  # fmt: skip
    # a q8_KV V cache on a GQA model: the engine aborts (ggml.c L5427), the kit refuses (issue 24)
    gqa = ["--model", "llama-3.1-70b", "--context", "4K"]
    for verb, extra in (("kv", []), ("plan", box)):
        yield cli(f"{verb}-q8kv-gqa", [verb, *gqa, *ikr, *extra, "--cache-type-k", "q8_KV"],
                  REFUSE, "q8_KV is allowed only as the latent cache")  # fmt: skip
        yield cli(f"{verb}-q8kv-gqa-json", [verb, *gqa, *ikr, *extra, "--cache-type-k",
                                            "q8_KV", "--json"], REFUSE, "aborts building")  # fmt: skip
        yield cli(f"{verb}-q8-0-gqa-ok", [verb, *gqa, *ikr, *extra, "--cache-type-k", "q8_0",
                                          "--json"], ANSWER)  # fmt: skip

    def api(cid: str, fn: Callable[[Path], Any], expect: str = REFUSE, needle: str = "") -> Case:
        return Case(f"ik-api-{cid}", "api", [], expect, needle, call=fn)

    for i, bad in enumerate([4, -1, "3", 1.0, True, None, [3], float("nan")]):
        if bad is None:
            continue  # None is the default
        yield api(f"kv-mla-{i}", lambda w, b=bad: vk.kv_cache("deepseek-v3", 1024,
                  runtime="ik_llama.cpp", mla=b), REFUSE, "mla")  # fmt: skip
        yield api(f"options-mla-{i}", lambda w, b=bad: ik.IkOptions(mla=b), REFUSE, "mla")
    for i, bad in enumerate(["on", 1, 0, "false", [True]]):
        yield api(f"kv-fa-{i}", lambda w, b=bad: vk.kv_cache("deepseek-v3", 1024,
                  runtime="ik_llama.cpp", flash_attn=b), REFUSE, "flash_attn")  # fmt: skip
        yield api(f"options-fmoe-{i}", lambda w, b=bad: ik.IkOptions(fmoe=b), REFUSE, "fmoe")
    for i, bad in enumerate([-1, 1.5, "256", 2**70, float("inf"), True]):
        yield api(f"options-amb-{i}", lambda w, b=bad: ik.IkOptions(amb=b), REFUSE, "amb")
    for i, bad in enumerate(["yes", 1, None]):
        yield api(f"options-swa-{i}", lambda w, b=bad: ik.IkOptions(swa_compress=b), REFUSE,
                  "swa_compress")  # fmt: skip
    yield api("options-amb-low-raised", lambda w: ik.IkOptions(amb=1), ANSWER)
    # a q8_KV V cache the engine views per head (issue 24): refused through the API too
    for mid, kw in (("llama-3.1-70b", {}), ("llama-2-13b", {}), ("deepseek-v3", {"mla": 0})):
        yield api(f"kv-q8kv-v-{mid}", lambda w, m=mid, k=kw: vk.kv_cache(m, 4096,
                  runtime="ik_llama.cpp", cache_dtype="q8_KV", **k), REFUSE,
                  "aborts building the graph")  # fmt: skip
    yield api("plan-q8kv-v-gqa", lambda w: vk.plan.plan_for("llama-3.1-70b",
              vk.plan.resolve_machine(gpu=["rtx-4090"], ram="64GB"), runtime="ik_llama.cpp",
              cache_dtype="q8_KV"), REFUSE, "q8_KV is allowed only")  # fmt: skip
    yield api("kv-q8kv-latent-ok", lambda w: vk.kv_cache("deepseek-v3", 4096,
              runtime="ik_llama.cpp", cache_dtype="q8_KV", mla=2), ANSWER)  # fmt: skip
    yield api("plan-ik-not-options", lambda w: vk.plan.plan_for("deepseek-v3",
              vk.plan.resolve_machine(gpu=["rtx-4090"], ram="256GB"), runtime="ik_llama.cpp",
              ik={"mla": 1}), REFUSE, "IkOptions")  # fmt: skip
    for i, (t, n) in enumerate([("Q8_KV", 33), ("Q6_0", 0), ("Q6_0", -32), ("Q9_0", 32),
                                ("Q8_KV", 1.5), (None, 32)]):  # fmt: skip
        yield api(f"row-bytes-{i}", lambda w, t=t, n=n: ik.row_bytes(t, n))
    for i, (rows, nb) in enumerate([(0, 10), (8, -1), (8, 1.5), (2**70, 10)]):
        yield api(f"rtr-{i}", lambda w, r=rows, b=nb: ik.rtr_repack("blk.0.ffn_up_exps.weight",
                  "MXFP4", r, b))  # fmt: skip
    for i, (kv, ub) in enumerate([(0, 512), (-5, 512), (4096, 0), (4096, 1.5), (2**70, 512)]):
        yield api(f"attention-{i}", lambda w, kv=kv, ub=ub: ik.mla_attention(
            vk.get_model("deepseek-v3").config, kv, ub, ik.IkOptions()))  # fmt: skip
    yield api("attention-no-mla-config", lambda w: ik.mla_attention({"num_attention_heads": 8},
              4096, 512, ik.IkOptions()), REFUSE, "kv_lora_rank")  # fmt: skip
    yield api("options-from-junk-flags", lambda w: ik.options_from_flags(["-xyz"]), REFUSE, "-xyz")
    v3cfg = vk.get_model("deepseek-v3").config
    for i, mla in enumerate([4, -1, "3", None, 1.0]):  # the derived wkv_b (weights at load)
        yield api(f"derived-wkv-b-mla-{i}", lambda w, m=mla: ik.derived_wkv_b(v3cfg, "Q8_0",
                  "Q8_0", m), REFUSE, "mla")  # fmt: skip
        yield api(f"derived-layers-mla-{i}", lambda w, m=mla: ik.derived_layer_bytes(
            vk.get_model("deepseek-v3"), "gguf-Q8_0", m), REFUSE, "mla")  # fmt: skip
    yield api("derived-wkv-b-no-mla-config", lambda w: ik.derived_wkv_b({"num_attention_heads": 8},
              "Q8_0", "Q8_0", 3), REFUSE, "kv_lora_rank")  # fmt: skip
    yield api("derived-wkv-b-odd-lora", lambda w: ik.derived_wkv_b({**v3cfg, "kv_lora_rank": 100},
              "Q8_0", "Q8_0", 3), REFUSE, "Q8_0")  # fmt: skip
    yield api("derived-layers-bad-recipe", lambda w: ik.derived_layer_bytes(
        vk.get_model("deepseek-v3"), "gguf-Q9_9", 3))  # fmt: skip
    yield api("derived-layers-dense-ok", lambda w: ik.derived_layer_bytes(
        vk.get_model("llama-3.1-70b"), "gguf-Q8_0", 3), ANSWER)  # fmt: skip


def vllm_memory_cases() -> Iterator[Case]:
    """vLLM's memory profile (vramkit.runtimes.vllm.memory): bad splits, dtypes, fractions, token budgets."""
    from vramkit.model.configfile import model_from_config_file
    from vramkit.runtimes.vllm import memory as vm
    from vramkit.runtimes.vllm import profile as vp

    def c(cid: str, fn: Callable[[Path], Any], expect: str = REFUSE, needle: str = "") -> Case:
        return Case(f"vllm-memory-{cid}", "api", [], expect, needle, call=fn)

    def llama() -> Any:
        return model_from_config_file(EXAMPLES / "llama-3.1-8b-instruct")

    for i, bad in enumerate([0, -1, 1.5, "2", None, True, 10**6]):
        yield c(f"tp-{i}", lambda w, b=bad: vm.vllm_weight_bytes(llama(), tp=b))
    for i, bad in enumerate([0, -2, 33, 2.5, "4", None]):
        yield c(f"pp-{i}", lambda w, b=bad: vm.vllm_weight_bytes(llama(), pp=b))
    yield c("tp-heads", lambda w: vm.vllm_weight_bytes(llama(), tp=3), REFUSE, "heads")
    yield c("pp-rank-past", lambda w: vm.vllm_weight_bytes(llama(), pp=2, pp_rank=2), REFUSE, "")
    for i, bad in enumerate(["fp64", "int8", 5, ""]):
        yield c(
            f"dtype-{i}", lambda w, b=bad: vm.vllm_weight_bytes(llama(), dtype=b), REFUSE, "dtype"
        )
    for i, bad in enumerate(["awq", "gguf", 8]):
        yield c(f"quant-{i}", lambda w, b=bad: vm.vllm_weight_bytes(llama(), quantization=b))
    for i, bad in enumerate([0, -0.5, 1.5, float("nan"), float("inf"), "0.9", None]):
        yield c(f"gmu-{i}", lambda w, b=bad: vp.vllm_profile(llama(), gpu_memory_utilization=b))
    for i, bad in enumerate([0, -8192, 1.5, "8192", 2**70]):
        yield c(
            f"mnbt-{i}",
            lambda w, b=bad: vm.vllm_activation_bytes(llama(), max_num_batched_tokens=b),
        )
    yield c("gpu-unknown", lambda w: vp.vllm_profile(llama(), "h101"), REFUSE, "")
    yield c("gpt-oss-tp-uneven", lambda w: vm.vllm_weight_bytes(
        model_from_config_file(EXAMPLES / "gpt-oss-20b"), tp=7), REFUSE, "")  # fmt: skip
    yield c("gpt-oss-tp2-ok", lambda w: vm.vllm_weight_bytes(
        model_from_config_file(EXAMPLES / "gpt-oss-20b"), tp=2), ANSWER)  # fmt: skip
    yield c("profile-pp4-ok", lambda w: vp.vllm_profile(llama(), pp=4).kv_pool_bytes, ANSWER)

    from vramkit.model.configfile import model_from_config, read_config

    def kimi(**vision: Any) -> Any:
        cfg = read_config(EXAMPLES / "kimi-vl-a3b-instruct")
        return model_from_config({**cfg, "vision_config": {**cfg["vision_config"], **vision}})

    for i, bad in enumerate(["2", [2], [0, 2], [True, 2], [2, 10**6], [2, 2, 2]]):
        yield c(f"moonvit-merge-{i}", lambda w, b=bad: kimi(merge_kernel_size=b), REFUSE, "merge")
    for i, bad in enumerate([10**9, -1, 0, "64", 1.5]):
        yield c(f"moonvit-pos-{i}", lambda w, b=bad: kimi(init_pos_emb_height=b))
    yield c("moonvit-ok", lambda w: kimi().params.total, ANSWER)


def network_and_face_cases() -> Iterator[Case]:
    """The inter-node traffic API (vramkit.plan.network.internode_step), the dashboard's GGUF
    default (vramkit.widgets.dashboard.gguf_default) and the index's consumer box context."""
    from vramkit.catalog import get_model
    from vramkit.plan import build_machine, plan_for
    from vramkit.plan.layers import layer_costs
    from vramkit.plan.network import internode_step

    def c(cid: str, fn: Callable[[Path], Any], expect: str = REFUSE, needle: str = "") -> Case:
        return Case(f"network-{cid}", "api", [], expect, needle, call=fn)

    def two_nodes() -> tuple[Any, Any, Any]:
        m = get_model("deepseek-v4-flash")
        p = plan_for(m, build_machine(["h200:16"]), runtime="sglang", context=4096)
        return p, m, layer_costs(m, p.recipe_id)

    yield c("ok", lambda w: internode_step(*two_nodes()).bytes_per_gpu, ANSWER)
    yield c("link-junk", lambda w: internode_step(*two_nodes(), link="ib-xyz"), REFUSE, "link")
    yield c("link-int", lambda w: internode_step(*two_nodes(), link=400), REFUSE, "link")
    yield c("plan-junk", lambda w: internode_step("plan", *two_nodes()[1:]), REFUSE, "")
    yield c("model-junk", lambda w: internode_step(two_nodes()[0], "no-such-model",
                                                   two_nodes()[2]), REFUSE, "")  # fmt: skip
    yield c("costs-junk", lambda w: internode_step(*two_nodes()[:2], {"n_layers": 3}),
            REFUSE, "LayerCosts")  # fmt: skip

    from vramkit.widgets.dashboard import gguf_default

    yield c("gguf-default-runtime", lambda w: gguf_default("deepseek-v4-flash", "llama.cpp2"),
            REFUSE, "runtime")  # fmt: skip
    yield c("gguf-default-model", lambda w: gguf_default("no-such", "llama.cpp"), REFUSE, "")
    yield c("gguf-default-vllm", lambda w: gguf_default("deepseek-v4-flash", "vllm"), ANSWER)

    from vramkit.report.index import consumer_html

    for i, bad in enumerate([0, -1, "junk", 2**40, None]):
        yield c(f"consumer-context-{i}", lambda w, b=bad: consumer_html(b), REFUSE, "context")


def cuda_cases() -> Iterator[Case]:
    """The CUDA terms' surfaces: `Device.backend`, the term functions and a GPU plan's JSON
    `cuda_terms` (vramkit.runtimes.llamacpp.cuda)."""
    from dataclasses import replace

    from vramkit.plan import build_machine
    from vramkit.runtimes.llamacpp import cuda as lc

    def c(cid: str, fn: Callable[[Path], Any], expect: str = REFUSE, needle: str = "") -> Case:
        return Case(f"cuda-{cid}", "api", [], expect, needle, call=fn)

    dev = build_machine(["rtx-4090-24gb"]).devices[0]
    for i, bad in enumerate(["tpu", "CUDA", "", 3, None, ["cuda"]]):
        yield c(f"backend-{i}", lambda w, b=bad: replace(dev, backend=b), REFUSE, "backend")
    yield c("backend-rpc", lambda w: replace(dev, backend="rpc").backend, ANSWER)
    for i, bad in enumerate([(0, 32, 34), (2880, 0, 34), (2880, 32, -1), ("768", 256, 144),
                             (2880, 1024, 34), (1.5, 32, 34)]):  # fmt: skip
        yield c(f"row-pad-{i}", lambda w, b=bad: lc.quantized_row_padding(*b), REFUSE, "")
    for i, bad in enumerate([-1, 2**60, "1", 1.5]):
        yield c(f"pinned-{i}", lambda w, b=bad: lc.pinned_host_compute(b), REFUSE, "n_bytes")
    for i, bad in enumerate([(0, 8, 2048, 768), (512, 0, 2048, 768), (512, 8, 2048, -768)]):
        yield c(f"moe-pool-{i}", lambda w, b=bad: lc.moe_pool_workspace(*b), REFUSE, "")
    gpu = ["plan", "--model", "llama-2-13b", "--gpu", "rtx-4090-24gb", "--ram", "64GB",
           "--context", "4096", "--json"]  # fmt: skip
    yield Case("cuda-plan-json", "flag", gpu, ANSWER)
    yield Case("cuda-plan-json-q8", "flag", [*gpu, "--cache-dtype", "q8_0"], ANSWER)
    yield Case("cuda-plan-ub-16", "flag", [*gpu, "--ubatch", "16"], ANSWER)


def data_cache_cases() -> Iterator[Case]:
    """Poisoned entries of the parsed-data cache ($VRAMKIT_CACHE/data, `vramkit.datafiles`):
    every one must be ignored (the YAML's document, no error, no hang), and the folder may be
    rewritten with a good entry."""
    import marshal

    from vramkit import datafiles

    name = "links.yaml"

    def entry(w: Path) -> Path:
        key = datafiles.cache_key(name, (datafiles.DATA_DIR / name).read_bytes())
        path = w / "cache" / "data" / f"links-{key[:24]}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def sealed(obj: Any) -> bytes:
        body = marshal.dumps(obj)
        return datafiles._MAGIC + datafiles._digest(body) + body

    def key_of(w: Path) -> str:
        return datafiles.cache_key(name, (datafiles.DATA_DIR / name).read_bytes())

    poisons: dict[str, Callable[[Path], None]] = {
        "garbage": lambda w: entry(w).write_bytes(b"\x00\xff" * 5000),
        "empty": lambda w: entry(w).write_bytes(b""),
        "magic-only": lambda w: entry(w).write_bytes(datafiles._MAGIC),
        "bad-checksum": lambda w: entry(w).write_bytes(sealed(("k", {}, ()))[:-1] + b"!"),
        "other-key": lambda w: entry(w).write_bytes(sealed(("0" * 64, {"schema_version": 1}, ()))),
        "list-not-tuple": lambda w: entry(w).write_bytes(sealed([key_of(w), {}, ()])),
        "date-nowhere": lambda w: entry(w).write_bytes(
            sealed((key_of(w), {}, ((("x", 1, "y"), ("date", "2026-01-01")),)))
        ),
        "date-junk": lambda w: entry(w).write_bytes(
            sealed((key_of(w), {"a": None}, ((("a",), ("datetime", "\x00" * 99)),)))
        ),
        "folder": lambda w: entry(w).mkdir(),
        "fifo": lambda w: os.mkfifo(entry(w)),
        "link-dev-zero": lambda w: _symlink("/dev/zero", entry(w)),
        "link-dangling": lambda w: _symlink(w / "nowhere.bin", entry(w)),
        "sparse-huge": lambda w: os.truncate(_touch(entry(w)), datafiles.MAX_ENTRY_BYTES + 1),
        "cache-is-a-file": lambda w: (w / "cache").write_text("not a folder"),
    }

    def check(w: Path) -> int:
        got = datafiles.load_document(name, ("links",))
        want = datafiles.load_yaml_text((datafiles.DATA_DIR / name).read_text(encoding="utf-8"))
        if got != want:
            raise AssertionError("a poisoned cache entry changed the document")
        return len(got["links"])

    for cid, poison in poisons.items():
        yield Case(
            f"datacache-{cid}",
            "data-cache",
            [],
            ANSWER,
            setup=poison,
            call=check,
            env={"VRAMKIT_NO_CACHE": ""},
            may_write="cache",
        )


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def all_cases() -> list[Case]:
    """The whole corpus, ids unique."""
    out: list[Case] = []
    for gen in (
        config_mutations,
        named_config_cases,
        raw_config_cases,
        path_cases,
        hub_id_cases,
        hub_gguf_cases,
        hub_cache_cases,
        safetensors_cases,
        gguf_cases,
        byte_fuzz_cases,
        flag_cases,
        report_cases,
        api_cases,
        vllm_memory_cases,
        resource_cases,
        ik_cases,
        network_and_face_cases,
        cuda_cases,
        data_cache_cases,
    ):
        out.extend(gen())
    ids = [c.id for c in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"duplicate case ids: {sorted(dupes)[:5]}"
    return out


# ── guards and runner ────────────────────────────────────────────────────────────────────────
class Hang(BaseException):
    """A case ran past CASE_TIMEOUT_S (raised by SIGALRM; BaseException so no code swallows it)."""


@contextlib.contextmanager
def time_bound(seconds: int):
    def on_alarm(signum, frame):
        raise Hang(f"ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


class NetworkUsed(BaseException):
    """A socket tried to connect (BaseException so `except Exception` cannot hide it)."""


@contextlib.contextmanager
def no_network(attempts: list[str]):
    """Every socket connect and name lookup raises `NetworkUsed` and is recorded."""

    def refuse(*args, **kwargs):
        attempts.append(repr(args)[:200])
        raise NetworkUsed(f"network use: {args!r:.200}")

    saved = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
        socket.getaddrinfo,
    )
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        (
            socket.socket.connect,
            socket.socket.connect_ex,
            socket.create_connection,
            socket.getaddrinfo,
        ) = saved


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int, int]]:
    """{relative path: (mode, size, mtime_ns)} of everything under `folder` (links not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = os.path.relpath(dirpath, folder)
        if rel != "." and rel.split(os.sep)[0] in skip:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, folder)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


@dataclass
class Outcome:
    rc: int | None
    out: str
    err: str
    seconds: float
    crash: str = ""
    network: list[str] = field(default_factory=list)
    value: Any = None


def run_case(case: Case, w: Path, *, setup: bool = True) -> Outcome:
    """Run one case in this process: cwd = `w`, env from the case, guards on."""
    from vramkit import cli
    from vramkit.errors import VramkitError

    if setup and case.setup is not None:
        case.setup(w)
    env = {k: v.replace("{w}", str(w)) for k, v in case.env.items()}
    saved_env = {k: os.environ.get(k) for k in (*env, "VRAMKIT_ALLOW_NETWORK", "VRAMKIT_CACHE")}
    os.environ.pop("VRAMKIT_ALLOW_NETWORK", None)
    os.environ["VRAMKIT_CACHE"] = str(w / "cache")
    os.environ.update(env)
    cwd = os.getcwd()
    os.chdir(w)
    out, err = io.StringIO(), io.StringIO()
    attempts: list[str] = []
    rc: int | None = None
    crash = ""
    value = None
    start = time.perf_counter()
    try:
        with (
            time_bound(CASE_TIMEOUT_S),
            no_network(attempts),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            if case.call is not None:
                try:
                    value = case.call(w)
                    rc = 0
                except VramkitError as e:
                    print(f"vramkit: error: {e}", file=sys.stderr)
                    rc = 2
            else:
                try:
                    rc = cli.main(_w(case.argv, w))
                except SystemExit as e:  # --help only
                    rc = e.code if isinstance(e.code, int) else 1
    except Hang as e:
        crash = f"HANG: {e}"
    except NetworkUsed as e:
        crash = f"NETWORK: {e}"
    except BaseException as e:
        import traceback

        crash = "Traceback:\n" + "".join(traceback.format_exception(e))[-3000:]
    finally:
        os.chdir(cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Outcome(
        rc, out.getvalue(), err.getvalue(), time.perf_counter() - start, crash, attempts, value
    )


_BAD_TOKEN = re.compile(r"(?<![\w.])(nan|-?inf|-?infinity)(?![\w])", re.IGNORECASE)


def numbers_in(doc: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from numbers_in(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from numbers_in(v, f"{path}[{i}]")
    elif isinstance(doc, int | float) and not isinstance(doc, bool):
        yield path, doc


SIGNED_KEYS = ("diff", "headroom", "delta", "error", "off")
"""JSON keys whose value may honestly be negative (differences, headroom)."""


def problems(case: Case, o: Outcome) -> list[str]:
    """What is wrong with an outcome (empty list: the case passed)."""
    bad: list[str] = []
    if o.crash:
        return [o.crash]
    if o.network:
        bad.append(f"network used: {o.network[:2]}")
    text = o.out + o.err
    if "Traceback" in text:
        bad.append("a traceback was printed")
    refused = o.rc == 2
    if case.expect == REFUSE and not refused:
        bad.append(f"expected a refusal, got exit {o.rc}; stdout {o.out[:300]!r}")
    if case.expect == ANSWER and o.rc != 0:
        bad.append(f"expected an answer, got exit {o.rc}: {o.err.strip()[:300]!r}")
    if o.rc not in (0, 2):
        bad.append(f"exit status {o.rc}")
    if refused:
        lines = o.err.strip("\n").split("\n")
        if len(lines) != 1 or not lines[0].startswith("vramkit:"):
            bad.append(f"refusal is not one 'vramkit:' line: {o.err[:400]!r}")
        if case.needle and case.needle.lower() not in o.err.lower():
            bad.append(f"refusal does not mention {case.needle!r}: {o.err.strip()[:300]!r}")
    if o.rc == 0:
        if _BAD_TOKEN.search(o.out):
            bad.append(f"NaN/inf in output: {_BAD_TOKEN.search(o.out).group(0)!r}")
        if case.expect == ANSWER and case.needle and case.needle not in o.out:
            bad.append(f"answer lacks {case.needle!r}")
        if o.out.lstrip().startswith(("{", "[")):
            try:
                doc = json.loads(o.out)
            except ValueError:
                bad.append("--json output is not JSON")
            else:
                for where, v in numbers_in(doc):
                    if isinstance(v, float) and not math.isfinite(v):
                        bad.append(f"{where} = {v}")
                    elif v < 0 and not any(s in where.lower() for s in SIGNED_KEYS):
                        bad.append(f"{where} is negative ({v})")
        if o.value is not None:
            for where, v in _value_numbers(o.value):
                if isinstance(v, float) and not math.isfinite(v):
                    bad.append(f"API result {where} = {v}")
                elif v < 0:
                    bad.append(f"API result {where} is negative ({v})")
    return bad


def _value_numbers(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        yield "value", value
    elif isinstance(value, tuple | list):
        for i, v in enumerate(value[:100_000]):
            if isinstance(v, int | float) and not isinstance(v, bool):
                yield f"[{i}]", v
    elif hasattr(value, "select_dtypes"):  # a DataFrame
        nums = value.select_dtypes("number")
        for col in nums.columns:
            col_min = nums[col].min()
            if not math.isfinite(float(col_min)) or col_min < 0:
                yield col, float(col_min)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            v = getattr(value, name)
            if isinstance(v, int | float) and not isinstance(v, bool):
                yield name, v
