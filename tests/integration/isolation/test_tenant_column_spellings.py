"""Quoted spellings of the tenant column (issue 13 item 3), and NULL, DEFAULT and None
written into it (issue 20), generated.

``generators.quoted_tenant_column_cases``: the tenant column written single-quoted,
double-quoted, backticked, bracketed, upper or mixed case or Unicode-escaped, in UPDATE
SET, row-value SET, upserts (ON CONFLICT / ON DUPLICATE KEY), UPDATE ... FROM, multi-table
UPDATE, INSERT column lists, INSERT ... SELECT and INSERT ... SET, with the value a
literal, a parameter or an expression, on a ``tenant`` and a ``tenant_scoped`` table.
Whatever the backend reads the spelling as, A's rows must stay A's and B's rows unchanged:
refused, or the same outcome as on A's data alone (``oracle.check_case``).

``generators.null_tenant_column_cases``: INSERTs whose tenant column (in those spellings)
is NULL, DEFAULT or a None parameter, in VALUES rows mixed with the tenant's id, INSERT ...
SELECT, UNION, upserts on A's key and B's, the column or a named parameter used twice: the
row lands as A's (the mirror, told 'a' outright, holds the same rows) or the statement is
refused, and B's rows never change.

Every case runs on the thread front, and about one in ``ASYNC_EVERY`` on the asyncio front too
(``on_fronts``): what is refused is decided by the router both fronts share, so a sample
shows the asyncio front runs these shapes the same way at a quarter of the cost.
"""

from __future__ import annotations

from typing import Any

import pytest

import tenantdb

from ..conftest import Backend
from .conftest import BACKEND_MARKS, AttackEnv, backend_param, on_fronts
from .generators import (
    TENANT_COLUMN_SPELLINGS,
    WRITE_TABLES,
    GenCase,
    null_tenant_column_cases,
    quoted_tenant_column_cases,
)
from .oracle import check_case

ASYNC_EVERY = 4
CASES = on_fronts(
    [
        backend_param(name, case, id=f"{name}-{case.name}")
        for name in BACKEND_MARKS
        for case in quoted_tenant_column_cases(name)
    ],
    async_every=ASYNC_EVERY,
)


@pytest.mark.parametrize(("backend", "case", "front"), CASES, indirect=["backend", "front"])
@pytest.mark.usefixtures("front")  # attack's cluster runs on it
def test_tenant_column_spelling(backend: Backend, attack: AttackEnv, case: GenCase) -> None:
    check_case(attack, case)


NULL_CASES = on_fronts(
    [
        backend_param(name, case, id=f"{name}-{case.name}")
        for name in BACKEND_MARKS
        for case in null_tenant_column_cases(name)
    ],
    async_every=ASYNC_EVERY,
)


@pytest.mark.parametrize(("backend", "case", "front"), NULL_CASES, indirect=["backend", "front"])
@pytest.mark.usefixtures("front")  # attack's cluster runs on it
def test_null_tenant_column(backend: Backend, attack: AttackEnv, case: GenCase) -> None:
    check_case(attack, case)


#: executemany rows (id, tenant value, text): None rows mixed with the tenant's own id.
MANY_ROWS = [(70, None, "x"), (71, "a", "y"), (72, None, None)]
MANY_CASES = on_fronts(
    [
        backend_param(name, spelling, table, style, id=f"{name}-sp{si}-{table}-{style}")
        for name in BACKEND_MARKS
        for si, spelling in enumerate(TENANT_COLUMN_SPELLINGS[name])
        # Quoted in single quotes or as U&"...": not a column name anywhere; tenantdb refuses.
        if not spelling.startswith(("'", "U&"))
        for table, _, _ in WRITE_TABLES
        for style in ("positional", "named")
    ],
    async_every=ASYNC_EVERY,
)


@pytest.mark.parametrize(
    ("backend", "spelling", "table", "style", "front"), MANY_CASES, indirect=["backend", "front"]
)
@pytest.mark.usefixtures("front")  # attack's cluster runs on it
def test_executemany_with_none_rows(
    backend: Backend, attack: AttackEnv, spelling: str, table: str, style: str
) -> None:
    """An ORM's executemany: the tenant column mapped, None in some rows and the tenant's id
    in others. The rows land as A's, as on the mirror told 'a'; a row naming B refuses the
    whole call; B's rows never change."""
    text = {t: s for t, s, _ in WRITE_TABLES}[table]
    rows: list[Any]
    if style == "named":
        sql = f"INSERT INTO {table} (id, {spelling}, {text}) VALUES (%(id)s, %(t)s, %(v)s)"
        rows = [{"id": i, "t": t, "v": v} for i, t, v in MANY_ROWS]
        mirror_rows: list[Any] = [{**row, "t": row["t"] or "a"} for row in rows]
        bad: list[Any] = [{"id": 73, "t": None, "v": "z"}, {"id": 74, "t": "b", "v": "z"}]
    else:
        sql = f"INSERT INTO {table} (id, {spelling}, {text}) VALUES (%s, %s, %s)"
        rows = list(MANY_ROWS)
        mirror_rows = [(i, t or "a", v) for i, t, v in rows]
        bad = [(73, None, "z"), (74, "b", "z")]
    before = attack.others()
    try:
        attack.on_mirror_many(sql, mirror_rows)
        mirror_ran = True
    except Exception:  # the driver's own error: the spelling names no column there
        mirror_ran = False
    try:
        with attack.cluster.session(tenant="a") as session:
            session.executemany(sql, rows)
    except tenantdb.DatabaseError:
        assert not mirror_ran, "failed where the mirror runs"
        assert attack.others() == before
        return
    assert mirror_ran, "ran where the mirror fails"
    assert attack.own() == attack.mirror_own()
    with pytest.raises(tenantdb.TenantIsolationError), attack.cluster.session(tenant="a") as s:
        s.executemany(sql, bad)
    assert attack.own() == attack.mirror_own()
    assert attack.others() == before
