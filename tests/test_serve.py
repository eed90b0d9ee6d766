"""`clustertop serve`: the same app in a browser on localhost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from clustertop.lab.lab import Lab
from clustertop.lab.processes import free_port
from tests.browser import CHROMIUM, screenshot_when
from tests.conftest import CLUSTERTOP, run_cli

REPO = Path(__file__).resolve().parent.parent


def test_serve_answers_on_localhost_with_the_app_page(lab: Lab) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [CLUSTERTOP, "serve", "--port", str(port), "--config", str(lab.config_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        page = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.2)
        assert "textual" in page.lower()
        assert f"127.0.0.1:{port}" in page
        # The page needs no network: its font is textual-serve's own, not Google's.
        assert "fonts.googleapis.com" not in page and "RobotoMono" in page
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    said = proc.stderr.read().decode() if proc.stderr else ""
    assert "each browser tab runs its own clustertop" in said, said


def test_serve_refuses_a_password_in_a_dsn_and_a_bad_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = run_cli("serve", "--dsn", "postgresql://u:topsecret@127.0.0.1:5432/db")
    assert done.returncode == 2
    assert "topsecret" not in done.stderr and "--dsn" in done.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[clusters.x]\nengine = 'nope'\n")
    done = run_cli("serve", "--config", str(bad))
    assert done.returncode == 2 and "clusters.x.engine" in done.stderr


def _runs(values: list[int]) -> list[tuple[int, int]]:
    """Consecutive integers as (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for v in sorted(set(values)):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def _pixels(image, test) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    width, _height = image.size
    raw = image.tobytes()  # RGB, row by row
    return [(i // 3 % width, i // 3 // width) for i in range(0, len(raw), 3)
            if test((raw[i], raw[i + 1], raw[i + 2]))]


def _green(px: tuple[int, int, int]) -> bool:
    return px[1] > 180 and px[0] < 90 and px[2] < 90


def _magenta(px: tuple[int, int, int]) -> bool:
    return px[0] > 180 and px[2] > 180 and px[1] < 90


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium for the headless "
                    "browser (`./run tests` installs it when run as root on Debian)")
async def test_sparklines_fill_their_cells_in_a_browser() -> None:
    """Served through the page `clustertop serve` uses, each sparkline block stands on its
    cell's floor, reaches k/8 of the cell, and never crosses into the rows above or below
    (drawn between two rows of full blocks that mark where the cells are)."""
    from tests.serve_sparkline_app import HEIGHTS

    port = free_port()
    command = f"{sys.executable} -m tests.serve_sparkline_app"
    server = subprocess.Popen(
        [sys.executable, "-c",
         f"from clustertop.tui.serve import serve; serve({command!r}, '127.0.0.1', {port})"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )

    def drawn(image) -> bool:  # type: ignore[no-untyped-def]
        top_left = image.crop((0, 0, 320, 160))
        greens = _pixels(top_left, _green)
        return len(_runs([y for _x, y in greens])) == 2 and bool(_pixels(top_left, _magenta))

    try:
        _wait_for_page(port)
        image = (await screenshot_when(f"http://127.0.0.1:{port}/", drawn)).crop((0, 0, 320, 160))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    (above_top, above_bottom), (below_top, below_bottom) = _runs(
        [y for _x, y in _pixels(image, _green)])
    cell_height = above_bottom - above_top + 1
    assert below_bottom - below_top + 1 == cell_height
    assert below_top - above_bottom - 1 == cell_height  # the sparkline's row lies between
    spark = _pixels(image, _magenta)
    ys = [y for _x, y in spark]
    assert min(ys) > above_bottom and max(ys) < below_top, "a block crosses into another row"
    xs = [x for x, _y in spark]
    cell_width = (max(xs) - min(xs) + 1) / len(HEIGHTS)
    for k in range(1, len(HEIGHTS) + 1):
        column = round(min(xs) + (k - 0.5) * cell_width)
        column_ys = [y for x, y in spark if x == column]
        assert column_ys, f"block {k} not drawn"
        assert max(column_ys) == below_top - 1, f"block {k} does not stand on its cell's floor"
        expected = cell_height * k / len(HEIGHTS)
        assert abs(len(column_ys) - expected) <= 1.5, (k, len(column_ys), expected)


def _wait_for_page(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                page = response.read().decode()
                assert "fonts.googleapis.com" not in page and "@font-face" in page
                return
        except OSError:
            assert time.monotonic() < deadline, f"nothing answers on port {port}"
            time.sleep(0.2)
