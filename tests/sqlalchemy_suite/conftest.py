"""SQLAlchemy's own dialect test suite (``sqlalchemy.testing.suite``) against the tenantdb
dialects. Not collected by ``make test``: run ``make sqla-suite`` (``SQLA_DB=sqlite``,
``postgresql`` or ``mysql``), which runs pytest in this directory with its own pytest.ini
and setup.cfg (the ``[db]`` URLs and the requirements class)."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import registry

# The testing plugin asks for the bare backend name ("tenantdb") to learn the preferred
# driver; any tenantdb dialect answers it (none is preferred over another).
registry.register("tenantdb", "tenantdb.integrations.sqlalchemy", "SQLiteDialect")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402, F403
