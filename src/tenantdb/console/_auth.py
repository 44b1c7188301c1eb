"""Who may use the console: the bearer token, browser sessions signed with it, and the
per-session CSRF token of every form.

Nothing is stored on the server. A session cookie is ``v1.<issued>.<nonce>.<signature>``
with an HMAC-SHA256 signature under a key derived from the token, so every process that
serves the console with the same token accepts it, and changing the token ends every
session. The cookie never holds the token itself. A form's CSRF token is an HMAC of the
session's nonce under the same key: a page of another site can neither read it nor
compute it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..errors import InterfaceError
from ._http import Request

MIN_TOKEN_LENGTH = 16
_TOKEN_HINT = (
    "make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` and pass"
    " it as token=..., e.g. from the environment variable TENANTDB_CONSOLE_TOKEN"
)
_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller: by its ``Authorization: Bearer`` header, or by a session
    cookie (``session`` is that cookie's nonce; ``"bearer"`` for header callers)."""

    kind: Literal["bearer", "session"]
    session: str


def checked_token(token: object, *, builder: str) -> str:
    """``token`` if it can guard the console; InterfaceError saying how to pass one."""
    if token is None or token == "":
        raise InterfaceError(
            f"{builder}() needs token=: the console never runs open; {_TOKEN_HINT}"
        )
    if not isinstance(token, str):
        raise InterfaceError(f"{builder}(token=...) must be a string, got {type(token).__name__}")
    if len(token) < MIN_TOKEN_LENGTH or not token.isprintable() or token != token.strip():
        raise InterfaceError(
            f"{builder}(token=...) must be at least {MIN_TOKEN_LENGTH} printable characters"
            f" without surrounding spaces; {_TOKEN_HINT}"
        )
    return token


class Gate:
    """Checks bearer tokens, issues and checks session cookies and CSRF tokens.

    ``max_age_s`` bounds a session's life from login; ``clock`` gives Unix seconds.
    Thread-safe (it holds no mutable state).
    """

    def __init__(
        self,
        token: str,
        *,
        max_age_s: float = 12 * 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = token.encode("utf-8")
        # One key per use, so that no signature of one kind passes for the other.
        self._session_key = _derived(self._token, b"tenantdb console sessions")
        self._csrf_key = _derived(self._token, b"tenantdb console csrf")
        self.max_age_s = max_age_s
        self._clock = clock

    def token_matches(self, presented: str) -> bool:
        """Whether ``presented`` is the token (in time independent of where they differ)."""
        return hmac.compare_digest(presented.encode("utf-8"), self._token)

    def identify(self, request: Request, cookie_name: str) -> Identity | None:
        """The caller, or None: no credentials, a wrong token, or a session cookie that is
        forged, altered or expired. A request that presents an Authorization header is
        judged by it alone."""
        authorization = request.header("authorization")
        if authorization is not None:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.token_matches(presented.strip()):
                return Identity("bearer", "bearer")
            return None
        cookie = request.cookie(cookie_name)
        nonce = self._session_nonce(cookie) if cookie else None
        return Identity("session", nonce) if nonce is not None else None

    def new_session(self) -> str:
        """A fresh session cookie value."""
        payload = f"{_VERSION}.{int(self._clock())}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{_signature(self._session_key, payload)}"

    def csrf_token(self, identity: Identity) -> str:
        """The CSRF token that forms shown to ``identity`` carry."""
        return _signature(self._csrf_key, identity.session)

    def csrf_matches(self, identity: Identity, presented: str) -> bool:
        expected = self.csrf_token(identity).encode("ascii")
        return hmac.compare_digest(presented.encode("utf-8"), expected)

    def _session_nonce(self, cookie: str) -> str | None:
        payload, _, signature = cookie.rpartition(".")
        expected = _signature(self._session_key, payload)
        if not hmac.compare_digest(signature.encode("utf-8"), expected.encode("ascii")):
            return None
        version, issued, nonce = [*payload.split("."), "", "", ""][:3]
        if version != _VERSION or not issued.isdigit() or not nonce:
            return None
        age = self._clock() - int(issued)
        return nonce if -60.0 <= age <= self.max_age_s else None


def _derived(token: bytes, purpose: bytes) -> bytes:
    return hmac.new(token, purpose, hashlib.sha256).digest()


def _signature(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


__all__ = ["MIN_TOKEN_LENGTH", "Gate", "Identity", "checked_token"]
