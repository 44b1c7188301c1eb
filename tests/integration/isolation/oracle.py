"""Checks one generated statement (``generators.GenCase``) against the mirror oracle.

The expectations are described in ``generators.py``. Everything is read with raw driver
connections: B's rows, the non-tenant tables, the undeclared table and the registry table
before and after (``AttackEnv.others``), and the mirror's outcome for the same statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

import tenantdb

from .conftest import AttackEnv, Outcome, multiset
from .generators import BLOCKED, MIRROR, NO_ERROR, GenCase
from .statements import SEED, TENANT, TENANT_TABLES, UNDECLARED

REFUSALS = (tenantdb.TenantIsolationError, tenantdb.UnsupportedSQLError, tenantdb.SQLSyntaxError)


def _b_values() -> tuple[set[str], set[int]]:
    texts: set[str] = {str(v) for v in UNDECLARED[2][0][1:]}
    numbers: set[int] = set()
    for table in TENANT_TABLES:
        for row in SEED[table]:
            if row[1] == TENANT:
                continue
            for value in row[2:]:
                if isinstance(value, str) and value != TENANT:
                    texts.add(value)
                elif isinstance(value, int):
                    numbers.add(value)
            numbers.add(row[0])
    # B's small numbers are references to A's ids (order_items.order_id), not B's values.
    return texts, {n for n in numbers if n >= 100}


B_TEXTS, B_NUMBERS = _b_values()
#: Driver error codes and positions carry numbers that are not row values.
_NOT_VALUES = re.compile(
    r"\(\d{4},|\berror\s*\d+|\bcode\s*\d+|\bline\s*\d+|\bcolumn\s*\d+|\bposition\s*\d+"
    r"|\bat character \d+"
    r"|\bSQLSTATE\s*\w+|\b[0-9A-Z]{5}\b",
    re.IGNORECASE,
)


def error_texts(exc: BaseException) -> list[str]:
    """Every text of an error a tenant session gets: message, statement, the driver's
    original error (``orig``) and its causes."""
    texts = [str(exc)]
    statement = getattr(exc, "statement", None)
    if statement:
        texts.append(str(statement))
    seen: set[int] = set()
    inner: BaseException | None = getattr(exc, "orig", None) or exc.__cause__
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        texts.append(str(inner))
        diag = getattr(inner, "diag", None)  # psycopg: DETAIL, CONTEXT, hint
        for part in ("message_detail", "context", "message_hint"):
            value = getattr(diag, part, None)
            if value:
                texts.append(str(value))
        inner = inner.__cause__ or inner.__context__
    return texts


def leaked_values(exc: BaseException, sql: str, params: Iterable[Any] = ()) -> list[str]:
    """B's values (texts, numbers, ``b:`` dumps) in the error that the statement itself does
    not contain."""
    written = sql + " " + " ".join(str(p) for p in params)
    found: list[str] = []
    for text in error_texts(exc):
        scrubbed = _NOT_VALUES.sub(" ", text)
        for value in B_TEXTS:
            pattern = rf"(?<![\w-]){re.escape(value)}(?![\w-])"
            if re.search(pattern, scrubbed) and not re.search(pattern, written):
                found.append(value)
        for number in B_NUMBERS:
            pattern = rf"(?<![\w.]){number}(?![\w.])"
            if re.search(pattern, scrubbed) and not re.search(pattern, written):
                found.append(str(number))
        if re.search(r"'b:\d", text):
            found.append("b:<id>")
    return sorted(set(found))


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    parts = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table), after.get(table)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            parts.append(
                f"{table}: removed/changed {[r for r in old if r not in new]} "
                f"-> now {[r for r in new if r not in old]}"
            )
        else:
            parts.append(f"{table}: {old!r:.120} -> {new!r:.120}")
    return "; ".join(parts)


def _check_owners(outcome: Outcome) -> None:
    assert outcome.rows is not None
    for index, column in enumerate(outcome.columns):
        if column.lower().rsplit(".", 1)[-1] == "tenant_id":
            for row in outcome.rows:
                assert row[index] in (TENANT, None), f"row of tenant {row[index]!r}: {row}"


def _sql(env: AttackEnv, case: GenCase) -> str:
    return case.sql.replace("{database}", env.database)


def check_case(env: AttackEnv, case: GenCase) -> None:
    """Run ``case`` as tenant ``a`` and check it as its expectation says."""
    sql = _sql(env, case)
    params = case.params
    before = env.others()
    error: tenantdb.Error | None = None
    refusal: tenantdb.Error | None = None
    outcome: Outcome | None = None
    try:
        outcome = env.run(sql, params)
    except REFUSALS as exc:
        refusal = exc
    except tenantdb.Error as exc:
        error = exc
    mirror_sql = (
        sql if case.mirror_sql is None else case.mirror_sql.replace("{database}", env.database)
    )
    mirror_params = params if case.mirror_params is None else case.mirror_params
    if refusal is not None:
        after = env.others()
        assert after == before, f"refused, but others' rows changed: {_diff(before, after)}"
        assert len(str(refusal).strip()) >= 20, f"refusal too short to act on: {refusal}"
        leaks = leaked_values(refusal, sql, params or ())
        assert not leaks, f"the refusal shows B's values {leaks}: {refusal}"
        if case.must_run:
            try:
                env.on_mirror(mirror_sql, mirror_params)
            except Exception:  # the driver's own error class
                return  # not SQL the backend runs either
            pytest.fail(f"refused a shape tenantdb promises to run: {refusal}")
        return
    if error is not None:
        env.reset_cluster()
        after = env.others()
        assert after == before, (
            f"{type(error).__name__}, and others' rows changed: {_diff(before, after)}"
        )
        leaks = leaked_values(error, sql, params or ())
        assert not leaks, f"the error shows B's values {leaks}: {error_texts(error)}"
    if case.expect == BLOCKED:
        if error is None:
            env.reset_cluster()  # it may have changed a pooled connection
            after = env.others()
            pytest.fail(
                f"ran instead of being refused (rows {outcome.rows if outcome else None!r:.200});"
                f" changes: {_diff(before, after) or 'none'}"
            )
        return
    if case.expect == NO_ERROR:
        if error is not None:
            try:
                env.on_mirror(mirror_sql, mirror_params)
            except Exception:  # the driver's own error class
                return  # it fails on A's data alone too: the statement's own error
            pytest.fail(
                f"driver error on a statement that must run or be refused (an error oracle): "
                f"{type(error).__name__}: {error}"
            )
        assert outcome is not None
        after = env.others()
        assert after == before, f"others' rows changed: {_diff(before, after)}"
        if outcome.rows is not None:
            _check_owners(outcome)
        return
    assert case.expect == MIRROR
    try:
        expected: Outcome | None = env.on_mirror(mirror_sql, mirror_params)
        mirror_error: BaseException | None = None
    except Exception as exc:  # the driver's own error class
        expected, mirror_error = None, exc
    if error is not None:
        if mirror_error is None:
            pytest.fail(
                f"{type(error).__name__} where A's data alone runs (an error that depends on "
                f"another tenant's rows, or a statement sent not as written): {error}"
            )
        return
    assert outcome is not None
    after = env.others()
    assert after == before, f"others' rows changed: {_diff(before, after)}"
    if outcome.rows is not None:
        _check_owners(outcome)
    if mirror_error is not None:
        if case.mirror_may_fail:
            return
        pytest.fail(f"ran (rows {outcome.rows!r:.200}) where A's data alone fails: {mirror_error}")
    assert expected is not None
    if outcome.rows is not None or expected.rows is not None:
        assert outcome.rows is not None, "returned no rows; on A's data alone it does"
        assert expected.rows is not None, f"returned rows {outcome.rows!r:.200}; A's data none"
        got, want = multiset(outcome.rows), multiset(expected.rows)
        assert got == want, (
            f"rows differ from A's data alone: extra {[r for r in got if r not in want]!r:.300}"
            f", missing {[r for r in want if r not in got]!r:.300}"
        )
    else:
        assert outcome.rowcount == expected.rowcount, (
            f"rowcount {outcome.rowcount}, on A's data alone {expected.rowcount}"
        )
    own, want_own = env.own(), env.mirror_own()
    assert own == want_own, (
        f"A's rows afterwards differ from A's data alone: {_diff(want_own, own)}"
    )
