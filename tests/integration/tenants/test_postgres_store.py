"""The PostgreSQL store keeps the store contract on a real server, plus what is its own:
malformed rows, notification payloads, lost connections, table names."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from tenantdb.errors import ConfigError, InvalidTenantError, RegistryUnavailableError
from tenantdb.tenants._record import parse_record
from tenantdb.tenants.stores import TenantStore, open_store
from tenantdb.tenants.stores.postgres import PostgresStore

from .proxy import TcpProxy
from .store_contract import WAIT_S, OpenStore, StoreContract, Watcher, record

pytestmark = pytest.mark.postgres

Proxy = Callable[[str], tuple[TcpProxy, str]]


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def open_store(self, pg_registry_url: str) -> OpenStore:
        def open_one() -> TenantStore:
            return PostgresStore(pg_registry_url)

        return open_one


def _table(url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["table"][0]


@pytest.fixture
def raw(pg_registry_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain psycopg connection to the store's database, outside tenantdb."""
    database_url = pg_registry_url.split("?", 1)[0]
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        yield conn


@pytest.fixture
def store(pg_registry_url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(pg_registry_url)
    yield opened
    opened.close()


def test_open_store_builds_a_postgres_store(pg_registry_url: str) -> None:
    opened = open_store(pg_registry_url)
    try:
        assert isinstance(opened, PostgresStore)
        assert opened.table == _table(pg_registry_url)
    finally:
        opened.close()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[1, 2]", id="json-array"),
        pytest.param('{"status": 7}', id="wrong-field-type"),
    ],
)
def test_a_malformed_row_loads_as_a_record_the_registry_rejects(
    store: PostgresStore, raw: psycopg.Connection[tuple[object, ...]], data: str
) -> None:
    assert store.write(record("acme"), expected_version=0)  # creates the table
    raw.execute(
        sql.SQL("UPDATE {} SET data = %s WHERE id = %s").format(sql.Identifier(store.table)),
        (data, "acme"),
    )
    loaded = store.load("acme")
    assert loaded is not None
    assert loaded["id"] == "acme"
    with pytest.raises(InvalidTenantError, match="acme"):
        parse_record(loaded)
    assert [r["id"] for r in store.load_all()] == ["acme"]


def test_a_notification_carries_only_id_and_version(
    store: PostgresStore, raw: psycopg.Connection[tuple[object, ...]]
) -> None:
    store.versions()  # creates the table and its trigger
    raw.execute(sql.SQL("LISTEN {}").format(sql.Identifier(store.channel)))
    store.write(record("acme", features={"secret_flag": True}), expected_version=0)
    store.write(record("acme", 2, status="suspended"), expected_version=1)
    store.remove("acme")
    payloads = [json.loads(n.payload) for n in raw.notifies(timeout=WAIT_S, stop_after=3)]
    assert payloads == [
        {"id": "acme", "version": 1},
        {"id": "acme", "version": 2},
        {"id": "acme", "version": None},
    ]


def test_a_failed_compare_and_set_sends_no_notification(
    store: PostgresStore, raw: psycopg.Connection[tuple[object, ...]]
) -> None:
    store.versions()
    raw.execute(sql.SQL("LISTEN {}").format(sql.Identifier(store.channel)))
    store.write(record("acme"), expected_version=0)
    assert not store.write(record("acme", 5), expected_version=4)
    assert not store.remove("ghost")
    store.write(record("marker"), expected_version=0)
    payloads = [json.loads(n.payload) for n in raw.notifies(timeout=WAIT_S, stop_after=2)]
    assert payloads == [{"id": "acme", "version": 1}, {"id": "marker", "version": 1}]


def test_watch_raises_registry_unavailable_when_the_connection_is_cut(
    pg_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(pg_registry_url)
    cut_store = PostgresStore(url)
    watcher = Watcher(cut_store).start()
    try:
        tcp.cut()
        watcher.thread.join(WAIT_S)
        assert not watcher.thread.is_alive(), "watch kept running after the connection was cut"
        assert isinstance(watcher.error, RegistryUnavailableError), watcher.error
        assert watcher.error.orig is not None
    finally:
        watcher.stop.set()
        cut_store.close()


def test_requests_raise_registry_unavailable_without_the_password(
    pg_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(pg_registry_url)
    parts = urllib.parse.urlsplit(url)
    with_password = urllib.parse.urlunsplit(
        parts._replace(netloc=f"postgres:hunter2-secret@{parts.hostname}:{parts.port}")
    )
    cut_store = PostgresStore(with_password)
    try:
        assert cut_store.versions() == {}  # trust auth ignores the password
        tcp.cut()
        for call in (cut_store.versions, lambda: cut_store.load("acme")):
            with pytest.raises(RegistryUnavailableError) as caught:
                call()
            assert "hunter2" not in str(caught.value)
            assert "postgres:***@" in str(caught.value)
            assert caught.value.orig is not None
        tcp.restore()
        assert cut_store.versions() == {}, "the store reconnects once the server answers"
    finally:
        cut_store.close()


def test_a_read_after_the_server_dropped_idle_connections_succeeds(
    pg_registry_url: str, proxy: Proxy
) -> None:
    tcp, url = proxy(pg_registry_url)
    restarted = PostgresStore(url)
    try:
        assert restarted.write(record("acme"), expected_version=0)
        tcp.cut()  # the idle connection dies, as when the server restarts
        tcp.restore()
        assert restarted.load("acme") == record("acme")
        assert restarted.versions() == {"acme": 1}
    finally:
        restarted.close()


def test_close_ends_a_running_watch(pg_registry_url: str) -> None:
    closing = PostgresStore(pg_registry_url)
    watcher = Watcher(closing).start()
    try:
        closing.close()
        watcher.thread.join(WAIT_S)
        assert not watcher.thread.is_alive()
        assert watcher.error is None
    finally:
        watcher.stop.set()


def test_stores_starting_together_create_the_table_once(pg_registry_url: str) -> None:
    import threading

    stores = [PostgresStore(pg_registry_url) for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def start(one: PostgresStore) -> None:
        try:
            barrier.wait(WAIT_S)
            one.versions()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    try:
        assert errors == []
        assert stores[0].write(record("acme"), expected_version=0)
        assert stores[-1].load("acme") == record("acme")
    finally:
        for one in stores:
            one.close()


@pytest.mark.parametrize(
    "table", ["bad-name", "drop table x", "1starts_with_digit", "x" * 60, 'quo"te', ""]
)
def test_a_table_name_that_is_not_an_identifier_is_refused(table: str) -> None:
    url = "postgresql://app:pw@127.0.0.1:5432/db?" + urllib.parse.urlencode({"table": table})
    with pytest.raises(ConfigError, match="not a plain identifier") as caught:
        PostgresStore(url)
    assert "registry.url" in str(caught.value)
    assert ":pw@" not in str(caught.value)


def test_the_url_names_the_table_and_is_shown_without_its_password() -> None:
    built = PostgresStore("postgresql://app:pw@127.0.0.1:5432/db?sslmode=disable&table=tenants_x")
    assert (built.table, built.channel) == ("tenants_x", "tenants_x_changes")
    assert built.url == "postgresql://app:***@127.0.0.1:5432/db?sslmode=disable&table=tenants_x"
    assert ":pw@" not in repr(built)
    assert PostgresStore("postgresql://app@127.0.0.1/db").table == "tenantdb_tenants"
