"""One way to write a size everywhere (screens, CLI, plans, records' summaries): IEC binary
units, KiB = 1024 bytes, so "MiB" never hides a 1024 behind an "MB"."""

from __future__ import annotations

IEC_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def iec(value: float | None, unknown: str = "?") -> str:
    """12.3MiB; whole bytes below 1 KiB; `unknown` for None."""
    if value is None:
        return unknown
    amount = float(value)
    for unit in IEC_UNITS:
        if abs(amount) < 1024 or unit == IEC_UNITS[-1]:
            return f"{amount:.0f}B" if unit == "B" else f"{amount:.1f}{unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def mib(value: float) -> float:
    """Bytes in MiB, for charts whose axis is labelled MiB."""
    return value / 1_048_576
