"""The layers hold at run time too: importing every module of core, collectors, actions and the
use cases (from a plain script, as a collector must work) loads no Textual. The static layering
is the import-linter contract in pyproject.toml, checked by `lint-imports` in ./run tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

HEADLESS = ("clustertop/core", "collectors", "actions", "clustertop/usecases")


def _module_name(path: Path) -> str:
    relative = path.relative_to(REPO)
    parts = relative.with_suffix("").parts
    if parts[0] != "clustertop":
        parts = ("clustertop", *parts)  # collectors/ installs as clustertop.collectors
    return ".".join(parts).removesuffix(".__init__")


def test_importing_every_headless_module_loads_no_textual() -> None:
    modules = sorted(
        _module_name(path) for folder in HEADLESS for path in (REPO / folder).rglob("*.py")
    )
    assert "clustertop.collectors.poller" in modules and "clustertop.usecases.changes" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'plotext')"
        " or m.startswith('clustertop.tui'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
