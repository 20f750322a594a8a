"""Which weights a printed command loads, and how to get them.

vLLM / SGLang take the checkpoint's Hugging Face repo id (`ModelSpec.hf_repo`, sourced in
data/models.yaml); a model read from a config file has none, and the command says so with a
placeholder. A llama.cpp plan names a GGUF file: a recipe whose sources name a publisher's GGUF
repository (antirez's ds4 mixes) points there; a llama.cpp file type (``gguf-Q4_K_M``) is made
from the Hugging Face checkpoint with llama.cpp's own tools (``convert-<TYPE>``: the converter
alone) — ``convert_hf_to_gguf.py`` then
``llama-quantize [--allow-requantize] [--imatrix FILE] IN.gguf OUT.gguf TYPE`` (--allow-requantize
where the converter's file holds block-type tensors the type changes; tools/quantize/quantize.cpp at
ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f, the engine the flags are checked
against); a custom recipe map (``custom:…``) gets llama-quantize's ``--tensor-type`` overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog import ModelSpec
from ..quant import Recipe, requantized

PLACEHOLDER_REPO = "HF_REPO_OR_LOCAL_PATH"
"""What `vllm serve` / SGLang get when the model has no sourced Hugging Face repo id."""
IMATRIX_TYPES = frozenset({"IQ3_XXS", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_M", "IQ1_S", "Q2_K_S"})
"""File types llama-quantize refuses to write without an importance matrix (tensor_requires_imatrix,
src/llama-quant.cpp L856-877 at the commit above; `vramkit.runtimes.llamacpp.mix` models the same rule)."""


@dataclass(frozen=True)
class ModelFile:
    """What a command loads: `ref` (a repo id or a GGUF file name), where it comes from
    (`source`: a URL, or None when it must be made), and the `steps` (shell lines) to get it."""

    ref: str
    source: str | None
    steps: tuple[str, ...]
    note: str


def serve_ref(model: ModelSpec) -> ModelFile:
    """The repo id `vllm serve` / ``sglang.launch_server --model-path`` take for `model`."""
    if model.hf_repo:
        url = f"https://huggingface.co/{model.hf_repo}"
        src = model.hf_repo_source.url if model.hf_repo_source else url
        return ModelFile(model.hf_repo, url, (), f"the official checkpoint (repo id: {src})")
    return ModelFile(
        PLACEHOLDER_REPO,
        None,
        (),
        f"no Hugging Face repo is sourced for {model.id!r}: replace {PLACEHOLDER_REPO} with the "
        "checkpoint's repo id or local folder",
    )


def _stem(model: ModelSpec) -> str:
    """The file-name stem: the repo's name ('DeepSeek-V4-Flash'), else the model id (a config
    file's model is named after its folder, never by a path of this machine)."""
    base = model.hf_repo.split("/")[1] if model.hf_repo else model.id
    return re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-") or "model"


def _publisher(recipe: Recipe, model: ModelSpec) -> str | None:
    """A huggingface.co repository among the recipe's sources that is not the checkpoint's own."""
    own = f"huggingface.co/{model.hf_repo}".lower() if model.hf_repo else None
    for s in recipe.sources:
        url = (s.url or "").rstrip("/")
        m = re.fullmatch(r"https://huggingface\.co/([^/]+/[^/]+)", url)
        if m and (own is None or own not in url.lower()):
            return url
    return None


def _published_for(recipe: Recipe, model: ModelSpec) -> bool:
    """True when the recipe's own text names this model's file ('antirez's DeepSeek-V4-Flash-…
    GGUF' publishes Flash's, not Pro's): the model's repo name followed by '-' or a space."""
    name = _stem(model)
    text = " ".join([recipe.description, *(f"{s.quote} {s.note}" for s in recipe.sources)])
    return re.search(re.escape(name) + r"(?![A-Za-z0-9]|-Base)", text) is not None


def gguf_file(model: ModelSpec, recipe: Recipe) -> ModelFile:
    """The GGUF file a llama.cpp plan of `model` under `recipe` loads, and how to get it."""
    stem = _stem(model)
    pub = _publisher(recipe, model)
    if pub and not _published_for(recipe, model):
        tools = [u for u in (x.url for x in recipe.sources) if u and "github.com" in u]
        return ModelFile(
            f"{stem}-{recipe.id}.gguf",
            None,
            (),
            f"{recipe.name}: no file of this mix for {model.id} is published in its sources "
            f"({pub} holds another model's); it is written by the tool its sources cite"
            + (f" ({tools[-1]})" if tools else ""),
        )
    if pub:
        name = f"{stem}-{recipe.id}.gguf"
        return ModelFile(
            name,
            pub,
            (f"hf download {pub.removeprefix('https://huggingface.co/')} --include '*.gguf'",),
            f"{recipe.name}: the publisher's GGUF at {pub} (pick the file of this recipe in its "
            f"list, then pass it to -m; {name} stands for it)",
        )
    repo = model.hf_repo or PLACEHOLDER_REPO
    bf16 = f"{stem}-BF16.gguf"
    fetch = (
        f"hf download {repo} --local-dir {stem}",
        f"python convert_hf_to_gguf.py {stem} --outtype bf16 --outfile {bf16}",
    )
    if recipe.outtype:  # the converter's own file (convert-<TYPE>): no llama-quantize pass
        name = f"{stem}-{recipe.outtype}.gguf"
        return ModelFile(
            name,
            None,
            (
                fetch[0],
                f"python convert_hf_to_gguf.py {stem} --outtype "
                f"{recipe.outtype.lower()} --outfile {name}",
            ),
            f"no published {recipe.outtype} file is sourced for {model.id}: the converter "
            "writes it from the Hugging Face checkpoint",
        )
    if recipe.ftype:
        ftype = recipe.ftype
        name = f"{stem}-{ftype}.gguf"
        imat = recipe.imatrix or (recipe.imatrix is None and ftype in IMATRIX_TYPES)
        # the converter keeps MXFP4 experts (and V4's Q8_0): llama-quantize changes them only
        # with --allow-requantize (src/llama-quant.cpp L1306-1307), `vramkit.quant.requantized`
        requant = "--allow-requantize " if requantized(model, recipe) else ""
        steps = [*fetch]
        if imat:
            steps.append(f"llama-imatrix -m {bf16} -f CALIBRATION.txt -o imatrix.dat")
        steps.append(
            f"llama-quantize {requant}{'--imatrix imatrix.dat ' if imat else ''}{bf16} {name} "
            f"{ftype}"
        )
        return ModelFile(
            name,
            None,
            tuple(steps),
            f"no published {ftype} file is sourced for {model.id}: make it from the Hugging Face "
            "checkpoint with llama.cpp's converter and llama-quantize"
            + (" (this type needs an importance matrix)" if imat else ""),
        )
    name = f"{stem}-{re.sub(r'[^A-Za-z0-9._-]+', '_', recipe.id)}.gguf"
    overrides = " ".join(
        f"--tensor-type {sel}={fmt}" for sel, fmt in recipe.rules.items() if sel != "*"
    )
    default = recipe.rules.get("*", "Q8_0")
    return ModelFile(
        name,
        None,
        (*fetch, f"llama-quantize {overrides} {bf16} {name} {default}".replace("  ", " ")),
        f"{recipe.id}: no file is published for this mix; llama-quantize's --tensor-type "
        "overrides take llama.cpp tensor-name patterns, so map each selector to its GGUF tensor "
        "names before running it",
    )
