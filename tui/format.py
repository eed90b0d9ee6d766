"""Turning sample values into short cell text; None always reads as a dash, never as 0."""

from __future__ import annotations

import time

from clustertop.collectors.samples import DetailSample
from clustertop.core.units import iec

DASH = "-"


def seconds(value: float | None) -> str:
    if value is None:
        return DASH
    if value < 10:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{value:.0f}s"
    return f"{value / 3600:.1f}h"


def eta(value: float | None) -> str:
    """A job's time left or taken, in at most 4 characters (the Jobs table at 80 columns):
    seconds under 100 s, then minutes, then hours."""
    if value is None:
        return DASH
    if value < 99.5:
        return f"{value:.0f}s"
    if value < 5970:
        return f"{value / 60:.0f}m"
    return f"{value / 3600:.1f}h" if value < 35_640 else f"{value / 3600:.0f}h"


def lag(value: float | None, lower_bound: bool = False) -> str:
    """A lag; one that is only a lower bound reads `>=16s`."""
    text = seconds(value)
    return f">={text}" if lower_bound and value is not None else text


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


def ago(stamp: str | None, now: float | None) -> str:
    """A server's timestamp (ISO, with its offset) as an age at `now`: "3m ago". A stamp
    without an offset, or no clock to compare with, is shown as it is, to the minute."""
    if not stamp:
        return DASH
    from datetime import datetime

    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp[:16]
    if when.tzinfo is None or now is None:
        return stamp[:16]
    age = now - when.timestamp()
    if age < 0:
        return stamp[:16]  # the server's clock is ahead of ours: no honest age
    if age < 60:
        return f"{int(age)}s ago"
    return f"{duration(age)} ago"


BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None], width: int = 12, floor: float = 0.0) -> str:
    """The last `width` values as block characters, scaled to their own maximum or `floor`,
    whichever is larger: noise far below the floor stays flat instead of filling the height."""
    tail = values[-width:]
    known = [v for v in tail if v is not None]
    top = max([*known, floor]) if known else 0.0
    out = []
    for v in tail:
        if v is None:
            out.append(" ")
        elif top <= 0:
            out.append(BLOCKS[1])
        else:
            out.append(BLOCKS[max(1, round(v / top * (len(BLOCKS) - 1)))])
    return "".join(out).rjust(width)


def rate(value: float | None) -> str:
    if value is None:
        return DASH
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def ms(value: float | None) -> str:
    """Milliseconds: two decimals below 10, one below 1000, whole above."""
    if value is None:
        return DASH
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def size(value: float | None) -> str:
    """IEC units (KiB, MiB) as everywhere else: see clustertop.core.units."""
    return iec(value, unknown=DASH)


def count(value: float | None) -> str:
    if value is None:
        return DASH
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}"


# The detail pass's interval (collectors.poller.PollTarget.detail_interval).
DETAIL_EVERY_S = 5.0


def detail_note(detail: DetailSample | None, now: float | None, every_s: float = DETAIL_EVERY_S) -> str:
    """Why the slower figures (statements, tables, shards) are not fresh, or '' when they are:
    their age once it passes two detail intervals, and the error of the last read, if any."""
    if detail is None or now is None:
        return ""
    if not detail.at:
        return f"unreadable: {detail.error}" if detail.error else ""
    age = now - detail.at
    stale = age > 2 * every_s
    if not stale and not detail.error:
        return ""
    stamp = time.strftime("%H:%M:%S", time.localtime(detail.at))
    note = f"as of {stamp}, {age:.0f} s ago" if stale else "last read failed"
    return note + (f": {detail.error}" if detail.error else "")
