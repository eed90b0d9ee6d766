"""The loader: exact row counts, about half the rows older than 10 days, and checksums that
depend only on the seed - all read back from the servers, not taken from the loader's word."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime

import pytest

from clustertop.actions.seed import (
    TABLES,
    generate_rows,
    read_seed_info,
    rows_checksum,
    table_checksum,
)
from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.core.config import ClusterConfig
from clustertop.lab.lab import Lab
from tests.conftest import run_cli

ROWS = 20_000


def _count_and_old_share(cluster: ClusterConfig, table: str) -> tuple[int, float]:
    node = cluster.nodes[0]
    if cluster.family == "mysql":
        conn = connect_mysql(node)
        with contextlib.closing(conn), conn.cursor() as cur:
            cur.execute(
                f"SELECT COUNT(*), AVG(ts < NOW(6) - INTERVAL 10 DAY) FROM cleanup_bench.{table}"
            )
            count, share = cur.fetchone()  # type: ignore[misc]
    else:
        with connect_postgres(node) as pg:
            count, share = pg.execute(
                f"SELECT count(*), avg((ts < now() - interval '10 days')::int) "
                f"FROM cleanup_bench.{table}"
            ).fetchone()  # type: ignore[misc]
    return int(count), float(share)


def _load(lab: Lab, cluster: str, seed: int) -> dict:  # type: ignore[type-arg]
    done = run_cli(
        "--config",
        str(lab.config_path),
        "load",
        "--cluster",
        cluster,
        "--rows",
        str(ROWS),
        "--seed",
        str(seed),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("cluster_name", ["lab-mariadb", "lab-postgres"])
def test_load_counts_share_and_checksum(lab: Lab, lab_config, cluster_name: str) -> None:  # type: ignore[no-untyped-def]
    cluster = lab_config.clusters[cluster_name]
    report = _load(lab, cluster_name, seed=7)
    assert [t["table"] for t in report["tables"]] == [f"cleanup_bench.{t}" for t in TABLES]
    info = read_seed_info(cluster.nodes[0])
    anchor = datetime.fromisoformat(report["anchor"])
    first_sums = set()
    for table in TABLES:
        count, share = _count_and_old_share(cluster, table)
        assert count == ROWS
        assert 0.45 <= share <= 0.55, (table, share)
        rows, digest = table_checksum(cluster.nodes[0], table, anchor)
        assert rows == ROWS
        assert digest == info[table].checksum
        first_sums.add(digest)
    assert len(first_sums) == 1  # the four tables hold the same data set

    time.sleep(1.1)  # a later load has a later anchor: the checksum must not care
    again = _load(lab, cluster_name, seed=7)
    assert again["anchor"] != report["anchor"]
    anchor2 = datetime.fromisoformat(again["anchor"])
    assert table_checksum(cluster.nodes[0], "cleanup_batch", anchor2)[1] in first_sums

    other = _load(lab, cluster_name, seed=8)
    anchor3 = datetime.fromisoformat(other["anchor"])
    assert table_checksum(cluster.nodes[0], "cleanup_batch", anchor3)[1] not in first_sums


@pytest.mark.parametrize("cluster_name", ["lab-mariadb", "lab-postgres"])
def test_replica_receives_the_same_data(lab: Lab, lab_config, cluster_name: str) -> None:  # type: ignore[no-untyped-def]
    cluster = lab_config.clusters[cluster_name]
    report = _load(lab, cluster_name, seed=3)
    anchor = datetime.fromisoformat(report["anchor"])
    expected = report["tables"][0]["checksum"]
    deadline = time.monotonic() + 30
    while True:
        try:
            rows, digest = table_checksum(cluster.nodes[1], "cleanup_partitioned", anchor)
        except Exception:
            rows, digest = 0, ""
        if digest == expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (rows, digest) == (ROWS, expected)


def test_generator_is_deterministic_and_ordered() -> None:
    a, b = generate_rows(1000, 5), generate_rows(1000, 5)
    assert rows_checksum(a) == rows_checksum(b)
    assert rows_checksum(a) != rows_checksum(generate_rows(1000, 6))
    ages = [r.age_us for r in a]
    assert ages == sorted(ages, reverse=True)  # ids grow with time, as in an append-only table


def test_load_refuses_when_actions_are_off(lab: Lab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = lab.config_path.read_text().replace("actions = true", "actions = false")
    path = tmp_path / "off.toml"
    path.write_text(text)
    done = run_cli("--config", str(path), "load", "--cluster", "lab-mariadb", "--rows", "10")
    assert done.returncode == 2
    assert "clusters.lab-mariadb.actions" in done.stderr and "--allow-actions" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
