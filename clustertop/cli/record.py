"""`clustertop record` (headless) and `clustertop replay`: a change recorded to one file, and
watched again in the same TUI, fed from the file."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from dataclasses import replace
from typing import Any

from clustertop.cli.common import resolve_config, say
from clustertop.cli.types import positive_float
from clustertop.cli.watch import metrics_for, metrics_options


def add_parsers(add: Any) -> None:
    p = add("record", "record every round (details included) to one file, headless")
    p.add_argument("--out", required=True, metavar="FILE", help="the recording (SQLite)")
    p.add_argument("--duration", type=positive_float, metavar="S",
                   help="stop after S seconds (default: until SIGTERM / Ctrl-C)")
    p.add_argument("--interval", type=positive_float, metavar="S",
                   help="seconds between rounds (default: the clusters' poll_interval)")
    p.add_argument("--max-size", type=positive_float, metavar="MB",
                   help="keep at most this many MB of rounds: the oldest go first")
    p.add_argument("--keep", type=positive_float, metavar="HOURS",
                   help="keep only the last HOURS of rounds")
    metrics_options(p)
    e = add("export", "a recording's series and job results as CSV, JSON or Markdown")
    e.add_argument("file", metavar="FILE")
    e.add_argument("--format", choices=["csv", "json", "md"], default="csv")
    e.add_argument("--series", metavar="S1,S2", help="which series (default: up, lag, tps, qps,"
                   " connections, active; also rows_deleted_ps, log_bytes_ps, cache_hit_ratio,"
                   " probe_ms, blocked, role, lag_lower_bound)")
    e.add_argument("--from", dest="start", metavar="T", help="from this time: unix seconds,"
                   " ISO 8601 or HH:MM:SS (UTC)")
    e.add_argument("--to", dest="end", metavar="T", help="up to this time (same forms)")
    e.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    r = add("replay", "open the TUI on a recording instead of the servers")
    r.add_argument("file", metavar="FILE")
    r.add_argument("--speed", type=positive_float, default=1.0,
                   help="1, 2, 10 or 60 times real time (default 1; keys change it)")


def cmd_record(args: argparse.Namespace) -> int:
    from clustertop.usecases.metrics import RoundCollector
    from clustertop.usecases.record import Recorder
    from clustertop.usecases.wiring import make_poller

    config = resolve_config(args)
    if args.cluster:
        config = config.select(args.cluster)
    if args.interval:
        config = replace(config, clusters={
            name: replace(c, poll_interval=args.interval,
                          connect_timeout=min(c.connect_timeout, args.interval * 0.8),
                          statement_timeout=min(c.statement_timeout, args.interval * 0.8))
            for name, c in config.clusters.items()})
    interval = min(c.poll_interval for c in config.clusters.values())
    recorder = Recorder(args.out, clusters=list(config.clusters),
                        max_bytes=int(args.max_size * 1_000_000) if args.max_size else None,
                        keep_s=args.keep * 3600 if args.keep else None)
    stop = threading.Event()
    # A clean close on each: Ctrl-C, SIGTERM (systemd, kill), SIGHUP (the terminal went away,
    # when not already ignored by nohup).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, lambda *_: stop.set())
    latest: dict[str, Any] = {}
    server = metrics_for(args, RoundCollector(lambda: latest.get("round")))
    poller = make_poller(config)
    deadline = time.monotonic() + args.duration if args.duration else None
    say(f"clustertop: recording {', '.join(config.clusters)} every {interval:g} s to {args.out}")
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            started = time.monotonic()
            round_ = poller.poll_round()
            latest["round"] = round_
            recorder.add_round(round_)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        poller.close()
        recorder.close()
        if server is not None:
            server.close()
    say(f"clustertop: {recorder.rounds} rounds recorded ({recorder.bytes_written:,} bytes of"
        f" payload) in {args.out}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from clustertop.tui.app import make_replay_app
    from clustertop.usecases.record import read

    recording = read(args.file)
    if recording.lost:
        say(f"clustertop: {args.file}: {recording.lost}; showing everything readable")
    if not recording.rounds:
        from clustertop.core.errors import InputError

        raise InputError("FILE", args.file, "holds no round")
    app = make_replay_app(recording, speed=args.speed, name=args.file)
    app.run()
    return app.return_code or 0


def cmd_export(args: argparse.Namespace) -> int:
    from clustertop.usecases import export
    from clustertop.usecases.record import read

    names = export.parse_series(args.series)
    recording = read(args.file)
    if recording.lost:
        say(f"clustertop: {args.file}: {recording.lost}; exporting everything readable")
    first = recording.rounds[0].at if recording.rounds else 0.0
    start = export.parse_time(args.start, "--from", first)
    end = export.parse_time(args.end, "--to", first)
    text = export.render(args.format, export.series_rows(recording, names, start, end),
                         export.job_results(recording, end))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    else:
        print(text)
    return 0
