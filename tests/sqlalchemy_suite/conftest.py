"""SQLAlchemy's own dialect test suite (``sqlalchemy.testing.suite``) against the tenantdb
dialects. Not collected by ``make test``: run ``make sqla-suite`` (``SQLA_DB=sqlite``,
``postgresql`` or ``mysql``), which runs pytest in this directory with its own pytest.ini
and setup.cfg (the ``[db]`` URLs and the requirements class).

Tests that cannot run are listed, with their reason, in EXCLUSIONS.md's "Deselected tests"
table (the one list): this file reads that table and deselects them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.dialects import registry

# The testing plugin asks for the bare backend name ("tenantdb") to learn the preferred
# driver; any tenantdb dialect answers it (none is preferred over another).
registry.register("tenantdb", "tenantdb.integrations.sqlalchemy", "SQLiteDialect")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402, F403

EXCLUSIONS = Path(__file__).with_name("EXCLUSIONS.md")
_ROW = re.compile(r"^\|\s*(?P<backend>[\w*]+)\s*\|\s*`(?P<test>[\w:]+)`\s*\|")


def deselected(backend: str) -> list[tuple[str, str]]:
    """(class, test or "") pairs the "Deselected tests" table lists for ``backend``."""
    found: list[tuple[str, str]] = []
    in_table = False
    for line in EXCLUSIONS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_table = line.strip() == "## Deselected tests"
            continue
        match = _ROW.match(line) if in_table else None
        if match and _covers(match["backend"], backend):
            cls, _, test = match["test"].partition("::")
            found.append((cls, test))
    return found


def _covers(pattern: str, backend: str) -> bool:
    """``*`` covers every backend, ``*_sharded`` every sharded one, a name itself."""
    if pattern.startswith("*"):
        return backend.endswith(pattern[1:])
    return pattern == backend


@pytest.hookimpl(trylast=True)  # after the plugin has made its per-backend test classes
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    backends = config.getoption("db") or ["sqlite"]
    listed = [pair for backend in backends for pair in deselected(backend)]
    kept, removed = [], []
    for item in items:
        cls = item.cls.__name__.split("_", 1)[0] if item.cls is not None else ""
        test = item.name.split("[", 1)[0]
        if any(cls == c and t in (test, "") for c, t in listed):
            removed.append(item)
        else:
            kept.append(item)
    if removed:
        config.hook.pytest_deselected(items=removed)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _sharded_runs_as_admin(request: pytest.FixtureRequest) -> None:
    """The sharded layouts run the suite in admin sessions: its clean-up between tests is
    ``DELETE FROM some_table`` with no key, which tenantdb refuses outside an admin session
    (a statement that would touch every shard); none of the suite's tables is tenant-scoped.
    """
    if any(name.endswith("_sharded") for name in request.config.getoption("db") or []):
        from sqlalchemy.testing import config

        config.db.update_execution_options(tenantdb_admin=True)
