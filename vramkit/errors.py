"""The one error type vramkit raises for bad input, with nearest-name suggestions."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping

MAX_MESSAGE_CHARS = 2000
"""Longest error message: a longer one (a value echoed without `shown`) is cut in the middle."""


class VramkitError(ValueError):
    """Bad input: the message says what was given, what is allowed, and the nearest valid names.

    A message longer than `MAX_MESSAGE_CHARS` is cut (its head and tail kept, the length told):
    the net under `shown`, so no error repeats a 10,000-character argument in full."""

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str) and len(args[0]) > MAX_MESSAGE_CHARS:
            text = args[0]
            args = (f"{text[:1500]}… ({len(text):,} chars) …{text[-300:]}",)
        super().__init__(*args)


MAX_SHOWN_CHARS = 80
"""Longest echo of a user's value in an error message (`shown`)."""
_SHOWN_ITEMS = 200
"""Most items (nested, strings counted by length / 80) a container may hold to be shown."""


def _small(value: object) -> bool:
    """True when `value` holds few enough items that its repr is short to build (iterative,
    bounded: a self-referencing or alias-bomb structure is walked at most `_SHOWN_ITEMS` steps)."""
    budget, stack = _SHOWN_ITEMS, [value]
    while stack:
        v = stack.pop()
        budget -= 1 + (len(v) // MAX_SHOWN_CHARS if isinstance(v, str | bytes) else 0)
        if budget < 0:
            return False
        if isinstance(v, Mapping):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend(v)
    return True


def shown(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """`repr(value)` for an error message, at most `limit` characters then ``… (N chars)``.

    The one place a user's value is echoed back: a 10,000-character argument is not repeated in
    full, a huge integer is named by its size (its decimal text is never built), and a large or
    self-nested container is named by its type and length (never turned into text in full).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a {value.bit_length():,}-bit integer"
    if isinstance(value, str | bytes):
        head = repr(value[:limit])
        if len(value) <= limit:
            return head
        return f"{head[:-1]}…{head[-1]} ({len(value):,} chars)"
    if isinstance(value, Mapping | list | tuple | set | frozenset) and not _small(value):
        return f"a {type(value).__name__} of {len(value):,} items"
    try:
        text = repr(value)
    except Exception:  # a user object whose repr fails
        text = f"a {type(value).__name__}"
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} chars)"


def unknown_name(
    kind: str, given: object, valid: Iterable[str], *, close: Iterable[str] | None = None
) -> VramkitError:
    """Build the error for an unknown id/name of `kind`, listing valid choices and close matches
    (`close`: the caller's own nearest names; default: difflib's over `valid`)."""
    choices = sorted(str(v) for v in valid)
    if close is None:
        key = given if isinstance(given, str) and len(given) <= 4 * MAX_SHOWN_CHARS else ""
        import difflib  # only when a name is unknown: not on every command's start

        close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5) if key else []
    close = list(close)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listed = ", ".join(choices[:40]) + (" …" if len(choices) > 40 else "")
    return VramkitError(f"unknown {kind} {shown(given)}.{hint} Valid {kind}s: {listed}.")


def _is_ascii_integer(text: str) -> bool:
    """True for an optional '-' then ASCII digits only ('¹' or '٣' pass str.isdigit but not int())."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


MAX_EXACT_FLOAT_INT = 2**53
"""Largest whole float accepted where an int is asked for (every int up to it is exact)."""


def require_int(name: str, value: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    """`value` as an int in [minimum, maximum], else a VramkitError naming `name`.

    Accepted: an int, a numpy integer, or a whole float up to `MAX_EXACT_FLOAT_INT` (``1e6``).
    Refused: text (``"2"``: the Python API does not read numbers out of strings; the command line
    and notebook parameters parse their own text, see `parse_int`), booleans, None, fractions.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_EXACT_FLOAT_INT:
        value = int(value)
    elif not isinstance(value, bool) and not isinstance(value, int):
        index = getattr(type(value), "__index__", None)  # numpy integers
        if index is None or type(value).__name__ in ("bool", "bool_"):
            raise VramkitError(f"{name} must be a whole number (an int), got {_kind(value)}.")
        value = int(index(value))
    if isinstance(value, bool):
        raise VramkitError(f"{name} must be a whole number (an int), got {_kind(value)}.")
    if value < minimum:
        raise VramkitError(f"{name} must be >= {minimum}, got {_whole(value)}.")
    if maximum is not None and value > maximum:
        raise VramkitError(f"{name} must be <= {maximum:,}, got {_whole(value)}.")
    return value


def _whole(value: int) -> str:
    """'1,234' or, past 200 bits, 'a 16,610-bit integer' (its digits are never built)."""
    return f"{value:,}" if value.bit_length() <= 200 else shown(value)


def parse_int(name: str, text: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number written as text (a command-line value, a field of a spec string such as
    ``rtx-4090-24gb:2``): ASCII digits with an optional '-', then `require_int`'s range check.
    An int passes through `require_int` unchanged."""
    if isinstance(text, str):
        stripped = text.strip()
        if not _is_ascii_integer(stripped) or len(stripped.lstrip("-")) > 30:
            raise VramkitError(
                f"{name} must be a whole number in ASCII digits 0-9, got {shown(stripped)}."
            )
        return require_int(name, int(stripped), minimum=minimum, maximum=maximum)
    return require_int(name, text, minimum=minimum, maximum=maximum)


def _kind(value: object) -> str:
    """'text '2'', 'bool True', 'float 2.5' … for an error message (see `shown`)."""
    kind = "text" if isinstance(value, str) else type(value).__name__
    return f"{kind} {shown(value)}"


def require_number(
    name: str, value: object, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    """`value` as a finite float in [minimum, maximum], else a VramkitError naming `name`.

    Accepted: an int or float (numpy numbers too). Refused: text (``"0.9"``; as `require_int`),
    booleans, None, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise VramkitError(f"{name} must be a number (an int or float), got {_kind(value)}.")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise VramkitError(f"{name} must be a finite number, got {_kind(value)}.") from None
    if not math.isfinite(number):
        raise VramkitError(f"{name} must be a finite number, got {value!r}.")
    if number < minimum:
        raise VramkitError(f"{name} must be >= {minimum}, got {number}.")
    if maximum is not None and number > maximum:
        raise VramkitError(f"{name} must be <= {maximum}, got {number}.")
    return number
