"""10,000 tenants make at most K+1 tenant series in the Prometheus exposition (the anchors'
users report registries growing without bound from a tenant label). The statements are
recorded straight into the cluster's metrics, as the sessions do; nothing connects."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import tenantdb
from tenantdb.telemetry import OTHER_TENANTS, prometheus_collector

K = 7


def test_ten_thousand_tenants_make_at_most_k_plus_one_series(tmp_path: Path) -> None:
    document = {
        "datasources": {"ds0": {"url": f"sqlite:///{tmp_path}/never-opened.db"}},
        "telemetry": {"tenant_labels": True, "top_tenants": K},
    }
    with tenantdb.connect(document) as cluster:
        registry = CollectorRegistry()
        registry.register(prometheus_collector(cluster))
        metrics = cluster.datasources.telemetry.metrics
        assert metrics is not None
        busy = {f"t{i}": 50 - i for i in range(K)}
        for i in range(10_000):
            tenant = f"t{i}"
            for _ in range(busy.get(tenant, 1)):
                metrics.record("select", "single", {("ds0", "primary")}, "ok", 0.001, tenant, 1)
        text = generate_latest(registry).decode()
    (family,) = [
        f for f in text_string_to_metric_families(text) if f.name == "tenantdb_tenant_statements"
    ]
    series = {s.labels["tenant"]: s.value for s in family.samples if s.name.endswith("_total")}
    assert len(series) == K + 1
    assert {name: series[name] for name in busy} == busy
    assert series[OTHER_TENANTS] == 10_000 - K
    # Every other family has no tenant label at all.
    for other in text_string_to_metric_families(text):
        if other.name != "tenantdb_tenant_statements":
            assert all("tenant" not in s.labels for s in other.samples), other.name
