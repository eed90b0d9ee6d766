"""Building the app on canned samples, fed deterministically (rendering tests only)."""

from __future__ import annotations

from typing import Any

from clustertop.tui.app import ClustertopApp, make_app
from clustertop.tui.messages import PollCompleted
from tests.canned import CannedJobs, CannedSource, canned_config, canned_rounds


def canned_app(**kwargs: Any) -> ClustertopApp:
    # Poll interval 60 s: after the first poll on mount, only the rounds fed below arrive.
    rounds = canned_rounds()
    app = make_app(canned_config(), source=CannedSource(rounds[:1]),
                   jobs=kwargs.pop("jobs", CannedJobs()), **kwargs)
    app.canned_rounds = rounds  # type: ignore[attr-defined]
    return app


async def feed(app: ClustertopApp, pilot: Any) -> None:
    """Let the first poll land, then hand the app every other canned round in order."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    # Handed in directly, as the message handler (a queued round is replaced by a newer one,
    # so posting them all at once would keep only the last); then the last one posted and one
    # pause for the screen (a pause after each round cost ~0.3 s a test for the same picture).
    *rounds, last = app.canned_rounds[1:]  # type: ignore[attr-defined]
    for round_ in rounds:
        app.on_poll_completed(PollCompleted(round_))
    app.post_message(PollCompleted(last))
    await pilot.pause()
    app.clear_notifications()
    await pilot.pause()


def record_notes(app: ClustertopApp) -> list[str]:
    """Every notification the app shows from now on, in order (still shown as usual)."""
    notes: list[str] = []
    original = app.notify

    def spy(message: str, **kwargs: Any) -> None:
        notes.append(message)
        original(message, **kwargs)

    app.notify = spy  # type: ignore[method-assign]
    return notes


def screen_text(app: Any) -> str:
    """What the terminal shows, as text: the screenshot's characters by row and column."""
    import html
    import re

    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text[^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        x, y = float(m.group(1)), float(m.group(2))
        rows.setdefault(y, []).append((x, html.unescape(re.sub("<[^>]+>", "", m.group(3)))))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, part in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + part
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)


async def until_jobs_end(app: Any, timeout: float = 30.0) -> None:
    """Wait (in the app's loop) until the newest job has ended, or `timeout` passed."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await asyncio.sleep(0.2)
        snaps = app.state.jobs.snapshots()
        if snaps and not snaps[-1].running:
            return


async def until(condition: Any, timeout: float = 10.0) -> None:
    """Wait (in the app's loop) until `condition()` holds; fail saying so after `timeout`."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"not within {timeout:g} s"
        await asyncio.sleep(0.1)
