"""StatementMetrics, TopTenants and the histogram: pure counting, no I/O."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tenantdb.telemetry import OTHER_TENANTS, StatementMetrics, TopTenants


def test_top_tenants_names_the_busiest_and_sums_the_rest() -> None:
    top = TopTenants(2, capacity=1_000)
    for tenant, count in {"a": 50, "b": 40, "c": 3, "d": 2}.items():
        top.add(tenant, count)
    assert top.labelled() == {"a": 50, "b": 40, OTHER_TENANTS: 5}


@given(st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=3_000))
def test_top_tenants_never_reports_more_than_k_plus_one_and_never_loses_a_count(
    stream: list[int],
) -> None:
    top = TopTenants(5, capacity=50)
    for tenant in stream:
        top.add(f"t{tenant}")
    labelled = top.labelled()
    assert len(labelled) <= 6
    assert sum(labelled.values()) == len(stream)
    assert all(count >= 0 for count in labelled.values())


def test_a_tenant_busier_than_total_over_capacity_is_always_named() -> None:
    top = TopTenants(1, capacity=10)
    for i in range(5_000):
        top.add(f"rare{i}")
        if i % 4 == 0:
            top.add("heavy")
    assert next(iter(top.labelled())) == "heavy"


def test_statement_metrics_count_per_place_and_bucket_durations() -> None:
    metrics = StatementMetrics(tenant_labels=True, top_tenants=3)
    metrics.record(
        "select", "scatter", {("ds0", "replica"), ("ds1", "primary")}, "ok", 0.002, "a", 4
    )
    metrics.record("select", "single", {("ds0", "primary")}, "error", 7.0, "a", 1)
    metrics.record("insert", "single", (), "refused", 0.0, None, 0)
    snapshot = metrics.snapshot()
    assert snapshot["statements"] == {
        ("select", "ds0", "replica", "ok"): 1,
        ("select", "ds1", "primary", "ok"): 1,
        ("select", "ds0", "primary", "error"): 1,
    }
    scatter = snapshot["durations"][("select", "scatter", "ok")]
    assert scatter.count == 1
    assert dict(scatter.cumulative())[0.005] == 1
    assert dict(scatter.cumulative())[0.001] == 0
    slow = snapshot["durations"][("select", "single", "error")]
    assert dict(slow.cumulative())[10.0] == 1
    assert dict(slow.cumulative())[5.0] == 0
    assert snapshot["fan_out"].count == 2  # the refused statement had no targets
    assert snapshot["tenants"] == {"a": 2, OTHER_TENANTS: 0}
