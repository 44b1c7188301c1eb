"""The move log on each server: a move's state read back as written, and only one of two
movers holding the same revision may write it."""

from __future__ import annotations

import contextlib

import pytest

import tenantdb
from tenantdb.admin import MoveConflictError, MoveLog
from tenantdb.core.moves import MovedTable, MoveState

from .conftest import Backend


def state(move_id: str = "m1", tenant: str = "acme") -> MoveState:
    return MoveState(
        move_id=move_id,
        tenant=tenant,
        source="ds0",
        target="ds1",
        tables=(MovedTable("orders", "orders", ("id",)),),
    )


def test_a_move_is_recorded_read_back_and_written_by_one_mover_only(backend: Backend) -> None:
    url = backend.new_database()
    config = {"dialect": backend.dialect, "datasources": {"ds1": {"url": url}}}
    with (
        contextlib.closing(tenantdb.connect(config)) as cluster,
        cluster.session(admin=True) as admin,
    ):
        log = MoveLog(admin, "ds1", backend.dialect)
        log.ensure()
        log.ensure()  # idempotent
        assert log.read("m1") is None
        first = state()
        assert log.create(first) == 1
        with pytest.raises(MoveConflictError, match="already in the log on ds1"):
            log.create(first)
        copying = first.entering("capturing", now=1.0)
        revision = log.write(copying, 1)
        assert log.read("m1") == (copying, 2)
        # A second mover that read revision 1 may not write over it.
        with pytest.raises(MoveConflictError, match="written by another mover"):
            log.write(copying.entering("copying", now=2.0), 1)
        assert log.read("m1") == (copying, revision)
        log.create(state("m2"))
        log.create(state("m3", tenant="beta"))
        assert [s.move_id for s, _ in log.of_tenant("acme")] == ["m1", "m2"]
        log.forget("m1")
        assert log.read("m1") is None
