"""The demo folder: its generated configuration and the files ``--reset`` may delete.

The folder holds ``tenantdb.toml`` and one SQLite file per datasource (``shard0.db`` …).
The configuration is rewritten on every run (its first line marks it as generated), so a
later run may change the number of tenants; the database files are kept, so data
accumulates from run to run until ``reset`` deletes them.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import InterfaceError

MARKER = "# Written by `tenantdb demo`; rewritten on every run (edit at your own risk)."
CONFIG_NAME = "tenantdb.toml"
DATASOURCES = 4
EVENT_SHARDS = 8
MAX_TENANTS = 9999


def tenant_id(number: int) -> str:
    """The id of demo tenant ``number`` (1-based): ``t0001`` … ``t9999``."""
    return f"t{number:04d}"


def tenant_datasource(number: int) -> str:
    """Demo tenants are spread round-robin: ``t0001`` on ds0, ``t0002`` on ds1, …"""
    return f"ds{(number - 1) % DATASOURCES}"


@dataclass(frozen=True, slots=True)
class DemoFolder:
    """The paths of one demo folder."""

    directory: Path

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_NAME

    def database_path(self, index: int) -> Path:
        return self.directory / f"shard{index}.db"

    def owned_files(self) -> list[Path]:
        """Every file the demo writes: the configuration and the SQLite files with their
        WAL and shared-memory companions. ``reset`` deletes these and nothing else."""
        files = [self.config_path]
        for index in range(DATASOURCES):
            database = self.database_path(index)
            files += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        return files

    def check_ownership(self, *, resetting: bool = False) -> None:
        """Refuse a folder whose ``tenantdb.toml`` was not written by the demo, or that
        holds shard files without it (another configuration's databases, whose tables the
        demo would trip over); ``resetting`` allows the latter, since reset deletes them."""
        path = self.config_path
        if path.exists():
            with path.open(encoding="utf-8", errors="replace") as handle:
                first = handle.readline().rstrip("\n")
            if first != MARKER:
                raise InterfaceError(
                    f"{path} was not written by `tenantdb demo`, which would overwrite it; "
                    "pass another folder with --dir"
                )
            return
        strangers = [p.name for p in self.owned_files() if p.exists()]
        if strangers and not resetting:
            raise InterfaceError(
                f"{self.directory} holds {', '.join(strangers)} but no demo configuration: "
                "pass --reset to delete those files, or another folder with --dir"
            )

    def reset(self) -> int:
        """Delete the demo's files (and only those); return how many existed."""
        self.check_ownership(resetting=True)
        removed = 0
        for path in self.owned_files():
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def write_config(self, *, tenants: int, pool_size: int) -> Path:
        """Write the demo configuration for ``tenants`` tenants; return its path.

        Datasource URLs are absolute, so the file works from any working directory
        (``tenantdb shell -c tenantdb-demo/tenantdb.toml``).
        """
        self.check_ownership()
        self.directory.mkdir(parents=True, exist_ok=True)
        text = config_text(
            [self.database_path(i).resolve() for i in range(DATASOURCES)],
            tenants=tenants,
            pool_size=pool_size,
        )
        temporary = self.config_path.with_suffix(".toml.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.config_path)
        return self.config_path


def config_text(databases: list[Path], *, tenants: int, pool_size: int) -> str:
    """The demo configuration as TOML (pure: the caller writes it)."""
    if not 1 <= tenants <= MAX_TENANTS:
        raise InterfaceError(f"the demo provisions 1 to {MAX_TENANTS} tenants, not {tenants}")
    lines = [
        MARKER,
        "# An embedded cluster: four SQLite files, tenant tables placed per tenant, one",
        "# hash-sharded table and one broadcast table. Open it with",
        "#   tenantdb shell -c <this file> --tenant t0001",
        "",
        'dialect = "sqlite"',
        'tenant_column = "tenant_id"',
        'default_datasource = "ds0"',
        "",
    ]
    for index, path in enumerate(databases):
        url = "sqlite:///" + urllib.parse.quote(path.as_posix(), safe="/:")
        lines += [
            f"[datasources.ds{index}]",
            f"url = {json.dumps(url)}",  # a JSON string is a valid TOML basic string
            f'pool = {{ min_size = 1, max_size = {pool_size}, timeout = "30s" }}',
            "create_dirs = true  # make the folder if it is missing",
            "",
        ]
    lines += [
        "# Tenant tables: every row carries tenant_id and lives on its tenant's datasource.",
    ]
    for table in ("orders", "order_items", "inventory", "idempotency_keys"):
        lines += [f"[tables.{table}]", 'strategy = "tenant"', ""]
    lines += [
        f"# Shard i = crc32(str(order_id)) % {EVENT_SHARDS}: table events_i on ds(i % 4).",
        "# Its rows carry tenant_id too, so a tenant session sees only its own events",
        "# (the default for every table but broadcast ones; tenant_scoped = false would",
        "# share the rows with every tenant).",
        "[tables.events]",
        'strategy = "hash_mod"',
        'key = "order_id"',
        f"shards = {EVENT_SHARDS}",
        "tenant_scoped = true",
        "",
        "# The product catalog, copied to every datasource and shared by every tenant.",
        "[tables.products]",
        'strategy = "broadcast"',
        "",
        "# demo_runs (one row per run) is not listed: it is a single table on ds0.",
        "",
        "# Static tenants, spread round-robin over the datasources. (Provisioning tenants",
        "# through the tenant registry arrives with a later release.)",
    ]
    for number in range(1, tenants + 1):
        lines.append(f'[tenants.{tenant_id(number)}]\ndatasource = "{tenant_datasource(number)}"')
    return "\n".join(lines) + "\n"
