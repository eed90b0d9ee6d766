"""A monitor disturbs nothing: after a TUI session on the lab (every screen, heartbeat writers,
detail passes, connection probes, and the quit), no server's log holds an error, a warning or
an aborted connection caused by clustertop."""

from __future__ import annotations

import re
from pathlib import Path

from clustertop.core.config import load_config
from clustertop.lab.lab import Lab
from clustertop.tui.app import SCREENS_BY_KEY, make_app
from clustertop.usecases.wiring import make_poller

# PostgreSQL lines carry `application_name@database` (the lab's log_line_prefix).
POSTGRES_OURS = re.compile(r"\] clustertop@\S* (ERROR|FATAL|PANIC|WARNING|LOG:\s+could not)")
MARIADB_OURS = re.compile(r"\[(ERROR|Warning)\].*(clustertop|Aborted connection)")


def log_offsets(lab: Lab) -> dict[Path, int]:
    files = {}
    for node in lab.nodes():
        path = node.path / ("server.log" if node.family == "postgres" else "error.log")
        files[path] = path.stat().st_size if path.exists() else 0
    return files


async def test_a_tui_session_leaves_no_error_of_ours_in_any_server_log(lab: Lab) -> None:
    config = load_config(lab.config_path)
    before = log_offsets(lab)
    assert before, "no server logs found"
    app = make_app(config, source=make_poller(config))
    async with app.run_test(size=(120, 40)) as pilot:
        for key in [*SCREENS_BY_KEY, *SCREENS_BY_KEY]:
            await pilot.press(key)
            await pilot.pause(1.0)
            app.action_poll_now()
        await app.workers.wait_for_complete()
        await pilot.press("q")
        await pilot.pause(0.5)
    found = lines_of_ours(before)
    assert found == [], "\n".join(found[:20])


def lines_of_ours(offsets: dict[Path, int]) -> list[str]:
    """Lines our sessions caused in each log since the offsets were taken."""
    found = []
    for path, offset in offsets.items():
        if not path.exists():
            continue
        with path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
        pattern = POSTGRES_OURS if path.name == "server.log" else MARIADB_OURS
        found += [f"{path.parent.name}: {line}" for line in text.splitlines() if pattern.search(line)]
    return found
