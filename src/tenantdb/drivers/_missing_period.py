"""A ``time_range`` period table that was never created: the driver's "no such table"
error turned into one that names the period and says how to create it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import Error, RoutingError
from ._translate import is_undefined_table

if TYPE_CHECKING:
    from ..core.routing import Target, Topology


def missing_period(error: Error, targets: Iterable[Target], topology: Topology) -> Error | None:
    """The error to raise instead of ``error`` when it says a ``time_range`` period table of
    the plan does not exist (a key past the pre-created periods): it names the logical table
    and the period and says how to create it. ``None`` for any other error."""
    from ..core.routing.strategies import TimeRangeStrategy  # routing imports nothing from here

    if not is_undefined_table(error.orig):
        return None
    text = str(error.orig)
    for target in targets:
        if error.datasource is not None and target.datasource != error.datasource:
            continue
        for logical, physical in target.tables.items():
            if not isinstance(topology.table(logical).strategy, TimeRangeStrategy):
                continue
            bare = physical.rsplit(".", 1)[-1]
            if re.search(rf"(?<![\w$]){re.escape(bare)}(?![\w$])", text) is None:
                continue
            return RoutingError(
                f"{logical} has no table for period {_period_label(bare[len(logical) + 1 :])} "
                f"yet ({bare} on datasource {target.datasource!r} does not exist): create the "
                f"period tables with `tenantdb ddl --config FILE --precreate` (periods through "
                f'today plus pre_create), or set precreate = "auto" in the configuration so '
                f"the cluster creates them in the background",
                datasource=error.datasource,
                role=error.role,
                statement=error.statement,
                orig=error.orig,
            )
    return None


def _period_label(suffix: str) -> str:
    if len(suffix) == 8 and suffix.isdigit():
        return f"{suffix[:4]}-{suffix[4:6]}-{suffix[6:]}"
    if len(suffix) == 6 and suffix.isdigit():
        return f"{suffix[:4]}-{suffix[4:]}"
    return suffix
