"""The TUI on the real lab: every node listed and up, keys that pause and quit."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from clustertop.config import Config
from lab.lab import Lab
from tui.app import make_app


async def _wait_rounds(app, rounds: int, timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while app.history.rounds < rounds and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert app.history.rounds >= rounds


async def test_overview_lists_every_lab_node_up_with_replica_lag(
    lab: Lab, lab_config: Config
) -> None:
    app = make_app(lab_config)
    async with app.run_test(size=(120, 30)) as pilot:
        await _wait_rounds(app, 2)
        await pilot.pause()
        table = app.screen.query_one("#nodes", DataTable)
        rows = {key.value: table.get_row(key) for key in table.rows}
        assert set(rows) == {
            "lab-mariadb/primary",
            "lab-mariadb/replica1",
            "lab-postgres/primary",
            "lab-postgres/standby1",
        }
        for key, cells in rows.items():
            assert str(cells[4]) == "up", (key, cells)
        assert str(rows["lab-mariadb/replica1"][3]) == "replica"
        assert str(rows["lab-postgres/standby1"][3]) == "standby"
        # A replica's lag is a number of seconds, not a dash.
        assert str(rows["lab-mariadb/replica1"][5]).endswith("s")
        assert str(rows["lab-postgres/standby1"][5]).endswith("s")
        screen_text = app.export_screenshot()
        password = (lab.client_dir / "password").read_text().strip()
        assert password not in screen_text


async def test_pause_stops_polling_and_resume_restarts_it(lab_config: Config) -> None:
    app = make_app(lab_config)
    async with app.run_test(size=(100, 30)) as pilot:
        await _wait_rounds(app, 1)
        await pilot.press("p")
        assert app.paused
        await app.workers.wait_for_complete()
        await pilot.pause()
        frozen = app.history.rounds
        await asyncio.sleep(2.2)
        assert app.history.rounds == frozen
        await pilot.press("p")
        assert not app.paused
        await _wait_rounds(app, frozen + 1)
        await pilot.press("q")
    assert app.return_code == 0
