"""The TUI end to end on the real lab: both clusters' nodes up, a lag value for each replica."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from clustertop.core.config import Config
from clustertop.lab.lab import Lab
from clustertop.tui.app import make_app


async def test_the_lab_shows_up_with_a_lag_for_every_replica_within_5s(
    lab: Lab, lab_config: Config
) -> None:
    app = make_app(lab_config)
    async with app.run_test(size=(120, 30)) as pilot:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        rows: dict[str, dict[str, str]] = {}
        while loop.time() < deadline:
            await asyncio.sleep(0.2)
            await pilot.pause()
            table = app.screen.query_one("#nodes", DataTable)
            keys = [c.key.value for c in table.ordered_columns]
            rows = {
                k.value: {col: str(cell) for col, cell in zip(keys, table.get_row(k), strict=True)}
                for k in table.rows
            }
            # A lag reads `>=0.2s` (a lower bound) until the replica has applied the first
            # heartbeat of ours: ready once both are measured.
            ready = len(rows) == 4 and all(r["state"] == "up" for r in rows.values()) and all(
                rows[k]["lag"].endswith("s") and not rows[k]["lag"].startswith(">=")
                for k in ("lab-mariadb/replica1", "lab-postgres/standby1")
                if k in rows
            )
            if ready:
                break
        assert set(rows) == {
            "lab-mariadb/primary",
            "lab-mariadb/replica1",
            "lab-postgres/primary",
            "lab-postgres/standby1",
        }
        assert all(r["state"] == "up" for r in rows.values()), rows
        for replica in ("lab-mariadb/replica1", "lab-postgres/standby1"):
            lag = rows[replica]["lag"]
            assert lag.endswith("s") and float(lag.removeprefix(">=")[:-1]) < 5, (replica, lag)
        assert rows["lab-mariadb/replica1"]["role"] == "replica"
        assert rows["lab-postgres/standby1"]["role"] == "standby"
        await pilot.press("2")
        await pilot.pause()
        replicas = app.screen.query_one("#replicas", DataTable)
        assert replicas.row_count == 2
        screen_text = app.export_screenshot()
        password = (lab.client_dir / "password").read_text().strip()
        assert password not in screen_text
        await pilot.press("q")
    assert app.return_code == 0
