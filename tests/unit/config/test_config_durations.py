"""Durations: numbers of seconds or strings with ms/s/m/h units."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.config._durations import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2s", 2.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("1m", 60.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1.5 s", 1.5),
        (" 2s ", 2.0),
        ("2", 2.0),
        (".5", 0.5),
        (3, 3.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration(value: str | float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["2x", "s", "", "1d", "-1s", "2 seconds", "1e3", True, None, [1], float("inf")]
)
def test_parse_duration_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="expected a"):
        parse_duration(value)


def test_durations_in_the_document_are_seconds(doc: dict[str, Any]) -> None:
    doc["datasources"]["ds0"].update(max_replication_lag="250ms", pool={"timeout": "1m"})
    doc["registry"] = {"negative_ttl": "2s"}
    config = load_config(doc, env={})
    assert config.datasources["ds0"].max_replication_lag == 0.25
    assert config.datasources["ds0"].pool.timeout == 60.0
    assert config.registry is not None
    assert config.registry.negative_ttl == 2.0


def test_duration_defaults(doc: dict[str, Any]) -> None:
    config = load_config({**doc, "registry": {}}, env={})
    datasource = config.datasources["ds0"]
    assert (datasource.max_replication_lag, datasource.pool.timeout) == (5.0, 30.0)
    assert config.registry is not None
    assert config.registry.negative_ttl == 5.0


def test_bad_duration_is_a_problem(doc: dict[str, Any], problem_at: Callable[..., str]) -> None:
    doc["datasources"]["ds0"]["max_replication_lag"] = "2 secs"
    message = problem_at(doc, "datasources.ds0.max_replication_lag")
    assert message.startswith("expected a duration: a number of seconds or a string such as")
    assert message.endswith("got '2 secs'")


@pytest.mark.parametrize("value", [0, "0s", -1])
def test_replication_lag_must_be_positive(
    doc: dict[str, Any], problem_at: Callable[..., str], value: object
) -> None:
    doc["datasources"]["ds0"]["max_replication_lag"] = value
    message = problem_at(doc, "datasources.ds0.max_replication_lag")
    assert message.startswith("must be greater than 0, got ")


def test_negative_ttl_may_be_zero(doc: dict[str, Any]) -> None:
    config = load_config({**doc, "registry": {"negative_ttl": 0}}, env={})
    assert config.registry is not None
    assert config.registry.negative_ttl == 0.0
