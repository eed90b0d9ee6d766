"""A piece of work on a node that runs in a thread of its own when it is due, never two at
once (the detail pass, the connection probe): the poll only asks it to start."""

from __future__ import annotations

import threading
import time


class PeriodicWork:
    def __init__(self, name: str, every_s: float) -> None:
        self.name = name
        self.every_s = every_s
        self.next_at = 0.0
        self.thread: threading.Thread | None = None
        self.closing = False
        self.lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def maybe_start(self) -> None:
        """Start a pass when one is due; safe to call from several poll threads at once."""
        with self.lock:
            if self.closing or self.busy or time.monotonic() < self.next_at:
                return
            self.next_at = time.monotonic() + self.every_s
            self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self.thread.start()

    def wait(self, timeout: float) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError
