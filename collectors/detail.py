"""The detail pass of one node: statements, tables, partitions and shards, read every few
seconds on a connection and a thread of its own, beside the fast poll."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly, error_text
from clustertop.collectors.periodic import PeriodicWork
from clustertop.collectors.samples import DetailSample

if TYPE_CHECKING:
    from clustertop.collectors.poller import PollTarget


class DetailReader(PeriodicWork):
    """Statements, tables, partitions and shards: heavier, so read every few seconds on a
    connection of their own, in a thread of their own, never two at once."""

    def __init__(self, target: PollTarget) -> None:
        super().__init__(f"detail-{target.spec.key}", target.detail_interval)
        self.target = target
        self.collector = adapter_for(target.spec).collector(target.heartbeat_table)
        self.conn: Any = None
        self.latest: DetailSample | None = None

    def _run(self) -> None:
        spec = self.target.spec
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
            self.latest = DetailSample(at=time.time(), error=error_text(exc))
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
