"""The console as a WSGI application (PEP 3333), for the thread front."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._console import Console
from ._http import MAX_BODY_BYTES, Request, Response

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def wsgi_adapter(console: Console) -> WsgiApp:
    """A WSGI callable that answers every request through ``console.handle``."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = _respond(console, environ)
        start_response(
            f"{response.status} {response.reason}",
            [(name, value) for name, value in response.headers]
            + [("Content-Length", str(len(response.body)))],
        )
        return [response.body]

    return application


def _respond(console: Console, environ: dict[str, Any]) -> Response:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > MAX_BODY_BYTES:
        return console.body_refused(length)
    body = environ["wsgi.input"].read(length) if length else b""
    return console.handle(
        Request(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=_text(environ.get("PATH_INFO", "")) or "/",
            query=_text(environ.get("QUERY_STRING", "")),
            headers=_headers(environ),
            body=body,
            client=environ.get("REMOTE_ADDR") or "unknown",
            root=_text(environ.get("SCRIPT_NAME", "")).rstrip("/"),
            secure=environ.get("wsgi.url_scheme") == "https",
        )
    )


def _text(value: str) -> str:
    """A PEP 3333 "native string" (bytes as latin-1) back to the UTF-8 text it carries."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


__all__ = ["wsgi_adapter"]
