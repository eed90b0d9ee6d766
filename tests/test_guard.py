"""`clustertop guard` against the real lab: a script that writes for 60 s is stopped within
15 s of the lag rule tripping (the replica's apply stopped), exit 3, the trip in the timeline;
with --on-trip pause it is stopped and continued, and finishes once the replica catches up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from clustertop.core.config import ClusterConfig
from clustertop.lab.lab import Lab
from tests.conftest import CLUSTERTOP
from tests.helpers import set_replica_apply

WRITER = """
import sys, time
from clustertop.core.config import load_config
from clustertop.collectors.connect import connect_mysql
node = load_config(sys.argv[1]).clusters["lab-mariadb"].nodes[0]
conn = connect_mysql(node, connect_timeout=5)
cur = conn.cursor()
cur.execute("CREATE DATABASE IF NOT EXISTS guard_test")
cur.execute("CREATE TABLE IF NOT EXISTS guard_test.rows (id INT PRIMARY KEY)")
cur.execute("DELETE FROM guard_test.rows")
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    n += 1
    cur.execute("INSERT INTO guard_test.rows (id) VALUES (%s)", (n,))
    time.sleep(0.05)
print(f"wrote {n} rows", flush=True)
"""


def _config(lab: Lab, tmp_path: Path) -> Path:
    """The lab's config with a gate of two rules, so only the replica's lag can trip it."""
    path = tmp_path / "guard.toml"
    path.write_text(lab.config_path.read_text()
                    + '\n[gate]\nrules = ["lag_s < 2"]\nabort_rules = ["nodes_up == all"]\n')
    return path


def _guard(config: Path, tmp_path: Path, *args: str, seconds: float) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen(
        [CLUSTERTOP, "--config", str(config), "guard", "--cluster", "lab-mariadb", "--json",
         *args, "--", sys.executable, str(script), str(config), str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        env={"CLUSTERTOP_RESULTS_DIR": str(tmp_path / "out"), "PATH": "/usr/bin:/bin"},
    )


def test_guard_stops_a_writing_script_once_the_lag_rule_trips(
    lab: Lab, mariadb: ClusterConfig, tmp_path: Path
) -> None:
    guard = _guard(_config(lab, tmp_path), tmp_path, seconds=60)
    try:
        time.sleep(4)  # the gate judged GO and the script writes
        assert guard.poll() is None, guard.communicate()
        set_replica_apply(mariadb, False)
        out, err = guard.communicate(timeout=60)
    finally:
        set_replica_apply(mariadb, True)
        if guard.poll() is None:
            guard.kill()
    assert guard.returncode == 3, err
    record = json.loads(out[out.index("{"):])
    events = {e["event"]: e for e in record["timeline"]}
    assert "trip" in events and "lag_s < 2" in events["trip"]["text"]
    assert "SIGTERM" in events["trip"]["text"] and "replica1" in events["trip"]["text"]
    stopped_in = record["timeline"][-1]["at"] - events["trip"]["at"]
    assert stopped_in < 15, record["timeline"][-3:]
    assert record["stopped_by_guard"] and record["peaks"]["lag_s"] >= 2.0
    assert "guard: trip:" in err and "FAIL lag_s < 2" in err  # the timeline, as it happened


def test_guard_pauses_a_writing_script_and_continues_it_once_the_replica_catches_up(
    lab: Lab, mariadb: ClusterConfig, tmp_path: Path
) -> None:
    guard = _guard(_config(lab, tmp_path), tmp_path, "--on-trip", "pause",
                   "--resume-after", "1", seconds=12)
    try:
        time.sleep(4)
        set_replica_apply(mariadb, False)
        deadline = time.monotonic() + 30
        status = ""
        while time.monotonic() < deadline and " T " not in status:  # SIGSTOPped: state T
            time.sleep(0.3)
            children = subprocess.run(["ps", "-o", "pid=,stat=", "--ppid", str(guard.pid)],
                                      capture_output=True, text=True).stdout
            status = " " + " ".join(line.split()[1][:1] for line in children.splitlines()) + " "
        assert " T " in status, "the script was never stopped"
        time.sleep(2)
        set_replica_apply(mariadb, True)
        out, err = guard.communicate(timeout=90)
    finally:
        set_replica_apply(mariadb, True)
        if guard.poll() is None:
            guard.kill()
    assert guard.returncode == 0, err  # the script's own exit: it finished
    assert out.startswith("wrote ")  # the script's own output passes through
    record = json.loads(out[out.index("{"):])
    kinds = [e["event"] for e in record["timeline"]]
    assert "trip" in kinds and "resume" in kinds and kinds.index("trip") < kinds.index("resume")
    assert not record["stopped_by_guard"] and record["trips"] >= 1


def test_guard_refuses_bad_input_in_one_line_and_starts_nothing_on_no_go(
    lab: Lab, tmp_path: Path
) -> None:
    from tests.conftest import run_cli

    base = ("--config", str(_config(lab, tmp_path)), "guard", "--cluster", "lab-mariadb")
    marker = tmp_path / "ran"
    for args, code, fragment in (
        ((), 2, "COMMAND: name the command to guard"),
        (("--rule", "lag < 1", "--", "true"), 2, "unknown metric 'lag'"),
        (("--grace", "-1", "--", "true"), 2, "--grace"),
        (("--", "/nonexistent/migrate.sh"), 1, "cannot start /nonexistent/migrate.sh"),
        # A rule that cannot hold: NO-GO before the start, and the command never runs.
        (("--rule", "nodes_up > 99", "--", "touch", str(marker)), 1, "NO-GO before the start"),
    ):
        done = run_cli(*base, *args)
        assert done.returncode == code, (args, done.stderr)
        assert fragment in done.stderr.strip().splitlines()[-1], (args, done.stderr)
    assert not marker.exists()


async def test_G_runs_a_guarded_command_as_a_job_and_x_stops_it(lab: Lab, tmp_path: Path) -> None:
    """From the TUI: G, the command line, enter; Jobs shows its output and the rules' state;
    x stops the command (its whole process group)."""
    from textual.widgets import Input

    from clustertop.core.config import load_config
    from clustertop.tui.app import make_app
    from clustertop.tui.screens.guard_form import GuardForm
    from clustertop.tui.screens.jobs import job_name

    script = tmp_path / "ticks.py"
    pid_file = tmp_path / "pid"
    script.write_text(
        "import os, sys, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "for n in range(600):\n    print(f'tick {n}', flush=True)\n    time.sleep(0.1)\n"
    )
    app = make_app(load_config(_config(lab, tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("G")
        await pilot.pause()
        assert isinstance(app.screen, GuardForm)
        app.screen.query_one("#command", Input).value = f"{sys.executable} {script}"
        app.screen.query_one("#command", Input).focus()
        await pilot.press("enter")
        job = None
        for _ in range(60):
            await pilot.pause(0.25)
            snaps = [j for j in app.state.jobs.snapshots() if j.kind == "guard"]
            if snaps and any("| tick 3" in line for line in snaps[0].log):
                job = snaps[0]
                break
        assert job is not None, [j.log[-5:] for j in app.state.jobs.snapshots()]
        assert job.running and (job.current or "").startswith("rules: GO")
        child = int(pid_file.read_text())
        await pilot.press("6")
        await pilot.press("x")
        for _ in range(60):
            await pilot.pause(0.25)
            if not app.state.jobs.get(job.id).snapshot().running:  # type: ignore[union-attr]
                break
        final = app.state.jobs.get(job.id).snapshot()  # type: ignore[union-attr]
        assert final.state == "cancelled", (final.state, final.error, final.log[-5:])
        assert any("asked by the operator: SIGTERM" in line for line in final.log)
        # One time a line (the job's log stamps it), and the kind said once: `guard <command>`.
        assert any(" guard: " in line for line in final.log), final.log[-5:]
        assert not any(re.match(r"\d\d:\d\d:\d\d \d\d:\d\d:\d\d ", line) for line in final.log)
        assert job_name(final) == f"guard {sys.executable} {script}"[:86]
        assert not Path(f"/proc/{child}").exists() or \
            Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"
