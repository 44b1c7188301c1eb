"""``tenantdb demo``: the README's main job.

Until the execution layer lands, the demo routes a tour of statements over the bundled
sample configuration and prints each plan; it connects to nothing.
"""

from __future__ import annotations

from importlib import resources

import typer

from .._cluster import connect
from ..errors import Error
from ._explain import format_plan

TOUR: list[tuple[str, tuple[object, ...] | None, str | None, bool]] = [
    ("SELECT id, total FROM orders WHERE id = %s", (42,), "acme", False),
    ("SELECT id, total FROM orders WHERE id = %s", (42,), "globex", False),
    ("SELECT * FROM user_events WHERE user_id = %s", (1001,), None, False),
    (
        "SELECT user_id, COUNT(*), AVG(amount) FROM user_events GROUP BY user_id "
        "ORDER BY user_id LIMIT 10",
        None,
        None,
        False,
    ),
    (
        "INSERT INTO user_events (user_id, kind) VALUES (%s, %s), (%s, %s), (%s, %s)",
        (1, "login", 2, "login", 3, "logout"),
        None,
        False,
    ),
    (
        "SELECT a.account_id, l.amount FROM accounts a JOIN account_ledger l "
        "ON l.account_id = a.account_id WHERE a.account_id IN (%s, %s)",
        (7, 8),
        None,
        False,
    ),
    (
        "SELECT * FROM audit_log WHERE created_at >= %s AND created_at < %s "
        "ORDER BY created_at DESC LIMIT 20 OFFSET 40",
        ("2026-02-15", "2026-04-01"),
        None,
        False,
    ),
    ("SELECT name FROM countries WHERE code = %s", ("DE",), None, False),
    ("UPDATE countries SET name = %s WHERE code = %s", ("Germany", "DE"), None, True),
    ("DELETE FROM user_events WHERE kind = %s", ("login",), None, False),
    ("SELECT * FROM accounts a JOIN user_events e ON e.user_id = a.account_id", None, None, False),
]


def demo_command() -> None:
    """Route a tour of statements over the bundled sample configuration and print the plans."""
    sample = resources.files("tenantdb") / "examples" / "sample.toml"
    with resources.as_file(sample) as path, connect(path) as cluster:
        typer.echo(f"tenantdb demo: routing over {path.name} ({cluster.topology!r})\n")
        for sql, params, tenant, admin in TOUR:
            typer.echo(f"$ {sql}" + (f"   params={list(params)}" if params else ""))
            try:
                plan = cluster.explain(sql, params, tenant=tenant, admin=admin)
            except Error as exc:
                typer.echo(f"  refused ({type(exc).__name__}): {exc}\n")
                continue
            typer.echo(format_plan(plan) + "\n")
