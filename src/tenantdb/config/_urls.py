"""Datasource URLs: which database a scheme names, and how to show a URL without its password."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

Dialect = Literal["postgres", "mysql", "sqlite"]
"""The SQL dialect of a cluster: every datasource speaks it."""

# Scheme → dialect, in the order error messages list them.
SCHEME_DIALECTS: dict[str, Dialect] = {
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}
URL_EXAMPLE = "'postgresql://app@db-host:5432/app' or 'sqlite:///data/shard0.db'"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SECRET_QUERY = re.compile(r"(?i)([?&;](?:password|passwd|pwd|sslpassword)=)[^&;#]*")


def url_scheme(url: str) -> str | None:
    """Return the lower-cased scheme of ``url``, or None when it has no ``scheme://``."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def url_dialect(url: str) -> Dialect | None:
    """Return the dialect a datasource URL speaks, or None for an unsupported scheme."""
    scheme = url_scheme(url)
    return SCHEME_DIALECTS.get(scheme) if scheme else None


def redact_url(url: str) -> str:
    """Return ``url`` with the password of its user info and password query values as ``***``.

    ``postgresql://app:s3cret@host/db`` becomes ``postgresql://app:***@host/db``. Text that
    is not a URL is returned unchanged.
    """
    match = _SCHEME.match(url)
    if match is None:
        return url
    head, rest = url[: match.end()], url[match.end() :]
    authority_end = len(rest)
    for separator in "/?#":
        index = rest.find(separator)
        if index != -1:
            authority_end = min(authority_end, index)
    authority, tail = rest[:authority_end], rest[authority_end:]
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.partition(":")[0]
        authority = f"{user}:***@{host}"
    return head + authority + _SECRET_QUERY.sub(r"\1***", tail)


def _check_datasource_url(url: str) -> str:
    # Messages name the scheme only: the rest of a URL may hold a password.
    scheme = url_scheme(url)
    if scheme is None:
        raise PydanticCustomError(
            "datasource_url", f"expected a database URL such as {URL_EXAMPLE}"
        )
    if scheme not in SCHEME_DIALECTS:
        allowed = ", ".join(SCHEME_DIALECTS)
        raise PydanticCustomError(
            "datasource_url",
            f"unsupported URL scheme '{scheme}'; use one of: {allowed}",
        )
    return url


DatasourceUrl = Annotated[str, AfterValidator(_check_datasource_url)]
"""A URL whose scheme is one of ``SCHEME_DIALECTS``."""
