"""`clustertop watch`: headless, polls the clusters and serves the latest round on a Prometheus
endpoint; many of them, each given a part of the fleet, scraped by one Prometheus take
clustertop past one machine. Runs until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from clustertop.cli.common import resolve_config, say


def metrics_options(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    default: Any = None if top else argparse.SUPPRESS
    p.add_argument("--metrics-port", type=int, metavar="P", default=default,
                   help="serve the latest values to Prometheus on this port (/metrics)")
    p.add_argument("--metrics-addr", metavar="ADDR", default="127.0.0.1" if top
                   else argparse.SUPPRESS, help="the address to serve on (default 127.0.0.1)")


def add_parser(add: Any) -> None:
    p = add("watch", "poll headless and serve the values on a Prometheus endpoint")
    metrics_options(p)


def metrics_for(args: argparse.Namespace, collector: Any) -> Any:
    """The endpoint when --metrics-port asks for one, else None."""
    port = getattr(args, "metrics_port", None)
    if port is None:
        return None
    from clustertop.usecases.metrics import MetricsServer

    server = MetricsServer(collector, port, getattr(args, "metrics_addr", "127.0.0.1"))
    say(f"clustertop: metrics on http://{server.addr}:{server.port}/metrics")
    return server


def cmd_watch(args: argparse.Namespace) -> int:
    import time

    from clustertop.core.errors import InputError
    from clustertop.usecases.gate import GateWatch
    from clustertop.usecases.metrics import RoundCollector

    if getattr(args, "metrics_port", None) is None:
        raise InputError("--metrics-port", None, "watch serves metrics: give a port")
    config = resolve_config(args)
    if args.cluster:
        config = config.select(args.cluster)
    watch = GateWatch(config)
    latest: dict[str, Any] = {}
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    collector = RoundCollector(lambda: latest.get("round"), tuple,
                               lambda: tuple(latest.get("verdicts", ())))
    server = metrics_for(args, collector)
    try:
        while not stop.is_set():
            started = time.monotonic()
            round_ = watch.poller.poll_round()
            latest["verdicts"] = tuple(g.judge(round_) for g in watch.gates.values())
            latest["round"] = round_
            stop.wait(max(0.0, watch.interval - (time.monotonic() - started)))
    finally:
        server.close()
        watch.close()
    return 0
