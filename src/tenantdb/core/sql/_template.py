"""Statement templates: one parse per distinct SQL text, cached, immutable afterwards.

A template is everything tenantdb needs to know about a statement before it knows the
parameters or the cluster layout: its kind, the logical tables it names (each reference
with the name its columns use for it), the predicates of each query scope, the column
equalities that tie tables together, the INSERT rows and UPDATE assignments, and the
statement rendered once with markers where table names and parameters go.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token

from ...errors import ProgrammingError, SQLSyntaxError, UnsupportedSQLError
from ._confine import Written, confine, session_variables
from ._dialect_rules import check_dialect
from ._dialects import sqlglot_dialect
from ._functions import may_write
from ._placeholders import MARKER_PREFIX, scan
from ._predicates import (
    ColumnName,
    Const,
    Predicate,
    ValueRef,
    all_of,
    column_name,
    conjuncts,
    extract,
    identifier_name,
    value_ref,
)
from ._quiet import install as _quiet_sqlglot
from ._quiet import quiet
from ._render import Rendered, SlotKind, check_round_trip, render_tree, splice_text

_quiet_sqlglot()  # sqlglot's warnings about our own parses only; see _quiet.py

StatementKind = Literal["select", "insert", "update", "delete", "ddl"]
JoinKind = Literal["from", "inner", "outer", "target"]
Dialect = Literal["postgres", "mysql", "sqlite"]

_DDL_KINDS: dict[type[exp.Expr], frozenset[str]] = {
    exp.Create: frozenset({"TABLE", "INDEX"}),
    exp.Drop: frozenset({"TABLE", "INDEX"}),  # DROP INDEX is refused with its own reason
    exp.Alter: frozenset({"TABLE"}),
}


@dataclass(frozen=True, slots=True)
class TableRef:
    """One place where the statement names a table (not a CTE, not a derived table)."""

    index: int
    table: str
    """Logical name, lowercased unless it was quoted."""
    written: str
    """The name exactly as written, rendered back for tables tenantdb does not manage."""
    quoted: bool
    schema: str | None
    """Schema written before the name (``s.orders``), normalised the same way."""
    qualifier: str
    """The name columns use for this reference: its alias, else its table name."""
    scope: int
    joined: JoinKind
    aliased: bool
    schema_written: str | None = None
    """The schema exactly as written, rendered back (like ``written``) for tables tenantdb
    does not manage."""
    schema_quoted: bool = False


def _refuse_catalog(node: exp.Table, name: str) -> None:
    """A three-part name (``db.schema.table``) names a database beside the datasource's
    own: tenantdb renders two parts, so it refuses the third rather than drop it."""
    if node.args.get("catalog") is not None:
        raise UnsupportedSQLError(
            f"table {name!r} is named with a database and a schema (three parts); name it"
            " as schema.table: the datasource's URL names the database"
        )


@dataclass(frozen=True, slots=True)
class Semijoin:
    """``outer IN (SELECT inner FROM ...)`` in a conjunctive position."""

    outer: ColumnName
    subquery_scope: int
    inner: ColumnName | None


Relation = tuple[Literal["table", "source"], int]
"""A relation a scope reads: ("table", reference index) or ("source", position in
``Scope.sources``)."""

SetCombine = Literal["select", "union all", "union", "other"]
"""How a derived table or CTE body makes its rows: one SELECT, UNION ALL of its branches,
UNION (deduplicated), or another set operation (INTERSECT, EXCEPT, a mix)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A relation a scope reads that is not a table: a derived table (a subquery in FROM or
    JOIN, LATERAL included) or a reference to a CTE."""

    qualifier: str
    """Its alias, or the CTE's name; empty for a derived table without an alias."""
    branches: tuple[int, ...]
    """The scopes whose rows it returns: its SELECT, or each branch of its set operation."""
    combine: SetCombine
    columns: tuple[tuple[str, ColumnName], ...]
    """Output column name → the bare column of its SELECT it is (``SELECT l.k AS key``):
    only for a single SELECT without ``*``; names used twice are left out."""
    joined: JoinKind
    recursive: bool = False
    """A reference to a CTE of WITH RECURSIVE that reads itself: its rows are not one
    evaluation of its branches."""
    required: bool = False
    """Every row of the scope has a row of it (read from or inner-joined, and no later
    RIGHT or FULL join keeps rows without one)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """A SELECT, UPDATE, DELETE or INSERT level of the statement."""

    index: int
    parent: int | None
    predicate: Predicate
    """WHERE and inner-join ON conditions: constraints every row of this scope satisfies."""
    equalities: tuple[tuple[ColumnName, ColumnName], ...]
    """``a.x = b.y`` in conjunctive positions of WHERE or any ON."""
    using: tuple[tuple[int, tuple[str, ...]], ...]
    """``JOIN t USING (cols)``: (reference index of t, columns)."""
    semijoins: tuple[Semijoin, ...]
    refs: tuple[int, ...]
    reduces: bool = False
    """Aggregates, GROUP BY, DISTINCT, LIMIT or window functions at this level: rows
    computed here depend on seeing every row, so this level cannot be split across shards
    unless it is tied to one key."""
    group_by: tuple[ColumnName, ...] = ()
    sources: tuple[Source, ...] = ()
    """Derived tables and CTE references this level reads (its tables are ``refs``)."""
    source_using: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``JOIN <derived or CTE> USING (cols)``: (its qualifier, columns)."""
    body: Literal["derived", "cte"] | None = None
    """Set when this level makes the rows of a derived table or of a CTE (a branch of it,
    for a set operation); None for the statement and subqueries in expressions."""
    outputs: tuple[ColumnName | None, ...] | None = None
    """A SELECT's output columns, each the bare column it is (None: an expression);
    None when it selects ``*`` or is not a SELECT."""
    preserving: bool = False
    """A RIGHT or FULL join keeps rows of other relations without a match: the ON
    conditions of inner joins do not hold for every row."""
    required: tuple[tuple[Relation, ...], ...] = ()
    """Which relations the rows of this scope come from: every row has a row of at least
    one relation of each tuple. A table read from or inner-joined (or the target of a
    write) is a tuple of its own until a RIGHT JOIN makes it optional; a FULL JOIN adds its
    table to every tuple before it. Tuples with a relation tenantdb cannot see (VALUES, a
    table function) are left out."""


@dataclass(frozen=True, slots=True)
class InsertShape:
    columns: tuple[str, ...] | None
    """Target column names, ``None`` when the statement lists none."""
    rows: tuple[tuple[ValueRef | None, ...], ...]
    """VALUES rows; ``None`` marks an expression that is not a plain value."""
    row_renders: tuple[Rendered, ...]
    from_query: bool
    upsert_sets: tuple[ColumnName, ...]
    """Columns an ON CONFLICT / ON DUPLICATE KEY clause assigns."""


@dataclass(frozen=True, slots=True, eq=False)
class Template:
    """A parsed statement; immutable and shared between threads."""

    dialect: Dialect
    sql: str
    kind: StatementKind
    statement: exp.Expr = field(repr=False)
    """The parsed tree with ``:tdbp<n>`` placeholders. Never mutate it; copy first."""
    param_names: tuple[str | None, ...]
    refs: tuple[TableRef, ...]
    scopes: tuple[Scope, ...]
    root_scopes: tuple[int, ...]
    """Scopes whose rows form the result: the statement itself, or each UNION branch."""
    set_operation: bool
    distinct_union: bool
    locking: bool
    assignments: tuple[tuple[ColumnName, ValueRef | None], ...]
    insert: InsertShape | None
    rendered: Rendered = field(repr=False)
    marked: exp.Expr = field(repr=False)
    """The tree with table and qualifier markers in place; the source of merge variants."""
    ddl_kind: str | None = None
    ddl_names: tuple[str, ...] = ()
    """Names unique per schema that DDL creates or drops beside the table: the index of
    CREATE INDEX and named constraints. Slot ``("index", i)`` is ``ddl_names[i]``; each
    physical table gets its own suffixed copy."""
    programs: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)
    """Router-owned cache of topology-specific compilations (see routing)."""
    views: dict[object, Template] = field(default_factory=dict, repr=False, compare=False)
    """The confined templates built from this one (``confined_template``), by their
    arguments: tenant sessions of every isolation that confine the same references share
    one, and a topology reload that keeps them keeps it."""
    tenant_values: tuple[ValueRef, ...] = ()
    """For a confined template: the values the statement itself writes into the tenant
    column; each must be the session's tenant (checked when parameters are bound)."""
    tenant_fills: frozenset[int] = frozenset()
    """Placeholders of ``tenant_values`` whose ``None`` means the session's tenant."""
    tenant_slots: frozenset[int] = frozenset()
    """Placeholders that stand for the tenant column (``tenant_fills`` and those compared
    with it): a named parameter filled in takes the tenant's id only if each of its uses
    is one of these (see ``_confine.Written``)."""
    opaque_calls: bool = False
    """Calls a function that may write (``nextval``, a user function; see ``_functions``),
    so such a read never goes to a replica."""
    combine: SetCombine = "select"
    """How the statement's result branches (``root_scopes``) combine."""
    server_variables: bool = False
    """Reads or writes server variables (``@@x``, ``@x := ...``): found once here, since
    deciding whether a statement may leave state on its connection asks on every run."""

    @property
    def param_count(self) -> int:
        return len(self.param_names)

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(ref.table for ref in self.refs)

    @property
    def is_write(self) -> bool:
        return self.kind in ("insert", "update", "delete", "ddl")


class TemplateCache:
    """A bounded, thread-safe LRU of templates keyed by (dialect, SQL text)."""

    def __init__(self, max_size: int = 4096) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self._items: OrderedDict[tuple[str, str], Template] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, sql: str, dialect: Dialect) -> Template:
        """Return the template for ``sql``, parsing it on first use."""
        key = (dialect, sql)
        # A dict read is atomic; the lock only guards reordering and eviction.
        template = self._items.get(key)
        if template is not None:
            self.hits += 1
            # move_to_end is atomic under the GIL; the key may have just been evicted.
            # (contextlib.suppress would double the cost of a cache hit.)
            try:  # noqa: SIM105
                self._items.move_to_end(key)
            except KeyError:
                pass
            return template
        self.misses += 1
        template = parse_template(sql, dialect)
        with self._lock:
            self._items[key] = template
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
        return template

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return (
            f"<TemplateCache [{len(self._items)}/{self.max_size} | "
            f"hits={self.hits} misses={self.misses}]>"
        )


def parse_template(sql: str, dialect: Dialect) -> Template:
    """Parse one SQL statement into a template.

    Raises SQLSyntaxError (a ProgrammingError) for text that does not parse,
    UnsupportedSQLError for a statement tenantdb refuses (several in one string, a kind or
    shape it does not run) and ProgrammingError for malformed placeholders.
    """
    if not isinstance(sql, str):
        raise ProgrammingError(f"SQL must be a str, not {type(sql).__name__}")
    scanned = scan(sql, dialect)
    statement, tokens = _parse_one(scanned.text, dialect, scanned.names)
    check_dialect(scanned.text, dialect, tokens)  # refuse what the database would reject
    kind, ddl_kind = _classify(statement)
    _refuse_misread(statement, dialect)
    _string_targets_as_columns(statement, dialect)
    _check_placeholders(statement, scanned.count)
    return _Analyzer(statement, dialect, sql, kind, ddl_kind, scanned.names, scanned.text).build()


def confined_template(
    template: Template,
    refs: frozenset[int],
    column: str,
    fill_only: frozenset[int] = frozenset(),
) -> Template:
    """The template as a tenant session runs it: ``refs`` (indexes of tenant-scoped table
    references) see only one tenant's rows, and INSERTs into them carry the tenant.
    References in ``fill_only`` (a subset of ``refs``: tables the tenant has to itself)
    get no condition; an INSERT into one still carries the tenant.

    The tenant id is one more placeholder, index ``template.param_count``: bind the
    statement's own values, then append the tenant id. Raises UnsupportedSQLError or
    TenantIsolationError for shapes that cannot be confined exactly. The result is
    immutable and cached on ``template`` (a pure function of its arguments).
    """
    key = (refs, column, fill_only)
    views = template.views
    view = views.get(key)
    if view is None:
        analyzer = _Analyzer(
            template.statement,
            template.dialect,
            template.sql,
            template.kind,
            template.ddl_kind,
            (*template.param_names, None),
            template.sql,
        )
        analyzer.spans = None  # the tree changes shape: generate the text from it
        view = analyzer.build(confinement=key)
        if len(views) >= 8:
            views.clear()
        views[key] = view
    return view


def _parse_one(
    text: str, dialect: str, names: tuple[str | None, ...] = ()
) -> tuple[exp.Expr, list[Token]]:
    """The one statement of ``text``, and its tokens (tokenized once, for later checks)."""
    if not text.strip():
        raise SQLSyntaxError("empty statement; pass one SQL statement")
    try:
        with quiet():
            # What sqlglot.parse does, keeping the tokens.
            reader = sqlglot_dialect(dialect)
            tokens = reader.tokenize(text)
            parsed = reader.parser().parse(tokens, text)
            statements = [s for s in parsed if s is not None]
    except (ParseError, TokenError) as exc:
        where = _where_parsing_stops(exc, text, names)
        raise SQLSyntaxError(
            f"cannot parse the statement as {dialect} SQL: {where}; "
            f"check the syntax, or the cluster's dialect if this SQL is for another database"
        ) from None
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):
        # sqlglot's parser can trip over its own assumptions on malformed text (e.g. a
        # JSONB operator with nothing after it); that is still a statement it cannot read.
        raise SQLSyntaxError(
            f"cannot parse the statement as {dialect} SQL: the parser gave up on it; "
            "check the syntax, or the cluster's dialect if this SQL is for another database"
        ) from None
    if len(statements) != 1:
        raise UnsupportedSQLError(
            f"{len(statements)} statements in one string; send one statement per execute()"
        )
    return statements[0], tokens


_MARKER_RE = re.compile(rf":{MARKER_PREFIX}(\d+) ?")  # scan() writes a space after each
_EXPECTED_RE = re.compile(r"^Expect(?:ed|ing) ([^<]+?)(?: but got .*)?\.?$", re.DOTALL)


def _where_parsing_stops(
    exc: ParseError | TokenError, text: str, names: tuple[str | None, ...]
) -> str:
    """Where and why the parse stopped, in the user's own text (placeholders as written);
    sqlglot's messages name its internal classes."""

    def unmark(part: str) -> str:
        def back(m: re.Match[str]) -> str:
            n = int(m.group(1))
            name = names[n] if n < len(names) else None
            return "%s" if name is None else f"%({name})s"

        return _MARKER_RE.sub(back, part)

    def near(part: str) -> str:
        return " ".join(unmark(part).split())

    if isinstance(exc, TokenError):
        # sqlglot quotes the text read so far; its end is where reading failed.
        context = str(exc).partition("'")[2].rpartition("'")[0] or text
        return f"it cannot be read after {near(context)[-40:]!r} (an unclosed quote or comment?)"
    if not exc.errors:
        return "syntax error"
    error = exc.errors[0]
    description = str(error.get("description") or "")
    if description.startswith("Required keyword"):
        why = "an expression is incomplete"
    elif description.startswith("Invalid expression") or description.startswith("Unexpected"):
        why = "unexpected text"
    elif (m := _EXPECTED_RE.match(description)) is not None:
        wanted = m.group(1).strip()
        why = f"expected {wanted if wanted.replace(' ', '').isalnum() else repr(wanted)}"
    else:
        why = "syntax error"
    highlight = str(error.get("highlight") or "")
    before = str(error.get("start_context") or "")
    after = str(error.get("end_context") or "")
    line = int(error.get("line") or 1)
    lines = text.split("\n")
    column = int(error.get("col") or 1) - len(highlight)  # sqlglot's col is the token's end
    prefix = lines[line - 1][: max(column, 0)] if 0 < line <= len(lines) else ""
    lead = near(before)
    if len(lead) > 30:  # keep whole words
        lead = "..." + lead[-30:].partition(" ")[2]
    context = " ".join(p for p in (lead, near(highlight), near(after)[:20]) if p)
    return (
        f"{why} at line {line}, column {len(unmark(prefix)) + 1}, at {near(highlight)!r} "
        f"(near {context!r})"
    )


def _written_value(node: exp.Expr) -> ValueRef | None:
    """The value an INSERT row or an UPDATE assignment writes: a placeholder, a literal, or
    NULL (``Const(None)``, so a NULL sharding key is refused as NULL, not as an
    expression); None for anything else."""
    inner = node.this if isinstance(node, exp.Paren) else node
    if isinstance(inner, exp.Null):
        return Const(None)
    return value_ref(node)


# What sqlglot returns for text that is an expression, not a statement.
_EXPRESSIONS = (exp.Condition, exp.Alias, exp.Tuple, exp.Star, exp.Identifier, exp.Paren)


def _classify(statement: exp.Expr) -> tuple[StatementKind, str | None]:
    writes = statement.find_all(exp.Insert, exp.Update, exp.Delete)
    if any(node is not statement for node in writes):
        # A write nested in another statement (a writing CTE) would be routed, confined and
        # checked as the outer statement: a read sent to a replica, a tenant column set
        # where no check looks.
        raise UnsupportedSQLError(
            "INSERT, UPDATE or DELETE inside another statement (a WITH clause that writes) is "
            "not supported; run each write as its own statement (with RETURNING if needed), "
            "in one transaction when they belong together"
        )
    if isinstance(statement, exp.Select | exp.SetOperation):
        for select in statement.find_all(exp.Select):
            if select.args.get("into"):
                raise UnsupportedSQLError(
                    "SELECT ... INTO is not supported; use INSERT ... SELECT or CREATE TABLE"
                )
        return "select", None
    if isinstance(statement, exp.Insert):
        return "insert", None
    if isinstance(statement, exp.Update):
        return "update", None
    if isinstance(statement, exp.Delete):
        return "delete", None
    for cls, kinds in _DDL_KINDS.items():
        if isinstance(statement, cls):
            kind = str(statement.args.get("kind") or "").upper()
            if kind in kinds:
                return "ddl", f"{cls.__name__.upper()} {kind}"
            raise UnsupportedSQLError(
                f"{cls.__name__.upper()} {kind or '?'} is not supported; DDL may create, alter "
                "or drop tables and create or drop indexes"
            )
    if isinstance(statement, _EXPRESSIONS):
        # sqlglot reads text that starts with no statement keyword ("hello world") as a
        # bare expression; every database calls that a syntax error, and so does tenantdb.
        raise SQLSyntaxError(
            "this text is not a SQL statement (it reads as a bare expression); check the "
            "syntax: a statement starts with SELECT, INSERT, UPDATE, DELETE, CREATE, ..."
        )
    if isinstance(statement, exp.Command | exp.Set | exp.Show | exp.Copy | exp.Grant):
        what = f"{str(statement.this or type(statement).__name__).split()[0].upper()} statements"
    else:
        what = "this text is not a SELECT, INSERT, UPDATE, DELETE or DDL statement, and it"
    raise UnsupportedSQLError(
        f"{what} are not supported; tenantdb runs SELECT, INSERT, UPDATE, DELETE, and DDL "
        "in admin sessions"
        if what.endswith("statements")
        else f"{what} is not supported; check the SQL"
    )


def _refuse_misread(statement: exp.Expr, dialect: str) -> None:
    """Refuse spellings sqlglot reads as something else than the database does."""
    if dialect != "postgres":
        return
    for node in statement.find_all(exp.BitwiseAnd):
        left, right = node.this, node.expression
        if (
            isinstance(left, exp.Column)
            and not left.table
            and isinstance(left.this, exp.Identifier)
            and not left.this.quoted
            and str(left.this.this).lower() == "u"
            and isinstance(right, exp.Column)
            and isinstance(right.this, exp.Identifier)
            and right.this.quoted
        ):
            # PostgreSQL reads U&"..." as one identifier with Unicode escapes; sqlglot
            # reads a bitwise AND of two columns.
            raise UnsupportedSQLError(
                'Unicode-escaped identifiers (U&"...") are not supported; write the name '
                'plainly or in double quotes ("name")'
            )


def _string_targets_as_columns(statement: exp.Expr, dialect: str) -> None:
    """A quoted string where only a column name fits (SET targets, INSERT column lists) is
    that column to SQLite (``SET 'tenant_id' = ...``); make it one, so every check sees it.
    The other backends reject the spelling, and so does tenantdb."""
    targets: list[exp.Expr] = []
    for node in statement.find_all(exp.Update, exp.OnConflict):
        for assignment in node.expressions or []:
            if isinstance(assignment, exp.EQ):
                target = assignment.this
                targets.extend(target.expressions if isinstance(target, exp.Tuple) else [target])
    for schema in statement.find_all(exp.Schema):
        if isinstance(schema.parent, exp.Insert):
            targets.extend(schema.expressions)
    for target in targets:
        if not (isinstance(target, exp.Literal) and target.is_string):
            continue
        if dialect != "sqlite":
            raise UnsupportedSQLError(
                f"'{target.this}' is a string where a column name belongs; write the column "
                "name without quotes (or in the dialect's identifier quotes)"
            )
        name = exp.to_identifier(str(target.this), quoted=True)
        target.replace(exp.Column(this=name) if not isinstance(target.parent, exp.Schema) else name)


def _check_placeholders(statement: exp.Expr, expected: int) -> None:
    seen: set[int] = set()
    for node in statement.find_all(exp.Placeholder, exp.Parameter):
        name = str(node.this or "") if isinstance(node, exp.Placeholder) else ""
        if not name.startswith(MARKER_PREFIX):
            raise UnsupportedSQLError(
                "unsupported placeholder style (?, :name, $1, @name); "
                "write %s or %(name)s placeholders"
            )
        seen.add(int(name[len(MARKER_PREFIX) :]))
    if len(seen) != expected:
        # The parser dropped or invented a placeholder: the text did not mean what it said.
        raise UnsupportedSQLError(
            f"the statement has {expected} placeholders but only {len(seen)} could be placed; "
            "check the syntax around the placeholders"
        )


_SCOPE_TYPES = (exp.Select, exp.Update, exp.Delete, exp.Insert)


def _reduces(node: exp.Expr) -> bool:
    """Whether a scope computes rows from many rows (aggregate, DISTINCT, LIMIT, window)."""
    if any(node.args.get(arg) for arg in ("group", "having", "distinct", "limit", "offset")):
        return True
    if not isinstance(node, exp.Select):
        return False
    for item in node.expressions:
        for found in item.find_all(exp.AggFunc, exp.Window):
            if _enclosing_select(found) is node:
                return True
    return False


def _using_names(delete: exp.Delete) -> set[str]:
    """Aliases and names of the tables in a DELETE's USING clause (joins included)."""
    names: set[str] = set()
    for using in delete.args.get("using") or []:
        for table in using.find_all(exp.Table):
            alias = table.args.get("alias")
            if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier):
                names.add(identifier_name(alias.this))
            elif isinstance(table.this, exp.Identifier):
                names.add(identifier_name(table.this))
    return names


def _cte_name(cte: exp.Expr) -> str:
    return identifier_name(cte.args["alias"].this)


def _is_dml_target(node: exp.Table, statement: exp.Expr) -> bool:
    """Whether ``node`` is the table ``statement`` (INSERT/UPDATE/DELETE) writes into."""
    if not isinstance(statement, exp.Insert | exp.Update | exp.Delete):
        return False
    target = statement.this
    if isinstance(target, exp.Schema):
        target = target.this
    return target is node


def _body_kind(node: exp.Expr) -> Literal["derived", "cte"] | None:
    """Whether ``node`` (a scope) makes the rows of a derived table or a CTE."""
    current = node.parent
    while isinstance(current, exp.SetOperation | exp.Subquery):
        if isinstance(current, exp.Subquery) and isinstance(
            current.parent, exp.From | exp.Join | exp.Lateral
        ):
            return "derived"
        current = current.parent
    if isinstance(current, exp.CTE):
        return "cte"
    if isinstance(current, exp.Lateral):
        return "derived"
    return None


def _outputs(node: exp.Expr) -> tuple[ColumnName | None, ...] | None:
    """The output columns of a SELECT as the bare columns they are (None: an expression);
    None for ``SELECT *`` (positions unknown) and for other statements."""
    if not isinstance(node, exp.Select):
        return None
    outputs: list[ColumnName | None] = []
    for item in node.expressions:
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(item, exp.Star) or (
            isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star)
        ):
            return None
        outputs.append(column_name(inner) if isinstance(inner, exp.Column) else None)
    return tuple(outputs)


def _column_map(
    select: exp.Expr, renamed: list[exp.Expr] | None
) -> tuple[tuple[str, ColumnName], ...]:
    """Output name → the bare column it is, for the columns of ``select`` (renamed by a
    column list ``AS t(a, b)`` when given); names given twice are left out."""
    outputs = _outputs(select)
    if outputs is None or not isinstance(select, exp.Select):
        return ()
    if renamed:
        if len(renamed) != len(outputs):
            return ()
        names: list[str | None] = [
            identifier_name(n) if isinstance(n, exp.Identifier) else None for n in renamed
        ]
    else:
        names = []
        for item in select.expressions:
            if isinstance(item, exp.Alias) and isinstance(item.args.get("alias"), exp.Identifier):
                names.append(identifier_name(item.args["alias"]))
            elif isinstance(item, exp.Column) and isinstance(item.this, exp.Identifier):
                names.append(identifier_name(item.this))
            else:
                names.append(None)
    counts: dict[str, int] = {}
    for name in names:
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return tuple(
        (name, column)
        for name, column in zip(names, outputs, strict=True)
        if name is not None and column is not None and counts[name] == 1
    )


def _enclosing_select(node: exp.Expr) -> exp.Expr | None:
    current = node.parent
    while current is not None and not isinstance(current, _SCOPE_TYPES):
        current = current.parent
    return current


class _Analyzer:
    """Walks the tree once to find table references, scopes and predicates."""

    def __init__(
        self,
        statement: exp.Expr,
        dialect: Dialect,
        sql: str,
        kind: StatementKind,
        ddl_kind: str | None,
        names: tuple[str | None, ...],
        text: str,
    ) -> None:
        self.text = text
        self.spans: list[tuple[int, int, SlotKind, int]] | None = []
        self.tree = statement.copy()
        self.original = statement
        self.dialect = dialect
        self.sql = sql
        self.kind = kind
        self.ddl_kind = ddl_kind
        self.names = names
        self.scope_ids: dict[int, int] = {}
        self.scope_nodes: list[exp.Expr] = []
        self.scope_parents: list[int | None] = []
        self.refs: list[TableRef] = []
        self.ref_nodes: list[exp.Table] = []
        self._ref_ids: dict[int, int] = {}
        self._clauses: dict[int, list[list[exp.Expr]]] = {}
        self.ddl_names: list[str] = []

    # -- scopes and references ------------------------------------------------------

    def build(
        self, confinement: tuple[frozenset[int], str, frozenset[int]] | None = None
    ) -> Template:
        tree = self.tree
        for node in tree.walk():
            if isinstance(node, _SCOPE_TYPES):
                parent = self._enclosing_scope(node.parent)
                self.scope_ids[id(node)] = len(self.scope_nodes)
                self.scope_nodes.append(node)
                self.scope_parents.append(parent)
        if self.kind == "ddl":
            self._ddl_refs()
        else:
            self._dml_refs()
        written = Written()
        if confinement is not None:
            chosen, column, fill_only = confinement
            order = sorted(chosen)
            written = confine(
                tree,
                [self.ref_nodes[i] for i in order],
                [self.scope_nodes[self.refs[i].scope] for i in order],
                column,
                len(self.names) - 1,
                self.dialect,
                fill_only={position for position, i in enumerate(order) if i in fill_only},
            )
            self.original = tree.copy()
        scopes = tuple(self._scope(i) for i in range(len(self.scope_nodes)))
        assignments = self._assignments()
        insert = self._insert_shape() if isinstance(tree, exp.Insert) else None
        self._mark_qualifiers()
        for ref, node in zip(self.refs, self.ref_nodes, strict=True):
            self._span(node, "table", ref.index)
            node.set("this", exp.Identifier(this=f"__tdb_t{ref.index}__", quoted=False))
            node.set("db", None)
            node.set("catalog", None)
        # ``marked`` is kept as it is now, immutable: the INSERT rows are cut out of the
        # tree that is rendered, so that tree is a copy.
        rows = insert is not None and bool(insert.rows)
        marked = tree.copy() if rows else tree
        if rows:
            values = tree.args.get("expression")
            assert isinstance(values, exp.Values)
            values.set("expressions", [exp.Var(this="__tdb_rows__")])
        if self.spans is not None and insert is None:
            for match in re.finditer(rf":{MARKER_PREFIX}(\d+) ", self.text):
                self.spans.append((match.start(), match.end(), "param", int(match.group(1))))
            rendered = splice_text(self.text, self.spans, self.dialect)
        else:
            rendered = render_tree(tree, self.dialect, check_round_trip(tree, self.dialect))
        locking = any(
            isinstance(node, exp.Lock)
            for select in tree.find_all(exp.Select)
            for node in (select.args.get("locks") or [])
        )
        return Template(
            dialect=self.dialect,
            sql=self.sql,
            kind=self.kind,
            statement=self.original,
            param_names=self.names,
            refs=tuple(self.refs),
            scopes=scopes,
            root_scopes=self._root_scopes(),
            set_operation=isinstance(self.original, exp.SetOperation),
            combine=self._branches(tree)[1] if isinstance(tree, exp.SetOperation) else "select",
            distinct_union=bool(
                isinstance(self.original, exp.SetOperation) and self.original.args.get("distinct")
            ),
            locking=locking,
            assignments=assignments,
            insert=insert,
            rendered=rendered,
            marked=marked,
            ddl_kind=self.ddl_kind,
            ddl_names=tuple(self.ddl_names),
            tenant_values=written.values,
            tenant_fills=written.fills,
            tenant_slots=written.slots,
            opaque_calls=may_write(self.original),
            server_variables=session_variables(self.original),
        )

    def _span(self, node: exp.Expr, kind: SlotKind, index: int) -> None:
        """Record the text span of a table name (``catalog.db.name``) or column qualifier."""
        parts = [node.args.get("catalog"), node.args.get("db")]
        parts.append(node.args.get("table") if kind == "qualifier" else node.this)
        self._span_of([p for p in parts if p is not None], kind, index)

    def _span_of(self, parts: list[exp.Expr], kind: SlotKind, index: int) -> None:
        if self.spans is None:
            return
        metas = [p.meta for p in parts if isinstance(p, exp.Identifier)]
        if len(metas) != len(parts) or not all("start" in m and "end" in m for m in metas):
            self.spans = None  # positions unknown: fall back to regenerating the statement
            return
        start = min(int(m["start"]) for m in metas)
        end = max(int(m["end"]) for m in metas) + 1
        self.spans.append((start, end, kind, index))

    def _enclosing_scope(self, node: exp.Expr | None) -> int | None:
        while node is not None:
            if isinstance(node, _SCOPE_TYPES):
                return self.scope_ids.get(id(node))
            node = node.parent
        return None

    def _names_a_cte(self, node: exp.Table, name: str) -> bool:
        """Whether the backend resolves the unqualified ``node`` to a CTE named ``name``."""
        return self._cte_for(node, name) is not None

    def _cte_for(self, node: exp.Table, name: str) -> exp.CTE | None:
        """The CTE the backend resolves the unqualified ``node`` named ``name`` to, if any.

        A CTE is visible to its statement's main body and to the CTEs after it; to its own
        body only under WITH RECURSIVE; never to the target of INSERT/UPDATE/DELETE, which
        is always a real relation. Where backends could differ (forward references under
        RECURSIVE), the name counts as a real relation: it then meets every table check.
        The innermost definition wins.
        """
        child: exp.Expr = node
        current = node.parent
        while current is not None:
            if isinstance(current, exp.With) and isinstance(child, exp.CTE):
                ctes = list(current.expressions)
                position = next(i for i, cte in enumerate(ctes) if cte is child)
                visible = ctes[: position + 1] if current.args.get("recursive") else ctes[:position]
                named: list[exp.CTE] = [cte for cte in visible if _cte_name(cte) == name]
                if named:
                    return named[-1]
            else:
                with_ = current.args.get("with_") or current.args.get("with")
                if (
                    isinstance(with_, exp.With)
                    and child is not with_
                    and not _is_dml_target(node, current)
                ):
                    found: list[exp.CTE] = [
                        cte for cte in with_.expressions if _cte_name(cte) == name
                    ]
                    if found:
                        return found[0]
            child = current
            current = current.parent
        return None

    def _dml_refs(self) -> None:
        for node in list(self.tree.find_all(exp.Table)):
            ident = node.this
            if not isinstance(ident, exp.Identifier):
                continue  # table functions (generate_series(...), UNNEST) are not tables
            name = identifier_name(ident)
            if not name:
                continue
            db = node.args.get("db")
            schema = identifier_name(db) if isinstance(db, exp.Identifier) else None
            if schema is None and self._names_a_cte(node, name):
                continue
            _refuse_catalog(node, name)
            if isinstance(node.parent, exp.Into):
                raise UnsupportedSQLError("SELECT ... INTO is not supported")
            if isinstance(node.parent, exp.Delete) and any(
                t is node for t in node.parent.args.get("tables") or []
            ):
                continue  # MySQL ``DELETE o FROM orders o JOIN ...``: names a FROM table
            if (
                self.dialect == "mysql"
                and isinstance(node.parent, exp.Delete)
                and node.parent.this is node
                and name in _using_names(node.parent)
            ):
                continue  # MySQL ``DELETE FROM o USING orders o ...``: names a USING table

            scope = self._enclosing_scope(node)
            if scope is None:
                raise UnsupportedSQLError(f"table {name!r} appears where tenantdb cannot place it")
            alias = node.args.get("alias")
            alias_name = (
                identifier_name(alias.this)
                if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier)
                else None
            )
            self.refs.append(
                TableRef(
                    index=len(self.refs),
                    table=name,
                    written=str(ident.this),
                    quoted=bool(ident.quoted),
                    schema=schema,
                    qualifier=alias_name or name,
                    scope=scope,
                    joined=self._join_kind(node),
                    aliased=alias_name is not None,
                    schema_written=str(db.this) if isinstance(db, exp.Identifier) else None,
                    schema_quoted=isinstance(db, exp.Identifier) and bool(db.quoted),
                )
            )
            self.ref_nodes.append(node)

    def _ddl_refs(self) -> None:
        tree = self.tree
        targets = [tree.this.this if isinstance(tree.this, exp.Schema) else tree.this]
        if isinstance(tree, exp.Drop):
            targets = list(tree.args.get("tables") or [tree.this])
        if isinstance(tree, exp.Create) and self.ddl_kind == "CREATE INDEX":
            index = tree.this
            table = index.args.get("table") if isinstance(index, exp.Index) else None
            targets = [table]
            name = index.this if isinstance(index, exp.Index) else None
            if not isinstance(name, exp.Identifier):
                raise UnsupportedSQLError("CREATE INDEX needs an index name")
            self._ddl_name(index, name)
        elif isinstance(tree, exp.Drop) and self.ddl_kind == "DROP INDEX":
            raise UnsupportedSQLError(
                "DROP INDEX cannot be placed (it does not name its table); drop the index on "
                "each physical table from an admin tool, or drop and recreate the table"
            )
        for node in targets:
            if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
                continue
            name = identifier_name(node.this)
            db = node.args.get("db")
            _refuse_catalog(node, name)
            self.refs.append(
                TableRef(
                    index=len(self.refs),
                    table=name,
                    written=str(node.this.this),
                    quoted=bool(node.this.quoted),
                    schema=identifier_name(db) if isinstance(db, exp.Identifier) else None,
                    qualifier=name,
                    scope=0,
                    joined="target",
                    aliased=False,
                    schema_written=str(db.this) if isinstance(db, exp.Identifier) else None,
                    schema_quoted=isinstance(db, exp.Identifier) and bool(db.quoted),
                )
            )
            self.ref_nodes.append(node)
        if isinstance(tree, exp.Create) and tree.args.get("expression") is not None:
            raise UnsupportedSQLError(
                "CREATE TABLE ... AS SELECT is not supported; create the table, then INSERT"
            )
        if isinstance(tree, exp.Create | exp.Alter) and self.ddl_kind != "CREATE INDEX":
            # Constraint names are unique per schema on PostgreSQL (and foreign keys per
            # database on MySQL): each physical table needs its own.
            for node in list(tree.find_all(exp.Constraint, exp.ColumnConstraint)):
                if isinstance(node.this, exp.Identifier):
                    self._ddl_name(node, node.this)
            for drop in list(tree.find_all(exp.Drop)):
                if str(drop.args.get("kind") or "").upper() == "CONSTRAINT":
                    for table in drop.args.get("tables") or []:
                        if isinstance(table, exp.Table) and isinstance(table.this, exp.Identifier):
                            self._ddl_name(table, table.this)

    def _ddl_name(self, owner: exp.Expr, name: exp.Identifier) -> None:
        """Cut a per-table DDL name (index, constraint) out as an ``index`` slot."""
        slot = len(self.ddl_names)
        self.ddl_names.append(str(name.this))
        self._span_of([name], "index", slot)
        owner.set("this", exp.Identifier(this=f"__tdb_x{slot}__", quoted=False))

    def _join_kind(self, node: exp.Table) -> JoinKind:
        parent = node.parent
        if isinstance(parent, exp.Schema):
            parent = parent.parent
        if isinstance(parent, exp.Update | exp.Delete | exp.Insert) and parent.this is (
            node if not isinstance(node.parent, exp.Schema) else node.parent
        ):
            return "target"
        if isinstance(parent, exp.Join):
            side = str(parent.args.get("side") or "").upper()
            return "outer" if side in ("LEFT", "RIGHT", "FULL") else "inner"
        return "from"

    def _scope(self, index: int) -> Scope:
        node = self.scope_nodes[index]
        where = node.args.get("where")
        terms: list[exp.Expr] = conjuncts(where.this if isinstance(where, exp.Where) else None)
        predicate_terms = list(terms)
        equality_terms = list(terms)
        using: list[tuple[int, tuple[str, ...]]] = []
        source_using: list[tuple[str, tuple[str, ...]]] = []
        refs = tuple(r.index for r in self.refs if r.scope == index)
        joins = node.args.get("joins") or []
        sides = {str(join.args.get("side") or "").upper() for join in joins}
        preserving = bool(sides & {"RIGHT", "FULL"})
        for join in joins:
            on_terms = conjuncts(join.args.get("on"))
            equality_terms.extend(on_terms)
            side = str(join.args.get("side") or "").upper()
            if side not in ("LEFT", "RIGHT", "FULL") and not preserving:
                predicate_terms.extend(on_terms)
            columns = join.args.get("using")
            if columns:
                names = tuple(
                    identifier_name(c) if isinstance(c, exp.Identifier) else c.name.lower()
                    for c in columns
                )
                joined = self._ref_index_of(join.this)
                if joined is not None:
                    using.append((joined, names))
                else:
                    source = self._source(join.this, "inner")
                    if source is not None:
                        source_using.append((source.qualifier, names))
        predicate = all_of([extract(term) for term in predicate_terms])
        sources, source_nodes = self._sources(node)
        equalities: list[tuple[ColumnName, ColumnName]] = []
        semijoins: list[Semijoin] = []
        for term in equality_terms:
            if (
                isinstance(term, exp.EQ)
                and isinstance(term.this, exp.Column)
                and isinstance(term.expression, exp.Column)
            ):
                equalities.append((column_name(term.this), column_name(term.expression)))
            elif isinstance(term, exp.In) and isinstance(term.this, exp.Column):
                query = term.args.get("query")
                sub = query.this if isinstance(query, exp.Subquery) else query
                if isinstance(sub, exp.Select) and id(sub) in self.scope_ids:
                    selected = sub.expressions
                    inner = (
                        column_name(selected[0])
                        if len(selected) == 1 and isinstance(selected[0], exp.Column)
                        else None
                    )
                    semijoins.append(
                        Semijoin(column_name(term.this), self.scope_ids[id(sub)], inner)
                    )
        group = node.args.get("group")
        group_by = tuple(
            column_name(e)
            for e in (group.expressions if isinstance(group, exp.Group) else [])
            if isinstance(e, exp.Column)
        )
        return Scope(
            index=index,
            parent=self.scope_parents[index],
            predicate=predicate,
            equalities=tuple(equalities),
            using=tuple(using),
            semijoins=tuple(semijoins),
            refs=refs,
            reduces=_reduces(node),
            group_by=group_by,
            sources=sources,
            source_using=tuple(source_using),
            body=_body_kind(node),
            outputs=_outputs(node),
            preserving=preserving,
            required=self._required_relations(node, refs, source_nodes),
        )

    def _required_relations(
        self, node: exp.Expr, refs: tuple[int, ...], source_nodes: tuple[exp.Expr, ...]
    ) -> tuple[tuple[Relation, ...], ...]:
        """``Scope.required``, relations named by reference index and source position."""
        known: dict[int, Relation] = {id(self.ref_nodes[r]): ("table", r) for r in refs}
        known.update({id(n): ("source", i) for i, n in enumerate(source_nodes)})
        targets: list[tuple[Relation, ...]] = [
            (("table", r),) for r in refs if self.refs[r].joined == "target"
        ]
        clauses = [
            tuple(known[id(relation)] for relation in clause)
            for clause in self._required(node)
            if all(id(relation) in known for relation in clause)
        ]
        return tuple(dict.fromkeys([*targets, *clauses]))

    # -- derived tables and CTE references --------------------------------------------

    def _relations(self, node: exp.Expr) -> list[tuple[exp.Expr, str]]:
        """The relations ``node`` reads, in order, each with its join side ("" for the
        FROM, the target of a write and inner or cross joins)."""
        relations: list[tuple[exp.Expr, str]] = []
        if isinstance(node, exp.Update | exp.Delete) and node.this is not None:
            relations.append((node.this, ""))
        from_ = node.args.get("from_") or node.args.get("from")
        if isinstance(from_, exp.From):
            relations.append((from_.this, ""))
        if isinstance(node, exp.Delete):
            relations.extend((using, "") for using in node.args.get("using") or [])
        for join in node.args.get("joins") or []:
            side = str(join.args.get("side") or "").upper()
            relations.append((join.this, side if side in ("LEFT", "RIGHT", "FULL") else ""))
        return relations

    def _required(self, node: exp.Expr) -> list[list[exp.Expr]]:
        """The relation nodes ``node``'s rows come from (see ``Scope.required``)."""
        known = self._clauses.get(id(node))
        if known is not None:
            return known
        clauses: list[list[exp.Expr]] = []
        for relation, side in self._relations(node):
            if side == "":
                clauses.append([relation])
            elif side == "RIGHT":
                clauses = [[relation]]  # everything before it is now optional
            elif side == "FULL":
                clauses = [[*clause, relation] for clause in clauses] or [[relation]]
        self._clauses[id(node)] = clauses
        return clauses

    def _sources(self, node: exp.Expr) -> tuple[tuple[Source, ...], tuple[exp.Expr, ...]]:
        """The derived tables and CTE references in the FROM and JOINs of ``node``, and
        the node of each."""
        alone = {id(clause[0]) for clause in self._required(node) if len(clause) == 1}
        sources = []
        nodes = []
        for relation, side in self._relations(node):
            joined: JoinKind = "inner" if side == "" else "outer"
            source = self._source(relation, joined, id(relation) in alone)
            if source is not None:
                sources.append(source)
                nodes.append(relation)
        return tuple(sources), tuple(nodes)

    def _source(
        self, relation: exp.Expr | None, joined: JoinKind, required: bool = False
    ) -> Source | None:
        """``relation`` as a Source, or None (a table, a table function, VALUES, ...)."""
        if isinstance(relation, exp.Lateral):
            relation = relation.this
        if isinstance(relation, exp.Subquery):
            alias = relation.args.get("alias")
            body = relation.this
            recursive = False
        elif (
            isinstance(relation, exp.Table)
            and isinstance(relation.this, exp.Identifier)
            and not relation.args.get("db")
            and self._ref_index_of(relation) is None
        ):
            cte = self._cte_for(relation, identifier_name(relation.this))
            if cte is None:
                return None
            alias = relation.args.get("alias") or cte.args.get("alias")
            body = cte.this
            with_ = cte.parent
            recursive = bool(isinstance(with_, exp.With) and with_.args.get("recursive")) and any(
                isinstance(t.this, exp.Identifier)
                and identifier_name(t.this) == _cte_name(cte)
                and not t.args.get("db")
                for t in body.find_all(exp.Table)
            )
        else:
            return None
        while isinstance(body, exp.Subquery):
            body = body.this
        branches, combine = self._branches(body)
        if not branches:
            return None
        qualifier = ""
        if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier):
            qualifier = identifier_name(alias.this)
        elif isinstance(relation, exp.Table) and isinstance(relation.this, exp.Identifier):
            qualifier = identifier_name(relation.this)
        renamed = alias.args.get("columns") if isinstance(alias, exp.TableAlias) else None
        columns: tuple[tuple[str, ColumnName], ...] = ()
        if combine == "select" and not recursive:
            columns = _column_map(self.scope_nodes[branches[0]], renamed)
        return Source(qualifier, branches, combine, columns, joined, recursive, required)

    def _branches(self, body: exp.Expr | None) -> tuple[tuple[int, ...], SetCombine]:
        """The scopes whose rows ``body`` returns, and how they combine."""
        if body is not None and id(body) in self.scope_ids and isinstance(body, exp.Select):
            return (self.scope_ids[id(body)],), "select"
        if not isinstance(body, exp.SetOperation):
            return (), "other"
        branches: list[int] = []
        kinds: set[SetCombine] = set()
        stack: list[exp.Expr] = [body]
        while stack:
            node = stack.pop()
            if isinstance(node, exp.SetOperation):
                if isinstance(node, exp.Union):
                    kinds.add("union" if node.args.get("distinct") else "union all")
                else:
                    kinds.add("other")
                stack.extend([node.expression, node.this])
            elif isinstance(node, exp.Subquery):
                stack.append(node.this)
            elif id(node) in self.scope_ids:
                branches.append(self.scope_ids[id(node)])
            else:
                return (), "other"  # VALUES or something else tenantdb cannot see into
        combine: SetCombine = (
            "other" if "other" in kinds else "union" if "union" in kinds else "union all"
        )
        return tuple(branches), combine

    def _ref_index_of(self, node: exp.Expr | None) -> int | None:
        if len(self._ref_ids) != len(self.ref_nodes):
            self._ref_ids = {
                id(n): ref.index for ref, n in zip(self.refs, self.ref_nodes, strict=True)
            }
        return self._ref_ids.get(id(node))

    def _root_scopes(self) -> tuple[int, ...]:
        root = self.tree
        if isinstance(root, exp.SetOperation):
            branches: list[int] = []
            stack: list[exp.Expr] = [root]
            while stack:
                node = stack.pop()
                if isinstance(node, exp.SetOperation):
                    stack.extend([node.expression, node.this])
                elif isinstance(node, exp.Subquery):
                    stack.append(node.this)
                elif id(node) in self.scope_ids:
                    branches.append(self.scope_ids[id(node)])
            return tuple(branches)
        return (0,) if self.scope_nodes else ()

    # -- writes -------------------------------------------------------------------

    def _assignments(self) -> tuple[tuple[ColumnName, ValueRef | None], ...]:
        tree = self.tree
        if not isinstance(tree, exp.Update):
            return ()
        return tuple(
            (column_name(assignment.this), _written_value(assignment.expression))
            for assignment in tree.expressions
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column)
        )

    def _insert_shape(self) -> InsertShape:
        tree = self.tree
        target = tree.this
        columns: tuple[str, ...] | None = None
        if isinstance(target, exp.Schema):
            columns = tuple(
                identifier_name(c) if isinstance(c, exp.Identifier) else c.name.lower()
                for c in target.expressions
            )
        source = tree.args.get("expression")
        rows: list[tuple[ValueRef | None, ...]] = []
        renders: list[Rendered] = []
        from_query = not isinstance(source, exp.Values)
        if isinstance(source, exp.Values):
            for row in source.expressions:
                items = row.expressions if isinstance(row, exp.Tuple) else [row]
                if columns is not None and len(items) != len(columns):
                    raise ProgrammingError(
                        f"INSERT names {len(columns)} columns but a VALUES row has "
                        f"{len(items)} values"
                    )
                rows.append(tuple(_written_value(item) for item in items))
                renders.append(render_tree(row, self.dialect))
        conflict = tree.args.get("conflict")
        upsert = [
            column_name(assignment.this)
            for assignment in (conflict.expressions or [] if conflict is not None else [])
            if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column)
        ]
        return InsertShape(
            columns=columns,
            rows=tuple(rows),
            row_renders=tuple(renders),
            from_query=from_query,
            upsert_sets=tuple(upsert),
        )

    def _mark_qualifiers(self) -> None:
        """Point column qualifiers that name an unaliased table at that table's marker."""
        for column in list(self.tree.find_all(exp.Column)):
            table = column.args.get("table")
            if not isinstance(table, exp.Identifier):
                continue
            qualifier = identifier_name(table)
            db = column.args.get("db")
            schema = identifier_name(db) if isinstance(db, exp.Identifier) else None
            scope = self._enclosing_scope(column)
            ref = self._resolve_unaliased(qualifier, schema, scope)
            if ref is not None:
                self._span(column, "qualifier", ref)
                column.set("table", exp.Identifier(this=f"__tdb_q{ref}__", quoted=False))
                column.set("db", None)
                column.set("catalog", None)

    def _resolve_unaliased(
        self, qualifier: str, schema: str | None, scope: int | None
    ) -> int | None:
        while scope is not None:
            for ref in self.refs:
                if ref.scope == scope and ref.qualifier == qualifier:
                    if ref.aliased:
                        return None
                    if schema is None or ref.schema == schema:
                        return ref.index
            scope = self.scope_parents[scope]
        return None


__all__ = [
    "Dialect",
    "SetCombine",
    "Source",
    "confined_template",
    "InsertShape",
    "Scope",
    "Semijoin",
    "StatementKind",
    "TableRef",
    "Template",
    "TemplateCache",
    "parse_template",
]
