"""Every package face re-exports its public names with a sorted, complete ``__all__``.

One test for all of them (STYLE.md, "A small public face"); a package whose face carries
more of a contract keeps its own tests beside this (``tenantdb`` itself, ``config``,
the strategies).
"""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = (
    "tenantdb.admin",
    "tenantdb.console",
    "tenantdb.core.breaker",
    "tenantdb.core.limits",
    "tenantdb.core.merge",
    "tenantdb.core.replication",
    "tenantdb.core.retry",
    "tenantdb.core.session",
    "tenantdb.integrations.sqlalchemy",
)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    names = list(module.__all__)
    assert names == sorted(names)
    public = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and attribute != "annotations"
        and not isinstance(value, types.ModuleType)
    }
    assert public == set(names)
    for exported in names:
        assert hasattr(module, exported), exported
