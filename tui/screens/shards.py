"""Screen 4: Citus shards per worker with skew against the threshold, hot shards and the
tenants in them, the busiest tenants, a running rebalance's or isolation's current step
(refreshed every 0.5 s, apart from the 5 s detail pass); and rows and bytes per partition of
the watched partitioned tables."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from clustertop.actions.jobs import JobSnapshot
from clustertop.collectors.samples import CitusSample, NodeSample, TableSample, TenantSample
from clustertop.core.units import mib
from clustertop.tui import format as fmt
from clustertop.tui.alerts import CRIT, OK, WARN, ratio_level
from clustertop.tui.screens.base import MonitorScreen, styled
from clustertop.tui.widgets.charts import BarChart


def citus_nodes(nodes: list[NodeSample]) -> list[tuple[NodeSample, CitusSample]]:
    return [
        (n, n.detail.citus) for n in nodes if n.detail is not None and n.detail.citus is not None
    ]


def partitioned_tables(nodes: list[NodeSample]) -> list[tuple[str, TableSample]]:
    """Each partitioned table once per cluster, read from the cluster's primary."""
    seen: set[str] = set()
    result = []
    for node in nodes:
        if node.detail is None or node.role in ("replica", "standby"):
            continue
        for table in node.detail.tables:
            key = f"{node.cluster}/{table.name}"
            if table.partitions and key not in seen:
                seen.add(key)
                result.append((node.cluster, table))
    return result


def unavailable_tables(citus: CitusSample, down: set[str]) -> list[str]:
    """Tables with a shard on a worker Citus marks inactive or that does not answer our poll
    (a stopped worker stays active in pg_dist_node until someone says otherwise)."""
    affected = set(citus.unavailable_tables)
    for table in citus.tables:
        if any(count and node in down for node, count in table.shards_by_worker):
            affected.add(table.table)
    return sorted(affected)


CITUS_JOB_KINDS = ("rebalance", "isolate")
JOB_REFRESH_S = 0.5
TENANT_ORDERS = ("queries", "cpu", "bytes")


def sorted_tenants(tenants: tuple[TenantSample, ...], order: str) -> list[TenantSample]:
    if order == "cpu":
        return sorted(tenants, key=lambda t: (t.cpu_s, t.queries), reverse=True)
    if order == "bytes":
        return sorted(tenants, key=lambda t: (t.group_bytes or 0, t.queries), reverse=True)
    return sorted(tenants, key=lambda t: (t.queries, t.cpu_s), reverse=True)


def tenants_in(citus: CitusSample, shard_id: int) -> str:
    """The tracked tenants living in a shard, busiest first (the view shows those it knows)."""
    names = [t.tenant for t in citus.tenants if t.shard_id == shard_id]
    text = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
    return text or fmt.DASH


def chunk_label(name: str, bound: str | None) -> str:
    """A hypertable's chunk with its time range: `_hyper_1_3_chunk 11-02 00:00 .. 11-03 00:00`."""
    if not bound or not bound.startswith("FROM ("):
        return name
    start, _, end = bound.removeprefix("FROM (").removesuffix(")").partition(") TO (")
    return f"{name} {start[5:16]} .. {end[5:16]}"


def citus_job_line(jobs: tuple[JobSnapshot, ...]) -> Text | None:
    """The latest rebalance or isolation started here: its state, progress and step now."""
    job = next((j for j in reversed(jobs) if j.kind in CITUS_JOB_KINDS), None)
    if job is None:
        return None
    text = Text()
    server = f" ({job.server_job})" if job.server_job else ""
    text.append(f"job {job.id}{server} {job.kind} {job.title}: ", style="bold")
    text.append(job.state, style="green" if job.running or job.state == "finished" else "yellow")
    if job.total:
        text.append(f" · {fmt.count(job.done)}/{fmt.count(job.total)} {job.unit}")
    if job.running and job.current:
        text.append(f"\n  now: {job.current}", style="cyan")
    if job.error:
        text.append(f"\n  {job.error}", style="bold red")
    elif not job.running and job.summary:
        text.append("\n  " + ", ".join(f"{k} {v}" for k, v in job.summary))
    return text


class ShardsScreen(MonitorScreen):
    SCREEN_NAME = "Shards"
    SCREEN_TITLE = "4 Shards"
    BINDINGS = [
        Binding(
            "b", "app.rebalance", "Rebalance", id="rebalance",
            tooltip="rebalance Citus shards (plan shown first; actions on)",
        ),
        Binding(
            "i", "app.isolate", "Isolate", id="isolate",
            tooltip="isolate a hot tenant in a shard of its own and move it (plan first)",
        ),
        Binding(
            "t", "sort_tenants", "Sort", id="sort-tenants",
            tooltip="sort the tenants by queries, CPU or the bytes of their shard",
        ),
    ]
    tenant_order = "queries"
    DEFAULT_CSS = """
    ShardsScreen #shard-bars { height: 1fr; min-height: 7; }
    ShardsScreen #citus-summary { height: auto; padding: 0 1; }
    ShardsScreen #hot-shards { height: auto; max-height: 7; }
    ShardsScreen #tenants { height: auto; max-height: 8; }
    ShardsScreen #tenants-title { height: auto; padding: 0 1; }
    ShardsScreen #partitions { height: auto; max-height: 40%; }
    ShardsScreen #rebalance { height: auto; padding: 0 1; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("", id="citus-summary")
            with Horizontal(id="shard-bars"):
                yield BarChart("bytes per worker", id="bytes-bars")
                yield BarChart("shards per worker", id="count-bars")
            hot: DataTable[str | Text] = DataTable(id="hot-shards", cursor_type="row")
            hot.add_columns("Hot shard", "Table", "Worker", "Size", "Tenants")
            yield hot
            yield Static("", id="rebalance")
            yield Static("", id="tenants-title")
            tenants: DataTable[str | Text] = DataTable(id="tenants", cursor_type="row")
            tenants.add_columns(
                "Tenant", "Table", "Queries", "CPU", "Shard", "Worker", "Shard group"
            )
            yield tenants
            parts: DataTable[str | Text] = DataTable(id="partitions", cursor_type="row")
            # The table's own row names it (cluster and table, schema left out); its
            # partitions follow, indented: the numbers stay within 80 columns.
            parts.add_columns("Table / partition", "Rows", "Data", "Index", "Skew")
            yield parts

    def on_mount(self) -> None:
        self.set_interval(JOB_REFRESH_S, self._refresh_job_line)

    def _refresh_job_line(self) -> None:
        """A rebalance's tasks change faster than the detail pass: read the job itself."""
        if self.is_current and self.state.latest is not None:
            self._draw_job(self._citus)

    _citus: CitusSample | None = None

    def action_sort_tenants(self) -> None:
        index = TENANT_ORDERS.index(self.tenant_order)
        self.tenant_order = TENANT_ORDERS[(index + 1) % len(TENANT_ORDERS)]
        self._draw_tenants(self._citus)
        # Said either way: with no tenants on screen the key would otherwise seem dead.
        shown = "" if self._citus is not None and not self._citus.tenants_note else (
            " (no tenants shown: they come from a Citus coordinator's citus_stat_tenants)")
        self.notify(f"tenants sorted by {self.tenant_order}{shown}")

    def update_body(self) -> None:
        nodes = self.state.nodes()
        self._draw_citus(nodes)
        self._draw_partitions(nodes)

    def _draw_citus(self, nodes: list[NodeSample]) -> None:
        summary = self.query_one("#citus-summary", Static)
        bars = self.query_one("#shard-bars", Horizontal)
        hot: DataTable[str | Text] = self.query_one("#hot-shards", DataTable)
        hot.clear()
        found = citus_nodes(nodes)
        self._citus = found[0][1] if found else None
        down_workers = [n for n in nodes if not n.up and n.engine == "citus"]
        if not found:
            bars.display = False
            hot.display = False
            message = "no Citus coordinator in the watched clusters"
            if down_workers:
                message = "Citus: " + ", ".join(f"{n.key} DOWN" for n in down_workers)
            summary.update(message)
            self._draw_job(None)
            self._draw_tenants(None)
            return
        bars.display = True
        hot.display = True
        node, citus = found[0]
        warn = self.state.alerts.thresholds(node.cluster).skew_warn_ratio
        text = Text()
        text.append(f"{node.cluster}: ", style="bold")
        level = ratio_level(citus.skew, warn)
        text.append("bytes skew ")
        text.append(
            fmt.ratio(citus.skew) if citus.skew is not None or not citus.bytes_unknown_on else "?",
            style={OK: "green", WARN: "yellow", CRIT: "bold red"}[level],
        )
        if citus.bytes_unknown_on:
            text.append(
                f" (incomplete: sizes unknown on {', '.join(citus.bytes_unknown_on)}; "
                f"{fmt.ratio(citus.skew_of_known)} over the others)",
                style="yellow",
            )
        text.append(f" (warn at {warn:.0%}) · shard count skew {fmt.ratio(citus.count_skew)}")
        # Cause and effect side by side while shards move: the load and the lag of the cluster.
        tps = node.throughput.tps if node.throughput else None
        lags = [n.lag_s for n in nodes if n.cluster == node.cluster and n.lag_s is not None]
        text.append(f"\ncoordinator TPS {fmt.rate(tps)} · replication lag ")
        text.append(fmt.seconds(max(lags) if lags else None))
        inactive = [w.node for w in citus.workers if not w.active]
        if inactive or down_workers:
            names = inactive + [n.address for n in down_workers if n.address not in inactive]
            text.append(f"\nDOWN/inactive: {', '.join(names)}", style="bold red")
        note = fmt.detail_note(node.detail, self.state.latest.at if self.state.latest else None)
        if note:
            text.append(f"\nshard figures {note}", style="bold yellow")
        unavailable = unavailable_tables(citus, {n.address for n in down_workers})
        if unavailable:
            text.append(f"\nshards unavailable for: {', '.join(unavailable)}", style="bold red")
        summary.update(text)
        holders = [w for w in citus.workers if w.should_have_shards or w.shard_count]
        # Each worker's bytes as a number beside its bar; an unknown one is `?`, with no bar.
        self.query_one("#bytes-bars", BarChart).draw(
            [f"{w.node} {fmt.size(w.bytes) if w.bytes is not None else '?'}" for w in holders],
            [mib(w.bytes or 0) for w in holders],
            "MiB",
        )
        self.query_one("#count-bars", BarChart).draw(
            [w.node for w in holders], [float(w.shard_count) for w in holders]
        )
        for shard in citus.hot_shards:
            hot.add_row(
                str(shard.shard_id), shard.table, shard.node,
                fmt.size(shard.bytes) if shard.bytes is not None else "?",
                tenants_in(citus, shard.shard_id),
            )
        self._draw_job(citus)
        self._draw_tenants(citus)

    def _draw_tenants(self, citus: CitusSample | None) -> None:
        title = self.query_one("#tenants-title", Static)
        table: DataTable[str | Text] = self.query_one("#tenants", DataTable)
        table.clear()
        if citus is None:
            title.update("")
            table.display = False
            return
        if citus.tenants_note:
            title.update(Text(f"tenants: {citus.tenants_note}", style="yellow"))
            table.display = False
            return
        period = f"{citus.tenant_period_s} s" if citus.tenant_period_s else "a"
        title.update(
            Text(
                f"busiest tenants by {self.tenant_order} (t), queries over this {period} "
                "period and the one before; i isolates one",
                style="bold",
            )
        )
        table.display = bool(citus.tenants)
        for tenant in sorted_tenants(citus.tenants, self.tenant_order):
            table.add_row(
                tenant.tenant[:24],
                tenant.table,
                fmt.count(tenant.queries),
                f"{tenant.cpu_s:.2f} s",
                str(tenant.shard_id) if tenant.shard_id is not None else "?",
                tenant.node or "?",
                fmt.size(tenant.group_bytes) if tenant.group_bytes is not None else "?",
            )

    def _draw_job(self, citus: CitusSample | None) -> None:
        text = Text()
        ours = citus_job_line(self.state.jobs.snapshots())
        if ours is not None:
            text.append_text(ours)
            text.append("\n")
        if citus is not None:
            text.append_text(self._rebalance_text(citus))
        self.query_one("#rebalance", Static).update(text)

    def _rebalance_text(self, citus: CitusSample) -> Text:
        job = citus.rebalance
        text = Text()
        if job is None:
            text.append("no rebalance job on the coordinator")
            return text
        counts = dict(job.task_state_counts)
        total = sum(counts.values())
        done = counts.get("done", 0)
        style = (
            "bold red"
            if job.state in ("failed", "failing")
            else "yellow"
            if job.state in ("cancelling", "cancelled")
            else "green"
        )
        text.append(f"rebalance job {job.job_id}: ", style="bold")
        text.append(job.state, style=style)
        text.append(
            f" · tasks {done}/{total} done · "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
        for task in job.tasks:
            text.append(
                f"\n  {task.phase or '-'} [{task.state}] {task.source} -> {task.target} "
                f"({task.size_source or '?'} -> {task.size_target or '?'})"
            )
        return text

    def _draw_partitions(self, nodes: list[NodeSample]) -> None:
        table: DataTable[str | Text] = self.query_one("#partitions", DataTable)
        table.clear()
        tables = partitioned_tables(nodes)
        if not tables:
            table.add_row("no partitioned tables among the watched ones", "", "", "", "")
            return
        clusters = {cluster for cluster, _t in tables}
        for cluster, t in tables:
            warn = self.state.alerts.thresholds(cluster).skew_warn_ratio
            level = ratio_level(t.partition_skew, warn)
            kind = f" (hypertable, compression: {t.compression})" if t.hypertable else ""
            short = t.name.rpartition(".")[2]
            name = short if len(clusters) == 1 else f"{cluster} {short}"
            table.add_row(
                Text(f"{name}{' (hypertable)' if t.hypertable else ''}", style="bold"),
                fmt.count(t.rows) + ("" if t.rows_exact else "~"),
                fmt.size(t.data_bytes),
                fmt.size(t.index_bytes),
                styled(fmt.ratio(t.partition_skew), level),
            )
            if kind:
                table.add_row(Text(f"  compression: {t.compression}", style="dim"), "", "", "", "")
            for p in t.partitions:
                table.add_row(
                    "  " + (chunk_label(p.name, p.bound) if t.hypertable else p.name),
                    fmt.count(p.rows) + ("" if p.rows_exact else "~"),
                    fmt.size(p.data_bytes),
                    fmt.size(p.index_bytes),
                    "",
                )
