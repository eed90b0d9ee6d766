"""Record and replay against the real lab: 20 s recorded from the TUI with a workload and a
cleanup running, replayed headless, where at three chosen times the values on screen are the
recorded ones and the jobs show with their results; damaged recordings open with a one-line
message and show what is readable; no password reaches a recording."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import zstandard
from textual.widgets import DataTable, Input

from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec
from clustertop.actions.seed import load_cluster
from clustertop.actions.workload.builtin import BuiltinWorkload
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.core.config import ClusterConfig, Config
from clustertop.core.mixes import resolve_pattern
from clustertop.lab.lab import Lab
from clustertop.tui import format as fmt
from clustertop.usecases.record import read
from tests.conftest import run_cli


def _overview(app: Any) -> dict[str, dict[str, str]]:
    table = app.screen.query_one("#nodes", DataTable)
    keys = [c.key.value for c in table.ordered_columns]
    return {k.value: {col: str(cell) for col, cell in zip(keys, table.get_row(k), strict=True)}
            for k in table.rows}


@pytest.fixture(scope="module")
def recorded(lab: Lab, lab_config: Config, mariadb: ClusterConfig,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of the lab recorded by the TUI's R, with a workload and a cleanup running."""
    folder = tmp_path_factory.mktemp("recordings")
    load_cluster(mariadb, rows=20_000, seed=4, tables=("cleanup_batch", "cleanup_copy"))
    from clustertop.tui.app import make_app

    async def record() -> Path:
        import os

        os.environ["CLUSTERTOP_RECORDINGS_DIR"] = str(folder)
        app = make_app(lab_config)
        try:
            async with app.run_test(size=(120, 30)) as pilot:
                await pilot.press("R")
                workload = BuiltinWorkload(WorkloadSpec(
                    node=mariadb.nodes[0], table="cleanup_bench.cleanup_copy", pattern="traffic",
                    mix=resolve_pattern("traffic"), connections=2, target_tps=20, duration_s=12,
                    processes=1), mariadb.name)
                cleanup = CleanupJob(CleanupSpec(
                    cluster=mariadb, table="cleanup_bench.cleanup_batch", method="batch_delete",
                    retention_days=10, batch_size=1000, batch_delay_s=0.5), mariadb.nodes[0])
                app.state.jobs.start(workload)
                app.state.jobs.start(cleanup)
                await asyncio.sleep(20)
                assert not cleanup.snapshot().running and not workload.snapshot().running
                await pilot.pause(1.5)
                await pilot.press("R")
                await pilot.pause()
        finally:
            del os.environ["CLUSTERTOP_RECORDINGS_DIR"]
        (path,) = folder.glob("record-*.db")
        return path

    return asyncio.run(record())


async def test_a_replay_shows_the_recorded_values_and_jobs_at_three_times(recorded: Path) -> None:
    from clustertop.tui.app import make_replay_app

    recording = read(recorded)
    assert recording.lost is None
    assert len(recording.rounds) >= 18, len(recording.rounds)
    app = make_replay_app(recording, speed=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("space")  # paused: the screen stays on the round sought
        chosen = [recording.rounds[i] for i in (3, len(recording.rounds) // 2, -2)]
        for index, expected in enumerate(chosen):
            if index == 0:  # through the keys, as an operator seeks
                await pilot.press("g")
                await pilot.pause()
                seek = app.screen.query_one("#seek", Input)
                offset = expected.at - app.replay.position
                seek.value = f"{offset:+.3f}s"  # to the millisecond, as typed
                await pilot.press("enter")
            else:
                app.replay.seek(f"{expected.at - app.replay.position:+.3f}s")
                app._jump()
            for _ in range(20):
                await pilot.pause(0.1)
                if app.state.latest is not None and app.state.latest.at == expected.at:
                    break
            assert app.state.latest == expected  # the very samples recorded
            rows = _overview(app)
            for node in expected.nodes:
                shown = rows[node.key]
                assert shown["lag"] == fmt.lag(node.lag_s, node.lag_is_lower_bound)
                assert shown["state"] == ("up" if node.up else "DOWN")
        await pilot.press("6")
        await pilot.pause(0.3)
        jobs = {j.kind: j for j in app.state.job_snapshots}
        assert set(jobs) >= {"workload", "cleanup"}
        assert jobs["cleanup"].state == "finished" and dict(jobs["cleanup"].summary)["deleted"]
        assert jobs["workload"].state == "finished" and dict(jobs["workload"].summary)["tx"]
        assert "REPLAY" in (app.state.replay_status or "")


def test_a_recording_holds_no_password(lab: Lab, recorded: Path) -> None:
    password = (lab.client_dir / "password").read_text().strip()
    db = sqlite3.connect(recorded)
    trained = db.execute("SELECT data FROM dictionaries").fetchone()
    dictionary = zstandard.ZstdCompressionDict(trained[0]) if trained else None
    texts = [recorded.read_bytes()]
    for table in ("rounds", "jobs"):
        for dict_id, payload in db.execute(f"SELECT dict, payload FROM {table}"):
            decompressor = zstandard.ZstdDecompressor(dict_data=dictionary) \
                if dict_id and dictionary else zstandard.ZstdDecompressor()
            texts.append(decompressor.decompress(payload))
    assert all(password.encode() not in text for text in texts)


def test_damaged_recordings_open_with_a_line_and_show_what_is_readable(
    recorded: Path, tmp_path: Path
) -> None:
    whole = read(recorded)
    flipped = tmp_path / "flipped.db"
    shutil.copy(recorded, flipped)
    db = sqlite3.connect(flipped)
    at, payload = db.execute("SELECT at_ms, payload FROM rounds ORDER BY at_ms LIMIT 1"
                             " OFFSET 5").fetchone()
    broken = bytearray(payload)
    for i in range(4, min(len(broken), 40)):
        broken[i] ^= 0xFF
    db.execute("UPDATE rounds SET payload = ? WHERE at_ms = ?", (bytes(broken), at))
    db.commit()
    db.close()
    damaged = read(flipped)
    assert damaged.lost is not None and "1 unreadable part" in damaged.lost
    assert len(damaged.rounds) == len(whole.rounds) - 1

    truncated = tmp_path / "truncated.db"
    data = recorded.read_bytes()
    truncated.write_bytes(data[: int(len(data) * 0.6)])
    cut = read(truncated)
    assert cut.rounds and len(cut.rounds) < len(whole.rounds)
    assert cut.lost is not None
    assert cut.rounds == whole.rounds[: len(cut.rounds)]  # what is there is what was recorded

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a recording at all" * 100)
    done = run_cli("replay", str(garbage))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "not a clustertop recording" in done.stderr


def test_record_headless_stops_cleanly_on_sigterm(lab: Lab, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    from tests.conftest import CLUSTERTOP

    out = tmp_path / "headless.db"
    recorder = subprocess.Popen([CLUSTERTOP, "--config", str(lab.config_path), "record",
                                 "--out", str(out), "--interval", "0.4"],
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    time.sleep(15)  # past the 30 rounds the dictionary is trained on
    recorder.send_signal(signal.SIGTERM)
    _out, err = recorder.communicate(timeout=20)
    assert recorder.returncode == 0 and "rounds recorded" in err, err
    recording = read(out)
    assert recording.lost is None and len(recording.rounds) >= 32
    db_check = sqlite3.connect(out)
    by_dictionary = dict(db_check.execute("SELECT dict, count(*) FROM rounds GROUP BY dict"))
    # The first 30 are compressed again with the dictionary trained on them.
    assert 0 not in by_dictionary and by_dictionary[1] >= 32, by_dictionary
    # Details stored once and referred to after: every round has them back, as polled.
    assert all(n.detail is not None for r in recording.rounds[5:] for n in r.nodes if n.up)
    db = sqlite3.connect(out)
    assert db.execute("SELECT value FROM meta WHERE key = 'ended'").fetchone()
    assert json.loads(db.execute("SELECT value FROM meta WHERE key = 'clusters'").fetchone()[0]
                      ) == ["lab-mariadb", "lab-postgres"]


def test_export_round_trips_the_recorded_values(lab: Lab, recorded: Path, tmp_path: Path) -> None:
    import csv

    recording = read(recorded)
    expected = {(r.at, n.cluster, n.node): n for r in recording.rounds for n in r.nodes}
    done = run_cli("export", str(recorded), "--format", "json", "--series", "lag,tps,connections")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert len(data["series"]) == len(expected)
    for row in data["series"]:
        node = expected[(row["at"], row["cluster"], row["node"])]
        assert row["lag"] == node.lag_s and row["connections"] == node.connections
        assert row["tps"] == (node.throughput.tps if node.throughput else None)
    kinds = {j["kind"]: j for j in data["jobs"]}
    assert kinds["cleanup"]["state"] == "finished" and kinds["cleanup"]["result"]["deleted"]

    out = tmp_path / "series.csv"
    assert run_cli("export", str(recorded), "--series", "lag,tps", "--out", str(out)
                   ).returncode == 0
    series_part = out.read_text().split("\n\n")[0]
    rows = list(csv.DictReader(series_part.splitlines()))
    assert len(rows) == len(expected)
    for row in rows:
        node = expected[(float(row["at"]), row["cluster"], row["node"])]
        assert (float(row["lag"]) if row["lag"] else None) == node.lag_s  # repr round-trips
    middle = recording.rounds[len(recording.rounds) // 2].at
    later = json.loads(run_cli("export", str(recorded), "--format", "json", "--from",
                               str(middle)).stdout)
    assert later["series"] and min(r["at"] for r in later["series"]) == middle
    password = (lab.client_dir / "password").read_text().strip()
    assert password not in done.stdout and password not in out.read_text()
    bad = run_cli("export", str(recorded), "--series", "lag,colour")
    assert bad.returncode == 2 and "--series" in bad.stderr and bad.stderr.count("\n") == 1


def test_a_recording_is_bounded_by_size_and_by_age(tmp_path: Path) -> None:
    """--max-size and --keep prune the oldest rounds (the file's own content, no server)."""
    from dataclasses import replace

    from clustertop.usecases.record import Recorder
    from tests.canned import canned_rounds

    rounds = canned_rounds()
    sized = Recorder(tmp_path / "sized.db", max_bytes=20_000)
    for n in range(200):
        base = rounds[n % len(rounds)]
        sized.add_round(replace(base, at=1000.0 + n))
    sized.close()
    db = sqlite3.connect(tmp_path / "sized.db")
    kept, payload = db.execute("SELECT count(*), sum(length(payload)) FROM rounds").fetchone()
    # Pruned every 10 rounds, oldest first, back under the limit: over it by 10 rounds at most.
    assert 0 < payload <= 20_000 + 10 * 4_000 and kept < 200
    assert db.execute("SELECT max(at_ms) FROM rounds").fetchone()[0] == 1_199_000
    aged = Recorder(tmp_path / "aged.db", keep_s=30)
    for n in range(100):
        aged.add_round(replace(rounds[n % len(rounds)], at=1000.0 + n))
    aged.close()
    times = [r.at for r in read(tmp_path / "aged.db").rounds]
    assert min(times) >= 1099.0 - 30 and max(times) == 1099.0


def test_export_renders_a_recorded_comparison_as_compare_printed_it(tmp_path: Path) -> None:
    from clustertop.actions.cleanup.compare import render_rows
    from clustertop.actions.jobs import JobSnapshot
    from clustertop.usecases import export
    from clustertop.usecases.record import Recorder
    from tests.canned import canned_rounds

    rows = ({"method": "partition_drop", "duration_s": 0.96, "rows_deleted": 44879,
             "rows_per_s": 46580.2, "max_lag_s": 0.086, "workload_p99_ms": None,
             "fragmentation_after": 0.531, "rows_lost": 0},
            {"method": "batch_delete", "duration_s": 1.05, "rows_deleted": 49960,
             "rows_per_s": 47421.0, "max_lag_s": 0.089, "workload_p99_ms": 7.3,
             "fragmentation_after": 0.503, "rows_lost": 0})
    job = JobSnapshot(id=3, kind="compare", title="compare partition_drop,batch_delete",
                      cluster="shop", state="finished", started_at=1.0, finished_at=9.0,
                      rows=rows)
    recorder = Recorder(tmp_path / "compare.db")
    recorder.add_round(canned_rounds()[0], [job])
    recorder.close()
    recording = read(tmp_path / "compare.db")
    text = export.render("md", [], export.job_results(recording, None))
    assert render_rows(list(rows), "md") in text
