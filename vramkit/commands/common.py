"""Arguments and resolution shared by the commands that take a model (weights, kv, moe, fit)."""

from __future__ import annotations

import argparse

from ..catalog import get_model


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--model ID | --config PATH | --from PATH_OR_ID [--online] (shared by the model commands)."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="catalog id (see `python -m vramkit models`)")
    src.add_argument("--config", metavar="PATH", help="a local config.json (or its folder)")
    src.add_argument(
        "--from",
        dest="from_",
        metavar="PATH_OR_ID",
        help="a model folder, config.json, .safetensors, .gguf file, Hugging Face Hub id, or a "
        "GGUF on the Hub as hf://OWNER/REPO/FILE.gguf (header only, with --online)",
    )
    p.add_argument(
        "--online",
        action="store_true",
        help="with --from HUB_ID or hf://…: allow reading config and headers from the Hub "
        "(no weights)",
    )


def resolve_model(args: argparse.Namespace):
    """The ModelSpec named by --model, read from --config, or ingested by --from."""
    if getattr(args, "from_", None):
        from ..ingest import ingest

        return ingest(args.from_, online=getattr(args, "online", False)).require_model()
    if getattr(args, "config", None):
        from ..model.configfile import model_from_config_file

        return model_from_config_file(args.config)
    return get_model(args.model)
