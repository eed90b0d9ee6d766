"""snapshot / diff on real servers: a CREATE INDEX, a DELETE of 10 rows and an ADD COLUMN are
exactly the three changes reported, on both engines; an unchanged table reports nothing;
--expect rules hold or break with exit 1; bad input is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clustertop.actions.seed import load_cluster
from clustertop.core.config import ClusterConfig
from clustertop.lab.lab import Lab
from tests.conftest import run_cli
from tests.helpers import sql

TABLES = "cleanup_bench.cleanup_batch,cleanup_bench.cleanup_copy"


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_diff_reports_exactly_an_index_a_delete_and_a_column_and_nothing_else(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig, tmp_path: Path
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    load_cluster(cluster, rows=1_000, seed=2, tables=("cleanup_batch", "cleanup_copy"))
    before = tmp_path / "before.json"
    base = ("--config", str(lab.config_path))
    done = run_cli(*base, "snapshot", "--cluster", cluster.name, "--tables", TABLES,
                   "--out", str(before))
    assert done.returncode == 0, done.stderr
    assert run_cli(*base, "diff", str(before)).stdout.startswith("no change in 2 table(s)")
    with sql(cluster.nodes[0]) as run:
        run("CREATE INDEX idx_snapshot_test ON cleanup_bench.cleanup_batch (user_id, ts)")
        ids = [r[0] for r in run("SELECT id FROM cleanup_bench.cleanup_batch ORDER BY id"
                                  " LIMIT 10")]
        run("DELETE FROM cleanup_bench.cleanup_batch WHERE id IN ("
            + ", ".join(str(int(i)) for i in ids) + ")")
        run("ALTER TABLE cleanup_bench.cleanup_batch ADD COLUMN snapshot_note VARCHAR(20)")
        if cluster.family == "postgres":
            run("COMMIT")
    done = run_cli(*base, "diff", str(before), "--json",
                   "--expect", "rows == before - 10",
                   "--expect", "cleanup_batch: indexes += idx_snapshot_test",
                   "--expect", "cleanup_batch: columns += snapshot_note",
                   "--expect", "cleanup_copy: schema == before",
                   "--expect", "cleanup_copy: checksum == before")
    result = json.loads(done.stdout)
    assert done.returncode == 1, done.stdout  # rows == before - 10 breaks for cleanup_copy
    assert result["broken"] == [
        "rows == before - 10: cleanup_bench.cleanup_copy: 1000 rows after, 1000 before"]
    changes = [(c["table"], c["kind"], c["sign"], c["name"]) for c in result["changes"]
               if c["group"] != "sizes"]
    assert sorted(changes) == sorted([
        ("cleanup_bench.cleanup_batch", "rows", "~", ""),
        ("cleanup_bench.cleanup_batch", "indexes", "+", "idx_snapshot_test"),
        ("cleanup_bench.cleanup_batch", "columns", "+", "snapshot_note"),
    ]), result["changes"]
    rows = next(c for c in result["changes"] if c["kind"] == "rows")
    assert "1000 -> 990 (-10)" in rows["text"]
    # The untouched table: nothing at all, sizes included.
    assert not [c for c in result["changes"] if c["table"] == "cleanup_bench.cleanup_copy"]
    text = run_cli(*base, "diff", str(before), "--expect", "cleanup_batch: rows >= before")
    assert text.returncode == 1
    assert "EXPECTATION BROKEN: cleanup_batch: rows >= before" in text.stdout
    assert "schema:" in text.stdout and "columns +snapshot_note" in text.stdout


def test_diff_sees_rows_changed_in_place_through_the_checksum(
    lab: Lab, postgres: ClusterConfig, tmp_path: Path
) -> None:
    load_cluster(postgres, rows=500, seed=2, tables=("cleanup_copy",))
    before = tmp_path / "before.json"
    base = ("--config", str(lab.config_path))
    assert run_cli(*base, "snapshot", "--cluster", "lab-postgres", "--tables",
                   "cleanup_bench.cleanup_copy", "--out", str(before)).returncode == 0
    with sql(postgres.nodes[0]) as run:
        run("UPDATE cleanup_bench.cleanup_copy SET amount = amount + 1 WHERE id = "
            "(SELECT min(id) FROM cleanup_bench.cleanup_copy)")
    done = run_cli(*base, "diff", str(before), "--expect", "checksum == before")
    assert done.returncode == 1
    assert "same 500 rows, checksum changed" in done.stdout


def test_bad_snapshot_input_is_one_line_exit_2(lab: Lab, tmp_path: Path) -> None:
    base = ("--config", str(lab.config_path))
    bad = tmp_path / "bad.json"
    bad.write_text('{"tables": [{"table": 1}]}')
    snap = tmp_path / "ok.json"
    assert run_cli(*base, "snapshot", "--cluster", "lab-mariadb", "--tables",
                   "cleanup_bench.cleanup_batch", "--out", str(snap)).returncode == 0
    for args, fragment in (
        (("snapshot", "--cluster", "lab-mariadb", "--tables", "a.b.c", "--out", "x"),
         "--tables: must be TABLE or SCHEMA.TABLE"),
        (("snapshot", "--cluster", "lab-mariadb", "--tables", "cleanup_bench.nope", "--out",
          str(tmp_path / "n.json")), "--tables: no such table"),
        (("diff", str(tmp_path / "missing.json")), "no such snapshot file"),
        (("diff", str(bad)), "is not a table snapshot"),
        (("diff", str(snap), "--expect", "rows more than before"), "--expect: must be"),
        (("diff", str(snap), "--expect", "orders: rows >= before"), "table orders is not in"),
    ):
        done = run_cli(*base, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], (args, done.stderr)
