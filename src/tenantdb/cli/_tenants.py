"""``tenantdb tenants``: list, show, add, change, remove, import and export tenants.

Every sub-command opens the cluster of ``--config``, works through ``cluster.tenants``
(the same registry the application uses, so the same validation and placement apply) and
closes it. Errors print ``error: …`` on stderr and exit with status 1; usage errors exit
with status 2, as typer does.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from .._cluster import Cluster
from ..admin import (
    create_tenant_schema,
    placement,
    same_placement,
    tenant_tables_with_rows,
)
from ..errors import Error, UnknownTenantError
from ..tenants import Isolation, Tenant, TenantStatus
from ._opened import ConfigOption, opened_cluster
from ._progress import ProgressDisplay
from ._tenant_file import TenantFileError, TenantLine, dump_lines, read_tenant_file
from ._tenant_import import ImportPlan, ImportResult, ImportStopped, plan_import, write_import

tenants_app = typer.Typer(
    help="List, show, add, change, remove, import and export tenants in the registry store.",
    no_args_is_help=True,
)

IdArgument = Annotated[str, typer.Argument(help="The tenant id.", metavar="ID", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DatasourceOption = Annotated[
    str | None, typer.Option("--datasource", help="Datasource holding the tenant's rows.")
]
IsolationOption = Annotated[
    Isolation | None, typer.Option("--isolation", help="How the tenant's rows are kept apart.")
]
SchemaOption = Annotated[
    str | None,
    typer.Option("--schema", help="Schema of a schema-isolated tenant (default: its id)."),
]
StatusOption = Annotated[TenantStatus | None, typer.Option("--status", help="Tenant status.")]
FeatureOption = Annotated[
    list[str] | None,
    typer.Option(
        "--feature",
        help="KEY=VALUE, repeatable. VALUE is read as JSON when it is JSON (true, 3, "
        '"x", [1]), else as a string.',
        metavar="KEY=VALUE",
    ),
]
RpsOption = Annotated[
    float | None, typer.Option("--rps", help="Limit: requests per second (above 0).")
]
BurstOption = Annotated[int | None, typer.Option("--burst", help="Limit: burst size.", min=1)]
MaxConcurrentOption = Annotated[
    int | None,
    typer.Option("--max-concurrent", help="Limit: statements running at once.", min=1),
]
LimitOption = Annotated[
    list[str] | None,
    typer.Option(
        "--limit",
        help="Any tenant limit as KEY=VALUE, repeatable: max_concurrent_per_datasource,"
        " max_queued, queue_timeout ('500ms'), statement_timeout ('2s'), ...; VALUE none"
        " removes it (the cluster's [limits] default applies).",
        metavar="KEY=VALUE",
    ),
]

NO_REGISTRY = (
    "this configuration has no [registry] url; changes would be lost when the command"
    ' exits: add [registry] url = "sqlite:///tenants.db"'
)
MEMORY_REGISTRY = (
    "this configuration's [registry] url is an in-process memory store; changes would be"
    ' lost when the command exits: set [registry] url = "sqlite:///tenants.db"'
)


@tenants_app.command("list")
def list_command(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Print every tenant, sorted by id: a table, or with --json a JSON array."""
    with opened_cluster(config) as cluster:
        tenants = cluster.tenants.list()
    if as_json:
        typer.echo(json.dumps([t.to_dict() for t in tenants], indent=2))
        return
    if not tenants:
        typer.echo("no tenants")
        return
    table = Table(title=f"tenants ({len(tenants)})")
    for column in ("id", "datasource", "isolation", "schema", "status"):
        table.add_column(column, overflow="fold")
    table.add_column("version", justify="right")
    for tenant in tenants:
        table.add_row(
            tenant.id,
            tenant.datasource or "-",
            tenant.isolation,
            tenant.schema or "-",
            tenant.status,
            str(tenant.version),
        )
    _console().print(table)


@tenants_app.command("show")
def show_command(config: ConfigOption, tenant_id: IdArgument, as_json: JsonOption = False) -> None:
    """Print every field of one tenant, limits and features included."""
    with opened_cluster(config) as cluster:
        tenant = cluster.tenants.get(tenant_id)
    if as_json:
        typer.echo(json.dumps(tenant.to_dict(), indent=2))
        return
    table = Table(title=f"tenant {tenant.id}", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in _fields(tenant):
        table.add_row(key, value)
    _console().print(table)


@tenants_app.command("add")
def add_command(
    config: ConfigOption,
    tenant_id: IdArgument,
    datasource: DatasourceOption = None,
    isolation: IsolationOption = None,
    schema: SchemaOption = None,
    status: StatusOption = None,
    feature: FeatureOption = None,
    rps: RpsOption = None,
    burst: BurstOption = None,
    max_concurrent: MaxConcurrentOption = None,
    limit: LimitOption = None,
) -> None:
    """Create a tenant; refused if it exists (change one with set).

    Without --datasource the registry's hash ring places the tenant. Needs a registry url
    (not memory:) in the configuration, since the change must outlive this command.
    """
    features = parse_features(feature or [])
    limits = _limits(rps, burst, max_concurrent, limit)
    with opened_cluster(config) as cluster:
        _require_persistent(cluster)
        registry = cluster.tenants
        try:
            existing = registry.get(tenant_id)
        except UnknownTenantError:
            pass
        else:
            raise Error(
                f"tenant {tenant_id!r} already exists (version {existing.version});"
                " use `tenantdb tenants set` to change it"
            )
        change: dict[str, Any] = {"id": tenant_id}
        change.update(_given(datasource=datasource, isolation=isolation, status=status))
        if schema is not None:
            change["schema"] = schema
        if features:
            change["features"] = features
        if limits:
            change["limits"] = limits
        tenant = registry.put(change)
        try:
            schema_created = create_tenant_schema(cluster, tenant)
        except Error as exc:
            raise Error(
                f"added tenant {tenant.id!r}, but creating its schema {tenant.schema!r} failed: "
                f"{exc}; `tenantdb ddl` creates it with the tenant's tables"
            ) from exc
    where = f"datasource {tenant.datasource}"
    if datasource is None:
        where += " (placed by the hash ring)"
    typer.echo(f"added tenant {tenant.id!r} on {where}; version {tenant.version}")
    if schema_created:
        typer.echo(
            f"created schema {tenant.schema!r}; run `tenantdb ddl` with your schema file to "
            "create the tenant's tables"
        )


@tenants_app.command("set")
def set_command(
    config: ConfigOption,
    tenant_id: IdArgument,
    datasource: DatasourceOption = None,
    isolation: IsolationOption = None,
    schema: SchemaOption = None,
    status: StatusOption = None,
    feature: FeatureOption = None,
    unset_feature: Annotated[
        list[str] | None,
        typer.Option("--unset-feature", help="Remove this feature key, repeatable.", metavar="KEY"),
    ] = None,
    rps: RpsOption = None,
    burst: BurstOption = None,
    max_concurrent: MaxConcurrentOption = None,
    limit: LimitOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Change the datasource, isolation or schema even though the tenant has rows"
            " where it is now: they are not moved.",
        ),
    ] = False,
) -> None:
    """Change only the given fields of an existing tenant (create one with add).

    --feature entries are merged into the tenant's features and --unset-feature keys
    removed from them; limits given replace only those limits. The tenant's version is
    bumped. Needs a registry url (not memory:) in the configuration.

    A new --datasource, --isolation or --schema is refused while the tenant's tenant
    tables hold rows where it is placed now (no rows are moved, so its sessions would
    see none of them); --force changes it anyway and warns about the rows left behind.
    """
    features = parse_features(feature or [])
    removed = list(dict.fromkeys(unset_feature or []))
    both = sorted(set(features) & set(removed))
    if both:
        raise typer.BadParameter(
            f"feature {', '.join(map(repr, both))} is both set and unset; pass one",
            param_hint="'--feature' / '--unset-feature'",
        )
    limits = _limits(rps, burst, max_concurrent, limit)
    change: dict[str, Any] = {"id": tenant_id}
    change.update(_given(datasource=datasource, isolation=isolation, status=status))
    if schema is not None:
        change["schema"] = schema
    if len(change) == 1 and not features and not removed and not limits:
        raise typer.BadParameter(
            "nothing to change: pass at least one field option", param_hint="options"
        )
    with opened_cluster(config) as cluster:
        _require_persistent(cluster)
        registry = cluster.tenants
        try:
            current = registry.get(tenant_id)
        except UnknownTenantError:
            raise Error(
                f"unknown tenant {tenant_id!r}; use `tenantdb tenants add` to create it"
            ) from None
        if features or removed:
            merged = {**current.features, **features}
            for key in removed:
                merged.pop(key, None)
            change["features"] = merged
        if limits:
            change["limits"] = {**current.to_dict()["limits"], **limits}
        tenant = registry.put(change, force=force)
        left_behind = _left_behind(cluster, current, tenant) if force else None
    changed = ", ".join(k for k in change if k != "id")
    typer.echo(
        f"updated tenant {tenant.id!r} ({changed}); version {current.version} → {tenant.version}"
    )
    if left_behind:
        typer.echo(f"warning: {left_behind}", err=True)


def _left_behind(cluster: Cluster, old: Tenant, new: Tenant) -> str | None:
    """After a forced placement change: what the rows left on the old placement are."""
    if same_placement(old, new):
        return None
    try:
        tables = tenant_tables_with_rows(cluster, old)
    except Error as exc:
        return (
            f"could not check for rows of tenant {old.id!r} on {placement(old)} ({exc}); any"
            f" rows there were not moved to {placement(new)}"
        )
    if not tables:
        return None
    return (
        f"tenant {old.id!r}'s rows in {', '.join(tables)} stay on {placement(old)}: they were"
        f" not moved, and its sessions now use {placement(new)}, where they see none of"
        " them (a tenant move, `tenantdb move-tenant`, is planned)"
    )


@tenants_app.command("remove")
def remove_command(
    config: ConfigOption,
    tenant_id: IdArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a tenant from the registry store (its rows stay where they are).

    Asks for confirmation unless --yes; when stdin is not a terminal --yes is required.
    Needs a registry url (not memory:) in the configuration.
    """
    with opened_cluster(config) as cluster:
        _require_persistent(cluster)
        registry = cluster.tenants
        tenant = registry.get(tenant_id)
        if not yes:
            if not _interactive():
                raise Error(
                    f"not removing tenant {tenant_id!r}: stdin is not a terminal, so it"
                    " cannot be confirmed; pass --yes"
                )
            typer.confirm(
                f"remove tenant {tenant.id!r} (datasource {tenant.datasource},"
                f" version {tenant.version})?",
                abort=True,
            )
        registry.delete(tenant_id)
        static = tenant_id in cluster.config.tenants
    typer.echo(f"removed tenant {tenant_id!r}; its last version was {tenant.version}")
    if static:
        typer.echo(
            f"warning: [tenants.{tenant_id}] is declared in the configuration, so the next"
            " process to start will add it again; remove it from the configuration too",
            err=True,
        )


@tenants_app.command("import")
def import_command(
    config: ConfigOption,
    source: Annotated[
        str,
        typer.Argument(
            help="JSON Lines (one tenant object per line, as export writes) or a JSON array"
            " file; - reads stdin.",
            metavar="SOURCE",
            show_default=False,
        ),
    ],
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Change existing tenants too (without it, a record that would change one"
            " is an error).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check every record and say what would change; write nothing."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Add (and with --update change) tenants in bulk from SOURCE.

    Each record has the shape `tenants show --json` prints: "id" and any other fields
    (missing ones keep their value, or their default for a new tenant; "version" is
    ignored). Every record is checked first, with the placement and isolation rules of
    `add` and `set`; any bad record refuses the whole import, naming its line. A record
    that matches its existing tenant counts as unchanged. Progress goes to stderr: a bar
    on a terminal, a few plain lines otherwise. Needs a registry url (not memory:) in the
    configuration, except with --dry-run.
    """
    text, name = _read_source(source)
    progress = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    try:
        lines = read_tenant_file(text, name)
    except TenantFileError as exc:
        _refuse(exc, as_json)
    with opened_cluster(config) as cluster:
        if not dry_run:
            _require_persistent(cluster)
        plan = _checked(cluster, lines, name, update, progress, as_json)
        if dry_run:
            _import_summary(name, plan, None, as_json)
            return
        try:
            with ProgressDisplay(progress, "importing tenants", total=len(plan.writes)) as shown:
                result = write_import(cluster, plan, on_written=shown.update)
        except ImportStopped as exc:
            _refuse(exc, as_json, written=exc.result)
    _import_summary(name, plan, result, as_json)


@tenants_app.command("export")
def export_command(
    config: ConfigOption,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file (default: stdout).", dir_okay=False
        ),
    ] = None,
) -> None:
    """Write every tenant as JSON Lines, sorted by id: what `tenants import` reads back.

    With --output the file is written whole or not at all (a temporary file beside it,
    renamed at the end).
    """
    with opened_cluster(config) as cluster:
        tenants = cluster.tenants.list()
    text = "".join(dump_lines(tenants))
    if output is None:
        typer.echo(text, nl=False)
        return
    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        typer.echo(f"error: cannot write {output}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"exported {len(tenants)} tenant{'s' if len(tenants) != 1 else ''} to {output}")


def _read_source(source: str) -> tuple[str, str]:
    """The text of SOURCE and the name messages give it."""
    if source == "-":
        return sys.stdin.read(), "stdin"
    try:
        return Path(source).read_text(encoding="utf-8"), source
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc}", param_hint="SOURCE") from None


def _checked(
    cluster: Cluster,
    lines: list[TenantLine],
    name: str,
    update: bool,
    progress: Console,
    as_json: bool,
) -> ImportPlan:
    with ProgressDisplay(progress, "checking tenants", total=len(lines)) as shown:
        plan = plan_import(cluster, lines, update=update, on_checked=shown.update)
    if plan.problems:
        _refuse(TenantFileError(name, list(plan.problems)), as_json)
    return plan


def _refuse(
    exc: TenantFileError | ImportStopped, as_json: bool, *, written: ImportResult | None = None
) -> NoReturn:
    """Print why the import stopped (and with --json a JSON report) and exit 1."""
    if as_json:
        data: dict[str, Any] = {"ok": False, "error": str(exc)}
        if isinstance(exc, TenantFileError):
            data["problems"] = [problem.to_dict() for problem in exc.problems]
        if written is not None:
            data["written"] = [tenant.id for tenant in written.written]
        typer.echo(json.dumps(data, indent=2))
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


def _import_summary(
    name: str, plan: ImportPlan, result: ImportResult | None, as_json: bool
) -> None:
    added, updated = plan.ids("add"), plan.ids("update")
    unchanged = len(plan.steps) - len(added) - len(updated)
    schemas = list(result.schemas_created) if result is not None else []
    if as_json:
        data = {
            "ok": True,
            "dry_run": result is None,
            "source": name,
            "added": len(added),
            "updated": len(updated),
            "unchanged": unchanged,
            "schemas_created": schemas,
            "tenants": {"added": added, "updated": updated},
        }
        typer.echo(json.dumps(data, indent=2))
        return
    if not plan.steps:
        typer.echo(f"nothing to import: {name} has no tenant records")
    elif result is None:
        typer.echo(
            f"dry run of {name}: would add {len(added)}, update {len(updated)} and leave"
            f" {unchanged} unchanged; nothing was written"
        )
    else:
        typer.echo(
            f"imported {name}: added {len(added)}, updated {len(updated)}, unchanged {unchanged}"
        )
    if schemas:
        typer.echo(
            f"created {len(schemas)} schema{'s' if len(schemas) != 1 else ''}; run `tenantdb ddl`"
            " with your schema file to create the tenants' tables"
        )


def parse_features(entries: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` entries as a dict, later keys winning.

    VALUE is parsed as JSON when it is valid JSON (``true``, ``3``, ``"x"``, ``[1]``) and
    taken as a string otherwise; NaN and Infinity stay strings. Raises
    ``typer.BadParameter`` (a usage error) for an entry without ``=`` or with an empty key.
    """
    features: dict[str, Any] = {}
    for entry in entries:
        key, sep, text = entry.partition("=")
        key = key.strip()
        if not sep or not key:
            raise typer.BadParameter(
                f"{entry!r} is not KEY=VALUE (e.g. beta=true)", param_hint="'--feature'"
            )
        features[key] = _feature_value(text)
    return features


def _feature_value(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError:  # JSONDecodeError is one
        return text


def _limits(
    rps: float | None, burst: int | None, max_concurrent: int | None, pairs: list[str] | None
) -> dict[str, Any]:
    """The limits given on the command line, keyed like a tenant record's ``limits``
    (``None`` for a ``--limit KEY=none``). Keys and values are checked when the record is
    written, like any other change."""
    given = {"requests_per_second": rps, "burst": burst, "max_concurrent": max_concurrent}
    limits: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    for pair in pairs or []:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals or not key:
            raise typer.BadParameter(
                f"{pair!r} is not KEY=VALUE (e.g. max_queued=10)", param_hint="'--limit'"
            )
        limits[key] = _limit_value(text.strip())
    return limits


def _limit_value(text: str) -> Any:
    """``none`` → None, a number → int or float, anything else as written ("500ms")."""
    if text.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _given(**fields: str | None) -> dict[str, str]:
    return {k: v for k, v in fields.items() if v is not None}


def _fields(tenant: Tenant) -> list[tuple[str, str]]:
    """The rows of ``show``: every field, one row per limit and per feature."""
    rows = [
        ("id", tenant.id),
        ("datasource", tenant.datasource or "-"),
        ("isolation", tenant.isolation),
        ("schema", tenant.schema or "-"),
        ("status", tenant.status),
    ]
    limits: Mapping[str, Any] = tenant.to_dict()["limits"]
    rows += [(f"limits.{k}", "unlimited" if v is None else str(v)) for k, v in limits.items()]
    if tenant.features:
        rows += [(f"features.{k}", json.dumps(v)) for k, v in sorted(tenant.features.items())]
    else:
        rows.append(("features", "(none)"))
    rows.append(("version", str(tenant.version)))
    return rows


def _require_persistent(cluster: Cluster) -> None:
    """Refuse a write that an in-process memory store would forget at exit."""
    registry = cluster.config.registry
    url = registry.url if registry is not None else None
    if not url:
        raise Error(NO_REGISTRY)
    if urllib.parse.urlsplit(url).scheme.lower() == "memory":
        raise Error(MEMORY_REGISTRY)


def _interactive() -> bool:
    """Whether a confirmation can be asked: stdin is a terminal."""
    return sys.stdin.isatty()


def _console() -> Console:
    return Console(highlight=False, markup=False, soft_wrap=True)
