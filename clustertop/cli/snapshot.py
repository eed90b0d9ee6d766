"""`clustertop snapshot` and `clustertop diff`: the before and after of a change, and what it
did (rows, schema, partitions, sizes), with `--expect` rules making diff exit 1 when the change
did something it should not."""

from __future__ import annotations

import argparse
import json
from typing import Any

from clustertop.cli.common import resolve_config, say
from clustertop.cli.types import positive_int


def add_parsers(add: Any) -> None:
    snap = add("snapshot", "record each watched table: rows, checksum, columns, indexes,"
               " constraints, partitions, size (for `clustertop diff`)")
    snap.add_argument("--tables", help="T1,T2 (SCHEMA.TABLE; default: the cluster's watched)")
    snap.add_argument("--out", required=True, metavar="FILE", help="where to write it (JSON)")
    snap.add_argument("--exact-below", type=positive_int, default=1_000_000, metavar="N",
                      help="count rows exactly up to N (by the estimate), else the estimate,"
                      " marked (default 1000000)")
    snap.add_argument("--checksum-below", type=positive_int, default=1_000_000, metavar="N",
                      help="checksum tables of up to N rows (default 1000000)")
    change = add("diff", "what changed since a snapshot: against the live cluster, or FILE2")
    change.add_argument("before", metavar="FILE")
    change.add_argument("after", nargs="?", metavar="FILE2", help="(default: the live cluster)")
    change.add_argument("--expect", action="append", default=[], metavar="RULE",
                        help="e.g. 'rows >= before', 'indexes += idx_x', 'T: schema == before'"
                        " (repeatable): exit 1 when one does not hold")
    change.add_argument("--json", action="store_true", help="print the changes as JSON")


def cmd_snapshot(args: argparse.Namespace) -> int:
    from clustertop.usecases.snapshot import take

    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    tables = ([t.strip() for t in args.tables.split(",") if t.strip()] if args.tables
              else list(cluster.watched_tables))
    snapshot = take(cluster, tables, exact_below=args.exact_below,
                    checksum_below=args.checksum_below)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(snapshot.to_json(), out, indent=2)
    for t in snapshot.tables:
        rows = f"~{t.rows}" if t.rows_estimated else str(t.rows)
        checksum = t.checksum[:12] if t.checksum else "-"
        say(f"{t.table}: {rows} rows, checksum {checksum}, {len(t.columns)} columns,"
            f" {len(t.indexes)} indexes, {len(t.partitions)} partitions"
            + (f" ({t.note})" if t.note else ""))
    say(f"snapshot of {cluster.name} ({snapshot.node}) written to {args.out}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from clustertop.usecases.snapshot import check_expectations, diff, load, render, take

    before = load(args.before)
    if args.after:
        after = load(args.after)
        label = args.after
    else:
        config = resolve_config(args)
        cluster = config.cluster(args.cluster or before.cluster)
        after = take(cluster, [t.table for t in before.tables],
                     checksum_columns={t.table: t.checksum_columns for t in before.tables})
        label = f"live {cluster.name}"
    changes = diff(before, after)
    broken = check_expectations(args.expect, before, after, changes)
    if args.json:
        print(json.dumps({"changes": [c.__dict__ for c in changes], "broken": broken},
                         indent=2))
    else:
        print(render(changes, before, label))
        for line in broken:
            print(f"EXPECTATION BROKEN: {line}")
    return 1 if broken else 0
