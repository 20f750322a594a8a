"""Units: bytes are ints inside; GB = 1e9 (file sizes), GiB = 2**30 (device memory). Never mixed silently."""

from __future__ import annotations

from .errors import VramkitError

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


def parse_size(text: str | int | float) -> int:
    """Parse '80GB', '141 GB', '96GiB', '512 MiB' or a plain byte count into integer bytes.

    A bare number is bytes. The unit is required to say GB (1e9) or GiB (2**30); 'G' alone is refused.
    """
    if isinstance(text, bool):
        raise VramkitError(f"size must be a number of bytes or a string like '80GB', got {text!r}.")
    if isinstance(text, int | float):
        if text < 0 or text != text or text in (float("inf"), float("-inf")):
            raise VramkitError(f"size must be a finite non-negative number of bytes, got {text!r}.")
        return int(text)
    s = str(text).strip().replace(" ", "").replace(",", "").upper()
    if s.isascii() and s.isdigit():
        return int(s)
    for unit in sorted(_SIZE_UNITS, key=len, reverse=True):
        if s.endswith(unit):
            number = s[: -len(unit)]
            try:
                value = float(number)
            except ValueError:
                break
            if value < 0 or value != value or value == float("inf"):
                break
            return round(value * _SIZE_UNITS[unit])
    raise VramkitError(
        f"cannot read size {text!r}: write a number with one of the units "
        "B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)."
    )
