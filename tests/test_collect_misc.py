"""Statements, node facts, the poll command's JSON, bounded history, and Citus skew math."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from dataclasses import replace

import pytest

from clustertop.collectors.citus import build_citus_sample
from clustertop.collectors.history import History
from clustertop.collectors.poller import Poller, PollTarget
from clustertop.collectors.samples import NodeSample, PollRound, is_monitoring_statement
from clustertop.core.config import ClusterConfig, Config
from clustertop.lab.lab import Lab
from tests.conftest import run_cli
from tests.helpers import first_detail, node_sample, sql


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_top_statements_show_a_statement_we_ran(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    primary = cluster.nodes[0]
    marker = 900000 + int(uuid.uuid4().int % 99999)
    with sql(primary) as run:
        for _ in range(25):
            run(f"SELECT {marker} + 1")
    detail = first_detail(PollTarget(primary, heartbeat_table=None, detail_interval=0.5))
    assert detail is not None and detail.statements is not None
    assert detail.statements.available, detail.statements.reason
    assert detail.statements.top
    assert all(s.total_ms >= 0 and s.calls > 0 for s in detail.statements.top)
    totals = [s.total_ms for s in detail.statements.top]
    assert totals == sorted(totals, reverse=True)
    # The monitors' own reads (ours among them: the poll just ran) are counted, not shown.
    assert detail.statements.monitoring_hidden > 0
    assert not any(is_monitoring_statement(s.text) for s in detail.statements.top)


@pytest.mark.parametrize(
    ("text", "monitoring"),
    [
        ("SELECT ?", True),
        ("SELECT $1", True),
        ("SELECT `VARIABLE_NAME` , `VARIABLE_VALUE` FROM `information_schema` . `GLOBAL_STATUS`",
         True),
        ("SHOW SLAVE STATUS", True),
        ("SELECT @@performance_schema", True),
        ("SELECT * FROM pg_stat_activity WHERE pid <> pg_backend_pid()", True),
        ("REPLACE INTO `clustertop` . `heartbeat` ( `id` , `ts` ) VALUES (...)", True),
        ("INSERT INTO clustertop.heartbeat (id, ts) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE",
         True),
        ("SELECT 1 FROM lab_events WHERE tenant_id = $1", False),
        ("SELECT ? + ?", False),
        ("DELETE FROM cleanup_bench.cleanup_batch WHERE id < ?", False),
        ("UPDATE shop.sessions SET last_seen = $1 WHERE customer_id = $2", False),
        ("SELECT pg_sleep($1)", False),
        ("SELECT * FROM mysqlapp.t", False),
        ("SELECT * FROM sys_events", False),
    ],
)
def test_monitoring_statements_are_told_from_the_applications(text: str, monitoring: bool) -> None:
    assert is_monitoring_statement(text) is monitoring


def test_statements_say_why_when_not_available(postgres: ClusterConfig) -> None:
    # The extension is created in the lab's database only, so `postgres` has no view.
    node = replace(postgres.nodes[0], database="postgres")
    detail = first_detail(PollTarget(node, heartbeat_table=None, detail_interval=0.5))
    assert detail is not None and detail.statements is not None
    assert detail.statements.available is False
    assert "pg_stat_statements" in (detail.statements.reason or "")


def test_node_facts_agree_with_the_server(mariadb: ClusterConfig, postgres: ClusterConfig) -> None:
    for cluster in (mariadb, postgres):
        poller = Poller([PollTarget(n, heartbeat_table=None) for n in cluster.nodes])
        try:
            r = poller.poll_round()
        finally:
            poller.close()
        primary = node_sample(r, cluster.nodes[0].name)
        replica = node_sample(r, cluster.nodes[1].name)
        assert primary.role == "primary"
        assert replica.role == ("replica" if cluster.family == "mysql" else "standby")
        with sql(cluster.nodes[0]) as run:
            if cluster.family == "mysql":
                (max_conn,) = run("SELECT @@max_connections")[0]
                version = run("SELECT VERSION()")[0][0]
            else:
                max_conn = int(run("SHOW max_connections")[0][0])
                version = run("SHOW server_version")[0][0]
        assert primary.max_connections == int(max_conn)
        assert version in (primary.version or "")
        assert (
            primary.connections is not None and 1 <= primary.connections <= primary.max_connections
        )
        assert primary.uptime_s is not None and primary.uptime_s > 0
        assert primary.cache_hit_ratio is not None and 0 <= primary.cache_hit_ratio <= 1


def test_poll_once_json_has_every_node_and_no_password(lab: Lab) -> None:
    done = run_cli("--config", str(lab.config_path), "poll", "--once", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    nodes = {n["key"]: n for n in data["nodes"]}
    assert set(nodes) == {
        "lab-mariadb/primary",
        "lab-mariadb/replica1",
        "lab-postgres/primary",
        "lab-postgres/standby1",
    }
    for node in nodes.values():
        assert node["up"] is True
        assert node["throughput"] is not None and node["throughput"]["tps"] is not None
        assert node["detail"] is not None and node["detail"]["tables"]
    for key in ("lab-mariadb/replica1", "lab-postgres/standby1"):
        (rep,) = nodes[key]["replication"]
        assert rep["heartbeat_lag_s"] is not None and rep["heartbeat_lag_s"] < 1.0
    assert nodes["lab-postgres/primary"]["senders"][0]["state"] == "streaming"
    password = (lab.client_dir / "password").read_text().strip()
    assert password not in done.stdout + done.stderr
    # --cluster narrows, before or after the subcommand.
    one = run_cli(
        "poll",
        "--config",
        str(lab.config_path),
        "--cluster",
        "lab-postgres",
        "--count",
        "1",
        "--json",
    )
    assert one.returncode == 0
    assert {n["cluster"] for n in json.loads(one.stdout)["nodes"]} == {"lab-postgres"}


def test_history_is_bounded() -> None:
    history = History(maxlen=50)
    for i in range(1000):
        sample = NodeSample("c", "n", "postgres", "h:1", float(i), True)
        history.add(PollRound(float(i), (sample,), 1.0))
    series = history.series("c/n")
    assert len(series) == 50
    assert series[0].at == 950.0 and series[-1].at == 999.0
    assert history.rounds == 1000


def test_citus_skew_is_max_minus_min_over_mean_of_active_workers() -> None:
    nodes = [
        ("coord", 5432, True, "primary", False, 0),
        ("w1", 5433, True, "primary", True, 1),
        ("w2", 5434, True, "primary", True, 2),
        ("w3", 5435, True, "primary", True, 3),  # new, empty worker
    ]
    shards = [
        ("events", 1, "events_1", "distributed", 1, "w1", 5433, 300),
        ("events", 2, "events_2", "distributed", 1, "w1", 5433, 100),
        ("events", 3, "events_3", "distributed", 1, "w2", 5434, 200),
        ("ref", 9, "ref_9", "reference", 2, "w1", 5433, 50),
        ("ref", 9, "ref_9", "reference", 2, "w2", 5434, 50),
    ]
    jobs = [
        (
            7,
            "running",
            "rebalance",
            "Rebalance all colocation groups",
            None,
            None,
            {
                "tasks": [
                    {
                        "phase": "Copying Data",
                        "state": "running",
                        "size": {"source": "25 MB", "target": "3 MB"},
                        "hosts": {"source": "w1:5433", "target": "w3:5435"},
                        "command": "SELECT citus_move_shard_placement(1, ...)",
                    }
                ],
                "task_state_counts": {"blocked": 2, "running": 1},
            },
        )
    ]
    sample = build_citus_sample(nodes, shards, jobs)
    by_node = {w.node: w for w in sample.workers}
    assert by_node["w1:5433"].bytes == 400 and by_node["w1:5433"].shard_count == 2
    assert by_node["w3:5435"].bytes == 0
    # bytes 400, 200, 0 over three workers: (400 - 0) / 200
    assert sample.skew == pytest.approx(2.0)
    assert sample.count_skew == pytest.approx((2 - 0) / 1)
    events = next(t for t in sample.tables if t.table == "events")
    assert events.skew == pytest.approx(2.0) and events.shard_count == 3
    ref = next(t for t in sample.tables if t.table == "ref")
    assert ref.skew is None
    assert sample.hot_shards[0].shard_id == 1
    assert sample.rebalance is not None and sample.rebalance.state == "running"
    assert sample.rebalance.tasks[0].phase == "Copying Data"
    assert dict(sample.rebalance.task_state_counts) == {"blocked": 2, "running": 1}


def test_shard_sizes_citus_cannot_read_stay_unknown_and_name_the_tables() -> None:
    """A killed worker: citus_shards gives NULL sizes for its shards. They are unknown, not 0;
    the skew is unknown too (the skew of the others is given apart) and the tables with a
    shard there are named as unavailable."""
    nodes = [
        ("w1", 5433, True, "primary", True, 1),
        ("w2", 5434, True, "primary", True, 2),
        ("w3", 5435, True, "primary", True, 3),
    ]
    shards = [
        ("events", 1, "events_1", "distributed", 1, "w1", 5433, 300),
        ("events", 2, "events_2", "distributed", 1, "w2", 5434, None),
        ("events", 3, "events_3", "distributed", 1, "w3", 5435, 100),
        ("users", 4, "users_4", "distributed", 1, "w1", 5433, 10),
    ]
    sample = build_citus_sample(nodes, shards, [])
    by_node = {w.node: w for w in sample.workers}
    assert by_node["w2:5434"].bytes is None and by_node["w2:5434"].shard_count == 1
    assert sample.skew is None and sample.bytes_unknown_on == ("w2:5434",)
    assert sample.skew_of_known == pytest.approx((310 - 100) / 205)
    assert sample.unavailable_tables == ("events",)
    events = next(t for t in sample.tables if t.table == "events")
    assert dict(events.bytes_by_worker)["w2:5434"] is None and events.skew is None
    assert [s.bytes for s in sample.hot_shards][-1] is None  # unknown sizes sort last
    as_json = json.loads(json.dumps(dataclasses.asdict(sample)))
    assert as_json["workers"][1]["bytes"] is None and as_json["unavailable_tables"] == ["events"]


def test_a_tenant_is_priced_by_its_shard_group_and_unknown_stays_unknown() -> None:
    """Tenants from citus_stat_tenants rows: each gets the bytes of its shard group (its shard
    and the colocated shards of the same hash range), unknown when one of them is, and the
    busiest (queries, then CPU) come first."""
    from clustertop.tui.screens.shards import sorted_tenants, tenants_in

    nodes = [("w1", 5433, True, "primary", True, 1), ("w2", 5434, True, "primary", True, 2)]
    shards = [
        ("events", 1, "events_1", "distributed", 7, "w1", 5433, 300),
        ("items", 11, "items_11", "distributed", 7, "w1", 5433, 50),  # colocated with 1
        ("events", 2, "events_2", "distributed", 7, "w2", 5434, None),
        ("items", 12, "items_12", "distributed", 7, "w2", 5434, 20),
    ]
    groups = [(1, 7, "-100"), (11, 7, "-100"), (2, 7, "0"), (12, 7, "0")]
    tenants = [
        (7, "42", 5, 7, 0.5, 0.5, "events", 1),  # 12 queries
        (7, "9", 20, 0, 0.1, 0.0, "events", 2),  # 20 queries, on the worker not answering
    ]
    sample = build_citus_sample(nodes, shards, [], tenants=tenants, shard_groups=groups,
                                tenant_period_s=60)
    busiest, other = sample.tenants
    assert (busiest.tenant, busiest.queries, busiest.node, busiest.group_bytes) == (
        "9", 20, "w2:5434", None)
    assert (other.tenant, other.queries, other.node, other.group_bytes) == ("42", 12, "w1:5433", 350)
    assert [t.tenant for t in sorted_tenants(sample.tenants, "bytes")] == ["42", "9"]
    assert [t.tenant for t in sorted_tenants(sample.tenants, "cpu")] == ["42", "9"]
    assert tenants_in(sample, 1) == "42" and tenants_in(sample, 3) == "-"


def test_a_chunk_label_carries_its_time_range() -> None:
    from clustertop.tui.screens.shards import chunk_label

    bound = "FROM (2026-11-02 00:00:00+00:00) TO (2026-11-03 00:00:00+00:00)"
    assert chunk_label("_hyper_1_3_chunk", bound) == "_hyper_1_3_chunk 11-02 00:00 .. 11-03 00:00"
    assert chunk_label("p20261102", "FOR VALUES FROM ('2026-11-02') TO ('2026-11-03')") == (
        "p20261102")


@pytest.mark.citus
def test_citus_skew_equals_citus_shards_sums() -> None:
    dsn = os.environ.get("CLUSTERTOP_CITUS_DSN")
    if not dsn:
        pytest.skip(
            "needs a Citus coordinator: set CLUSTERTOP_CITUS_DSN (Citus is not a Debian package)"
        )
    from clustertop.collectors.connect import connect_postgres
    from clustertop.core.config import config_from_dsns

    config: Config = config_from_dsns([dsn])
    node = next(iter(config.clusters.values())).nodes[0]
    detail = first_detail(PollTarget(node, heartbeat_table=None, detail_interval=0.5), 30)
    citus = detail.citus if detail else None
    assert citus is not None
    with connect_postgres(node) as conn:
        rows = conn.execute(
            "SELECT nodename || ':' || nodeport, sum(shard_size) FROM citus_shards"
            " WHERE citus_table_type <> 'reference' GROUP BY 1"
        ).fetchall()
    expected = {name: int(total) for name, total in rows}
    for worker in citus.workers:
        assert worker.bytes == expected.get(worker.node, 0)


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_a_missing_watched_table_spoils_no_other_reading(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    run_cli("--config", str(lab.config_path), "load", "--cluster", cluster.name, "--rows", "500")
    watched = ("cleanup_bench.no_such_table", "cleanup_bench.cleanup_batch")
    detail = first_detail(PollTarget(cluster.nodes[0], heartbeat_table=None,
                                     watched_tables=watched, detail_interval=0.5))
    assert detail is not None and detail.error is None
    missing, present = detail.tables
    assert missing.error and missing.rows is None
    assert present.error is None and present.rows == 500 and present.rows_exact
    assert detail.statements is not None and detail.statements.available
