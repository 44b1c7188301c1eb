"""OpenTelemetry spans of tenantdb's statements, read back from the SDK's in-memory exporter
(the provider is passed to ``connect``, so the process-wide one is never touched)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import tenantdb
from fronts import Front

from .conftest import Backend

SYSTEM = {"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql"}


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def config(backend: Backend, urls: list[str], **telemetry: Any) -> dict[str, Any]:
    return {
        "dialect": backend.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {
            "orders": {"strategy": "tenant"},
            "events": {
                "strategy": "hash_mod",
                "key": "id",
                "shards": 4,
                "datasources": [f"ds{i}" for i in range(len(urls))],
                "tenant_scoped": False,
            },
        },
        "tenants": {"acme": {"datasource": "ds0", "limits": {"max_concurrent": 8}}},
        "telemetry": telemetry,
    }


def connect(front: Front, document: dict[str, Any], provider: TracerProvider) -> Any:
    if front.name == "sync":
        return tenantdb.connect(document, tracer_provider=provider)
    from fronts import BlockingCluster

    return BlockingCluster(tenantdb.connect_async(document, tracer_provider=provider))


def create_tables(cluster: Any) -> None:
    with cluster.session(admin=True) as admin:
        admin.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT, amount INTEGER)"
        )
        admin.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")


def spans_named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


def test_a_point_read_is_one_client_span_with_the_database_conventions(
    backend: Backend, front: Front, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    urls = backend.new_databases(2)
    with connect(front, config(backend, urls), provider) as cluster:
        create_tables(cluster)
        with cluster.session(tenant="acme") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (1, 5))
            exporter.clear()
            rows = session.execute("SELECT id, amount FROM orders WHERE id = %s", (1,)).fetchall()
            session.execute("SELECT id, amount FROM orders WHERE id = %s", (2,)).fetchall()
    assert rows == [(1, 5)]
    span, again = exporter.get_finished_spans()
    assert dict(span.attributes or {})["tenantdb.template_cache_hit"] is False  # parsed now
    assert dict(again.attributes or {})["tenantdb.template_cache_hit"] is True
    # acme has a concurrency limit: the time its checks took is on the span.
    assert dict(span.attributes or {})["tenantdb.rate_limit_wait_s"] >= 0
    assert span.name == "SELECT orders"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["db.system.name"] == SYSTEM[backend.name]
    assert attributes["db.operation.name"] == "SELECT"
    assert attributes["db.collection.name"] == "orders"
    assert attributes["db.query.summary"] == "SELECT orders"
    assert attributes["tenantdb.tenant"] == "acme"
    assert attributes["tenantdb.route"] == "single"
    assert attributes["tenantdb.target_count"] == 1
    assert attributes["tenantdb.datasource"] == "ds0"
    assert attributes["tenantdb.role"] == "primary"
    assert list(attributes["tenantdb.physical_tables"]) == ["orders"]
    assert "db.query.text" not in attributes  # not opted in
    if backend.name != "sqlite":
        assert attributes["server.address"] == "127.0.0.1"
        assert isinstance(attributes["server.port"], int)
        assert attributes["db.namespace"] == urls[0].rsplit("/", 1)[1]
    # No parameter value anywhere on the span.
    assert all(str(value) != "5" for value in attributes.values())


def test_a_scatter_read_has_a_child_span_per_datasource(
    backend: Backend, front: Front, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    urls = backend.new_databases(2)
    document = config(backend, urls, query_text=True)
    with connect(front, document, provider) as cluster:
        create_tables(cluster)
        with cluster.session(admin=True) as session:
            session.executemany(
                "INSERT INTO events (id, kind) VALUES (%s, %s)", [(i, "k") for i in range(8)]
            )
            exporter.clear()
            count = session.execute("SELECT COUNT(*) FROM events").fetchall()
    assert count == [(8,)]
    spans = exporter.get_finished_spans()
    (parent,) = [s for s in spans if s.name == "SELECT events"]
    children = [s for s in spans if s is not parent]
    assert sorted(s.name for s in children) == ["SELECT ds0", "SELECT ds1"]
    for child in children:
        assert child.parent is not None
        assert child.parent.span_id == parent.context.span_id
        assert child.context.trace_id == parent.context.trace_id
        assert child.kind is SpanKind.CLIENT
        tables = sorted(dict(child.attributes or {})["tenantdb.physical_tables"])
        assert len(tables) == 2
        assert all(t.startswith("events_") for t in tables)
    attributes = dict(parent.attributes or {})
    assert attributes["tenantdb.route"] == "scatter"
    assert attributes["tenantdb.target_count"] == 4
    assert attributes["db.query.text"] == "SELECT COUNT(*) FROM events"


def test_a_failed_write_marks_its_span_with_the_error_and_status_code(
    backend: Backend, front: Front, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    urls = backend.new_databases(1)
    with connect(front, config(backend, urls), provider) as cluster:
        create_tables(cluster)
        with cluster.session(tenant="acme") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (1, 5))
            exporter.clear()
            with pytest.raises(tenantdb.IntegrityError):
                session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (1, 6))
    (span,) = exporter.get_finished_spans()
    assert span.name == "INSERT orders"
    assert span.status.status_code is StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "tenantdb.errors.IntegrityError"
    expected_code = {"postgres": "23505", "mysql": "1062", "sqlite": "1555"}[backend.name]
    assert attributes["db.response.status_code"] == expected_code


def test_spans_nest_under_the_applications_current_span(
    backend: Backend, front: Front, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    urls = backend.new_databases(2)
    tracer = provider.get_tracer("the application")
    with connect(front, config(backend, urls), provider) as cluster:
        create_tables(cluster)
        exporter.clear()
        with (
            tracer.start_as_current_span("request") as request,
            cluster.session(admin=True) as session,
        ):
            session.execute("SELECT COUNT(*) FROM events").fetchall()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    statement = spans["SELECT events"]
    assert statement.parent is not None
    assert statement.parent.span_id == request.get_span_context().span_id
    assert spans["SELECT ds1"].context.trace_id == request.get_span_context().trace_id


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tracing_off_makes_no_span(
    backend: Backend, front: Front, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    urls = backend.new_databases(1)
    with connect(front, config(backend, urls, tracing=False), provider) as cluster:
        create_tables(cluster)
        with cluster.session(tenant="acme") as session:
            session.execute("SELECT id FROM orders").fetchall()
    assert exporter.get_finished_spans() == ()
