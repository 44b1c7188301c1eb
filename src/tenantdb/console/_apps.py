"""``asgi_app`` and ``wsgi_app``: the console core over a cluster, behind an adapter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._asgi import AsgiApp, asgi_adapter
from ._auth import checked_token
from ._console import Console
from ._vantage import InProcess, Outside, Vantage
from ._wsgi import WsgiApp, wsgi_adapter

if TYPE_CHECKING:
    from .. import AsyncCluster, Cluster


def asgi_app(
    cluster: AsyncCluster | Cluster,
    *,
    token: str,
    standalone: bool = False,
    session_max_age_s: float = 12 * 3600.0,
    trusted_origins: Iterable[str] = (),
) -> AsgiApp:
    """The console as an ASGI 3 application over ``cluster`` (usually an AsyncCluster).

    ``token`` (at least 16 characters; required: the console never runs open) is what
    callers must present. ``standalone=True`` says the cluster is the console's own, not
    the application's: the switch then writes the configuration's ``switch_file``, and
    the pages say that pools, breakers, limits and slow statements are not visible.
    ``session_max_age_s`` bounds a browser session; ``trusted_origins`` are origins
    (``"https://ops.example.com"``) whose forms are accepted besides the request's own
    host, for a proxy that rewrites ``Host``. Raises InterfaceError for a missing or weak
    token. Requests are answered on worker threads (``asyncio.to_thread``).
    """
    return asgi_adapter(
        _console(cluster, token, standalone, session_max_age_s, trusted_origins, "asgi_app")
    )


def wsgi_app(
    cluster: Cluster | AsyncCluster,
    *,
    token: str,
    standalone: bool = False,
    session_max_age_s: float = 12 * 3600.0,
    trusted_origins: Iterable[str] = (),
) -> WsgiApp:
    """The console as a WSGI application over ``cluster`` (usually a Cluster); the same
    pages, actions and arguments as ``asgi_app``."""
    return wsgi_adapter(
        _console(cluster, token, standalone, session_max_age_s, trusted_origins, "wsgi_app")
    )


def _console(
    cluster: AsyncCluster | Cluster,
    token: str,
    standalone: bool,
    session_max_age_s: float,
    trusted_origins: Iterable[str],
    builder: str,
) -> Console:
    checked = checked_token(token, builder=builder)
    vantage: Vantage = Outside(cluster) if standalone else InProcess(cluster)
    return Console(
        vantage,
        token=checked,
        session_max_age_s=session_max_age_s,
        trusted_origins=trusted_origins,
    )


__all__ = ["AsgiApp", "WsgiApp", "asgi_app", "wsgi_app"]
