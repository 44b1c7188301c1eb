"""The ``tenantdb`` command line: one entry point, one sub-command per job."""

from __future__ import annotations

import typer

from ._config import config_app
from ._console import console_command
from ._ddl import ddl_command
from ._demo import demo_command
from ._explain import explain_command
from ._move import move_tenant_command
from ._replicas import replicas_app
from ._shell import shell_command
from ._tenants import tenants_app
from ._verify import verify_command

app = typer.Typer(
    name="tenantdb",
    help="Route, shard and isolate a multi-tenant database from inside your process.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"tenantdb {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Route, shard and isolate a multi-tenant database from inside your process."""


app.add_typer(config_app, name="config")
app.command("explain")(explain_command)
app.command("demo")(demo_command)
app.command("shell")(shell_command)
app.command("ddl")(ddl_command)
app.add_typer(tenants_app, name="tenants")
app.add_typer(replicas_app, name="replicas")
app.command("console")(console_command)
app.command("verify")(verify_command)
app.command("move-tenant")(move_tenant_command)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
