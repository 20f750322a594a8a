"""Command line: ``python -m vramkit <command> …``. Each command lives in `vramkit.commands.<name>`
with ``add_arguments(parser)`` and ``run(args) -> int``; this module only dispatches and turns
`VramkitError` into a one-line message and exit status 2."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import VramkitError

COMMANDS: dict[str, str] = {
    "models": "the model catalog as a table",
    "formats": "weight storage formats and their real bits per weight",
    "weights": "weight bytes per tensor group under a recipe",
    "kv": "KV-cache bytes by layer kind at a context length, per runtime layout",
    "inspect": "read a config.json, safetensors headers, a GGUF file or a Hub id: exact bytes",
    "moe": "MoE total vs active bytes, experts a batch touches, resident bytes",
    "fit": "per-GPU memory budget and how many GPUs of a kind a model needs",
    "plan": "place a model on GPUs + host RAM: per-device plan, runtime flags, speed bounds",
    "article": "the source article reproduced cell by cell, then audited from first principles",
    "report": "run every notebook into an HTML report (executed notebooks + index.html)",
}
"""Command name → one-line help. Add a command: create vramkit/commands/<name>.py, add a line."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `only`, import just that command's module (fast start-up)."""
    parser = argparse.ArgumentParser(
        prog="python -m vramkit",
        description="How much GPU memory a large model really needs, and why.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"vramkit.commands.{name.replace('.', '_')}")
        p = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = argv[0] if argv else None
    parser = build_parser(first if first in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except VramkitError as err:
        print(f"vramkit: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `| head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
