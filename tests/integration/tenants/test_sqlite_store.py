"""The SQLite and in-process stores keep the store contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantdb.tenants.stores import TenantStore
from tenantdb.tenants.stores.memory import MemoryStore
from tenantdb.tenants.stores.sqlite import SQLiteStore

from .store_contract import OpenStore, StoreContract


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def open_store(self, tmp_path: Path) -> OpenStore:
        url = f"sqlite:///{tmp_path}/registry.db?poll_interval=0.01"

        def open_one() -> TenantStore:
            return SQLiteStore(url)

        return open_one


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def open_store(self) -> OpenStore:
        shared = MemoryStore()  # one process: every "open" is the same store
        return lambda: shared
