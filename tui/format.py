"""Turning sample values into short cell text; None always reads as a dash, never as 0."""

from __future__ import annotations

DASH = "-"


def seconds(value: float | None) -> str:
    if value is None:
        return DASH
    if value < 10:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{value:.0f}s"
    return f"{value / 3600:.1f}h"


def ratio(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def count_of(used: int | None, limit: int | None) -> str:
    if used is None:
        return DASH
    return f"{used}/{limit}" if limit else str(used)


def duration(value: float | None) -> str:
    if value is None:
        return DASH
    value = int(value)
    days, rest = divmod(value, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m"
