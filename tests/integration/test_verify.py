"""``tenantdb verify`` and ``tenantdb.admin.verify_copies`` on real databases.

Two copies with known differences (changed, missing and extra rows, NULL against empty
text) must be reported with exactly those keys; equal copies exit 0; a representation
difference (NUMERIC scale) is no mismatch; a broadcast copy is repaired, and a rerun
repairs nothing; a verify killed with SIGKILL resumes and ends with the report of an
uninterrupted run. Every backend (``backend``). Data is set up and checked with the raw
driver.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import tenantdb
from tenantdb import admin
from tenantdb.cli import app

from .conftest import Backend

TEXT = {"sqlite": "TEXT", "postgres": "TEXT", "mysql": "VARCHAR(40)"}
ROWS = 300


def _create(backend: Backend, url: str, scale: int = 2) -> None:
    backend.query(
        url,
        f"CREATE TABLE items (shop {TEXT[backend.name]} NOT NULL, id INTEGER NOT NULL, "
        f"name {TEXT[backend.name]}, amount NUMERIC(12, {scale}), tenant_id INTEGER, "
        "PRIMARY KEY (shop, id))",
    )
    p = backend.placeholder
    with _closing(backend, url) as connection:
        cursor = connection.cursor()
        cursor.executemany(
            f"INSERT INTO items VALUES ({p}, {p}, {p}, {p}, {p})",
            [
                (f"s{n % 3}", n, "" if n == 42 else f"name {n}", f"{n}.50", n % 2)
                for n in range(ROWS)
            ],
        )
        if backend.name == "sqlite":
            connection.commit()
        cursor.close()


class _closing:
    def __init__(self, backend: Backend, url: str) -> None:
        self.connection = backend.raw_connect(url)

    def __enter__(self) -> Any:
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


@pytest.fixture
def urls(backend: Backend) -> list[str]:
    urls = backend.new_databases(2)
    for url in urls:
        _create(backend, url)
    return urls


def _config(backend: Backend, urls: list[str]) -> dict[str, Any]:
    return {
        "dialect": backend.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {"items": {"strategy": "broadcast"}},
    }


@pytest.fixture
def cluster(backend: Backend, urls: list[str]) -> Iterator[tenantdb.Cluster]:
    with tenantdb.connect(_config(backend, urls)) as opened:
        yield opened


def _diverge(backend: Backend, url: str) -> None:
    p = backend.placeholder
    for sql, params in [
        (f"UPDATE items SET name = {p} WHERE shop = 's1' AND id = 7", ("changed",)),
        (f"UPDATE items SET amount = {p} WHERE shop = 's0' AND id = 150", ("1.25",)),
        ("UPDATE items SET name = '' WHERE shop = 's2' AND id = 299", ()),
        ("DELETE FROM items WHERE shop = 's0' AND id = 0", ()),  # the first key
        ("DELETE FROM items WHERE shop = 's1' AND id = 100", ()),
        ("INSERT INTO items VALUES ('a', 1, 'before the first', NULL, 0)", ()),
        ("INSERT INTO items VALUES ('s1', 1000, 'in the middle', NULL, 0)", ()),
        ("INSERT INTO items VALUES ('zz', 1, 'after the last', NULL, 0)", ()),
    ]:
        backend.query(url, sql, params)
    backend.query(url, "UPDATE items SET name = NULL WHERE shop = 's2' AND id = 2")
    backend.query(url, "UPDATE items SET name = NULL WHERE shop = 's0' AND id = 42")  # was ''


def _samples(report: Any) -> dict[str, set[tuple[Any, ...]]]:
    return {kind: {tuple(k) for k in keys} for kind, keys in report.samples.items()}


def test_finds_exactly_the_changed_missing_and_extra_keys(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    _diverge(backend, urls[1])
    (report,) = admin.verify_broadcast(cluster, "items", chunk_rows=40, sample_limit=50)
    assert _samples(report) == {
        "mismatched": {("s1", 7), ("s0", 150), ("s2", 299), ("s2", 2), ("s0", 42)},
        "extra_source": {("s0", 0), ("s1", 100)},
        "extra_target": {("a", 1), ("s1", 1000), ("zz", 1)},
    }
    assert (report.mismatched, report.extra_source, report.extra_target) == (5, 2, 3)
    assert report.matching == ROWS - 7
    assert report.processed == ROWS + 3
    assert (report.source_rows, report.target_rows) == (ROWS, ROWS + 1)
    # Only the chunks holding a difference were read row by row.
    assert 0 < report.chunks_compared_by_row < report.chunks


def test_a_large_differing_chunk_is_split_before_rows_are_read(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    _diverge(backend, urls[1])
    dialect = cluster.config.dialect
    with admin.admin_session(cluster) as session:
        ours = admin.primary_copy(session, "ds0", "items", dialect=dialect)
        theirs = admin.primary_copy(session, "ds1", "items", dialect=dialect)
        report = admin.verify_copies(
            ours, theirs, chunk_rows=2 * ROWS, row_compare_rows=25, sample_limit=50
        )
    assert report.chunks == 1
    assert _samples(report) == {
        "mismatched": {("s1", 7), ("s0", 150), ("s2", 299), ("s2", 2), ("s0", 42)},
        "extra_source": {("s0", 0), ("s1", 100)},
        "extra_target": {("a", 1), ("s1", 1000), ("zz", 1)},
    }
    assert report.matching == ROWS - 7
    # Only the parts holding a difference were read: at most one per differing key.
    assert 3 <= report.chunks_compared_by_row <= 10 < ROWS // 25


def test_equal_copies_exit_zero_and_differing_ones_one(
    backend: Backend, urls: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "cluster.json"
    config.write_text(json.dumps(_config(backend, urls)))
    args = ["verify", "-c", str(config), "--broadcast", "items", "--json"]
    args += ["--progress-dir", str(tmp_path / "progress")]
    equal = CliRunner().invoke(app, args)
    assert equal.exit_code == 0, equal.output
    data = json.loads(equal.stdout)
    assert data["equal"] is True
    assert data["tables"][0]["processed"] == ROWS
    backend.query(urls[1], "DELETE FROM items WHERE shop = 's2' AND id = 5")
    differ = CliRunner().invoke(app, args)
    assert differ.exit_code == 1, differ.output
    data = json.loads(differ.stdout)
    assert data["tables"][0]["samples"]["extra_source"] == [["s2", 5]]
    assert not (tmp_path / "progress").exists() or not list((tmp_path / "progress").iterdir())


def test_a_representation_difference_is_no_mismatch(backend: Backend) -> None:
    """NUMERIC(12,2) against NUMERIC(12,4): the checksums differ where the server writes
    the scale out; the row comparison then finds the same numbers."""
    urls = backend.new_databases(2)
    _create(backend, urls[0], scale=2)
    _create(backend, urls[1], scale=4)
    with tenantdb.connect(_config(backend, urls)) as cluster:
        (report,) = admin.verify_broadcast(cluster, "items", chunk_rows=100)
    assert report.equal, report.to_dict()
    assert report.matching == ROWS


def test_a_row_filter_compares_only_the_selected_rows(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    """The form a tenant move uses: one tenant's rows of two copies."""
    backend.query(urls[1], "UPDATE items SET name = 'other tenant' WHERE tenant_id = 1")
    backend.query(urls[1], "UPDATE items SET name = 'ours' WHERE shop = 's0' AND id = 12")
    dialect = cluster.config.dialect
    with admin.admin_session(cluster) as session:
        copies = [
            admin.primary_copy(
                session, ds, "items", dialect=dialect, where="tenant_id = %s", where_params=(0,)
            )
            for ds in ("ds0", "ds1")
        ]
        report = admin.verify_copies(*copies, chunk_rows=30)
    assert report.processed == ROWS // 2
    assert report.samples["mismatched"] == [("s0", 12)]
    assert (report.mismatched, report.extra_source, report.extra_target) == (1, 0, 0)


def _repair_log(backend: Backend, url: str) -> list[tuple[Any, ...]]:
    return backend.query(
        url, f"SELECT action, shown_key FROM {admin.REPAIR_LOG} ORDER BY action, shown_key"
    )


def test_repair_brings_a_diverged_copy_to_the_source_once(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    _diverge(backend, urls[1])
    (report,) = admin.verify_broadcast(cluster, "items", source="ds0", repair=True, chunk_rows=64)
    assert report.differences == 10
    assert report.repaired == 10
    order = "SELECT * FROM items ORDER BY shop, id"
    assert backend.query(urls[1], order) == backend.query(urls[0], order)
    logged = _repair_log(backend, urls[1])
    assert [action for action, _ in logged].count("update") == 5
    assert [action for action, _ in logged].count("insert") == 2
    assert [action for action, _ in logged].count("delete") == 3
    (again,) = admin.verify_broadcast(cluster, "items", source="ds0", repair=True)
    assert again.equal
    assert again.repaired == 0
    assert _repair_log(backend, urls[1]) == logged


def test_a_rerun_with_the_same_run_repairs_nothing_twice(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    """The log, not the fresh comparison, stops a second repair: replay a repair of a run
    whose log already holds its keys (a crash after the commit, before progress was
    recorded)."""
    _diverge(backend, urls[1])
    with admin.admin_session(cluster) as session:
        dialect = cluster.config.dialect
        source = admin.primary_copy(session, "ds0", "items", dialect=dialect)
        target = admin.primary_copy(session, "ds1", "items", dialect=dialect)
        diffs: list[Any] = []
        repair = admin.LoggedRepair(session, "ds1", target.shape)

        def recording(run: str, diff: Any, rows: Any) -> int:
            diffs.append((run, diff, rows))
            return repair(run, diff, rows)

        first = admin.verify_copies(source, target, repair=recording, chunk_rows=1000)
        assert first.repaired == 10
        _diverge(backend, urls[1])  # the same keys differ again, behind the log's back
        assert sum(repair(*call) for call in diffs) == 0
    assert len(_repair_log(backend, urls[1])) == 10
    order = "SELECT * FROM items ORDER BY shop, id"
    assert backend.query(urls[1], order) != backend.query(urls[0], order)


_VERIFY_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import tenantdb
    from tenantdb import admin

    config, progress = json.loads(sys.argv[1]), Path(sys.argv[2])

    def on_chunk(report, keys):
        print("chunk", report.chunks, flush=True)
        time.sleep(0.2)

    with tenantdb.connect(config) as cluster:
        admin.verify_broadcast(
            cluster, "items", chunk_rows=10, progress_dir=progress, on_chunk=on_chunk
        )
    print("finished", flush=True)
    """
)


def test_a_killed_verify_resumes_with_the_same_report(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster, tmp_path: Path
) -> None:
    _diverge(backend, urls[1])
    (whole,) = admin.verify_broadcast(cluster, "items", chunk_rows=10)
    progress = tmp_path / "progress"
    with subprocess.Popen(
        [sys.executable, "-c", _VERIFY_CHILD, json.dumps(_config(backend, urls)), str(progress)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as child:
        try:
            assert child.stdout is not None
            lines = [child.stdout.readline() for _ in range(4)]
            assert lines[-1].startswith("chunk"), lines
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    (saved,) = progress.glob("*.json")
    resumed_chunks: list[int] = []
    (resumed,) = admin.verify_broadcast(
        cluster,
        "items",
        chunk_rows=10,
        progress_dir=progress,
        on_chunk=lambda report, keys: resumed_chunks.append(report.chunks),
    )
    assert resumed_chunks[0] >= 5  # went on from the recorded chunk, not from the start
    expected, got = whole.to_dict(), resumed.to_dict()
    assert got.pop("run") != expected.pop("run")
    assert got == expected
    assert not saved.exists()  # a finished run leaves no progress behind


def test_a_progress_file_of_another_run_is_refused(
    urls: list[str], cluster: tenantdb.Cluster, tmp_path: Path
) -> None:
    dialect = cluster.config.dialect
    with admin.admin_session(cluster) as session:
        ours = admin.primary_copy(session, "ds0", "items", dialect=dialect)
        theirs = admin.primary_copy(session, "ds1", "items", dialect=dialect)
        progress = admin.progress_path(tmp_path, ours, theirs)
        progress.write_text(json.dumps({"run": "someone else", "lower": [], "chunk_rows": 1}))
        with pytest.raises(ValueError, match="holds the progress of another verify run"):
            admin.verify_copies(ours, theirs, progress=progress)
        # The reverse direction is another run, with a file of its own.
        assert admin.progress_path(tmp_path, theirs, ours) != progress


def test_verify_keys_rechecks_only_the_named_rows(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    _diverge(backend, urls[1])
    dialect = cluster.config.dialect
    with admin.admin_session(cluster) as session:
        ours = admin.primary_copy(session, "ds0", "items", dialect=dialect)
        theirs = admin.primary_copy(session, "ds1", "items", dialect=dialect)
        keys = [("s1", 7), ("s0", 0), ("zz", 1), ("s0", 3), ("s0", 3), ("none", 0)]
        diff = admin.verify_keys(ours, theirs, keys, batch_size=2)
    assert diff.mismatched == (("s1", 7),)
    assert diff.extra_source == (("s0", 0),)
    assert diff.extra_target == (("zz", 1),)
    assert diff.matching == 1  # ("s0", 3), asked twice; ("none", 0) is on neither copy
