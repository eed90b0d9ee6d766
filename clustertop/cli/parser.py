"""The command line's options: one parser for every subcommand, with one-line usage errors."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from clustertop import __version__
from clustertop.cli import cleanup as cleanup_commands
from clustertop.cli import gate as gate_commands
from clustertop.cli import guard as guard_commands
from clustertop.cli import jobs as job_commands
from clustertop.cli import rebalance as rebalance_commands
from clustertop.cli import record as record_commands
from clustertop.cli import sessions as session_commands
from clustertop.cli import snapshot as snapshot_commands
from clustertop.cli import watch as watch_commands
from clustertop.cli.types import positive_float, positive_int


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the option and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--config/--cluster/--dsn/--allow-actions work before and after the subcommand."""
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("cluster selection")
    group.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="config file (default: $CLUSTERTOP_CONFIG, else the lab's clustertop.toml)",
    )
    group.add_argument(
        "--cluster", metavar="NAME", default=default, help="only this cluster of the config"
    )
    group.add_argument(
        "--dsn",
        metavar="URL",
        action="append",
        default=default,
        help="watch an ad-hoc cluster without a config file: mysql://, mariadb:// or "
        "postgresql://user@host:port/db (repeat for each node)",
    )
    group.add_argument(
        "--allow-actions",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="enable actions that change data, even where the config leaves them off",
    )
    group.add_argument(
        "--read-only",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="write nothing: no action, no heartbeat row (lag from the engine's own figure)",
    )


DEMO_ROWS = 1_000_000


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="clustertop",
        description="A terminal monitor for MySQL/MariaDB and PostgreSQL/Citus clusters under "
        "change. With no subcommand it opens the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"clustertop {__version__}")
    _common_options(parser, top=True)
    watch_commands.metrics_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=OneLineParser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common_options(p, top=False)
        return p

    watch_commands.metrics_options(add("top", "open the TUI (the same as no subcommand)"))

    poll = add("poll", "collect rounds from every node and print them (text or JSON)")
    poll.add_argument(
        "--once",
        action="store_true",
        help="print one full round (after a baseline round, so rates are filled)",
    )
    poll.add_argument(
        "--json",
        action="store_true",
        help="JSON: one object per round (one line per round without --once)",
    )
    poll.add_argument(
        "--count",
        type=positive_int,
        default=0,
        help="stop after N rounds (default: until interrupted)",
    )

    serve = add("serve", "serve the TUI to a browser on localhost (for demos on a projector)")
    serve.add_argument("--port", type=positive_int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only)",
    )

    check = add("check", "validate the config (or --dsn) and list its clusters and nodes")
    check.add_argument("--json", action="store_true", help="print the parsed config as JSON")

    grants = add("grants", "print the least privileges each use needs, as GRANT statements")
    grants.add_argument(
        "--for",
        dest="uses",
        metavar="USE",
        action="append",
        choices=("monitor", "heartbeat", "workload", "cleanup"),
        help="monitor, heartbeat, workload or cleanup (repeat; default: all)",
    )
    grants.add_argument(
        "--engine", choices=("mysql", "postgres"), help="only this engine family (default: both)"
    )
    grants.add_argument(
        "--user", default="clustertop_monitor", help="the user (default clustertop_monitor)"
    )
    grants.add_argument(
        "--schema", default="cleanup_bench", help="schema of the watched tables (default "
        "cleanup_bench)"
    )

    lab = add("lab", "start, stop and inspect the local lab cluster of real servers")
    lab_sub = lab.add_subparsers(
        dest="lab_command", metavar="ACTION", parser_class=OneLineParser, required=True
    )
    lab_dir_help = "lab directory (default: $CLUSTERTOP_LAB_DIR or a per-user state dir)"
    up = lab_sub.add_parser(
        "up",
        help="start the lab (reuses what already runs)",
        description="Start MariaDB primary+replicas and PostgreSQL "
        "primary+standbys on free loopback ports, and write DIR/clustertop.toml.",
    )
    up.add_argument("--dir", metavar="DIR", help=lab_dir_help)
    up.add_argument(
        "--engines",
        default="mariadb,postgres",
        help="comma-separated: mariadb, postgres, citus, tls (a MariaDB and a PostgreSQL node "
        "that take TLS only, verified against the lab's CA) (default: mariadb,postgres)",
    )
    up.add_argument(
        "--replicas", type=positive_int, default=1, help="replicas per primary (default 1)"
    )
    down = lab_sub.add_parser(
        "down",
        help="stop exactly the processes the lab started",
        description="Stop exactly the processes the lab started.",
    )
    down.add_argument("--dir", metavar="DIR", help=lab_dir_help)
    down.add_argument("--destroy", action="store_true", help="also delete the lab directory")
    add_worker = lab_sub.add_parser(
        "add-worker",
        help="add an empty Citus worker to lab-citus (imbalance to rebalance)",
        description="Add an empty worker to the lab's Citus cluster.",
    )
    add_worker.add_argument("--dir", metavar="DIR", help=lab_dir_help)
    status = lab_sub.add_parser(
        "status",
        help="list every lab node and whether it replicates",
        description="List every lab node with engine, role, port, pid, up and replicating.",
    )
    status.add_argument("--dir", metavar="DIR", help=lab_dir_help)
    status.add_argument("--json", action="store_true", help="print JSON")

    load = add("load", "create a data set (cleanup_bench or shop) and load deterministic seed rows")
    load.add_argument(
        "--dataset",
        choices=("cleanup_bench", "shop"),
        default="cleanup_bench",
        help="cleanup_bench (the cleanup methods' tables) or shop (customers, products, orders, "
        "events, posts, sensor readings: the transaction patterns' data) (default cleanup_bench)",
    )
    load.add_argument(
        "--rows", type=positive_int, help="cleanup_bench: rows per table (default 10000)"
    )
    load.add_argument(
        "--scale",
        type=positive_int,
        help="shop: size N, linear (1,000 N customers, 2,000 N orders, 10,000 N events ...; "
        "default 1)",
    )
    load.add_argument("--seed", type=int, default=1, help="seed of the data set (default 1)")
    load.add_argument("--json", action="store_true", help="print the load report as JSON")

    workload = add("workload", "run a workload (the builtin driver) and report TPS and latency")
    wl_sub = workload.add_subparsers(
        dest="workload_command", metavar="ACTION", parser_class=OneLineParser, required=True
    )
    run_p = wl_sub.add_parser(
        "run",
        help="run one workload to the end, printing a line a second",
        description="Run a workload against the cluster's primary. "
        "Patterns that write need actions enabled.",
    )
    _common_options(run_p, top=False)
    run_p.add_argument(
        "--pattern",
        default="oltp",
        help="oltp, ecommerce, olap, reporting, time-series, social, iot, read-heavy, "
        "write-heavy, balanced, traffic, point-select, or a mix or custom workload from the "
        "config; `workload patterns` lists them (default oltp)",
    )
    run_p.add_argument(
        "--dataset",
        choices=("table", "shop"),
        help="table: the pattern's single-table mix on --table; shop: its transactions on the "
        "shop data set (`load --dataset shop`) (default: shop for ecommerce, olap, reporting, "
        "social and iot, else table)",
    )
    run_p.add_argument(
        "--skew",
        metavar="DIST",
        help="how keys are drawn: uniform or zipf:S, e.g. zipf:1.1 (the lowest keys hottest) "
        "(default uniform)",
    )
    run_p.add_argument("--mix", help="custom shares: I:S:U like 70:20:10, or S60,I20,U20")
    run_p.add_argument("--table", help="SCHEMA.TABLE (default: the cluster's first watched table)")
    run_p.add_argument(
        "--connections",
        type=positive_int,
        default=4,
        help="connections, one thread each (default 4)",
    )
    run_p.add_argument(
        "--processes",
        type=positive_int,
        default=0,
        help="builtin driver: worker processes the connections are spread over (default: one "
        "per CPU when unthrottled or above 2000 TPS, else threads in one process)",
    )
    run_p.add_argument("--tps", type=positive_float, help="target TPS (default: unthrottled)")
    run_p.add_argument(
        "--gate",
        action="store_true",
        help="builtin driver: hold the run while the cluster's Go/No-Go gate is NO-GO, end it on"
        " an abort rule",
    )
    limit = run_p.add_mutually_exclusive_group()
    limit.add_argument("--duration", type=positive_float, help="seconds to run (default 10)")
    limit.add_argument("--transactions", type=positive_int, help="stop after N transactions")
    run_p.add_argument(
        "--engine",
        choices=["builtin", "pgbench", "sysbench"],
        default="builtin",
        help="load generator: builtin (every pattern), or pgbench (PostgreSQL) / sysbench "
        "(MySQL) for point-select at C speed (default builtin)",
    )
    run_p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    run_p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    patterns_p = wl_sub.add_parser(
        "patterns",
        help="list every pattern with its transactions and weights",
        description="List the built-in patterns (the single-table mix and the shop "
        "transactions of each), and the config's mixes and custom workloads.",
    )
    _common_options(patterns_p, top=False)
    patterns_p.add_argument("--json", action="store_true", help="print JSON")


    cleanup_commands.add_parsers(add)

    rebalance_commands.add_parser(add)
    rebalance_commands.add_isolate_parser(add)
    session_commands.add_parser(add)
    job_commands.add_parser(add)
    gate_commands.add_parser(add)
    guard_commands.add_parser(add)
    snapshot_commands.add_parsers(add)
    watch_commands.add_parser(add)
    record_commands.add_parsers(add)

    demo = add("demo", "lab up + load (skipped when loaded) + open the TUI on the lab")
    demo.add_argument(
        "--rows", type=positive_int, default=DEMO_ROWS,
        help=f"cleanup_bench rows per table: enough that a cleanup makes lag a replica shows on"
        f" a small machine (default {DEMO_ROWS})",
    )
    demo.add_argument("--dir", metavar="DIR", help=lab_dir_help)
    watch_commands.metrics_options(demo)
    demo.add_argument(
        "--no-tui", action="store_true", help="stop after lab up and load (for scripts)"
    )
    return parser


# ---------------------------------------------------------------------------------------------
