"""The ecommerce pattern at full speed: the builtin driver against pgbench (`-f`, one custom
script per transaction, weighted) and sysbench (one Lua script), all three running the same
four transactions with the same weights on the same shop data set, in one run.

Usage: .venv/bin/python bench/ecommerce_peers.py [--dir LAB_DIR] [--scale 10] [--seconds 20]
       [--connections 4] [--rounds 2]

The pgbench and sysbench scripts are translated from the pattern itself
(actions/workload/patterns.py), statement by statement: a `key` draw is a uniform random id
over the loaded range, `int LO HI` a random in range, `new` a random id far above the loaded
ones (unique with overwhelming odds), `now` the server's now(), `into` a \\gset (pgbench) or a
fetched row (sysbench). A transaction of several statements is BEGIN ... COMMIT in all three.
Throughput is transactions per second; the ratio is the builtin driver's to the C tool's.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

from benchlab import bench_lab

from clustertop.actions.shop import load_shop, sizes
from clustertop.actions.workload.builtin import BuiltinWorkload
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.actions.workload.external import _option, libpq_env
from clustertop.actions.workload.patterns import shop_script
from clustertop.core.config import ClusterConfig, load_config
from clustertop.core.workloads import Script, Statement, parse_generator

FAR_ID = 10_000_000_000  # `new` ids are drawn above this: the loaded ids are far below


def key_range(column: str, scale: int) -> tuple[int, int]:
    table = column.split(".")[1]
    return 1, sizes(scale)[table]


def _pgbench_value(text: str, scale: int, name: str, lines: list[str]) -> str:
    """A parameter as pgbench SQL: a \\set variable or an expression."""
    if text.startswith("$"):
        return f":{text[1:]}"
    gen = parse_generator(text, "bench")
    if gen.kind == "key":
        low, high = key_range(gen.column, scale)
        lines.append(f"\\set {name} random({low}, {high})")
    elif gen.kind == "int":
        lines.append(f"\\set {name} random({gen.low}, {gen.high})")
    elif gen.kind == "new":
        lines.append(f"\\set {name} random({FAR_ID}, 9000000000000000000)")
    elif gen.kind == "now":
        return "now()" if not gen.high else f"now() - interval '{gen.high} seconds' * random()"
    else:
        raise SystemExit(f"the bench does not translate generator {text!r} for pgbench")
    return f":{name}"


def _with_alias(statement: Statement) -> str:
    """SELECT col FROM ... into (name,) -> SELECT col AS name FROM ...: what \\gset binds."""
    sql = statement.sql
    if not statement.into:
        return sql
    head, rest = sql.split(" FROM ", 1)
    columns = [c.strip() for c in head.removeprefix("SELECT ").split(",")]
    named = ", ".join(f"{c} AS {n}" for c, n in zip(columns, statement.into, strict=False))
    return f"SELECT {named} FROM {rest}"


def pgbench_scripts(script: Script, scale: int, work: Path) -> list[str]:
    args = []
    for txn in script.transactions:
        lines: list[str] = []
        for name, text in txn.variables:
            value = _pgbench_value(text, scale, name, lines)
            if not value.startswith(":"):
                lines.append(f"\\set {name} 0")  # now(): used inline below instead
        multi = len(txn.statements) > 1
        if multi:
            lines.append("BEGIN;")
        counter = 0
        for statement in txn.statements:
            sql = _with_alias(statement)
            parts = sql.split("%s")
            out = parts[0]
            for param, part in zip(statement.params, parts[1:], strict=True):
                variable = dict(txn.variables).get(param[1:]) if param.startswith("$") else None
                if variable is not None and parse_generator(variable, "bench").kind == "now":
                    value = "now()"
                else:
                    counter += 1
                    value = _pgbench_value(param, scale, f"p{counter}", lines)
                out += value + part
            lines.append(out + (" \\gset" if statement.into else ";"))
        if multi:
            lines.append("COMMIT;")
        path = work / f"{txn.name}.sql"
        path.write_text("\n".join(lines) + "\n")
        args += ["-f", f"{path}@{txn.weight}"]
    return args


def _lua_value(text: str, scale: int) -> str:
    """A Lua expression whose value is the parameter's SQL text."""
    if text.startswith("$"):
        return f"tostring(v.{text[1:]})"
    gen = parse_generator(text, "bench")
    if gen.kind == "key":
        low, high = key_range(gen.column, scale)
        return f"tostring(sysbench.rand.uniform({low}, {high}))"
    if gen.kind == "int":
        return f"tostring(sysbench.rand.uniform({gen.low}, {gen.high}))"
    if gen.kind == "new":
        # Two draws (sysbench's are 32-bit): an 18-digit id, far above the loaded ones.
        return ("string.format('%d%09d', sysbench.rand.uniform(100000000, 999999999),"
                " sysbench.rand.uniform(0, 999999999))")
    if gen.kind == "now":
        return '"NOW(6)"' if not gen.high else f'"NOW(6) - INTERVAL {gen.high} SECOND * RAND()"'
    raise SystemExit(f"the bench does not translate generator {text!r} for sysbench")


def sysbench_script(script: Script, scale: int, work: Path) -> Path:
    out = ["function thread_init()", "  drv = sysbench.sql.driver()", "  con = drv:connect()",
           "end", ""]
    names = []
    for txn in script.transactions:
        names.append((txn.name, txn.weight))
        out.append(f"function t_{txn.name}()")
        out.append("  local v = {}")
        for name, text in txn.variables:
            out.append(f"  v.{name} = {_lua_value(text, scale)}")
        multi = len(txn.statements) > 1
        if multi:
            out.append('  con:query("BEGIN")')
        for statement in txn.statements:
            sql = statement.sql
            values = ", ".join(_lua_value(p, scale) for p in statement.params)
            call = f"string.format({sql!r}, {values})" if statement.params else repr(sql)
            if statement.into:
                out.append(f"  local rs = con:query({call})")
                out.append("  local row = rs:fetch_row()")
                for i, name in enumerate(statement.into, start=1):
                    out.append(f"  v.{name} = row[{i}]")
            else:
                out.append(f"  con:query({call})")
        if multi:
            out.append('  con:query("COMMIT")')
        out.append("end")
        out.append("")
    total = sum(w for _, w in names)
    out.append("function event()")
    out.append(f"  local r = sysbench.rand.uniform(1, {total})")
    edge = 0
    for i, (name, weight) in enumerate(names):
        edge += weight
        keyword = "if" if i == 0 else "elseif"
        out.append(f"  {keyword} r <= {edge} then t_{name}()")
    out.append("  end")
    out.append("end")
    out += ["", "function thread_done()", "  con:disconnect()", "end"]
    path = work / "ecommerce.lua"
    path.write_text("\n".join(out) + "\n")
    return path


def run_pgbench(cluster: ClusterConfig, args: argparse.Namespace, work: Path) -> float:
    node = cluster.nodes[0]
    argv = ["pgbench", "-h", node.host, "-p", str(node.port), "-n", "-M", "prepared",
            "-c", str(args.connections), "-j", str(args.connections), "-T", str(args.seconds),
            *pgbench_scripts(shop_script("ecommerce"), args.scale, work)]
    if node.user:
        argv += ["-U", node.user]
    argv.append(node.database or "postgres")
    done = subprocess.run(argv, capture_output=True, text=True, env=libpq_env(node), check=False)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if not found:
        raise SystemExit(f"pgbench: {done.stdout[-400:]} {done.stderr[-400:]}")
    if failed and int(failed.group(1)):
        print(f"  pgbench failed transactions: {failed.group(1)}")
    return float(found.group(1))


def run_sysbench(cluster: ClusterConfig, args: argparse.Namespace, work: Path) -> float:
    node = cluster.nodes[0]
    config = work / "sysbench.cfg"
    lines = [f"mysql-host={node.host}", f"mysql-port={node.port}", "mysql-db=shop",
             f"mysql-user={node.user}"]
    if password := node.resolve_password() or _option(node, "password"):
        lines.append(f"mysql-password={password}")
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    script = sysbench_script(shop_script("ecommerce"), args.scale, work)
    argv = ["sysbench", f"--config-file={config}", f"--threads={args.connections}",
            f"--time={args.seconds}", str(script), "run"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    found = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", done.stdout)
    if not found:
        raise SystemExit(f"sysbench: {done.stdout[-600:]} {done.stderr[-400:]}")
    # sysbench counts an event as a transaction: each event is one of ours.
    return float(found.group(1))


def run_builtin(cluster: ClusterConfig, args: argparse.Namespace) -> tuple[float, int]:
    script = shop_script("ecommerce")
    spec = WorkloadSpec(node=cluster.nodes[0], table="shop", pattern="ecommerce",
                        mix=script.weights(), connections=args.connections, target_tps=None,
                        duration_s=float(args.seconds), script=script)
    job = BuiltinWorkload(spec, cluster.name)
    job.start()
    job.join()
    result = job.result
    assert result is not None, job.snapshot().error
    return float(result["achieved_tps"]), int(result["errors"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=0) as lab, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = load_config(lab.config_path)
        for name, peer_name in (("lab-postgres", "pgbench"), ("lab-mariadb", "sysbench")):
            cluster = config.clusters[name]
            load_shop(cluster, scale=args.scale, seed=1)
            peer_total = ours_total = 0.0
            for round_ in range(1, args.rounds + 1):
                peer = (run_pgbench if peer_name == "pgbench" else run_sysbench)(
                    cluster, args, work)
                ours, errors = run_builtin(cluster, args)
                peer_total += peer
                ours_total += ours
                print(f"{name} round {round_}: {peer_name} {peer:,.0f} tps, builtin "
                      f"{ours:,.0f} tps ({errors} errors), ratio {ours / peer:.2f}", flush=True)
            print(f"{name}: ratio of the sums {ours_total / peer_total:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
