"""Workload patterns: the share of each operation kind, in percent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clustertop.core.errors import InputError

KINDS = ("select", "insert", "update", "delete", "range")
WRITES = frozenset({"insert", "update", "delete"})
_LETTERS = {"S": "select", "I": "insert", "U": "update", "D": "delete", "R": "range"}

PATTERNS: dict[str, dict[str, int]] = {
    "oltp": {"select": 60, "insert": 15, "update": 20, "delete": 5},
    "read-heavy": {"select": 80, "insert": 10, "update": 10},
    "write-heavy": {"select": 20, "insert": 40, "update": 30, "delete": 10},
    "balanced": {"select": 50, "insert": 25, "update": 25},
    "time-series": {"insert": 70, "range": 30},
    "traffic": {"insert": 70, "select": 20, "update": 10},
    "point-select": {"select": 100},
}
# Every built-in pattern's name: the single-table mixes above, and the transaction patterns
# of the shop data set (actions/workload/patterns.py), in the order `workload patterns` lists.
BUILTIN_PATTERNS: tuple[str, ...] = (
    "oltp", "ecommerce", "olap", "reporting", "time-series", "social", "iot", "read-heavy",
    "write-heavy", "balanced", "traffic", "point-select",
)


def parse_mix(text: str, where: str = "--mix") -> dict[str, int]:
    """`I:S:U` numbers (the cleanup benchmark's traffic, e.g. 70:20:10), or letters with
    numbers like `S60,I20,U20` (S select, I insert, U update, D delete, R range read)."""
    text = text.strip()
    mix: dict[str, int] = {}
    try:
        if ":" in text and all(part.strip().isdigit() for part in text.split(":")):
            parts = [int(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            mix = dict(zip(("insert", "select", "update"), parts, strict=True))
        else:
            for item in text.replace(" ", "").split(","):
                letter, number = item[0].upper(), int(item[1:])
                if letter not in _LETTERS:
                    raise ValueError
                mix[_LETTERS[letter]] = mix.get(_LETTERS[letter], 0) + number
    except (ValueError, IndexError):
        raise InputError(
            where, text, "a mix is I:S:U (e.g. 70:20:10) or like S60,I20,U20"
        ) from None
    if any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise InputError(where, text, "shares must be >= 0 and add up to more than 0")
    return {k: v for k, v in mix.items() if v > 0}


def resolve_pattern(
    pattern: str,
    mix: str | None = None,
    custom: Mapping[str, Mapping[str, int]] | None = None,
    extra: Sequence[str] = (),
) -> dict[str, int]:
    """--mix wins; then a mix the config names ([workload.mixes]); then a built-in pattern.
    `extra`: every other name a pattern may have, for the error's list."""
    if mix:
        return parse_mix(mix)
    if custom and pattern in custom:
        return dict(custom[pattern])
    if pattern not in PATTERNS:
        known = ", ".join(dict.fromkeys([*PATTERNS, *(custom or {}), *extra]))
        raise InputError("--pattern", pattern, f"unknown pattern (known: {known})")
    return dict(PATTERNS[pattern])


def writes(mix: Mapping[str, int]) -> bool:
    return any(kind in WRITES for kind in mix)
