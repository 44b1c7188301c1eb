"""The [registry] section: store and cache URL schemes are checked when loading."""

from __future__ import annotations

import pytest

from tenantdb import ConfigError, load_config

BASE = {"datasources": {"ds0": {"url": "sqlite:///x.db"}}}


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///tenants.db",
        "postgresql://app@db/control?table=tenants",
        "redis://cache:6379/0?prefix=t",
        "file:///etc/app/tenants.toml",
        "etcd://127.0.0.1:2379/app",
    ],
)
def test_every_store_scheme_is_accepted(url: str) -> None:
    config = load_config({**BASE, "registry": {"url": url}}, env={})
    assert config.registry is not None
    assert config.registry.url == url


def test_unknown_schemes_are_refused_naming_the_key() -> None:
    document = {**BASE, "registry": {"url": "mongodb://x/y", "cache_url": "memcached://c"}}
    with pytest.raises(ConfigError) as caught:
        load_config(document, env={})
    problems = {p.path: p.message for p in caught.value.problems}
    assert set(problems) == {"registry.url", "registry.cache_url"}
    assert "'mongodb:'" in problems["registry.url"]
    assert "etcd:" in problems["registry.url"]
    assert "redis:" in problems["registry.cache_url"]
