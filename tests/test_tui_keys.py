"""Every key and screen switch, driven as a user would, with what changed asserted."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, Select, Static

from clustertop.actions.jobs import CANCELLED, Job, JobRegistry
from clustertop.core.config import parse_config
from clustertop.tui.app import make_app
from clustertop.tui.screens.dialogs import ConfirmScreen, FilterScreen, HelpScreen
from clustertop.tui.screens.jobs import JobsScreen
from clustertop.tui.screens.overview import OverviewScreen, columns_for
from tests.canned import CONFIG_DATA, CannedSource, canned_rounds
from tests.tui_support import canned_app, feed, record_notes, screen_text, until

MODES = {"1": "overview", "2": "replication", "3": "throughput", "4": "shards", "5": "tables",
         "6": "jobs"}


def _cell(table: DataTable, row: str, column: str) -> str:  # type: ignore[type-arg]
    return str(table.get_cell(row, column))


@pytest.mark.parametrize("key", sorted(MODES))
async def test_number_keys_switch_screens(key: str) -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        await pilot.press(key)
        await pilot.pause()
        assert app.current_mode == MODES[key]
        assert app.screen.query_one("HealthBar", Static)
        health = str(app.screen.query_one("HealthBar", Static).render())
        assert health.startswith(f"{key} ")
        await pilot.press("1")
        assert app.current_mode == "overview"


async def test_overview_colours_crit_lag_and_shows_a_down_nodes_reason() -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        table = app.screen.query_one("#nodes", DataTable)
        lag = table.get_cell("shop/db2", "lag")
        assert str(lag) == "9.0s" and "red" in str(lag.style)
        assert str(table.get_cell("billing/pg2", "state")) == "DOWN"
        table.move_cursor(row=table.get_row_index("billing/pg2"))
        await pilot.pause()
        detail = str(app.screen.query_one("#node-detail", Static).render())
        assert "billing/pg2 DOWN: connection refused" in detail
        health = str(app.screen.query_one("HealthBar", Static).render())
        assert "1 DOWN" in health and "alert" in health


async def test_a_crit_alert_is_notified_once_when_crossed() -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        notes: list[str] = []
        original = app.notify

        def spy(message: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
            notes.append(message)
            original(message, **kwargs)

        app.notify = spy  # type: ignore[method-assign]
        await feed(app, pilot)
        lag_alerts = [n for n in notes if "shop/db2 lag" in n]
        down_alerts = [n for n in notes if "billing/pg2 DOWN" in n]
        # The lag crossed 5 s once over the stream and stayed there; the node was DOWN from
        # the first round, which landed before the spy.
        assert len(lag_alerts) == 1
        assert down_alerts == []


def test_a_fragmentation_alert_names_its_node_and_table() -> None:
    """The same table on two clusters: each alert says whose it is."""
    from dataclasses import replace

    from clustertop.tui.alerts import AlertBook

    round_ = canned_rounds()[-1]
    nodes = []
    for node in round_.nodes:
        if node.detail is not None:
            tables = tuple(replace(t, fragmentation_ratio=0.47) for t in node.detail.tables)
            node = replace(node, detail=replace(node.detail, tables=tables))
        nodes.append(node)
    book = AlertBook(parse_config(CONFIG_DATA))
    book.update(replace(round_, nodes=tuple(nodes)))
    said = [a.text for a in book.active.values() if "reclaimable" in a.text]
    assert "shop/db1: cleanup_bench.cleanup_batch 47% reclaimable" in said, said
    assert len(said) == len(set(said))


async def test_help_pause_interval_and_refresh() -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = dict(app.screen.keys)
        for key in ("1", "2", "3", "4", "5", "6", "?", "p", "r", "/", "x", "b", "q", "+", "-"):
            assert listed.get(key), key
        assert "stop the selected job" in listed["x"] and "Jobs screen" in listed["x"]
        # Every binding of the app is described in the help, by its own text.
        descriptions = set(listed.values())
        for binding in app.BINDINGS:
            if binding.action in ("resume", "stop_elsewhere"):  # type: ignore[union-attr]
                continue  # the second label of p; x off the Jobs screen (Jobs lists x)
            assert binding.tooltip in descriptions, binding  # type: ignore[union-attr]
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        footer = [(b.binding.key, b.binding.description)
                  for b in app.active_bindings.values() if b.binding.show and b.enabled]
        assert ("p", "Pause") in footer and ("p", "Resume") not in footer
        await pilot.press("p")
        assert app.state.paused
        assert "paused" in str(app.screen.query_one("HealthBar", Static).render())
        await pilot.pause()
        footer = [(b.binding.key, b.binding.description)
                  for b in app.active_bindings.values() if b.binding.show and b.enabled]
        assert ("p", "Resume") in footer and ("p", "Pause") not in footer  # says what p does
        await pilot.press("p")
        assert not app.state.paused

        assert app.state.poll_interval == 60.0  # the canned config's, the longest allowed
        await pilot.press("minus", "minus")
        assert app.state.poll_interval == 59.0
        await pilot.press("plus", "plus", "plus")
        assert app.state.poll_interval == 60.0  # capped

        notes = record_notes(app)
        polls = app.source.calls  # type: ignore[attr-defined]
        await pilot.press("r")
        await app.workers.wait_for_complete()
        assert app.source.calls == polls + 1  # type: ignore[attr-defined]
        assert any("polling now" in n for n in notes), notes
        await pilot.press("x")  # off the Jobs screen: it says where x works
        await pilot.pause()
        assert any("Jobs screen" in n and "6" in n for n in notes), notes


async def test_filter_narrows_every_screen_and_escape_keeps_it() -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        await pilot.press("slash")
        assert isinstance(app.screen, FilterScreen)
        await pilot.press(*"billing")
        await pilot.pause()
        # As it is typed, before enter: the table beneath narrows, the top line counts it.
        beneath = app.screen_stack[-2]
        rows = beneath.query_one("#nodes", DataTable).rows
        assert sorted(k.value for k in rows) == ["billing/pg1", "billing/pg2"]
        health = str(beneath.query_one("HealthBar", Static).render())
        assert "filter 'billing' 2/7" in health and "1 up 1 DOWN" in health, health
        await pilot.press("enter")
        await pilot.pause()
        table = app.screen.query_one("#nodes", DataTable)
        assert sorted(k.value for k in table.rows) == ["billing/pg1", "billing/pg2"]
        await pilot.press("2")
        await pilot.pause()
        replicas = app.screen.query_one("#replicas", DataTable)
        assert [k.value for k in replicas.rows] == ["billing/pg2|down"]
        await pilot.press("1", "slash")
        assert app.screen.query_one(Input).value == "billing"
        await pilot.press("escape")
        assert app.state.filter == "billing"
        await pilot.press("slash", "ctrl+u", "enter")
        await pilot.pause()
        assert app.state.filter == ""
        assert app.screen.query_one("#nodes", DataTable).row_count == 7


async def test_command_palette_switches_screens() -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Tables")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "tables"


@pytest.mark.parametrize(("typed", "opened"), [("work", "WorkloadForm"), ("clean", "CleanupForm"),
                                                ("filt", "FilterScreen")])
async def test_the_palette_offers_the_actions_keys_offer(typed: str, opened: str) -> None:
    app = canned_app(allow_actions=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*typed)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == opened


async def test_quit_without_jobs_exits_cleanly() -> None:
    app = canned_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(app, pilot)
        await pilot.press("q")
    assert app.return_code == 0


class SleepyJob(Job):
    """A real job: counts in small steps until told to stop."""

    def run(self) -> Sequence[tuple[str, str]]:
        self.progress(0, 1000)
        for i in range(1000):
            self.wait(0.01)
            self.progress(i + 1)
        return (("counted", "1000"),)


async def test_x_stops_the_selected_job_and_q_asks_first_when_jobs_run() -> None:
    jobs = JobRegistry()
    app = make_app(parse_config(CONFIG_DATA), source=CannedSource(canned_rounds()[:1]), jobs=jobs)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first = jobs.start(SleepyJob(kind="demo", title="count", cluster="shop", unit="steps"))
        second = jobs.start(SleepyJob(kind="demo", title="count again", cluster="shop"))
        await pilot.press("6")
        app.action_poll_now()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        table = app.screen.query_one("#jobs", DataTable)
        assert table.row_count == 2
        table.move_cursor(row=0)
        await pilot.press("x")
        first.join(2)
        assert first.snapshot().state == CANCELLED
        assert second.snapshot().running

        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert second.snapshot().running
        await pilot.press("q", "y")
        second.join(3)
        await pilot.pause(0.3)
    assert second.snapshot().state == CANCELLED
    assert app.return_code == 0


class HoldingJob(SleepyJob):
    """Counts like SleepyJob, holding between steps when the operator says so (as a cleanup
    does at its chunk boundaries)."""

    HOLDS = True

    def run(self) -> Sequence[tuple[str, str]]:
        self.progress(0, 1000)
        for i in range(1000):
            self.hold_while_paused()
            self.wait(0.01)
            self.progress(i + 1)
        return (("counted", "1000"),)


async def test_p_holds_a_job_that_can_hold_and_says_so_for_one_that_cannot() -> None:
    """A workload cannot be held: P says so, and the job is never shown as held while it runs
    on. A job that holds stops counting, reads `held`, shows no rate, and goes on after P."""
    jobs = JobRegistry()
    app = make_app(parse_config(CONFIG_DATA), source=CannedSource(canned_rounds()[:1]), jobs=jobs)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = record_notes(app)
        runner = jobs.start(SleepyJob(kind="workload", title="oltp", cluster="shop"))
        await pilot.press("6")
        app.action_poll_now()
        await pilot.pause(0.3)
        await pilot.press("P")
        await until(lambda: any("cannot be held" in n for n in notes), 5)
        assert not runner.snapshot().paused
        runner.cancel()
        holder = jobs.start(HoldingJob(kind="cleanup", title="count", cluster="shop"))
        app.action_poll_now()
        await until(lambda: holder.snapshot().done > 5, 5)
        await pilot.press("P")
        await pilot.pause(0.3)
        done = holder.snapshot().done
        await pilot.pause(0.5)
        assert holder.snapshot().done == done and holder.snapshot().paused
        app.action_poll_now()
        await pilot.pause(0.2)
        row = app.screen.query_one("#jobs", DataTable).get_row(str(holder.id))
        assert str(row[2]) == "held" and row[4] == "-", row
        await pilot.press("P")
        await until(lambda: holder.snapshot().done > done, 5)
        holder.cancel()


async def test_a_job_started_is_the_selected_one_so_x_stops_it() -> None:
    """The newest job is selected when it appears (the first `x` after starting a job stops
    it), the selection then follows its job, and the server's own id shows beside ours."""
    jobs = JobRegistry()
    app = make_app(parse_config(CONFIG_DATA), source=CannedSource(canned_rounds()[:1]), jobs=jobs)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        old = jobs.start(SleepyJob(kind="demo", title="old", cluster="shop"))
        app.action_poll_now()
        await app.workers.wait_for_complete()
        await pilot.pause()
        new = jobs.start(SleepyJob(kind="demo", title="new", cluster="shop"))
        new.server_job = "citus job 17"
        app.action_poll_now()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        table = app.screen.query_one("#jobs", DataTable)
        assert "(citus job 17)" in str(table.get_row_at(1)[0])
        await pilot.press("x")
        new.join(2)
        assert new.snapshot().state == CANCELLED and old.snapshot().running
        # With one job left running and none of the running ones selected, x stops it.
        app.action_poll_now()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table.move_cursor(row=1)
        await pilot.press("x")
        old.join(2)
        assert old.snapshot().state == CANCELLED


async def test_the_screen_behind_an_open_form_keeps_moving() -> None:
    from clustertop.tui.messages import PollCompleted
    from clustertop.tui.screens.cleanup_form import CleanupForm

    app = canned_app(allow_actions=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CleanupForm)
        behind = app.screen_stack[-2]
        before = str(behind.query_one("HealthBar", Static).render())
        app.on_poll_completed(PollCompleted(app.canned_rounds[30]))  # type: ignore[attr-defined]
        await pilot.pause()
        after = str(behind.query_one("HealthBar", Static).render())
        assert before != after, after


async def test_a_filter_that_matches_nothing_says_so_where_nodes_would_be() -> None:
    app = canned_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        app.state.filter = "zzz"
        app.refresh_screen()
        await pilot.pause()
        text = screen_text(app)
        assert "no replica or standby matches the filter 'zzz'" in text
        assert "shop/db2" not in text  # no chart titled for a replica filtered out
        await pilot.press("7")  # Activity
        await pilot.pause()
        assert "no node matches the filter 'zzz'" in screen_text(app)


async def test_t_on_shards_says_how_the_tenants_are_sorted() -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        notes = record_notes(app)
        await feed(app, pilot)
        await pilot.press("4")
        await pilot.press("t")
        await until(lambda: any(n.startswith("tenants sorted by cpu") for n in notes), 5)
        await pilot.press("t")
        await until(lambda: any(n.startswith("tenants sorted by bytes") for n in notes), 5)


async def test_user_keymap_from_config() -> None:
    data = {**CONFIG_DATA, "ui": {"keymap": {"quit": "ctrl+q", "show_tables": "t"}}}
    app = make_app(parse_config(data), source=CannedSource(canned_rounds()[:1]), jobs=JobRegistry())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("t")
        assert app.current_mode == "tables"
        await pilot.press("ctrl+q")
    assert app.return_code == 0


def test_overview_drops_columns_by_priority_to_fit() -> None:
    narrow = [c.key for c in columns_for(80)]
    wide = [c.key for c in columns_for(250)]
    assert narrow[:4] == ["node", "state", "lag", "tps"]
    assert sum(c.width + 2 for c in columns_for(80)) + 2 <= 80
    assert "uptime" in wide and "uptime" not in narrow
    assert set(narrow) < set(wide)


async def test_overview_uses_more_columns_on_a_big_terminal() -> None:
    app = canned_app()
    async with app.run_test(size=(250, 70)) as pilot:
        await feed(app, pilot)
        assert isinstance(app.screen, OverviewScreen)
        table = app.screen.query_one("#nodes", DataTable)
        assert len(table.columns) == len(columns_for(250)) == 15
        trend = str(table.get_cell("shop/db2", "lag_trend"))
        assert trend.strip() and trend[-1] == "█"  # the lag is at its highest now


@pytest.mark.parametrize(("key", "charts"), [
    ("5", {"#rows-chart": "cleanup_batch", "#reclaim-chart": "cleanup_batch"}),
    ("6", {"#job-rate-chart": "achieved", "#job-second-chart": "p99_ms"}),
])
async def test_a_tall_terminal_adds_charts_a_short_one_leaves_out(
    key: str, charts: dict[str, str]
) -> None:
    """From 36 rows Tables charts the selected table's rows and reclaimable space, and Jobs the
    selected job's series; at 24 rows the charts give their room to the figures."""
    from textual_plotext import PlotextPlot

    for height, shown in ((48, True), (24, False)):
        app = canned_app()
        async with app.run_test(size=(160, height)) as pilot:
            await feed(app, pilot)
            await pilot.press(key)
            await pilot.pause()
            for chart_id, series in charts.items():
                chart = app.screen.query_one(chart_id, PlotextPlot)
                assert chart.display is shown or chart.parent.display is shown  # type: ignore[union-attr]
                if shown:
                    assert chart.region.height >= 6, chart_id
                    assert series in screen_text(app), (chart_id, series)
            if shown and key == "6":  # another job selected: its charts, drawn anew
                await pilot.press("up")
                await pilot.pause()
                assert "job 2" in screen_text(app) and "achieved" not in screen_text(app)


class ThreadNotingJob(SleepyJob):
    """Notes the thread its work runs on."""

    ran_on: threading.Thread | None = None

    def run(self) -> Sequence[tuple[str, str]]:
        self.ran_on = threading.current_thread()
        return super().run()


def test_jobs_run_in_threads_not_on_the_caller() -> None:
    jobs = JobRegistry()
    job = jobs.start(ThreadNotingJob(kind="demo", title="t", cluster="c"))
    assert job.snapshot().running  # start() came back while the work goes on
    deadline = time.monotonic() + 5
    while job.ran_on is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.ran_on is not None and job.ran_on is not threading.current_thread()
    assert jobs.cancel_all(wait=3)
    assert job.snapshot().state == CANCELLED


def _fills(svg: str) -> set[str]:
    import re

    return set(re.findall(r"fill: (#[0-9a-f]{6})", svg))


def _is_grey(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return max(r, g, b) - min(r, g, b) <= 24


async def test_no_color_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    colour = canned_app()
    async with colour.run_test(size=(80, 24)) as pilot:
        await feed(colour, pilot)
        coloured = _fills(colour.export_screenshot())
    assert not all(_is_grey(c) for c in coloured)  # crit red, ok green, warn amber
    monkeypatch.setenv("NO_COLOR", "1")
    mono = canned_app()
    assert mono.no_color
    async with mono.run_test(size=(80, 24)) as pilot:
        await feed(mono, pilot)
        svg = mono.export_screenshot()
    assert "shop/db2" in svg
    assert all(_is_grey(c) for c in _fills(svg))


def test_the_keymap_ids_the_config_accepts_are_the_bindings_ids() -> None:
    from clustertop.core.config import KEYMAP_IDS
    from clustertop.tui.app import ClustertopApp
    from clustertop.tui.screens.activity import ActivityScreen
    from clustertop.tui.screens.jobs import JobsScreen
    from clustertop.tui.screens.shards import ShardsScreen

    ids = {
        b.id  # type: ignore[union-attr]
        for owner in (ClustertopApp, JobsScreen, ShardsScreen, ActivityScreen)
        for b in owner.BINDINGS
    }
    assert set(KEYMAP_IDS) == ids


async def test_a_lag_that_is_only_a_lower_bound_reads_at_least_everywhere() -> None:
    """A replica that has not applied our writer's first heartbeat: the lag is at least the
    figure, and the overview, the replication screen and the header say >=."""
    from dataclasses import replace

    from clustertop.tui.messages import PollCompleted

    app = canned_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await feed(app, pilot)
        last = app.canned_rounds[-1]  # type: ignore[attr-defined]
        nodes = tuple(
            replace(n, replication=tuple(
                replace(r, heartbeat_lag_s=16.0, heartbeat_lower_bound=True)
                for r in n.replication))
            for n in last.nodes
        )
        app.post_message(PollCompleted(replace(last, at=last.at + 1, nodes=nodes)))
        await pilot.pause()
        overview = app.export_screenshot()
        await pilot.press("2")
        await pilot.pause()
        replication = app.export_screenshot()
    assert "&gt;=16s" in overview
    assert "&gt;=16s" in replication


async def test_every_screen_survives_a_resize_to_40x12_and_back() -> None:
    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        for key in ("1", "2", "3", "4", "5", "6"):
            await pilot.press(key)
            await pilot.pause()
            for size in ((40, 12), (20, 5), (200, 60), (80, 24)):
                await pilot.resize_terminal(*size)
                await pilot.pause()
                assert app.is_running
                assert app.size == size
                assert app.export_screenshot()  # renders at that size
        await pilot.press("question_mark")
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_charts_show_a_recent_window_that_brackets_change() -> None:
    from clustertop.tui.widgets.charts import TimeChart

    app = canned_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        assert app.chart_window_s == 120.0
        chart = app.screen.query(TimeChart).first()
        assert "last 120 s" in chart.axis_label
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert app.chart_window_s == 30.0  # the narrowest
        await pilot.press(*["right_square_bracket"] * 8)
        assert app.chart_window_s is None  # then the whole history
        await pilot.pause()
        assert "all history" in chart.axis_label


def test_a_sparkline_keeps_noise_below_its_floor_flat() -> None:
    from clustertop.tui import format as fmt

    noise = [0.0, 0.1, 0.0, 0.1, 0.05]
    assert set(fmt.sparkline(noise, 5)) > {"▁"}  # scaled to its own max: full-height bars
    assert set(fmt.sparkline(noise, 5, floor=1.0)) == {"▁"}  # against 1 s: flat
    assert fmt.sparkline([0.0, 5.0], 2, floor=1.0)[-1] == "█"  # real lag still fills it


async def test_the_demo_hint_shows_until_the_first_key() -> None:
    from clustertop.tui.app import DemoStart

    app = canned_app(demo=DemoStart(hint="try: w a workload"))
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(app, pilot)
        hint = app.screen.query_one("#hint", Static)
        assert hint.display and "w a workload" in str(hint.render())
        await pilot.press("2")
        await pilot.pause()
        assert not app.screen.query_one("#hint", Static).display
        await pilot.press("1")
        await pilot.pause()
        assert not app.screen.query_one("#hint", Static).display


async def test_the_demo_opens_its_cleanup_with_a_batch_that_makes_lag_show() -> None:
    from clustertop.cli.main import DEMO_CLEANUP, DEMO_HINT
    from clustertop.tui.app import DemoStart
    from clustertop.tui.screens.cleanup_form import CleanupForm

    assert len(DEMO_HINT) <= 78  # one line at 80 columns, with its padding
    app = canned_app(demo=DemoStart(hint=DEMO_HINT, cleanup_values=DEMO_CLEANUP),
                     allow_actions=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CleanupForm)
        assert form.query_one("#table", Input).value == "cleanup_bench.cleanup_batch"
        assert form.query_one("#batch", Input).value == "250000"
        assert form.query_one("#delay", Input).value == "0"
        assert form.query_one("#dry", Select).value == "yes"  # still a dry run first


def test_jobs_name_rate_and_progress_say_what_each_job_did() -> None:
    from clustertop.actions.jobs import FINISHED, RUNNING, JobSnapshot
    from clustertop.tui.screens.jobs import job_name, job_progress, rate_text

    compare = JobSnapshot(id=1, kind="compare", title="compare partition_drop,batch_delete",
                          cluster="c", state=RUNNING, started_at=0.0)
    assert job_name(compare) == "compare partition_drop,batch_delete"  # the kind said once
    workload = JobSnapshot(id=2, kind="workload", title="oltp 4 conns", cluster="c",
                           state=RUNNING, started_at=0.0, done=30, total=60, unit="s",
                           rate=1.0, series=(("achieved", ((1.0, 150.0), (2.0, 198.0))),))
    assert rate_text(workload) == "198 tps"  # not "1.0 s/s"
    ended = JobSnapshot(id=3, kind="cleanup", title="batch_delete t older than 10 d",
                        cluster="c", state=FINISHED, started_at=0.0, finished_at=10.0,
                        done=220_000, total=220_000, unit="rows", rate=22_000.0,
                        summary=(("rows/s", "36,056"),))
    assert rate_text(ended) == "36k rows/s"  # as its summary says, not done / elapsed
    dry = JobSnapshot(id=4, kind="cleanup", title="dry run of batch_delete t older than 10 d",
                      cluster="c", state=FINISHED, started_at=0.0, finished_at=1.0, total=5.0)
    assert job_progress(dry).strip() == "dry run done"
    assert rate_text(dry) == "-"  # it sent nothing: not "0.0 rows/s"
    # ETA and time fit the 80-column table: an hour-long workload's is 59m, not 3543s (cut).
    from clustertop.tui import format as fmt

    assert [fmt.eta(v) for v in (None, 4.2, 99.0, 3543.0, 5999.0, 36_000.0)] == [
        "-", "4s", "99s", "59m", "1.7h", "10h"]


async def test_a_focused_form_field_shows_what_is_typed() -> None:
    from textual.widgets import Input

    from tests.tui_support import screen_text

    app = canned_app(allow_actions=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        app.screen.query_one("#connections", Input).focus()
        await pilot.press("ctrl+u", "1", "7")
        await pilot.pause()
        line = next(ln for ln in screen_text(app).splitlines() if "connections" in ln)
        assert "17" in line, line  # not hidden behind a one-line border


def test_a_vacuum_stamp_reads_as_its_age_at_the_reading() -> None:
    from datetime import UTC, datetime

    from clustertop.tui import format as fmt

    reading = datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()
    assert fmt.ago("2027-01-15 07:48:00.25+00:00", reading) == "11m ago"
    assert fmt.ago("2027-01-15 08:30:00+01:00", reading) == "30m ago"  # the server's offset
    assert fmt.ago("2027-01-13 06:00:00+00:00", reading) == "2d2h ago"
    # No offset to place it, a clock ahead of ours, nothing at all: said as it is, or a dash.
    assert fmt.ago("2027-01-15 07:48:00", reading) == "2027-01-15 07:48"
    assert fmt.ago("2027-01-15 08:05:00+00:00", reading) == "2027-01-15 08:05"
    assert fmt.ago(None, reading) == fmt.DASH


async def test_a_lag_chart_spans_a_second_at_least_and_draws_crit_once_near_it() -> None:
    """0.05 s of heartbeat noise stays a flat line at the bottom of a 1 s axis (not stretched
    to the chart's height); the 5 s crit line is drawn only once the lag reaches half of it,
    so it does not set the scale for a 1 s spike."""
    import re

    from textual.app import App, ComposeResult

    from clustertop.tui.widgets.charts import TimeChart

    class ChartApp(App[None]):
        def compose(self) -> ComposeResult:
            yield TimeChart("lag", "s")

    def top_label(text: str) -> float:
        return max(float(m) for m in re.findall(r"^\s*(\d+(?:\.\d+)?)[┤├]", text, re.M))

    app = ChartApp()
    async with app.run_test(size=(60, 16)) as pilot:
        chart = app.query_one(TimeChart)
        noise = [(1000.0 + k, 0.05 * (k % 2)) for k in range(60)]
        chart.draw([("heartbeat", noise)], horizontal=5.0, floor=1.0)
        await pilot.pause()
        text = screen_text(app)
        assert top_label(text) >= 0.95 and "├" not in text, text
        spike = [*noise, (1060.0, 3.0)]
        chart.draw([("heartbeat", spike)], horizontal=5.0, floor=1.0)
        await pilot.pause()
        text = screen_text(app)
        assert top_label(text) >= 5.0 and "├" in text, text
