"""The clustertop Textual app, built by make_app() for the CLI and the tests alike."""

from __future__ import annotations

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from clustertop.config import Config
from clustertop.wiring import make_poller
from collectors.history import History
from tui.messages import PollCompleted
from tui.screens.overview import OverviewScreen
from tui.source import SampleSource


class ClustertopApp(App[int]):
    TITLE = "clustertop"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("p", "toggle_pause", "Pause", id="pause"),
        Binding("r", "poll_now", "Refresh", id="refresh"),
    ]

    def __init__(
        self, config: Config, source: SampleSource, *, allow_actions: bool = False
    ) -> None:
        super().__init__()
        self.config = config
        self.source = source
        self.allow_actions = allow_actions
        self.poll_interval = min((c.poll_interval for c in config.clusters.values()), default=1.0)
        history_len = max((c.history for c in config.clusters.values()), default=600)
        self.history = History(history_len)
        self.paused = False
        self._next_poll: Timer | None = None
        if config.ui.keymap:
            self.set_keymap(dict(config.ui.keymap))

    def on_mount(self) -> None:
        self.push_screen(OverviewScreen(self.config))
        self.action_poll_now()

    # -- polling: one round at a time, the next armed only after the last one landed ------------

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self) -> None:
        self.post_message(PollCompleted(self.source.poll_round()))

    def _arm_next_poll(self) -> None:
        if self._next_poll is not None:
            self._next_poll.stop()
        if not self.paused:
            self._next_poll = self.set_timer(self.poll_interval, self._poll)

    def on_poll_completed(self, message: PollCompleted) -> None:
        self.history.add(message.round)
        screen = self.screen
        if isinstance(screen, OverviewScreen):
            screen.show_round(message.round)
        self._arm_next_poll()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "poll" and event.state == WorkerState.ERROR:
            self.notify(f"poll failed: {event.worker.error}", severity="error")
            self._arm_next_poll()

    def action_poll_now(self) -> None:
        if self._next_poll is not None:
            self._next_poll.stop()
        self._poll()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused and self._next_poll is not None:
            self._next_poll.stop()
        elif not self.paused:
            self.action_poll_now()
        self.notify("polling paused" if self.paused else "polling resumed")

    def on_unmount(self) -> None:
        self.source.close()


def make_app(
    config: Config, *, source: SampleSource | None = None, allow_actions: bool = False
) -> ClustertopApp:
    """The one factory: the CLI passes a live poller, tests pass canned or lab sources."""
    return ClustertopApp(config, source or make_poller(config), allow_actions=allow_actions)
