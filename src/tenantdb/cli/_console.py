"""``tenantdb console``: the operator's web console, served standalone.

It opens the cluster itself (the thread front) and serves ``tenantdb.console.wsgi_app``
with ``standalone=True`` on a small threaded ``wsgiref`` server: it sees the
configuration, the registry and replica lag, and its read-to-primary switch writes the
configuration's ``switch_file``. The token never travels on the command line, where
other users of the machine could read it in the process list.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Annotated, NoReturn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import typer

from ._opened import ConfigOption, opened_cluster

TOKEN_ENV = "TENANTDB_CONSOLE_TOKEN"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request, so a slow page does not hold the others."""

    daemon_threads = True


class _Handler(WSGIRequestHandler):
    def address_string(self) -> str:
        return str(self.client_address[0])


def console_command(
    config: ConfigOption,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback unless you say otherwise).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8765,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help=f"File holding the console token (else the environment variable {TOKEN_ENV}).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Serve the operator's web console for this cluster, from outside the application."""
    token = _token(token_file)
    from ..console import wsgi_app  # the console's modules load only for this command
    from ..errors import Error

    with opened_cluster(config) as cluster:
        try:
            app = wsgi_app(cluster, token=token, standalone=True)
        except Error as exc:
            _fail(str(exc))
        try:
            server = make_server(
                host, port, app, server_class=_ThreadingServer, handler_class=_Handler
            )
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        bound_port = server.server_address[1]
        if not _loopback(host):
            typer.echo(
                f"warning: listening on {host}, beyond this machine, over plain HTTP: the token"
                " and session cookie travel unencrypted unless a TLS proxy stands in front",
                err=True,
            )
        typer.echo(f"tenantdb console on http://{host}:{bound_port}/ (Ctrl-C stops it)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8").strip()
            mode = token_file.stat().st_mode
        except OSError as exc:
            _fail(f"cannot read --token-file {token_file}: {exc.strerror or exc}")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            typer.echo(f"warning: {token_file} is readable by other users; chmod 600 it", err=True)
        if not text:
            _fail(f"--token-file {token_file} is empty; write the console token in it")
        return text
    text = os.environ.get(TOKEN_ENV, "").strip()
    if not text:
        _fail(
            f"the console needs a token: put it in a file passed as --token-file, or in the"
            f" environment variable {TOKEN_ENV} (never on the command line). Make one with"
            " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return text


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


__all__ = ["console_command"]
