"""Error oracles (issue 13 items 1-2): an expression that fails only on B's values.

``generators.error_oracle_cases`` writes, per backend, conditions that raise a database
error exactly when a guard on B's values holds (integer overflow, division by zero,
failing casts, MariaDB strict-mode conversions, JSON and regular-expression functions),
placed in every position (WHERE of SELECT / UPDATE / DELETE, JOIN ON against tenant and
non-tenant tables, IN / EXISTS / scalar / correlated subqueries, derived tables, CTE
bodies, UNION branches, INSERT ... SELECT, upserts, HAVING, ORDER BY, the select list),
with and without index hints, on a ``tenant`` and a ``tenant_scoped`` table, over an
index on tenant_id with statistics gathered. Each must give what the same statement gives
on A's rows alone (``oracle.check_case``): a driver error there is a leak of one bit per
statement, and an error text carrying B's values a leak of the row.

``test_triggers_fire_on_the_raw_database`` proves every trigger does fail on the raw
database when B's rows are reached, so the oracle tests can fail.

Every case runs on the thread front, and about one in ``ASYNC_EVERY`` on the asyncio front too
(``on_fronts``, a sample across positions and triggers): the asyncio front's drivers
(asyncmy, psycopg's AsyncConnection) raise their own errors, which must leak no more.
"""

from __future__ import annotations

import pytest

from ..conftest import Backend
from .conftest import BACKEND_MARKS, AttackEnv, backend_param, on_fronts
from .generators import GenCase, error_oracle_cases, trigger_probes
from .oracle import check_case

BACKENDS = tuple(BACKEND_MARKS)

ASYNC_EVERY = 2
CASES = on_fronts(
    [
        backend_param(name, case, id=f"{name}-{case.name}")
        for name in BACKENDS
        for case in error_oracle_cases(name)
    ],
    async_every=ASYNC_EVERY,
)
PROBES = [
    backend_param(name, sql, id=f"{name}-{probe}")
    for name in BACKENDS
    for probe, sql in trigger_probes(name)
]


@pytest.mark.parametrize(("backend", "case", "front"), CASES, indirect=["backend", "front"])
@pytest.mark.usefixtures("front")  # attack's cluster runs on it
def test_error_oracle(backend: Backend, attack: AttackEnv, case: GenCase) -> None:
    check_case(attack, case)


@pytest.mark.parametrize(("backend", "sql"), PROBES, indirect=["backend"])
def test_triggers_fire_on_the_raw_database(backend: Backend, attack: AttackEnv, sql: str) -> None:
    with pytest.raises(Exception):  # noqa: B017,PT011 - each driver's own error class
        attack.raw(sql)
    # ... and never on A's rows alone: the mirror runs the same statement.
    attack.on_mirror(sql)
