"""The clustertop Textual app, built by make_app() for the CLI and the tests alike."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from clustertop.actions.jobs import FAILED, FINISHED, Job, JobRegistry, JobSnapshot
from clustertop.actions.workload.builtin import prepare_worker_processes
from clustertop.collectors.history import History
from clustertop.collectors.samples import NodeSample
from clustertop.collectors.sessions import SessionSample
from clustertop.core.config import Config
from clustertop.tui.alerts import AlertBook
from clustertop.tui.messages import PollCompleted
from clustertop.tui.screens.activity import ActivityScreen
from clustertop.tui.screens.base import MonitorScreen
from clustertop.tui.screens.cleanup_form import COMPARE, CleanupForm, CleanupRequest
from clustertop.tui.screens.dialogs import ConfirmScreen, FilterScreen, HelpScreen
from clustertop.tui.screens.form import FormMemory
from clustertop.tui.screens.jobs import JobsScreen, is_dry_run
from clustertop.tui.screens.overview import OverviewScreen
from clustertop.tui.screens.rebalance_form import (
    IsolateForm,
    IsolateRequest,
    RebalanceForm,
    RebalanceRequest,
)
from clustertop.tui.screens.replication import ReplicationScreen
from clustertop.tui.screens.shards import ShardsScreen
from clustertop.tui.screens.tables import TablesScreen
from clustertop.tui.screens.throughput import ThroughputScreen
from clustertop.tui.screens.workload_form import WorkloadForm
from clustertop.tui.source import SampleSource
from clustertop.tui.widgets.charts import DEFAULT_WINDOW_S, WINDOWS
from clustertop.usecases.changes import (
    WorkloadRequest,
    actions_allowed,
    comparison_lines,
    plan_lines,
)
from clustertop.usecases.wiring import make_poller

SCREENS_BY_KEY = {
    "1": ("overview", "Overview: every node"),
    "2": ("replication", "Replication: lag per replica"),
    "3": ("throughput", "Throughput: TPS, QPS, statements"),
    "4": ("shards", "Shards and partitions: skew"),
    "5": ("tables", "Tables: fragmentation"),
    "6": ("jobs", "Jobs: actions and results"),
    "7": ("activity", "Activity: sessions, who blocks whom, long operations"),
}
MIN_INTERVAL, MAX_INTERVAL = 0.5, 60.0
HANG_UP_EXIT_S = 5.0  # after SIGHUP, the most a graceful exit may take once the jobs stopped
WRITING_ACTIONS = frozenset({"workload", "cleanup", "rebalance", "isolate", "end_session"})


@dataclass(frozen=True)
class DemoStart:
    """What `clustertop demo` opens with: a line of what to try (gone after the first key) and
    light workloads in the background, so the screens move before anyone presses anything."""

    hint: str
    background: tuple[WorkloadRequest, ...] = ()
    # What the cleanup form opens with on every cluster (field id -> value), as if started so
    # before: the demo's table, and big batches without pauses (the most load on the replica).
    cleanup_values: tuple[tuple[str, str], ...] = ()
    # Rows a comparison loads into each method's table: the demo's own table size, as the
    # lag of 10,000 rows is too small to see.
    compare_rows: int | None = None


class ClustertopApp(App[int]):
    TITLE = "clustertop"
    MODES = {
        "overview": OverviewScreen,
        "replication": ReplicationScreen,
        "throughput": ThroughputScreen,
        "shards": ShardsScreen,
        "tables": TablesScreen,
        "jobs": JobsScreen,
        "activity": ActivityScreen,
    }
    DEFAULT_MODE = "overview"
    BINDINGS = [
        *(
            Binding(
                key,
                f"show('{mode}')",
                mode.capitalize(),
                id=f"show_{mode}",
                show=False,  # the number keys are in the title line, the help and the palette
                tooltip=description,
            )
            for key, (mode, description) in SCREENS_BY_KEY.items()
        ),
        Binding("question_mark", "help", "Help", id="help", tooltip="this help"),
        # One key, two labels: the footer says what p will do now (check_action shows one).
        Binding("p", "toggle_pause", "Pause", id="pause", tooltip="pause / resume polling"),
        Binding("p", "resume", "Resume", id="pause", show=True, tooltip="resume polling"),
        Binding(
            "left_square_bracket", "chart_window(-1)", "Narrower", id="chart-narrow",
            show=False, tooltip="charts show a shorter recent window (30 s ... 30 min, all)",
        ),
        Binding(
            "right_square_bracket", "chart_window(1)", "Wider", id="chart-wide", show=False,
            tooltip="charts show a longer recent window (default 120 s)",
        ),
        Binding(
            "x", "stop_elsewhere", "Stop job", id="stop_job", show=False,
            tooltip="stop the selected job (on the Jobs screen, 6)",
        ),
        Binding("r", "refresh", "Refresh", id="refresh", show=False, tooltip="poll now"),
        Binding(
            "plus", "interval(0.5)", "Slower", id="slower", show=False,
            tooltip="poll less often (0.5 s steps)",
        ),
        Binding(
            "minus", "interval(-0.5)", "Faster", id="faster", show=False,
            tooltip="poll more often (0.5 s steps)",
        ),
        Binding(
            "slash", "filter", "Filter", id="filter",
            tooltip="filter nodes by cluster, node, engine or role",
        ),
        Binding(
            "w", "workload", "Workload", id="workload",
            tooltip="start a workload (form; writing patterns need actions on)",
        ),
        Binding(
            "c", "cleanup", "Cleanup", id="cleanup",
            tooltip="clean up old rows (form; actions on; dry run first, typed confirmation)",
        ),
        Binding(
            "G", "guard", "Guard", id="guard", show=False,
            tooltip="run a command under the gate: stopped or paused when a rule trips (actions on)",
        ),
        Binding(
            "R", "toggle_recording", "Record", id="record", show=False,
            tooltip="record what this screen sees (rounds and jobs) to a file; again stops",
        ),
        Binding(
            "o", "gate", "Gate", id="gate", show=False,
            tooltip="the Go/No-Go gate: every rule with its live value, per cluster",
        ),
        Binding("q", "quit", "Quit", id="quit", tooltip="quit (running jobs are asked to stop first)"),
    ]

    def __init__(
        self,
        config: Config,
        source: SampleSource,
        *,
        allow_actions: bool = False,
        jobs: JobRegistry | None = None,
        demo: DemoStart | None = None,
    ) -> None:
        super().__init__()
        # Before Textual takes sys.stderr: a workload's worker processes need it (see there).
        prepare_worker_processes()
        self.demo = demo
        from clustertop.tui.state import AppState

        self.config = config
        self.source = source
        self.allow_actions = allow_actions
        interval = min((c.poll_interval for c in config.clusters.values()), default=1.0)
        history_len = max((c.history for c in config.clusters.values()), default=600)
        self.state = AppState(
            config=config,
            history=History(history_len),
            alerts=AlertBook(config),
            jobs=jobs or JobRegistry(),
            poll_interval=interval,
        )
        self._next_poll: Timer | None = None
        self.recorder: Any = None  # R: the rounds and jobs this app sees, to a file
        self._form_memories: dict[str, FormMemory] = {}
        self._said_ended: set[int] = set()  # jobs whose end was said
        if config.ui.keymap:
            self.set_keymap(dict(config.ui.keymap))

    def on_mount(self) -> None:
        self.action_poll_now()
        if self.demo is not None:
            self.state.hint = self.demo.hint
            if self.demo.cleanup_values:
                memory = self.form_memory("cleanup")
                for name in self.config.clusters:
                    memory.by_cluster[name] = dict(self.demo.cleanup_values)
            for request in self.demo.background:
                self._launch_workload(request, show=False)
        # The terminal went away (an SSH session dropped): stop the jobs at their next safe
        # point and leave, rather than die with worker processes and triggers left behind.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hang_up)

    def on_key(self) -> None:
        """The demo's hint has done its job once a key is pressed."""
        if self.state.hint:
            self.state.hint = None
            self.refresh_screen()

    def _hang_up(self) -> None:
        self._leave_after_hang_up()

    @work(thread=True, group="quit", exit_on_error=False)
    def _leave_after_hang_up(self) -> None:
        """The terminal went away: stop the jobs at their next safe point, then leave. Textual's
        exit restores the terminal, and on a hung-up one its writer can block for good (found
        with tmux kill-session: the process lived on, its workloads running); so if the exit
        has not ended the process within HANG_UP_EXIT_S, it ends here, the jobs already
        stopped."""
        self.state.jobs.cancel_all(wait=10)
        watchdog = threading.Timer(HANG_UP_EXIT_S, os._exit, (0,))
        watchdog.daemon = True
        watchdog.start()
        self.call_from_thread(self.exit, 0)

    # -- polling: one round at a time, the next armed only after the last one landed ------------

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self) -> None:
        round_ = self.source.poll_round()
        recorded = getattr(self.source, "recorded_jobs", None)
        jobs = recorded(round_.at) if recorded is not None else None
        recorder = self.recorder
        if recorder is not None:  # in this worker thread: a file write, off the UI thread
            try:
                recorder.add_round(round_, self.state.jobs.snapshots())
            except Exception as exc:  # a full disk stops the recording, never the monitor
                self.recorder = None
                self.call_from_thread(self.notify, f"recording stopped: {exc}",
                                      severity="error", timeout=10)
        self.post_message(PollCompleted(round_, jobs))

    def _arm_next_poll(self) -> None:
        if self._next_poll is not None:
            self._next_poll.stop()
        if not self.state.paused:
            self._next_poll = self.set_timer(self.state.poll_interval, self._poll)

    def on_poll_completed(self, message: PollCompleted) -> None:
        state = self.state
        state.history.add(message.round)
        state.judge(message.round)
        state.job_snapshots = message.jobs if message.jobs is not None else state.jobs.snapshots()
        if message.jobs is None:  # live: a replay's jobs ended long ago
            self._say_ended_jobs(state.job_snapshots)
        status = getattr(self.source, "status", None)
        state.replay_status = status() if status is not None else None
        state.recording = str(self.recorder.path) if self.recorder is not None else None
        state.note_fragmentation(message.round)
        for alert in state.alerts.update(message.round):
            self.notify(alert.text, title="critical", severity="error", timeout=8)
            if self.config.ui.bell:
                self.bell()
        self.refresh_screen()
        self._arm_next_poll()

    def _say_ended_jobs(self, jobs: Iterable[JobSnapshot]) -> None:
        """Each job this app started is said once when it ends; a finished dry run offers the
        same cleanup for real (the form opens with its values, dry run off)."""
        for job in jobs:
            if job.running or job.id in self._said_ended:
                continue
            self._said_ended.add(job.id)
            if job.group is not None and job.kind != "compare":
                continue  # one method of a comparison: the comparison's own end says it
            title = f"job {job.id} {job.state}"
            if job.state == FAILED:
                self.notify(f"{job.title}: {job.error or 'no error recorded'}", title=title,
                            severity="error", timeout=10)
            elif job.state == FINISHED and job.kind == "cleanup" and is_dry_run(job):
                self.notify(f"{job.title}\nc: the same cleanup for real", title=title,
                            timeout=10)
            else:
                self.notify(job.title, title=title)

    def refresh_screen(self) -> None:
        """The monitor screen on top, or under an open form or dialog: what shows around a
        form keeps moving (a clock that stops while a form is open reads as a hang)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, MonitorScreen):
                screen.refresh_view()
                return

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "poll" and event.state == WorkerState.ERROR:
            self.notify(f"poll failed: {event.worker.error}", severity="error")
            self._arm_next_poll()

    # -- actions --------------------------------------------------------------------------------

    def action_show(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_toggle_recording(self) -> None:
        from clustertop.usecases.record import Recorder, recordings_dir

        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            recorder.close()
            self.notify(f"recording stopped: {recorder.rounds} rounds in {recorder.path}")
        else:
            path = recordings_dir() / time.strftime("record-%Y%m%dT%H%M%SZ.db", time.gmtime())
            self.recorder = Recorder(path, clusters=list(self.config.clusters))
            self.notify(f"recording to {path}")
        self.state.recording = str(self.recorder.path) if self.recorder is not None else None
        self.refresh_screen()

    def action_gate(self) -> None:
        from clustertop.tui.screens.gate import GateScreen

        if not isinstance(self.screen, GateScreen):
            self.push_screen(GateScreen())

    def action_poll_now(self) -> None:
        if self._next_poll is not None:
            self._next_poll.stop()
        self._poll()

    def action_refresh(self) -> None:
        """`r`: poll now, and say so (a poll that changes nothing would otherwise look like a
        key that did nothing)."""
        self.action_poll_now()
        self.notify("polling now" + (" (paused: this one poll only)" if self.state.paused else ""),
                    timeout=2)

    chart_window_s: float | None = DEFAULT_WINDOW_S

    def action_chart_window(self, step: int) -> None:
        at = WINDOWS.index(self.chart_window_s) if self.chart_window_s in WINDOWS else 2
        self.chart_window_s = WINDOWS[max(0, min(len(WINDOWS) - 1, at + step))]
        shown = f"the last {self.chart_window_s:g} s" if self.chart_window_s else "all history"
        self.notify(f"charts show {shown}", timeout=2)
        self.refresh_screen()

    def action_resume(self) -> None:
        self.action_toggle_pause()

    def action_stop_elsewhere(self) -> None:
        """`x` off the Jobs screen: the job to stop is chosen there."""
        self.notify("x stops the job selected on the Jobs screen: press 6, pick it, then x",
                    timeout=5)

    def action_toggle_pause(self) -> None:
        self.state.paused = not self.state.paused
        if self.state.paused:
            if self._next_poll is not None:
                self._next_poll.stop()
        else:
            self.action_poll_now()
        self.notify("polling paused" if self.state.paused else "polling resumed")
        self.refresh_bindings()
        self.refresh_screen()

    def action_interval(self, step: float) -> None:
        value = min(MAX_INTERVAL, max(MIN_INTERVAL, self.state.poll_interval + step))
        self.state.poll_interval = value
        self.notify(f"poll every {value:g} s")
        self._arm_next_poll()
        self.refresh_screen()

    def action_filter(self) -> None:
        def apply(text: str | None) -> None:
            if text is not None:
                self.state.filter = text
                self.refresh_screen()

        self.push_screen(FilterScreen(self.state.filter), apply)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only: the keys that start a change are hidden (footer, palette) and inert."""
        if action == "toggle_pause" and self.state.paused:
            return False
        if action == "resume" and not self.state.paused:
            return False
        return not (self.config.read_only and action in WRITING_ACTIONS)

    def action_workload(self) -> None:
        clusters = {c.name: c.watched_tables for c in self.config.clusters.values()}
        self.push_screen(
            WorkloadForm(clusters, tuple(self.config.mixes), tuple(self.config.custom_workloads),
                         memory=self.form_memory("workload")),
            self._start_workload,
        )

    def _start_workload(self, request: WorkloadRequest | None) -> None:
        if request is not None:
            self._launch_workload(request)

    @work(thread=True, group="actions", exit_on_error=False)
    def _launch_workload(self, request: WorkloadRequest, show: bool = True) -> None:
        """Finding the primary and reading the table are database work: not on the UI thread."""
        from clustertop.collectors.errors import error_text
        from clustertop.usecases.changes import workload_job_for

        try:
            job = workload_job_for(self.config, request, self.allow_actions)
        except Exception as exc:  # bad input, a refused node, a missing grant: said, not lost
            self.call_from_thread(
                self.notify,
                error_text(exc),
                title="workload not started",
                severity="error",
                timeout=10,
            )
            return
        self._started(job, show)

    def _started(self, job: Job, show: bool = True) -> None:
        """From a worker thread: the job runs in the registry; the Jobs screen shows it
        (`show`; the demo's background workload starts without taking the screen)."""
        self.state.jobs.start(job)
        self.call_from_thread(self.notify, f"job {job.id} started: {job.title}")
        if show:
            self.call_from_thread(self._show_jobs)

    def _show_jobs(self) -> None:
        self.switch_mode("jobs")

    def action_guard(self) -> None:
        from clustertop.tui.screens.guard_form import GuardForm

        allowed = [c.name for c in self.config.clusters.values()
                   if actions_allowed(c, self.allow_actions)]
        if not allowed:
            self.notify("a guarded command changes the cluster: set actions = true for a cluster"
                        " in the config or start clustertop with --allow-actions",
                        title="actions are off", severity="warning", timeout=10)
            return
        self.push_screen(GuardForm(allowed), self._start_guard)

    def _start_guard(self, request: object) -> None:
        if request is not None:
            self._launch_guard(request)

    @work(thread=True, group="actions", exit_on_error=False)
    def _launch_guard(self, request: Any) -> None:
        from clustertop.collectors.errors import error_text
        from clustertop.usecases.guard import GuardJob, GuardSpec

        try:
            job = GuardJob(GuardSpec(self.config.select(request.cluster), request.command,
                                     on_trip=request.on_trip))
        except Exception as exc:  # bad input: said, not lost
            self.call_from_thread(self.notify, error_text(exc), title="guard not started",
                                  severity="error", timeout=10)
            return
        self._started(job)

    def action_cleanup(self) -> None:
        allowed = {
            c.name: c.watched_tables
            for c in self.config.clusters.values()
            if actions_allowed(c, self.allow_actions)
        }
        if not allowed:
            self.notify(
                "cleanups remove rows: set actions = true for a cluster in the config or start "
                "clustertop with --allow-actions",
                title="actions are off",
                severity="warning",
                timeout=10,
            )
            return
        self.push_screen(CleanupForm(allowed, self.form_memory("cleanup")), self._start_cleanup)

    def form_memory(self, form: str) -> FormMemory:
        """What a kind of form was last started with, per cluster, for this run."""
        return self._form_memories.setdefault(form, FormMemory())

    def _start_cleanup(self, request: CleanupRequest | None) -> None:
        if request is not None:
            self._launch_cleanup(request)

    @work(thread=True, group="actions", exit_on_error=False)
    def _launch_cleanup(self, request: CleanupRequest) -> None:
        """Reading the table and checking the method against it is database work."""
        from clustertop.actions.cleanup.job import CleanupSpec
        from clustertop.collectors.errors import error_text
        from clustertop.usecases import changes

        spec = CleanupSpec(
            cluster=self.config.clusters[request.cluster],
            table=request.table,
            method=request.method,
            retention_days=request.retention_days,
            batch_size=request.batch_size,
            batch_delay_s=request.batch_delay_s,
            max_lag_s=request.max_lag_s,
            dry_run=request.dry_run,
            target_lag_s=request.target_lag_s,
            gate=request.gate,
        )
        job: Job
        try:
            if request.method == COMPARE:
                rows = (self.demo.compare_rows if self.demo and self.demo.compare_rows
                        else changes.COMPARE_ROWS)
                compare = changes.compare_all_methods(spec, rows)
                job = changes.compare_job_for(compare, self.allow_actions, self.state.jobs.start)
            else:
                job = changes.cleanup_job_for(spec, self.allow_actions)
        except Exception as exc:  # bad input, a refused node, a missing grant: said, not lost
            self.call_from_thread(
                self.notify,
                error_text(exc),
                title="cleanup not started",
                severity="error",
                timeout=10,
            )
            return
        self._started(job)

    def action_rebalance(self) -> None:
        citus = self._citus_clusters_with_actions("rebalance")
        if not citus:
            return
        self.push_screen(RebalanceForm(citus), self._plan_rebalance)

    def _plan_rebalance(self, request: RebalanceRequest | None) -> None:
        if request is not None:
            self._launch_plan(request)

    @work(thread=True, group="actions", exit_on_error=False)
    def _launch_plan(self, request: RebalanceRequest) -> None:
        """The plan reads the coordinator: off the UI thread. Nothing moves until confirmed."""
        from clustertop.actions.rebalance import (
            STRATEGIES,
            RebalanceJob,
            RebalanceSpec,
            plans_for,
        )

        cluster = self.config.clusters[request.cluster]
        spec = RebalanceSpec(cluster, request.strategy, request.drain, request.transfer_mode)
        try:
            others = [s for s in STRATEGIES if s != request.strategy]
            plans = plans_for(spec, [request.strategy, *others])
            plan = plans[0]
        except Exception as exc:  # a bad drain, a lost coordinator: the plan says it
            self.call_from_thread(
                self.notify,
                " ".join(str(exc).split()),
                title="no plan",
                severity="error",
                timeout=10,
            )
            return
        lines = [
            *comparison_lines(plans),
            "",
            f"{plan.strategy}:",
            *plan_lines(plan, most=5),
            "start the rebalance?",
        ]

        def answer(yes: bool | None) -> None:
            if yes and plan.moves:
                job = self.state.jobs.start(RebalanceJob(spec, plan))
                self.notify(f"job {job.id} started: {job.title}")

        self.call_from_thread(self.push_screen, ConfirmScreen("\n".join(lines)), answer)

    def _citus_clusters_with_actions(self, what: str) -> tuple[str, ...]:
        every = [c for c in self.config.clusters.values() if c.engine == "citus"]
        citus = tuple(c.name for c in every if actions_allowed(c, self.allow_actions))
        if not every:
            self.notify(
                f"{what} is for Citus, and no cluster in the config is one (engine = \"citus\")",
                title=f"no {what} here", severity="warning", timeout=10,
            )
        elif not citus:
            self.notify(
                f"{what} needs actions on for {', '.join(c.name for c in every)}: set actions ="
                " true for it in the config or start clustertop with --allow-actions",
                title=f"no {what} here", severity="warning", timeout=10,
            )
        return citus

    def action_isolate(self) -> None:
        citus = self._citus_clusters_with_actions("tenant isolation")
        if citus:
            self.push_screen(IsolateForm(citus), self._plan_isolation)

    def _plan_isolation(self, request: IsolateRequest | None) -> None:
        if request is not None:
            self._launch_isolation_plan(request)

    @work(thread=True, group="actions", exit_on_error=False)
    def _launch_isolation_plan(self, request: IsolateRequest) -> None:
        """The plan scans the hot shard's hash range: off the UI thread. Nothing changes until
        confirmed; the dialog shows the exact SQL."""
        from clustertop.actions.isolate import IsolateJob, IsolateSpec, isolation_plan_for
        from clustertop.collectors.errors import error_text

        cluster = self.config.clusters[request.cluster]
        spec = IsolateSpec(
            cluster, request.table, request.tenant, request.target, request.transfer_mode
        )
        try:
            plan = isolation_plan_for(spec)
        except Exception as exc:  # a bad tenant, a lost coordinator: the plan says it
            self.call_from_thread(
                self.notify, error_text(exc), title="no plan", severity="error", timeout=10
            )
            return

        def answer(yes: bool | None) -> None:
            if yes:
                job = self.state.jobs.start(IsolateJob(spec, plan))
                self.notify(f"job {job.id} started: {job.title}")

        lines = [*plan.lines(), "isolate the tenant?"]
        self.call_from_thread(self.push_screen, ConfirmScreen("\n".join(lines)), answer)

    def end_session(self, node: NodeSample, session: SessionSample, query_only: bool) -> None:
        """k / K on Activity: refused (saying why, sending nothing) without actions or for a
        session of clustertop's own; else a y/n naming the session, then off the UI thread."""
        cluster = self.config.clusters.get(node.cluster)
        what = "cancel its statement" if query_only else "end the session"
        if cluster is None or not actions_allowed(cluster, self.allow_actions):
            self.notify(
                f"to {what} actions must be on: set actions = true for {node.cluster} in the "
                "config or start clustertop with --allow-actions (nothing was sent)",
                title="not allowed",
                severity="warning",
                timeout=10,
            )
            return
        if session.own:
            self.notify(
                f"session {session.id} is clustertop's own: stop its job with x on Jobs",
                severity="warning",
            )
            return
        question = (
            f"{'Cancel the statement of' if query_only else 'End'} session {session.id} on "
            f"{node.key}?\nuser {session.user or '?'}, {session.state or '?'}, transaction "
            f"{'open ' + str(round(session.xact_s)) + ' s' if session.xact_s is not None else 'none'}"
            f"\n{session.statement or 'no statement'}"
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self._end_session(node.cluster, node.node, session.id, query_only)

        self.push_screen(ConfirmScreen(question), answer)

    @work(thread=True, group="actions", exit_on_error=False)
    def _end_session(self, cluster: str, node_name: str, session_id: int, query_only: bool) -> None:
        from clustertop.actions.sessions import end_session, find_session
        from clustertop.collectors.errors import error_text

        node = next(n for n in self.config.clusters[cluster].nodes if n.name == node_name)
        try:
            said = end_session(find_session(node, session_id, query_only))
        except Exception as exc:  # gone meanwhile, refused: the reason in a line
            self.call_from_thread(
                self.notify, error_text(exc), title="not ended", severity="error", timeout=10
            )
            return
        self.call_from_thread(self.notify, said)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """Every key, read from the bindings themselves (with the user's keymap applied), so
        the help cannot drift from what the keys do."""
        rows = [(self._key_text(b), b.tooltip or b.description) for b in self._own_bindings()
                if b.action not in ("resume", "stop_elsewhere")]  # said by `p` and by Jobs' x
        for screen in (ShardsScreen, JobsScreen, ActivityScreen):
            rows += [
                (self._key_text(b), f"{b.tooltip or b.description} ({screen.SCREEN_NAME} screen)")
                for b in screen.BINDINGS
                if isinstance(b, Binding)
            ]
        rows.append(("up / down", "move through rows; the detail line follows"))
        rows.append((self.COMMAND_PALETTE_BINDING, "command palette"))
        return rows

    def _own_bindings(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    def _key_text(self, binding: Binding) -> str:
        keys = self.config.ui.keymap.get(binding.id or "", binding.key)
        return ", ".join(self.get_key_display(replace(binding, key=k.strip())) for k in keys.split(","))

    async def action_quit(self) -> None:
        running = self.state.jobs.running()
        if not running:
            self.exit(0)
            return

        def answer(stop: bool | None) -> None:
            if stop:
                self._stop_jobs_and_exit()

        self.push_screen(
            ConfirmScreen(f"{len(running)} job(s) running. Stop them and quit?"), answer
        )

    @work(thread=True, group="quit", exit_on_error=False)
    def _stop_jobs_and_exit(self) -> None:
        self.state.jobs.cancel_all(wait=10)
        self.call_from_thread(self.exit, 0)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every screen, and every action a key offers here (the app's and this screen's),
        with its key: typing `work` finds the workload form."""
        yield from super().get_system_commands(screen)
        for _key, (mode, description) in SCREENS_BY_KEY.items():
            yield SystemCommand(mode.capitalize(), description, lambda m=mode: self.switch_mode(m))
        seen = {"quit", "help"}  # Textual's own commands already offer these
        for binding in self._own_bindings():
            name = binding.action.split("(", 1)[0]
            if (binding.id or "").startswith("show_") or name in seen:
                continue
            if name in ("stop_elsewhere", "resume"):
                continue
            if self.check_action(name, ()) is False and name != "toggle_pause":
                continue
            seen.add(name)
            yield SystemCommand(
                binding.description, f"{binding.tooltip or binding.description} "
                f"(key {self._key_text(binding)})", partial(self.run_action, binding.action),
            )
        for binding in getattr(screen, "BINDINGS", ()):
            if not isinstance(binding, Binding) or binding.action in seen:
                continue
            if screen.check_action(binding.action, ()) is False:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip or binding.description} (key {self._key_text(binding)}, "
                "this screen)",
                partial(screen.run_action, binding.action),
            )

    def on_unmount(self) -> None:
        self.source.close()


def make_app(
    config: Config,
    *,
    source: SampleSource | None = None,
    allow_actions: bool = False,
    jobs: JobRegistry | None = None,
    demo: DemoStart | None = None,
) -> ClustertopApp:
    """The one factory: the CLI passes a live poller, tests pass canned or lab sources."""
    return ClustertopApp(
        config, source or make_poller(config), allow_actions=allow_actions, jobs=jobs,
        demo=demo,
    )


class ReplayApp(ClustertopApp):
    """The same app fed from a recording: space plays or pauses, < and > change the speed,
    , and . step a round, g seeks; everything else is the live app's."""

    BINDINGS = [
        *ClustertopApp.BINDINGS,
        Binding("space", "replay_toggle", "Play/Pause", id="replay-toggle"),
        Binding("greater_than_sign", "replay_speed(1)", "Faster", id="replay-faster"),
        Binding("less_than_sign", "replay_speed(-1)", "Slower", id="replay-slower"),
        Binding("full_stop", "replay_step(1)", "Step", id="replay-forth", show=False),
        Binding("comma", "replay_step(-1)", "Back", id="replay-back", show=False),
        Binding("g", "replay_seek", "Seek", id="replay-seek"),
    ]

    @property
    def replay(self) -> Any:
        return self.source

    def action_replay_toggle(self) -> None:
        self.replay.toggle()
        self._show_position()

    def action_replay_speed(self, step: int) -> None:
        self.replay.faster(step)
        self._show_position()

    def action_replay_step(self, rounds: int) -> None:
        self.replay.step(rounds)
        self._jump()

    def action_replay_seek(self) -> None:
        from clustertop.tui.screens.dialogs import SeekScreen

        def seek(text: str | None) -> None:
            if not text:
                return
            try:
                self.replay.seek(text)
            except ValueError as exc:
                self.notify(str(exc), severity="warning")
                return
            self._jump()

        self.push_screen(SeekScreen(), seek)

    def _jump(self) -> None:
        """The history as it was at the new position: the screens see no difference from a
        live run that had reached it."""
        position = self.replay.position
        state = self.state
        state.history = History(state.history.maxlen)
        for round_ in self.replay.rounds_until(position, state.history.maxlen):
            state.history.add(round_)
        self.post_message(PollCompleted(self.replay.round_at(position),
                                        self.replay.recorded_jobs(position)))

    def _show_position(self) -> None:
        self.state.replay_status = self.replay.status()
        self.refresh_screen()

    def on_poll_completed(self, message: PollCompleted) -> None:
        if self.state.latest is not None and message.round.at == self.state.latest.at:
            # The same round again (paused, or a step): shown, not added twice.
            self.state.job_snapshots = message.jobs or ()
            self.state.replay_status = self.replay.status()
            self.refresh_screen()
            self._arm_next_poll()
            return
        super().on_poll_completed(message)


def make_replay_app(recording: Any, *, speed: float = 1.0, name: str = "") -> ReplayApp:
    """The TUI on a recording: a config made from what the rounds name (read-only: nothing in
    a replay can act), and the recording as its sample source."""
    from clustertop.core.config import ClusterConfig
    from clustertop.core.nodes import NodeSpec
    from clustertop.tui.replay import ReplaySource

    clusters: dict[str, ClusterConfig] = {}
    nodes: dict[str, dict[str, NodeSpec]] = {}
    for round_ in recording.rounds:
        for n in round_.nodes:
            host, _, port = n.address.rpartition(":")
            spec = NodeSpec(cluster=n.cluster, name=n.node, engine=n.engine,  # type: ignore[arg-type]
                            host=host or n.address, port=int(port) if port.isdigit() else 0)
            nodes.setdefault(n.cluster, {})[n.node] = spec
    for cluster, specs in nodes.items():
        first = next(iter(specs.values()))
        clusters[cluster] = ClusterConfig(name=cluster, engine=first.engine,
                                          nodes=tuple(specs.values()), heartbeat=False,
                                          read_only=True)
    config = Config(clusters, read_only=True)
    times = [r.at for r in recording.rounds]
    gaps = sorted(b - a for a, b in itertools.pairwise(times)) or [1.0]
    interval = max(0.1, gaps[len(gaps) // 2])  # the recording's own interval
    app = ReplayApp(config, ReplaySource(recording, interval, speed))
    app.state.poll_interval = interval
    app.title = f"clustertop replay {name}"
    return app
