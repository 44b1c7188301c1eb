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

import pytest

from ..conftest import Backend
from .conftest import BACKEND_MARKS, AttackEnv, backend_param, on_fronts
from .generators import GenCase, null_tenant_column_cases, quoted_tenant_column_cases
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
