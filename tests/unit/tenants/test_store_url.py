"""StoreUrl, the one reader of tenant store URLs, and what each store takes from it.

Pure: the stores' URL functions are called directly; nothing connects.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantdb.errors import ConfigError
from tenantdb.tenants.stores._url import StoreUrl
from tenantdb.tenants.stores.etcd import _parse_url as etcd_url
from tenantdb.tenants.stores.file import _parse_url as file_url
from tenantdb.tenants.stores.postgres import _split_table
from tenantdb.tenants.stores.redis import split_prefix
from tenantdb.tenants.stores.sqlite import SQLiteStore


def problem_of(error: pytest.ExceptionInfo[ConfigError]) -> tuple[str, str]:
    (problem,) = error.value.problems
    return problem.path, problem.message


# -- StoreUrl ------------------------------------------------------------------------------


def test_the_last_value_of_an_option_counts() -> None:
    url = StoreUrl.parse("redis://h/0?prefix=a&db=1&prefix=b&empty=")
    assert (url.option("prefix"), url.option("db"), url.option("empty")) == ("b", "1", "")
    assert url.option("missing") is None


def test_scheme_and_path_are_read_once_decoded() -> None:
    url = StoreUrl.parse("FILE:///tmp/my%20tenants.toml")
    assert (url.scheme, url.path) == ("file", "/tmp/my tenants.toml")


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("redis://h/0?prefix=p&protocol=3&db=1", ("prefix", "protocol"), "redis://h/0?db=1"),
        ("sqlite:////abs/x.db?poll_interval=1", ("poll_interval",), "sqlite:////abs/x.db"),
        ("sqlite:///rel/x.db", ("poll_interval",), "sqlite:///rel/x.db"),
        # No host: urlunsplit would write ``postgresql:/db``, a different URL.
        ("postgresql:///db?table=t&host=/tmp", ("table",), "postgresql:///db?host=%2Ftmp"),
        ("postgresql://u:p@h/db?table=t#frag", ("table",), "postgresql://u:p@h/db#frag"),
        # A space stays %20: libpq would pass a ``+`` on to the server as it is.
        (
            "postgresql://h/db?table=t&options=-c%20synchronous_commit%3Doff",
            ("table",),
            "postgresql://h/db?options=-c%20synchronous_commit%3Doff",
        ),
    ],
)
def test_without_drops_only_the_named_options(
    text: str, names: tuple[str, ...], expected: str
) -> None:
    assert StoreUrl.parse(text).without(*names) == expected


@pytest.mark.parametrize(("text", "expected"), [("", 0.2), ("?s=0.01", 0.01), ("?s=3", 3.0)])
def test_seconds(text: str, expected: float) -> None:
    assert StoreUrl.parse("file:///t.toml" + text).seconds("s", 0.2) == expected


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf", ""])
def test_seconds_that_are_not_a_positive_number_are_refused(value: str) -> None:
    url = StoreUrl.parse(f"sqlite:///t.db?poll_interval={value}")
    with pytest.raises(ConfigError) as caught:
        url.seconds("poll_interval", 0.05)
    assert problem_of(caught) == (
        "registry.url",
        f"poll_interval is a positive number of seconds, got {value!r}"
        f" (in sqlite:///t.db?poll_interval={value})",
    )


def test_a_problem_names_the_key_and_hides_the_password() -> None:
    url = StoreUrl.parse("redis://:s3cret@h/0?prefix=x", key="registry.cache_url")
    (problem,) = url.problem("bad").problems
    assert (problem.path, problem.message) == (
        "registry.cache_url",
        "bad (in redis://:***@h/0?prefix=x)",
    )


def test_unknown_options_are_named() -> None:
    url = StoreUrl.parse("file:///t.toml?watch=1&poll_interval=1&zzz=2")
    with pytest.raises(ConfigError) as caught:
        url.refuse_options(["poll_interval"], store="a file store URL")
    assert problem_of(caught)[1].startswith(
        "a file store URL takes ?poll_interval=, not watch, zzz (in "
    )
    StoreUrl.parse("file:///t.toml?poll_interval=1").refuse_options(
        ["poll_interval"], store="a file store URL"
    )


def test_a_url_that_does_not_split_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"not a URL"):
        StoreUrl.parse("etcd://[::1/prefix")


# -- the stores ----------------------------------------------------------------------------


def test_etcd_host_port_and_prefix() -> None:
    assert etcd_url("etcd://10.0.0.1:2380/a/b/") == ("10.0.0.1", 2380, "a/b")
    assert etcd_url("etcd://[::1]") == ("::1", 2379, "tenantdb")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("etcd://h:port/x", "the port is not a number"),
        ("etcd://h:99999/x", "the port is not a number"),
        ("etcd:///x", "names a host"),
        ("etcd://u:s3cret@h/x", "authentication is not supported"),
        ("etcd://h/x?prefix=y", "takes no query or fragment"),
        ("redis://h/x", "starts with 'etcd://'"),
    ],
)
def test_etcd_refuses_what_it_cannot_use(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        etcd_url(url)
    assert "s3cret" not in str(caught.value)


def test_file_path_and_poll_interval() -> None:
    assert file_url("file:///srv/t/../tenants.yaml") == (Path("/srv/tenants.yaml"), None)
    assert file_url("file://localhost/srv/t.json?poll_interval=0.5") == (Path("/srv/t.json"), 0.5)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("file://relative/tenants.toml", "absolute path"),
        ("file:///tmp/tenants.txt", "ends in .toml"),
        ("file:///tmp/tenants.toml?watch=1", r"takes \?poll_interval=, not watch"),
        ("file:///tmp/tenants.toml?poll_interval=0", "positive number of seconds"),
    ],
)
def test_file_refuses_what_it_cannot_use(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        file_url(url)


def test_postgres_table_option() -> None:
    url = "postgresql://app:pw@h:5432/db?sslmode=disable&table=tenants_x"
    assert _split_table(StoreUrl.parse(url)) == (
        "tenants_x",
        "postgresql://app:pw@h:5432/db?sslmode=disable",
    )
    assert _split_table(StoreUrl.parse("postgresql:///db?host=/run/pg")) == (
        "tenantdb_tenants",
        "postgresql:///db?host=%2Frun%2Fpg",
    )


@pytest.mark.parametrize("table", ["", "a-b", "x" * 60])
def test_postgres_refuses_a_table_that_is_not_an_identifier(table: str) -> None:
    with pytest.raises(ConfigError, match="not a plain identifier") as caught:
        _split_table(StoreUrl.parse(f"postgresql://app:pw@h/db?table={table}"))
    assert ":pw@" not in str(caught.value)


def test_redis_prefix_option() -> None:
    assert split_prefix("redis://h:6379/3?prefix=acme&protocol=3&db=1", "d") == (
        "acme",
        "redis://h:6379/3?db=1",
    )
    assert split_prefix("redis://h/0?prefix=", "d") == ("d", "redis://h/0")
    assert split_prefix("redis://h/0", "d") == ("d", "redis://h/0")


def test_sqlite_poll_interval() -> None:
    assert SQLiteStore("sqlite:///t.db").poll_interval_s == 0.05
    assert SQLiteStore("sqlite:///t.db?poll_interval=0.01").poll_interval_s == 0.01


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///t.db?poll_interval=-1", "positive number of seconds, got '-1'"),
        ("sqlite:///t.db?poll_interval=soon", "positive number of seconds, got 'soon'"),
        ("sqlite:///t.db?mode=ro", r"a SQLite store URL takes \?poll_interval=, not mode"),
    ],
)
def test_sqlite_refuses_what_it_cannot_use(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        SQLiteStore(url)
    assert problem_of(caught)[0] == "registry.url"
