"""``tenantdb.core.breaker`` re-exports its public names with a sorted, complete ``__all__``."""

from __future__ import annotations

import types

import tenantdb.core.breaker


def test_all_is_sorted_and_complete() -> None:
    module = tenantdb.core.breaker
    names = list(module.__all__)
    assert names == sorted(names)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name != "annotations"
        and not isinstance(value, types.ModuleType)
    }
    assert public == set(names)
    for name in names:
        assert hasattr(module, name), name
