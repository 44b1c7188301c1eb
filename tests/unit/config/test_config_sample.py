"""The bundled sample configuration validates and says what the design promises."""

from __future__ import annotations

import datetime
from pathlib import Path

import tenantdb.config
from tenantdb.config import Config, load_config

SAMPLE = Path(tenantdb.config.__file__).parent.parent / "examples" / "sample.toml"


def _sample() -> Config:
    return load_config(SAMPLE, env={})


def test_sample_is_an_embedded_sqlite_cluster() -> None:
    config = _sample()
    assert config.dialect == "sqlite"
    assert list(config.datasources) == ["ds0", "ds1"]
    assert config.datasources["ds0"].url == "sqlite:///tenantdb-sample/shard0.db"
    assert config.datasources["ds1"].url == "sqlite:///tenantdb-sample/shard1.db"
    assert all(ds.create_dirs for ds in config.datasources.values())  # runs anywhere
    assert config.default_datasource == "ds0"


def test_sample_tables() -> None:
    tables = _sample().tables
    assert {name: table.strategy for name, table in tables.items()} == {
        "orders": "tenant",
        "order_items": "tenant",
        "user_events": "hash_mod",
        "accounts": "mod",
        "account_ledger": "mod",
        "audit_log": "time_range",
        "invoices": "range",
        "sessions": "consistent_hash",
        "countries": "broadcast",
        "settings": "single",
    }
    assert (tables["user_events"].key, tables["user_events"].shards) == ("user_id", 8)
    assert (tables["accounts"].key, tables["accounts"].shards) == ("account_id", 4)
    audit = tables["audit_log"]
    assert (audit.key, audit.interval, audit.start, audit.pre_create) == (
        "created_at",
        "month",
        datetime.date(2026, 1, 1),
        2,
    )
    assert tables["invoices"].boundaries == (100000, 200000, 300000)
    assert tables["invoices"].shards == 4
    assert tables["sessions"].key == "session_id"
    assert tables["settings"].datasource == "ds0"


def test_sample_binding_and_tenants() -> None:
    config = _sample()
    assert config.binding_tables == (("accounts", "account_ledger"),)
    acme, globex, initech = (config.tenants[name] for name in ("acme", "globex", "initech"))
    assert (acme.datasource, acme.isolation) == ("ds0", "shared")
    assert (globex.datasource, globex.isolation, globex.features) == (
        "ds1",
        "shared",
        {"stage": "beta"},
    )
    assert (initech.datasource, initech.status) == ("ds1", "read_only")
