"""Activity against the lab's real servers: row-lock chains, the metadata-lock outage of a
change (an ALTER queued behind a long transaction, readers queued behind the ALTER), ending the
blocker from the TUI and the CLI, the progress of an index build and of a table rebuild,
literals masked, sessions capped. Every session under test is opened by the test itself,
named "app" as an application would be, and closed (or ended) before the test returns."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.poller import Poller, PollTarget
from clustertop.collectors.samples import NodeSample
from clustertop.collectors.sessions import SESSIONS_CAP
from clustertop.core.config import ClusterConfig, Config, UiConfig
from clustertop.core.nodes import NodeSpec
from clustertop.lab.lab import Lab
from clustertop.tui.alerts import AlertBook
from clustertop.tui.app import make_app
from tests.conftest import run_cli
from tests.helpers import sql, wait_for

pytestmark = pytest.mark.lab
SENTINEL = "S3cret-literal"


class Session:
    """One application session of the test's own: statements run in a thread of their own
    when they would block."""

    def __init__(self, node: NodeSpec) -> None:
        self.node = node
        self.mysql = node.family == "mysql"
        if self.mysql:
            self.conn: Any = connect_mysql(node, connect_timeout=5, program="app")
            self.run("SET SESSION innodb_lock_wait_timeout = 60, lock_wait_timeout = 60,"
                     " max_statement_time = 0")
        else:
            self.conn = connect_postgres(node, connect_timeout=5, program="app")
            self.run("SET statement_timeout = 0")
        self.id = int(self.run("SELECT CONNECTION_ID()" if self.mysql
                               else "SELECT pg_backend_pid()")[0][0])
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def run(self, statement: str) -> list[Any]:
        if self.mysql:
            with self.conn.cursor() as cur:
                cur.execute(statement)
                return list(cur.fetchall())
        result = self.conn.execute(statement)
        return list(result.fetchall()) if result.description else []

    def start(self, statement: str) -> None:
        def work() -> None:
            try:
                self.run(statement)
            except BaseException as exc:  # an ended session, on purpose
                self.error = exc

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.thread is not None:
            self.thread.join(10)


@contextlib.contextmanager
def sessions(node: NodeSpec) -> Iterator[Callable[[], Session]]:
    opened: list[Session] = []

    def open_one() -> Session:
        session = Session(node)
        opened.append(session)
        return session

    try:
        yield open_one
    finally:
        for session in opened:
            session.close()


def primary(cluster: ClusterConfig) -> NodeSpec:
    return cluster.nodes[0]


def poller(node: NodeSpec, show_literals: bool = False) -> Poller:
    return Poller([PollTarget(node, 2.0, 2.0, heartbeat_table=None, show_literals=show_literals)])


def poll(p: Poller) -> NodeSample:
    return p.poll_round().nodes[0]


@pytest.fixture(params=["lab-mariadb", "lab-postgres"])
def cluster(request: pytest.FixtureRequest, lab_config: Config) -> Iterator[ClusterConfig]:
    chosen = lab_config.clusters[request.param]
    with sql(primary(chosen)) as run:
        if chosen.family == "mysql":
            run("CREATE DATABASE IF NOT EXISTS activity_test")
        else:
            run("CREATE SCHEMA IF NOT EXISTS activity_test")
        run("CREATE TABLE IF NOT EXISTS activity_test.items (id int PRIMARY KEY, v int)")
        run("DELETE FROM activity_test.items")
        run("INSERT INTO activity_test.items VALUES (1, 0), (2, 0)")
    yield chosen
    with sql(primary(chosen)) as run:
        run("DROP DATABASE activity_test" if chosen.family == "mysql"
            else "DROP SCHEMA activity_test CASCADE")


def begin(session: Session) -> None:
    session.run("BEGIN")


def test_a_row_lock_chain_shows_the_holder_as_root_and_clears_after_its_commit(
    cluster: ClusterConfig, lab: Lab
) -> None:
    node = primary(cluster)
    p = poller(node)
    try:
        with sessions(node) as open_session:
            holder, first, second = open_session(), open_session(), open_session()
            begin(holder)
            holder.run("UPDATE activity_test.items SET v = v + 1 WHERE id = 1")
            first.start("UPDATE activity_test.items SET v = v + 10 WHERE id = 1")
            time.sleep(0.3)
            second.start("UPDATE activity_test.items SET v = v + 100 WHERE id = 1")

            def chained() -> NodeSample | None:
                sample = poll(p)
                assert sample.sessions is not None
                waiting = {s.id for s in sample.sessions.sessions if s.blocked_by}
                return sample if {first.id, second.id} <= waiting else None

            sample = wait_for(chained, timeout=10, step=0.3)
            assert sample is not None and sample.sessions is not None
            chains = sample.sessions.chains
            root = chains[0]
            assert (root.depth, root.session.id) == (0, holder.id), chains
            below = {e.session.id: e for e in chains[1:]}
            assert {first.id, second.id} <= set(below)
            for waiter in (first.id, second.id):
                entry = below[waiter]
                assert entry.depth >= 1
                assert sample.sessions.root_of(waiter).id == holder.id  # type: ignore[union-attr]
                assert entry.session.wait_s is not None and entry.session.wait_s >= 0
                assert "row lock" in (entry.session.lock or ""), entry.session
            assert not root.session.own and root.session.xact_s is not None
            # The same chain in `poll --json`, as a script reads it.
            done = run_cli("--config", str(lab.config_path), "poll", "--json", "--once",
                           "--cluster", cluster.name)
            assert done.returncode == 0, done.stderr
            nodes = json.loads(done.stdout)["nodes"]
            seen = next(n for n in nodes if n["node"] == node.name)["sessions"]["chains"]
            assert seen[0]["session"]["id"] == holder.id and seen[0]["depth"] == 0
            assert {first.id, second.id} <= {c["session"]["id"] for c in seen[1:]}
            holder.run("COMMIT")
            polls = []
            for _ in range(2):  # within two polls (1 s apart, as the TUI polls) it is gone
                time.sleep(1.0)
                polls.append(poll(p))
            assert any(s.sessions is not None and not s.sessions.chains for s in polls)
    finally:
        p.close()


def test_the_metadata_lock_outage_raises_one_critical_alert_naming_the_blocker(
    cluster: ClusterConfig, lab_config: Config
) -> None:
    """A transaction that read the table stays open; ALTER TABLE queues for the metadata
    (PostgreSQL: AccessExclusive) lock; every SELECT queues behind the ALTER."""
    node = primary(cluster)
    p = poller(node)
    book = AlertBook(lab_config)
    try:
        with sessions(node) as open_session:
            holder, ddl, reader1, reader2 = (open_session() for _ in range(4))
            begin(holder)
            holder.run("SELECT * FROM activity_test.items")
            ddl.start("ALTER TABLE activity_test.items ADD COLUMN note int")
            time.sleep(0.3)
            reader1.start("SELECT * FROM activity_test.items")
            reader2.start("SELECT v FROM activity_test.items WHERE id = 2")
            time.sleep(cluster.thresholds.ddl_wait_crit_s + 0.2)
            fired = []
            for _ in range(2):  # within two polls
                round_ = p.poll_round()
                fired += [a for a in book.update(round_) if "ddl wait" in a.key]
                if fired:
                    break
                time.sleep(1)
            assert len(fired) == 1, [a.text for a in book.active.values()]
            text = fired[0].text
            assert f"session {ddl.id}" in text and f"behind session {holder.id}" in text, text
            assert "2 session(s) queued" in text, text
            sample = round_.nodes[0]
            assert sample.sessions is not None
            assert sample.sessions.root_of(reader1.id).id == holder.id  # type: ignore[union-attr]
            holder.run("ROLLBACK")
            assert wait_for(lambda: ddl.thread is not None and not ddl.thread.is_alive(), 20)
            assert ddl.error is None, ddl.error
    finally:
        p.close()


@pytest.mark.parametrize("query_only", [False, True])
def test_kill_ends_the_blocker_from_the_cli_and_the_chain_clears(
    cluster: ClusterConfig, lab: Lab, query_only: bool
) -> None:
    node = primary(cluster)
    p = poller(node)
    try:
        with sessions(node) as open_session:
            blocker, waiter = open_session(), open_session()
            if query_only:
                # A statement to cancel: the blocker itself waits (on a sleep) while holding
                # the row; cancelling its statement ends the wait, and a rollback follows.
                begin(blocker)
                blocker.run("UPDATE activity_test.items SET v = 5 WHERE id = 1")
                blocker.start("SELECT SLEEP(60)" if blocker.mysql else "SELECT pg_sleep(60)")
            else:
                begin(blocker)
                blocker.run("UPDATE activity_test.items SET v = 5 WHERE id = 1")
            waiter.start("UPDATE activity_test.items SET v = 6 WHERE id = 1")
            assert wait_for(lambda: (poll(p).sessions or _none()).blocked >= 1, 10, 0.3)
            args = ["--config", str(lab.config_path), "kill", "--cluster", cluster.name,
                    "--node", node.name, "--session", str(blocker.id), "--yes"]
            done = run_cli(*args, *(["--query-only"] if query_only else []))
            assert done.returncode == 0, done.stderr
            said = done.stderr.strip().splitlines()
            assert f"session {blocker.id}" in said[0], said
            assert ("statement cancelled" if query_only else "session ended") in said[-1]
            if query_only:
                # The 60 s sleep ends now. PostgreSQL: an error, which aborts the transaction
                # and so releases its locks. MySQL: SLEEP returns 1 and the transaction stays
                # open, the row still locked, until the application rolls it back.
                assert wait_for(lambda: blocker.thread is not None
                                and not blocker.thread.is_alive(), 10)
                if blocker.mysql:
                    assert (poll(p).sessions or _none()).blocked >= 1
                blocker.run("ROLLBACK")
            assert wait_for(lambda: (poll(p).sessions or _none()).blocked == 0, 10, 0.3)
    finally:
        p.close()


def _none() -> Any:
    class Empty:
        blocked = -1

    return Empty()


def test_kill_refuses_clustertop_sessions_and_needs_actions(
    mariadb: ClusterConfig, lab: Lab, tmp_path: Any
) -> None:
    node = primary(mariadb)
    with sql(node) as run:  # this connection is clustertop's own (program_name clustertop)
        own = int(run("SELECT CONNECTION_ID()")[0][0])
        done = run_cli("--config", str(lab.config_path), "kill", "--cluster", mariadb.name,
                       "--node", node.name, "--session", str(own), "--yes")
        assert done.returncode == 2, done.stderr
        assert "clustertop's own" in done.stderr and len(done.stderr.strip().splitlines()) == 1
        still = run("SELECT 1")
        assert still == [(1,)]
    no_actions = tmp_path / "no-actions.toml"
    no_actions.write_text(lab.config_path.read_text().replace("actions = true",
                                                              "actions = false"))
    done = run_cli("--config", str(no_actions), "kill", "--cluster", mariadb.name, "--node",
                   node.name, "--session", "1", "--yes")
    assert done.returncode == 2 and "actions" in done.stderr, done.stderr


async def test_k_and_K_end_the_blocker_through_the_tui_and_refuse_without_actions(
    postgres: ClusterConfig, lab_config: Config
) -> None:
    from textual.widgets import DataTable

    node = primary(postgres)
    with sql(node) as run:
        run("CREATE SCHEMA IF NOT EXISTS activity_test")
        run("CREATE TABLE IF NOT EXISTS activity_test.tui (id int PRIMARY KEY, v int)")
        run("INSERT INTO activity_test.tui VALUES (1, 0) ON CONFLICT DO NOTHING")
    only = replace(lab_config, clusters={postgres.name: postgres})
    off = replace(only, clusters={postgres.name: replace(postgres, actions=False)})
    try:
        with sessions(node) as open_session:
            blocker, waiter = open_session(), open_session()
            begin(blocker)
            blocker.run("UPDATE activity_test.tui SET v = 1 WHERE id = 1")
            waiter.start("UPDATE activity_test.tui SET v = 2 WHERE id = 1")
            for config, allowed in ((off, False), (only, True)):
                app = make_app(config, allow_actions=False)
                async with app.run_test(size=(160, 48)) as pilot:
                    await pilot.press("7")
                    table: DataTable[Any] = app.screen.query_one("#sessions", DataTable)
                    key = f"{node.key}#{blocker.id}"
                    waiter_key = f"{node.key}#{waiter.id}"
                    for _ in range(20):
                        await pilot.pause(0.5)
                        rows = [str(k.value) for k in table.rows]
                        if key in rows and waiter_key in rows:
                            break
                    # The chain on screen: the blocker as the root, the waiter under it.
                    chains: DataTable[Any] = app.screen.query_one("#chains", DataTable)
                    chain_cells = [str(chains.get_row_at(r)[0]) for r in range(chains.row_count)]
                    assert chain_cells[0] == str(blocker.id), chain_cells
                    assert f"└ {waiter.id}" in chain_cells[1], chain_cells
                    table.focus()
                    # enter on the waiter jumps to the root of its chain: the blocker.
                    table.move_cursor(row=table.get_row_index(f"{node.key}#{waiter.id}"))
                    await pilot.press("enter")
                    await pilot.pause(0.2)
                    at = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
                    assert at == key, at
                    table.move_cursor(row=table.get_row_index(key))
                    await pilot.press("K")
                    await pilot.pause(0.3)
                    if not allowed:
                        said = " ".join(str(n.message) for n in app._notifications)
                        assert "actions must be on" in said and "nothing was sent" in said
                        assert blocker.run("SELECT 1") == [(1,)]  # still there
                        continue
                    await pilot.press("y")
                    for _ in range(20):
                        await pilot.pause(0.5)
                        if waiter.thread is not None and not waiter.thread.is_alive():
                            break
                    assert waiter.thread is not None and not waiter.thread.is_alive()
                    assert waiter.error is None  # the waiter got its row
    finally:
        with sql(node) as run:
            run("DROP TABLE IF EXISTS activity_test.tui")


def test_literals_are_masked_unless_turned_on(cluster: ClusterConfig) -> None:
    node = primary(cluster)
    masked, shown = poller(node), poller(node, show_literals=True)
    try:
        with sessions(node) as open_session:
            holder, waiter = open_session(), open_session()
            begin(holder)
            holder.run("UPDATE activity_test.items SET v = 1 WHERE id = 1")
            waiter.start(f"UPDATE activity_test.items SET v = 2 WHERE id = 1 AND '{SENTINEL}'"
                         " <> 'x'")
            assert wait_for(lambda: (poll(masked).sessions or _none()).blocked >= 1, 10, 0.3)
            sample = poll(masked)
            assert SENTINEL not in json.dumps(sample.to_json())
            statement = next(s.statement for s in sample.sessions.sessions  # type: ignore[union-attr]
                             if s.id == waiter.id)
            assert statement is not None and "AND ? <> ?" in statement, statement
            assert SENTINEL in json.dumps(poll(shown).to_json())
            holder.run("ROLLBACK")
    finally:
        masked.close()
        shown.close()


def test_sessions_past_the_cap_are_counted_and_said(mariadb: ClusterConfig) -> None:
    node = primary(mariadb)
    extra = SESSIONS_CAP + 20
    conns = [connect_mysql(node, connect_timeout=5, program="app") for _ in range(extra)]
    p = poller(node)
    count = ("SELECT COUNT(*) FROM information_schema.PROCESSLIST"
             " WHERE COMMAND <> 'Daemon' AND USER <> 'system user'")
    try:
        with sql(node) as run:
            poll(p)  # the poller's own sessions (its heartbeat writer, ...) open on its first
            before = int(run(count)[0][0])
            sample = poll(p)
            after = int(run(count)[0][0])
        assert sample.sessions is not None
        assert sample.sessions.capped and len(sample.sessions.sessions) == SESSIONS_CAP
        assert sample.sessions.total >= extra
        # Counted by the server just before and just after the poll; the connection probe
        # (a fresh connection every 2 s, in a thread) may come or go in between.
        assert min(before, after) - 1 <= sample.sessions.total <= max(before, after) + 1, (
            before, sample.sessions.total, after)
    finally:
        p.close()
        for conn in conns:
            conn.close()


def _progress(p: Poller, session_id: int) -> list[tuple[str | None, float]]:
    sample = poll(p)
    if sample.sessions is None:
        return []
    return [(g.phase, g.fraction) for g in sample.sessions.progress
            if g.session_id == session_id and g.fraction is not None]


def _progress_until_done(p: Poller, session: Session) -> list[tuple[str | None, float]]:
    """The session's progress readings, polled every 0.1 s while its statement runs."""
    seen: list[tuple[str | None, float]] = []
    while session.thread is not None and session.thread.is_alive():
        seen += _progress(p, session.id)
        time.sleep(0.1)
    return seen


def _rises_over_three_polls(seen: list[tuple[str | None, float]]) -> bool:
    """Three readings in one phase, each further than the one before."""
    for i in range(len(seen) - 2):
        (pa, a), (pb, b), (pc, c) = seen[i:i + 3]
        if pa == pb == pc and a < b < c:
            return True
    return False


def test_an_index_build_on_a_million_rows_shows_rising_progress(postgres: ClusterConfig) -> None:
    node = primary(postgres)
    with sql(node) as run:
        run("SET statement_timeout = 0")
        run("CREATE SCHEMA IF NOT EXISTS activity_test")
        run("DROP TABLE IF EXISTS activity_test.big")
        run("CREATE TABLE activity_test.big AS SELECT g AS id, repeat(md5(g::text), 4)"
            " AS payload FROM generate_series(1, 1000000) g")
    p = poller(node)
    try:
        with sessions(node) as open_session:
            builder = open_session()
            builder.run("SET maintenance_work_mem = '8MB'")  # a sort on disk: seconds long
            # An expression index on wide values: the scan computes it for each row, so the
            # build lasts long enough (seconds) to be seen over several polls.
            builder.start("CREATE INDEX big_payload ON activity_test.big"
                          " ((md5(md5(payload)) || payload))")
            seen = _progress_until_done(p, builder)
        assert builder.error is None, builder.error
        assert _rises_over_three_polls(seen), seen
    finally:
        p.close()
        with sql(node) as run:
            run("DROP SCHEMA activity_test CASCADE")


def test_a_table_rebuild_on_a_million_rows_shows_rising_progress(mariadb: ClusterConfig) -> None:
    node = primary(mariadb)
    with sql(node) as run:
        run("CREATE DATABASE IF NOT EXISTS activity_test")
        run("DROP TABLE IF EXISTS activity_test.big")
        run("CREATE TABLE activity_test.big (id int PRIMARY KEY, payload char(224))")
        run("INSERT INTO activity_test.big SELECT seq, REPEAT(MD5(seq), 7)"
            " FROM activity_test.seq_1_to_1000000")
    p = poller(node)
    try:
        with sessions(node) as open_session:
            rebuilder = open_session()
            # MariaDB reports progress (PROCESSLIST's STAGE, MAX_STAGE, PROGRESS) for a table
            # copy; an in-place rebuild (FORCE's default on InnoDB) reports none at all.
            rebuilder.start("ALTER TABLE activity_test.big FORCE, ALGORITHM=COPY")
            seen = _progress_until_done(p, rebuilder)
        assert rebuilder.error is None, rebuilder.error
        assert _rises_over_three_polls(seen), seen
    finally:
        p.close()
        with sql(node) as run:
            run("DROP DATABASE activity_test")


def test_show_literals_is_a_ui_setting_that_defaults_off() -> None:
    assert UiConfig().show_literals is False
