"""What every command shares: the config it runs against, where records are saved, and how
progress is said on the terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from clustertop.core.config import Config, config_from_dsns, load_config
from clustertop.core.errors import MISSING, InputError
from clustertop.usecases import changes


def resolve_config(args: argparse.Namespace) -> Config:
    config = _config_for(args)
    if getattr(args, "read_only", False):
        if args.allow_actions:
            raise InputError("--allow-actions", True, "contradicts --read-only: pick one")
        config = config.with_read_only()
    return config


def _config_for(args: argparse.Namespace) -> Config:
    """--dsn, else --config, else $CLUSTERTOP_CONFIG, else the lab's config."""
    if args.dsn:
        config = config_from_dsns(args.dsn, args.cluster)
        if any(n.password for c in config.clusters.values() for n in c.nodes):
            say(
                "clustertop: note: a password in --dsn can be read by anyone who lists this"
                " machine's processes (ps); prefer password_env, ~/.pgpass or ~/.my.cnf"
            )
        return config
    path = args.config or os.environ.get("CLUSTERTOP_CONFIG")
    if not path:
        from clustertop.lab.lab import Lab

        lab_config = Lab().config_path
        if not lab_config.is_file():
            raise InputError(
                "--config",
                MISSING,
                "no config given and no lab config at "
                f"{lab_config}: pass --config PATH or --dsn URL, or run `clustertop lab up`",
            )
        path = str(lab_config)
    return load_config(path).select(args.cluster)


def require_actions(args: argparse.Namespace, config: Config, cluster: str, what: str) -> None:
    changes.require_actions(config.clusters[cluster], bool(args.allow_actions), what)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def save_result(kind: str, result: dict[str, Any]) -> str:
    """Every run's record, as JSON, where a later comparison or export can find it."""
    import time
    from pathlib import Path

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    folder = Path(os.environ.get("CLUSTERTOP_RESULTS_DIR") or Path(base) / "clustertop" / "results")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}.json"
    path.write_text(json.dumps(result, indent=2))
    return str(path)


