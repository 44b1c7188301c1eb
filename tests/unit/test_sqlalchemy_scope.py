"""The pure parts of the SQLAlchemy dialects: which session a statement's options and the
tenant context choose (the documented precedence), and how reflected names of a physical
table read for the logical one."""

from __future__ import annotations

import pytest

from tenantdb.errors import InterfaceError
from tenantdb.integrations.sqlalchemy._logical import logical_name, rename_reflected
from tenantdb.integrations.sqlalchemy._scope import ROUTED, Scope, scope_of


@pytest.mark.parametrize(
    ("options", "ddl", "context", "expected"),
    [
        ({}, False, None, (None, False)),  # nothing named: no tenant
        ({}, False, "acme", ("acme", False)),  # the context
        ({"tenantdb_tenant": "globex"}, False, "acme", ("globex", False)),  # option wins
        ({"tenantdb_admin": True}, False, "acme", (None, True)),  # admin wins
        ({}, True, None, (None, True)),  # DDL with nothing named: admin
        ({}, True, "acme", ("acme", False)),  # DDL inside a tenant context: that tenant
        ({"tenantdb_tenant": "globex"}, True, None, ("globex", False)),
        ({"tenantdb_admin": False}, False, "acme", ("acme", False)),
    ],
)
def test_precedence(
    options: dict[str, object],
    ddl: bool,
    context: str | None,
    expected: tuple[str | None, bool],
) -> None:
    assert scope_of(options, ddl=ddl).resolve(context) == expected


def test_no_option_is_the_routed_scope() -> None:
    assert scope_of({"isolation_level": "AUTOCOMMIT"}) is ROUTED
    assert scope_of({}, ddl=True) == Scope(ddl=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tenantdb_tenant": "acme", "tenantdb_admin": True}, "keep one of them"),
        ({"tenantdb_tenant": 7}, "takes a tenant id"),
        ({"tenantdb_tenant": ""}, "takes a tenant id"),
        ({"tenantdb_admin": "yes"}, "takes True or False"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InterfaceError, match=message):
        scope_of(options)


@pytest.mark.parametrize(
    ("name", "physical", "logical", "expected"),
    [
        ("users_0_pkey", "users_0", "users", "users_pkey"),  # PostgreSQL's constraint name
        ("ix_users_name_0", "users_0", "users", "ix_users_name"),  # the fan-out's suffix
        ("ix_users_name", "users", "users", "ix_users_name"),  # one table: as it is
        ("audit_20260101_idx", "audit_20260101", "audit", "audit_idx"),
        ("unrelated", "users_1", "users", "unrelated"),
    ],
)
def test_logical_names(name: str, physical: str, logical: str, expected: str) -> None:
    assert logical_name(name, physical, logical) == expected


def test_reflected_names_and_referred_tables() -> None:
    answer = [
        {"name": "fk_events_users_1", "referred_table": "users_1", "constrained_columns": []},
        {"name": None, "referred_table": "countries"},
    ]
    renamed = rename_reflected(answer, "events_1", "events", {"users_1": "users"})
    assert renamed == [
        {"name": "fk_events_users", "referred_table": "users", "constrained_columns": []},
        {"name": None, "referred_table": "countries"},
    ]
