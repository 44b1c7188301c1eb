"""Key conditions inside CTEs and derived tables (issue 16).

They prune the outer statement exactly when every row of the outer result needs a row of
that CTE or derived table (it is read from, or inner-joined, with no RIGHT or FULL join
around it), and a key column of a CTE or derived table is the key of the table it selects
it from. Everything else must keep every shard: a wrong prune returns wrong rows. A CTE
read twice is two sets of rows, joined on the key like two tables or refused.

``accounts`` and ``ledger`` are binding tables (``mod`` 4 on account_id, ds0 and ds1).
"""

from __future__ import annotations

from typing import Any

import pytest

import tenantdb
from tenantdb import RoutingError, UnsupportedSQLError


def shards(cluster: tenantdb.Cluster, sql: str, params: Any = None, **kwargs: Any) -> list[int]:
    """The shard numbers of the plan's targets (from the first table each names)."""
    plan = cluster.explain(sql, params, **kwargs)
    return [
        next(int(n.rsplit("_", 1)[1]) for n in t.tables.values() if n[-1].isdigit())
        for t in plan.targets
    ]


ALL = [0, 1, 2, 3]

PRUNED = [
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = %s) "
        "SELECT amount FROM r",
        [6],
        [2],
        id="cte-key-condition",
    ),
    pytest.param(
        "SELECT t.amount FROM (SELECT account_id, amount FROM ledger "
        "WHERE account_id IN (%s, %s)) AS t",
        [5, 2],
        [1, 2],
        id="derived-table-in-list",
    ),
    pytest.param(
        "SELECT * FROM (SELECT * FROM ledger WHERE account_id = 7) AS t",
        None,
        [3],
        id="derived-select-star",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id AS acc, amount FROM ledger) SELECT amount FROM r "
        "WHERE acc = %s",
        [3],
        [3],
        id="outer-condition-on-renamed-key",
    ),
    pytest.param(
        "WITH r(k, amt) AS (SELECT account_id, amount FROM ledger) SELECT amt FROM r "
        "WHERE k IN (4, 5)",
        None,
        [0, 1],
        id="cte-column-list",
    ),
    pytest.param(
        "WITH a AS (SELECT account_id, amount FROM ledger WHERE account_id = 9), "
        "b AS (SELECT account_id FROM a) SELECT * FROM b",
        None,
        [1],
        id="cte-reading-a-cte",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = 6) "
        "SELECT a.balance, r.amount FROM accounts a JOIN r ON r.account_id = a.account_id",
        None,
        [2],
        id="joined-on-key",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger) SELECT x.amount FROM r x "
        "JOIN r y ON y.account_id = x.account_id WHERE x.account_id = 5 AND y.amount > 3",
        None,
        [1],
        id="cte-read-twice-joined-on-key",
    ),
    pytest.param(
        "SELECT * FROM (SELECT account_id FROM ledger WHERE account_id = 1 UNION ALL "
        "SELECT account_id FROM accounts WHERE account_id = 2) AS t",
        None,
        [1, 2],
        id="union-all-of-restricted-branches",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = 5) "
        "SELECT amount FROM r WHERE account_id = 6 OR amount > 10",
        None,
        [1],
        id="outer-or-cannot-widen-the-cte",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = 4) "
        "SELECT COUNT(*) FROM r",
        None,
        [0],
        id="aggregate-over-restricted-cte",
    ),
    pytest.param(
        "WITH t AS (SELECT COUNT(*) AS n FROM ledger WHERE account_id = %s) SELECT n FROM t",
        [5],
        [1],
        id="aggregate-inside-restricted-cte",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, memo FROM ledger WHERE account_id = 6) "
        "SELECT a.balance FROM accounts a RIGHT JOIN r ON a.account_id = r.account_id "
        "LEFT JOIN countries c ON c.code = r.memo",
        None,
        [2],
        id="every-row-keeps-the-right-joined-cte",
    ),
]


@pytest.mark.parametrize(("sql", "params", "expected"), PRUNED)
def test_key_conditions_inside_prune(
    cluster: tenantdb.Cluster, sql: str, params: Any, expected: list[int]
) -> None:
    assert shards(cluster, sql, params) == expected


NOT_PRUNED = [
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = 6) "
        "SELECT a.balance, r.amount FROM accounts a LEFT JOIN r ON r.account_id = a.account_id",
        id="cte-on-the-optional-side",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id FROM ledger WHERE account_id = 6) "
        "SELECT a.balance FROM r RIGHT JOIN accounts a ON a.account_id = r.account_id",
        id="right-join-preserves-the-other-side",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id FROM ledger WHERE account_id = 6) "
        "SELECT a.balance FROM r FULL JOIN accounts a ON a.account_id = r.account_id",
        id="full-join",
    ),
    pytest.param(
        "SELECT l.amount FROM ledger l JOIN accounts a ON a.account_id = l.account_id "
        "AND l.account_id = 5 RIGHT JOIN ledger l2 ON l2.account_id = a.account_id",
        id="inner-on-condition-before-a-right-join",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id FROM ledger WHERE account_id = 1 UNION ALL "
        "SELECT account_id FROM ledger) SELECT * FROM r",
        id="union-with-an-unrestricted-branch",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger) SELECT amount FROM r "
        "WHERE account_id = 1 UNION ALL SELECT amount FROM r WHERE amount > 5",
        id="cte-read-twice-with-different-filters",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id FROM ledger WHERE account_id = 1 OR amount > 5) "
        "SELECT * FROM r",
        id="or-inside-the-cte",
    ),
    pytest.param(
        "WITH RECURSIVE t(account_id, d) AS (SELECT account_id, 1 FROM ledger "
        "WHERE account_id = 5 UNION ALL SELECT account_id, d + 1 FROM t WHERE d < 3) "
        "SELECT * FROM t",
        id="recursive-cte",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id % 2 AS account_id FROM ledger) "
        "SELECT * FROM r WHERE account_id = 1",
        id="expression-named-like-the-key",
    ),
    pytest.param(
        "SELECT * FROM (SELECT l.amount AS account_id FROM ledger l) AS t WHERE t.account_id = 5",
        id="other-column-named-like-the-key",
    ),
    pytest.param(
        "SELECT * FROM (SELECT * FROM ledger) AS t WHERE t.account_id = 5",
        id="key-through-select-star-is-not-traced",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = 5) "
        "SELECT a.account_id, (SELECT SUM(amount) FROM r WHERE r.account_id = a.account_id) "
        "FROM accounts a",
        id="cte-read-in-a-scalar-subquery",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id FROM ledger WHERE account_id = 5) "
        "SELECT a.balance FROM accounts a WHERE NOT EXISTS "
        "(SELECT 1 FROM r WHERE r.account_id = a.account_id)",
        id="cte-in-not-exists",
    ),
    pytest.param(
        "SELECT amount FROM (SELECT account_id, amount FROM ledger WHERE account_id = 1) t "
        "UNION ALL SELECT amount FROM ledger",
        id="restricted-in-one-union-branch-only",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = 1 "
        "INTERSECT SELECT account_id, balance FROM accounts) SELECT * FROM r",
        id="intersect-in-the-cte",
    ),
]


@pytest.mark.parametrize("sql", NOT_PRUNED)
def test_shapes_that_must_not_prune(cluster: tenantdb.Cluster, sql: str) -> None:
    assert shards(cluster, sql) == ALL


REFUSED = [
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger) "
        "SELECT a.account_id FROM r a JOIN r b ON b.amount = a.amount",
        RoutingError,
        "does not join on their key",
        id="cte-read-twice-not-joined-on-key",
    ),
    pytest.param(
        "WITH r AS (SELECT account_id, amount FROM ledger) "
        "SELECT amount FROM r WHERE amount IN (SELECT amount FROM r)",
        RoutingError,
        "does not join on their key",
        id="cte-semijoin-on-another-column",
    ),
    pytest.param(
        "SELECT * FROM (SELECT COUNT(*) AS n FROM (SELECT amount FROM ledger) x) y",
        UnsupportedSQLError,
        "group it by the sharding key",
        id="aggregate-over-a-derived-table",
    ),
    pytest.param(
        "WITH r AS (SELECT MAX(account_id) AS account_id FROM ledger) "
        "SELECT * FROM r WHERE account_id = 5",
        UnsupportedSQLError,
        "group it by the sharding key",
        id="aggregate-named-like-the-key",
    ),
    pytest.param(
        "SELECT * FROM (SELECT amount FROM ledger UNION SELECT balance FROM accounts) t",
        UnsupportedSQLError,
        "compares rows of a sharded table",
        id="union-deduplicating-non-key-columns",
    ),
    pytest.param(
        "SELECT amount FROM ledger EXCEPT SELECT balance FROM accounts",
        UnsupportedSQLError,
        "compares rows of a sharded table",
        id="except-of-non-key-columns",
    ),
    pytest.param(
        "SELECT 5 EXCEPT SELECT account_id FROM ledger",
        UnsupportedSQLError,
        "every shard would return them",
        id="except-from-a-constant",
    ),
    pytest.param(
        "SELECT amount FROM ledger UNION ALL SELECT 1",
        UnsupportedSQLError,
        "every shard would return them",
        id="union-all-with-a-constant-branch",
    ),
    pytest.param(
        "SELECT amount FROM ledger UNION ALL SELECT code FROM countries",
        UnsupportedSQLError,
        "every shard would return them",
        id="union-all-with-a-broadcast-branch",
    ),
    pytest.param(
        "SELECT c.code, l.amount FROM countries c LEFT JOIN ledger l ON l.memo = c.code",
        UnsupportedSQLError,
        "every shard would return them",
        id="broadcast-rows-kept-by-a-left-join",
    ),
    pytest.param(
        "SELECT COUNT(*) FROM countries c LEFT JOIN ledger l ON l.memo = c.code",
        UnsupportedSQLError,
        "every shard would return them",
        id="aggregate-over-broadcast-rows-kept-by-a-left-join",
    ),
    pytest.param(
        "SELECT c.code FROM countries c WHERE NOT EXISTS "
        "(SELECT 1 FROM ledger l WHERE l.memo = c.code)",
        UnsupportedSQLError,
        "every shard would return them",
        id="not-exists-over-sharded-rows",
    ),
    pytest.param(
        "SELECT EXISTS (SELECT 1 FROM ledger WHERE amount > 5)",
        UnsupportedSQLError,
        "every shard would return them",
        id="no-from-clause",
    ),
    pytest.param(
        "SELECT l.amount FROM ledger l RIGHT JOIN countries c ON c.code = l.memo",
        UnsupportedSQLError,
        "every shard would return them",
        id="right-join-keeps-broadcast-rows",
    ),
    pytest.param(
        "WITH RECURSIVE t(account_id) AS (SELECT account_id FROM ledger WHERE account_id = 5 "
        "UNION ALL SELECT l.account_id FROM ledger l JOIN t ON l.amount = t.account_id) "
        "SELECT * FROM t",
        RoutingError,
        "does not join on their key",
        id="recursive-cte-over-sharded-rows",
    ),
    pytest.param(
        "SELECT a.balance FROM accounts a JOIN "
        "(SELECT account_id FROM ledger UNION ALL SELECT account_id FROM accounts) u "
        "ON u.account_id = a.account_id",
        RoutingError,
        "cannot be joined on the key",
        id="union-joined-to-a-table",
    ),
]


@pytest.mark.parametrize(("sql", "error", "message"), REFUSED)
def test_shapes_that_would_meet_rows_across_shards_are_refused(
    cluster: tenantdb.Cluster, sql: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        cluster.explain(sql)


ALLOWED = [
    pytest.param(
        "SELECT account_id FROM ledger EXCEPT SELECT account_id FROM accounts",
        id="except-compared-on-the-key",
    ),
    pytest.param(
        "SELECT * FROM (SELECT account_id, amount FROM ledger UNION "
        "SELECT account_id, balance FROM accounts) t",
        id="union-deduplicating-with-the-key",
    ),
    pytest.param(
        "WITH t AS (SELECT account_id, SUM(amount) AS total FROM ledger GROUP BY account_id) "
        "SELECT a.balance, t.total FROM accounts a JOIN t ON t.account_id = a.account_id",
        id="grouped-by-key-then-joined-on-key",
    ),
    pytest.param(
        "SELECT a.account_id, (SELECT SUM(x.amount) FROM (SELECT account_id, amount FROM ledger) x "
        "WHERE x.account_id = a.account_id) FROM accounts a",
        id="correlated-on-key-through-a-derived-table",
    ),
    pytest.param(
        "WITH RECURSIVE t(account_id, d) AS (SELECT account_id, 1 FROM ledger "
        "UNION ALL SELECT account_id, d + 1 FROM t WHERE d < 3) SELECT * FROM t",
        id="recursive-cte-over-its-own-rows",
    ),
    pytest.param(
        "SELECT a.balance FROM accounts a JOIN (SELECT account_id FROM ledger) AS l "
        "USING (account_id)",
        id="derived-table-joined-with-using",
    ),
    pytest.param(
        "SELECT l.amount, c.name FROM ledger l LEFT JOIN countries c ON c.code = l.memo",
        id="sharded-rows-with-an-optional-broadcast-table",
    ),
    pytest.param(
        "SELECT c.name, l.amount FROM countries c RIGHT JOIN ledger l ON c.code = l.memo",
        id="right-join-keeps-the-sharded-rows",
    ),
    pytest.param(
        "SELECT a.balance, l.amount FROM accounts a FULL JOIN ledger l "
        "ON l.account_id = a.account_id",
        id="full-join-of-binding-tables",
    ),
    pytest.param(
        "SELECT amount FROM (SELECT amount FROM ledger UNION ALL SELECT balance FROM accounts) t",
        id="union-all-of-sharded-branches",
    ),
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_shapes_that_keep_rows_of_one_key_together_run_on_every_shard(
    cluster: tenantdb.Cluster, sql: str
) -> None:
    assert shards(cluster, sql) == ALL


def test_a_pruned_write_through_a_derived_table_is_constrained(cluster: tenantdb.Cluster) -> None:
    sql = (
        "DELETE FROM ledger WHERE account_id IN "
        "(SELECT account_id FROM (SELECT account_id FROM accounts WHERE account_id = %s) t)"
    )
    # The condition is in a subquery, not a source of the DELETE: every shard, refused.
    with pytest.raises(RoutingError, match="would touch 4 shards"):
        cluster.explain(sql, [3])
    assert shards(cluster, sql, [3], admin=True) == ALL
