"""Property tests: a point query lands exactly where the placement formula says."""

from __future__ import annotations

import datetime
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

import tenantdb
from tenantdb.errors import RoutingError

from .conftest import TODAY, cluster_config

CLUSTER = tenantdb.connect(cluster_config(), today=lambda: TODAY)
DATASOURCES = ("ds0", "ds1")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_mod_point_query_matches_formula(key: int) -> None:
    plan = CLUSTER.explain("SELECT * FROM accounts WHERE account_id = %s", [key])
    shard = key % 4
    assert [(t.datasource, t.tables["accounts"]) for t in plan.targets] == [
        (DATASOURCES[shard % 2], f"accounts_{shard}")
    ]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(), st.text(min_size=1), st.uuids()))
def test_hash_mod_point_query_matches_formula(key: object) -> None:
    try:
        plan = CLUSTER.explain("SELECT * FROM users WHERE user_id = %s", [key])
    except RoutingError as exc:
        # Undeclared key type: a spelling an int or uuid column would read otherwise ('05').
        refused = str(exc)
        assert isinstance(key, str), refused
        assert "declare key_type" in refused
        return
    shard = zlib.crc32(str(key).encode("utf-8")) % 8
    assert [(t.datasource, t.tables["users"]) for t in plan.targets] == [
        (DATASOURCES[shard % 2], f"users_{shard}")
    ]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=datetime.date(2026, 1, 1), max_value=datetime.date(2027, 1, 31)))
def test_time_range_point_query_matches_formula(day: datetime.date) -> None:
    plan = CLUSTER.explain("SELECT * FROM audit WHERE created_at = %s", [day])
    k = (day.year - 2026) * 12 + day.month - 1
    assert [(t.datasource, t.tables["audit"]) for t in plan.targets] == [
        (DATASOURCES[k % 2], f"audit_{day.year:04d}{day.month:02d}")
    ]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-1000, max_value=1000))
def test_range_point_query_matches_formula(key: int) -> None:
    plan = CLUSTER.explain("SELECT * FROM invoices WHERE invoice_id = %s", [key])
    shard = sum(1 for boundary in (100, 200) if boundary <= key)
    assert [t.tables["invoices"] for t in plan.targets] == [f"invoices_{shard}"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12))
def test_in_list_targets_exactly_the_shards_of_its_values(keys: list[int]) -> None:
    placeholders = ", ".join(["%s"] * len(keys))
    plan = CLUSTER.explain(f"SELECT * FROM accounts WHERE account_id IN ({placeholders})", keys)
    assert sorted(t.tables["accounts"] for t in plan.targets) == sorted(
        {f"accounts_{k % 4}" for k in keys}
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.text(max_size=5)),
        min_size=1,
        max_size=10,
    )
)
def test_multi_row_insert_puts_every_row_on_its_shard(rows: list[tuple[int, str]]) -> None:
    values = ", ".join(["(%s, %s)"] * len(rows))
    params = [v for row in rows for v in row]
    plan = CLUSTER.explain(f"INSERT INTO accounts (account_id, name) VALUES {values}", params)
    seen = []
    for target in plan.targets:
        shard = int(target.tables["accounts"].rsplit("_", 1)[1])
        pairs = list(zip(target.params[::2], target.params[1::2], strict=True))
        assert all(key % 4 == shard for key, _ in pairs)
        assert target.sql.count("(%s, %s)") == len(pairs)
        seen.extend(pairs)
    assert sorted(seen) == sorted(rows)
