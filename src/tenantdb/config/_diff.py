"""``diff_configs``: what changed between two validated configurations, and whether a running
cluster may take each change without moving a row.

A change is *hot* when every existing row stays where the running processes look for it:
new datasources and tables, replicas, lag limits, pool and breaker settings, limits,
telemetry, ``[moves]``, ``pre_create``, static tenants' limits. It is *refused* when it would change
where existing rows are looked for (shard counts, strategies, keys, ring membership, a
table's datasources, a datasource's URL, the dialect, the tenant column), or when a
running process cannot take it (the registry's store, the switch file): each refusal names
its key path and the move, reshard or restart it needs. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigProblem
from ._models import Config, TableConfig
from ._urls import redact_url

ChangeKind = Literal["added", "removed", "changed"]

_MOVE = "it would move existing rows"


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One change between two configurations, at ``path`` (dotted key path)."""

    path: str
    kind: ChangeKind
    old: Any
    """The value before (None when added); URLs shown with their password as ``***``."""
    new: Any
    """The value after (None when removed)."""
    hot: bool
    """True: a running cluster takes it; False: refused."""
    reason: str
    """Hot: what applying it does. Refused: why, and the move, reshard or restart it needs."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
            "hot": self.hot,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        mark = "hot" if self.hot else "refused"
        return f"[{mark}] {self.path} {self.kind}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """Every change from one configuration to the next, in document order."""

    changes: tuple[ConfigChange, ...]

    @property
    def hot_safe(self) -> bool:
        """True when a running cluster may take every change (also when nothing changed)."""
        return all(change.hot for change in self.changes)

    @property
    def refused(self) -> tuple[ConfigChange, ...]:
        return tuple(change for change in self.changes if not change.hot)

    def problems(self) -> list[ConfigProblem]:
        """The refusals as ``ConfigError`` problems (key path, and what to do instead)."""
        return [ConfigProblem(change.path, change.reason) for change in self.refused]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hot_safe": self.hot_safe,
            "changes": [change.to_dict() for change in self.changes],
        }

    def __bool__(self) -> bool:
        return bool(self.changes)


def diff_configs(old: Config, new: Config) -> ConfigDiff:
    """The changes from ``old`` to ``new`` (both resolved by ``load_config``), each marked
    hot or refused with its reason. Pure; never raises for valid configurations."""
    changes: list[ConfigChange] = []
    changes += _top_level(old, new)
    changes += _datasources(old, new)
    changes += _tables(old, new)
    changes += _tenants(old, new)
    changes += _sections(old, new)
    return ConfigDiff(tuple(changes))


# -- walking -------------------------------------------------------------------------------


def _leaves(path: str, old: Any, new: Any) -> Iterator[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs; mappings are walked key by key."""
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _leaves(f"{path}.{key}", old.get(key), new.get(key))
        return
    yield path, old, new


def _kind(old: Any, new: Any) -> ChangeKind:
    return "added" if old is None else "removed" if new is None else "changed"


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True) if model is not None else None


def _change(path: str, old: Any, new: Any, *, hot: bool, reason: str) -> ConfigChange:
    return ConfigChange(path, _kind(old, new), old, new, hot, reason)


# -- the top level ---------------------------------------------------------------------------

# Top-level settings a running cluster takes: read per statement from the new snapshot.
_HOT_TOP = {
    "allowed_functions": "tenant sessions may call the functions listed from the next statement",
    "max_statement_bytes": "statements are measured against the new limit",
    "binding_tables": "joins between the tables of a group are planned inside each shard",
    "precreate_interval": "the next precreation pass runs at the new interval",
}
_REFUSED_TOP = {
    "dialect": (
        "every datasource is a database of the old kind; moving to another backend is a"
        " migration of every row, not a reload"
    ),
    "tenant_column": (
        "every tenant-scoped row carries its tenant id in the old column: rename the column"
        " in every tenant-scoped table first, then restart the processes"
    ),
    "default_datasource": (
        f"{_MOVE} of single tables and unlisted tables (they live on the default"
        " datasource): move those tables' rows first, then restart the processes"
    ),
    "switch_file": (
        "the switch file is followed by a watcher started with the process: restart the"
        " processes to follow another file"
    ),
    "precreate": (
        "background precreation starts or stops with the process: restart the processes"
        " (or run `tenantdb ddl --precreate`)"
    ),
}


def _top_level(old: Config, new: Config) -> Iterator[ConfigChange]:
    for name in ("dialect", "tenant_column", "default_datasource", *_HOT_TOP, "switch_file"):
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        before = list(before) if isinstance(before, tuple) else before
        after = list(after) if isinstance(after, tuple) else after
        if name in _HOT_TOP:
            yield _change(name, before, after, hot=True, reason=_HOT_TOP[name])
        else:
            yield _change(name, before, after, hot=False, reason=_REFUSED_TOP[name])
    if old.precreate != new.precreate:
        yield _change(
            "precreate", old.precreate, new.precreate, hot=False, reason=_REFUSED_TOP["precreate"]
        )


# -- datasources --------------------------------------------------------------------------------


def _datasources(old: Config, new: Config) -> Iterator[ConfigChange]:
    for name in [*old.datasources, *(n for n in new.datasources if n not in old.datasources)]:
        path = f"datasources.{name}"
        before, after = old.datasources.get(name), new.datasources.get(name)
        if before is None:
            assert after is not None
            yield _change(
                path,
                None,
                after.redacted_url,
                hot=True,
                reason="new datasource; its pool opens on the first statement that needs it",
            )
        elif after is None:
            yield _change(
                path,
                before.redacted_url,
                None,
                hot=True,
                reason=(
                    "its pools close once their statements in flight end; tenants still"
                    " placed on it fail until moved off it (a tenant move)"
                ),
            )
        else:
            yield from _datasource(path, _dump(before), _dump(after))


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def _datasource(path: str, before: Any, after: Any) -> Iterator[ConfigChange]:
    for leaf, old, new in _leaves(path, before, after):
        key = leaf.removeprefix(path + ".")
        if key == "url":
            yield _change(
                leaf,
                redact_url(old),
                redact_url(new),
                hot=False,
                reason=(
                    "a new primary URL for an existing datasource is a move of its rows:"
                    " declare the new database as another datasource, move its tenants and"
                    " tables there, then remove this one"
                ),
            )
        elif key in ("replicas", "replica_weights"):
            yield _change(
                leaf,
                _redacted(old),
                _redacted(new),
                hot=True,
                reason="replicas are restarted with the new list; reads use them from then on",
            )
        elif key.startswith("pool."):
            yield _change(
                leaf, old, new, hot=True, reason="new connections come from a pool of this size"
            )
        elif key.startswith("breaker."):
            yield _change(
                leaf, old, new, hot=True, reason="the datasource's breakers start over with it"
            )
        elif key == "weight":
            yield _change(leaf, old, new, hot=True, reason="new tenants are placed by it")
        else:  # replica policy, lag limits, lag checks
            yield _change(
                leaf, old, new, hot=True, reason="replicas are restarted with the new setting"
            )


# -- tables -------------------------------------------------------------------------------------

# Settings of a table whose change moves its existing rows, with the move each needs.
_TABLE_MOVES = {
    "strategy": "a change of strategy is a reshard: copy the rows into the new layout",
    "key": "a new sharding key is a reshard: copy the rows into shards by the new key",
    "key_type": (
        "the key's type decides its placement ('05' is 5 for an int key): a reshard by the new type"
    ),
    "shards": "a new shard count is a reshard: copy the rows into the new shards",
    "datasources": (
        "the datasources list decides where each shard lives: move the shards whose"
        " datasource changes (a table without a datasources list spreads over every"
        " datasource: write its old list to keep it where it is)"
    ),
    "datasource": "a move of the table to the new datasource",
    "virtual_nodes": (
        "ring points decide which datasource holds each key: a reshard of the keys that"
        " change owner"
    ),
    "weights": (
        "ring weights decide which datasource holds each key: a reshard of the keys that"
        " change owner"
    ),
    "boundaries": "new boundaries are a reshard: move the keys between the shards",
    "interval": "a new period is a reshard: copy the rows into tables of the new period",
    "start": "the start numbers the periods and places them on datasources: a reshard",
    "tenant_scoped": (
        "it changes which rows a tenant session sees: check every row carries the tenant"
        " column (`tenantdb config check --live`), then restart the processes"
    ),
}


def _tables(old: Config, new: Config) -> Iterator[ConfigChange]:
    for name in [*old.tables, *(n for n in new.tables if n not in old.tables)]:
        path = f"tables.{name}"
        before, after = old.tables.get(name), new.tables.get(name)
        if before is None:
            assert after is not None
            unlisted = after.strategy == "single" and after.datasource == old.default_datasource
            yield _change(
                path,
                None,
                after.strategy,
                hot=True,
                reason="new table; statements route to it from the next session"
                + (
                    ""
                    if unlisted
                    else f" (rows a table of this name has on {old.default_datasource!r}"
                    " stay there)"
                ),
            )
        elif after is None:
            if before.strategy == "single" and before.datasource == new.default_datasource:
                yield _change(
                    path,
                    before.strategy,
                    None,
                    hot=True,
                    reason="an unlisted table lives where it did: single on the default datasource",
                )
            else:
                yield _change(
                    path,
                    before.strategy,
                    None,
                    hot=False,
                    reason=(
                        f"{_MOVE}: unlisted, {name} would be a single table on"
                        f" {new.default_datasource!r}; keep it in the document, or move its"
                        " rows there first"
                    ),
                )
        else:
            yield from _table(path, before, after)


def _table(path: str, before: TableConfig, after: TableConfig) -> Iterator[ConfigChange]:
    for leaf, old, new in _leaves(path, _dump(before), _dump(after)):
        key = leaf.removeprefix(path + ".").split(".")[0]
        if key == "pre_create":
            yield _change(
                leaf,
                old,
                new,
                hot=True,
                reason="periods up to the new count ahead are known and precreated",
            )
        elif key == "weights":
            # A weight is a leaf of its own: report the table's whole ring once.
            continue
        elif key == "datasources" and before.strategy == after.strategy == "broadcast":
            yield _change(
                leaf,
                old,
                new,
                hot=False,
                reason=(
                    "reads of a broadcast table may go to any copy: copy its rows to the"
                    " added datasources first, or write its old datasources list"
                ),
            )
        else:
            yield _change(
                leaf, old, new, hot=False, reason=_TABLE_MOVES.get(key, "a reshard of the table")
            )
    if before.weights != after.weights:
        yield _change(
            f"{path}.weights",
            dict(before.weights),
            dict(after.weights),
            hot=False,
            reason=_TABLE_MOVES["weights"],
        )


# -- static tenants --------------------------------------------------------------------------------

_HOT_TENANT = ("limits", "status", "features")


def _tenants(old: Config, new: Config) -> Iterator[ConfigChange]:
    for tenant in [*old.tenants, *(t for t in new.tenants if t not in old.tenants)]:
        path = f"tenants.{tenant}"
        before, after = old.tenants.get(tenant), new.tenants.get(tenant)
        if before is None:
            assert after is not None
            yield _change(
                path, None, _dump(after), hot=True, reason="new static tenant; served at once"
            )
        elif after is None:
            yield _change(
                path,
                _dump(before),
                None,
                hot=False,
                reason=(
                    "its rows would stay behind with no tenant to reach them: remove the"
                    " tenant and its rows first (`tenantdb tenants remove`)"
                ),
            )
        else:
            for leaf, was, now in _leaves(path, _dump(before), _dump(after)):
                key = leaf.removeprefix(path + ".").split(".")[0]
                if key in _HOT_TENANT:
                    yield _change(
                        leaf, was, now, hot=True, reason="applies to the tenant's next statement"
                    )
                else:  # datasource, isolation, schema
                    yield _change(
                        leaf,
                        was,
                        now,
                        hot=False,
                        reason=(
                            f"{_MOVE} of the tenant: that is a tenant move (copy its rows,"
                            " then change its placement), not a reload"
                        ),
                    )


# -- limits, telemetry, moves, registry ---------------------------------------------------

# Settings bound to a connection or a thread made when the process started.
_RESTART = {
    "limits.redis_url": "the shared rate limiter connects once: restart the processes",
    "limits.on_redis_down": "the shared rate limiter is built once: restart the processes",
    "telemetry.tracing": "the tracer lookup is built once: restart the processes",
    "telemetry.otel_metrics": "metric instruments are attached once: restart the processes",
    "telemetry.tenant_labels": "metric labels are fixed once kept: restart the processes",
    "telemetry.top_tenants": "metric labels are fixed once kept: restart the processes",
}


def _sections(old: Config, new: Config) -> Iterator[ConfigChange]:
    for section in ("limits", "telemetry", "moves"):
        for leaf, was, now in _leaves(
            section, _dump(getattr(old, section)), _dump(getattr(new, section))
        ):
            if leaf in _RESTART:
                yield _change(
                    leaf, _redacted(was), _redacted(now), hot=False, reason=_RESTART[leaf]
                )
            else:
                yield _change(leaf, was, now, hot=True, reason="applies from the next statement")
    if old.registry != new.registry:
        before, after = _dump(old.registry), _dump(new.registry)
        for leaf, was, now in _leaves("registry", before or {}, after or {}):
            yield _change(
                leaf,
                _redacted(was),
                _redacted(now),
                hot=False,
                reason=(
                    "the tenant registry and its store are opened once per process:"
                    " copy the tenants to the new store (`tenantdb tenants export`/`import`),"
                    " then restart the processes"
                ),
            )


__all__ = ["ChangeKind", "ConfigChange", "ConfigDiff", "diff_configs"]
