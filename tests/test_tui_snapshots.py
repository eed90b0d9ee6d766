"""Each of the six screens at 80x24 (SSH) and 160x48, drawn from fixed samples: a crit lag,
a DOWN node, a running rebalance, partitions and a running job."""

from __future__ import annotations

import os

import pytest

from tests.tui_support import canned_app, feed

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

SCREENS = ["1", "2", "3", "4", "5", "6", "7"]
SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key", SCREENS)
def test_screen_snapshot(snap_compare, key: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await feed(pilot.app, pilot)
        await pilot.press(key)
        await pilot.pause()

    assert snap_compare(canned_app(), run_before=run_before, terminal_size=size)
