"""Admin jobs run in admin sessions of their own, which start nothing else (issue 15).

With ``precreate = "auto"``, ``cluster.session()`` starts the background precreation;
the admin jobs (DDL, precreation, the tenant-column check) must not: a check changes
nothing, and a one-shot ``tenantdb ddl`` must not race a background pass.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

import tenantdb
from tenantdb.admin import apply_schema, audit_tenant_columns, precreate

from .conftest import Backend

SCHEMA = "CREATE TABLE metrics (id INTEGER PRIMARY KEY, created_at DATE NOT NULL)"


def _precreate_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tenantdb-precreate"]


def test_admin_jobs_do_not_start_the_background_precreation(backend: Backend) -> None:
    config: dict[str, Any] = {
        "dialect": backend.dialect,
        "datasources": {"ds0": {"url": backend.new_database()}},
        "tables": {
            "metrics": {
                "strategy": "time_range",
                "key": "created_at",
                "interval": "month",
                "start": "2027-01-01",
                "tenant_scoped": False,
            }
        },
        "precreate": "auto",
    }
    before = _precreate_threads()
    with tenantdb.connect(config, today=lambda: datetime.date(2027, 2, 10)) as cluster:
        assert cluster.precreator is not None
        assert apply_schema(cluster, SCHEMA).applied == 3  # 202701 .. 202703 (pre_create 1)
        assert precreate(cluster).skipped == 3
        assert audit_tenant_columns(cluster) == []
        assert cluster.precreator.passes == 0
        assert _precreate_threads() == before
