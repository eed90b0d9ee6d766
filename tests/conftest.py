"""Shared fixtures: one real lab (MariaDB primary+replica, PostgreSQL primary+standby) per
test session, on free loopback ports in a temporary directory, always stopped at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustertop.core.config import ClusterConfig, Config, load_config
from clustertop.lab.lab import Lab

REPO = Path(__file__).resolve().parent.parent
CLUSTERTOP = str(Path(sys.executable).with_name("clustertop"))


# Modules whose tests start servers of their own (a lab of their own, a stopped node).
OWN_SERVERS = {
    "test_lab", "test_collect_faults", "test_rebalance", "test_tls", "test_kill_drills"
}
LAB_FIXTURES = {"lab", "lab_config", "mariadb", "postgres"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real server `lab`, so `./run tests -m "not lab"` is the
    quick, server-free loop (rendering, parsing, pure rules)."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())) or module in OWN_SERVERS:
            item.add_marker(pytest.mark.lab)


def make_lab_dir(prefix: str) -> Path:
    # Under /tmp rather than pytest's 0700 tmp tree: as root the postgres user must traverse it.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    root = make_lab_dir("clustertop-test-lab-")
    the_lab = Lab(root)
    try:
        the_lab.up(("mariadb", "postgres"), replicas=1)
        yield the_lab
    finally:
        the_lab.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def lab_config(lab: Lab) -> Config:
    return load_config(lab.config_path)


@pytest.fixture(scope="session")
def mariadb(lab_config: Config) -> ClusterConfig:
    return lab_config.clusters["lab-mariadb"]


@pytest.fixture(scope="session")
def postgres(lab_config: Config) -> ClusterConfig:
    return lab_config.clusters["lab-postgres"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed `clustertop` command, as an operator runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [CLUSTERTOP, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
