"""The PostgreSQL store keeps the store contract on a real server, plus what is its own:
malformed rows, notification payloads, lost connections, table names."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from proxy import TcpProxy
from tenantdb.errors import ConfigError, InvalidTenantError, RegistryUnavailableError
from tenantdb.tenants._record import parse_record
from tenantdb.tenants.stores import Change, TenantStore, open_store
from tenantdb.tenants.stores.postgres import PostgresStore

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
        tcp.heal()
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
        tcp.heal()
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


class LoadingWatcher(Watcher):
    """A Watcher whose change handler reloads each tenant, as the registry's does, and
    keeps ``(change, version loaded or None)``."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)
        self.loaded: list[tuple[Change, int | None]] = []

    def _on_change(self, change: Change) -> None:
        loaded = self.store.load(change.tenant_id)
        self.loaded.append((change, loaded["version"] if loaded is not None else None))
        super()._on_change(change)


def test_changes_committed_together_are_delivered_in_order_and_load_their_rows(
    store: PostgresStore, raw: psycopg.Connection[tuple[object, ...]]
) -> None:
    store.versions()  # creates the table and its trigger
    watcher = LoadingWatcher(store)
    watcher.start()
    try:
        table = sql.Identifier(store.table)
        with raw.transaction():  # the notifications are sent together, at commit
            insert = sql.SQL("INSERT INTO {} (id, version, data) VALUES (%s, %s, '{{}}')")
            raw.execute(insert.format(table), ("acme", 1))
            raw.execute(sql.SQL("UPDATE {} SET version = 2 WHERE id = 'acme'").format(table))
            raw.execute(insert.format(table), ("beta", 1))
            raw.execute(insert.format(table), ("gone", 1))
            raw.execute(sql.SQL("DELETE FROM {} WHERE id = 'gone'").format(table))
        watcher.wait_for(lambda seen: len(seen) >= 5)
    finally:
        watcher.close()
    assert watcher.error is None
    # Every notification, in commit order; each reload sees the committed state.
    assert [(c.tenant_id, c.version, v) for c, v in watcher.loaded] == [
        ("acme", 1, 2),
        ("acme", 2, 2),
        ("beta", 1, 1),
        ("gone", 1, None),
        ("gone", None, None),
    ]


def test_a_watch_delivers_and_reloads_while_every_lent_connection_is_busy(
    pg_registry_url: str,
) -> None:
    # One lent connection, held elsewhere: a reload that needed one would wait for it
    # (and fail after the pool's timeout). The watch reads on its own connection.
    busy = PostgresStore(pg_registry_url, max_connections=1)
    writer = PostgresStore(pg_registry_url)
    watcher = LoadingWatcher(busy)
    watcher.start()
    held = busy._acquire()
    try:
        assert writer.write(record("acme"), expected_version=0)
        assert writer.write(record("acme", 2, status="suspended"), expected_version=1)
        watcher.wait_for(lambda seen: len(seen) >= 2)
        assert watcher.error is None
        (first, first_loaded), (second, second_loaded) = watcher.loaded
        assert (first.version, second.version, second_loaded) == (1, 2, 2)
        assert first_loaded in (1, 2)  # 2 when both notifications arrived together
    finally:
        busy._pool.release(held)
        watcher.close()
        busy.close()
        writer.close()


def test_a_change_committed_while_the_watch_reads_rows_is_delivered_next(
    pg_registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = PostgresStore(pg_registry_url)
    writer = PostgresStore(pg_registry_url)
    read = watched._read_rows
    reads: list[list[str]] = []

    def read_with_a_write_first(
        conn: psycopg.Connection[tuple[object, ...]],
        tenant_ids: list[str],
        arrived: list[psycopg.Notify],
    ) -> dict[str, tuple[object, object, object] | None]:
        reads.append(sorted(tenant_ids))
        if len(reads) == 1:  # committed before this read's query, after its notification
            assert writer.write(record("beta"), expected_version=0)
        return read(conn, tenant_ids, arrived)

    monkeypatch.setattr(watched, "_read_rows", read_with_a_write_first)
    watcher = LoadingWatcher(watched)
    watcher.start()
    try:
        assert writer.write(record("acme"), expected_version=0)
        watcher.wait_for(lambda seen: {c.tenant_id for c in seen} == {"acme", "beta"})
    finally:
        watcher.close()
        watched.close()
        writer.close()
    assert watcher.error is None
    assert [(c.tenant_id, c.version, v) for c, v in watcher.loaded] == [
        ("acme", 1, 1),
        ("beta", 1, 1),
    ]
    assert reads[0] == ["acme"]


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
