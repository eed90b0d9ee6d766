"""TLS passes through from the config and from a DSN to both drivers, and verification is on:
against the lab's TLS-only nodes, which refuse plaintext, and with a CA that did not sign the
servers' certificate, which clustertop must refuse in turn."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from clustertop.collectors.connect import ConnectError, connect_mysql, connect_postgres
from clustertop.core.config import Config, load_config
from clustertop.lab.lab import Lab
from clustertop.lab.tls import lab_certificates
from tests.conftest import make_lab_dir, run_cli


@pytest.fixture(scope="module")
def tls_lab() -> Iterator[Lab]:
    root = make_lab_dir("clustertop-tls-lab-")
    lab = Lab(root)
    try:
        lab.up(("tls",), replicas=0)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_config(tls_lab: Lab) -> Config:
    return load_config(tls_lab.config_path)


def test_the_tui_poller_reaches_tls_only_nodes_over_verified_tls(tls_lab: Lab) -> None:
    done = run_cli("--config", str(tls_lab.config_path), "poll", "--count", "2", "--json")
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.splitlines()[-1])
    assert {n["key"]: n["up"] for n in last["nodes"]} == {
        "lab-tls-mariadb/primary": True,
        "lab-tls-postgres/primary": True,
    }, [n["error"] for n in last["nodes"]]


def test_the_servers_see_our_sessions_encrypted(tls_config: Config) -> None:
    mysql = tls_config.clusters["lab-tls-mariadb"].nodes[0]
    conn = connect_mysql(mysql)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            row = cur.fetchone()
        assert row and str(row[1]).startswith("TLS"), row
    finally:
        conn.close()
    postgres = tls_config.clusters["lab-tls-postgres"].nodes[0]
    with connect_postgres(postgres) as pg:
        row = pg.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row == (True,)


def test_plaintext_is_refused_by_the_tls_only_nodes(tls_lab: Lab, tls_config: Config) -> None:
    import pymysql

    mysql = tls_config.clusters["lab-tls-mariadb"].nodes[0]
    # The same password over TLS logs in (the tests above); in plaintext MySQL 8 says
    # "insecure transport are prohibited" (3159), MariaDB 10.11 "Access denied" (1045).
    with pytest.raises(pymysql.err.OperationalError, match=r"insecure transport|Access denied"):
        pymysql.connect(
            host="127.0.0.1", port=mysql.port, user="clustertop",
            password=(tls_lab.client_dir / "password").read_text().strip(), ssl_disabled=True,
        )
    postgres = tls_config.clusters["lab-tls-postgres"].nodes[0]
    with pytest.raises(ConnectError, match="no encryption"):
        connect_postgres(replace(postgres, sslmode="disable"))


def test_a_certificate_from_another_ca_is_refused(tls_config: Config, tmp_path: Path) -> None:
    other_ca = lab_certificates(tmp_path / "other").ca
    mysql = tls_config.clusters["lab-tls-mariadb"].nodes[0]
    with pytest.raises(ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        connect_mysql(replace(mysql, ssl_ca=str(other_ca)))
    postgres = tls_config.clusters["lab-tls-postgres"].nodes[0]
    with pytest.raises(ConnectError, match="certificate verify failed"):
        connect_postgres(replace(postgres, sslrootcert=str(other_ca)))


def test_tls_settings_pass_through_a_dsn(tls_lab: Lab, tls_config: Config) -> None:
    ca = tls_lab.root / "tls" / "ca.pem"
    mysql = tls_config.clusters["lab-tls-mariadb"].nodes[0]
    postgres = tls_config.clusters["lab-tls-postgres"].nodes[0]
    dsns = [
        f"mysql://clustertop@127.0.0.1:{mysql.port}/?ssl_ca={ca}&ssl_verify_cert=true"
        f"&option_file={tls_lab.my_cnf}",
        f"postgresql://clustertop@127.0.0.1:{postgres.port}/clustertop?sslmode=verify-full"
        f"&sslrootcert={ca}&passfile={tls_lab.pgpass}",
    ]
    for dsn in dsns:
        done = run_cli("--dsn", dsn, "poll", "--count", "1", "--json")
        assert done.returncode == 0, done.stderr
        node = json.loads(done.stdout.splitlines()[-1])["nodes"][0]
        assert node["up"], node["error"]
    # Without sslmode, libpq's default (prefer) is not enough to verify: a plaintext-only
    # demand is refused by the server, in one line.
    plain = (
        f"postgresql://clustertop@127.0.0.1:{postgres.port}/clustertop?sslmode=disable"
        f"&passfile={tls_lab.pgpass}"
    )
    done = run_cli("--dsn", plain, "poll", "--count", "1", "--json")
    node = json.loads(done.stdout.splitlines()[-1])["nodes"][0]
    assert not node["up"] and "no encryption" in node["error"]
    wrong = run_cli("--dsn", dsns[0] + "&sslmode=require", "check")
    assert wrong.returncode == 2 and "sslmode is for PostgreSQL" in wrong.stderr
