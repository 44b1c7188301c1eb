"""CTE names shadowing real relations, nested writable CTEs, the registry's tables (issue 21
items 1-2 and the registry rule), generated.

- ``cte_shadow_cases``: for every relation kind (the undeclared ``secrets``, a ``tenant``
  and a ``tenant_scoped`` table, system catalogs and views, the registry table
  ``tenantdb_tenants``) a CTE named like it, in every shape whose scoping the backend
  resolves to the real relation (the CTE's own body, forward references to a later
  sibling, DML targets, WITH nested in subqueries and derived tables, WITH RECURSIVE) and
  controls it resolves to the CTE. A relation a tenant may not read must be refused
  (``blocked``); everything else must give what A's data alone gives.
- ``writable_cte_cases`` (PostgreSQL): data-modifying CTEs nested in INSERT, UPDATE,
  DELETE and SELECT that assign the tenant column, write without a predicate, insert rows
  for ``b`` or touch undeclared tables.
- ``registry_cases``: the registry's table by every spelling (quoted, case-folded,
  schema-qualified) in every position, reads and writes: always refused.

Every case runs on the thread front, and about one in ``ASYNC_EVERY`` on the asyncio front too
(``on_fronts``): what is refused is decided by the router both fronts share, so a sample
shows the asyncio front runs these shapes the same way at a quarter of the cost.
"""

from __future__ import annotations

import pytest

from ..conftest import Backend
from .conftest import BACKEND_MARKS, AttackEnv, backend_param, on_fronts
from .generators import GenCase, cte_shadow_cases, registry_cases, writable_cte_cases
from .oracle import check_case

ASYNC_EVERY = 4
INDIRECT = ["backend", "front"]


def _params(generate: object) -> list[object]:
    assert callable(generate)
    params = [
        backend_param(name, case, id=f"{name}-{case.name}")
        for name in BACKEND_MARKS
        for case in generate(name)
    ]
    return on_fronts(params, async_every=ASYNC_EVERY)


@pytest.mark.parametrize(("backend", "case", "front"), _params(cte_shadow_cases), indirect=INDIRECT)
@pytest.mark.usefixtures("front")  # attack's cluster runs on it
def test_cte_shadowing(backend: Backend, attack: AttackEnv, case: GenCase) -> None:
    check_case(attack, case)


@pytest.mark.parametrize(
    ("backend", "case", "front"), _params(writable_cte_cases), indirect=INDIRECT
)
@pytest.mark.usefixtures("front")
def test_nested_writable_cte(backend: Backend, attack: AttackEnv, case: GenCase) -> None:
    check_case(attack, case)


@pytest.mark.parametrize(("backend", "case", "front"), _params(registry_cases), indirect=INDIRECT)
@pytest.mark.usefixtures("front")
def test_registry_unreachable(backend: Backend, attack: AttackEnv, case: GenCase) -> None:
    check_case(attack, case)
