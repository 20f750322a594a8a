"""A command line that realises a plan (`Flags`): one runtime's arguments, the notes beside them
and the weights file it loads. The engines' writers (`vramkit.runtimes.planning.FLAG_WRITERS`)
build it and `vramkit.plan.flags.flags_for` returns it; a count of GPUs (`fit`) never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .getfile import ModelFile  # a plan's GGUF file: read only where one is chosen


@dataclass(frozen=True)
class Flags:
    """Command-line arguments of one runtime for one plan; `command` is them joined for a shell."""

    runtime: str
    args: tuple[str, ...]
    notes: tuple[str, ...] = ()
    model_file: ModelFile | None = None
    """The weights the command loads and how to get them (`vramkit.plan.getfile`)."""

    @property
    def command(self) -> str:
        """The arguments as one shell-quoted line."""
        import shlex

        return " ".join(shlex.quote(a) for a in self.args)
