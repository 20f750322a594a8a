"""The one error type vramkit raises for bad input, with nearest-name suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class VramkitError(ValueError):
    """Bad input: the message says what was given, what is allowed, and the nearest valid names."""


def unknown_name(kind: str, given: object, valid: Iterable[str]) -> VramkitError:
    """Build the error for an unknown id/name of `kind`, listing valid choices and close matches."""
    choices = sorted(str(v) for v in valid)
    close = difflib.get_close_matches(str(given), choices, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(choices[:40]) + (" …" if len(choices) > 40 else "")
    return VramkitError(f"unknown {kind} {given!r}.{hint} Valid {kind}s: {shown}.")


def _is_ascii_integer(text: str) -> bool:
    """True for an optional '-' then ASCII digits only ('¹' or '٣' pass str.isdigit but not int())."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


def require_int(name: str, value: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Return `value` as an int if it is a whole number in [minimum, maximum], else raise VramkitError."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and _is_ascii_integer(value.strip()):
            value = int(value.strip())
        else:
            raise VramkitError(f"{name} must be a whole number, got {value!r}.")
    if value < minimum:
        raise VramkitError(f"{name} must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise VramkitError(f"{name} must be <= {maximum:,}, got {value:,}.")
    return value


def require_number(
    name: str, value: object, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    """Return `value` as a finite float in [minimum, maximum], else raise VramkitError."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise VramkitError(f"{name} must be a number, got {value!r}.") from None
    if isinstance(value, bool) or number != number or number in (float("inf"), float("-inf")):
        raise VramkitError(f"{name} must be a finite number, got {value!r}.")
    if number < minimum:
        raise VramkitError(f"{name} must be >= {minimum}, got {number}.")
    if maximum is not None and number > maximum:
        raise VramkitError(f"{name} must be <= {maximum}, got {number}.")
    return number
