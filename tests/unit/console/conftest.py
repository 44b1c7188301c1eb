"""The console's request core over a real Cluster that never connects: a PostgreSQL
configuration (with a replica and a password in its URLs) whose pools are never opened,
static tenants in the in-process registry, and requests built as values.

``Client`` sends requests the way a browser or a script would: bearer token, or the
session cookie from a real sign-in, with the CSRF token read from the page's forms.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import tenantdb
from tenantdb.console._console import COOKIE, Console
from tenantdb.console._http import Request, Response
from tenantdb.console._vantage import InProcess

TOKEN = "unit-test-console-token-0123456789"
SCRIPT_ID = "<script>alert(1)</script>"
HOST = "console.test:8080"

CONFIG: dict[str, Any] = {
    "dialect": "postgres",
    "datasources": {
        "ds0": {
            "url": "postgresql://app:s3cret-pw@127.0.0.1:1/shard0",
            "replicas": ["postgresql://app:s3cret-pw@127.0.0.1:1/replica0"],
        },
        "ds1": {"url": "postgresql://app@127.0.0.1:1/shard1"},
    },
    "tables": {"orders": {"strategy": "tenant"}},
    "tenants": {
        "acme": {"datasource": "ds0", "limits": {"requests_per_second": 5, "burst": 7}},
        "globex": {"datasource": "ds1", "features": {"beta": True}},
        SCRIPT_ID: {"datasource": "ds1"},
    },
}


@pytest.fixture
def cluster() -> Iterator[tenantdb.Cluster]:
    with tenantdb.connect(CONFIG) as built:
        yield built


@pytest.fixture
def console(cluster: tenantdb.Cluster) -> Console:
    return Console(InProcess(cluster), token=TOKEN)


class Client:
    """Requests to one console from one caller (``bearer=True``: a script with the token;
    else a browser holding whatever cookie it was given)."""

    def __init__(self, console: Console, *, bearer: bool = False, root: str = "") -> None:
        self.console = console
        self.bearer = bearer
        self.root = root
        self.cookie: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        sent = {"host": HOST}
        if self.bearer:
            sent["authorization"] = f"Bearer {TOKEN}"
        if self.cookie is not None:
            sent["cookie"] = f"{COOKIE}={self.cookie}"
        body = b""
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            sent["content-type"] = "application/x-www-form-urlencoded"
        sent.update({k.lower(): v for k, v in (headers or {}).items()})
        return self.console.handle(
            Request(method, path, query, sent, body, client="203.0.113.7", root=self.root)
        )

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: Mapping[str, str], **kwargs: Any) -> Response:
        return self.request("POST", path, form=form, **kwargs)

    def sign_in(self, token: str = TOKEN) -> Response:
        response = self.post("/login", {"token": token})
        set_cookie = response.header("Set-Cookie") or ""
        match = re.match(rf"{COOKIE}=([^;]*)", set_cookie)
        assert match is not None, response
        self.cookie = match.group(1)
        return response

    def csrf(self, path: str = "/") -> str:
        """The CSRF token the forms of page ``path`` carry."""
        return csrf_of(self.get(path))


def csrf_of(response: Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', response.body.decode())
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


def text(response: Response) -> str:
    return response.body.decode("utf-8")


@pytest.fixture
def script(console: Console) -> Client:
    return Client(console, bearer=True)


@pytest.fixture
def browser(console: Console) -> Client:
    client = Client(console)
    client.sign_in()
    return client
