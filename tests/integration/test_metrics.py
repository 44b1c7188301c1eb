"""Prometheus exposition of a live cluster, parsed back with prometheus_client's own parser,
and the slow-statement log."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import tenantdb
from fronts import Front
from tenantdb.telemetry import OTHER_TENANTS, prometheus_collector

from .conftest import Backend


def config(backend: Backend, urls: list[str], **telemetry: Any) -> dict[str, Any]:
    return {
        "dialect": backend.dialect,
        "datasources": {
            f"ds{i}": {"url": url, "pool": {"max_size": 3}} for i, url in enumerate(urls)
        },
        "tables": {
            "orders": {"strategy": "tenant"},
            "events": {
                "strategy": "mod",
                "key": "id",
                "shards": 4,
                "datasources": [f"ds{i}" for i in range(len(urls))],
                "tenant_scoped": False,
            },
        },
        "tenants": {"acme": {"datasource": "ds0", "limits": {"requests_per_second": 1000}}},
        "telemetry": telemetry,
    }


def scrape(cluster: Any) -> dict[str, Any]:
    registry = CollectorRegistry()
    registry.register(prometheus_collector(cluster))
    text = generate_latest(registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any, name: str | None = None) -> list[tuple[dict[str, str], float]]:
    return [(s.labels, s.value) for s in family.samples if name is None or s.name == name]


def test_the_exposition_parses_and_counts_what_ran(backend: Backend, front: Front) -> None:
    urls = backend.new_databases(2)
    with front.connect(config(backend, urls)) as cluster:
        scrape(cluster)  # attaching the collector starts the statement metrics
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")
            admin.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
            admin.executemany("INSERT INTO events (id) VALUES (%s)", [(i,) for i in range(8)])
            assert admin.execute("SELECT COUNT(*) FROM events").fetchall() == [(8,)]
        with cluster.session(tenant="acme") as session:
            for i in range(3):
                session.execute("INSERT INTO orders (id) VALUES (%s)", (i,))
            with pytest.raises(tenantdb.IntegrityError):
                session.execute("INSERT INTO orders (id) VALUES (%s)", (0,))
            with pytest.raises(tenantdb.RoutingError):
                session.execute("SELECT * FROM orders o JOIN events e ON e.id = o.id")
        families = scrape(cluster)

    statements = {
        tuple(labels[k] for k in ("operation", "datasource", "role", "outcome")): value
        for labels, value in samples(families["tenantdb_statements"], "tenantdb_statements_total")
    }
    # Three tenant inserts and the admin executemany, which also ran on ds1.
    assert statements[("insert", "ds0", "primary", "ok")] == 4
    assert statements[("insert", "ds1", "primary", "ok")] == 1
    assert statements[("insert", "ds0", "primary", "error")] == 1
    # The COUNT(*) over 4 tables on 2 datasources ran once on each.
    assert statements[("select", "ds0", "primary", "ok")] == 1
    assert statements[("select", "ds1", "primary", "ok")] == 1

    durations = families["db_client_operation_duration_seconds"]
    counts = {
        (labels["db_operation_name"], labels["route"], labels["outcome"]): value
        for labels, value in samples(durations, "db_client_operation_duration_seconds_count")
    }
    assert counts[("INSERT", "single", "ok")] == 3
    assert counts[("INSERT", "scatter", "ok")] == 1
    assert counts[("INSERT", "single", "error")] == 1
    assert counts[("SELECT", "scatter", "ok")] == 1
    assert counts[("SELECT", "single", "refused")] == 1  # refused before it had a target
    system = {"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql"}[backend.name]
    assert {labels["db_system_name"] for labels, _ in samples(durations)} == {system}
    widths = {
        labels["le"]: value
        for labels, value in samples(
            families["tenantdb_fan_out_width"], "tenantdb_fan_out_width_bucket"
        )
    }
    # Every statement but the refused one (it never had a target) has a width.
    assert widths["+Inf"] == sum(counts.values()) - 1
    assert widths["1.0"] >= 4  # the four tenant inserts
    assert widths["4.0"] - widths["2.0"] >= 2  # the executemany and the COUNT(*): 4 tables

    pools = {
        (labels["datasource"], labels["endpoint"], labels["state"]): value
        for labels, value in samples(families["tenantdb_pool_connections"])
    }
    assert pools[("ds0", "primary", "in_use")] == 0
    assert samples(families["tenantdb_pool_max_size"])[0][1] == 3
    lookups = {
        labels["result"]: value
        for labels, value in samples(families["tenantdb_template_cache_lookups"])
    }
    # Five distinct texts were parsed; repeated ones mostly hit the router's plan cache
    # before the template cache is asked, so only some lookups are hits.
    assert lookups["miss"] >= 5
    assert lookups["hit"] >= 1
    assert "tenantdb_tenant_statements" not in families  # tenant labels are off by default
    assert samples(families["tenantdb_registry_generation"])[0][1] >= 1
    assert samples(families["tenantdb_registry_last_change_age_seconds"])[0][1] >= 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tenant_labels_name_only_the_busiest_tenants(backend: Backend, front: Front) -> None:
    """Statements of 300 tenants through real sessions; only the top 5 get a label. (The
    10,000-tenant bound is checked on the metrics themselves: tests/unit/telemetry.)"""
    url = backend.new_database()
    document = config(backend, [url], tenant_labels=True, top_tenants=5)
    document["tenants"] = {f"t{i}": {"datasource": "ds0"} for i in range(300)}
    with front.connect(document) as cluster:
        scrape(cluster)
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")
        busy = {f"t{i}": 20 - i for i in range(5)}  # five tenants clearly busier than the rest
        for i in range(300):
            tenant = f"t{i}"
            with cluster.session(tenant=tenant) as session:
                for _ in range(busy.get(tenant, 1)):
                    session.execute("SELECT id FROM orders WHERE id = %s", (i,))
        families = scrape(cluster)
    series = {
        labels["tenant"]: value
        for labels, value in samples(
            families["tenantdb_tenant_statements"], "tenantdb_tenant_statements_total"
        )
    }
    assert len(series) == 5 + 1
    assert {name: series[name] for name in busy} == busy
    assert series[OTHER_TENANTS] == 300 - 5


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_slow_statement_is_logged_and_kept_without_its_parameters(
    backend: Backend, front: Front, caplog: pytest.LogCaptureFixture
) -> None:
    url = backend.new_database()
    document = config(backend, [url], slow_statement="0s")  # every statement is slow
    with front.connect(document) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")
        with (
            caplog.at_level(logging.WARNING, logger="tenantdb.slow"),
            cluster.session(tenant="acme") as session,
        ):
            session.execute("INSERT INTO orders (id) VALUES (%s)", (424242,))
        slow = cluster.slow_statements()
    latest = slow[0]
    assert latest["sql"] == "INSERT INTO orders (id) VALUES (%s)"
    assert latest["tenant"] == "acme"
    assert latest["params"] is None
    assert latest["route"] == "single"
    (target,) = latest["targets"]  # the plan, without parameter values
    assert target == {
        "datasource": "ds0",
        "role": "primary",
        "sql": target["sql"],
        "tables": {"orders": "orders"},
    }
    assert target["sql"].startswith("INSERT INTO orders (id, tenant_id) VALUES")
    assert latest["error"] is None
    assert latest["duration_s"] >= 0
    assert len(slow) == 2  # the CREATE TABLE before it, newest first
    assert any("INSERT INTO orders" in r.getMessage() for r in caplog.records)
    assert not any("424242" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_slow_statement_parameters_only_when_opted_in(backend: Backend, front: Front) -> None:
    url = backend.new_database()
    document = config(backend, [url], slow_statement="0s", slow_statement_params=True)
    with front.connect(document) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")
        with cluster.session(tenant="acme") as session:
            session.execute("SELECT id FROM orders WHERE id = %s", (7,))
        latest = cluster.slow_statements()[0]
    assert latest["params"] == [7]
    assert latest["targets"][0]["params"] == ["acme", 7]  # the tenant's condition, then id


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_otel_metrics_record_the_operation_duration(backend: Backend, front: Front) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    url = backend.new_database()
    document = config(backend, [url], otel_metrics=True)
    if front.name == "sync":
        cluster = tenantdb.connect(document, meter_provider=provider)
    else:
        from fronts import BlockingCluster

        cluster = BlockingCluster(tenantdb.connect_async(document, meter_provider=provider))
    with cluster:
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")
        with cluster.session(tenant="acme") as session:
            session.execute("INSERT INTO orders (id) VALUES (%s)", (1,))
            with pytest.raises(tenantdb.IntegrityError):
                session.execute("INSERT INTO orders (id) VALUES (%s)", (1,))
    data = reader.get_metrics_data()
    assert data is not None
    (histogram,) = [
        metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "db.client.operation.duration"
    ]
    assert histogram.unit == "s"
    points = {
        (p.attributes["db.operation.name"], p.attributes.get("error.type")): p
        for p in histogram.data.data_points
    }
    assert points[("INSERT", None)].count == 1
    failed = points[("INSERT", "tenantdb.errors.IntegrityError")]
    assert failed.count == 1
    assert failed.attributes["db.response.status_code"] == "1555"
    assert failed.attributes["db.system.name"] == "sqlite"
    assert list(failed.explicit_bounds) == [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]
    provider.shutdown()


def otel_points(reader: Any) -> dict[str, Any]:
    """Metric name → its metric, from one collection of ``reader``."""
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def by(metric: Any, *keys: str) -> dict[tuple[Any, ...], Any]:
    """A metric's data points by the values of the attributes ``keys``."""
    return {tuple(p.attributes.get(k) for k in keys): p for p in metric.data.data_points}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_otel_instruments_carry_what_prometheus_shows_and_move_with_statements(
    backend: Backend, front: Front
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from tenantdb.telemetry import INSTRUMENT_NAMES

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    urls = backend.new_databases(2)
    document = config(backend, urls, otel_metrics=True, tenant_labels=True, top_tenants=1)
    # One statement, then no more for a thousand seconds.
    limits = {"requests_per_second": 0.001, "burst": 1}
    document["tenants"]["globex"] = {"datasource": "ds1", "limits": limits}
    with front.connect(document, meter_provider=provider) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")
            admin.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
            admin.executemany("INSERT INTO events (id) VALUES (%s)", [(i,) for i in range(8)])
        with cluster.session(tenant="acme") as session:
            for i in range(3):
                session.execute("INSERT INTO orders (id) VALUES (%s)", (i,))
        with cluster.session(tenant="globex") as session:
            session.execute("SELECT id FROM orders WHERE id = %s", (1,))
            with pytest.raises(tenantdb.RateLimitedError):
                session.execute("SELECT id FROM orders WHERE id = %s", (1,))
        first = otel_points(reader)

        with cluster.session(tenant="acme") as session:
            session.execute("INSERT INTO orders (id) VALUES (%s)", (10,))
            session.execute("SELECT COUNT(*) FROM events")  # 4 tables on 2 datasources
        second = otel_points(reader)
    provider.shutdown()

    # Every instrument with something to show is there: not the replicas' (there are
    # none), shadow mode's (it is off) or the propagation delay (no other process
    # changed a tenant).
    nothing_to_show = {
        "tenantdb.replica.lag",
        "tenantdb.replica.state",
        "tenantdb.shadow.refusals",
        "tenantdb.registry.propagation.duration",
    }
    assert set(INSTRUMENT_NAMES) - set(second) == nothing_to_show

    keys = ("db.operation.name", "tenantdb.datasource", "tenantdb.role", "tenantdb.outcome")
    inserts = by(first["tenantdb.statements"], *keys)
    assert inserts[("INSERT", "ds0", "primary", "ok")].value == 4  # 3 tenant + executemany
    assert inserts[("INSERT", "ds1", "primary", "ok")].value == 1
    moved = by(second["tenantdb.statements"], *keys)
    assert moved[("INSERT", "ds0", "primary", "ok")].value == 5
    assert moved[("SELECT", "ds1", "primary", "ok")].value == 2  # globex's read, the COUNT
    assert first["tenantdb.statements"].unit == "{statement}"
    assert {p.attributes["db.system.name"] for p in moved.values()} == {"sqlite"}

    # Pools, by the semantic conventions' names and attributes.
    pool_keys = ("db.client.connection.pool.name", "db.client.connection.state")
    connections = by(second["db.client.connection.count"], *pool_keys)
    assert set(connections) >= {("ds0/primary", "used"), ("ds0/primary", "idle")}
    assert connections[("ds0/primary", "used")].value == 0  # every session has ended
    assert connections[("ds0/primary", "idle")].value >= 1
    assert second["db.client.connection.count"].unit == "{connection}"
    maximum = by(second["db.client.connection.max"], "db.client.connection.pool.name")
    assert maximum[("ds0/primary",)].value == 3
    pending = by(second["db.client.connection.pending_requests"], "tenantdb.datasource")
    assert pending[("ds1",)].value == 0

    # Fan-out: a synchronous histogram, one point per statement that had targets.
    (width_before,) = first["tenantdb.fan_out.width"].data.data_points
    (width,) = second["tenantdb.fan_out.width"].data.data_points
    assert width.count == width_before.count + 2
    assert width.sum == width_before.sum + 1 + 4
    assert list(width.explicit_bounds) == [1, 2, 4, 8, 16, 32, 64, 128, 256]

    # Tenant labels: the top 1 tenant by name, the rest summed (as for Prometheus).
    tenants = by(second["tenantdb.tenant.statements"], "tenantdb.tenant")
    assert {name: p.value for name, p in tenants.items()} == {("acme",): 5, (OTHER_TENANTS,): 2}
    refusals = by(second["tenantdb.rate_limit.refusals"], "tenantdb.limit")
    assert refusals[("requests_per_second",)].value == 1

    states = by(second["tenantdb.breaker.state"], "tenantdb.endpoint", "tenantdb.breaker.state")
    assert states[("primary", "closed")].value == 1
    assert states[("primary", "open")].value == 0
    transitions = by(second["tenantdb.breaker.transitions"], "tenantdb.breaker.state")
    assert {p.value for p in transitions.values()} == {0}

    lookups = by(second["tenantdb.template_cache.lookups"], "tenantdb.template_cache.result")
    assert (
        lookups[("miss",)].value
        > by(first["tenantdb.template_cache.lookups"], "tenantdb.template_cache.result")[
            ("miss",)
        ].value
    )  # the COUNT(*) was a new text
    (cached,) = second["tenantdb.registry.tenants"].data.data_points
    assert cached.value == 2
    (generation,) = second["tenantdb.registry.generation"].data.data_points
    assert generation.value >= 1
    (age,) = second["tenantdb.registry.last_change.age"].data.data_points
    assert age.value >= 0
    assert second["tenantdb.registry.last_change.age"].unit == "s"
    forced = by(second["tenantdb.reads.forced_to_primary"], "tenantdb.datasource")
    assert forced[("ds0",)].value == 0
    (in_flight,) = second["tenantdb.quota.in_flight"].data.data_points
    assert in_flight.value == 0


GLOBAL_PROVIDER_SET_LATER = """
import sys
import tenantdb
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

url = sys.argv[1]
document = {"datasources": {"ds0": {"url": url}}, "telemetry": {"otel_metrics": True}}
with tenantdb.connect(document) as cluster:  # before the application sets its provider
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    with cluster.session(admin=True) as admin:
        admin.execute("SELECT 1")
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "tenantdb.statements":
                    (point,) = metric.data.data_points
                    print(point.attributes["db.operation.name"], point.value)
"""


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_otel_instruments_reach_a_global_provider_set_after_connect(backend: Backend) -> None:
    """In a process of its own: a global meter provider can be set only once."""
    done = subprocess.run(
        [sys.executable, "-c", GLOBAL_PROVIDER_SET_LATER, backend.new_database()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "SELECT 1\n"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_closed_cluster_leaves_the_otel_instruments(backend: Backend, front: Front) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    document = config(backend, [backend.new_database()], otel_metrics=True)
    with front.connect(document, meter_provider=provider) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute("SELECT 1")
        assert "tenantdb.statements" in otel_points(reader)
    # Its callbacks no longer read it (OpenTelemetry cannot remove an instrument).
    assert "tenantdb.statements" not in otel_points(reader)
    provider.shutdown()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_change_made_by_one_cluster_is_timed_by_the_other(
    backend: Backend, front: Front, tmp_path: Any
) -> None:
    """Two clusters ("processes") on one registry store: the one that did not write the
    change observes its propagation delay, once, in Prometheus and in OpenTelemetry."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    document = config(backend, [backend.new_database()], otel_metrics=True)
    document["registry"] = {"url": f"sqlite:///{tmp_path}/registry.db?poll_interval=0.01"}
    with (
        tenantdb.connect(document) as writer,
        front.connect(document, meter_provider=provider) as reader_cluster,
    ):
        assert reader_cluster.tenants.wait_ready(30)
        assert writer.tenants.wait_ready(30)
        writer.tenants.put({"id": "acme", "status": "read_only"})
        deadline = time.monotonic() + 30  # a hang guard, not a measurement
        while reader_cluster.tenants.get("acme").status != "read_only":
            assert time.monotonic() < deadline, "the change never arrived"
            time.sleep(0.01)
        observed = scrape(reader_cluster)["tenantdb_registry_propagation_seconds"]
        written = scrape(writer)["tenantdb_registry_propagation_seconds"]
        points = otel_points(reader)
    provider.shutdown()

    def count_and_sum(family: Any) -> tuple[float, float]:
        values = {s.name: s.value for s in family.samples if not s.labels.get("le")}
        return (
            values["tenantdb_registry_propagation_seconds_count"],
            values["tenantdb_registry_propagation_seconds_sum"],
        )

    count, total = count_and_sum(observed)
    assert count == 1
    assert total >= 0
    assert count_and_sum(written) == (0, 0)  # its own put is not a propagation
    (point,) = points["tenantdb.registry.propagation.duration"].data.data_points
    assert point.count == 1
    assert point.sum == total
    assert points["tenantdb.registry.propagation.duration"].unit == "s"
