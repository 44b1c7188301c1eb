"""``Capture``: the change capture a move installs on one source table, as SQL.

Rows written while a move copies must reach the target, including writes that did not go
through tenantdb. Before the first row is copied, the mover installs row triggers on each
of the tenant's source tables that record the primary key of every row a write touched
(the old and the new key of an UPDATE) in a change table of that source table; catch-up
then reads the keys recorded since its last position and, for each, reads the row from
the source again: present, it is written to the target; gone, it is deleted there. That
makes catch-up idempotent (a key applied twice gives the same target), which is what lets
a killed mover resume anywhere.

The change table is made from the source table's own key columns (``CREATE TABLE ... AS
SELECT`` with no rows, so the key keeps its type) plus a sequence column (an
auto-increment column on PostgreSQL and MariaDB, SQLite's ``rowid``) and a ``done`` column:
the catch-up round that applied the change, NULL while it waits. Catch-up takes the waiting
changes and marks exactly those it applied, never "everything up to a position": a change
is numbered when its trigger runs but becomes visible when its transaction commits, so a
transaction that commits late has a number below changes applied long before. For a tenant
that shares its tables (``tenant_column`` given) the triggers record only rows whose tenant
column holds the tenant before or after the write.

Every object is named ``tenantdb_mv<move id>_<n>...`` so leftovers can be found by prefix;
``remove`` drops all of them and may run again after a partial removal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from ..sql import quote_name

PREFIX = "tenantdb_mv"
"""Every object a move's capture creates starts with this."""
SEQ = "tenantdb_seq"
"""The change table's sequence column (PostgreSQL and MariaDB; SQLite uses ``rowid``)."""
DONE = "tenantdb_done"
"""The change table's column of the catch-up round that applied a change (NULL: waiting)."""
_MOVE_ID = re.compile(r"^[a-z0-9]{1,16}$")


@dataclass(frozen=True, slots=True)
class Capture:
    """The capture of one source table: statements to install and remove it, and the
    queries catch-up runs (``%s`` placeholders)."""

    install: tuple[str, ...]
    remove: tuple[str, ...]
    """Drops the capture (triggers and change table, not the fence); harmless to run
    again, or on what was never made."""
    fence: tuple[str, ...]
    """Makes the source refuse every write to the tenant's rows of this table, whoever
    sends it: from the start of the freeze on (``core.moves``), a process whose registry
    snapshot still places the tenant here gets an error (``MOVED_MESSAGE``, retryable)
    instead of writing rows the final catch-up may not see.

    Installing it also waits out every transaction that wrote to the table before: the
    trigger's DDL needs a lock such transactions hold until they end (PostgreSQL's SHARE
    ROW EXCLUSIVE against their ROW EXCLUSIVE, MariaDB's exclusive metadata lock, SQLite's
    write lock). So once it is in, every write the tenant's rows will ever get on the source
    is in the change table; run it under a lock timeout no longer than the freeze limit,
    since other writers to the table queue behind it meanwhile."""
    unfence: tuple[str, ...]
    """Drops the fence; harmless to run again, or on what was never made."""
    open_pass: tuple[str, ...]
    """Lets the writes of the transaction that runs it through the fence (the cleanup's
    delete of the source's rows), and no one else's: a row in the fence's pass table, which
    the fence consults and other transactions cannot see until a commit. Run
    ``close_pass`` in the same transaction before it commits."""
    close_pass: tuple[str, ...]
    """Empties the pass table again (see ``open_pass``)."""
    changes: str
    """The change table, quoted (schema-qualified where the source table is)."""
    seq: str
    """Its sequence column as catch-up selects it (quoted, or ``rowid``)."""
    key: tuple[str, ...]
    """The source table's primary-key columns, quoted, in key order."""
    done: str = DONE
    """Its ``done`` column, quoted."""

    def pending(self) -> str:
        """The waiting changes (not applied yet), oldest first, ``LIMIT %s``: each row's
        sequence number, then its key."""
        keys = ", ".join(self.key)
        return (
            f"SELECT {self.seq}, {keys} FROM {self.changes}"
            f" WHERE {self.done} IS NULL ORDER BY {self.seq} LIMIT %s"
        )

    def mark(self, count: int) -> str:
        """Mark ``count`` changes applied: ``%s`` the round, then ``count`` sequence
        numbers. Only those: a change that became visible meanwhile keeps waiting."""
        listed = ", ".join(["%s"] * count)
        return f"UPDATE {self.changes} SET {self.done} = %s WHERE {self.seq} IN ({listed})"

    def changed_since(self) -> str:
        """The distinct keys of changes waiting or applied in a round after ``%s``."""
        keys = ", ".join(self.key)
        return (
            f"SELECT DISTINCT {keys} FROM {self.changes}"
            f" WHERE {self.done} IS NULL OR {self.done} > %s"
        )

    def backlog(self) -> str:
        """How many changes wait."""
        return f"SELECT COUNT(*) FROM {self.changes} WHERE {self.done} IS NULL"


def capture_for(
    dialect: str,
    *,
    move_id: str,
    index: int,
    table: str,
    schema: str | None,
    key: tuple[str, ...],
    tenant_column: str | None = None,
    tenant: str | None = None,
) -> Capture:
    """The capture of source ``table`` (in ``schema``, or the connection's default) with
    primary key ``key``, the ``index``-th table of move ``move_id`` (lowercase letters and
    digits). With ``tenant_column``, only rows of ``tenant`` are recorded (a shared
    tenant's); without, every row is (a tenant with a schema or database of its own), and
    ``tenant`` only names it in the fence's refusal."""
    if not _MOVE_ID.match(move_id):
        raise ValueError(f"move id {move_id!r}: use 1 to 16 lowercase letters and digits")
    if not key:
        raise ValueError(f"table {table!r} has no primary key: it cannot be moved online")
    if tenant_column is not None and tenant is None:
        raise ValueError("tenant_column needs the tenant whose rows it selects")

    def q(name: str) -> str:
        return quote_name(name, dialect)

    def qualified(name: str) -> str:
        return f"{q(schema)}.{q(name)}" if schema else q(name)

    base = f"{PREFIX}{move_id}_{index}"
    source = qualified(table)
    changes = qualified(base)
    keys = tuple(q(k) for k in key)
    match = None
    if tenant_column is not None and tenant is not None:
        match = (q(tenant_column), _literal(tenant, dialect))
    render = {"postgres": _postgres, "mysql": _mysql, "sqlite": _sqlite}.get(dialect)
    if render is None:
        raise ValueError(f"no change capture for dialect {dialect!r}")
    # SQLite names a trigger's table, and the tables its body writes, without a schema.
    objects = _Objects(base, qualified, source, q(table), changes, q(base))
    install, remove = render(objects, keys, match)
    passes, bare_passes = qualified(f"{base}_pass"), q(f"{base}_pass")
    # The fence consults its pass table: the bare name in SQLite's trigger bodies.
    closed = f"NOT EXISTS (SELECT 1 FROM {bare_passes if dialect == 'sqlite' else passes})"
    fence, unfence = _fences[dialect](objects, match, _moved(tenant, dialect), closed)
    seq = "rowid" if dialect == "sqlite" else q(SEQ)
    # The waiting changes are found by an index on (done, sequence); SQLite's index
    # carries the schema in its own name and keeps rowid in every index.
    if dialect == "sqlite":
        waiting = f"CREATE INDEX {qualified(base + '_w')} ON {q(base)} ({q(DONE)})"
    else:
        waiting = f"CREATE INDEX {q(base + '_w')} ON {changes} ({q(DONE)}, {q(SEQ)})"
    made = 1 if dialect == "sqlite" else 2  # the statements that make the change table
    done_type = "INTEGER" if dialect == "sqlite" else "BIGINT"
    install = (
        *install[:made],
        f"ALTER TABLE {changes} ADD COLUMN {q(DONE)} {done_type}",
        waiting,
        *install[made:],
    )
    return Capture(
        install=install,
        remove=remove,
        fence=(f"CREATE TABLE {passes} (move_pass INTEGER)", *fence),
        unfence=(*unfence, f"DROP TABLE IF EXISTS {passes}"),
        open_pass=(f"INSERT INTO {passes} (move_pass) VALUES (1)",),
        close_pass=(f"DELETE FROM {passes}",),
        changes=changes,
        seq=seq,
        key=keys,
        done=q(DONE),
    )


MOVED_MESSAGE = "tenantdb: this tenant has moved to another datasource"
"""How a fenced source's refusal starts (the rest names the tenant and says to retry)."""


def _moved(tenant: str | None, dialect: str) -> str:
    who = "" if tenant is None else f" (tenant {tenant})"
    return _literal(f"{MOVED_MESSAGE}{who}: retry the statement", dialect)


class _Objects(NamedTuple):
    """The names a capture's statements use, quoted."""

    base: str
    qualified: Callable[[str], str]
    source: str
    bare_source: str
    changes: str
    bare_changes: str


Match = tuple[str, str] | None
"""(quoted tenant column, the tenant as a literal), or None to record every row."""


def _plpgsql_row_trigger(
    objects: _Objects,
    name: str,
    timing: str,
    per_row: Callable[[str], str],
    returning: str,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A PL/pgSQL function and its row trigger (``timing`` INSERT OR UPDATE OR DELETE) that
    runs ``per_row("OLD")`` for updates and deletes and ``per_row("NEW")`` for inserts and
    updates; statements to make them, and to drop them."""
    function = objects.qualified(f"{objects.base}_{name}_fn")
    trigger = quote_name(f"{objects.base}_{name}", "postgres")
    body = (
        "BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {per_row('OLD')} END IF; "
        f"IF TG_OP <> 'DELETE' THEN {per_row('NEW')} END IF; "
        f"{returning} END"
    )
    make = (
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql"
        f" AS $tenantdb${body}$tenantdb$",
        f"CREATE TRIGGER {trigger} {timing} INSERT OR UPDATE OR DELETE ON {objects.source}"
        f" FOR EACH ROW EXECUTE FUNCTION {function}()",
    )
    drop = (
        f"DROP TRIGGER IF EXISTS {trigger} ON {objects.source}",
        f"DROP FUNCTION IF EXISTS {function}()",
    )
    return make, drop


def _when(match: Match, row: str, then: str) -> str:
    """``then`` for every row, or only for the tenant's (PL/pgSQL)."""
    return then if match is None else f"IF {row}.{match[0]} = {match[1]} THEN {then} END IF;"


def _postgres(
    objects: _Objects, keys: tuple[str, ...], match: Match
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    changes, listed = objects.changes, ", ".join(keys)

    def record(row: str) -> str:
        values = ", ".join(f"{row}.{k}" for k in keys)
        return _when(match, row, f"INSERT INTO {changes} ({listed}) VALUES ({values});")

    make, drop = _plpgsql_row_trigger(objects, "trg", "AFTER", record, "RETURN NULL;")
    install = (
        f"CREATE TABLE {changes} AS SELECT {listed} FROM {objects.source} WITH NO DATA",
        f"ALTER TABLE {changes} ADD COLUMN {quote_name(SEQ, 'postgres')} bigserial PRIMARY KEY",
        *make,
    )
    return install, (*drop, f"DROP TABLE IF EXISTS {changes}")


def _mysql(
    objects: _Objects, keys: tuple[str, ...], match: Match
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    base, qualified, source, changes = (
        objects.base,
        objects.qualified,
        objects.source,
        objects.changes,
    )
    columns = ", ".join(keys)

    def selected(row: str) -> str:
        values = ", ".join(f"{row}.{k}" for k in keys)
        where = "" if match is None else f" WHERE {row}.{match[0]} = {match[1]}"
        return f"SELECT {values} FROM DUAL{where}"

    triggers = {
        "i": ("INSERT", selected("NEW")),
        "u": ("UPDATE", f"{selected('OLD')} UNION ALL {selected('NEW')}"),
        "d": ("DELETE", selected("OLD")),
    }
    install = [
        f"CREATE TABLE {changes} AS SELECT {columns} FROM {source} LIMIT 0",
        f"ALTER TABLE {changes} ADD COLUMN {quote_name(SEQ, 'mysql')} BIGINT NOT NULL"
        " AUTO_INCREMENT PRIMARY KEY FIRST",
    ]
    remove = []
    for suffix, (event, rows) in triggers.items():
        trigger = qualified(f"{base}_{suffix}")
        install.append(
            f"CREATE TRIGGER {trigger} AFTER {event} ON {source} FOR EACH ROW"
            f" INSERT INTO {changes} ({columns}) {rows}"
        )
        remove.append(f"DROP TRIGGER IF EXISTS {trigger}")
    remove.append(f"DROP TABLE IF EXISTS {changes}")
    return tuple(install), tuple(remove)


def _sqlite(
    objects: _Objects, keys: tuple[str, ...], match: Match
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    base, qualified, source, bare_source, changes, bare_changes = (
        objects.base,
        objects.qualified,
        objects.source,
        objects.bare_source,
        objects.changes,
        objects.bare_changes,
    )
    columns = ", ".join(keys)
    # SQLite names a trigger's table without its schema (the trigger lives beside it).

    def insert(row: str) -> str:
        values = ", ".join(f"{row}.{k}" for k in keys)
        where = "" if match is None else f" WHERE {row}.{match[0]} = {match[1]}"
        return f"INSERT INTO {bare_changes} ({columns}) SELECT {values}{where};"

    bodies = {
        "i": ("INSERT", insert("NEW")),
        "u": ("UPDATE", insert("OLD") + " " + insert("NEW")),
        "d": ("DELETE", insert("OLD")),
    }
    install = [f"CREATE TABLE {changes} AS SELECT {columns} FROM {source} LIMIT 0"]
    remove = []
    for suffix, (event, body) in bodies.items():
        trigger = qualified(f"{base}_{suffix}")
        install.append(
            f"CREATE TRIGGER {trigger} AFTER {event} ON {bare_source} FOR EACH ROW BEGIN {body} END"
        )
        remove.append(f"DROP TRIGGER IF EXISTS {trigger}")
    remove.append(f"DROP TABLE IF EXISTS {changes}")
    return tuple(install), tuple(remove)


def _fence_postgres(
    objects: _Objects, match: Match, message: str, closed: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    refuse = (
        f"IF {closed} THEN RAISE EXCEPTION USING"
        f" ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = {message}; END IF;"
    )
    return _plpgsql_row_trigger(
        objects,
        "fence",
        "BEFORE",
        lambda row: _when(match, row, refuse),
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;",
    )


def _fence_mysql(
    objects: _Objects, match: Match, message: str, closed: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    base, qualified, source = objects.base, objects.qualified, objects.source
    refuse = f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = {message}"

    def check(row: str) -> str:
        # Nested: MariaDB's trigger reads the pass table with a lock (binary log), so only
        # the tenant's rows may read it, or every tenant's writes would wait for a cleanup.
        refused = f"IF {closed} THEN {refuse}; END IF"
        return (
            refused if match is None else f"IF {row}.{match[0]} = {match[1]} THEN {refused}; END IF"
        )

    events = {
        "fi": ("INSERT", check("NEW")),
        "fu": ("UPDATE", f"BEGIN {check('OLD')}; {check('NEW')}; END"),
        "fd": ("DELETE", check("OLD")),
    }
    fence, unfence = [], []
    for suffix, (event, body) in events.items():
        trigger = qualified(f"{base}_{suffix}")
        fence.append(f"CREATE TRIGGER {trigger} BEFORE {event} ON {source} FOR EACH ROW {body}")
        unfence.append(f"DROP TRIGGER IF EXISTS {trigger}")
    return tuple(fence), tuple(unfence)


def _fence_sqlite(
    objects: _Objects, match: Match, message: str, closed: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    base, qualified, bare_source = objects.base, objects.qualified, objects.bare_source

    def of(*rows: str) -> str:
        if match is None:
            return f" WHEN {closed}"
        rows_of_tenant = " OR ".join(f"{row}.{match[0]} = {match[1]}" for row in rows)
        return f" WHEN ({rows_of_tenant}) AND {closed}"

    events = {
        "fi": ("INSERT", of("NEW")),
        "fu": ("UPDATE", of("OLD", "NEW")),
        "fd": ("DELETE", of("OLD")),
    }
    fence, unfence = [], []
    for suffix, (event, condition) in events.items():
        trigger = qualified(f"{base}_{suffix}")
        fence.append(
            f"CREATE TRIGGER {trigger} BEFORE {event} ON {bare_source} FOR EACH ROW{condition}"
            f" BEGIN SELECT RAISE(ABORT, {message}); END"
        )
        unfence.append(f"DROP TRIGGER IF EXISTS {trigger}")
    return tuple(fence), tuple(unfence)


_fences = {"postgres": _fence_postgres, "mysql": _fence_mysql, "sqlite": _fence_sqlite}


def _literal(text: str, dialect: str) -> str:
    """``text`` as a string literal of ``dialect`` (standard strings; MySQL/MariaDB also
    treat backslash as an escape by default)."""
    if "\x00" in text:
        raise ValueError("a tenant id with a NUL character cannot be matched by a trigger")
    escaped = text.replace("'", "''")
    if dialect == "mysql":
        escaped = escaped.replace("\\", "\\\\")
    return f"'{escaped}'"
