"""What tenantdb knows about SQL functions: which are standard, which may write.

sqlglot parses the functions it knows (``count``, ``lower``, ``coalesce``, ``now``, ...) into
typed nodes; any other call is an anonymous node whose effect tenantdb cannot know.
"""

from __future__ import annotations

from sqlglot import exp

PURE_BUILTINS = frozenset(
    {
        # Dates and times
        "now", "curdate", "curtime", "sysdate", "unix_timestamp", "from_unixtime",
        "date_format", "datetime", "time", "julianday", "strftime", "to_date", "to_timestamp",
        "make_date", "date_part", "age", "clock_timestamp", "statement_timestamp",
        "transaction_timestamp", "timeofday",
        # Text, numbers and JSON
        "printf", "quote", "octet_length", "btrim", "crc32", "total", "json_array",
        "json_unquote", "json_build_object", "jsonb_build_object", "row_to_json", "to_json",
        "to_jsonb", "json_agg", "jsonb_agg", "to_tsvector", "to_tsquery", "plainto_tsquery",
        "ts_rank",
    }
)  # fmt: skip
"""Functions sqlglot does not type in every dialect that compute only from their arguments
(and the clock): a tenant session may call them, and a read calling them may use a
replica."""

READ_ONLY_BUILTINS = PURE_BUILTINS | frozenset(
    {
        # PostgreSQL
        "pg_is_in_recovery", "pg_last_wal_replay_lsn", "pg_last_wal_receive_lsn",
        "pg_last_xact_replay_timestamp", "pg_backend_pid", "pg_postmaster_start_time",
        "pg_sleep", "current_setting", "inet_server_addr", "inet_server_port",
        # MySQL / MariaDB
        "connection_id", "found_rows", "database", "user", "sleep",
        # SQLite
        "json_each",
    }
)  # fmt: skip
"""Functions sqlglot does not type that are known not to write: a read calling them may
still go to a replica (they are not all fit for tenant sessions: some read server state)."""


def foreign_functions(tree: exp.Expr, allowed: frozenset[str]) -> list[str]:
    """Names of functions sqlglot does not know as standard SQL and ``allowed`` omits.

    Standard functions (count, lower, coalesce, now, ...) parse to typed nodes; anything
    else (``pg_read_file``, ``dblink``, ``load_file``, ``set_config``, user functions) is an
    anonymous call whose effect tenantdb cannot know, so a tenant session refuses it.
    """
    names: list[str] = []
    for node in tree.find_all(exp.Anonymous, exp.AnonymousAggFunc):
        name = str(node.this).lower()
        if name == "values" and node.find_ancestor(exp.OnConflict) is not None:
            continue  # MySQL's VALUES(col) in ON DUPLICATE KEY UPDATE: the row being inserted
        if name not in allowed and name not in PURE_BUILTINS and name not in names:
            names.append(name)
    return names


def may_write(tree: exp.Expr) -> bool:
    """Whether the statement calls a function that could write (``nextval``, ``setval``,
    a user function): such a read must run on the primary."""
    return any(
        str(node.this).lower() not in READ_ONLY_BUILTINS
        for node in tree.find_all(exp.Anonymous, exp.AnonymousAggFunc)
    )


__all__ = ["PURE_BUILTINS", "READ_ONLY_BUILTINS", "foreign_functions", "may_write"]
