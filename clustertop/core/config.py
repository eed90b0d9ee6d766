"""The config file and --dsn: parsed strictly, every mistake reported as one line."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from clustertop.core.errors import MISSING, InputError
from clustertop.core.gate import DEFAULT_ABORT_RULES, DEFAULT_RULES, GateRule, parse_rule
from clustertop.core.nodes import ENGINES, MYSQL_FAMILY, Engine, NodeSpec, Secret
from clustertop.core.text import has_control
from clustertop.core.workloads import Script, parse_custom

ROLE_HINTS = ("primary", "replica", "standby", "coordinator", "worker")
DEFAULT_PORTS = {"mysql": 3306, "mariadb": 3306, "postgres": 5432, "citus": 5432}
DSN_SCHEMES: dict[str, Engine] = {
    "mysql": "mysql",
    "mariadb": "mariadb",
    "postgresql": "postgres",
    "postgres": "postgres",
}
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


@dataclass(frozen=True)
class Thresholds:
    lag_warn_s: float = 1.0
    lag_crit_s: float = 5.0
    skew_warn_ratio: float = 0.2
    fragmentation_warn_ratio: float = 0.3
    # A DDL (or a whole-table lock) waiting this long with sessions queued behind it: critical.
    ddl_wait_crit_s: float = 2.0
    # An open transaction this old holds back purge/vacuum and replicas: warn.
    oldest_transaction_warn_s: float = 60.0


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    engine: Engine
    nodes: tuple[NodeSpec, ...]
    watched_tables: tuple[str, ...] = ()
    # TimescaleDB background jobs (id or name) whose failures are known: shown, not warned.
    silenced_jobs: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    poll_interval: float = 1.0
    history: int = 600
    connect_timeout: float = 0.8
    statement_timeout: float = 0.8
    actions: bool = False
    heartbeat: bool = True
    heartbeat_table: str = "clustertop.heartbeat"
    read_only: bool = False  # nothing that writes: no actions, no heartbeat writer
    # The Go/No-Go gate: its rules ([clusters.NAME.gate], else [gate], else the runbook's), and
    # what trips a guarded run besides them.
    gate_rules: tuple[GateRule, ...] = field(
        default_factory=lambda: tuple(parse_rule(r, "gate") for r in DEFAULT_RULES)
    )
    abort_rules: tuple[GateRule, ...] = field(
        default_factory=lambda: tuple(parse_rule(r, "gate") for r in DEFAULT_ABORT_RULES)
    )

    @property
    def family(self) -> str:
        return "mysql" if self.engine in MYSQL_FAMILY else "postgres"


@dataclass(frozen=True)
class UiConfig:
    keymap: Mapping[str, str] = field(default_factory=dict)
    bell: bool = False
    # Statements of sessions with their literals; off, every literal shows as `?`.
    show_literals: bool = False


@dataclass(frozen=True)
class Config:
    clusters: Mapping[str, ClusterConfig]
    ui: UiConfig = field(default_factory=UiConfig)
    source: Path | None = None
    # Workload patterns the operator named: name -> shares in percent per operation kind.
    mixes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    read_only: bool = False
    # Transaction workloads the operator wrote ([workload.custom.NAME]).
    custom_workloads: Mapping[str, Script] = field(default_factory=dict)

    def with_read_only(self) -> Config:
        """Every cluster read-only: no action may run, no heartbeat is written (lag falls back
        to the engine's own figure)."""
        clusters = {
            name: replace(c, actions=False, heartbeat=False, read_only=True)
            for name, c in self.clusters.items()
        }
        return replace(self, clusters=clusters, read_only=True)

    def cluster(self, name: str | None) -> ClusterConfig:
        """The named cluster, or the only one; `--cluster` is the field an operator fixes."""
        if name is None:
            if len(self.clusters) == 1:
                return next(iter(self.clusters.values()))
            raise InputError("--cluster", MISSING, f"pick one of {', '.join(self.clusters)}")
        if name not in self.clusters:
            known = ", ".join(self.clusters) or "none"
            raise InputError("--cluster", name, f"no such cluster (known: {known})")
        return self.clusters[name]

    def select(self, name: str | None) -> Config:
        """This config narrowed to one cluster when a name is given."""
        if name is None:
            return self
        return replace(self, clusters={name: self.cluster(name)})


# ---------------------------------------------------------------------------------------------
# Validation helpers: each takes the key path so the error names exactly what to fix.


class _Checker:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, value: object, problem: str) -> InputError:
        where = f"{self.origin}: {path}" if path else self.origin
        return InputError(where, value, problem)

    def table(self, path: str, value: object) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, value, "must be a table")
        return value

    def keys(self, path: str, table: Mapping[str, Any], allowed: Sequence[str]) -> None:
        for key in table:
            if key in allowed:
                continue
            if "password" in key.lower() or "secret" in key.lower():
                raise self.fail(
                    _join(path, key),
                    "***",
                    "passwords never live in the config: use password_env, a .pgpass/passfile "
                    "or a MySQL option_file",
                )
            if key not in allowed:
                raise self.fail(
                    _join(path, key), table[key], f"unknown key (allowed: {', '.join(allowed)})"
                )

    def string(self, path: str, value: object, *, choices: Sequence[str] = ()) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, value, "must be a non-empty string")
        if has_control(value):
            raise self.fail(path, value, "must not hold control characters")
        if choices and value not in choices:
            raise self.fail(path, value, f"must be one of {', '.join(choices)}")
        return value

    def boolean(self, path: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, value, "must be true or false")
        return value

    def number(self, path: str, value: object, *, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, value, "must be a number")
        if not low <= value <= high:
            raise self.fail(path, value, f"must be between {low:g} and {high:g}")
        return float(value)

    def integer(self, path: str, value: object, *, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, value, "must be a whole number")
        if not low <= value <= high:
            raise self.fail(path, value, f"must be from {low} to {high}")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate_table_name(where: str, name: str) -> str:
    """`table` or `schema.table` with plain identifiers: anything else is refused, not quoted."""
    parts = name.split(".")
    if len(parts) > 2 or not all(_IDENT_RE.match(part) for part in parts):
        raise InputError(where, name, "must be TABLE or SCHEMA.TABLE of letters, digits and _")
    return name


# ---------------------------------------------------------------------------------------------

_TOP_KEYS = ("clusters", "defaults", "ui", "workload", "read_only", "gate")
_GATE_KEYS = ("rules", "abort_rules")
_WORKLOAD_KEYS = ("mixes", "custom")
_CLUSTER_KEYS = (
    "engine",
    "nodes",
    "watched_tables",
    "thresholds",
    "poll_interval",
    "history",
    "connect_timeout",
    "statement_timeout",
    "actions",
    "heartbeat",
    "heartbeat_table",
    "silenced_jobs",
    "gate",
)
_DEFAULT_KEYS = tuple(
    k for k in _CLUSTER_KEYS
    if k not in ("engine", "nodes", "watched_tables", "silenced_jobs", "gate")
)
_NODE_KEYS = (
    "name",
    "host",
    "port",
    "user",
    "database",
    "role",
    "password_env",
    "option_file",
    "passfile",
    "service",
    "sslmode",
    "sslrootcert",
    "ssl_ca",
    "ssl_verify_cert",
)
# libpq's sslmode values.
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_POSTGRES_ONLY = ("passfile", "service", "sslmode", "sslrootcert")
_MYSQL_ONLY = ("option_file", "ssl_ca", "ssl_verify_cert")
_THRESHOLD_KEYS = (
    "lag_warn_s", "lag_crit_s", "skew_warn_ratio", "fragmentation_warn_ratio", "ddl_wait_crit_s",
    "oldest_transaction_warn_s",
)
_UI_KEYS = ("keymap", "bell", "show_literals")
# The ids of the TUI's bindings that [ui.keymap] may remap (tests/test_tui_keys.py checks this
# list against the bindings themselves).
KEYMAP_IDS = (
    "show_overview", "show_replication", "show_throughput", "show_shards", "show_tables",
    "show_jobs", "help", "pause", "refresh", "slower", "faster", "filter", "workload",
    "cleanup", "quit", "stop_job", "rebalance", "isolate", "sort-tenants",
    "show_activity", "toggle-idle", "cancel-query", "end-session", "root-blocker",
    "pause-job", "change-job", "gate", "guard", "record", "chart-narrow", "chart-wide",
)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file; any problem raises InputError naming file and key."""
    source = Path(path).expanduser()
    try:
        raw_text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(source), MISSING, "config file not found") from None
    except IsADirectoryError:
        raise InputError(str(source), MISSING, "config path is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(str(source), MISSING, f"cannot read config: {reason}") from None
    # Editors on some systems start a UTF-8 file with a byte-order mark; TOML does not allow it.
    raw_text = raw_text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(source), MISSING, f"not valid TOML: {exc}") from None
    except (RecursionError, ValueError) as exc:  # 5,000 nested brackets; a 5,000-digit integer
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(str(source), MISSING, f"not a config clustertop can read: {reason}") from None
    return parse_config(data, origin=str(source), source=source)


def parse_config(
    data: Mapping[str, Any], *, origin: str = "config", source: Path | None = None
) -> Config:
    check = _Checker(origin)
    check.keys("", data, _TOP_KEYS)
    defaults = check.table("defaults", data.get("defaults", {}))
    check.keys("defaults", defaults, _DEFAULT_KEYS)
    if "clusters" not in data:
        raise check.fail("clusters", MISSING, "missing: define at least one [clusters.NAME]")
    clusters_raw = check.table("clusters", data["clusters"])
    if not clusters_raw:
        raise check.fail("clusters", MISSING, "empty: define at least one [clusters.NAME]")
    top_gate = _parse_gate(check, "gate", data.get("gate", {}), None)
    clusters: dict[str, ClusterConfig] = {}
    for name, raw in clusters_raw.items():
        path = f"clusters.{name}"
        if not _NAME_RE.match(name):
            raise check.fail(path, name, "cluster names use letters, digits, _ . : @ and -")
        merged = {**defaults, **check.table(path, raw)}
        cluster = _parse_cluster(check, path, name, merged)
        rules, abort = _parse_gate(check, f"{path}.gate", merged.get("gate", {}), top_gate)
        clusters[name] = replace(cluster, gate_rules=rules, abort_rules=abort)
    ui = _parse_ui(check, data.get("ui", {}))
    mixes = _parse_mixes(check, data.get("workload", {}))
    custom = _parse_custom_workloads(check, data.get("workload", {}), mixes)
    config = Config(clusters, ui, source, mixes, custom_workloads=custom)
    return config.with_read_only() if check.boolean("read_only", data.get("read_only", False)) else config


def _parse_gate(
    check: _Checker,
    path: str,
    raw: object,
    inherited: tuple[tuple[GateRule, ...], tuple[GateRule, ...]] | None,
) -> tuple[tuple[GateRule, ...], tuple[GateRule, ...]]:
    """A gate table's rules and abort rules; a key left out keeps what is inherited (the
    top [gate], then the runbook's defaults)."""
    table = check.table(path, raw)
    check.keys(path, table, _GATE_KEYS)
    defaults = (
        tuple(parse_rule(r, "gate") for r in DEFAULT_RULES),
        tuple(parse_rule(r, "gate") for r in DEFAULT_ABORT_RULES),
    )
    base = inherited or defaults
    parsed = []
    for index, key in enumerate(_GATE_KEYS):
        if key not in table:
            parsed.append(base[index])
            continue
        items = table[key]
        if not isinstance(items, list):
            raise check.fail(f"{path}.{key}", items, 'must be a list of rules, e.g. ["lag_s < 1"]')
        rules = []
        for i, item in enumerate(items):
            where = f"{check.origin}: {path}.{key}[{i}]"
            if isinstance(item, Mapping):
                check.keys(f"{path}.{key}[{i}]", item, ("rule", "unknown"))
                unknown = item.get("unknown", "fail")
                rules.append(parse_rule(item.get("rule", ""), where, unknown=str(unknown)))
            else:
                rules.append(parse_rule(item, where))
        parsed.append(tuple(rules))
    return parsed[0], parsed[1]


def _parse_cluster(check: _Checker, path: str, name: str, raw: Mapping[str, Any]) -> ClusterConfig:
    check.keys(path, raw, _CLUSTER_KEYS)
    if "engine" not in raw:
        raise check.fail(f"{path}.engine", MISSING, f"missing: one of {', '.join(ENGINES)}")
    engine: Engine = check.string(f"{path}.engine", raw["engine"], choices=ENGINES)  # type: ignore[assignment]
    poll_interval = check.number(
        f"{path}.poll_interval", raw.get("poll_interval", 1.0), low=0.1, high=3600
    )
    history = check.integer(f"{path}.history", raw.get("history", 600), low=10, high=1_000_000)
    default_timeout = round(min(2.0, poll_interval * 0.8), 3)
    timeouts = {}
    for key in ("connect_timeout", "statement_timeout"):
        value = check.number(f"{path}.{key}", raw.get(key, default_timeout), low=0.05, high=3600)
        if value >= poll_interval:
            raise check.fail(
                f"{path}.{key}",
                raw.get(key),
                f"must be shorter than poll_interval ({poll_interval:g})",
            )
        timeouts[key] = value
    thresholds = _parse_thresholds(check, f"{path}.thresholds", raw.get("thresholds", {}))
    watched_raw = raw.get("watched_tables", [])
    if not isinstance(watched_raw, list):
        raise check.fail(f"{path}.watched_tables", watched_raw, "must be a list of table names")
    watched = []
    for i, item in enumerate(watched_raw):
        item_path = f"{path}.watched_tables[{i}]"
        watched.append(
            validate_table_name(f"{check.origin}: {item_path}", check.string(item_path, item))
        )
    silenced_raw = raw.get("silenced_jobs", [])
    if not isinstance(silenced_raw, list):
        raise check.fail(
            f"{path}.silenced_jobs", silenced_raw, "must be a list of TimescaleDB job ids or names"
        )
    silenced = []
    for i, item in enumerate(silenced_raw):
        if isinstance(item, bool) or not isinstance(item, int | str) or str(item).strip() == "":
            raise check.fail(f"{path}.silenced_jobs[{i}]", item, "must be a job id or name")
        silenced.append(str(item))
    heartbeat_table = check.string(
        f"{path}.heartbeat_table", raw.get("heartbeat_table", "clustertop.heartbeat")
    )
    validate_table_name(f"{check.origin}: {path}.heartbeat_table", heartbeat_table)
    if "nodes" not in raw:
        raise check.fail(f"{path}.nodes", MISSING, "missing: a cluster needs at least one node")
    nodes_raw = raw["nodes"]
    if not isinstance(nodes_raw, list) or not nodes_raw:
        raise check.fail(f"{path}.nodes", nodes_raw, "must be a non-empty list of [[...nodes]]")
    nodes: list[NodeSpec] = []
    seen: set[str] = set()
    for i, node_raw in enumerate(nodes_raw):
        node = _parse_node(check, f"{path}.nodes[{i}]", name, engine, node_raw)
        if node.name in seen:
            raise check.fail(f"{path}.nodes[{i}].name", node.name, "duplicate node name")
        seen.add(node.name)
        nodes.append(node)
    return ClusterConfig(
        name=name,
        engine=engine,
        nodes=tuple(nodes),
        watched_tables=tuple(watched),
        silenced_jobs=tuple(silenced),
        thresholds=thresholds,
        poll_interval=poll_interval,
        history=history,
        connect_timeout=timeouts["connect_timeout"],
        statement_timeout=timeouts["statement_timeout"],
        actions=check.boolean(f"{path}.actions", raw.get("actions", False)),
        heartbeat=check.boolean(f"{path}.heartbeat", raw.get("heartbeat", True)),
        heartbeat_table=heartbeat_table,
    )


def _parse_node(check: _Checker, path: str, cluster: str, engine: Engine, raw: object) -> NodeSpec:
    table = check.table(path, raw)
    check.keys(path, table, _NODE_KEYS)
    if "name" not in table:
        raise check.fail(f"{path}.name", MISSING, "missing: every node needs a name")
    name = check.string(f"{path}.name", table["name"])
    if not _NAME_RE.match(name):
        raise check.fail(f"{path}.name", name, "node names use letters, digits, _ . : @ and -")
    optional: dict[str, str | None] = {}
    for key in (
        "user", "database", "password_env", "option_file", "passfile", "service", "sslmode",
        "sslrootcert", "ssl_ca",
    ):
        optional[key] = check.string(f"{path}.{key}", table[key]) if key in table else None
    for key in _MYSQL_ONLY if engine not in MYSQL_FAMILY else _POSTGRES_ONLY:
        if key in table:
            family = "MySQL" if key in _MYSQL_ONLY else "PostgreSQL"
            raise check.fail(f"{path}.{key}", table[key], f"is for {family}, not {engine}")
    if optional["sslmode"] is not None:
        check.string(f"{path}.sslmode", optional["sslmode"], choices=SSLMODES)
    verify = (
        check.boolean(f"{path}.ssl_verify_cert", table["ssl_verify_cert"])
        if "ssl_verify_cert" in table
        else None
    )
    env = optional["password_env"]
    if env is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", env):
        raise check.fail(f"{path}.password_env", env, "must be an environment variable name")
    role = table.get("role")
    if role is not None:
        role = check.string(f"{path}.role", role, choices=ROLE_HINTS)
    return NodeSpec(
        cluster=cluster,
        name=name,
        engine=engine,
        host=check.string(f"{path}.host", table.get("host", "127.0.0.1")),
        port=check.integer(
            f"{path}.port", table.get("port", DEFAULT_PORTS[engine]), low=1, high=65535
        ),
        user=optional["user"],
        database=optional["database"],
        role_hint=role,
        password_env=env,
        option_file=optional["option_file"],
        sslmode=optional["sslmode"],
        sslrootcert=optional["sslrootcert"],
        ssl_ca=optional["ssl_ca"],
        ssl_verify_cert=verify,
        passfile=optional["passfile"],
        service=optional["service"],
    )


def _parse_thresholds(check: _Checker, path: str, raw: object) -> Thresholds:
    table = check.table(path, raw)
    check.keys(path, table, _THRESHOLD_KEYS)
    base = Thresholds()
    values = {
        key: check.number(f"{path}.{key}", table.get(key, getattr(base, key)), low=0, high=1e9)
        for key in _THRESHOLD_KEYS
    }
    if values["lag_warn_s"] > values["lag_crit_s"]:
        raise check.fail(
            f"{path}.lag_warn_s",
            table.get("lag_warn_s"),
            f"must not exceed lag_crit_s ({values['lag_crit_s']:g})",
        )
    return Thresholds(**values)


def _parse_ui(check: _Checker, raw: object) -> UiConfig:
    table = check.table("ui", raw)
    check.keys("ui", table, _UI_KEYS)
    keymap_raw = check.table("ui.keymap", table.get("keymap", {}))
    keymap = {}
    for action, keys in keymap_raw.items():
        if action not in KEYMAP_IDS:
            raise check.fail(
                f"ui.keymap.{action}", action, f"no such key binding (ids: {', '.join(KEYMAP_IDS)})"
            )
        keymap[action] = check.string(f"ui.keymap.{action}", keys)
    return UiConfig(
        keymap=keymap,
        bell=check.boolean("ui.bell", table.get("bell", False)),
        show_literals=check.boolean("ui.show_literals", table.get("show_literals", False)),
    )


def _parse_custom_workloads(
    check: _Checker, raw: object, mixes: Mapping[str, object]
) -> dict[str, Script]:
    from clustertop.core.mixes import BUILTIN_PATTERNS

    table = check.table("workload", raw)
    scripts = {}
    for name, body in check.table("workload.custom", table.get("custom", {})).items():
        path = f"workload.custom.{name}"
        if not _NAME_RE.match(name):
            raise check.fail(path, name, "workload names use letters, digits, _ . : @ and -")
        if name in BUILTIN_PATTERNS or name in mixes:
            raise check.fail(path, name, "is a built-in pattern or a mix: pick another name")
        scripts[name] = parse_custom(f"{check.origin}: {path}", check.table(path, body))
    return scripts


def _parse_mixes(check: _Checker, raw: object) -> dict[str, dict[str, int]]:
    from clustertop.core.mixes import BUILTIN_PATTERNS, parse_mix

    table = check.table("workload", raw)
    check.keys("workload", table, _WORKLOAD_KEYS)
    mixes = {}
    for name, text in check.table("workload.mixes", table.get("mixes", {})).items():
        path = f"workload.mixes.{name}"
        if not _NAME_RE.match(name):
            raise check.fail(path, name, "mix names use letters, digits, _ . : @ and -")
        if name in BUILTIN_PATTERNS:
            raise check.fail(path, name, "is a built-in pattern: pick another name")
        mixes[name] = parse_mix(check.string(path, text), f"{check.origin}: {path}")
    return mixes


# ---------------------------------------------------------------------------------------------
# --dsn: an ad-hoc cluster without a config file.


def _split_userinfo(dsn: str) -> tuple[str, str | None, str | None, str]:
    """scheme, user, password and the DSN without its user info. The user info ends at the
    LAST @: a password typed without URL-encoding may hold '/', '#', '?' or '@', which a URL
    parser would take for the path, fragment, query or host."""
    scheme, sep, rest = dsn.partition("://")
    at = rest.rfind("@")
    if not sep or at < 0:
        return scheme, None, None, dsn
    userinfo, hostpart = rest[:at], rest[at + 1 :]
    user, colon, password = userinfo.partition(":")
    return scheme, user, (password if colon else None), f"{scheme}://{hostpart}"


_SCHEME_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


_PASSWORD_PARAMETER = re.compile(r"(?i)(pass(?:word)?\s*=\s*)('[^']*'|[^&\s;]+)")


def redact_dsn(dsn: str) -> str:
    """The DSN with every password masked: in its user info and in any password= parameter
    (a query string, or a libpq key=value string given where a URL belongs)."""
    return _PASSWORD_PARAMETER.sub(r"\1***", _redact_userinfo(dsn))


def _redact_userinfo(dsn: str) -> str:
    """The DSN with any password masked, safe to print: from the first ':' after the scheme to
    the last '@'. Written for malformed DSNs too (a wrong scheme separator, no host, a password
    with unencoded '/', '#', '?' or '@'), since those are the ones echoed in an error."""
    scheme = _SCHEME_PREFIX.match(dsn)
    start = scheme.end() if scheme else 0
    head, rest = dsn[:start], dsn[start:]
    at = rest.rfind("@")
    if at >= 0:
        user, colon, _password = rest[:at].partition(":")
        return f"{head}{user}:***{rest[at:]}" if colon else dsn
    # No @: "scheme://user:password" with the host forgotten reads as host:port. From the
    # first colon that is not followed by a port number, everything is masked.
    for found in re.finditer(":", rest):
        after = rest[found.end() :]
        if not re.match(r"\d+(/|$)", after):
            return f"{head}{rest[: found.start()]}:***"
    return dsn


_DSN_OPTIONS = {
    "option_file", "passfile", "service", "role", "name", "sslmode", "sslrootcert", "ssl_ca",
    "ssl_verify_cert",
}


def node_from_dsn(dsn: str, cluster: str | None = None) -> NodeSpec:
    shown = redact_dsn(dsn)
    _scheme, raw_user, raw_password, without_userinfo = _split_userinfo(dsn)
    try:
        parts = urlsplit(without_userinfo)
        port_value = parts.port
    except ValueError as exc:
        # The parser's own message quotes the part it choked on, which may be a password.
        why = "its port must be a number from 1 to 65535" if "ort" in str(exc) else "bad syntax"
        raise InputError("--dsn", shown, f"not a valid URL: {why}") from None
    if parts.netloc.endswith(":") or port_value == 0:
        raise InputError("--dsn", shown, "the port must be from 1 to 65535")
    engine = DSN_SCHEMES.get(parts.scheme.lower())
    if engine is None:
        raise InputError("--dsn", shown, "scheme must be mysql://, mariadb:// or postgresql://")
    if not parts.hostname:
        raise InputError("--dsn", shown, "needs a host, e.g. mysql://user@127.0.0.1:3306/db")
    port = port_value or DEFAULT_PORTS[engine]
    options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    for key in options:
        if key not in _DSN_OPTIONS:
            raise InputError(
                "--dsn",
                shown,
                f"unknown option {key!r} (allowed: {', '.join(sorted(_DSN_OPTIONS))})",
            )
    role = options.get("role")
    if role is not None and role not in ROLE_HINTS:
        raise InputError("--dsn", shown, f"role must be one of {', '.join(ROLE_HINTS)}")
    address = f"{parts.hostname}:{port}"
    database = unquote(parts.path.lstrip("/")) or None
    password = unquote(raw_password) if raw_password is not None else None
    return NodeSpec(
        cluster=cluster or address,
        name=options.get("name") or address,
        engine=engine,
        host=parts.hostname,
        port=port,
        user=unquote(raw_user) if raw_user else None,
        database=database,
        role_hint=role,
        option_file=options.get("option_file"),
        passfile=options.get("passfile"),
        service=options.get("service"),
        password=Secret(password) if password else None,
        **_dsn_tls(options, engine, shown),
    )


def _dsn_tls(options: dict[str, str], engine: Engine, shown: str) -> dict[str, Any]:
    """sslmode/sslrootcert (postgresql://) or ssl_ca/ssl_verify_cert (mysql://) from a DSN."""
    mysql = engine in MYSQL_FAMILY
    wrong = ("sslmode", "sslrootcert") if mysql else ("ssl_ca", "ssl_verify_cert")
    for key in wrong:
        if key in options:
            raise InputError("--dsn", shown, f"{key} is for {'PostgreSQL' if mysql else 'MySQL'}")
    sslmode = options.get("sslmode")
    if sslmode is not None and sslmode not in SSLMODES:
        raise InputError("--dsn", shown, f"sslmode must be one of {', '.join(SSLMODES)}")
    verify_text = options.get("ssl_verify_cert")
    verify: bool | None = None
    if verify_text is not None:
        if verify_text.lower() not in ("true", "false", "1", "0"):
            raise InputError("--dsn", shown, "ssl_verify_cert must be true or false")
        verify = verify_text.lower() in ("true", "1")
    return {
        "sslmode": sslmode,
        "sslrootcert": options.get("sslrootcert"),
        "ssl_ca": options.get("ssl_ca"),
        "ssl_verify_cert": verify,
    }


def config_from_dsns(dsns: Sequence[str], cluster: str | None = None) -> Config:
    """One cluster from --dsn flags; the first node's address names it unless --cluster does."""
    nodes = [node_from_dsn(dsn) for dsn in dsns]
    name = cluster or nodes[0].address
    families = {n.family for n in nodes}
    if len(families) > 1:
        raise InputError(
            "--dsn",
            ", ".join(redact_dsn(d) for d in dsns),
            "mixes MySQL and PostgreSQL in one cluster",
        )
    renamed: list[NodeSpec] = []
    seen: set[str] = set()
    for node in nodes:
        if node.name in seen:
            raise InputError("--dsn", redact_dsn(dsns[len(renamed)]), "names the same node twice")
        seen.add(node.name)
        renamed.append(_with_cluster(node, name))
    engine = nodes[0].engine
    return Config({name: ClusterConfig(name=name, engine=engine, nodes=tuple(renamed))})


def _with_cluster(node: NodeSpec, cluster: str) -> NodeSpec:
    from dataclasses import replace

    return replace(node, cluster=cluster)
