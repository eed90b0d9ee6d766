"""The detail pass of one node: statements, tables, partitions and shards, read every few
seconds on a connection and a thread of its own, beside the fast poll."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly, error_text
from clustertop.collectors.periodic import PeriodicWork
from clustertop.collectors.samples import DetailSample

if TYPE_CHECKING:
    from clustertop.collectors.poller import PollTarget


# A pass still running this long after its statement timeout is cut off from our side: the
# server did not enforce the timeout (a Citus coordinator waiting on a dead worker ignores it).
CUT_OFF_GRACE_S = 2.0


class DetailReader(PeriodicWork):
    """Statements, tables, partitions and shards: heavier, so read every few seconds on a
    connection of their own, in a thread of their own, never two at once.

    `latest` keeps the last figures read, with the time they were read (`at`): a failed or
    cut-off pass adds its error to them rather than replacing them, and the screens say how
    old they are."""

    def __init__(self, target: PollTarget) -> None:
        super().__init__(f"detail-{target.spec.key}", target.detail_interval)
        self.target = target
        self.collector = adapter_for(target.spec).collector(target.heartbeat_table)
        self.conn: Any = None
        self.latest: DetailSample | None = None
        self.pass_started: float | None = None  # monotonic start of the running pass
        self.cut_off_pass: float | None = None  # the pass (by its start) that was cut off

    def enforce_deadline(self) -> None:
        """Cut off a pass that outlived its statement timeout by CUT_OFF_GRACE_S."""
        started = self.pass_started
        if not self.busy or started is None or self.cut_off_pass == started:
            return
        if time.monotonic() - started > self.target.detail_timeout + CUT_OFF_GRACE_S:
            self.cut_off_pass = started
            adapter_for(self.target.spec).cut_off(self.conn)

    def _run(self) -> None:
        spec = self.target.spec
        self.pass_started = started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = adapter_for(spec).connect(
                    spec,
                    connect_timeout=self.target.connect_timeout,
                    statement_timeout=self.target.detail_timeout,
                )
            self.latest = self.collector.read_detail(
                self.conn, self.target.watched_tables, spec.database
            )
        except Exception as exc:  # a thread must hand back an error, never die with it
            self._drop_connection()
            error = error_text(exc)
            if self.cut_off_pass == started:
                error = (
                    f"detail read cut off after {time.monotonic() - started:.0f} s (the server "
                    f"did not stop it at its {self.target.detail_timeout:g} s timeout)"
                )
            previous = self.latest
            self.latest = (
                replace(previous, error=error)
                if previous is not None and previous.at
                else DetailSample(at=0.0, error=error)
            )
        finally:
            self.pass_started = None
        if self.closing:
            self._drop_connection()

    def _drop_connection(self) -> None:
        conn, self.conn = self.conn, None
        close_quietly(conn)

    def close(self) -> None:
        """Close now, or, while a pass runs, let that pass close it when done."""
        self.closing = True
        if self.busy:
            adapter_for(self.target.spec).cut_off(self.conn)
        else:
            self._drop_connection()
