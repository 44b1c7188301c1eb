"""``tenantdb config``: check a configuration file, print the JSON Schema of the document."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .._cluster import connect
from ..admin import audit_tenant_columns
from ..config import Config, config_json_schema, diff_configs, load_config, registry_warnings
from ..errors import ConfigError, Error
from ._opened import CONFIG_HELP

config_app = typer.Typer(
    help="Check a configuration file, or print the JSON Schema of configuration documents.",
    no_args_is_help=True,
)


@config_app.command("check")
def check(
    file: Annotated[str, typer.Argument(help=CONFIG_HELP, show_default=False)],
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Also read each datasource's catalog: every tenant-scoped table must have"
            " the tenant column, and a shared one should not.",
        ),
    ] = False,
) -> None:
    """Validate FILE. Prints a summary and exits 0, or prints every problem and exits 1.

    Warns (still exiting 0) when the tenant registry shares a datasource's database and
    schema: it belongs in its own schema or database, with its own role.

    With --live it connects to every datasource's primary and compares each declared
    table with the catalog: a tenant-scoped table without the tenant column is an error
    (tenant sessions fail on it); a table that is not tenant-scoped but has the column is
    a warning (tenant sessions read every tenant's rows of it).

    ${VAR} references are read from the environment; their values are never printed.
    """
    try:
        config = load_config(file)
    except ConfigError as error:
        count = len(error.problems)
        typer.echo(f"{file}: {count} problem{'s' if count != 1 else ''}", err=True)
        for problem in error.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"{file}: valid ({config.dialect};"
        f" {_count(len(config.datasources), 'datasource')},"
        f" {_count(len(config.tables), 'table')},"
        f" {_count(len(config.tenants), 'tenant')})"
    )
    registry = config.registry.url if config.registry is not None else None
    urls = {name: datasource.url for name, datasource in config.datasources.items()}
    for warning in registry_warnings(registry, urls):
        typer.echo(f"  warning: {warning}", err=True)
    if live:
        _check_live(config)


def _check_live(config: Config) -> None:
    """Compare the tables' tenant_scoped with the live catalogs; exit 1 on an error."""
    try:
        with connect(config) as cluster:
            findings = audit_tenant_columns(cluster)
    except Error as exc:
        typer.echo(f"error: cannot read the catalogs: {exc}", err=True)
        raise typer.Exit(1) from None
    errors = [finding for finding in findings if finding.severity == "error"]
    for finding in findings:
        typer.echo(f"  {finding.severity}: {finding}", err=True)
    if errors:
        count = len(errors)
        typer.echo(f"live check: {count} error{'s' if count != 1 else ''}", err=True)
        raise typer.Exit(code=1)
    if findings:
        count = len(findings)
        typer.echo(f"live check: {count} warning{'s' if count != 1 else ''}")
    else:
        typer.echo(
            f"live check: every declared table has {config.tenant_column} exactly when it is"
            " tenant-scoped"
        )


@config_app.command("diff")
def diff(
    old: Annotated[
        str,
        typer.Argument(
            help="The configuration running now (a file or etcd://HOST:PORT/KEY).",
            show_default=False,
        ),
    ],
    new: Annotated[
        str,
        typer.Argument(help="The configuration to reload (the same).", show_default=False),
    ],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help='Print one JSON object: {"hot_safe", "changes": [{"path", ...}]}.'
        ),
    ] = False,
) -> None:
    """Compare OLD and NEW and say which changes a running cluster takes (hot) and which
    it refuses because they would move existing rows or need a restart.

    Exit status: 0 when every change is hot-safe (or nothing changed), 1 when at least one
    is refused, 2 when a file is unreadable or invalid. URLs are shown without passwords.
    """
    configs: list[Config] = []
    for file in (old, new):
        try:
            configs.append(load_config(file))
        except ConfigError as error:
            typer.echo(f"{file}: {len(error.problems)} problem(s)", err=True)
            for problem in error.problems:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(code=2) from None
    changes = diff_configs(configs[0], configs[1])
    if as_json:
        typer.echo(json.dumps(changes.to_dict(), indent=2, default=str))
    elif not changes:
        typer.echo("no change")
    else:
        for change in changes.changes:
            typer.echo(str(change))
        refused = len(changes.refused)
        typer.echo(
            f"{_count(len(changes.changes), 'change')}:"
            f" {len(changes.changes) - refused} hot, {refused} refused"
        )
    if not changes.hot_safe:
        raise typer.Exit(code=1)


@config_app.command("schema")
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of configuration documents."""
    typer.echo(json.dumps(config_json_schema(), indent=2))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"
