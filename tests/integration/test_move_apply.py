"""How a move writes the target, on each server: writing a row twice leaves what writing it
once does (a chunk copied again after a killed mover, a key applied twice), and a key the
source no longer has is deleted."""

from __future__ import annotations

import contextlib

from tenantdb.core.moves import delete_by_key, upsert

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
