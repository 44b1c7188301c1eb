"""``etcd://host:port/key``: a configuration document kept as the value of one etcd key.

The value is the document's text, TOML or JSON (JSON when it starts with ``{``). It is read
through etcd's JSON gateway (``POST /v3/kv/range``) with the standard library only; the
URL takes no user name or password (etcd authentication is not supported yet).
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.parse
from typing import Any

from ..errors import ConfigError
from ._formats import parse_document

DEFAULT_PORT = 2379


def is_etcd_url(source: object) -> bool:
    """Whether ``source`` names an etcd document rather than a file."""
    return isinstance(source, str) and source.lower().startswith("etcd://")


def etcd_key(url: str) -> tuple[str, int, str]:
    """``(host, port, key)`` of ``etcd://host:port/key``; ConfigError naming what to fix."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"{url}: etcd authentication is not supported; remove the user name and password"
        )
    if not parts.hostname or not parts.path.strip("/") or parts.query or parts.fragment:
        raise ConfigError(
            f"{url}: an etcd configuration source is etcd://host:port/key, e.g."
            " etcd://127.0.0.1:2379/tenantdb/config"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"{url}: the port is not a number") from None
    return parts.hostname, port, parts.path


def read_etcd_text(url: str, *, timeout_s: float = 5.0) -> str | None:
    """The text stored at the URL's key, or None when the key does not exist. Raises
    ConfigError when etcd cannot be reached or answers with an error."""
    host, port, key = etcd_key(url)
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()})
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        connection.request(
            "POST", "/v3/kv/range", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        data = response.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {url}: etcd at {host}:{port}: {exc}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise ConfigError(f"cannot read {url}: etcd answered HTTP {response.status}")
    answer: dict[str, Any] = json.loads(data)
    kvs = answer.get("kvs") or []
    if not kvs:
        return None
    return base64.b64decode(kvs[0].get("value", "")).decode("utf-8-sig")


def read_etcd_document(url: str) -> dict[str, Any]:
    """The document at the URL's key, parsed; ConfigError when it is missing or invalid."""
    text = read_etcd_text(url)
    if text is None:
        raise ConfigError(f"configuration key not found: {url}")
    return parse_document(text, url)


__all__ = ["etcd_key", "is_etcd_url", "read_etcd_document", "read_etcd_text"]
