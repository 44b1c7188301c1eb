"""Reading tenant files (JSON Lines, JSON arrays) with line numbers, and writing them."""

from __future__ import annotations

import json

import pytest

from tenantdb.cli._tenant_file import TenantFileError, dump_lines, read_tenant_file
from tenantdb.tenants import Tenant


def problems(text: str) -> list[str]:
    with pytest.raises(TenantFileError) as caught:
        read_tenant_file(text, "tenants.jsonl")
    assert str(caught.value).startswith("tenants.jsonl: ")
    assert "nothing was imported" in str(caught.value)
    return [str(problem) for problem in caught.value.problems]


def test_json_lines_keep_their_line_numbers_and_skip_blank_lines() -> None:
    text = '{"id": "a"}\n\n  \n{"id": "b", "status": "read_only"}\n'
    lines = read_tenant_file(text, "x")
    assert [(entry.line, entry.tenant_id) for entry in lines] == [(1, "a"), (4, "b")]
    assert lines[1].record == {"id": "b", "status": "read_only"}


def test_a_json_array_gives_each_record_the_line_it_starts_on() -> None:
    text = '\n[\n  {"id": "a"},\n  {\n    "id": "b"\n  }, {"id": "c"}\n]\n'
    lines = read_tenant_file(text, "x")
    assert [(entry.line, entry.tenant_id) for entry in lines] == [(3, "a"), (4, "b"), (6, "c")]
    assert read_tenant_file(" [ ] ", "x") == []


def test_every_bad_line_of_json_lines_is_named() -> None:
    text = "\n".join(
        [
            '{"id": "a"}',
            '{"id": "b", ',
            "[1, 2]",
            '{"datasource": "ds0"}',
            '{"id": "a"}',
            '{"id": "c", "limits": {"burst": NaN}}',
            '{"id": 7}',
        ]
    )
    assert problems(text) == [
        "line 2: not JSON at column 13: Expecting property name enclosed in double quotes",
        "line 3: a tenant record is a JSON object ({...}), not an array",
        "line 4: a tenant record needs 'id' as a string, got null",
        "line 5: tenant 'a' is also on line 1; give each tenant once",
        "line 6: not JSON: NaN is not a JSON number",
        "line 7: a tenant record needs 'id' as a string, got 7",
    ]


def test_a_broken_array_names_the_line_of_its_first_error() -> None:
    assert problems('[\n {"id": "a"},\n {"id": "b"}\n {"id": "c"}\n]') == [
        "line 4: not JSON at column 2: Expecting ',' or ']' after a record"
    ]
    assert problems('[\n {"id": "a"}\n]\n{"id": "b"}') == [
        "line 4: not JSON at column 1: Extra data after the array"
    ]
    assert problems('[\n {"id": "a", "x": Infinity}]') == [
        "line 2: not JSON: Infinity is not a JSON number"
    ]
    assert problems('[\n {"id": "a"},\n "b"\n]') == [
        "line 3: a tenant record is a JSON object ({...}), not a string"
    ]


def test_a_csv_file_is_told_what_is_read_instead() -> None:
    (first, second) = problems("id,datasource\nacme,ds0\n")
    assert first.startswith("line 1: not JSON")
    assert first.endswith(
        "JSON Lines (one JSON object per line, as `tenantdb tenants export`"
        " writes) or a JSON array, not CSV"
    )
    assert "CSV" not in second


def test_the_message_lists_twenty_problems_and_counts_the_rest() -> None:
    with pytest.raises(TenantFileError) as caught:
        read_tenant_file("nope\n" * 25, "f")
    message = str(caught.value)
    assert message.splitlines()[0] == "f: 25 bad records; nothing was imported"
    assert "\n  line 20: " in message
    assert "line 21:" not in message
    assert message.endswith("... and 5 more (--json lists them all)")
    assert len(caught.value.problems) == 25
    assert caught.value.problems[24].to_dict() == {
        "line": 25,
        "tenant": None,
        "key": None,
        "message": caught.value.problems[24].message,
    }


def test_dump_lines_reads_back_as_the_same_records() -> None:
    tenants = [
        Tenant(id="a", datasource="ds0", features={"beta": True, "note": "é"}, version=3),
        Tenant(id="b", datasource="ds1", isolation="schema", schema="b", version=1),
    ]
    text = "".join(dump_lines(tenants))
    assert text.count("\n") == 2
    back = read_tenant_file(text, "x")
    assert [dict(entry.record) for entry in back] == [t.to_dict() for t in tenants]
    assert json.loads(text.splitlines()[0])["features"]["note"] == "é"
