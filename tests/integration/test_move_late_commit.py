"""A write whose transaction commits late reaches the target all the same.

The change capture numbers each change when the trigger runs, not when its transaction
commits: a transaction that writes the tenant's row early and commits after later
transactions have been applied has a change numbered below the others. Catch-up must
still apply it, and the freeze must still check it, however late it commits (before the
fence, which waits for it)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import tenantdb
from tenantdb.admin import MoveSettings, start_move
from tenantdb.core.moves import MoveState

from .conftest import Backend
from .test_move_tenant import rows, world  # noqa: F401  (world is a fixture)

SERVERS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
@pytest.mark.parametrize("commit_at", ["phase verifying", "verified"])
def test_a_change_committed_after_later_ones_were_applied_is_not_lost(
    backend: Backend,
    world: tuple[list[str], dict[str, Any]],  # noqa: F811  (the fixture imported above)
    commit_at: str,
) -> None:
    urls, document = world
    p = backend.placeholder
    late = backend.raw_connect(urls[0])
    opened = False

    def orchestrate(step: str, state: MoveState) -> None:
        nonlocal opened
        if step == "phase catching_up" and not opened:
            # A transaction writes acme's row 1 and stays open (its change is numbered
            # now); two later writes commit at once and are applied first.
            opened = True
            cursor = late.cursor()
            if backend.name == "mysql":
                cursor.execute("BEGIN")
            where = "WHERE tenant_id = 'acme' AND id ="
            cursor.execute(f"UPDATE orders SET amount = {p} {where} 1", (-1,))
            backend.query(urls[0], f"UPDATE orders SET amount = -2 {where} 2")
            backend.query(urls[0], f"UPDATE orders SET amount = -3 {where} 3")
        elif step == commit_at and opened:
            late.commit()

    with contextlib.closing(late), tenantdb.connect(document) as cluster:
        if backend.name == "postgres":
            late.autocommit = False
        else:
            late.autocommit(False)
        settings = MoveSettings(change_batch=1, backlog=0)
        state = start_move(cluster, "acme", "ds1", settings=settings, on_step=orchestrate)
        assert state.phase == "cleaning"
    moved = {row[0]: row[1] for row in rows(backend, urls[1], "acme")}
    source = {row[0]: row[1] for row in rows(backend, urls[0], "acme")}
    assert (moved[1], moved[2], moved[3]) == (-1, -2, -3)
    assert moved == source
