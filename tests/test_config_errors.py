"""Bad config: one line naming the file, the key path and the value; exit 2; no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustertop.core.config import load_config
from tests.conftest import run_cli

GOOD_NODE = """
[[clusters.main.nodes]]
name = "primary"
port = 3306
"""

CASES = {
    "unknown top-level key": (
        '[clusterz.main]\nengine = "mysql"\n',
        ["clusterz", "unknown key"],
    ),
    "unknown cluster key": (
        '[clusters.main]\nengine = "mysql"\npol_interval = 2\n' + GOOD_NODE,
        ["clusters.main.pol_interval", "unknown key", "2"],
    ),
    "wrong type": (
        '[clusters.main]\nengine = "mysql"\npoll_interval = "fast"\n' + GOOD_NODE,
        ["clusters.main.poll_interval", "must be a number", "'fast'"],
    ),
    "missing nodes": (
        '[clusters.main]\nengine = "mysql"\n',
        ["clusters.main.nodes", "missing"],
    ),
    "bad port": (
        '[clusters.main]\nengine = "mysql"\n[[clusters.main.nodes]]\nname = "a"\nport = 70000\n',
        ["clusters.main.nodes[0].port", "70000"],
    ),
    "unknown sslmode": (
        '[clusters.main]\nengine = "postgres"\n[[clusters.main.nodes]]\nname = "a"\n'
        'sslmode = "verify"\n',
        ["clusters.main.nodes[0].sslmode", "'verify'", "verify-full"],
    ),
    "ssl_ca on postgres": (
        '[clusters.main]\nengine = "postgres"\n[[clusters.main.nodes]]\nname = "a"\n'
        'ssl_ca = "/ca.pem"\n',
        ["clusters.main.nodes[0].ssl_ca", "is for MySQL"],
    ),
    "sslrootcert on mariadb": (
        '[clusters.main]\nengine = "mariadb"\n[[clusters.main.nodes]]\nname = "a"\n'
        'sslrootcert = "/ca.pem"\n',
        ["clusters.main.nodes[0].sslrootcert", "is for PostgreSQL"],
    ),
    "ssl_verify_cert not a boolean": (
        '[clusters.main]\nengine = "mariadb"\n[[clusters.main.nodes]]\nname = "a"\n'
        'ssl_verify_cert = "yes"\n',
        ["clusters.main.nodes[0].ssl_verify_cert", "'yes'"],
    ),
    "unknown engine": (
        '[clusters.main]\nengine = "oracle"\n' + GOOD_NODE,
        ["clusters.main.engine", "'oracle'", "mysql, mariadb, postgres, citus"],
    ),
    "not TOML": (
        '[clusters.main]\nengine = "mysql\n',
        ["not valid TOML", "line 2"],
    ),
    "duplicate node": (
        '[clusters.main]\nengine = "mysql"\n' + GOOD_NODE + GOOD_NODE,
        ["clusters.main.nodes[1].name", "duplicate", "'primary'"],
    ),
    "node without name": (
        '[clusters.main]\nengine = "mysql"\n[[clusters.main.nodes]]\nport = 3306\n',
        ["clusters.main.nodes[0].name", "missing"],
    ),
    "warn above crit": (
        '[clusters.main]\nengine = "mysql"\n[clusters.main.thresholds]\nlag_warn_s = 9\n'
        "lag_crit_s = 3\n" + GOOD_NODE,
        ["clusters.main.thresholds.lag_warn_s", "9", "lag_crit_s"],
    ),
    "postgres option on mysql": (
        '[clusters.main]\nengine = "mysql"\n[[clusters.main.nodes]]\nname = "a"\n'
        'passfile = "~/.pgpass"\n',
        ["clusters.main.nodes[0].passfile", "PostgreSQL"],
    ),
    "timeout not below interval": (
        '[clusters.main]\nengine = "postgres"\npoll_interval = 1\nstatement_timeout = 1.5\n'
        + GOOD_NODE,
        ["clusters.main.statement_timeout", "1.5", "shorter than poll_interval"],
    ),
    "bad watched table": (
        '[clusters.main]\nengine = "mysql"\nwatched_tables = ["t; drop table x"]\n' + GOOD_NODE,
        ["clusters.main.watched_tables[0]", "t; drop table x"],
    ),
    "bad role hint": (
        '[clusters.main]\nengine = "mysql"\n[[clusters.main.nodes]]\nname = "a"\nrole = "master"\n',
        ["clusters.main.nodes[0].role", "'master'"],
    ),
    "bad password_env": (
        '[clusters.main]\nengine = "mysql"\n[[clusters.main.nodes]]\nname = "a"\n'
        'password_env = "1 bad"\n',
        ["clusters.main.nodes[0].password_env", "'1 bad'"],
    ),
    "bad workload mix": (
        '[clusters.main]\nengine = "mysql"\n' + GOOD_NODE + '[workload.mixes]\nhot = "S60,X40"\n',
        ["workload.mixes.hot", "S60,X40", "a mix is I:S:U"],
    ),
    "mix shadows a pattern": (
        '[clusters.main]\nengine = "mysql"\n' + GOOD_NODE + '[workload.mixes]\noltp = "S100"\n',
        ["workload.mixes.oltp", "built-in pattern"],
    ),
    "unknown workload key": (
        '[clusters.main]\nengine = "mysql"\n' + GOOD_NODE + '[workload]\nmix = "S100"\n',
        ["workload.mix", "unknown key"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_is_one_line_naming_file_key_and_value(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = run_cli("--config", str(path), "check")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert str(path) in lines[0]
    for fragment in expected:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    missing = run_cli("--config", str(tmp_path / "nope.toml"), "check")
    assert missing.returncode == 2
    assert "nope.toml: config file not found" in missing.stderr
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    unreadable = run_cli("check", "--config", str(binary))
    assert unreadable.returncode == 2
    assert "binary.toml: cannot read config" in unreadable.stderr
    assert len(unreadable.stderr.strip().splitlines()) == 1
    directory = run_cli("check", "--config", str(tmp_path))
    assert directory.returncode == 2 and "is a directory" in directory.stderr


def test_a_password_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "pw.toml"
    path.write_text(
        '[clusters.main]\nengine = "mysql"\n[[clusters.main.nodes]]\nname = "a"\n'
        'password = "hunter2-secret"\n'
    )
    done = run_cli("--config", str(path), "check")
    assert done.returncode == 2
    assert "clusters.main.nodes[0].password" in done.stderr
    assert "password_env" in done.stderr
    assert "hunter2-secret" not in done.stderr + done.stdout


def test_the_example_config_is_valid() -> None:
    from tests.conftest import REPO

    config = load_config(REPO / "config.example.toml")
    assert config.clusters
    for cluster in config.clusters.values():
        assert cluster.actions is False  # actions stay off unless the operator turns them on


def test_config_and_cluster_work_before_and_after_the_subcommand(tmp_path: Path) -> None:
    path = tmp_path / "two.toml"
    path.write_text(
        '[clusters.a]\nengine = "mysql"\n'
        + GOOD_NODE.replace("main", "a")
        + '[clusters.b]\nengine = "postgres"\n'
        + GOOD_NODE.replace("main", "b").replace("3306", "5432")
    )
    before = run_cli("--config", str(path), "--cluster", "b", "check", "--json")
    after = run_cli("check", "--config", str(path), "--cluster", "b", "--json")
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout
    assert '"b"' in before.stdout and '"a"' not in before.stdout
    unknown = run_cli("check", "--config", str(path), "--cluster", "zzz")
    assert unknown.returncode == 2
    assert "--cluster: no such cluster (known: a, b) (got 'zzz')" in unknown.stderr
