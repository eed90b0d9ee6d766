"""Methods side by side: identical data (same seed, checked by checksum) in each method's table,
the methods run one after another, optionally under the same concurrent workload, one row per
method in one table."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from clustertop.actions.cleanup.job import CHUNKED, CleanupJob, CleanupSpec
from clustertop.actions.cleanup.throttle import ClusterGauge
from clustertop.actions.jobs import Job
from clustertop.actions.seed import HYPERTABLE, SCHEMA, load_cluster
from clustertop.actions.workload.builtin import BuiltinWorkload
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.core.errors import InputError
from clustertop.core.mixes import resolve_pattern
from clustertop.core.nodes import NodeSpec

# Each method cleans its own table of the cleanup benchmark, as the original scripts did.
METHOD_TABLES = {
    "partition_drop": "cleanup_partitioned",
    "truncate": "cleanup_truncate",
    "copy": "cleanup_copy",
    "batch_delete": "cleanup_batch",
}
# Where TimescaleDB is installed: partition_drop on the same rows in a hypertable, one chunk a
# day, which drops its chunks with drop_chunks.
HYPERTABLE_METHOD = "drop_chunks"
COMPARABLE = (*METHOD_TABLES, HYPERTABLE_METHOD)


def method_and_table(name: str) -> tuple[str, str]:
    """The cleanup method a compared name runs, and the table it runs on."""
    if name == HYPERTABLE_METHOD:
        return "partition_drop", HYPERTABLE
    return name, METHOD_TABLES[name]
COLUMNS = (
    ("method", "method"),
    ("duration_s", "duration s"),
    ("rows_deleted", "rows deleted"),
    ("rows_per_s", "rows/s"),
    ("max_lag_s", "max lag s"),
    ("workload_p99_ms", "p99 ms"),
    ("fragmentation_after", "frag after"),
    ("rows_lost", "rows lost"),
)
FORMATS = ("table", "md", "csv", "json")


def parse_methods(text: str) -> tuple[str, ...]:
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in methods if m not in COMPARABLE]
    if not methods or unknown:
        raise InputError("--methods", text, f"a comma-separated list of {', '.join(COMPARABLE)}")
    if len(set(methods)) != len(methods):
        raise InputError("--methods", text, "names a method twice")
    return methods


@dataclass(frozen=True)
class CompareSpec:
    base: CleanupSpec  # cluster, retention, batch size, throttling: the same for every method
    methods: tuple[str, ...]
    rows: int
    seed: int = 1
    workload_pattern: str | None = None
    workload_tps: float | None = None
    workload_connections: int = 2


class CompareJob(Job):
    """Runs each method as a job of its own, in one group (so a Jobs view can line them up as
    they finish); `start_job` starts them, in a registry when a client keeps one."""

    def __init__(
        self,
        spec: CompareSpec,
        node: NodeSpec,
        start_job: Callable[[Job], object] | None = None,
    ) -> None:
        load = f" under {spec.workload_pattern}" if spec.workload_pattern else ""
        super().__init__(
            kind="compare",
            title=f"compare {','.join(spec.methods)} on {spec.rows:,} rows{load}",
            cluster=spec.base.cluster.name,
            unit="methods",
        )
        self.spec = spec
        self.node = node
        self.start_job = start_job or (lambda job: job.start())
        self.rows: list[dict[str, Any]] = []
        self.running_child: Job | None = None

    def result_rows(self) -> tuple[dict[str, Any], ...]:
        return tuple(dict(r) for r in self.rows)

    def cancel(self) -> None:
        super().cancel()
        current = self.running_child
        if current is not None:
            current.cancel()

    def run(self) -> Sequence[tuple[str, str]]:
        spec = self.spec
        self.progress(0, float(len(spec.methods)))
        tables = tuple(method_and_table(m)[1] for m in spec.methods)
        self.log(f"loading {spec.rows:,} rows (seed {spec.seed}) into {', '.join(tables)}")
        report = load_cluster(spec.base.cluster, rows=spec.rows, seed=spec.seed, tables=tables)
        checksums = {t.checksum for t in report.tables}
        if len(checksums) != 1:
            raise RuntimeError(f"the loaded tables differ: checksums {sorted(checksums)}")
        self.log(f"identical data in every table: checksum {next(iter(checksums))[:16]}")
        for index, method in enumerate(spec.methods):
            self.check_cancelled()
            self._settle()
            self.rows.append(self._one(method))
            self.log(format_row(self.rows[-1]))
            self.progress(index + 1)
        return tuple((r["method"], f"{r['rows_per_s']:,.0f} rows/s") for r in self.rows)

    def _settle(self) -> None:
        """Each method starts with the replicas caught up: the load's and the previous
        method's replication must not show as this method's lag."""
        gauge = ClusterGauge(self.spec.base.cluster, self.node.name).start()
        try:
            started = time.monotonic()
            if not gauge.wait_caught_up(cancelled=lambda: self.cancel_requested):
                self.check_cancelled()
                self.log("replicas still lag after 300 s: going on anyway")
            elif time.monotonic() - started > 1:
                self.log(f"waited {time.monotonic() - started:.1f} s for the replicas to catch up")
        finally:
            gauge.close()

    def _one(self, method: str) -> dict[str, Any]:
        spec = self.spec
        cleanup_method, table_name = method_and_table(method)
        chunked = cleanup_method in CHUNKED  # pacing applies to these only
        table = f"{SCHEMA}.{table_name}"
        cleanup = CleanupJob(
            replace(
                spec.base, method=cleanup_method, table=table, verify_kept=True, drop_old=True,
                target_lag_s=spec.base.target_lag_s if chunked else None,
                chunk_time_s=spec.base.chunk_time_s if chunked else None,
            ),
            self.node,
            group=f"compare-{self.id}",
        )
        workload = self._workload(table)
        if workload is not None:
            workload.start()
        self.running_child = cleanup
        try:
            self.start_job(cleanup)
            while cleanup.snapshot().running:
                cleanup.join(0.2)
                if self.cancel_requested:
                    cleanup.cancel()
        finally:
            self.running_child = None
            if workload is not None:
                workload.cancel()
                workload.join(10)
        snap = cleanup.snapshot()
        self.check_cancelled()
        if cleanup.result is None:
            raise RuntimeError(f"{method} failed: {snap.error}")
        row = dict(cleanup.result)
        row.pop("chunk_rows", None)
        row["method"] = method  # drop_chunks: partition_drop on the hypertable
        load = workload.result if workload is not None else None
        row["workload_p99_ms"] = load["latency_ms"]["p99"] if load else None
        row["workload_tps"] = load["achieved_tps"] if load else None
        row["workload_operations"] = dict(load["operations"]) if load else {}
        row["workload_errors"] = dict(load["errors_by_kind"]) if load else {}
        if method == "truncate":
            row["rows_lost_expected"] = True  # truncate removes everything, by definition
        return row

    def _workload(self, table: str) -> BuiltinWorkload | None:
        spec = self.spec
        if not spec.workload_pattern:
            return None
        mix = resolve_pattern(spec.workload_pattern)
        return BuiltinWorkload(
            WorkloadSpec(
                node=self.node,
                table=table,
                pattern=spec.workload_pattern,
                mix=mix,
                connections=spec.workload_connections,
                target_tps=spec.workload_tps,
                duration_s=None,  # until the cleanup ends
                processes=1,
            ),
            spec.base.cluster.name,
        )


def format_row(row: dict[str, Any]) -> str:
    return ", ".join(f"{label} {_cell(row.get(key))}" for key, label in COLUMNS)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def render_rows(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(list(rows), indent=2, default=str)
    header = [label for _key, label in COLUMNS]
    body = [[_cell(r.get(key)) for key, _label in COLUMNS] for r in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([key for key, _label in COLUMNS])
        for r in rows:
            writer.writerow(["" if r.get(k) is None else r.get(k) for k, _l in COLUMNS])
        return out.getvalue().rstrip("\n")
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(b, widths, strict=True))
        )
        for b in body
    ]
    return "\n".join(lines)
