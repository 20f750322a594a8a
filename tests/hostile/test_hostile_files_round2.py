"""Hostile inputs, round 2 (issue 21), the config and file part: every case is refused with one
`vramkit:` line (exit 2) or answered with the right figure, through the corpus runner and its
guards (tests/hostile/_corpus.py: time bound, no network, no writes outside).

- configs: DeepSeek V4 with ``o_lora_rank`` 0, Gemma 4 without ``sliding_window``, and a sweep
  of every example config and one catalog config per family: each key (also inside
  ``vision_config`` and other sub-objects) dropped, each integer key set to 0, -1, 2**70, "1",
  true and null; Qwen3-Next's GGUF ``ssm.*`` keys;
- GGUF: a tensor with ``n_dims`` 5 (GGML_MAX_DIMS is 4), data offsets past the file, tensor
  ranges past the end or overlapping, tensor / key counts the file cannot hold, string lengths
  past the end;
- safetensors: duplicate tensor names in a header, duplicate keys in config.json and index
  files, an index whose weight_map points outside its folder.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("hostile_corpus", _HERE / "_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("hostile_corpus", corpus)
_spec.loader.exec_module(corpus)
corpus = sys.modules["hostile_corpus"]

from vramkit.errors import VramkitError  # noqa: E402

Case, REFUSE, ANSWER = corpus.Case, corpus.REFUSE, corpus.ANSWER


def _check(case, tmp_path: Path) -> None:
    """Run `case` through the corpus runner; nothing may change outside its folder."""
    w = tmp_path / "w"
    w.mkdir()
    if case.setup is not None:
        case.setup(w)
    before = corpus.snapshot(w)
    outcome = corpus.run_case(case, w, setup=False)
    found = corpus.problems(case, outcome)
    if corpus.snapshot(w) != before:
        found.append("wrote into its folder")
    assert not found, f"{case.id}: " + " | ".join(found)


# ── configs: the two named cases ─────────────────────────────────────────────────────────────
COMMANDS = (
    ["inspect", "{w}/cfg/config.json", "--json"],
    ["weights", "--config", "{w}/cfg/config.json", "--json"],
    ["kv", "--config", "{w}/cfg/config.json", "--context", "4K", "--json"],
    ["kv", "--config", "{w}/cfg/config.json", "--context", "4K", "--runtime", "vllm"],
    ["moe", "--config", "{w}/cfg/config.json", "--json"],
)


def _catalog_config(model_id: str) -> dict[str, Any]:
    from vramkit.catalog import get_model

    return json.loads(json.dumps(dict(get_model(model_id).config)))


def _config_cases() -> Iterator[Case]:
    v4 = _catalog_config("deepseek-v4-flash")
    g4 = _catalog_config("gemma-4-31b")
    broken = {
        "v4-o-lora-rank-0": ({**v4, "o_lora_rank": 0}, "o_lora_rank"),
        "v4-q-lora-rank-0": ({**v4, "q_lora_rank": 0}, "q_lora_rank"),
        "v4-o-groups-0": ({**v4, "o_groups": 0}, "o_groups"),
        "v4-hc-mult-0": ({**v4, "hc_mult": 0}, "hc_mult"),
        "v4-index-n-heads-0": ({**v4, "index_n_heads": 0}, "index_n_heads"),
        "gemma4-without-sliding-window": (
            {k: v for k, v in g4.items() if k != "sliding_window"},
            "sliding_window",
        ),
        "gemma4-sliding-window-null": ({**g4, "sliding_window": None}, "sliding_window"),
    }
    for cid, (cfg, needle) in broken.items():
        for n, argv in enumerate(COMMANDS):
            # the window is a KV figure: weights, MoE and inspect honestly answer without it
            kv_only = cid.startswith("gemma4") and argv[0] != "kv"
            yield Case(
                f"{cid}-{argv[0]}-{n}",
                "config",
                list(argv),
                ANSWER if kv_only else REFUSE,
                "" if kv_only else needle,
                setup=lambda w, cfg=cfg: corpus.write_json(w / "cfg" / "config.json", cfg),
            )


@pytest.mark.parametrize("case", list(_config_cases()), ids=lambda c: c.id)
def test_named_config_case(case, tmp_path):
    _check(case, tmp_path)


def test_gemma4_refusal_names_the_transformers_default(tmp_path):
    """The refusal says what transformers would assume (``Gemma4TextConfig.sliding_window =
    512``), so the user can add the field on purpose."""
    from vramkit.kv import kv_cache
    from vramkit.model.configfile import model_from_config

    cfg = {k: v for k, v in _catalog_config("gemma-4-31b").items() if k != "sliding_window"}
    with pytest.raises(VramkitError, match=r"sliding_window.*512"):
        kv_cache(model_from_config(cfg), 4096)


# ── configs: the sweep ───────────────────────────────────────────────────────────────────────
SWEEP_VALUES: tuple[tuple[str, Any], ...] = (
    ("zero", 0),
    ("minus1", -1),
    ("2p70", 2**70),
    ("text1", "1"),
    ("true", True),
    ("null", None),
)
"""What each integer key of a real config is set to (issue 21, round 2)."""
IGNORED_OR_REFUSED = ("minus1", "2p70", "text1", "true")
"""Values no config field may hold: refused, or the field is not read (figures unchanged)."""


@functools.cache
def sweep_configs() -> dict[str, dict[str, Any]]:
    """Every example config.json (its text part) and one catalog config per family."""
    from vramkit.catalog import get_model, model_ids
    from vramkit.model.configfile import text_config

    out = {
        p.parent.name: text_config(json.loads(p.read_text()))
        for p in sorted(corpus.EXAMPLES.glob("*/config.json"))
    }
    seen = set()
    for mid in model_ids():
        family = get_model(mid).family
        if family not in seen and get_model(mid).config:
            seen.add(family)
            out[f"catalog-{mid}"] = _catalog_config(mid)
    return out


def _refused(err: VramkitError) -> str:
    if not str(err).strip():
        pytest.fail("an empty VramkitError")
    return "refused"


def figures(cfg: dict[str, Any]) -> tuple[int | str, ...] | str:
    """(total, active params, official-layout weight bytes, KV bytes at 4,096 tokens), or
    "refused"; the KV figure alone may be "refused" (a cache vramkit says it cannot count).
    Any exception but a `VramkitError` fails the test."""
    from vramkit.kv import kv_cache
    from vramkit.model.configfile import model_from_config
    from vramkit.quant import weight_bytes

    try:
        model = model_from_config(cfg)
        w = weight_bytes(model)
    except VramkitError as err:
        return _refused(err)
    try:
        kv: int | str = kv_cache(model, 4096).total_bytes
    except VramkitError as err:
        kv = _refused(err)
    p = model.params
    assert all(isinstance(v, int) for v in (p.total, p.active, w.total_bytes)), cfg
    assert 0 <= p.active <= p.total, (p.active, p.total)
    assert w.total_bytes > 0, w.total_bytes
    assert kv == "refused" or kv > 0, kv
    return (p.total, p.active, w.total_bytes, kv)


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


def _same_or_refused(got: tuple[int | str, ...] | str, expected: tuple[int | str, ...]) -> bool:
    """True when each figure is the untouched config's or refused."""
    return got == "refused" or all(g in (e, "refused") for g, e in zip(got, expected, strict=True))


def test_sweep_covers_every_family():
    """Each registered family has at least one config in the sweep."""
    from vramkit.families import FAMILIES
    from vramkit.model.configfile import family_of

    assert {family_of(cfg) for cfg in sweep_configs().values()} == set(FAMILIES)


@pytest.mark.parametrize("name", sorted(sweep_configs()))
def test_config_sweep(name):
    """Each key (and each key of a sub-config object such as ``vision_config``) dropped, each
    integer one set to each of `SWEEP_VALUES`: a refusal or sane figures; -1, 2**70, "1" and true are refused unless the field is not read at all (the
    figures equal the untouched config's); null reads as the key being absent."""
    base = sweep_configs()[name]
    expected = figures(base)
    assert expected != "refused", f"{name} as is is refused"
    bad = []

    def outcome(cfg: dict[str, Any], what: str) -> tuple[int, ...] | str:
        try:
            return figures(cfg)
        except Exception as err:
            bad.append(f"{what}: {type(err).__name__}: {err}")
            return "crashed"

    def variants() -> Iterator[tuple[str, Any, dict[str, Any], Callable[[Any], dict[str, Any]]]]:
        """(name, value, config without it, config with it set to x) for every key, and for
        every key of a sub-config object (``vision_config.patch_size``)."""
        for key in sorted(base):
            yield key, base[key], _without(base, key), lambda x, k=key: {**base, k: x}
            sub = base[key]
            for k2 in sorted(sub) if isinstance(sub, dict) else ():
                yield (
                    f"{key}.{k2}",
                    sub[k2],
                    {**base, key: _without(sub, k2)},
                    lambda x, k=key, k2=k2, sub=sub: {**base, k: {**sub, k2: x}},
                )

    for key, value, without, with_value in variants():
        dropped = outcome(without, f"without {key}")
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        for label, new in SWEEP_VALUES:
            got = outcome(with_value(new), f"{key}={new!r}")
            if label in IGNORED_OR_REFUSED and not _same_or_refused(got, expected):
                bad.append(f"{key}={new!r}: accepted with other figures {got} (as is: {expected})")
            if label == "null" and got != dropped and "crashed" not in (got, dropped):
                bad.append(f"{key}=null: {got} but without the key: {dropped}")
    assert not bad, f"{name}: " + "\n".join(bad[:20]) + f"\n({len(bad)} in all)"


@pytest.mark.parametrize("name", sorted(sweep_configs()))
def test_family_functions_check_their_own_fields(name):
    """The family record's functions, called directly (no `check_config` first, as
    `vramkit.model.params.inventory` allows), refuse 0, -1 and 2**70 in any integer field they read
    as a width, rank, head or layer count: a VramkitError, never a tensor with a 0 dimension,
    a ZeroDivisionError or a 2**70-long list."""
    from vramkit.families import get_family
    from vramkit.model.configfile import family_of

    base = sweep_configs()[name]
    family = get_family(family_of(base))
    bad = []
    for key, value in sorted(base.items()):
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        for new in (0, -1, 2**70):
            cfg = {**base, key: new}
            calls = {
                "inventory": lambda cfg=cfg: family.inventory(cfg),
                "kv_parts": lambda cfg=cfg: family.kv_parts(cfg, True),
                "layer_kinds": lambda cfg=cfg: family.layer_kinds(cfg),
            }
            for what, call in calls.items():
                try:
                    with corpus.time_bound(10):
                        got = call()
                except VramkitError:
                    continue
                except Exception as err:
                    bad.append(f"{key}={new}: {what} raised {type(err).__name__}: {err}")
                    continue
                if what == "inventory" and any(d <= 0 for t in got for d in t.shape):
                    bad.append(f"{key}={new}: a tensor with a 0 dimension")
    assert not bad, f"{name}: " + "\n".join(bad[:20]) + f"\n({len(bad)} in all)"


# ── GGUF: the binary layout ──────────────────────────────────────────────────────────────────
F16, U32, STRING, ARRAY = 1, 4, 8, 9
"""GGML type F16 and GGUF value types u32, string, array (``gguf.GGMLQuantizationType``,
``gguf.GGUFValueType``)."""


def _s(text: str | bytes, length: int | None = None) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw) if length is None else length) + raw


def _kv_u32(key: str, value: int) -> bytes:
    return _s(key) + struct.pack("<II", U32, value)


def _kv_str(key: str, value: str) -> bytes:
    return _s(key) + struct.pack("<I", STRING) + _s(value)


LLAMA_KVS = [
    _kv_str("general.architecture", "llama"),
    _kv_u32("llama.block_count", 2),
    _kv_u32("llama.embedding_length", 256),
    _kv_u32("llama.feed_forward_length", 512),
    _kv_u32("llama.attention.head_count", 4),
    _kv_u32("llama.attention.head_count_kv", 2),
    _kv_u32("llama.context_length", 4096),
    _kv_u32("llama.vocab_size", 32),
]
EMBED_BYTES = 256 * 32 * 2  # token_embd: ne (256, 32) F16, 2 bytes a value
ATTN_Q_BYTES = 256 * 64 * 2  # blk.0.attn_q: ne (256, 64) F16
GOOD_TENSORS = [
    ("token_embd.weight", (256, 32), F16, 0),
    ("blk.0.attn_q.weight", (256, 64), F16, EMBED_BYTES),  # 16,384 is a multiple of 32
]


def _tensor_info(name: str, dims: tuple[int, ...], ggml_type: int, offset: int, n_dims=None):
    n = len(dims) if n_dims is None else n_dims
    return (
        _s(name)
        + struct.pack("<I", n)
        + b"".join(struct.pack("<Q", d) for d in dims)
        + struct.pack("<IQ", ggml_type, offset)
    )


def gguf_raw(
    kvs: list[bytes] | None = None,
    tensors: list[bytes] | None = None,
    *,
    data_bytes: int = EMBED_BYTES + ATTN_Q_BYTES,
    n_tensors: int | None = None,
    n_kv: int | None = None,
    alignment: int = 32,
) -> bytes:
    """A GGUF v3 file written byte by byte (the layout in vramkit/ingest/gguf_layout.py)."""
    kvs = LLAMA_KVS if kvs is None else kvs
    tensors = [_tensor_info(*t) for t in GOOD_TENSORS] if tensors is None else tensors
    head = b"GGUF" + struct.pack(
        "<IQQ",
        3,
        len(tensors) if n_tensors is None else n_tensors,
        len(kvs) if n_kv is None else n_kv,
    )
    body = head + b"".join(kvs) + b"".join(tensors)
    pad = -len(body) % alignment
    return body + b"\0" * (pad + data_bytes)


def _gguf_hostile() -> dict[str, tuple[bytes, str, str]]:
    """name → (file bytes, expected outcome, word the refusal must hold)."""
    embed, attn = GOOD_TENSORS
    return {
        "raw-valid": (gguf_raw(), ANSWER, ""),
        "n-dims-5": (
            gguf_raw(
                tensors=[
                    _tensor_info(*embed),
                    _tensor_info(attn[0], (256, 64, 1, 1, 1), F16, attn[3]),
                ]
            ),
            REFUSE,
            "n_dims 5",
        ),
        "n-dims-5-claimed": (  # n_dims says 5, four dims follow: the next fields shift
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(*attn, n_dims=5)]),
            REFUSE,
            "n_dims",
        ),
        "offset-2p64-1": (
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(*attn[:3], 2**64 - 1)]),
            REFUSE,
            "blk.0.attn_q.weight",
        ),
        "offset-aligned-past-eof": (
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(*attn[:3], 2**64 - 32)]),
            REFUSE,
            "data section holds",
        ),
        "alignment-2p31": (
            gguf_raw(kvs=[*LLAMA_KVS, _kv_u32("general.alignment", 2**31)]),
            REFUSE,
            "past the end",
        ),
        "alignment-not-power-of-2": (
            gguf_raw(kvs=[*LLAMA_KVS, _kv_u32("general.alignment", 48)]),
            REFUSE,
            "power of two",
        ),
        "tensor-past-eof": (gguf_raw(data_bytes=EMBED_BYTES + 1024), REFUSE, "data section"),
        "tensors-overlap": (
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(*attn[:3], 0)]),
            REFUSE,
            "overlap",
        ),
        "tensors-overlap-partly": (
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(*attn[:3], EMBED_BYTES - 32)]),
            REFUSE,
            "overlap",
        ),
        "offset-misaligned": (
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(*attn[:3], EMBED_BYTES + 8)]),
            REFUSE,
            "alignment",
        ),
        "n-tensors-1e6": (gguf_raw(n_tensors=10**6), REFUSE, "1,000,000 tensors"),
        "n-tensors-2p64-1": (gguf_raw(n_tensors=2**64 - 1), REFUSE, "tensors"),
        "n-kv-2p63": (gguf_raw(n_kv=2**63), REFUSE, "key/value"),
        "n-kv-one-more": (gguf_raw(n_kv=len(LLAMA_KVS) + 1), REFUSE, ""),
        "key-length-past-eof": (
            gguf_raw(kvs=[*LLAMA_KVS, _s("x", 2**40) + b"x"]),
            REFUSE,
            "remain",
        ),
        "string-value-past-eof": (
            gguf_raw(
                kvs=[*LLAMA_KVS, _s("general.name") + struct.pack("<I", STRING) + _s("abc", 2**63)]
            ),
            REFUSE,
            "remain",
        ),
        "tensor-name-past-eof": (
            gguf_raw(tensors=[_tensor_info(*embed), _s("t", 10**12) + b"t"]),
            REFUSE,
            "remain",
        ),
        "string-array-huge": (
            gguf_raw(
                kvs=[
                    *LLAMA_KVS,
                    _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", ARRAY, STRING, 2**60),
                ]
            ),
            REFUSE,
            "strings",
        ),
        "nested-array": (
            gguf_raw(
                kvs=[
                    *LLAMA_KVS,
                    _s("x.nested")
                    + struct.pack("<IIQ", ARRAY, ARRAY, 1)
                    + struct.pack("<IQ", U32, 0),
                ]
            ),
            REFUSE,
            "item type",
        ),
        "duplicate-key": (gguf_raw(kvs=[*LLAMA_KVS, LLAMA_KVS[1]]), REFUSE, "twice"),
        "duplicate-tensor": (
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(embed[0], *attn[1:])]),
            REFUSE,
            "twice",
        ),
        "unknown-ggml-type": (
            gguf_raw(tensors=[_tensor_info(*embed), _tensor_info(*attn[:2], 999, attn[3])]),
            REFUSE,
            "999",
        ),
    }


def _gguf_cases() -> Iterator[Case]:
    for cid, (raw, expect, needle) in _gguf_hostile().items():
        for argv in (
            ["inspect", "{w}/g/m.gguf", "--json"],
            ["kv", "--from", "{w}/g/m.gguf", "--context", "1K", "--json"],
        ):
            yield Case(
                f"gguf-{cid}-{argv[0]}",
                "gguf",
                argv,
                expect,
                needle,
                setup=lambda w, raw=raw: corpus.write_bytes(w / "g" / "m.gguf", raw),
            )


@pytest.mark.parametrize("case", list(_gguf_cases()), ids=lambda c: c.id)
def test_gguf_case(case, tmp_path):
    _check(case, tmp_path)


def test_raw_gguf_reads_exactly(tmp_path):
    """The byte-by-byte builder writes a file both readers agree on: the data section starts
    at the header's length rounded up to 32, and each tensor's bytes are n × 2 (F16)."""
    from vramkit.ingest.gguf_file import tensor_rows
    from vramkit.ingest.gguf_layout import read_layout

    p = tmp_path / "m.gguf"
    p.write_bytes(gguf_raw())
    layout = read_layout(p)
    header = 24 + sum(map(len, LLAMA_KVS)) + sum(len(_tensor_info(*t)) for t in GOOD_TENSORS)
    assert layout.data_start == -(-header // 32) * 32
    assert layout.data_start + EMBED_BYTES + ATTN_Q_BYTES == p.stat().st_size
    rows = {name: nbytes for name, _, _, nbytes in tensor_rows(p)}
    assert rows == {"token_embd.weight": EMBED_BYTES, "blk.0.attn_q.weight": ATTN_Q_BYTES}


def test_gguf_writer_files_pass_the_layout_check(tmp_path):
    """Files written by the `gguf` package's own GGUFWriter (the corpus' builder) pass."""
    from vramkit.ingest.gguf_layout import read_layout

    corpus.gguf_file(tmp_path / "m.gguf")
    layout = read_layout(tmp_path / "m.gguf")
    assert [t.name for t in layout.tensors] == ["token_embd.weight", "blk.0.attn_q.weight"]
    assert layout.alignment == 32


# ── safetensors, index and config JSON: duplicate keys, paths out of the folder ──────────────
_ENTRY = '{"dtype": "BF16", "shape": [4, 4], "data_offsets": [%d, %d]}'
EMBED_ENTRY = '"model.embed_tokens.weight": ' + _ENTRY % (0, 32)
SHARD = corpus.safetensors_bytes(None, b"\0" * 32, raw_header=("{" + EMBED_ENTRY + "}").encode())


def _header(*entries: str) -> bytes:
    return ("{" + ", ".join(entries) + "}").encode()


def _st_cases() -> Iterator[Case]:
    """A header naming one tensor twice, read last-wins before: here the second entry's
    offsets differ from the first's, so last-wins would count other bytes than first-wins."""
    headers = {
        "valid": (_header(EMBED_ENTRY), ANSWER, ""),
        "tensor-twice": (
            _header(EMBED_ENTRY, '"model.embed_tokens.weight": ' + _ENTRY % (32, 64)),
            REFUSE,
            "twice",
        ),
        "tensor-twice-same-range": (_header(EMBED_ENTRY, EMBED_ENTRY), REFUSE, "twice"),
        "key-twice-in-entry": (
            _header(
                '"w": {"dtype": "F32", "dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 32]}'
            ),
            REFUSE,
            "twice",
        ),
        "metadata-twice": (
            _header('"__metadata__": {"format": "pt"}', EMBED_ENTRY, '"__metadata__": {}'),
            REFUSE,
            "twice",
        ),
    }
    for cid, (raw_header, expect, needle) in headers.items():
        raw = corpus.safetensors_bytes(None, b"\0" * 64, raw_header=raw_header)
        for argv in (["inspect", "{w}/st/model.safetensors", "--json"], ["inspect", "{w}/st"]):
            yield Case(
                f"safetensors-{cid}-{len(argv)}",
                "safetensors",
                argv,
                expect,
                needle,
                setup=lambda w, raw=raw: corpus.write_bytes(w / "st" / "model.safetensors", raw),
            )


def _index_cases() -> Iterator[Case]:
    """Index files: a key twice, shard names that leave the folder, a tensor in two shards."""
    ok = '{"model.embed_tokens.weight": "a.safetensors"}'
    indexes = {
        "valid": ('{"weight_map": ' + ok + "}", ANSWER, ""),
        "weight-map-twice": ('{"weight_map": {}, "weight_map": ' + ok + "}", REFUSE, "twice"),
        "tensor-twice": (
            '{"weight_map": {"model.embed_tokens.weight": "a.safetensors", '
            '"model.embed_tokens.weight": "b.safetensors"}}',
            REFUSE,
            "twice",
        ),
        "total-size-twice": (
            '{"metadata": {"total_size": 32, "total_size": 64}, "weight_map": ' + ok + "}",
            REFUSE,
            "twice",
        ),
    }
    for i, name in enumerate(
        ["../a.safetensors", "..\\a.safetensors", "/etc/passwd", "sub/a.safetensors", "..", "."]
    ):
        doc = json.dumps({"weight_map": {"model.embed_tokens.weight": name}})
        indexes[f"shard-outside-{i}"] = (doc, REFUSE, "weight_map")
    for cid, (text, expect, needle) in indexes.items():

        def setup(w: Path, text=text) -> None:
            corpus.write_bytes(w / "idx" / "model.safetensors.index.json", text.encode())
            corpus.write_bytes(w / "idx" / "a.safetensors", SHARD)
            corpus.write_bytes(w / "a.safetensors", SHARD)  # what "../a.safetensors" names

        yield Case(f"index-{cid}", "index", ["inspect", "{w}/idx", "--json"], expect, needle, setup)

    def two_shards(w: Path) -> None:
        doc = {"weight_map": {"model.embed_tokens.weight": "a.safetensors", "x": "b.safetensors"}}
        corpus.write_json(w / "idx" / "model.safetensors.index.json", doc)
        corpus.write_bytes(w / "idx" / "a.safetensors", SHARD)
        corpus.write_bytes(w / "idx" / "b.safetensors", SHARD)

    yield Case("index-tensor-in-two-shards", "index", ["inspect", "{w}/idx", "--json"], REFUSE,
               "more than one", two_shards)  # fmt: skip

    def two_files(w: Path) -> None:  # no index: every *.safetensors of the folder is read
        corpus.write_bytes(w / "st" / "a.safetensors", SHARD)
        corpus.write_bytes(w / "st" / "b.safetensors", SHARD)

    yield Case("safetensors-tensor-in-two-files", "safetensors", ["inspect", "{w}/st", "--json"],
               REFUSE, "more than one", two_files)  # fmt: skip


def _json_config_cases() -> Iterator[Case]:
    """config.json giving a field twice: json would keep the last (here 2 layers, not 32)."""
    base = json.dumps(_catalog_config("llama-3.1-70b"))[1:-1]
    for n, argv in enumerate(COMMANDS):
        text = '{"num_hidden_layers": 2, ' + base + "}"
        yield Case(
            f"config-field-twice-{argv[0]}-{n}",
            "config",
            list(argv),
            REFUSE,
            "num_hidden_layers",
            setup=lambda w, text=text: corpus.write_bytes(w / "cfg" / "config.json", text.encode()),
        )


JSON_CASES = [*_st_cases(), *_index_cases(), *_json_config_cases()]


@pytest.mark.parametrize("case", JSON_CASES, ids=lambda c: c.id)
def test_json_file_case(case, tmp_path):
    _check(case, tmp_path)


def test_valid_shard_reads_exactly(tmp_path):
    """The valid shard these cases break: one BF16 [4, 4] tensor = 16 values × 2 bytes."""
    from vramkit.ingest.safetensors_headers import file_rows

    (tmp_path / "a.safetensors").write_bytes(SHARD)
    assert file_rows(tmp_path / "a.safetensors") == [
        ("model.embed_tokens.weight", "BF16", (4, 4), 16 * 2)
    ]


# ── GGUF-derived recurrent configs (Qwen3-Next's ssm.* keys) ─────────────────────────────────
def _qwen3next_meta() -> dict[str, Any]:
    """GGUF metadata as llama.cpp's Qwen3NextModel writes it for the example config:
    ssm.inner_size = linear_value_head_dim × linear_num_value_heads (recurrent._normalise)."""
    base = sweep_configs()["qwen3-next-80b-a3b-instruct"]
    return {
        "general.architecture": "qwen3next",
        "qwen3next.block_count": base["num_hidden_layers"],
        "qwen3next.full_attention_interval": base["full_attention_interval"],
        "qwen3next.ssm.conv_kernel": base["linear_conv_kernel_dim"],
        "qwen3next.ssm.state_size": base["linear_key_head_dim"],
        "qwen3next.ssm.group_count": base["linear_num_key_heads"],
        "qwen3next.ssm.time_step_rank": base["linear_num_value_heads"],
        "qwen3next.ssm.inner_size": base["linear_value_head_dim"] * base["linear_num_value_heads"],
    }


def test_qwen3next_gguf_state_matches_the_config():
    """The state read through the ssm.* names equals the one read from config.json."""
    from vramkit.families.recurrent import recurrent_state
    from vramkit.ingest.gguf_file import config_from_metadata

    base = sweep_configs()["qwen3-next-80b-a3b-instruct"]
    assert recurrent_state(config_from_metadata(_qwen3next_meta())) == recurrent_state(base)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ssm.time_step_rank", 0),  # was ZeroDivisionError
        ("ssm.time_step_rank", None),  # was KeyError
        ("ssm.conv_kernel", None),
        ("ssm.group_count", None),
        ("ssm.inner_size", None),
        ("ssm.inner_size", 4097),  # not a multiple of the value heads: was silently floored
    ],
)
def test_qwen3next_gguf_state_refusals(key, value):
    from vramkit.families.recurrent import recurrent_state
    from vramkit.ingest.gguf_file import config_from_metadata

    meta = _qwen3next_meta()
    if value is None:
        del meta[f"qwen3next.{key}"]
    else:
        meta[f"qwen3next.{key}"] = value
    with pytest.raises(VramkitError, match=key.split(".")[1]):
        recurrent_state(config_from_metadata(meta))
