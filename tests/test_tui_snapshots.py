"""Each of the seven screens at 80x24 (SSH), 160x48 and 200x60, drawn from fixed samples: a
crit lag, a DOWN node, a running rebalance, partitions and a running job; and at 80x24 each
screen's primary figures are on screen without scrolling sideways."""

from __future__ import annotations

import os

import pytest

from tests.tui_support import canned_app, feed, screen_text

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

SCREENS = ["1", "2", "3", "4", "5", "6", "7"]
SIZES = [(80, 24), (160, 48), (200, 60)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key", SCREENS)
def test_screen_snapshot(snap_compare, key: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await feed(pilot.app, pilot)
        await pilot.press(key)
        await pilot.pause()

    assert snap_compare(canned_app(), run_before=run_before, terminal_size=size)


# What each screen is for, as figures of the canned samples: all must show at 80x24.
PRIMARY = {
    "1": ["shop/db1", "billing/pg2", "DOWN", "9.0s", "769", "primary"],
    "2": ["shop/db2", "10.0.0.1:3306", "9.0s", "-0.50/s", "DOWN"],
    "3": ["update", "18.3", "shop/db1", "769", "3074", "DELETE FROM"],
    "4": ["skew 99.0%", "102008", "286.1MiB", "4711", "cleanup_partitioned", "42.0%"],
    "5": ["cleanup_batch", "1.1%", "390.6KiB", "54%>1%", "invoices", "12.5%", "41k", "12m ago",
          "1h35m ago"],
    "6": ["900k rows/s", "202 tps", "partition_drop", "2.9s", "rows lost"],
    "7": ["3 blocked", "4242", "└ 4301", "metadata lock", "CREATE INDEX"],
}


@pytest.mark.parametrize("key", SCREENS)
async def test_primary_figures_fit_80x24(key: str) -> None:
    app = canned_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(app, pilot)
        await pilot.press(key)
        await pilot.pause()
        text = screen_text(app)
    for figure in PRIMARY[key]:
        assert figure in text, (figure, text)
