"""The least privileges clustertop needs, per engine family and per use: the one place they are
written down. The lab grants exactly these to its monitor user, `clustertop grants` prints them
for an operator, and the README quotes them (a test keeps the three the same)."""

from __future__ import annotations

from dataclasses import dataclass

from clustertop.core.errors import InputError

USES = ("monitor", "heartbeat", "workload", "cleanup")


@dataclass(frozen=True)
class GrantNeeds:
    use: str
    what: str  # what the grants make possible, one line
    mysql: tuple[str, ...]
    postgres: tuple[str, ...]


# {user} is the user, {schema} the schema of the tables watched or changed, {heartbeat_schema}
# and {heartbeat_table} the heartbeat table's schema and name.
NEEDS = (
    GrantNeeds(
        "monitor",
        "every figure of a read-only watch (with --read-only: no heartbeat row is written)",
        mysql=(
            # PROCESS: InnoDB's trx counters and tablespace files; SLAVE MONITOR (MariaDB
            # 10.5+; REPLICATION CLIENT on MySQL 8): the replication status.
            "-- MySQL 8: REPLICATION CLIENT in place of SLAVE MONITOR",
            "GRANT PROCESS, SLAVE MONITOR ON *.* TO {user}",
            "GRANT SELECT ON performance_schema.* TO {user}",
            "GRANT SELECT ON mysql.innodb_index_stats TO {user}",
            "GRANT SELECT ON mysql.innodb_table_stats TO {user}",
            "GRANT SELECT ON {schema}.* TO {user}",
            "GRANT SELECT ON {heartbeat_schema}.* TO {user}",
        ),
        postgres=(
            "GRANT pg_monitor TO {user}",
            "GRANT USAGE ON SCHEMA {schema} TO {user}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {user}",
            "-- and tables made later, by the role that makes them:",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {user}",
            "GRANT USAGE ON SCHEMA {heartbeat_schema} TO {user}",
            "GRANT SELECT ON {heartbeat_schema}.{heartbeat_table} TO {user}",
        ),
    ),
    GrantNeeds(
        "heartbeat",
        "the heartbeat row on each primary, for lag to the tenth of a second",
        mysql=("GRANT CREATE, INSERT, UPDATE, SELECT ON {heartbeat_schema}.* TO {user}",),
        postgres=(
            "GRANT CREATE ON DATABASE {database} TO {user}",
            "-- or, with the schema made by its owner:",
            "GRANT USAGE, CREATE ON SCHEMA {heartbeat_schema} TO {user}",
        ),
    ),
    GrantNeeds(
        "workload",
        "the builtin workload on its table",
        mysql=("GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.* TO {user}",),
        postgres=(
            "GRANT USAGE ON SCHEMA {schema} TO {user}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {user}",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {user}",
        ),
    ),
    GrantNeeds(
        "cleanup",
        "every cleanup method (copy and truncate build, swap and drop tables; batch_delete "
        "keeps its key set in a temporary table)",
        mysql=(
            "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, TRIGGER, "
            "LOCK TABLES, CREATE TEMPORARY TABLES ON {schema}.* TO {user}",
        ),
        postgres=(
            "-- copy, truncate and partition_drop change the table itself: its owner runs them",
            "ALTER TABLE {schema}.<table> OWNER TO {user}",
            "GRANT USAGE, CREATE ON SCHEMA {schema} TO {user}",
            "GRANT TEMPORARY ON DATABASE {database} TO {user}",
        ),
    ),
)


def grants_for(
    use: str,
    family: str,
    *,
    user: str,
    schema: str = "cleanup_bench",
    heartbeat: str = "clustertop.heartbeat",
    database: str = "postgres",
) -> list[str]:
    """The statements for one use, filled in; comments start with `--`."""
    needs = next((n for n in NEEDS if n.use == use), None)
    if needs is None:
        raise InputError("--for", use, f"pick one of {', '.join(USES)}")
    heartbeat_schema, _, heartbeat_table = heartbeat.rpartition(".")
    templates = needs.mysql if family == "mysql" else needs.postgres
    return [
        t.format(
            user=user,
            schema=schema,
            heartbeat_schema=heartbeat_schema or "clustertop",
            heartbeat_table=heartbeat_table,
            database=database,
        )
        for t in templates
    ]
