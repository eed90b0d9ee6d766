"""Citus rebalance against a real Citus cluster: plan priced with citus_shards' sizes, a run to
the end with its tasks followed, a cancelled run leaving every row in place, the hot-shard
warning, a worker-failure drill. Citus is not a Debian package: these run when the lab finds
the citus extension (they add and stop workers, so a DSN of someone's cluster will not do)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustertop.actions.rebalance import RebalanceJob, RebalanceSpec, plan_for, read_citus_state
from clustertop.collectors.connect import connect_postgres
from clustertop.core.config import ClusterConfig, Config, load_config
from clustertop.lab.binaries import find_postgres
from clustertop.lab.lab import Lab
from clustertop.tui.app import make_app
from tests.conftest import run_cli
from tests.helpers import wait_for
from tests.tui_support import record_notes

NO_CITUS = (
    "needs Citus: the lab builds a Citus cluster from the citus extension, which is not "
    "installed for this PostgreSQL (Citus is not a Debian package: build it from source)"
)


def _has_citus() -> bool:
    try:
        return find_postgres().has_extension("citus")
    except Exception:
        return False


@pytest.fixture(scope="module")
def citus_lab() -> Iterator[Lab]:
    if not _has_citus():
        pytest.skip(NO_CITUS)
    root = Path(tempfile.mkdtemp(prefix="clustertop-citus-", dir="/tmp"))
    root.chmod(0o755)  # as root, the postgres user must reach the data dirs
    lab = Lab(root)
    try:
        lab.up(("citus",), replicas=0)
        cluster = load_config(lab.config_path).clusters["lab-citus"]
        with connect_postgres(cluster.nodes[0], connect_timeout=5) as conn:
            # Enough bytes that a move takes seconds: a cancel can land mid-rebalance.
            conn.execute("INSERT INTO lab_events (tenant_id, payload) SELECT g % 64,"
                         " repeat(md5(g::text), 8) FROM generate_series(1, 300000) g")
        yield lab
    finally:
        lab.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def citus(citus_lab: Lab) -> ClusterConfig:
    return load_config(citus_lab.config_path).clusters["lab-citus"]


def _rows(cluster: ClusterConfig) -> int:
    with connect_postgres(cluster.nodes[0]) as conn:
        return int(conn.execute("SELECT count(*) FROM lab_events").fetchone()[0])


def _per_worker(cluster: ClusterConfig, aggregate: str) -> dict[str, int]:
    """citus_shards' `aggregate` (sum(shard_size), count(*)) for each worker's shards."""
    with connect_postgres(cluster.nodes[0]) as conn:
        rows = conn.execute(
            f"SELECT nodename || ':' || nodeport, {aggregate} FROM citus_shards"
            " WHERE citus_table_type <> 'reference' GROUP BY 1"
        ).fetchall()
    return {name: int(value) for name, value in rows}


def _worker_bytes(cluster: ClusterConfig) -> dict[str, int]:
    return _per_worker(cluster, "sum(shard_size)")


def _worker_shards(cluster: ClusterConfig) -> dict[str, int]:
    return _per_worker(cluster, "count(*)")


# With no writes, a shard's size still grows when autovacuum first visits it (after a move, a
# copied shard has neither map yet): a free space map of 3 pages and a visibility map of 1.
MAPS_BYTES_PER_SHARD = 4 * 8192


def _assert_same_bytes(reported: dict[str, int], read_later: dict[str, int],
                       shards: dict[str, int]) -> None:
    """The job's or plan's bytes per worker are citus_shards' sums: a later reading differs by
    no more than the maps autovacuum may have added to that worker's shards in between."""
    assert {k for k, v in reported.items() if v} == {k for k, v in read_later.items() if v}
    for worker, value in read_later.items():
        allowed = shards.get(worker, 0) * MAPS_BYTES_PER_SHARD
        assert abs(value - reported.get(worker, 0)) <= allowed, (worker, reported, read_later)


@pytest.mark.citus
def test_a_new_worker_is_skew_and_the_plan_uses_real_sizes(citus_lab: Lab) -> None:
    citus_lab.add_citus_worker()
    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    plan = plan_for(RebalanceSpec(cluster, "by_disk_size"))
    assert plan.moves, plan
    with connect_postgres(cluster.nodes[0]) as conn:
        sizes = {(int(s), f"{n}:{p}"): int(b) for s, n, p, b in conn.execute(
            "SELECT shardid, nodename, nodeport, shard_size FROM citus_shards").fetchall()}
        state = read_citus_state(conn)
    for move in plan.moves:
        assert move.bytes == sizes[(move.shard_id, move.source)] > 0
    # Skew as citus_shards' own sums say it, the empty worker counted as 0 bytes.
    by_worker = dict(plan.bytes_before)
    _assert_same_bytes(by_worker, _worker_bytes(cluster), _worker_shards(cluster))
    holders = [w.node for w in state.workers if w.should_have_shards and w.active]
    values = [by_worker.get(h, 0) for h in holders]
    expected = (max(values) - min(values)) / (sum(values) / len(values))
    assert plan.skew_before == pytest.approx(expected)
    assert plan.skew_after is not None and plan.skew_after < plan.skew_before


@pytest.mark.citus
def test_a_cancelled_rebalance_shows_cancelled_and_keeps_every_row(citus_lab: Lab) -> None:
    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    rows = _rows(cluster)
    job = RebalanceJob(RebalanceSpec(cluster, "by_disk_size", transfer_mode="block_writes"))
    job.start()
    # Cancel once the first move is under way.
    assert wait_for(lambda: job.status is not None and job.status.state == "running", 60, 0.2)
    job.cancel()
    job.join(120)
    snap = job.snapshot()
    assert snap.state == "cancelled", (snap.error, snap.log[-5:])
    assert dict(snap.summary)["state"] == "cancelled"
    assert job.result is not None and job.result["tasks_done"] < job.result["tasks_planned"]
    assert _rows(cluster) == rows


@pytest.mark.citus
def test_a_rebalance_runs_to_the_end_with_its_tasks_followed(citus_lab: Lab) -> None:
    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    rows = _rows(cluster)
    spec = RebalanceSpec(cluster, "by_disk_size", transfer_mode="block_writes")
    plan = plan_for(spec)
    if not plan.moves:  # the cancelled run may have finished the moves: make new work
        citus_lab.add_citus_worker()
        spec = RebalanceSpec(load_config(citus_lab.config_path).clusters["lab-citus"],
                             "by_disk_size", transfer_mode="block_writes")
        plan = plan_for(spec)
    job = RebalanceJob(spec, plan)
    job.start()
    job.join(300)
    snap = job.snapshot()
    assert snap.state == "finished", (snap.error, snap.log[-5:])
    result = job.result
    assert result is not None and result["state"] == "finished"
    assert result["tasks_done"] >= 1 and result["bytes_moved"] > 0
    # The skew the plan expected (its moves priced with citus_shards' sizes) is the skew the
    # cluster ends with; by_disk_size does not always lower it (Citus adds a cost per shard).
    assert result["skew_after"] == pytest.approx(plan.skew_after, abs=0.02)
    assert any(line.split(" ", 1)[1].startswith("task ") for line in snap.log)
    assert snap.series_named("skew")
    assert _rows(cluster) == rows
    _assert_same_bytes(result["bytes_by_worker_after"], _worker_bytes(cluster),
                       _worker_shards(cluster))


@pytest.mark.citus
def test_by_shard_count_warns_about_a_hot_shard_by_name(citus_lab: Lab) -> None:
    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    with connect_postgres(cluster.nodes[0]) as conn:
        conn.execute("INSERT INTO lab_events (tenant_id, payload)"
                     " SELECT 7, repeat(md5(g::text), 40) FROM generate_series(1, 60000) g")
        hot = conn.execute("SELECT get_shard_id_for_distribution_column('lab_events', 7)"
                           ).fetchone()[0]
    plan = plan_for(RebalanceSpec(cluster, "by_shard_count"))
    assert any(f"shard {hot}" in w and "fair share" in w for w in plan.warnings), plan.warnings


@pytest.mark.citus
async def test_a_worker_down_shows_on_overview_and_shards(citus_lab: Lab) -> None:
    from clustertop.lab.postgres_server import PostgresServer

    config = load_config(citus_lab.config_path)
    lab_node = next(n for n in citus_lab.nodes() if n.name == "worker1")
    server = PostgresServer(lab_node, find_postgres(), citus_lab.pgpass)
    server.stop()
    try:
        app = make_app(config)
        async with app.run_test(size=(120, 40)) as pilot:
            async def shown(screen_key: str, text: str) -> bool:
                for _ in range(40):
                    await pilot.press(screen_key)
                    await pilot.pause(0.5)  # polls run every second, details every 5
                    if text in _screen_text(app):
                        return True
                return False

            assert await shown("1", "DOWN")
            assert await shown("4", "shards unavailable for: lab_events")
    finally:
        server.start()


def _screen_text(app) -> str:  # type: ignore[no-untyped-def]
    from textual.widgets import DataTable, Static

    parts = [str(w.render()) for w in app.screen.query(Static)]
    for table in app.screen.query(DataTable):
        for row in range(table.row_count):
            parts.append(" ".join(str(c) for c in table.get_row_at(row)))
    return "\n".join(parts)


def test_rebalance_on_a_cluster_that_is_not_citus_is_one_line_exit_2(lab: Lab) -> None:
    done = run_cli("--config", str(lab.config_path), "rebalance", "--cluster", "lab-postgres",
                   "--plan")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a Citus cluster" in lines[0], done.stderr


async def test_b_without_a_citus_cluster_explains(lab_config: Config) -> None:
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        notes = record_notes(app)
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
    # It names what is missing (no Citus cluster), not actions, which are on in the lab.
    assert any("is for Citus" in n and "no cluster in the config" in n for n in notes), notes
    assert not any("actions" in n for n in notes), notes


def _citus_pids(lab: Lab, name: str) -> list[int]:
    node = next(n for n in lab.nodes() if n.cluster == "lab-citus" and n.name == name)
    pid = lab._running_pid(node)
    assert pid
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return [pid, *children]


@pytest.mark.citus
def test_a_drain_plan_predicts_what_the_drain_leaves(citus_lab: Lab) -> None:
    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    state_bytes = _worker_bytes(cluster)
    drained = sorted(state_bytes, key=lambda k: state_bytes[k])[-1]  # the fullest worker
    spec = RebalanceSpec(cluster, "by_disk_size", drain=drained, transfer_mode="block_writes")
    plan = plan_for(spec)
    assert plan.moves and all(m.source == drained for m in plan.moves)
    assert all(m.target != drained and m.target != "(chosen by Citus)" for m in plan.moves)
    _assert_same_bytes(dict(plan.bytes_before), state_bytes, _worker_shards(cluster))
    job = RebalanceJob(spec, plan)
    job.start()
    job.join(300)
    snap = job.snapshot()
    assert snap.state == "finished", (snap.error, snap.log[-5:])
    after = _worker_bytes(cluster)
    assert after.get(drained, 0) == 0
    # A moved shard is rebuilt on its target: its size there differs by a few pages (free
    # space and visibility maps), so each worker's bytes match to 0.1%.
    predicted = {k: v for k, v in plan.bytes_after if v}
    assert set(predicted) == {k for k, v in after.items() if v}
    for worker, value in predicted.items():
        assert after[worker] == pytest.approx(value, rel=1e-3), worker
    assert job.result is not None
    assert job.result["skew_after"] == pytest.approx(plan.skew_after, abs=0.01)
    with connect_postgres(cluster.nodes[0]) as conn:  # the node may hold shards again
        host, _, port = drained.rpartition(":")
        conn.execute("SELECT citus_set_node_property(%s, %s, 'shouldhaveshards', true)",
                     (host, int(port)))


@pytest.mark.citus
def test_a_killed_worker_leaves_its_bytes_unknown_and_names_its_tables(citus_lab: Lab) -> None:
    import json
    import os
    import signal

    from clustertop.lab.postgres_server import PostgresServer

    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    lab_node = next(n for n in citus_lab.nodes() if n.name == "worker1")
    address = f"127.0.0.1:{lab_node.port}"
    os.kill(_citus_pids(citus_lab, "worker1")[0], signal.SIGKILL)
    try:
        def unknown() -> bool:
            with connect_postgres(cluster.nodes[0]) as conn:
                state = read_citus_state(conn)
            worker = next(w for w in state.workers if w.node == address)
            return worker.bytes is None and state.skew is None and bool(state.unavailable_tables)

        assert wait_for(unknown, timeout=30)
        done = run_cli("--config", str(citus_lab.config_path), "poll", "--once", "--json",
                       "--cluster", "lab-citus", timeout=120)
        assert done.returncode == 0, done.stderr
        coordinator = next(n for n in json.loads(done.stdout)["nodes"]
                           if n["role"] == "coordinator")
        citus = coordinator["detail"]["citus"]
        worker = next(w for w in citus["workers"] if w["node"] == address)
        assert worker["bytes"] is None and citus["skew"] is None
        assert "lab_events" in citus["unavailable_tables"]
        assert address in citus["bytes_unknown_on"]
    finally:
        PostgresServer(lab_node, find_postgres(), citus_lab.pgpass).start()


@pytest.mark.citus
async def test_a_worker_added_while_the_tui_runs_appears_on_overview(citus_lab: Lab) -> None:
    config = load_config(citus_lab.config_path)
    app = make_app(config)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(2)
        node = citus_lab.add_citus_worker()
        found = False
        for _ in range(40):  # the coordinator's detail pass comes every 5 s
            await pilot.press("1")
            await pilot.pause(0.5)
            if str(node.port) in _screen_text(app):
                found = True
                break
        assert found, _screen_text(app)


@pytest.mark.citus
def test_starting_a_rebalance_while_one_runs_is_one_line_naming_it(citus_lab: Lab) -> None:
    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    citus_lab.add_citus_worker()
    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    first = RebalanceJob(RebalanceSpec(cluster, "by_shard_count", transfer_mode="block_writes"))
    first.start()
    try:
        assert wait_for(lambda: first.job_id is not None, 60, 0.2)
        done = run_cli("--config", str(citus_lab.config_path), "rebalance", "--cluster",
                       "lab-citus", "--yes", "--allow-actions")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1, done.stderr
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
        assert f"job {first.job_id}" in lines[-1] and "already" in lines[-1], lines[-1]
    finally:
        first.join(300)


@pytest.mark.citus
async def test_a_session_with_a_rebalance_leaves_no_error_of_ours_in_any_citus_log(
    citus_lab: Lab,
) -> None:
    """Shard moves leave statement texts on the workers that once broke the statements
    reader (an ERROR every pass); nothing of ours may reach a server's log."""
    from clustertop.tui.app import SCREENS_BY_KEY
    from tests.test_quiet_logs import lines_of_ours, log_offsets

    citus_lab.add_citus_worker()
    config = load_config(citus_lab.config_path)
    offsets = log_offsets(citus_lab)
    job = RebalanceJob(RebalanceSpec(config.clusters["lab-citus"], "by_disk_size",
                                     transfer_mode="block_writes"))
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        job.start()
        for key in [*SCREENS_BY_KEY, *SCREENS_BY_KEY, *SCREENS_BY_KEY]:
            await pilot.press(key)
            await pilot.pause(1.0)
        job.join(300)
        for key in SCREENS_BY_KEY:  # details read after the moves too
            await pilot.press(key)
            await pilot.pause(1.5)
        await pilot.press("q")
    assert job.snapshot().state == "finished", job.snapshot().error
    found = lines_of_ours(offsets)
    assert found == [], "\n".join(found[:20])


@pytest.mark.citus
def test_the_tenant_view_names_the_busiest_tenant_and_its_shard(citus_lab: Lab) -> None:
    from clustertop.collectors.citus import read_citus

    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    with connect_postgres(cluster.nodes[0]) as conn:
        for _ in range(60):  # router queries: citus_stat_tenants counts each for tenant 9
            conn.execute("SELECT 1 FROM lab_events WHERE tenant_id = 9 LIMIT 1").fetchall()
        shard, node = conn.execute(
            "SELECT s.shardid, s.nodename || ':' || s.nodeport FROM citus_shards s"
            " WHERE s.shardid = get_shard_id_for_distribution_column('lab_events', 9)"
        ).fetchone()
        citus = read_citus(conn, lambda c, q: c.execute(q))
    assert citus.tenants_note is None
    busiest = citus.tenants[0]
    assert (busiest.tenant, busiest.table) == ("9", "lab_events"), citus.tenants[:3]
    # Our 60, and nothing else asks for tenant 9 (both periods: a boundary may fall between).
    assert busiest.queries == 60, busiest
    assert (busiest.shard_id, busiest.node) == (shard, node)
    assert busiest.group_bytes is not None and busiest.group_bytes > 0


@pytest.mark.citus
def test_isolating_the_hot_tenant_moves_it_and_the_skew_matches_the_prediction(
    citus_lab: Lab,
) -> None:
    from clustertop.actions.isolate import IsolateJob, IsolateSpec, isolation_plan_for

    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    rows = _rows(cluster)
    # The dry run: the plan with the exact SQL, and nothing changed.
    dry = run_cli("--config", str(citus_lab.config_path), "isolate", "--cluster", "lab-citus",
                  "--plan")
    assert dry.returncode == 0, dry.stderr
    assert "isolate_tenant_to_new_shard('lab_events'" in dry.stdout, dry.stdout
    spec = IsolateSpec(cluster)  # the hottest shard's biggest tenant, to the emptiest worker
    plan = isolation_plan_for(spec)
    assert plan.tenant == "7" and plan.target is not None and not plan.already_isolated, plan
    with connect_postgres(cluster.nodes[0]) as conn:
        tenant_rows = int(conn.execute(
            "SELECT count(*) FROM lab_events WHERE tenant_id = 7").fetchone()[0])
    assert plan.tenant_rows == tenant_rows
    # `auto` moves by logical replication: the lab lets citus decode (output_plugin_libraries).
    job = IsolateJob(spec, plan)
    job.start()
    job.join(300)
    snap = job.snapshot()
    assert snap.state == "finished", (snap.error, snap.log[-5:])
    with connect_postgres(cluster.nodes[0]) as conn:
        where, low, high = conn.execute(
            "SELECT s.nodename || ':' || s.nodeport, p.shardminvalue, p.shardmaxvalue"
            "  FROM citus_shards s JOIN pg_dist_shard p ON p.shardid = s.shardid"
            " WHERE s.shardid = get_shard_id_for_distribution_column('lab_events', 7)"
        ).fetchone()
    assert where == plan.target and low == high  # a shard of its own, on the target
    assert _rows(cluster) == rows
    result = job.result
    assert result is not None and plan.skew_after is not None
    # The prediction prices the tenant by its share of the shard's row bytes; the copies Citus
    # makes are freshly packed, so a few points of difference are the price of predicting.
    assert result["skew_after"] == pytest.approx(plan.skew_after, abs=0.05), (
        plan.to_json(), result)


@pytest.mark.citus
def test_isolate_names_a_bad_tenant_or_table_in_one_line(citus_lab: Lab) -> None:
    for args, name in (
        (("--tenant", "not-a-number"), "--tenant"),
        (("--table", "no_such_table", "--tenant", "1"), "--table"),
        (("--to", "nowhere"), "--to"),
    ):
        done = run_cli("--config", str(citus_lab.config_path), "isolate", "--cluster",
                       "lab-citus", "--plan", *args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"clustertop: {name}"), done.stderr


@pytest.mark.citus
def test_a_stopped_worker_postmaster_shows_not_accepting_within_three_polls(
    citus_lab: Lab,
) -> None:
    """SIGSTOP on a worker's postmaster: its open sessions still answer, every new connection
    hangs. The worker must read "up, not accepting connections", the coordinator still poll."""
    import os
    import signal

    from clustertop.collectors.poller import Poller, PollTarget
    from tests.test_collect_faults import PollLoop

    cluster = load_config(citus_lab.config_path).clusters["lab-citus"]
    postmaster = next(s.pid for s in citus_lab.status()
                      if (s.cluster, s.name) == ("lab-citus", "worker2"))
    assert postmaster
    loop = PollLoop(Poller([PollTarget(n, 0.8, 0.8, heartbeat_table=None)
                            for n in cluster.nodes if n.name in ("coordinator", "worker2")]))
    rounds: list = []  # type: ignore[type-arg]
    original = loop.poller.poll_round

    def keep() -> object:
        round_ = original()
        rounds.append({n.node: n for n in round_.nodes})
        return round_

    loop.poller.poll_round = keep  # type: ignore[method-assign]
    loop.thread.start()
    try:
        assert wait_for(
            lambda: rounds and rounds[-1]["worker2"].accepting_connections is True, timeout=15
        )
        os.kill(postmaster, signal.SIGSTOP)
        stopped_at = len(rounds)
        try:
            assert wait_for(
                lambda: any(r["worker2"].accepting_connections is False
                            for r in rounds[stopped_at:]),
                timeout=10,
            ), [r["worker2"].accepting_connections for r in rounds[stopped_at:]]
            first = next(i for i, r in enumerate(rounds[stopped_at:])
                         if r["worker2"].accepting_connections is False)
            flagged = rounds[stopped_at + first]
            assert flagged["worker2"].up and flagged["worker2"].accept_error
            assert flagged["coordinator"].up
            # Three polls, plus the probe's own connect timeout (libpq: at least 2 s).
            assert first <= 3 + 2, first
        finally:
            os.kill(postmaster, signal.SIGCONT)
        assert wait_for(lambda: rounds[-1]["worker2"].accepting_connections is True, timeout=15)
    finally:
        loop.stop.set()
        loop.thread.join(5)
        loop.poller.close()


@pytest.mark.citus
async def test_ecommerce_runs_on_distributed_shop_data_and_shards_shows_the_hot_customer(
    citus_lab: Lab,
) -> None:
    """The shop data set distributed by customer: ecommerce runs without an error, and under
    --skew zipf:1.1 the Shards screen's busiest tenant is customer 1 (the hottest key), on the
    worker that holds customer 1's shard by citus_shards."""
    from clustertop.actions.shop import load_shop
    from clustertop.usecases.changes import WorkloadRequest, workload_job_for

    config = load_config(citus_lab.config_path)
    cluster = config.clusters["lab-citus"]
    load_shop(cluster, scale=1, seed=3)
    with connect_postgres(cluster.nodes[0]) as conn:
        kinds = dict(conn.execute(
            "SELECT table_name::text, citus_table_type FROM citus_tables"
            " WHERE table_name::text LIKE 'shop.%'").fetchall())
        worker = conn.execute(
            "SELECT nodename || ':' || nodeport FROM citus_shards WHERE shardid ="
            " get_shard_id_for_distribution_column('shop.orders', 1)").fetchone()[0]
    assert kinds["shop.products"] == "reference" and kinds["shop.orders"] == "distributed"
    request = WorkloadRequest(cluster="lab-citus", pattern="ecommerce", table=None,
                              connections=4, target_tps=60.0, duration_s=8.0, transactions=None,
                              skew="zipf:1.1")
    job = workload_job_for(config, request, allow_actions=True)
    job.start()
    job.join(60)
    result = job.result  # type: ignore[attr-defined]
    assert job.snapshot().state == "finished", job.snapshot().error
    assert result["errors"] <= 0.01 * result["transactions"], result["errors_by_kind"]
    assert set(result["operations"]) == {"browse_product", "add_to_cart", "place_order",
                                         "order_history"}
    app = make_app(config.select("lab-citus"))
    async with app.run_test(size=(160, 48)) as pilot:
        rows: list[list[str]] = []
        for _ in range(30):
            await pilot.press("4")
            await pilot.pause(0.5)  # the tenant view comes with the 5 s detail pass
            table = app.screen.query("#tenants")
            if table and table.first().row_count:
                t = table.first()
                rows = [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]
                break
    assert rows, "no tenant shown"
    tenant, _table, _queries, _cpu, _shard, node, _group = rows[0]
    assert tenant == "1", rows[:3]
    assert node == worker, (rows[0], worker)
