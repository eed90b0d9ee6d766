"""The `clustertop` commands and their dispatch, with one-line errors (options: parser.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from clustertop.cli import cleanup as cleanup_commands
from clustertop.cli import gate as gate_commands
from clustertop.cli import guard as guard_commands
from clustertop.cli import jobs as job_commands
from clustertop.cli import rebalance as rebalance_commands
from clustertop.cli import record as record_commands
from clustertop.cli import sessions as session_commands
from clustertop.cli import snapshot as snapshot_commands
from clustertop.cli import watch as watch_commands
from clustertop.cli.common import require_actions, resolve_config, save_result, say
from clustertop.cli.parser import build_parser
from clustertop.cli.terminal import follow
from clustertop.core.config import Config, load_config
from clustertop.core.errors import ClustertopError, InputError, OperationFailed
from clustertop.core.text import printable


def _lab_for(args: argparse.Namespace) -> Any:
    from clustertop.lab.lab import Lab

    return Lab(getattr(args, "dir", None))


def cmd_lab(args: argparse.Namespace) -> int:
    lab = _lab_for(args)
    if args.lab_command == "add-worker":
        node = lab.add_citus_worker(progress=say)
        print(f"lab-citus {node.name} on 127.0.0.1:{node.port}; config: {lab.config_path}")
        return 0
    if args.lab_command == "up":
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        if not engines:
            raise InputError("--engines", args.engines, "name at least one engine")
        notes = lab.up(engines, args.replicas, progress=say)
        for note in notes:
            say(note)
        _print_status(lab.status(), as_json=False)
        print(f"config: {lab.config_path}")
        return 0
    if args.lab_command == "down":
        stopped = lab.down(progress=say)
        if args.destroy:
            lab.destroy()
        print(f"stopped {len(stopped)} node(s)" + (f": {', '.join(stopped)}" if stopped else ""))
        return 0
    rows = lab.status()
    _print_status(rows, as_json=args.json)
    return 0


def _print_status(rows: Sequence[Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return
    if not rows:
        print("no lab nodes (run `clustertop lab up`)")
        return
    header = f"{'cluster':<13} {'node':<12} {'engine':<9} {'role':<12} {'port':>6} {'pid':>8} {'up':<4} replicating"
    print(header)
    for r in rows:
        rep = "-" if r.replicating is None else ("yes" if r.replicating else f"NO ({r.detail})")
        up = "up" if r.up else "DOWN"
        print(
            f"{r.cluster:<13} {r.name:<12} {r.engine:<9} {r.role:<12} {r.port:>6} "
            f"{r.pid or '-':>8} {up:<4} {rep}"
        )


def cmd_load(args: argparse.Namespace) -> int:
    from clustertop.actions.seed import load_cluster

    if args.dataset == "shop":
        return _load_shop(args)
    if args.scale is not None:
        raise InputError("--scale", args.scale, "sizes the shop data set: use --rows here")
    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    require_actions(args, config, cluster.name, "load (it drops and recreates cleanup_bench)")
    report = load_cluster(cluster, rows=args.rows or 10_000, seed=args.seed, progress=say)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for table in report.tables:
            print(
                f"{cluster.name} {table.table}: {table.rows} rows in {table.seconds:.2f} s "
                f"({table.rows_per_s:,.0f} rows/s) checksum {table.checksum}"
            )
    return 0


def _load_shop(args: argparse.Namespace) -> int:
    from clustertop.actions.shop import load_shop

    if args.rows is not None:
        raise InputError("--rows", args.rows, "sizes cleanup_bench: the shop data set takes --scale")
    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    require_actions(args, config, cluster.name, "load --dataset shop (it drops and recreates shop)")
    report = load_shop(cluster, scale=args.scale or 1, seed=args.seed, progress=say)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    total = sum(rows for _, rows, _ in report.tables)
    print(f"{cluster.name} shop, scale {report.scale}: {total:,} rows in {report.seconds:.2f} s "
          f"({total / max(report.seconds, 1e-9):,.0f} rows/s)")
    for name, rows, digest in report.tables:
        print(f"  {name:<12} {rows:>9,} rows  checksum {digest[:16]}")
    return 0


# The demo's background load on each lab cluster: light enough to leave a cleanup's lag
# visible, steady enough that every screen moves.
DEMO_BACKGROUND_TPS = 20.0
DEMO_BACKGROUND_S = 3600.0
# The demo's cleanup: batch_delete on cleanup_batch in batches of 250,000 rows, no pause.
# The lab's MariaDB replica applies a chunk as one transaction at about 300,000 rows/s on this
# kind of machine, and every later write waits behind it: these batches lag it 1.5-1.8 s a
# chunk (bench/RESULTS.md), where the operator's default of 5,000 rows with 0.1 s pauses
# stays under 0.1 s. The form shows these values and takes any others.
DEMO_HINT = "try: c cleanup, then c for real · 2 its lag · c compare all four · w workload"
DEMO_CLEANUP = (("table", "cleanup_bench.cleanup_batch"), ("method", "batch_delete"),
                ("batch", "250000"), ("delay", "0"))


def cmd_demo(args: argparse.Namespace) -> int:
    if getattr(args, "read_only", False):
        raise InputError(
            "--read-only", True, "demo loads data into the lab: watch read-only with `top --read-only`"
        )
    from clustertop.actions.seed import is_loaded, load_cluster
    from clustertop.actions.shop import load_shop, read_shop_info
    from clustertop.collectors.roles import find_writable
    from clustertop.lab.lab import Lab
    from clustertop.tui.app import DemoStart
    from clustertop.usecases.changes import WorkloadRequest

    lab = Lab(args.dir)
    for note in lab.up(("mariadb", "postgres"), 1, progress=say):
        say(note)
    config = load_config(lab.config_path)
    for cluster in config.clusters.values():
        if is_loaded(cluster, rows=args.rows):
            say(f"{cluster.name}: seed data already loaded ({args.rows:,} rows a table)")
        else:
            load_cluster(cluster, rows=args.rows, seed=1, progress=say)
        # The background workload's data: apart from cleanup_bench, which cleanups and
        # comparisons drop and reload under it.
        if read_shop_info(find_writable(cluster.nodes)) is None:
            load_shop(cluster, scale=1, progress=say)
    if args.no_tui:
        return 0
    demo = DemoStart(
        hint=DEMO_HINT,
        background=tuple(
            WorkloadRequest(cluster=name, pattern="oltp", table=None, connections=2,
                            target_tps=DEMO_BACKGROUND_TPS, duration_s=DEMO_BACKGROUND_S,
                            transactions=None, dataset="shop")
            for name in config.clusters
        ),
        cleanup_values=DEMO_CLEANUP,
        compare_rows=args.rows,
    )
    code = run_tui(config, args, demo)
    # The servers outlive the TUI on purpose (the next `demo` starts at once): say so.
    where = f" --dir {args.dir}" if args.dir else ""
    say(f"the lab is still running ({len(lab.status())} servers): `clustertop lab down{where}` "
        "stops them")
    return code


def run_tui(config: Config, args: argparse.Namespace, demo: Any = None) -> int:
    from clustertop.tui.app import make_app
    from clustertop.usecases.metrics import RoundCollector

    app = make_app(config, allow_actions=bool(args.allow_actions), demo=demo)
    state = app.state
    server = watch_commands.metrics_for(args, RoundCollector(
        lambda: state.latest, lambda: state.job_snapshots,
        lambda: tuple(state.verdicts.values())))
    try:
        app.run()
    finally:
        if server is not None:
            server.close()
    return app.return_code or 0


def cmd_poll(args: argparse.Namespace) -> int:
    import time

    from clustertop.usecases.wiring import make_poller

    config = resolve_config(args)
    interval = min(c.poll_interval for c in config.clusters.values())
    poller = make_poller(config)
    try:
        if args.once:
            poller.poll_round()
            time.sleep(interval)
            poller.wait_for_details(max(t.detail_timeout for t in _targets(poller)))
            _print_round(poller.poll_round(), as_json=args.json, pretty=True)
            return 0
        done = 0
        while not args.count or done < args.count:
            started = time.monotonic()
            _print_round(poller.poll_round(), as_json=args.json, pretty=False)
            done += 1
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        return 0
    finally:
        poller.close()


def _targets(poller: Any) -> list[Any]:
    return [s.target for s in poller.sessions]


def _print_round(round_: Any, *, as_json: bool, pretty: bool) -> None:
    from clustertop.tui import format as fmt

    if as_json:
        print(json.dumps(round_.to_json(), indent=2 if pretty else None, default=str), flush=True)
        return
    for n in round_.nodes:
        if not n.up:
            print(f"{n.key:<28} DOWN  {n.down_text}", flush=True)
            continue
        t = n.throughput
        tps = "-" if t is None or t.tps is None else f"{t.tps:.0f}"
        print(
            f"{n.key:<28} {n.role or '-':<11} lag {fmt.lag(n.lag_s, n.lag_is_lower_bound):>6} "
            f"tps {tps:>6} conns {fmt.count_of(n.connections, n.max_connections):>9} "
            f"poll {n.poll_ms or 0:.0f} ms"
            + ("  NOT ACCEPTING NEW CONNECTIONS" if n.accepting_connections is False else "")
            + "".join(f"\n{'':<28} unknown: {note}" for note in n.unknown),
            flush=True,
        )


def cmd_serve(args: argparse.Namespace) -> int:
    import shlex

    from clustertop.core.config import redact_dsn
    from clustertop.tui.serve import serve

    if not 1 <= args.port <= 65535:
        raise InputError("--port", args.port, "must be from 1 to 65535")
    resolve_config(args)  # a bad config fails here, once, not in every browser session
    command = [sys.executable, "-m", "clustertop"]
    if args.dsn:
        for dsn in args.dsn:
            if redact_dsn(dsn) != dsn:
                raise InputError(
                    "--dsn",
                    redact_dsn(dsn),
                    "serve puts the command in the process "
                    "list: give the password via .pgpass, ~/.my.cnf or a config",
                )
            command += ["--dsn", dsn]
    elif args.config:
        command += ["--config", os.path.abspath(args.config)]
    if args.cluster:
        command += ["--cluster", args.cluster]
    if args.allow_actions:
        command.append("--allow-actions")
    if args.read_only:
        command.append("--read-only")
    print(f"clustertop: serving on http://{args.host}:{args.port} (ctrl+c stops)", file=sys.stderr)
    # textual-serve starts one process per browser tab: say so, or a job started in one tab
    # seems to vanish in another.
    print("clustertop: each browser tab runs its own clustertop (its own polls and jobs); "
          "`clustertop job list` shows the cleanups of every tab", file=sys.stderr)
    serve(shlex.join(command), host=args.host, port=args.port)
    return 0


def cmd_workload(args: argparse.Namespace) -> int:
    from clustertop.usecases.changes import WorkloadRequest, workload_job_for

    config = resolve_config(args)
    if args.workload_command == "patterns":
        return _print_patterns(config, as_json=args.json)
    request = WorkloadRequest(
        cluster=config.cluster(args.cluster).name,
        pattern=args.pattern,
        table=args.table,
        connections=args.connections,
        target_tps=args.tps,
        duration_s=None if args.transactions else (args.duration or 10.0),
        transactions=args.transactions,
        engine=args.engine,
        mix=args.mix,
        seed=args.seed,
        processes=args.processes,
        gate=args.gate,
        dataset=args.dataset,
        skew=args.skew,
    )
    job: Any = workload_job_for(config, request, bool(args.allow_actions))
    follow(job, say)
    snap = job.snapshot()
    if snap.error and job.result:
        say(f"clustertop: the run's record, errors counted: {save_result('workload', job.result)}")
    if snap.error:
        raise (
            InputError("--table", job.spec.table, snap.error)
            if "table" in snap.error
            else OperationFailed(snap.error)
        )
    result = job.result or {}
    path = save_result("workload", result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result.get("latency_ms", {})
        print(
            f"{result.get('transactions')} tx in {result.get('duration_s')} s: "
            f"{result.get('achieved_tps')} tps (target {result.get('target_tps') or 'none'}), "
            f"p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms, p99 {lat.get('p99')} ms, "
            f"max {lat.get('max')} ms, {result.get('errors')} errors; saved {path}"
        )
    return 0 if snap.state == "finished" else 1


def _print_patterns(config: Config, *, as_json: bool) -> int:
    from clustertop.usecases.changes import pattern_catalogue

    catalogue = pattern_catalogue(config)
    if as_json:
        print(json.dumps(catalogue, indent=2))
        return 0
    for entry in catalogue:
        origin = {"builtin": "", "mix": "  (config mix)", "custom": "  (config custom)"}
        print(f"{entry['name']}{origin[entry['origin']]}")
        if entry.get("description"):
            print(f"  {entry['description']}")
        if entry.get("table_mix"):
            shares = ", ".join(f"{k} {v}%" for k, v in entry["table_mix"].items())
            print(f"  on a table (--dataset table): {shares}")
        if entry.get("transactions"):
            where = "on the shop data set" if entry["origin"] == "builtin" else (
                "on the tables they name")
            print(f"  transactions {where}:")
            for txn in entry["transactions"]:
                print(f"    {txn['name']:<18} {txn['share']:5.1f}%  {txn['statements']}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    if args.json:
        print(json.dumps(config_summary(config), indent=2))
        return 0
    origin = config.source or "--dsn"
    print(f"{origin}: ok")
    for cluster in config.clusters.values():
        actions = "actions on" if cluster.actions else "actions off"
        print(f"  {cluster.name} ({cluster.engine}, poll {cluster.poll_interval:g} s, {actions})")
        for node in cluster.nodes:
            print(f"    {node.name} {node.address} role hint {node.role_hint or '-'}")
    return 0


def config_summary(config: Config) -> dict[str, Any]:
    """The config as plain data, with nothing secret in it."""
    return {
        "source": str(config.source) if config.source else None,
        "clusters": {
            c.name: {
                "engine": c.engine,
                "poll_interval": c.poll_interval,
                "actions": c.actions,
                "watched_tables": list(c.watched_tables),
                "nodes": [
                    {
                        "name": n.name,
                        "host": n.host,
                        "port": n.port,
                        "user": n.user,
                        "database": n.database,
                        "role_hint": n.role_hint,
                    }
                    for n in c.nodes
                ],
            }
            for c in config.clusters.values()
        },
    }


def cmd_grants(args: argparse.Namespace) -> int:
    import re

    from clustertop.collectors.grants import NEEDS, grants_for

    for flag, value in (("--user", args.user), ("--schema", args.schema)):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", value):
            raise InputError(flag, value, "must be a plain name of letters, digits and _")
    families = [args.engine] if args.engine else ["mysql", "postgres"]
    for needs in NEEDS:
        if args.uses and needs.use not in args.uses:
            continue
        print(f"-- {needs.use}: {needs.what}")
        for family in families:
            user = f"'{args.user}'@'%'" if family == "mysql" else args.user
            print(f"-- {'MySQL/MariaDB' if family == 'mysql' else 'PostgreSQL'}")
            for line in grants_for(needs.use, family, user=user, schema=args.schema):
                print(line if line.startswith("--") else line + ";")
        print()
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    return run_tui(resolve_config(args), args)


COMMANDS = {
    "cleanup": cleanup_commands.cmd_cleanup,
    "compare": cleanup_commands.cmd_compare,
    "partitions": cleanup_commands.cmd_partitions,
    "optimize": cleanup_commands.cmd_optimize,
    "rebalance": rebalance_commands.cmd_rebalance,
    "isolate": rebalance_commands.cmd_isolate,
    "kill": session_commands.cmd_kill,
    "job": job_commands.cmd_job,
    "gate": gate_commands.cmd_gate,
    "guard": guard_commands.cmd_guard,
    "snapshot": snapshot_commands.cmd_snapshot,
    "diff": snapshot_commands.cmd_diff,
    "watch": watch_commands.cmd_watch,
    "record": record_commands.cmd_record,
    "replay": record_commands.cmd_replay,
    "export": record_commands.cmd_export,
    "poll": cmd_poll,
    "workload": cmd_workload,
    "serve": cmd_serve,
    "check": cmd_check,
    "grants": cmd_grants,
    "lab": cmd_lab,
    "load": cmd_load,
    "demo": cmd_demo,
    "top": cmd_top,
    None: cmd_top,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ClustertopError as exc:
        print(f"clustertop: {printable(' '.join(str(exc).split()))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("clustertop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`| head`): that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("CLUSTERTOP_DEBUG"):
            raise
        text = " ".join(str(exc).split())
        print(
            f"clustertop: internal error: {type(exc).__name__}: {text} "
            "(set CLUSTERTOP_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
