"""The one error type vramkit raises for bad input, with nearest-name suggestions."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable


class VramkitError(ValueError):
    """Bad input: the message says what was given, what is allowed, and the nearest valid names."""


def unknown_name(
    kind: str, given: object, valid: Iterable[str], *, close: Iterable[str] | None = None
) -> VramkitError:
    """Build the error for an unknown id/name of `kind`, listing valid choices and close matches
    (`close`: the caller's own nearest names; default: difflib's over `valid`)."""
    choices = sorted(str(v) for v in valid)
    if close is None:
        close = difflib.get_close_matches(str(given), choices, n=3, cutoff=0.5)
    close = list(close)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(choices[:40]) + (" …" if len(choices) > 40 else "")
    return VramkitError(f"unknown {kind} {given!r}.{hint} Valid {kind}s: {shown}.")


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
        raise VramkitError(f"{name} must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise VramkitError(f"{name} must be <= {maximum:,}, got {value:,}.")
    return value


def parse_int(name: str, text: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number written as text (a command-line value, a field of a spec string such as
    ``rtx-4090-24gb:2``): ASCII digits with an optional '-', then `require_int`'s range check.
    An int passes through `require_int` unchanged."""
    if isinstance(text, str):
        stripped = text.strip()
        if not _is_ascii_integer(stripped) or len(stripped.lstrip("-")) > 30:
            raise VramkitError(f"{name} must be a whole number, got {text!r:.80}.")
        return require_int(name, int(stripped), minimum=minimum, maximum=maximum)
    return require_int(name, text, minimum=minimum, maximum=maximum)


def _kind(value: object) -> str:
    """'text '2'', 'bool True', 'float 2.5' … for an error message (at most ~80 characters)."""
    kind = "text" if isinstance(value, str) else type(value).__name__
    shown = repr(value)
    return f"{kind} {shown if len(shown) <= 80 else shown[:79] + '…'}"


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
