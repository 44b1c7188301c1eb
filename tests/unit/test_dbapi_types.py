"""tenantdb.dbapi's PEP 249 type objects against each driver's type codes (pure)."""

from __future__ import annotations

import pytest

from tenantdb import dbapi

KINDS = {
    "STRING": dbapi.STRING,
    "BINARY": dbapi.BINARY,
    "NUMBER": dbapi.NUMBER,
    "DATETIME": dbapi.DATETIME,
    "ROWID": dbapi.ROWID,
}


@pytest.mark.parametrize(
    ("declared", "kind"),
    [
        ("INTEGER", "NUMBER"),
        ("BIGINT", "NUMBER"),
        ("VARCHAR(64)", "STRING"),
        ("text", "STRING"),
        ("CLOB", "STRING"),
        ("BLOB", "BINARY"),
        ("REAL", "NUMBER"),
        ("DOUBLE PRECISION", "NUMBER"),
        ("NUMERIC(12, 2)", "NUMBER"),
        ("BOOLEAN", "NUMBER"),
        ("DATE", "DATETIME"),
        ("DATETIME", "DATETIME"),
        ("TIMESTAMP", "DATETIME"),
        # SQLite's rule order: INT before everything, CHAR before DATE
        ("DATEINT", "NUMBER"),
        ("CHARDATE", "STRING"),
    ],
)
def test_sqlite_declared_types_follow_the_affinity_rules(declared: str, kind: str) -> None:
    assert [name for name, obj in KINDS.items() if declared == obj] == [kind]
    assert [name for name, obj in KINDS.items() if obj == declared] == [kind]


@pytest.mark.parametrize("code", [None, ""])
def test_no_declared_type_equals_no_type_object(code: object) -> None:
    assert all(obj != code for obj in KINDS.values())


def test_driver_codes_still_match() -> None:
    assert dbapi.STRING == 25  # psycopg text OID
    assert dbapi.NUMBER == 3  # PyMySQL FIELD_TYPE.LONG
    assert dbapi.NUMBER != 25
