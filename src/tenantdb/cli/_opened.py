"""``--config``: the option that names a command's configuration (a file, or a document in
etcd), and ``opened_cluster``: its cluster for one command, closed after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from .._cluster import Cluster, connect
from ..errors import Error

CONFIG_HELP = "Configuration file (.toml, .yaml/.yml, .json), or etcd://HOST:PORT/KEY."

ConfigOption = Annotated[
    str, typer.Option("--config", "-c", metavar="FILE|etcd://HOST:PORT/KEY", help=CONFIG_HELP)
]
"""A command's ``--config``: kept as text, since ``etcd://host/key`` is no file path
(``tenantdb.connect`` and ``load_config`` take either)."""


@contextlib.contextmanager
def opened_cluster(config: str) -> Iterator[Cluster]:
    """The cluster of ``config``, closed on exit; a tenantdb error inside becomes
    ``error: …`` on stderr and exit status 1."""
    try:
        with connect(config) as cluster:
            yield cluster
    except Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


__all__ = ["CONFIG_HELP", "ConfigOption", "opened_cluster"]
