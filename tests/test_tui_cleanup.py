"""`c` on the real lab: a dry run from the form shows its SQL on the Jobs screen and changes
nothing; a real run needs the table's name typed; with actions off `c` explains; the form
fits an 80x24 terminal."""

from __future__ import annotations

from textual.widgets import Input, Select

from clustertop.actions.seed import load_cluster, read_seed_info, table_checksum
from clustertop.core.config import ClusterConfig, Config, load_config
from clustertop.lab.lab import Lab
from clustertop.tui.app import DemoStart, make_app
from clustertop.tui.screens.cleanup_form import CleanupForm
from tests.tui_support import record_notes, until, until_jobs_end


async def _open_form(pilot, app, method: str, dry: str) -> CleanupForm:  # type: ignore[no-untyped-def]
    await pilot.press("c")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, CleanupForm)
    form.query_one("#cluster", Select).value = "lab-mariadb"
    form.query_one("#table", Input).value = "cleanup_bench.cleanup_batch"
    form.query_one("#method", Select).value = method
    form.query_one("#dry", Select).value = dry
    return form


async def _until_ended(app) -> None:  # type: ignore[no-untyped-def]
    await until_jobs_end(app, 30)


async def test_c_dry_run_shows_the_sql_and_changes_nothing(
    lab_config: Config, mariadb: ClusterConfig
) -> None:
    load_cluster(mariadb, rows=2_000, seed=2, tables=("cleanup_batch",))
    node = mariadb.nodes[0]
    anchor = read_seed_info(node)["cleanup_batch"].anchor
    before = table_checksum(node, "cleanup_batch", anchor)
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        notes = record_notes(app)
        form = await _open_form(pilot, app, "batch_delete", "yes")
        form.query_one("#batch", Input).value = "777"
        await pilot.pause()
        assert not form.query_one("#confirm").parent.display  # a dry run needs no confirming
        form.query_one("#retention", Input).focus()
        await pilot.press("enter")
        await _until_ended(app)
        (job,) = app.state.jobs.snapshots()
        assert job.kind == "cleanup" and job.state == "finished", job.error
        assert any("would run: DELETE FROM" in line for line in job.log)
        said = dict(job.summary)  # what it found, not "deleted: 0  rows/s: 0"
        older = next(int(line.split(" rows, ")[1].split()[0]) for line in job.log
                     if " rows, " in line and " older than " in line)
        assert said["would delete"] == str(older), said
        assert said["chunks"] == f"{-(-older // 777)} of 777", said
        assert app.current_mode == "jobs"
        # Its end is said, with the next step: the same cleanup for real.
        await until(lambda: any("c: the same cleanup for real" in n for n in notes), 10)
        assert "c: the same cleanup for real" in str(app.screen.query_one("#job-detail").render())
        # The next c offers the same cleanup for real: the values kept, dry run off, the
        # confirmation showing and saying what to type.
        await pilot.press("c")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, CleanupForm) and "for real" in again.TITLE_TEXT
        assert again.query_one("#batch", Input).value == "777"
        assert again.query_one("#table", Input).value == "cleanup_bench.cleanup_batch"
        assert again.query_one("#dry", Select).value == "no"
        confirm = again.query_one("#confirm", Input)
        assert confirm.parent.display  # type: ignore[union-attr]
        assert app.focused is confirm  # all that is left: typing the name
        assert confirm.placeholder == "type cleanup_bench.cleanup_batch to remove rows"
        # Compare all four picks its own tables: the table and dry run rows hide.
        again.query_one("#method", Select).value = "compare all four"
        await pilot.pause()
        assert not again.query_one("#table").parent.display  # type: ignore[union-attr]
        assert not again.query_one("#dry").parent.display  # type: ignore[union-attr]
        assert "cleanup_bench" in confirm.placeholder
    assert table_checksum(node, "cleanup_batch", anchor) == before


async def test_c_removes_rows_only_once_the_table_name_is_typed(
    lab_config: Config, mariadb: ClusterConfig
) -> None:
    load_cluster(mariadb, rows=2_000, seed=2, tables=("cleanup_batch",))
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_form(pilot, app, "batch_delete", "no")
        form.query_one("#confirm", Input).value = "cleanup_batch"  # not the name as given
        form.query_one("#confirm", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CleanupForm)
        assert "confirm: type cleanup_bench.cleanup_batch" in str(
            form.query_one("#form-error").render()
        )
        form.query_one("#confirm", Input).value = "cleanup_bench.cleanup_batch"
        await pilot.press("enter")
        await _until_ended(app)
        (job,) = app.state.jobs.snapshots()
        assert job.state == "finished", job.error
        deleted = int(dict(job.summary)["deleted"])
        assert deleted > 0 and job.done == deleted  # progress counted every row
        # The next cleanup is a new one: the form keeps the values, and starts with a dry run.
        await pilot.press("c")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, CleanupForm)
        assert again.query_one("#dry", Select).value == "yes"
        assert again.query_one("#table", Input).value == "cleanup_bench.cleanup_batch"


async def test_the_demos_compare_runs_on_the_demos_rows(
    lab_config: Config, mariadb: ClusterConfig
) -> None:
    """10,000 rows lag no replica visibly: in the demo, compare all four loads as many rows as
    the demo did."""
    app = make_app(lab_config, demo=DemoStart(hint="try c", compare_rows=3_000))
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_form(pilot, app, "compare all four", "no")
        form.query_one("#confirm", Input).value = "cleanup_bench"
        form.query_one("#confirm", Input).focus()
        await pilot.press("enter")
        await until(lambda: app.state.jobs.snapshots() and not any(
            j.running for j in app.state.jobs.snapshots()), 120)
        jobs = app.state.jobs.snapshots()
        (compare,) = [j for j in jobs if j.kind == "compare"]
        assert compare.state == "finished", compare.error
        assert "on 3,000 rows" in compare.title
        (truncate,) = [j for j in jobs if j.kind == "cleanup" and "truncate" in j.title]
        assert int(dict(truncate.summary)["deleted"]) == 3_000  # truncate takes every row


async def test_c_with_actions_off_explains_how_to_turn_them_on(lab: Lab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    off = tmp_path / "off.toml"
    off.write_text(lab.config_path.read_text().replace("actions = true", "actions = false"))
    app = make_app(load_config(off))
    async with app.run_test(size=(80, 24)) as pilot:
        notes = record_notes(app)
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, CleanupForm)
        assert any("--allow-actions" in n for n in notes), notes


async def test_the_cleanup_form_fits_80x24(lab_config: Config) -> None:
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CleanupForm)
        form.query_one("#dry", Select).value = "no"  # every row shown: the confirmation too
        await pilot.pause()
        for widget_id in ("cluster", "table", "method", "retention", "batch", "delay", "lag",
                          "target", "gate", "dry", "confirm", "start"):
            region = form.query_one(f"#{widget_id}").region
            assert region.height >= 1 and region.bottom <= 24, (widget_id, region)


async def test_P_holds_a_running_cleanup_and_e_changes_its_chunk_size(
    lab_config: Config, postgres: ClusterConfig
) -> None:
    """Live control on Jobs: P holds the job at its next chunk boundary (no chunk runs while
    held) and lets it go on; e changes the chunk size from the next chunk on. Both logged."""
    from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec
    from clustertop.tui.screens.form import JobSettingsForm

    load_cluster(postgres, rows=20_000, seed=3, tables=("cleanup_batch",))
    spec = CleanupSpec(cluster=postgres, table="cleanup_bench.cleanup_batch",
                       method="batch_delete", retention_days=10, batch_size=100,
                       batch_delay_s=0.2)
    app = make_app(lab_config)
    async with app.run_test(size=(120, 40)) as pilot:
        job = CleanupJob(spec, postgres.nodes[0])
        job.preflight()
        app.state.jobs.start(job)
        await pilot.press("6")
        for _ in range(50):  # the first chunks
            await pilot.pause(0.2)
            if len(job.chunks) >= 2:
                break
        await pilot.press("P")
        await pilot.pause(1.0)  # the chunk under way finishes, then it holds
        held = len(job.chunks)
        await pilot.pause(1.5)
        assert len(job.chunks) == held and job.snapshot().paused
        assert any("paused by the operator" in line for line in job.snapshot().log)
        await pilot.press("e")
        await pilot.pause(0.3)
        form = app.screen
        assert isinstance(form, JobSettingsForm)
        form.query_one("#batch_size", Input).value = "400"
        await pilot.press("enter")
        await pilot.pause(0.3)
        await pilot.press("P")
        for _ in range(50):
            await pilot.pause(0.2)
            if len(job.chunks) >= held + 2:
                break
        log = job.snapshot().log
        assert any("resumed by the operator" in line for line in log)
        assert any("batch_size 100 -> 400" in line for line in log), log[-5:]
        assert [c["rows"] for c in job.chunks[held:held + 2]] == [400, 400], job.chunks[held:]
        job.cancel()
        job.join(30)


def test_the_sentinel_file_stops_a_cleanup_cleanly(postgres: ClusterConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec

    load_cluster(postgres, rows=20_000, seed=4, tables=("cleanup_batch",))
    sentinel = tmp_path / "stop-cleanups"
    spec = CleanupSpec(cluster=postgres, table="cleanup_bench.cleanup_batch",
                       method="batch_delete", retention_days=10, batch_size=100,
                       batch_delay_s=0.1, sentinel=str(sentinel))
    job = CleanupJob(spec, postgres.nodes[0])
    job.preflight()
    job.start()
    import time

    deadline = time.monotonic() + 30
    while len(job.chunks) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    sentinel.touch()
    job.join(30)
    snap = job.snapshot()
    assert snap.state == "cancelled", (snap.state, snap.error)
    assert any(f"sentinel {sentinel} exists" in line for line in snap.log)
    # Stopped at a chunk boundary: every chunk committed whole (100 rows each, the last may
    # be short only at the end of the keys).
    assert all(c["rows"] == 100 for c in job.chunks), job.chunks


async def test_the_live_settings_form_of_a_paced_cleanup_fits_80x24() -> None:
    """`e` on a batch_delete: chunk size, delay, max lag, target lag and chunk time, each on
    screen at 80x24 (the form is rendering only: canned app)."""
    from clustertop.tui.screens.form import JobSettingsForm
    from tests.tui_support import canned_app

    settings = (("batch_size", "5000"), ("batch_delay_s", "0.1"), ("max_lag_s", "off"),
                ("target_lag_s", "0.3"), ("chunk_time_s", "off"))
    app = canned_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(JobSettingsForm(1, settings))
        await pilot.pause()
        for key, value in settings:
            field = app.screen.query_one(f"#{key}", Input)
            assert field.value == value
            assert field.region.height >= 1 and field.region.bottom <= 24, (key, field.region)


async def test_c_takes_a_target_lag_and_the_gate_into_the_run(
    lab_config: Config, mariadb: ClusterConfig
) -> None:
    """The form's target lag and gate reach the run's spec (a dry run here: what they do to a
    real run is tested in test_cleanup)."""
    from clustertop.actions.cleanup.job import CleanupJob

    load_cluster(mariadb, rows=2_000, seed=2, tables=("cleanup_batch",))
    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _open_form(pilot, app, "batch_delete", "yes")
        form.query_one("#target", Input).value = "0.5"
        form.query_one("#gate", Select).value = "on"
        form.query_one("#retention", Input).focus()
        await pilot.press("enter")
        await _until_ended(app)
        (snap,) = app.state.jobs.snapshots()
        job = app.state.jobs.get(snap.id)
        assert isinstance(job, CleanupJob) and snap.state == "finished", snap.error
        assert job.spec.gate and job.spec.target_lag_s == 0.5
        assert dict(snap.settings)["target_lag_s"] == "0.5"


async def test_the_forms_remember_values_per_cluster() -> None:
    """Each cluster's last values come back when it is chosen; the form opens on the cluster
    last used; the confirmation is never remembered."""
    from clustertop.tui.screens.form import FormMemory
    from clustertop.tui.screens.workload_form import WorkloadForm
    from tests.tui_support import canned_app

    clusters = {"east": ("shop.orders",), "west": ("cleanup_bench.cleanup_batch",)}
    memory = FormMemory()
    app = canned_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = CleanupForm(clusters, memory)
        app.push_screen(form, lambda _request: None)
        await pilot.pause()
        form.query_one("#cluster", Select).value = "west"
        await pilot.pause()
        form.query_one("#batch", Input).value = "250"
        form.query_one("#dry", Select).value = "no"
        form.query_one("#confirm", Input).value = "cleanup_bench.cleanup_batch"
        form.submit()
        await pilot.pause()
        assert memory.last_cluster == "west" and "confirm" not in memory.by_cluster["west"]
        form = CleanupForm(clusters, memory)
        app.push_screen(form, lambda _request: None)
        await pilot.pause()
        assert form.query_one("#cluster", Select).value == "west"
        assert form.query_one("#batch", Input).value == "250"
        assert form.query_one("#confirm", Input).value == ""
        memory.by_cluster["east"] = {"batch": "40", "table": "shop.orders", "dry": "no"}
        form.query_one("#cluster", Select).value = "east"
        await pilot.pause()
        assert form.query_one("#batch", Input).value == "40"
        form.query_one("#cluster", Select).value = "west"
        await pilot.pause()
        assert form.query_one("#batch", Input).value == "250"
        assert form.query_one("#table", Input).value == "cleanup_bench.cleanup_batch"
        form.dismiss(None)
        await pilot.pause()
        workload_memory = FormMemory({"west": {"connections": "9", "duration": "7"}}, "west")
        workload = WorkloadForm(clusters, memory=workload_memory)
        app.push_screen(workload, lambda _request: None)
        await pilot.pause()
        assert workload.query_one("#connections", Input).value == "9"
        assert workload.query_one("#duration", Input).value == "7"
