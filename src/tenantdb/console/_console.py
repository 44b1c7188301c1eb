"""The console itself: one request in, one response out, with no server in sight.

``Console.handle`` does everything an HTTP request needs (sign-in, the session cookie,
CSRF and origin checks, the page or action, security headers) using only the cluster's
synchronous calls, so the ASGI and WSGI adapters are a few lines each and the whole
console can be tested by building ``Request`` values. It blocks (the registry may read
its store): the ASGI adapter calls it on a worker thread.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.sql import params_from_json
from ..errors import Error
from . import _actions as actions
from ._auth import Gate, Identity
from ._html import STYLESHEET, Markup
from ._http import MAX_BODY_BYTES, BadRequest, Request, Response
from ._layout import View, message_page
from ._page_explain import ExplainForm, explain_page
from ._page_login import login_page
from ._page_slow import slow_page
from ._page_tenants import tenants_page
from ._page_topology import topology_page
from ._vantage import Vantage

log = logging.getLogger("tenantdb.console")

COOKIE = "tenantdb_console"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
_HTML = "text/html; charset=utf-8"

Action = Callable[[Vantage, Mapping[str, str], actions.Caller], str]
# POST path → (action, the page to go back to, built from the form)
_ACTIONS: dict[str, tuple[Action, Callable[[Mapping[str, str]], str]]] = {
    "/switch/force": (actions.force_primary, lambda form: "/"),
    "/switch/release": (actions.release_primary, lambda form: "/"),
    "/tenants/status": (
        actions.set_tenant_status,
        lambda form: (
            "/tenants" + (f"?{urllib.parse.urlencode({'q': form['q']})}" if form.get("q") else "")
        ),
    ),
}
_PAGES = frozenset({"/", "/tenants", "/slow", "/explain"})


class Console:
    """The console's request core (see the module docstring).

    ``token`` guards everything but the sign-in page, the stylesheet, the empty favicon and
    the probes ``/healthz`` and ``/readyz``;
    sessions last ``session_max_age_s``; ``trusted_origins`` are origins besides the
    request's own ``Host`` whose POSTs are accepted (a proxy that rewrites ``Host``).
    """

    def __init__(
        self,
        vantage: Vantage,
        *,
        token: str,
        session_max_age_s: float = 12 * 3600.0,
        trusted_origins: Iterable[str] = (),
    ) -> None:
        self.vantage = vantage
        self.gate = Gate(token, max_age_s=session_max_age_s)
        self._trusted = frozenset(o.rstrip("/").lower() for o in trusted_origins)
        self._flashes = _Flashes()
        self._registry: Any = None  # the Prometheus registry of /metrics, made on first use

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises (an unexpected error is logged, and answered
        500 without its details)."""
        try:
            response = self._route(request)
        except BadRequest as exc:
            response = _text(exc.status, str(exc))
        except Exception:
            log.exception("console: %s %s failed", request.method, request.path)
            response = _text(500, "the console failed on this request; see the server's log")
        if request.method == "HEAD":
            response = Response(response.status, b"", response.headers)
        return response.with_headers(*_SECURITY_HEADERS)

    def __repr__(self) -> str:
        where = "standalone" if self.vantage.standalone else "in-process"
        return f"<Console {where} pid {self.vantage.pid} {self.vantage.cluster!r}>"

    def body_refused(self, length: int) -> Response:
        """The answer to a request whose body the adapter would not read: larger than
        ``MAX_BODY_BYTES`` (413), or of an unreadable length (400)."""
        if length > MAX_BODY_BYTES:
            response = _text(413, f"the request body is over {MAX_BODY_BYTES} bytes")
        else:
            response = _text(400, "the request's Content-Length is not a byte count")
        return response.with_headers(*_SECURITY_HEADERS)

    # -- routing ---------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        path = request.path
        if path == "/console.css":
            return _only(method, "GET") or Response(
                200,
                STYLESHEET.encode(),
                (("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "max-age=300")),
            )
        if path == "/favicon.ico":  # browsers ask for it; the console has none
            return Response(204, b"", (("Cache-Control", "max-age=86400"),))
        # Probes for orchestrators, which carry no token: they tell nothing but a verdict.
        if path == "/healthz":
            return _only(method, "GET") or _text(200, "ok")
        if path == "/readyz":
            return _only(method, "GET") or self._ready()
        if path == "/login":
            return _only(method, "GET", "POST") or (
                self._login(request) if method == "POST" else self._login_form(request)
            )
        identity = self.gate.identify(request, COOKIE)
        if identity is None:
            return self._refused(request)
        if path == "/logout":
            return (
                _only(method, "POST") or self._checked(request, identity) or self._logout(request)
            )
        if path == "/metrics":
            return _only(method, "GET") or self._metrics()
        if path in _ACTIONS:
            return (
                _only(method, "POST")
                or self._checked(request, identity)
                or self._act(request, identity, path)
            )
        if path not in _PAGES:
            return _html(
                404,
                message_page(
                    self._view(request, identity), "Not found", f"There is no console page {path}."
                ),
            )
        if path == "/explain" and method == "POST":
            return self._checked(request, identity) or self._explain(request, identity)
        return _only(method, "GET") or self._page(request, identity, path)

    def _ready(self) -> Response:
        """200 when the tenant registry has loaded and no primary's circuit breaker is
        open, as this process has seen them (nothing is sent to a database); 503 with the
        reasons otherwise."""
        problems: list[str] = []
        cluster = self.vantage.cluster
        registry = cluster.tenants.status()
        if registry["feed"] == "reconnecting" or registry["last_error"] is not None:
            problems.append("the tenant registry is not loaded from its store")
        for name, entry in cluster.status()["datasources"].items():
            breaker = entry.get("breakers", {}).get("primary")
            if breaker is not None and breaker["state"] == "open":
                problems.append(f"the primary of datasource {name} is unreachable (breaker open)")
        if problems:
            return _text(503, "not ready: " + "; ".join(problems))
        return _text(200, "ready")

    def _metrics(self) -> Response:
        """The Prometheus exposition of this process's cluster (``prometheus_collector``)."""
        if self._registry is None:
            try:
                from prometheus_client import CollectorRegistry
            except ImportError:
                return _text(
                    501, "/metrics needs prometheus_client: pip install 'tenantdb[prometheus]'"
                )
            from ..telemetry import prometheus_collector

            registry = CollectorRegistry()
            registry.register(prometheus_collector(self.vantage.cluster))
            self._registry = registry
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(
            200,
            generate_latest(self._registry),
            (("Content-Type", CONTENT_TYPE_LATEST), ("Cache-Control", "no-store")),
        )

    def _page(self, request: Request, identity: Identity, path: str) -> Response:
        view = self._view(request, identity, take_flash=True)
        if path == "/":
            return _html(200, topology_page(view))
        if path == "/tenants":
            return _html(200, tenants_page(view, request.query_params().get("q", "").strip()))
        if path == "/slow":
            return _html(200, slow_page(view))
        return _html(200, explain_page(view, ExplainForm(), None, None))

    def _view(self, request: Request, identity: Identity, *, take_flash: bool = False) -> View:
        flash, error = self._flashes.pop(identity.session) if take_flash else (None, None)
        return View(
            root=request.root,
            csrf=self.gate.csrf_token(identity),
            vantage=self.vantage,
            flash=flash,
            error=error,
        )

    # -- signing in and out ----------------------------------------------------------------

    def _login_form(self, request: Request) -> Response:
        if self.gate.identify(request, COOKIE) is not None:
            return _redirect(f"{request.root}/")
        return _html(200, login_page(request.root))

    def _login(self, request: Request) -> Response:
        problem = self._cross_site(request)
        if problem is not None:
            return _text(403, problem)
        presented = request.form().get("token", "")
        if not self.gate.token_matches(presented):
            actions.audit.warning("console sign-in refused for %s: wrong token", request.client)
            return _html(401, login_page(request.root, error="That is not the console token."))
        actions.audit.info("console sign-in by %s", request.client)
        return _redirect(f"{request.root}/").with_headers(
            ("Set-Cookie", self._cookie(request, self.gate.new_session()))
        )

    def _logout(self, request: Request) -> Response:
        return _redirect(f"{request.root}/login").with_headers(
            ("Set-Cookie", self._cookie(request, "", max_age=0))
        )

    def _refused(self, request: Request) -> Response:
        """401 for a caller without valid credentials: the sign-in form for browsers, and
        the Bearer challenge for scripts; a stale or forged cookie is cleared."""
        stale = request.cookie(COOKIE) is not None and request.header("authorization") is None
        error = "Your session has ended or is not valid; sign in again." if stale else None
        if request.header("authorization") is not None:
            error = "The Authorization header does not carry the console token."
        response = _html(401, login_page(request.root, error=error)).with_headers(
            ("WWW-Authenticate", 'Bearer realm="tenantdb console"')
        )
        if stale:
            response = response.with_headers(("Set-Cookie", self._cookie(request, "", max_age=0)))
        return response

    def _cookie(self, request: Request, value: str, *, max_age: float | None = None) -> str:
        age = self.gate.max_age_s if max_age is None else max_age
        parts = [
            f"{COOKIE}={value}",
            f"Path={request.root or '/'}",
            f"Max-Age={int(age)}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if request.secure:
            parts.append("Secure")
        return "; ".join(parts)

    # -- forms -----------------------------------------------------------------------------

    def _checked(self, request: Request, identity: Identity) -> Response | None:
        """None when a POST may proceed: same origin, and the form's CSRF token matches
        the caller's; else the 403 that refuses it (and an audit line)."""
        problem = self._cross_site(request)
        if problem is None and not self.gate.csrf_matches(identity, request.form().get("csrf", "")):
            problem = "the form's CSRF token is missing or not this session's; reload the page"
        if problem is None:
            return None
        actions.audit.warning(
            "console %s %s by %s (%s) refused: %s",
            request.method,
            request.path,
            request.client,
            identity.kind,
            problem,
        )
        return _text(403, problem)

    # Chromium sends ``Origin: null`` on a POST from a page whose Referrer-Policy is
    # no-referrer, so the pages use same-origin: the Origin check still works.
    def _cross_site(self, request: Request) -> str | None:
        site = request.header("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"cross-site request refused (Sec-Fetch-Site: {site})"
        origin = request.header("origin")
        if origin is None:
            return None
        origin = origin.rstrip("/").lower()
        if origin in self._trusted:
            return None
        host = (request.header("host") or "").lower()
        if origin == "null" or not host or urllib.parse.urlsplit(origin).netloc != host:
            return f"cross-origin request refused (Origin: {origin}, Host: {host or 'none'})"
        return None

    def _act(self, request: Request, identity: Identity, path: str) -> Response:
        action, back = _ACTIONS[path]
        form = request.form()
        caller = actions.Caller(request.client, identity)
        try:
            done = action(self.vantage, form, caller)
        except actions.ActionFailed as exc:
            view = self._view(request, identity)
            return _html(exc.status, message_page(view, "Not done", str(exc)))
        self._flashes.put(identity.session, flash=done)
        return _redirect(f"{request.root}{back(form)}")

    def _explain(self, request: Request, identity: Identity) -> Response:
        form = request.form()
        filled = ExplainForm(
            sql=form.get("sql", ""),
            params=form.get("params", "").strip(),
            tenant=form.get("tenant", "").strip(),
            admin=form.get("admin") == "1",
        )
        plan: dict[str, Any] | None = None
        problem: str | None = None
        try:
            params = _params(filled.params)
            plan = self.vantage.cluster.explain(
                filled.sql, params, tenant=filled.tenant or None, admin=filled.admin
            ).to_dict()
        except (Error, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        view = self._view(request, identity)
        return _html(200, explain_page(view, filled, plan, problem))


def _params(text: str) -> Any:
    return params_from_json(text) if text else None


def _only(method: str, *allowed: str) -> Response | None:
    if method in allowed:
        return None
    return _text(405, f"use {' or '.join(allowed)} here").with_headers(
        ("Allow", ", ".join(allowed))
    )


def _html(status: int, page: Markup) -> Response:
    return Response(
        status,
        page.encode("utf-8"),
        (("Content-Type", _HTML), ("Cache-Control", "no-store")),
    )


def _text(status: int, text: str) -> Response:
    return Response(
        status,
        (text + "\n").encode("utf-8"),
        (("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")),
    )


def _redirect(location: str) -> Response:
    quoted = urllib.parse.quote(location, safe="/?=&%")  # a header is Latin-1
    return Response(303, b"", (("Location", quoted), ("Cache-Control", "no-store")))


class _Flashes:
    """The message each session sees once on its next page, after an action redirects.
    Bounded: the oldest sessions' messages go first."""

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._items: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, session: str, *, flash: str | None = None, error: str | None = None) -> None:
        with self._lock:
            self._items[session] = (flash, error)
            self._items.move_to_end(session)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def pop(self, session: str) -> tuple[str | None, str | None]:
        with self._lock:
            return self._items.pop(session, (None, None))


__all__ = ["COOKIE", "CONTENT_SECURITY_POLICY", "Console"]
