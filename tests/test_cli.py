"""The command line: help for every option, a version, one-line errors, --dsn clusters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clustertop import __version__
from clustertop.cli.parser import build_parser
from clustertop.core.config import config_from_dsns, redact_dsn
from clustertop.core.errors import InputError
from tests.conftest import REPO, run_cli

SUBCOMMANDS = [
    ["top"],
    ["check"],
    ["lab"],
    ["lab", "up"],
    ["lab", "down"],
    ["lab", "status"],
    ["load"],
    ["demo"],
]


def test_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"clustertop {__version__}"


def test_top_level_help_lists_every_subcommand() -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    for name in (
        "top",
        "check",
        "lab",
        "load",
        "demo",
        "--config",
        "--cluster",
        "--dsn",
        "--allow-actions",
    ):
        assert name in done.stdout


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_describes_every_option(words: list[str]) -> None:
    done = run_cli(*words, "--help")
    assert done.returncode == 0
    parser = build_parser()
    # Every option the parser knows for this subcommand appears in its help text.
    action = parser
    for word in words:
        sub = next(a for a in action._actions if a.__class__.__name__ == "_SubParsersAction")
        action = sub.choices[word]  # type: ignore[attr-defined]
    for option in action._actions:
        for flag in option.option_strings:
            assert flag in done.stdout, f"{flag} missing from `{' '.join(words)} --help`"
        if option.option_strings and option.help is not None:
            assert option.help.strip()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["load", "--rows", "-5"], "argument --rows: must not be negative (got '-5')"),
        (["load", "--rows", "many"], "argument --rows: must be a whole number (got 'many')"),
        (["lab", "up", "--replicas", "x"], "argument --replicas"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["check", "--dsn", "oracle://h/db"], "--dsn: scheme must be"),
        (["check", "--dsn", "mysql://u@h:99999/db"], "--dsn: not a valid URL"),
        (["check", "--dsn", "postgresql:///db"], "--dsn: needs a host"),
    ],
)
def test_bad_flags_are_one_line_exit_2(args: list[str], fragment: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_dsn_cluster_named_after_host_port_and_engine_from_scheme() -> None:
    config = config_from_dsns(
        ["mariadb://mon@127.0.0.1:3307/shop", "mariadb://mon@127.0.0.1:3308/shop?role=replica"]
    )
    (cluster,) = config.clusters.values()
    assert cluster.name == "127.0.0.1:3307"
    assert cluster.engine == "mariadb"
    assert [n.name for n in cluster.nodes] == ["127.0.0.1:3307", "127.0.0.1:3308"]
    assert cluster.nodes[1].role_hint == "replica"
    assert cluster.actions is False
    pg = config_from_dsns(["postgresql://u@db.example:5433/app"], cluster="billing")
    assert list(pg.clusters) == ["billing"]
    assert pg.clusters["billing"].nodes[0].database == "app"
    assert pg.clusters["billing"].engine == "postgres"


def test_dsn_password_is_kept_but_never_shown() -> None:
    dsn = "postgresql://u:s3cr%40t@127.0.0.1:5432/db"
    config = config_from_dsns([dsn])
    node = next(iter(config.clusters.values())).nodes[0]
    assert node.resolve_password() == "s3cr@t"
    assert "s3cr" not in repr(node)
    assert redact_dsn(dsn) == "postgresql://u:***@127.0.0.1:5432/db"
    done = run_cli("check", "--json", "--dsn", dsn)
    assert done.returncode == 0
    assert "s3cr" not in done.stdout
    assert json.loads(done.stdout)["clusters"]["127.0.0.1:5432"]["nodes"][0]["user"] == "u"


def test_dsn_mixing_engines_is_refused() -> None:
    with pytest.raises(InputError, match="mixes MySQL and PostgreSQL"):
        config_from_dsns(["mysql://u@h:1/d", "postgresql://u:pw@h:2/d"])
    try:
        config_from_dsns(["mysql://u@h:1/d", "postgresql://u:pw@h:2/d"])
    except InputError as exc:
        assert ":pw@" not in str(exc)


def test_no_config_anywhere_explains_what_to_do(tmp_path) -> None:
    done = run_cli(
        "check", env={"CLUSTERTOP_LAB_DIR": str(tmp_path / "nolab"), "CLUSTERTOP_CONFIG": ""}
    )
    assert done.returncode == 2
    assert "--config" in done.stderr and "clustertop lab up" in done.stderr


@pytest.mark.parametrize("password", ["S3ntinel/Pw-4711", "S3ntinel#Pw-4711", "S3ntinel?Pw-4711",
                                      "S3ntinel@Pw-4711"])
def test_a_dsn_password_with_unencoded_url_characters_never_shows(password: str) -> None:
    dsn = f"mysql://u:{password}@127.0.0.1:1/db"
    assert redact_dsn(dsn) == "mysql://u:***@127.0.0.1:1/db"
    (node,) = config_from_dsns([dsn]).clusters["127.0.0.1:1"].nodes
    assert node.resolve_password() == password and node.port == 1 and node.database == "db"
    for args in (["check", "--dsn", dsn], ["poll", "--once", "--dsn", dsn],
                 ["check", "--dsn", dsn.replace(":1/", ":0/")]):
        done = run_cli(*args)
        assert "S3ntinel" not in done.stdout + done.stderr, args
    warned = run_cli("check", "--dsn", dsn)
    assert "a password in --dsn can be read" in warned.stderr


@pytest.mark.parametrize("dsn", ["mysql://u@h:0/db", "mysql://u@h:/db",
                                 "postgresql://u@h:0/db"])
def test_a_dsn_port_of_zero_or_nothing_is_refused(dsn: str) -> None:
    done = run_cli("check", "--dsn", dsn)
    assert done.returncode == 2 and "--dsn: the port must be from 1 to 65535" in done.stderr


def test_config_values_and_errors_never_carry_control_characters(tmp_path: Path) -> None:
    bell = tmp_path / "bell.toml"
    bell.write_text('[clusters.a]\nengine = "mysql"\n[[clusters.a.nodes]]\nname = "p"\n'
                    'host = "h\\u0007st\\u001b[2J"\nport = 3306\n')
    done = run_cli("check", "--config", str(bell))
    assert done.returncode == 2
    assert "\x07" not in done.stderr and "\x1b" not in done.stderr
    assert "must not hold control characters" in done.stderr and "h\\x07st" in done.stderr


def test_a_config_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    example = (REPO / "config.example.toml").read_text()
    bom = tmp_path / "bom.toml"
    bom.write_text("\ufeff" + example, encoding="utf-8")
    done = run_cli("check", "--config", str(bom))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("text", ["x = " + "[" * 5000 + "]" * 5000, "x = " + "9" * 5000])
def test_a_config_too_deep_or_too_big_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hostile.toml"
    path.write_text(text)
    done = run_cli("check", "--config", str(path))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "internal error" not in done.stderr


def test_an_unknown_keymap_id_is_refused(tmp_path: Path) -> None:
    example = (REPO / "config.example.toml").read_text()
    path = tmp_path / "keys.toml"
    path.write_text(example + '\n[ui.keymap]\nquitt = "ctrl+q"\n' if "[ui.keymap]" not in example
                    else example.replace("[ui.keymap]", '[ui.keymap]\nquitt = "ctrl+q"'))
    done = run_cli("check", "--config", str(path))
    assert done.returncode == 2 and "ui.keymap.quitt: no such key binding" in done.stderr


@pytest.mark.parametrize("dsn", ["postgresql://app@db/app?password=S3ntinel-x",
                                 "host=db user=app password=S3ntinel-x",
                                 "mysql://u@h:1/db?password=S3ntinel-x&role=primary"])
def test_a_password_given_as_a_parameter_never_shows(dsn: str) -> None:
    done = run_cli("check", "--dsn", dsn)
    assert done.returncode == 2 and "S3ntinel" not in done.stdout + done.stderr


def test_demo_refuses_read_only() -> None:
    done = run_cli("demo", "--read-only")
    assert done.returncode == 2 and "--read-only" in done.stderr
