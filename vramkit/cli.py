"""Command line: ``python -m vramkit <command> …``. Each command lives in `vramkit.commands.<name>`
with ``add_arguments(parser)`` and ``run(args) -> int``; this module only dispatches and turns
`VramkitError` into a one-line message and exit status 2."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

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


class UsageError(VramkitError):
    """A command line argparse cannot read (unknown option, missing value, bad number)."""


def _ascii_int(text: str) -> int:
    """argparse's ``type=int``, ASCII digits only (``int`` also reads '٣' and '１２')."""
    body = text.strip()
    if not body.lstrip("+-").isascii() or not body.lstrip("+-").isdigit():
        raise ValueError(text)
    return int(body)


def _ascii_float(text: str) -> float:
    """argparse's ``type=float``, ASCII only and finite (no 'nan', 'inf', '１')."""
    value = float(text) if text.isascii() else float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _columns() -> int:
    """`shutil.get_terminal_size().columns` (``$COLUMNS``, else the terminal's, else 80) without
    importing shutil, which argparse's help formatter does on the first ``add_argument`` (it
    brings bz2, lzma and fnmatch: ~4 ms of every command's start)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, as wide as the terminal (the same width argparse picks)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:  # fmt: skip
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one `vramkit: error:` line (exit 2), not a usage screen;
    ``type=int`` / ``type=float`` accept ASCII, finite numbers only."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.register("type", int, _ascii_int)
        self.register("type", float, _ascii_float)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help).")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `only`, import just that command's module and build just its
    parser (fast start-up: a command line that starts with a command never reaches another's);
    ``""``: every command listed, none imported, enough for the top-level help and usage errors."""
    parser = _Parser(
        prog="python -m vramkit",
        description="How much GPU memory a large model really needs, and why.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        if only is not None and name != only:
            if not only:
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
    try:
        bad = next((a for a in argv if not isinstance(a, str)), None)
        if bad is not None:
            raise UsageError(f"command-line arguments must be text, got {bad!r:.60}.")
        # a command first: only its module is imported; anything else (--help, a typo, nothing)
        # needs no command module at all — the top-level help lists COMMANDS' one-liners
        args = build_parser(first if first in COMMANDS else "").parse_args(argv)
        if not hasattr(args, "_run"):  # the command came later (after ``--``): parse again
            args = build_parser(args.command).parse_args(argv)
        empty = next(
            (k for k, v in vars(args).items() if isinstance(v, str) and not v.strip()), None
        )
        if empty is not None:
            flag = empty.rstrip("_").replace("_", "-")
            raise UsageError(f"--{flag} was given an empty value; give one (see --help).")
        return int(args._run(args) or 0)
    except VramkitError as err:
        print(f"vramkit: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `| head`
        return 0
    except KeyboardInterrupt as err:
        why = f" by {err}" if str(err) else ""
        print(f"vramkit: interrupted{why}.", file=sys.stderr, flush=True)
        _quiet_after_interrupt()
        return 130


def _quiet_after_interrupt() -> None:
    """After the one 'interrupted' line, keep the shutdown quiet: an interrupted report can leave
    an nbclient task whose 'Kernel died' traceback asyncio would log while the interpreter exits."""
    import logging

    logging.disable(logging.CRITICAL)


def _one_line(message: str) -> str:
    """The message on one line (newlines a user put in a value are shown as spaces)."""
    return " ".join(message.split("\n")) if "\n" in message else message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
