"""Where schema-isolated tenants keep their tables, and which tenant each schema holds: what
an admin scan of tenant tables visits besides each datasource's shared tables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import final


@final
class SchemaLayout(Mapping[str, tuple[str, ...]]):
    """Datasource → the sorted schemas of its schema-isolated tenants, plus each schema's
    tenant (:meth:`owner`). Immutable; built from ``{(datasource, schema): tenant id}``.

    It reads like the plain mapping an admin scan needs to visit every schema (``layout
    ["ds0"] == ("a_co", "b_co")``), and it tells the router whose rows a schema holds, so
    an admin scan can show that tenant in the tenant column of rows written without it.
    """

    __slots__ = ("_owners", "_schemas")

    def __init__(self, owners: Mapping[tuple[str, str], str] | None = None) -> None:
        self._owners: dict[tuple[str, str], str] = dict(owners or {})
        found: dict[str, list[str]] = {}
        for datasource, schema in self._owners:
            found.setdefault(datasource, []).append(schema)
        self._schemas = {ds: tuple(sorted(names)) for ds, names in sorted(found.items())}

    def owner(self, datasource: str, schema: str) -> str | None:
        """The id of the tenant whose schema ``schema`` on ``datasource`` is, or None."""
        return self._owners.get((datasource, schema))

    def __getitem__(self, datasource: str) -> tuple[str, ...]:
        return self._schemas[datasource]

    def __iter__(self) -> Iterator[str]:
        return iter(self._schemas)

    def __len__(self) -> int:
        return len(self._schemas)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{ds}: " + " ".join(f"{s}={self._owners[(ds, s)]}" for s in schemas)
            for ds, schemas in self._schemas.items()
        )
        return f"<SchemaLayout [{parts}]>"


__all__ = ["SchemaLayout"]
