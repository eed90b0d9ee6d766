"""`clustertop serve`: the same app in a browser on localhost."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request

from clustertop.lab.lab import Lab
from clustertop.lab.processes import free_port
from tests.conftest import CLUSTERTOP, run_cli


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
