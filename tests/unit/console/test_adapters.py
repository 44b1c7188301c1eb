"""The two thin adapters carry requests to the core and responses back unchanged: WSGI
(PEP 3333 environ, start_response) and ASGI 3 (scope, receive, send), called in-process
with the values a server would pass."""

from __future__ import annotations

import asyncio
import io
import urllib.parse
from collections.abc import Mapping
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

import tenantdb
from tenantdb.console import asgi_app, wsgi_app
from tenantdb.console._http import MAX_BODY_BYTES

from .conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}


def _wsgi(
    app: Any,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] = AUTH,
    body: bytes = b"",
    script_name: str = "",
    query: str = "",
) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "SCRIPT_NAME": script_name,
        "QUERY_STRING": query,
        "REMOTE_ADDR": "192.0.2.1",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = {k.lower(): v for k, v in response_headers}

    chunks = app(environ, start_response)
    return seen["status"], seen["headers"], b"".join(chunks)


def _asgi(
    app: Any,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] = AUTH,
    body: bytes = b"",
    root_path: str = "",
    chunk: int = 1 << 20,
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("192.0.2.2", 40000),
        "server": ("127.0.0.1", 80),
    }
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    incoming = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, *bodies = sent
    assert start["type"] == "http.response.start"
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, b"".join(m.get("body", b"") for m in bodies)


@pytest.fixture(params=["wsgi", "asgi"])
def call(request: pytest.FixtureRequest, cluster: tenantdb.Cluster) -> Any:
    if request.param == "wsgi":
        app = wsgi_app(cluster, token=TOKEN)
        return lambda *args, **kwargs: _wsgi(app, *args, **kwargs)
    app = asgi_app(cluster, token=TOKEN)
    return lambda *args, **kwargs: _asgi(app, *args, **kwargs)


def test_a_page_through_each_adapter(call: Any) -> None:
    status, headers, body = call("GET", "/tenants")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert int(headers["content-length"]) == len(body)
    assert b"<h1>Tenants</h1>" in body


def test_no_token_through_each_adapter(call: Any) -> None:
    status, headers, _ = call("GET", "/", headers={})
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer")
    assert headers["x-frame-options"] == "DENY"


def test_an_action_through_each_adapter(call: Any, cluster: tenantdb.Cluster) -> None:
    _, _, page = call("GET", "/")
    csrf = page.decode().split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = urllib.parse.urlencode({"datasource": "", "reason": "drill", "csrf": csrf}).encode()
    headers = {**AUTH, "content-type": "application/x-www-form-urlencoded"}
    status, _, _ = call("POST", "/switch/force", headers=headers, body=form)
    assert status == 303
    assert cluster.status()["switch"]["forced"] == "drill"


def test_a_body_over_the_limit_is_refused_unread(call: Any) -> None:
    headers = {**AUTH, "content-type": "application/x-www-form-urlencoded"}
    status, headers_out, _ = call(
        "POST", "/explain", headers=headers, body=b"x" * (MAX_BODY_BYTES + 1)
    )
    assert status == 413
    assert {"content-security-policy", "x-frame-options"} <= headers_out.keys()


def test_the_asgi_mount_point_is_taken_either_way(cluster: tenantdb.Cluster) -> None:
    app = asgi_app(cluster, token=TOKEN)
    # Starlette's Mount leaves the prefix in ``path``; other servers strip it.
    for path in ("/ops/tenants", "/tenants"):
        status, _, body = _asgi(app, "GET", path, root_path="/ops")
        assert status == 200, path
        assert b'href="/ops/slow"' in body


def test_the_wsgi_mount_point_is_script_name(cluster: tenantdb.Cluster) -> None:
    app = wsgi_app(cluster, token=TOKEN)
    status, _, body = _wsgi(app, "GET", "/tenants", script_name="/ops")
    assert status == 200
    assert b'href="/ops/slow"' in body


def test_a_chunked_asgi_body_is_read_whole(cluster: tenantdb.Cluster) -> None:
    app = asgi_app(cluster, token=TOKEN)
    _, _, page = _asgi(app, "GET", "/explain")
    csrf = page.decode().split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = urllib.parse.urlencode(
        {"sql": "SELECT id FROM orders", "tenant": "acme", "params": "", "csrf": csrf}
    ).encode()
    headers = {**AUTH, "content-type": "application/x-www-form-urlencoded"}
    status, _, body = _asgi(app, "POST", "/explain", headers=headers, body=form, chunk=7)
    assert status == 200
    assert b'id="plan-targets"' in body


def test_the_asgi_app_answers_the_lifespan_protocol(cluster: tenantdb.Cluster) -> None:
    app = asgi_app(cluster, token=TOKEN)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_a_utf8_path_survives_the_wsgi_latin1_round_trip(cluster: tenantdb.Cluster) -> None:
    app = wsgi_app(cluster, token=TOKEN)
    status, _, body = _wsgi(app, "GET", "/tënant")
    assert status == 404
    assert "/tënant".encode() in body
