"""How a move writes the target, on each server: writing a row twice leaves what writing it
once does (a chunk copied again after a killed mover, a key applied twice), and a key the
source no longer has is deleted."""

from __future__ import annotations

import contextlib

import pytest

from tenantdb.core.moves import delete_by_key, page_as_arrays, upsert, upsert_arrays
from tenantdb.core.verify import TableShape

from .conftest import Backend


def test_an_upsert_written_twice_is_written_once(backend: Backend) -> None:
    url = backend.new_database()
    backend.query(
        url,
        "CREATE TABLE items (a INTEGER NOT NULL, b VARCHAR(10) NOT NULL, note VARCHAR(20),"
        " n INTEGER, PRIMARY KEY (a, b))",
    )
    backend.query(url, "CREATE TABLE tags (a INTEGER PRIMARY KEY)")
    p = backend.placeholder
    write = upsert(backend.dialect, "items", None, ("a", "b", "note", "n"), ("a", "b"))
    write_tag = upsert(backend.dialect, "tags", None, ("a",), ("a",))
    delete = delete_by_key(backend.dialect, "items", None, ("a", "b"))
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        native = write.replace("%s", p)
        for row in [(1, "x", "first", 1), (1, "x", "first", 1), (2, "y", None, 2)]:
            cursor.execute(native, row)
        cursor.execute(native, (1, "x", "second", 5))  # the row as the source has it now
        for _ in range(2):
            cursor.execute(write_tag.replace("%s", p), (7,))
        cursor.execute(delete.replace("%s", p), (2, "y"))
        cursor.execute(delete.replace("%s", p), (2, "y"))  # already gone: nothing to do
    assert backend.query(url, "SELECT a, b, note, n FROM items") == [(1, "x", "second", 5)]
    assert backend.query(url, "SELECT a FROM tags") == [(7,)]


def test_a_multi_row_upsert_written_twice_is_written_once(backend: Backend) -> None:
    url = backend.new_database()
    backend.query(
        url,
        "CREATE TABLE items (a INTEGER NOT NULL, b VARCHAR(10) NOT NULL, note VARCHAR(20),"
        " PRIMARY KEY (a, b))",
    )
    backend.query(url, "CREATE TABLE tags (a INTEGER PRIMARY KEY)")
    p = backend.placeholder
    chunk = [(i, "k", f"n{i}") for i in range(1, 6)]
    write = upsert(backend.dialect, "items", None, ("a", "b", "note"), ("a", "b"), rows=5)
    tags = upsert(backend.dialect, "tags", None, ("a",), ("a",), rows=3)
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        cursor.execute(write.replace("%s", p), [v for row in chunk for v in row])
        # The same chunk again, as a resumed copy writes it, two rows changed since.
        chunk[1], chunk[3] = (2, "k", "changed"), (4, "k", None)
        cursor.execute(write.replace("%s", p), [v for row in chunk for v in row])
        for _ in range(2):
            cursor.execute(tags.replace("%s", p), (1, 2, 3))
    assert sorted(backend.query(url, "SELECT a, b, note FROM items")) == chunk
    assert sorted(backend.query(url, "SELECT a FROM tags")) == [(1,), (2,), (3,)]


AWKWARD = (
    "CREATE TABLE awkward (k VARCHAR(20) NOT NULL, id INTEGER NOT NULL, t TEXT, n NUMERIC(12, 3),"
    " f DOUBLE PRECISION, at TIMESTAMPTZ, d DATE, span INTERVAL, b BYTEA, ok BOOLEAN, u UUID,"
    " PRIMARY KEY (k, id))"
)
TYPES = (
    "character varying(20)",
    "integer",
    "text",
    "numeric(12,3)",
    "double precision",
    "timestamp with time zone",
    "date",
    "interval",
    "bytea",
    "boolean",
    "uuid",
)


def test_a_page_travels_as_array_texts_unchanged(backend: Backend) -> None:
    """PostgreSQL: rows read as one array text per column and written back through
    ``unnest`` arrive as they were, text that looks like array syntax or NULL included,
    and the pages after each last key cover every row once."""
    if backend.name != "postgres":
        pytest.skip("the array path is PostgreSQL's")
    source, target = backend.new_databases(2)
    for url in (source, target):
        backend.query(url, AWKWARD)
    texts = ['{a,"b"}', "NULL", None, 'back\\slash "quote"', "", "com,ma } {", "ünï"]
    for i, text in enumerate(texts):
        backend.query(
            source,
            "INSERT INTO awkward VALUES ('acme', %s, %s, 1.5 * %s, 0.1 + %s,"
            " '2026-03-29 01:30:00+02'::timestamptz + %s * interval '1 hour', '2026-02-28',"
            " '1 day 02:03:04.5', %s, %s, gen_random_uuid())",
            (i, text, i, i, i, bytes([0, 92, i, 255]), i % 2 == 0),
        )
    backend.query(source, "INSERT INTO awkward (k, id) VALUES ('other', 1), ('acme', 100)")
    columns = ("k", "id", "t", "n", "f", "at", "d", "span", "b", "ok", "u")
    shape = TableShape(
        "postgres", "awkward", ("k", "id"), columns, where="k = %s", where_params=("acme",)
    )
    write = upsert_arrays("awkward", None, columns, ("k", "id"), TYPES)
    lasts = []
    with (
        contextlib.closing(backend.raw_connect(source)) as reading,
        contextlib.closing(backend.raw_connect(target)) as writing,
    ):
        after = None
        while True:
            found = reading.execute(*page_as_arrays(shape, after, 3)).fetchone()
            count, last, arrays = found[0], tuple(found[1:3]), found[3:]
            if count:
                for _ in range(2):  # the same chunk twice: as once
                    writing.execute(write, arrays)
                lasts.append(last)
                after = last
            if count < 3:
                break
    assert lasts == [("acme", 2), ("acme", 5), ("acme", 100)]
    everything = "SELECT * FROM awkward WHERE k = 'acme' ORDER BY id"
    assert backend.query(target, everything) == backend.query(source, everything)
    assert len(backend.query(target, "SELECT * FROM awkward")) == len(texts) + 1
