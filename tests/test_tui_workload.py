"""`w` on the real lab: the form starts a workload in a background job, the Jobs screen shows
it run to the end, the Throughput screen draws its achieved TPS; with actions off it explains."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Select

from clustertop.core.config import Config, load_config
from clustertop.lab.lab import Lab
from clustertop.tui.app import make_app
from clustertop.tui.screens.workload_form import WorkloadForm
from tests.conftest import run_cli
from tests.tui_support import record_notes, until_jobs_end


async def _open_on_postgres(pilot, app) -> WorkloadForm:  # type: ignore[no-untyped-def]
    await pilot.press("w")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, WorkloadForm)
    form.query_one("#cluster", Select).value = "lab-postgres"
    await pilot.pause()
    return form


async def _start_and_end(pilot, app, form: WorkloadForm, timeout: float, **inputs: str):  # type: ignore[no-untyped-def]
    """Type the inputs (by field id), start from the duration field with enter, and return
    the one job once it has ended."""
    for field_id, value in inputs.items():
        form.query_one(f"#{field_id}", Input).value = value
    form.query_one("#duration", Input).focus()
    await pilot.press("enter")
    await until_jobs_end(app, timeout)
    (job,) = app.state.jobs.snapshots()
    return job


async def _fill(pilot, app, pattern: str) -> None:  # type: ignore[no-untyped-def]
    form = await _open_on_postgres(pilot, app)
    form.query_one("#pattern", Select).value = pattern
    form.query_one("#table", Input).value = "cleanup_bench.cleanup_batch"
    form.query_one("#tps", Input).value = "100"
    form.query_one("#duration", Input).value = "3"
    form.query_one("#duration", Input).focus()
    await pilot.press("enter")
    await pilot.pause()


async def test_w_starts_a_workload_that_runs_to_the_end(lab: Lab, lab_config: Config) -> None:
    run_cli("--config", str(lab.config_path), "load", "--cluster", "lab-postgres", "--rows", "500")
    app = make_app(lab_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await _fill(pilot, app, "oltp@table")
        await until_jobs_end(app, 15)
        (job,) = app.state.jobs.snapshots()
        assert job.kind == "workload" and job.state == "finished", job.error
        assert app.current_mode == "jobs"
        assert dict(job.summary)["tx"] != "0"
        app.action_poll_now()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#jobs", DataTable)
        assert table.row_count == 1
        await pilot.press("3")
        await pilot.pause()
        assert app.screen.query_one("#workload-tps").display
        achieved = [v for _t, v in job.series_named("achieved")]
        assert achieved and max(achieved) <= 110


async def test_w_unthrottled_runs_its_worker_processes_under_the_tui(
    lab: Lab, lab_config: Config
) -> None:
    """The form's defaults (4 connections, unthrottled) spread the run over worker processes:
    they start even though Textual holds sys.stderr (its capture has no file descriptor, which
    multiprocessing's resource tracker was handed: "bad value(s) in fds_to_keep")."""
    run_cli("--config", str(lab.config_path), "load", "--cluster", "lab-postgres", "--rows", "500")
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_on_postgres(pilot, app)
        job = await _start_and_end(pilot, app, form, 30,
                                   table="cleanup_bench.cleanup_batch", duration="2")
        assert "2 processes" in job.log[0]
        assert job.state == "finished", job.error
        assert int(dict(job.summary)["tx"].replace(",", "")) > 0


async def test_w_runs_ecommerce_on_the_shop_data_and_throughput_ranks_its_kinds(
    lab_config: Config,
) -> None:
    """A shop pattern from the form: the table row hides (it does not apply), the job runs
    the transactions, and Throughput lists each transaction kind with its own p99."""
    from clustertop.actions.shop import load_shop

    load_shop(lab_config.clusters["lab-postgres"], scale=1)
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_on_postgres(pilot, app)
        form.query_one("#pattern", Select).value = "ecommerce@shop"
        await pilot.pause()
        assert not form.query_one("#table").parent.display  # type: ignore[union-attr]
        job = await _start_and_end(pilot, app, form, 20, skew="zipf:1.1", tps="50",
                                   duration="4")
        assert job.state == "finished", job.error
        assert "ecommerce" in job.title
        await pilot.press("3")
        await pilot.pause()
        kinds = app.screen.query_one("#kinds", DataTable)
        assert kinds.display
        shown = [str(kinds.get_row_at(i)[0]) for i in range(kinds.row_count)]
        assert set(shown) == {"browse_product", "add_to_cart", "place_order", "order_history"}
        p99s = [float(str(kinds.get_row_at(i)[4]).replace(",", "")) for i in range(kinds.row_count)]
        assert p99s == sorted(p99s, reverse=True)  # worst first


async def test_w_with_actions_off_explains_how_to_turn_them_on(lab: Lab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    off = tmp_path / "off.toml"
    off.write_text(lab.config_path.read_text().replace("actions = true", "actions = false"))
    app = make_app(load_config(off))
    async with app.run_test(size=(120, 40)) as pilot:
        notes = record_notes(app)
        await _fill(pilot, app, "oltp@table")
        await pilot.pause()
        assert not app.state.jobs.snapshots()
        assert any("--allow-actions" in n for n in notes), notes


async def test_the_form_refuses_bad_numbers_in_place(lab_config: Config) -> None:
    app = make_app(lab_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        form = app.screen
        form.query_one("#connections", Input).value = "-2"
        form.query_one("#connections", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, WorkloadForm)
        assert "connections: must be more than 0" in str(form.query_one("#form-error").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, WorkloadForm)


async def test_enter_on_a_choice_starts_the_form_and_space_opens_the_list(
    lab_config: Config,
) -> None:
    """The form's hint says enter starts: so it does on a choice too (the check runs, here
    refusing a bad number in place); space opens the choice's list instead."""
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, WorkloadForm)
        assert "enter starts" in str(form.query_one("Label").render())
        form.query_one("#connections", Input).value = "-2"
        pattern = form.query_one("#pattern", Select)
        pattern.focus()
        await pilot.press("space")
        await pilot.pause()
        assert pattern.expanded  # the list is open
        await pilot.press("escape")
        await pilot.pause()
        assert not pattern.expanded and isinstance(app.screen, WorkloadForm)
        await pilot.press("enter")
        await pilot.pause()
        assert "connections: must be more than 0" in str(form.query_one("#form-error").render())


@pytest.mark.parametrize("how", ["sighup", "terminal-closed"])
def test_a_lost_terminal_ends_the_tui_cleanly(lab: Lab, how: str) -> None:
    """The SSH session dropped: the TUI stops its jobs and exits 0, no traceback. Either a
    SIGHUP with the terminal still there, or the terminal closed under it (the kernel's
    hang-up: its writes then fail, and Textual's exit blocked on them, found with tmux
    kill-session, the process living on)."""
    import fcntl
    import os
    import pty
    import signal
    import subprocess
    import termios
    import time

    from tests.conftest import CLUSTERTOP

    leader, follower = pty.openpty()

    def take_the_terminal() -> None:  # in the child, after setsid: the pty is its terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [CLUSTERTOP, "--config", str(lab.config_path), "top"],
        stdin=follower, stdout=follower, stderr=follower, close_fds=True,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
        start_new_session=True, preexec_fn=take_the_terminal,
    )
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 20
        while b"Overview" not in seen and time.monotonic() < deadline:
            try:
                seen += os.read(leader, 65536)
            except OSError:
                break
        assert b"Overview" in seen, seen[-500:]
        if how == "sighup":
            proc.send_signal(signal.SIGHUP)
        else:
            time.sleep(2)  # a few screen updates queued, then the terminal goes
            os.close(leader)
            leader = -1
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                seen += os.read(leader, 65536) if leader >= 0 else b""
            except OSError:
                time.sleep(0.1)
            time.sleep(0.05)
        assert proc.poll() == 0, (proc.poll(), seen[-800:])
        assert b"Traceback" not in seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if leader >= 0:
            os.close(leader)


async def test_the_workload_form_fits_80x24_gate_included(lab_config: Config) -> None:
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, WorkloadForm)
        for widget_id in ("cluster", "pattern", "table", "skew", "connections", "tps",
                          "duration", "transactions", "engine", "gate", "start"):
            region = form.query_one(f"#{widget_id}").region
            assert region.height >= 1 and region.bottom <= 24, (widget_id, region)


async def test_the_demo_starts_its_background_workload_without_taking_the_screen(
    lab_config: Config,
) -> None:
    from clustertop.actions.shop import load_shop
    from clustertop.tui.app import DemoStart
    from clustertop.usecases.changes import WorkloadRequest

    load_shop(lab_config.clusters["lab-mariadb"], scale=1)
    request = WorkloadRequest(cluster="lab-mariadb", pattern="oltp", table=None, connections=2,
                              target_tps=20.0, duration_s=3.0, transactions=None,
                              dataset="shop")
    app = make_app(lab_config, demo=DemoStart(hint="try: w", background=(request,)))
    async with app.run_test(size=(80, 24)) as pilot:
        await until_jobs_end(app, 15)
        (job,) = app.state.jobs.snapshots()
        assert job.state == "finished" and job.kind == "workload", job.error
        assert app.current_mode == "overview"  # the operator's screen stays theirs
        await pilot.pause()
