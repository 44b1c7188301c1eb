"""The operator's web console: topology, tenants, slow statements and an explain box, with
the read-to-primary switch and tenant suspension, in a browser.

Mount it in the application, where it sees that process's live pools, breakers and
limits::

    from tenantdb.console import asgi_app
    app.mount("/console", asgi_app(acluster, token=os.environ["TENANTDB_CONSOLE_TOKEN"]))

``wsgi_app(cluster, token=...)`` is the same console for the thread front (a WSGI
application, e.g. mounted with werkzeug's DispatcherMiddleware or served by any WSGI
server). ``tenantdb console -c FILE`` serves it standalone (``standalone=True``).

Everything needs the token: scripts send ``Authorization: Bearer <token>``, browsers sign
in once and get an HttpOnly, SameSite=Strict session cookie signed with it. Every form
carries a CSRF token, every action is a POST and writes one line on the
``tenantdb.console.audit`` logger. Pages are plain server-rendered HTML with no script;
everything rendered is escaped, and the console never shows a table's rows.
"""

from __future__ import annotations

from ._apps import AsgiApp, WsgiApp, asgi_app, wsgi_app

__all__ = ["AsgiApp", "WsgiApp", "asgi_app", "wsgi_app"]
