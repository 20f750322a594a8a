"""Units: bytes are ints inside; GB = 1e9 (file sizes), GiB = 2**30 (device memory). Never mixed silently."""

from __future__ import annotations

import math
import re

from .errors import VramkitError, shown

KB = 10**3
MB = 10**6
GB = 10**9
TB = 10**12
KiB = 2**10
MiB = 2**20
GiB = 2**30
TiB = 2**40

_SIZE_UNITS = {
    "B": 1, "KB": KB, "MB": MB, "GB": GB, "TB": TB,
    "KIB": KiB, "MIB": MiB, "GIB": GiB, "TIB": TiB,
}  # fmt: skip


def to_gb(n_bytes: int | float) -> float:
    """Bytes → GB (10**9 bytes)."""
    return n_bytes / GB


def to_gib(n_bytes: int | float) -> float:
    """Bytes → GiB (2**30 bytes)."""
    return n_bytes / GiB


def fmt_gb(n_bytes: int | float, digits: int = 2) -> str:
    """'159.61 GB' (decimal gigabytes)."""
    return f"{n_bytes / GB:,.{digits}f} GB"


def fmt_gib(n_bytes: int | float, digits: int = 2) -> str:
    """'148.65 GiB' (binary gibibytes)."""
    return f"{n_bytes / GiB:,.{digits}f} GiB"


def fmt_params(n: int | float, digits: int = 2) -> str:
    """Parameter counts in decimal units: '284.34 B', '13.71 B', '7.00 M'."""
    if abs(n) >= 1e12:
        return f"{n / 1e12:,.{digits}f} T"
    if abs(n) >= 1e9:
        return f"{n / 1e9:,.{digits}f} B"
    return f"{n / 1e6:,.{digits}f} M"


MAX_SIZE_BYTES = 2**64 - 1
"""Largest size read (an unsigned 64-bit byte count, about 18,446,744 TB): far above any
machine's memory or model file, and a bound that keeps every figure computed from it finite."""
MAX_NUMBER_CHARS = 40
"""Longest number written in a size or rate ('1.5e3' … ; a 5,000-digit number is refused)."""
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:E[+-]?[0-9]+)?")
"""A decimal number in ASCII digits with an optional exponent (upper case: text is upper-cased)."""


def read_number(text: str, what: str, whole: str | None = None) -> float | None:
    """The number `text` (upper-cased, no spaces) writes in ASCII digits, None when it is not
    one; refused with a VramkitError: non-ASCII digits ('１２８', '١٢٨'), more than
    `MAX_NUMBER_CHARS` characters, a number beyond a float's range. `whole`: the text the
    number was cut from, as the error shows it."""
    if not text.isascii():
        if any(ch.isdigit() or ch.isnumeric() for ch in text):
            raise VramkitError(
                f"{what} {shown(whole if whole is not None else text)} has non-ASCII digits; write the number in ASCII digits "
                "0-9 (as counts are)."
            )
        return None
    if len(text) > MAX_NUMBER_CHARS:
        raise VramkitError(
            f"{what} {shown(text)} is {len(text):,} characters long; a number has at most "
            f"{MAX_NUMBER_CHARS}."
        )
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value):
        raise VramkitError(f"{what} {shown(text)} is beyond the range of a number.")
    return value


def parse_size(text: str | int | float, *, what: str = "size") -> int:
    """Parse '80GB', '141 GB', '96GiB', '512 MiB' or '0' into integer bytes, at most `MAX_SIZE_BYTES`.

    Text needs a unit: 'GB' (1e9) or 'GiB' (2**30); 'G' alone and a bare number ('128': GB? GiB?
    bytes?) are refused, with the reading meant suggested ('did you mean 128GB?'); '0' alone is
    zero. Digits are ASCII (as in counts). A Python int (or a whole float) is a byte count: that
    is the API's contract for numbers (`build_machine(ram=137_438_953_472)`), text is for people.
    """
    if isinstance(text, bool):
        raise VramkitError(
            f"{what} must be a number of bytes or a string like '80GB', got {text!r}."
        )
    if isinstance(text, int | float) or _is_number(text):
        value = float(text) if not isinstance(text, int) else text
        if value != value or value < 0 or value > MAX_SIZE_BYTES:
            raise VramkitError(
                f"{what} must be a whole number of bytes in 0..{MAX_SIZE_BYTES:,} (2**64 - 1), got "
                f"{shown(text)}."
            )
        if isinstance(value, float) and not value.is_integer():
            raise VramkitError(f"{what} in bytes must be a whole number, got {shown(text)}.")
        return int(value)
    if not isinstance(text, str):
        raise VramkitError(
            f"{what} must be a string like '80GB' or a number of bytes, got "
            f"{type(text).__name__} {shown(text)}."
        )
    s = text.strip().replace(" ", "").replace(",", "").upper()
    bare = read_number(s, what)
    if bare is not None:
        if bare == 0:
            return 0
        n = f"{bare:g}" if not s.isdigit() else s
        raise VramkitError(
            f"{what} {shown(text)} has no unit: did you mean {n}GB? Write a unit: B, KB, MB, GB, "
            f"TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024); '{n}B' for bytes."
        )
    for unit in sorted(_SIZE_UNITS, key=len, reverse=True):
        if s.endswith(unit):
            value = read_number(s[: -len(unit)], what, text)
            if value is None:
                break
            n_bytes = value * _SIZE_UNITS[unit]
            if n_bytes > MAX_SIZE_BYTES:
                raise VramkitError(
                    f"{what} {shown(text)} is more than {MAX_SIZE_BYTES:,} bytes (2**64 - 1, "
                    "about 18,446,744TB), the most vramkit reads."
                )
            return round(n_bytes)
    raise VramkitError(
        f"cannot read {what} {shown(text)}: write a number with one of the units "
        "B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)."
    )


def _is_number(value: object) -> bool:
    """True for a numpy integer or float (not bool): a byte count as the API's ints are."""
    import numbers

    return isinstance(value, numbers.Real) and type(value).__name__ not in ("bool", "bool_")
