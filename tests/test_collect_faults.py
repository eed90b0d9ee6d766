"""A dead, killed or silent node shows as DOWN within two intervals and never stalls the rest."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustertop.collectors.poller import Poller, PollTarget
from clustertop.core.config import load_config
from clustertop.core.nodes import NodeSpec
from clustertop.lab.lab import Lab
from tests.conftest import make_lab_dir
from tests.helpers import wait_for

INTERVAL = 1.0


@pytest.fixture
def fault_lab() -> Iterator[Lab]:
    root = make_lab_dir("clustertop-fault-lab-")
    lab = Lab(root)
    try:
        lab.up(("mariadb", "postgres"), replicas=1)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(root, ignore_errors=True)


class PollLoop:
    """Polls every INTERVAL in a thread, as the TUI does, and keeps every round."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        self.rounds: list[tuple[float, dict[str, bool], dict[str, float]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            r = self.poller.poll_round()
            self.rounds.append(
                (time.monotonic(), {n.key: n.up for n in r.nodes}, {n.key: n.at for n in r.nodes})
            )
            self.stop.wait(max(0.0, INTERVAL - (time.monotonic() - started)))

    def first_round_after(self, when: float, key: str, up: bool) -> float | None:
        for at, states, _ in self.rounds:
            if at >= when and states.get(key) is up:
                return at
        return None


def test_killed_replicas_go_down_within_two_intervals_and_come_back(fault_lab: Lab) -> None:
    config = load_config(fault_lab.config_path)
    targets = [PollTarget(n) for c in config.clusters.values() for n in c.nodes]
    loop = PollLoop(Poller(targets))
    loop.thread.start()
    try:
        time.sleep(2.5)
        status = {(s.cluster, s.name): s for s in fault_lab.status()}
        victims = {
            "lab-mariadb/replica1": status[("lab-mariadb", "replica1")].pid,
            "lab-postgres/standby1": status[("lab-postgres", "standby1")].pid,
        }
        killed_at = time.monotonic()
        for pid in victims.values():
            assert pid
            os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: all(loop.first_round_after(killed_at, k, up=False) for k in victims)
            and len([r for r in loop.rounds if r[0] >= killed_at]) >= 2,
            timeout=10 * INTERVAL,
        )
        for key in victims:
            down_at = loop.first_round_after(killed_at, key, up=False)
            assert down_at is not None and down_at - killed_at <= 2 * INTERVAL + 0.5, key
        # Every other node kept being polled, each round, and stayed up.
        recent = [r for r in loop.rounds if r[0] >= killed_at]
        assert len(recent) >= 2
        for _, states, _ in recent:
            assert states["lab-mariadb/primary"] and states["lab-postgres/primary"]
        ats = [r[2]["lab-postgres/primary"] for r in recent]
        assert ats == sorted(ats) and len(set(ats)) == len(ats)

        restarted_at = time.monotonic()
        fault_lab.up(("mariadb", "postgres"), replicas=1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(loop.first_round_after(restarted_at, k, up=True) for k in victims):
                break
            time.sleep(0.2)
        for key in victims:
            assert loop.first_round_after(restarted_at, key, up=True) is not None, key
    finally:
        loop.stop.set()
        loop.thread.join(5)
        loop.poller.close()


class SilentServer:
    """Accepts TCP connections and never says a word: a hung node."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_a_silent_node_does_not_stall_the_round(engine: str, lab_config) -> None:  # type: ignore[no-untyped-def]
    silent = SilentServer()
    cluster = lab_config.clusters["lab-mariadb" if engine == "mariadb" else "lab-postgres"]
    hung = NodeSpec(
        cluster=cluster.name,
        name="hung",
        engine=cluster.engine,
        host="127.0.0.1",
        port=silent.port,
        user="x",
        database="x",
    )
    healthy = cluster.nodes[0]
    poller = Poller([PollTarget(hung, 0.5, 0.5), PollTarget(healthy, 0.5, 0.5)])
    try:
        for _ in range(3):
            started = time.monotonic()
            r = poller.poll_round()
            took = time.monotonic() - started
            assert took <= poller.round_timeout + 0.3, took
            states = {n.node: n for n in r.nodes}
            assert states["hung"].up is False and states["hung"].error
            assert states[healthy.name].up is True
    finally:
        poller.close()
        silent.close()


def test_closing_mid_round_leaves_no_heartbeat_writer_running(lab_config) -> None:  # type: ignore[no-untyped-def]
    targets = [PollTarget(n) for c in lab_config.clusters.values() for n in c.nodes]
    for _ in range(5):
        poller = Poller(targets)
        poller.poll_round()  # writers start on the primaries
        racing = threading.Thread(target=poller.poll_round)
        racing.start()
        poller.close()  # while that round's threads may still be collecting
        racing.join(5)

    def alive() -> list[str]:
        return [t.name for t in threading.enumerate()
                if t.name.startswith(("heartbeat-", "detail-")) and t.is_alive()]

    wait_for(lambda: not alive(), timeout=5)
    assert alive() == []


def test_a_stopped_postmaster_shows_up_but_not_accepting_within_three_polls(
    fault_lab: Lab,
) -> None:
    """SIGSTOP on a standby's postmaster: the poll's own session (a backend of its own) still
    answers, every new connection hangs. The node must not read plain "up"."""
    config = load_config(fault_lab.config_path)
    cluster = config.clusters["lab-postgres"]
    standby = next(n for n in cluster.nodes if n.name == "standby1")
    status = {(s.cluster, s.name): s for s in fault_lab.status()}
    postmaster = status[("lab-postgres", "standby1")].pid
    assert postmaster
    loop = PollLoop(Poller([PollTarget(standby, 0.8, 0.8, heartbeat_table=None)]))
    samples: list = []  # type: ignore[type-arg]
    original = loop.poller.poll_round

    def keep() -> object:
        round_ = original()
        samples.append(round_.nodes[0])
        return round_

    loop.poller.poll_round = keep  # type: ignore[method-assign]
    loop.thread.start()
    try:
        assert wait_for(lambda: samples and samples[-1].accepting_connections is True, timeout=15)
        os.kill(postmaster, signal.SIGSTOP)
        stopped_at = len(samples)
        try:
            assert wait_for(
                lambda: any(s.accepting_connections is False for s in samples[stopped_at:]),
                timeout=10 * INTERVAL,
            ), [s.accepting_connections for s in samples[stopped_at:]]
            first_flag = next(i for i, s in enumerate(samples[stopped_at:])
                              if s.accepting_connections is False)
            flagged = samples[stopped_at + first_flag]
            assert flagged.up and flagged.accept_error
            # Three polls' time, plus the probe's own connect timeout (libpq: at least 2 s).
            assert first_flag <= 3 + 2, first_flag
        finally:
            os.kill(postmaster, signal.SIGCONT)
        assert wait_for(lambda: samples[-1].accepting_connections is True, timeout=15)
    finally:
        loop.stop.set()
        loop.thread.join(5)
        loop.poller.close()


def test_a_stopped_node_does_not_slow_the_others(fault_lab: Lab) -> None:
    """SIGSTOP a whole MariaDB replica (every connection to it hangs): the other nodes' samples
    keep their 1 s cadence, and the stopped one reads DOWN."""
    config = load_config(fault_lab.config_path)
    targets = [PollTarget(n) for c in config.clusters.values() for n in c.nodes]
    loop = PollLoop(Poller(targets))
    loop.thread.start()
    status = {(s.cluster, s.name): s for s in fault_lab.status()}
    victim = status[("lab-mariadb", "replica1")].pid
    assert victim
    try:
        time.sleep(2.5)
        os.kill(victim, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            time.sleep(12)
            after = [r for r in loop.rounds if r[0] > stopped_at]
        finally:
            os.kill(victim, signal.SIGCONT)
        assert after and not after[-1][1]["lab-mariadb/replica1"]
        # Past the first round (which may wait once for the node that just stopped), the
        # healthy primary's samples come about every second.
        ats = [r[2]["lab-postgres/primary"] for r in after[2:]]
        gaps = [b - a for a, b in itertools.pairwise(ats)]
        assert len(gaps) >= 6, gaps
        assert max(gaps) <= INTERVAL + 0.5, gaps
        assert all(r[1]["lab-postgres/primary"] and r[1]["lab-mariadb/primary"] for r in after)
    finally:
        loop.stop.set()
        loop.thread.join(5)
        loop.poller.close()


def test_a_cleanup_pauses_while_a_replica_is_killed_and_finishes_once_it_returns(
    fault_lab: Lab,
) -> None:
    """--max-lag with a replica gone: its lag is unknown, and unknown counts as too high - the
    run pauses at the next chunk boundary, says why, and finishes when the replica is back."""
    from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec
    from clustertop.actions.seed import load_cluster

    config = load_config(fault_lab.config_path)
    cluster = config.clusters["lab-mariadb"]
    load_cluster(cluster, rows=20_000, seed=3, tables=("cleanup_batch",))
    spec = CleanupSpec(cluster=cluster, table="cleanup_bench.cleanup_batch",
                       method="batch_delete", retention_days=10, batch_size=100,
                       batch_delay_s=0.1, max_lag_s=2.0)
    job = CleanupJob(spec, cluster.nodes[0])
    job.preflight()
    job.start()
    try:
        assert wait_for(lambda: job.snapshot().done > 0, timeout=30)
        replica = {(s.cluster, s.name): s for s in fault_lab.status()}[("lab-mariadb", "replica1")]
        assert replica.pid
        os.kill(replica.pid, signal.SIGKILL)
        paused = wait_for(
            lambda: any("paused:" in line and "replica1 is down" in line
                        for line in job.snapshot().log),
            timeout=20,
        )
        assert paused, job.snapshot().log[-5:]
        done_while_down = job.snapshot().done
        time.sleep(2)
        assert job.snapshot().done == done_while_down, "chunks ran with the replica down"
        fault_lab.up(("mariadb", "postgres"), replicas=1)
        job.join(120)
        snap = job.snapshot()
        assert snap.state == "finished", (snap.error, snap.log[-5:])
        record = job.result
        assert record is not None and record["pauses"] >= 1
        assert record["rows_deleted"] == record["rows_older_at_start"]
    finally:
        job.cancel()
        job.join(30)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_hung_detail_read_is_cut_off_and_its_figures_say_how_old(fault_lab: Lab) -> None:
    """A server that stops answering mid detail pass, where it cannot enforce its own
    statement_timeout (here: the pass waits on a table lock, then the server is SIGSTOPped):
    the pass is cut off from our side soon after the timeout, the last figures stay with the
    time they were read, and they say how old they are."""
    from clustertop.actions.seed import load_cluster
    from clustertop.collectors.connect import connect_postgres
    from clustertop.tui.format import detail_note

    config = load_config(fault_lab.config_path)
    cluster = config.clusters["lab-postgres"]
    load_cluster(cluster, rows=1_000, seed=1, tables=("cleanup_batch",))
    primary = cluster.nodes[0]
    target = PollTarget(
        primary, heartbeat_table=None, watched_tables=("cleanup_bench.cleanup_batch",),
        detail_interval=0.5, detail_timeout=3.0,
    )
    poller = Poller([target])
    status = {(s.cluster, s.name): s for s in fault_lab.status()}
    victim = status[("lab-postgres", "primary")].pid
    assert victim

    def detail():  # type: ignore[no-untyped-def]
        return poller.poll_round().nodes[0].detail

    locker = connect_postgres(primary, autocommit=False)
    watcher = connect_postgres(primary)
    try:
        first = wait_for(lambda: (d := detail()) is not None and d.at and d.error is None and d)
        assert first and first.tables and first.tables[0].rows == 1_000
        locker.execute("LOCK TABLE cleanup_bench.cleanup_batch IN ACCESS EXCLUSIVE MODE")

        def pass_waits_on_the_lock() -> bool:
            detail()
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'clustertop'"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()
            return bool(row and row[0])

        assert wait_for(pass_waits_on_the_lock, timeout=10)
        # The whole server, its backends too (a stopped postmaster alone still answers).
        frozen = [victim, *_children(victim)]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            cut = wait_for(
                lambda: (d := detail()) is not None and d.error and "cut off" in d.error and d,
                timeout=20,
            )
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        assert cut, "the hung pass was never cut off"
        assert cut.at == first.at or cut.at > first.at  # the last good figures, with their time
        assert cut.tables and cut.tables[0].rows == 1_000
        note = detail_note(cut, cut.at + 11)
        assert note.startswith("as of") and "11 s ago" in note and "cut off" in note, note
        locker.rollback()
        fresh = wait_for(
            lambda: (d := detail()) is not None and d.error is None and d.at > cut.at and d,
            timeout=20,
        )
        assert fresh and detail_note(fresh, fresh.at + 1) == ""
    finally:
        poller.close()
        locker.close()
        watcher.close()
