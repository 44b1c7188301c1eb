"""Golden route plans: every case of ``<dialect>.json`` routed again and compared exactly.

The cases are defined in ``golden_cases.py`` and written to the JSON files, with the plan
the router returned, by ``regenerate.py``. Three checks keep the files honest:

- ``test_golden_plan``: the router still returns the recorded plan (or error class and a
  message fragment). Cases marked ``known_bug`` record the *correct* plan, written by hand,
  and are ``xfail(strict=True)``: fixing the bug makes them pass, and the marker must go.
- ``test_golden_files_match_definitions``: the JSON holds exactly the defined cases, and
  each recorded plan's targets are the ones computed by hand from DESIGN.md's placement
  formulas (``Case.places``), so a wrong shard cannot be regenerated into the files.
- ``test_golden_files_are_canonical``: the files are sorted and formatted as
  ``regenerate.py`` writes them, so diffs stay reviewable.
"""

from __future__ import annotations

import functools
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from golden_cases import CASES, DIALECTS, TODAY, Case

import tenantdb

GOLDEN = Path(__file__).resolve().parent

URLS = {
    "postgres": "postgresql://app@db{n}/shard{n}",
    "mysql": "mysql://app@db{n}/shard{n}",
    "sqlite": "sqlite:///shard{n}.db",
}
"""Datasource URL per dialect (``n`` from the datasource name); explain never connects."""

Record = dict[str, Any]


def cluster_config(dialect: str) -> dict[str, Any]:
    """``cluster.toml`` with the dialect and datasource URLs of ``dialect``."""
    with (GOLDEN / "cluster.toml").open("rb") as file:
        config = tomllib.load(file)
    config["dialect"] = dialect
    for name, datasource in config["datasources"].items():
        datasource["url"] = URLS[dialect].format(n=name.removeprefix("ds"))
    return config


@functools.cache
def cluster(dialect: str) -> tenantdb.Cluster:
    return tenantdb.connect(cluster_config(dialect), today=lambda: TODAY)


def route(dialect: str, sql: str, params: Any, tenant: str | None, admin: bool) -> Record:
    """The plan as JSON data, or ``{"error": class name, "message": text}``."""
    try:
        plan = cluster(dialect).explain(sql, params, tenant=tenant, admin=admin)
    except tenantdb.Error as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    # Through JSON so tuples, floats and the like compare as the files hold them.
    result: Record = json.loads(json.dumps(plan.to_dict()))
    return result


def case_name(case: Case, dialect: str) -> str:
    return f"{dialect}/{case.name}"


def inputs(case: Case, dialect: str) -> Record:
    """The input half of a case's record, in file order."""
    record: Record = {
        "name": case_name(case, dialect),
        "dialect": dialect,
        "sql": case.sql,
        "params": case.params,
        "tenant": case.tenant,
        "admin": case.admin,
    }
    if case.known_bug:
        record["known_bug"] = case.known_bug
    return record


def places_of(expect: Record) -> list[list[Any]]:
    """(datasource, tables) of every target, as JSON data."""
    return [[t["datasource"], t["tables"]] for t in expect.get("targets", [])]


def problems(case: Case, dialect: str, expect: Record) -> list[str]:
    """How a recorded expectation disagrees with the case's hand-computed outcome."""
    found: list[str] = []
    if case.error is not None:
        if expect.get("error") != case.error:
            found.append(f"expected {case.error}, got {_describe(expect)}")
        elif case.message is not None and case.message not in expect.get(
            "message", expect.get("message_contains", "")
        ):
            found.append(f"message lacks {case.message!r}: {expect.get('message')!r}")
        return found
    if "error" in expect:
        found.append(f"expected a plan, got {_describe(expect)}")
        return found
    wanted = json.loads(json.dumps([list(place) for place in case.places]))
    if places_of(expect) != wanted:
        found.append(f"targets {places_of(expect)} are not the hand-computed {wanted}")
    return found


def _describe(result: Record) -> str:
    if "error" in result:
        return f"{result['error']}: {result.get('message', result.get('message_contains'))}"
    return "a plan with targets " + json.dumps(places_of(result))


def record(case: Case, dialect: str) -> tuple[Record, list[str]]:
    """The case's JSON record from the current router, and what is wrong with the output.

    Known bugs keep their hand-written expectation; the problems then say whether the router
    still disagrees with it (the usual state) or was fixed.
    """
    entry = inputs(case, dialect)
    actual = route(dialect, case.sql, case.params, case.tenant, case.admin)
    if case.known_bug:
        assert case.expect is not None, f"{entry['name']}: a known bug needs a hand-written expect"
        entry["expect"] = case.expect(dialect)
        hand = problems(case, dialect, entry["expect"])
        if hand:
            raise AssertionError(f"{entry['name']}: hand-written expect is inconsistent: {hand}")
        fixed = matches(entry["expect"], actual)
        return entry, ([f"{entry['name']}: known bug is fixed, remove known_bug"] if fixed else [])
    found = [f"{entry['name']}: {p}" for p in problems(case, dialect, actual)]
    if "error" in actual:
        entry["expect"] = {"error": actual["error"], "message_contains": case.message}
    else:
        entry["expect"] = actual
    return entry, found


def matches(expect: Record, actual: Record) -> bool:
    if "error" in expect:
        return actual.get("error") == expect["error"] and (
            expect["message_contains"] in actual.get("message", "")
        )
    return actual == expect


def golden_path(dialect: str) -> Path:
    return GOLDEN / f"{dialect}.json"


def render(records: list[Record]) -> str:
    """The text of a golden file: cases sorted by name, two-space indent."""
    ordered = sorted(records, key=lambda r: r["name"])
    return json.dumps({"cases": ordered}, indent=2, ensure_ascii=False) + "\n"


def load(dialect: str) -> list[Record]:
    cases: list[Record] = json.loads(golden_path(dialect).read_text(encoding="utf-8"))["cases"]
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Parametrized at collection rather than import, so regenerate.py can import this module
    # before the files exist.
    if "entry" not in metafunc.fixturenames:
        return
    params = []
    for dialect in DIALECTS:
        for entry in load(dialect):
            marks = []
            if entry.get("known_bug"):
                marks.append(pytest.mark.xfail(reason=entry["known_bug"], strict=True))
            params.append(pytest.param(entry, id=entry["name"], marks=marks))
    metafunc.parametrize("entry", params)


def test_golden_plan(entry: Record) -> None:
    actual = route(entry["dialect"], entry["sql"], entry["params"], entry["tenant"], entry["admin"])
    expect = entry["expect"]
    if "error" in expect:
        assert actual.get("error") == expect["error"], _describe(actual)
        assert expect["message_contains"] in actual["message"]
    else:
        assert actual == expect


@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_files_match_definitions(dialect: str) -> None:
    recorded = {entry["name"]: entry for entry in load(dialect)}
    defined = [case for case in CASES if dialect in case.dialects]
    assert sorted(recorded) == sorted(case_name(case, dialect) for case in defined), (
        "run tests/golden/regenerate.py"
    )
    for case in defined:
        entry = recorded[case_name(case, dialect)]
        assert {k: v for k, v in entry.items() if k != "expect"} == inputs(case, dialect)
        assert problems(case, dialect, entry["expect"]) == [], entry["name"]
        if case.known_bug:
            assert case.expect is not None
            assert entry["expect"] == case.expect(dialect), entry["name"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_files_are_canonical(dialect: str) -> None:
    text = golden_path(dialect).read_text(encoding="utf-8")
    assert text == render(load(dialect)), "run tests/golden/regenerate.py"


def test_enough_cases() -> None:
    # The golden suite covers at least 60 statements across the three dialects.
    assert sum(len(load(dialect)) for dialect in DIALECTS) >= 60
