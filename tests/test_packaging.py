"""The wheel: one top-level import package, and it works outside the repository."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, cwd=cwd, timeout=600, check=False,
        stdin=subprocess.DEVNULL,
    )


def test_the_wheel_installs_one_namespace_and_runs_from_elsewhere(tmp_path: Path) -> None:
    built = _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                 str(tmp_path / "dist"), str(REPO), cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("clustertop-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top_level = next(n for n in archive.namelist() if n.endswith("top_level.txt"))
        assert archive.read(top_level).decode().split() == ["clustertop"]
        names = archive.namelist()
    assert "clustertop/tui/app.py" in names and "clustertop/collectors/poller.py" in names
    assert not any(n.startswith(("tui/", "collectors/", "actions/", "lab/")) for n in names)

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path).returncode == 0
    installed = _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel),
                     cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clustertop = str(venv / "bin" / "clustertop")
    version = _run(clustertop, "--version", cwd=elsewhere)
    assert version.returncode == 0 and "clustertop" in version.stdout + version.stderr
    check = _run(clustertop, "check", "--config", str(REPO / "config.example.toml"), cwd=elsewhere)
    assert check.returncode == 0, check.stderr
    assert "ok" in check.stdout
    # Only the one namespace: the repository's generic folder names are not importable.
    stray = _run(str(venv / "bin" / "python"), "-c", "import tui", cwd=elsewhere)
    assert stray.returncode != 0
