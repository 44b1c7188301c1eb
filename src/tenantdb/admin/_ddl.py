"""Schema changes on every physical table: apply a schema script, pre-create period tables.

``apply_schema`` runs a script of CREATE TABLE / CREATE INDEX / ALTER TABLE / DROP TABLE
statements written against logical tables: each statement is routed as an admin session
would route it (one physical statement per shard, period, broadcast copy or datasource)
and every physical statement runs on its datasource's primary. ``precreate`` creates the
period tables of every ``time_range`` table from its configured start through today plus
``pre_create`` periods.

Both are idempotent: before each physical statement the database catalog is asked whether
its work is already done (the table or index exists, the column was added or dropped, the
table is gone), and if so the statement is skipped. Running either twice changes nothing
the second time. Both stop at the first failure with a :class:`DdlError` that lists the
tables already changed; fix the cause and run again.

A schema script holds DDL only: an INSERT (or any other statement) is refused before
anything runs, because running data statements again would not be harmless. Schema
scripts take no parameters: a ``%`` in them is a plain ``%``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .._sync import Session
from ..core.routing import Target
from ..core.routing.strategies import TimeRangeStrategy
from ..core.sql import (
    DdlShape,
    ObjectName,
    describe_ddl,
    quote_name,
    rename_created,
    split_statements,
)
from ..errors import DatabaseError, Error, ProgrammingError, RoutingError, UnsupportedSQLError
from ._catalog import Catalog, Query, catalog_for, query_on
from ._view import ClusterView, admin_session

if TYPE_CHECKING:
    from ..tenants import Tenant

StepOutcome = Literal["applied", "skipped", "failed"]

_DDL_KINDS = ("CREATE TABLE", "CREATE INDEX", "ALTER TABLE", "DROP TABLE")
# Statements of a schema script that can make a missing period table.
_PERIOD_KINDS = ("CREATE TABLE", "CREATE INDEX", "ALTER TABLE")
_CHANGED_LISTED = 20


# -- reports ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DdlStep:
    """One physical statement (or, for pre-creation, one period table) and its outcome.

    ``tables``: the physical tables it touched; ``sql``: what ran or would have run (several
    statements are joined with ``;``); ``detail``: why it was skipped, where a copied table
    came from, or the error.
    """

    datasource: str
    tables: tuple[str, ...]
    sql: str
    outcome: StepOutcome
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "datasource": self.datasource,
            "tables": list(self.tables),
            "sql": self.sql,
            "outcome": self.outcome,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class StatementReport:
    """What one script statement (or the pre-creation of one table) did on each target."""

    number: int
    """1-based position in the script; for pre-creation, the table's position."""
    sql: str
    steps: tuple[DdlStep, ...]

    @property
    def applied(self) -> int:
        return sum(1 for s in self.steps if s.outcome == "applied")

    @property
    def skipped(self) -> int:
        return sum(1 for s in self.steps if s.outcome == "skipped")

    @property
    def failed(self) -> int:
        return sum(1 for s in self.steps if s.outcome == "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "sql": self.sql,
            "applied": self.applied,
            "skipped": self.skipped,
            "failed": self.failed,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True, slots=True)
class DdlReport:
    """Per statement, per datasource and physical table: applied, skipped or failed."""

    statements: tuple[StatementReport, ...] = ()

    @property
    def applied(self) -> int:
        return sum(s.applied for s in self.statements)

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.statements)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.statements)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def steps(self, outcome: StepOutcome | None = None) -> list[DdlStep]:
        """Every step in order, or those with ``outcome``."""
        return [
            step
            for statement in self.statements
            for step in statement.steps
            if outcome is None or step.outcome == outcome
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "applied": self.applied,
            "skipped": self.skipped,
            "failed": self.failed,
            "statements": [s.to_dict() for s in self.statements],
        }

    def __repr__(self) -> str:
        return (
            f"<DdlReport [{len(self.statements)} statements | applied {self.applied}, "
            f"skipped {self.skipped}, failed {self.failed}]>"
        )


class DdlProgress(NamedTuple):
    """Passed to the ``progress`` callback after each step."""

    done: int
    total: int
    statement: int
    step: DdlStep


ProgressCallback = Callable[[DdlProgress], None]


class DdlError(DatabaseError):
    """A schema change stopped at its first failure.

    The message names the failing statement, datasource and table, the database's own
    error, and every table changed before the failure. ``report`` holds the steps up to
    and including the failed one; ``orig`` is the driver's error when there was one (the
    tenantdb error is the ``__cause__``). Everything done before stays done: fix the cause
    and run again, and the finished work is skipped.
    """

    report: DdlReport

    def __init__(self, message: str, *, report: DdlReport | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.report = report if report is not None else DdlReport()


# -- planning (pure) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedStatement:
    """One statement of a schema script and the physical statements it becomes."""

    number: int
    sql: str
    """As written in the script."""
    kind: str
    """``CREATE TABLE``, ``CREATE INDEX``, ``ALTER TABLE`` or ``DROP TABLE``."""
    tables: tuple[str, ...]
    """The logical tables it names."""
    targets: tuple[Target, ...]


def plan_schema(cluster: ClusterView, script: str) -> tuple[PlannedStatement, ...]:
    """Split ``script`` and route every statement as an admin session would. No I/O.

    Raises UnsupportedSQLError for a statement that is not CREATE TABLE, CREATE INDEX,
    ALTER TABLE or DROP TABLE (data statements included) and the routing error of a
    statement that cannot be placed, each naming the statement's number; nothing has run.
    """
    dialect = cluster.topology.dialect
    planned: list[PlannedStatement] = []
    for number, sql in enumerate(split_statements(script, dialect), start=1):
        # A schema script has no parameters: every % is literal, which pyformat spells %%.
        literal = sql.replace("%", "%%")
        try:
            template = cluster.router.template(literal)
            if template.kind != "ddl" or template.ddl_kind not in _DDL_KINDS:
                raise UnsupportedSQLError(
                    f"{template.kind.upper()} statements do not belong in a schema script "
                    "(it may hold only CREATE TABLE, CREATE INDEX, ALTER TABLE and DROP "
                    "TABLE, so that running it again is harmless); run data statements "
                    "through cluster.session(admin=True)"
                )
            plan = cluster.explain(literal, admin=True)
            if len(plan.targets) > 1 and describe_ddl(sql, dialect).renames_table:
                raise UnsupportedSQLError(
                    "ALTER TABLE ... RENAME TO on a table with several physical tables would "
                    "give them all one name; rename the logical table in the configuration "
                    "and each physical table by hand"
                )
        except (RoutingError, UnsupportedSQLError, ProgrammingError) as exc:
            raise type(exc)(
                f"statement {number} ({_headline(sql)}): {exc.message}",
                datasource=exc.datasource,
                statement=sql,
            ) from None
        planned.append(
            PlannedStatement(
                number=number,
                sql=sql,
                kind=template.ddl_kind or "",
                tables=tuple(ref.table for ref in template.refs),
                targets=plan.targets,
            )
        )
    return tuple(planned)


@dataclass(frozen=True, slots=True)
class PlannedPeriod:
    """One period table a ``time_range`` table should have."""

    table: str
    """The logical table."""
    period: int
    starts: datetime.date
    datasource: str
    physical: str
    statements: tuple[Target, ...] = ()
    """The schema script's statements for this period, in script order."""
    scripted: bool = False
    """The script has a CREATE TABLE for this period: a missing table is made from it
    (else it is copied from an existing period table)."""


def plan_periods(cluster: ClusterView, script: str | None = None) -> dict[str, list[PlannedPeriod]]:
    """Every period table each ``time_range`` table should have today. No I/O.

    Periods run from the configured start through the period of the cluster's ``today``
    plus ``pre_create``, in order, each on its datasource. With ``script``, each period
    carries the physical CREATE TABLE / CREATE INDEX / ALTER TABLE statements the script
    has for its table, in script order (the whole script is checked as ``plan_schema``
    does).
    """
    per_table = _script_statements(cluster, script) if script is not None else {}
    today = cluster.topology.today()
    result: dict[str, list[PlannedPeriod]] = {}
    for name, strategy in _time_tables(cluster):
        shards = strategy.all_shards(today)
        by_physical: dict[str, list[Target]] = {}
        created: set[str] = set()
        for planned in per_table.get(name, []):
            for target in planned.targets:
                physical = target.tables.get(name)
                if physical is not None:
                    by_physical.setdefault(physical, []).append(target)
                    if planned.kind == "CREATE TABLE":
                        created.add(physical)
        result[name] = [
            PlannedPeriod(
                table=name,
                period=k,
                starts=strategy.period_start(k),
                datasource=strategy.datasource_of(k),
                physical=physical,
                statements=tuple(by_physical.get(physical, ())),
                scripted=physical in created,
            )
            for k, physical in ((k, strategy.physical_table(name, k)) for k in shards)
        ]
    return result


def _time_tables(cluster: ClusterView) -> list[tuple[str, TimeRangeStrategy]]:
    tables = []
    for name in cluster.config.tables:
        strategy = cluster.topology.table(name).strategy
        if isinstance(strategy, TimeRangeStrategy):
            tables.append((name, strategy))
    return tables


def _script_statements(cluster: ClusterView, script: str) -> dict[str, list[PlannedStatement]]:
    per_table: dict[str, list[PlannedStatement]] = {}
    for planned in plan_schema(cluster, script):
        if planned.kind in _PERIOD_KINDS and len(planned.tables) == 1:
            placement = cluster.topology.table(planned.tables[0])
            if isinstance(placement.strategy, TimeRangeStrategy):
                per_table.setdefault(placement.name, []).append(planned)
    return per_table


def clone_index_name(
    index: str, *, source: str, target: str, logical: str, keep_unrelated: bool = False
) -> str:
    """The name an index (or constraint) of period table ``source`` gets on its copy ``target``.

    Index names follow the router's rule (the logical index name plus the physical table's
    suffix, ``ix_events_day`` → ``ix_events_day_202612``), so a name ending in the source's
    suffix gets the target's instead. A name that starts with the source table's name
    (PostgreSQL's generated ``events_202612_pkey``) gets the target's name there. Any other
    name gets the target's suffix appended (index names are unique per schema), or is kept
    with ``keep_unrelated`` (MySQL, where they are unique per table).
    """
    old_suffix = source[len(logical) :] if source.startswith(logical) else ""
    new_suffix = target[len(logical) :] if target.startswith(logical) else "_" + target
    if old_suffix and index.endswith(old_suffix):
        return index[: len(index) - len(old_suffix)] + new_suffix
    if index.startswith(source):
        return target + index[len(source) :]
    return index if keep_unrelated else index + new_suffix


# -- running ------------------------------------------------------------------------------


def apply_schema(
    cluster: ClusterView, script: str, *, progress: ProgressCallback | None = None
) -> DdlReport:
    """Run a schema script on every physical table, skipping work already done.

    Each statement is routed with ``cluster.explain(stmt, admin=True)`` (all of them before
    anything runs: a statement that cannot be placed changes nothing), then each physical
    statement runs on its datasource's primary in order, unless the catalog shows it done:

    - CREATE TABLE: skipped when the table exists;
    - CREATE INDEX: skipped when the (suffixed) index exists;
    - DROP TABLE: skipped when every table it names is gone;
    - ALTER TABLE with only ADD COLUMN / DROP COLUMN actions: skipped when every column is
      already added / dropped (a partly done statement is an error unless each done
      action says IF [NOT] EXISTS); other ALTER TABLE statements run as written.

    ``progress`` is called after every physical statement. Returns the report; raises
    :class:`DdlError` at the first failure (with the tables changed so far), and the
    planning errors of :func:`plan_schema`.
    """
    planned = plan_schema(cluster, script)
    runner = _Runner(cluster, progress, total=sum(len(p.targets) for p in planned))
    with runner:
        for statement in planned:
            runner.begin_statement(statement.number, statement.sql)
            for target in statement.targets:
                runner.run_target(target)
            runner.end_statement()
    return runner.report()


def precreate(
    cluster: ClusterView, *, script: str | None = None, progress: ProgressCallback | None = None
) -> DdlReport:
    """Create every missing period table of every ``time_range`` table.

    The period tables are those from the configured start through the period of the
    cluster's ``today`` plus ``pre_create`` periods, each on its datasource. A period table
    that exists is skipped. A missing one is created

    - from ``script`` (a schema script) when it has a CREATE TABLE for the logical table:
      that statement and the script's CREATE INDEX / ALTER TABLE statements for the table
      run on the missing period table only, in script order; otherwise
    - as a copy of the newest existing period table of the same logical table, preferably
      one on the same datasource: SQLite re-issues the table's and its indexes' stored SQL
      under the new names; PostgreSQL uses ``CREATE TABLE new (LIKE old INCLUDING ALL
      EXCLUDING INDEXES)`` and re-creates indexes and their constraints under the new
      names (same datasource only: PostgreSQL cannot show a CREATE TABLE statement, so a
      datasource without a period table of its own needs ``script``); MySQL uses ``CREATE
      TABLE new LIKE old`` (or ``SHOW CREATE TABLE`` from another datasource) and renames
      the copied indexes.

    Index names of a copy follow :func:`clone_index_name`. On SQLite and PostgreSQL each
    period table is created in one transaction. Raises :class:`DdlError` when a table has
    missing periods and neither a script statement nor any period table to copy (before
    anything is created), or at the first failure.
    """
    periods = plan_periods(cluster, script)
    total = sum(len(p) for p in periods.values())
    runner = _Runner(cluster, progress, total=total)
    with runner:
        work = runner.plan_copies(periods, script_given=script is not None)
        for number, (name, items) in enumerate(periods.items(), start=1):
            first, last = items[0], items[-1]
            runner.begin_statement(
                number, f"precreate {name} ({first.physical} .. {last.physical})"
            )
            for period in items:
                runner.create_period(period, work.get((name, period.period)))
            runner.end_statement()
    return runner.report()


_SCHEMA_EXISTS = {
    "postgres": "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s",
    "mysql": "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
}
# MySQL's "schema" is a database.
_CREATE_SCHEMA = {
    "postgres": "CREATE SCHEMA IF NOT EXISTS",
    "mysql": "CREATE DATABASE IF NOT EXISTS",
}


def ensure_schema(session: Session, datasource: str, dialect: str, schema: str) -> bool:
    """Create ``schema`` (MySQL: the database) on the primary of ``datasource`` through the
    admin ``session``, unless it exists; True when it was created. Idempotent, and safe
    against a concurrent creation (IF NOT EXISTS)."""
    if dialect not in _SCHEMA_EXISTS:
        raise ProgrammingError(
            f"{dialect} has no schemas: schema-isolated tenants need PostgreSQL or MySQL"
        )
    if session.execute_on(datasource, _SCHEMA_EXISTS[dialect], (schema,)).fetchall():
        return False
    created = f"{_CREATE_SCHEMA[dialect]} {quote_name(schema, dialect)}"
    session.execute_on(datasource, _pyformat(created))
    return True


def create_tenant_schema(cluster: ClusterView, tenant: Tenant) -> bool:
    """Create the schema of a schema-isolated tenant on its datasource's primary, unless it
    exists (``tenantdb tenants add``). True when it was created; False when it existed or
    the tenant is not schema-isolated. Its tables come from ``tenantdb ddl``."""
    if tenant.isolation != "schema" or not tenant.schema or not tenant.datasource:
        return False
    with admin_session(cluster) as session:
        return ensure_schema(session, tenant.datasource, cluster.topology.dialect, tenant.schema)


@dataclass(frozen=True, slots=True)
class _Copy:
    """A missing period table and what to make it from (``source`` None: the script)."""

    source: PlannedPeriod | None


class _Runner:
    """Runs physical statements one by one in one admin session (``execute_on``), which
    holds one primary connection per datasource from first use until the runner closes.
    """

    def __init__(
        self, cluster: ClusterView, progress: ProgressCallback | None, *, total: int
    ) -> None:
        self._cluster = cluster
        self._dialect = cluster.topology.dialect
        self._catalog: Catalog = catalog_for(self._dialect)
        self._progress = progress
        self._total = total
        self._done = 0
        self._session: Session | None = None
        self._finished: list[StatementReport] = []
        self._number = 0
        self._sql = ""
        self._steps: list[DdlStep] = []
        self._existing: dict[str, set[str]] = {}
        self._schemas: Mapping[str, Sequence[str]] | None = None

    def __enter__(self) -> _Runner:
        self._session = admin_session(self._cluster)
        return self

    def __exit__(self, *exc_info: object) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # -- bookkeeping ------------------------------------------------------------------

    def begin_statement(self, number: int, sql: str) -> None:
        self._number, self._sql, self._steps = number, sql, []

    def end_statement(self) -> None:
        self._finished.append(StatementReport(self._number, self._sql, tuple(self._steps)))
        self._steps = []

    def report(self) -> DdlReport:
        return DdlReport(tuple(self._finished))

    def _record(self, step: DdlStep) -> None:
        self._steps.append(step)
        self._done += 1
        if self._progress is not None:
            self._progress(DdlProgress(self._done, self._total, self._number, step))

    def _fail(self, step: DdlStep, exc: Error) -> DdlError:
        changed = self.report().steps("applied") + [
            s for s in self._steps if s.outcome == "applied"
        ]
        self._record(step)
        self.end_statement()
        where = f"{step.datasource} ({', '.join(step.tables)})" if step.tables else step.datasource
        message = f"statement {self._number} ({_headline(self._sql)}) failed on {where}: {exc}"
        if changed:
            listed = [f"{s.datasource}: {', '.join(s.tables)}" for s in changed[:_CHANGED_LISTED]]
            more = len(changed) - _CHANGED_LISTED
            message += (
                f". Already changed before the failure ({len(changed)}): "
                + "; ".join(listed)
                + (f"; and {more} more" if more > 0 else "")
                + ". Fix the cause and run again: finished work is skipped"
            )
        else:
            message += ". Nothing was changed before the failure"
        return DdlError(
            message,
            report=self.report(),
            datasource=step.datasource,
            role="primary",
            statement=exc.statement or step.sql,
            orig=exc.orig,
        )

    @property
    def session(self) -> Session:
        assert self._session is not None, "use the runner as a context manager"
        return self._session

    def _query(self, datasource: str) -> Query:
        return query_on(self.session, datasource)

    def _run(self, datasource: str, sql: str) -> None:
        """Run SQL as it reads (no placeholders: a % is a plain %) on ``datasource``."""
        self.session.execute_on(datasource, _pyformat(sql))

    # -- schema statements ------------------------------------------------------------

    def run_target(self, target: Target) -> None:
        text = target.sql if self._dialect == "sqlite" else target.sql.replace("%%", "%")
        tables = tuple(target.tables.values())
        created = ""
        try:
            shape = describe_ddl(text, self._dialect)
            tables = tuple(_display(t) for t in shape.tables)
            datasource = target.datasource
            schema = shape.tables[0].schema if shape.tables else None
            if shape.kind == "create_table" and schema in self._tenant_schemas(datasource):
                assert schema is not None
                if ensure_schema(self.session, datasource, self._dialect, schema):
                    created = f"created schema {schema} first"
            reason = self._already_done(self._query(datasource), shape)
            if reason is None:
                self._run(datasource, text)
        except Error as exc:
            step = DdlStep(target.datasource, tables, text, "failed", str(exc))
            raise self._fail(step, exc) from exc
        outcome: StepOutcome = "applied" if reason is None else "skipped"
        self._record(DdlStep(target.datasource, tables, text, outcome, reason or created))

    def _tenant_schemas(self, datasource: str) -> tuple[str, ...]:
        """Schemas of the schema-isolated tenants placed on ``datasource``: a CREATE TABLE
        there creates its schema first (nothing else does)."""
        if self._dialect == "sqlite":
            return ()
        if self._schemas is None:
            self._schemas = self._cluster.tenants.schema_layout()
        return tuple(self._schemas.get(datasource, ()))

    def _already_done(self, query: Query, shape: DdlShape) -> str | None:
        """Why the statement has nothing left to do, or None to run it.

        Raises ProgrammingError for a statement that is only partly done.
        """
        catalog = self._catalog
        if shape.kind == "create_table":
            return "table exists" if catalog.table_exists(query, shape.tables[0]) else None
        if shape.kind == "create_index":
            assert shape.index is not None
            exists = catalog.index_exists(query, shape.index, shape.tables[0])
            return "index exists" if exists else None
        if shape.kind == "drop_table":
            missing = [t for t in shape.tables if not catalog.table_exists(query, t)]
            if len(missing) == len(shape.tables):
                return "table does not exist" if len(missing) == 1 else "tables do not exist"
            if missing and not shape.guarded:
                raise ProgrammingError(
                    f"DROP TABLE names {', '.join(_display(t) for t in shape.tables)} and "
                    f"{', '.join(_display(t) for t in missing)} is already gone; write one "
                    "DROP TABLE per table, or DROP TABLE IF EXISTS"
                )
            return None
        if shape.other_actions or not (shape.added_columns or shape.dropped_columns):
            return None
        columns = catalog.columns(query, shape.tables[0])
        done = [c for c in shape.added_columns if catalog.same_name(c.name) in columns]
        done += [c for c in shape.dropped_columns if catalog.same_name(c.name) not in columns]
        if len(done) == len(shape.added_columns) + len(shape.dropped_columns):
            if not columns:
                return None  # the table is missing: let the database say so
            return "columns already changed" if len(done) > 1 else "column already changed"
        unguarded = [c for c in done if not c.guarded]
        if unguarded:
            exist = [c.name for c in unguarded if c in shape.added_columns]
            gone = [c.name for c in unguarded if c not in shape.added_columns]
            what = "; ".join(
                part
                for part in (
                    f"column {', '.join(exist)} already exists" if exist else "",
                    f"column {', '.join(gone)} is already dropped" if gone else "",
                )
                if part
            )
            raise ProgrammingError(
                f"ALTER TABLE {_display(shape.tables[0])} is partly done already ({what}); "
                "write one ALTER TABLE per column, or add IF [NOT] EXISTS to each action"
            )
        return None

    # -- period tables ----------------------------------------------------------------

    def plan_copies(
        self, periods: dict[str, list[PlannedPeriod]], *, script_given: bool
    ) -> dict[tuple[str, int], _Copy]:
        """Find the missing period tables and what each is made from (catalog reads only).

        Raises DdlError (nothing changed yet) when a missing table cannot be made.
        """
        work: dict[tuple[str, int], _Copy] = {}
        for name, items in periods.items():
            present = [p for p in items if self._exists(p)]
            for period in items:
                if self._exists(period):
                    continue
                if period.scripted:
                    work[(name, period.period)] = _Copy(None)
                else:
                    source = self._copy_source(period, present, items, script_given)
                    work[(name, period.period)] = _Copy(source)
        return work

    def _exists(self, period: PlannedPeriod) -> bool:
        names = self._existing.get(period.datasource)
        if names is None:
            try:
                names = self._catalog.table_names(self._query(period.datasource))
            except Error as exc:
                raise DdlError(
                    f"cannot list the tables of {period.datasource}: {exc}. Nothing was changed",
                    datasource=period.datasource,
                    role="primary",
                    orig=exc.orig,
                ) from exc
            self._existing[period.datasource] = names
        return self._catalog.same_name(period.physical) in names

    def _copy_source(
        self,
        period: PlannedPeriod,
        present: Sequence[PlannedPeriod],
        items: Sequence[PlannedPeriod],
        script_given: bool,
    ) -> PlannedPeriod:
        name = period.table
        if not present:
            if script_given:
                why = f"the schema file has no CREATE TABLE {name}"
                hint = f"add CREATE TABLE {name} (...) to the schema file"
            else:
                why = "no schema file was given"
                hint = (
                    "pass the schema file that creates it (tenantdb ddl --config FILE "
                    "--precreate SCHEMA.sql, or precreate(cluster, script=...))"
                )
            raise DdlError(
                f"cannot create {period.physical}: the time_range table {name} has no period "
                f"table to copy (none of {items[0].physical} .. {items[-1].physical} exists) "
                f"and {why}; {hint}. Nothing was changed",
                datasource=period.datasource,
            )
        local = [p for p in present if p.datasource == period.datasource]
        source = local[-1] if local else present[-1]
        if self._dialect == "postgres" and source.datasource != period.datasource:
            raise DdlError(
                f"cannot create {period.physical} on {period.datasource}: no period table of "
                f"{name} exists there to copy, and PostgreSQL cannot show a table's CREATE "
                f"statement to copy it from {source.datasource}; pass the schema file "
                "(tenantdb ddl --config FILE --precreate SCHEMA.sql, or "
                "precreate(cluster, script=...)). Nothing was changed",
                datasource=period.datasource,
            )
        return source

    def create_period(self, period: PlannedPeriod, copy: _Copy | None) -> None:
        if copy is None:
            self._record(
                DdlStep(period.datasource, (period.physical,), "", "skipped", "table exists")
            )
            return
        try:
            if copy.source is None:
                sql = self._create_from_script(period)
                detail = "created from the schema file"
            else:
                sql = self._create_copy(copy.source, period)
                detail = f"copied from {copy.source.physical} on {copy.source.datasource}"
        except Error as exc:
            step = DdlStep(period.datasource, (period.physical,), "", "failed", str(exc))
            raise self._fail(step, exc) from exc
        self._record(
            DdlStep(period.datasource, (period.physical,), "; ".join(sql), "applied", detail)
        )

    def _create_from_script(self, period: PlannedPeriod) -> list[str]:
        query = self._query(period.datasource)
        ran: list[str] = []
        with self._transaction():
            for target in period.statements:
                text = target.sql if self._dialect == "sqlite" else target.sql.replace("%%", "%")
                if self._already_done(query, describe_ddl(text, self._dialect)) is None:
                    self._run(period.datasource, text)
                    ran.append(text)
        return ran

    def _create_copy(self, source: PlannedPeriod, period: PlannedPeriod) -> list[str]:
        """Create ``period``'s table like ``source``'s; return the statements that ran."""
        target = self._query(period.datasource)
        origin = self._query(source.datasource)
        ran: list[str] = []

        def run(statement: str) -> None:
            self._run(period.datasource, statement)
            ran.append(statement)

        if self._dialect == "sqlite":
            # Read the source before the transaction: only the new table's database joins it.
            statements = self._sqlite_copy(origin, source.physical, period)
            with self._transaction():
                for statement in statements:
                    run(statement)
        elif self._dialect == "postgres":
            with self._transaction():
                self._copy_postgres(target, source.physical, period, run)
        else:
            self._copy_mysql(origin, target, source, period, run)
        return ran

    def _renamer(self, old: str, period: PlannedPeriod) -> Callable[[str], str]:
        def rename(name: str) -> str:
            return clone_index_name(
                name,
                source=old,
                target=period.physical,
                logical=period.table,
                # MySQL index names are per table: names it generated itself stay as they are.
                keep_unrelated=self._dialect == "mysql",
            )

        return rename

    def _sqlite_copy(self, origin: Query, old: str, period: PlannedPeriod) -> list[str]:
        """The statements that make ``period``'s table and indexes like table ``old``'s."""
        new, rename = period.physical, self._renamer(old, period)
        statements = [
            rename_created(self._catalog.table_definition(origin, old), "sqlite", table=new)
        ]
        for index in self._catalog.indexes(origin, old):
            assert index.sql is not None
            statements.append(
                rename_created(index.sql, "sqlite", table=new, index=rename(index.name))
            )
        return statements

    def _copy_postgres(
        self, query: Query, old: str, period: PlannedPeriod, run: Callable[[str], None]
    ) -> None:
        new, rename = period.physical, self._renamer(old, period)
        table = quote_name(new, "postgres")
        # Indexes are re-created below under their new names; LIKE would invent its own.
        like = quote_name(old, "postgres")
        run(f"CREATE TABLE {table} (LIKE {like} INCLUDING ALL EXCLUDING INDEXES)")
        for index in self._catalog.indexes(query, old):
            if index.constraint is not None:
                run(
                    f"ALTER TABLE {table} ADD CONSTRAINT "
                    f"{quote_name(rename(index.name), 'postgres')} {index.constraint}"
                )
            else:
                assert index.sql is not None
                run(rename_created(index.sql, "postgres", table=new, index=rename(index.name)))
        for name in self._catalog.check_constraints(query, new):
            if name.startswith(old) and rename(name) != name:
                run(
                    f"ALTER TABLE {table} RENAME CONSTRAINT {quote_name(name, 'postgres')} "
                    f"TO {quote_name(rename(name), 'postgres')}"
                )

    def _copy_mysql(
        self,
        origin: Query,
        query: Query,
        source: PlannedPeriod,
        period: PlannedPeriod,
        run: Callable[[str], None],
    ) -> None:
        old, new = source.physical, period.physical
        rename = self._renamer(old, period)
        if source.datasource == period.datasource:
            run(f"CREATE TABLE {quote_name(new, 'mysql')} LIKE {quote_name(old, 'mysql')}")
        else:
            definition = self._catalog.table_definition(origin, old)
            run(rename_created(definition, "mysql", table=new))
        renames = [
            f"RENAME INDEX {quote_name(index.name, 'mysql')} TO "
            f"{quote_name(rename(index.name), 'mysql')}"
            for index in self._catalog.indexes(query, new)
            if rename(index.name) != index.name
        ]
        if renames:
            run(f"ALTER TABLE {quote_name(new, 'mysql')} " + ", ".join(renames))

    def _transaction(self) -> AbstractContextManager[object]:
        """The session's transaction where DDL is transactional (SQLite, PostgreSQL): the
        statements inside are all or nothing. MySQL commits every DDL statement on its own."""
        return nullcontext() if self._dialect == "mysql" else self.session.transaction()


def _pyformat(sql: str) -> str:
    """SQL with no placeholders, as ``execute_on`` takes it: every ``%`` is a literal."""
    return sql.replace("%", "%%")


def _display(name: ObjectName) -> str:
    return f"{name.schema}.{name.name}" if name.schema else name.name


def _headline(sql: str) -> str:
    line = " ".join(sql.split())
    return line if len(line) <= 70 else line[:67] + "..."


__all__ = [
    "DdlError",
    "DdlProgress",
    "DdlReport",
    "DdlStep",
    "PlannedPeriod",
    "PlannedStatement",
    "ProgressCallback",
    "StatementReport",
    "apply_schema",
    "clone_index_name",
    "plan_periods",
    "plan_schema",
    "precreate",
]
