"""Text from outside (a config value, a server's error, a statement) made safe for a terminal:
control characters shown as escapes, so nothing read can move the cursor, ring the bell or
change the terminal's state."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every control character but tab and newline written as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None
