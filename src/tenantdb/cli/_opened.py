"""``opened_cluster``: the cluster of a ``--config`` file for one command, closed after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer

from .._cluster import Cluster, connect
from ..errors import Error


@contextlib.contextmanager
def opened_cluster(config: Path) -> Iterator[Cluster]:
    """The cluster of ``config``, closed on exit; a tenantdb error inside becomes
    ``error: …`` on stderr and exit status 1."""
    try:
        with connect(config) as cluster:
            yield cluster
    except Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


__all__ = ["opened_cluster"]
