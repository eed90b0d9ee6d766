"""Property tests over everything an operator types: any config, DSN or command line gives a
valid result or one line with exit 2 - never a traceback, never "internal error".
The default run tries a few thousand inputs; `./run tests -m slow -k hostile` many more."""

from __future__ import annotations

import contextlib
import io
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustertop.cli.main import main
from clustertop.cli.parser import build_parser
from clustertop.core.config import Config, config_from_dsns, load_config, parse_config
from clustertop.core.errors import InputError

QUICK = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
THOROUGH = settings(max_examples=30_000, deadline=None, suppress_health_check=list(HealthCheck))

KEYS = ["clusters", "defaults", "ui", "workload", "engine", "nodes", "name", "host", "port",
        "user", "role", "poll_interval", "actions", "watched_tables", "thresholds", "keymap",
        "mixes", "password", "password_env", "timeouts", "connect_timeout", "bell", "quit",
        "heartbeat_table", "history", "lag_warn_s", "lag_crit_s", "database", "main", "shop"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["mysql", "mariadb", "postgres", "citus", "primary",
                                           "replica", "127.0.0.1", "", " ", "q", "S60,I40"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5),
    ),
    max_leaves=25,
)


def _one_line_input_error(exc: InputError) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text


def _check_config(data: Any) -> None:
    try:
        config = parse_config(data if isinstance(data, dict) else {"x": data})
    except InputError as exc:
        _one_line_input_error(exc)
        return
    assert isinstance(config, Config) and config.clusters


def _config_data_test(data: dict[str, Any]) -> None:
    _check_config(data)
    _check_config({"clusters": data})
    _check_config({"clusters": {"main": data}})
    _check_config({"clusters": {"main": {"engine": "mysql", "nodes": [data]}}})


@QUICK
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_any_config_structure_is_a_config_or_one_line(data: dict[str, Any]) -> None:
    _config_data_test(data)


@pytest.mark.slow
@THOROUGH
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_any_config_structure_thoroughly(data: dict[str, Any]) -> None:
    _config_data_test(data)


TOML_ALPHABET = string.printable + "\ufeff\u0007\x00é[]{}=\"'#."


def _config_text_test(text: str, tmp: Path) -> None:
    path = tmp / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path)
    except InputError as exc:
        _one_line_input_error(exc)


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet=TOML_ALPHABET, max_size=200))
def test_any_config_text_is_a_config_or_one_line(tmp_path: Path, text: str) -> None:
    _config_text_test(text, tmp_path)


def _dsn_test(dsn: str) -> None:
    try:
        config = config_from_dsns([dsn])
    except InputError as exc:
        _one_line_input_error(exc)
        assert "S3cr3t" not in str(exc)  # a password is never echoed back
        return
    (cluster,) = config.clusters.values()
    for node in cluster.nodes:
        assert 1 <= node.port <= 65535 and node.host


DSN_PARTS = st.tuples(
    st.sampled_from(["mysql", "mariadb", "postgresql", "postgres", "oracle", "", "MYSQL"]),
    st.sampled_from(["://", ":/", "//", ""]),
    st.sampled_from(["u", "", "u:S3cr3t", "u:S3cr3t/x", "u:S3cr3t#?@x", ":S3cr3t"]),
    st.sampled_from(["@", ""]),
    st.text(alphabet=string.ascii_letters + string.digits + ".-:[]%@", max_size=20),
    st.sampled_from(["", ":", ":0", ":1", ":3306", ":65536", ":-1", ":x", ":99999999999"]),
    st.text(alphabet=string.printable, max_size=20),
)


@QUICK
@given(DSN_PARTS)
def test_any_dsn_is_a_node_or_one_line_without_the_password(parts: tuple[str, ...]) -> None:
    _dsn_test("".join(parts))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_dsn_text_is_a_node_or_one_line(text: str) -> None:
    _dsn_test(text)


SUBCOMMAND_ARGS = [
    ["check"], ["poll", "--once"], ["cleanup", "--method", "copy"], ["compare"],
    ["partitions"], ["optimize"], ["rebalance", "--plan"], ["workload", "run"], ["lab", "up"],
    ["load"], ["demo"], ["serve"],
]
OPTIONS = ["--rows", "--seed", "--batch-size", "--batch-delay", "--max-lag", "--lock-wait",
           "--retention-days", "--future-days", "--connections", "--tps", "--duration",
           "--transactions", "--port", "--table", "--method", "--mode", "--strategy",
           "--pattern", "--mix", "--dsn", "--cluster", "--config", "--count", "--processes"]
ARG_VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-1", "0", "1", "1.5", "", " ", "x",
                     "99999999999999999999", "0x10", "1_000", "Threads_running=5"]),
    st.text(max_size=8),
)


@QUICK
@given(st.sampled_from(SUBCOMMAND_ARGS),
       st.lists(st.tuples(st.sampled_from(OPTIONS), ARG_VALUES), max_size=4))
def test_any_command_line_parses_or_is_one_line_exit_2(
    command: list[str], options: list[tuple[str, str]]
) -> None:
    argv = [*command, *(part for pair in options for part in pair)]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exit_:
            assert exit_.code in (0, 2), (argv, exit_.code)
            if exit_.code == 2:
                lines = stderr.getvalue().strip().splitlines()
                assert lines and "Traceback" not in stderr.getvalue(), argv


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(["--batch-delay", "--max-lag", "--lock-wait",
                                           "--retention-days", "--table", "--batch-size"]),
                          ARG_VALUES), max_size=3))
def test_check_and_cleanup_against_an_example_config_never_say_internal_error(
    tmp_path_factory: pytest.TempPathFactory, options: list[tuple[str, str]]
) -> None:
    """Run as an operator would (in-process, no server reached: a dry run of a cluster that
    does not answer), every failure is one line, and none is "internal error"."""
    config = tmp_path_factory.mktemp("cfg") / "c.toml"
    config.write_text('[clusters.a]\nengine = "mysql"\nactions = true\n'
                      '[[clusters.a.nodes]]\nname = "p"\nhost = "127.0.0.1"\nport = 1\n')
    argv = ["--config", str(config), "cleanup", "--method", "batch_delete", "--dry-run",
            *(part for pair in options for part in pair)]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code  # type: ignore[assignment]
    text = stderr.getvalue()
    assert code in (1, 2), (argv, code, text)
    assert "internal error" not in text and "Traceback" not in text, text
    assert len([line for line in text.splitlines() if line.startswith("clustertop")]) <= 2


def test_tomllib_limits_are_what_the_loader_expects() -> None:
    """The loader turns these into one line; if a Python changes them, this says so."""
    with pytest.raises((RecursionError, tomllib.TOMLDecodeError)):
        tomllib.loads("x = " + "[" * 5000 + "]" * 5000)
