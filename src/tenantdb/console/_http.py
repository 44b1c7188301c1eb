"""The console's own request and response: plain values that the ASGI and WSGI adapters
build and send, so the pages and actions are written once and tested without a server."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body the console reads (its forms are small; an explain box's SQL
is at most ``max_statement_bytes``, 1 MiB by default)."""

_MAX_FORM_FIELDS = 50


class BadRequest(Exception):
    """A request the console cannot read (a body that is not a form, too many fields)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, as the adapters hand it to the console.

    ``path`` is below the mount point and starts with ``/``; ``root`` is the mount point
    itself (``""`` or ``"/console"``), which links and the cookie's path are built on.
    ``headers`` has lower-case names; ``client`` is the peer address as the server saw it
    (what the audit log records); ``secure`` is True for https.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: str = "unknown"
    root: str = ""
    secure: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_params(self) -> dict[str, str]:
        """The query string's fields (the first value of each)."""
        return _fields(self.query)

    def form(self) -> dict[str, str]:
        """The body's ``application/x-www-form-urlencoded`` fields (the first value of each).

        Raises BadRequest (415) for another content type, (400) for a body that is not
        UTF-8 or has too many fields.
        """
        kind = (self.header("content-type") or "").split(";", 1)[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise BadRequest(
                "the console's forms are sent as application/x-www-form-urlencoded", 415
            )
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the form is not UTF-8 text") from None
        return _fields(text)

    def cookie(self, name: str) -> str | None:
        """The value of cookie ``name``, or None (also for an unreadable Cookie header)."""
        raw = self.header("cookie")
        if not raw:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None else None


def _fields(text: str) -> dict[str, str]:
    try:
        parsed = urllib.parse.parse_qs(
            text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS, errors="strict"
        )
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("too many fields, or fields that are not UTF-8 text") from None
    return {name: values[0] for name, values in parsed.items()}


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response: status, headers (name, value) in order, and the whole body."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def reason(self) -> str:
        return HTTPStatus(self.status).phrase

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def with_headers(self, *headers: tuple[str, str]) -> Response:
        return Response(self.status, self.body, self.headers + headers)


__all__ = ["MAX_BODY_BYTES", "BadRequest", "Request", "Response"]
