"""What clustertop itself sends to a node, and when: rates leave out exactly the statements and
transactions of ours that reached the server before its counters were read."""

from __future__ import annotations

import threading
import time
from collections import deque


class OwnActivity:
    # rows_read: rows our exact counts read, which the server's rows-read counter counts too.
    KINDS = ("queries", "transactions", "innodb_reads", "rows_read")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = dict.fromkeys(self.KINDS, 0)
        self._recent: dict[str, deque[tuple[float, int]]] = {
            kind: deque(maxlen=256) for kind in self.KINDS
        }

    def add(self, kind: str, count: int = 1) -> None:
        now = time.monotonic()
        with self._lock:
            self._totals[kind] += count
            self._recent[kind].append((now, count))

    def total(self, kind: str) -> int:
        with self._lock:
            return self._totals[kind]

    def before(self, kind: str, moment: float) -> int:
        """How many of `kind` were sent before `moment` (a time.monotonic() reading)."""
        with self._lock:
            later = 0
            for sent, count in reversed(self._recent[kind]):
                if sent < moment:
                    break
                later += count
            return self._totals[kind] - later
