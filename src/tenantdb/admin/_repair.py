"""``LoggedRepair``: bring a target copy's rows to the source's, each change logged once.

Every repair of a chunk runs in one transaction on the target's primary, together with a
row per repaired key in ``tenantdb_repair_log`` (created in the target database on first
use): the change and its log row commit together or not at all. Before changing a key the
repair looks it up in the log of its run, so a run resumed after a crash (the same
``run``) never applies a repair twice; a new run re-reads the copies and finds nothing
left to repair.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence

from .._sync import Session
from ..core.verify import ChunkDiff, TableShape, canonical_row, encode_key, show_key

REPAIR_LOG = "tenantdb_repair_log"
"""The table repairs are logged in, in the repaired copy's database."""

_LOG_DDL = (
    f"CREATE TABLE IF NOT EXISTS {REPAIR_LOG} ("
    "run_id VARCHAR(64) NOT NULL, table_name VARCHAR(190) NOT NULL, "
    "row_key CHAR(64) NOT NULL, action VARCHAR(8) NOT NULL, shown_key TEXT NOT NULL, "
    "repaired_at VARCHAR(40) NOT NULL, PRIMARY KEY (run_id, table_name, row_key))"
)


def _key_digest(key: Sequence[object]) -> str:
    return hashlib.sha256(json.dumps(encode_key(key)).encode()).hexdigest()


class LoggedRepair:
    """Repairs the copy of ``shape`` on datasource ``datasource``'s primary through
    ``session`` (an admin session): the source's rows are written over mismatched ones,
    inserted where missing, and extra rows deleted. See the module docstring."""

    def __init__(self, session: Session, datasource: str, shape: TableShape) -> None:
        self._session = session
        self._datasource = datasource
        self._shape = shape
        self._log_ready = False

    def __call__(self, run: str, diff: ChunkDiff, source_rows: Sequence[Sequence[object]]) -> int:
        width = len(self._shape.key)
        rows = {canonical_row(row[:width]): row for row in source_rows}
        actions = [
            *(("update", key) for key in diff.mismatched),
            *(("insert", key) for key in diff.extra_source),
            *(("delete", key) for key in diff.extra_target),
        ]
        if not self._log_ready:
            self._run(_LOG_DDL, ())
            self._log_ready = True
        changed = 0
        with self._session.transaction():
            done = self._logged(run, [_key_digest(key) for _, key in actions])
            for action, key in actions:
                digest = _key_digest(key)
                if digest in done:
                    continue
                self._apply(action, key, rows.get(canonical_row(key)))
                self._run(
                    f"INSERT INTO {REPAIR_LOG} (run_id, table_name, row_key, action, "
                    "shown_key, repaired_at) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        run,
                        self._shape.table,
                        digest,
                        action,
                        json.dumps(show_key(key)),
                        datetime.datetime.now(datetime.UTC).isoformat(),
                    ),
                )
                changed += 1
        return changed

    def _logged(self, run: str, digests: list[str]) -> set[str]:
        if not digests:
            return set()
        marks = ", ".join(["%s"] * len(digests))
        rows = self._session.execute_on(
            self._datasource,
            f"SELECT row_key FROM {REPAIR_LOG} WHERE run_id = %s AND table_name = %s "
            f"AND row_key IN ({marks})",
            (run, self._shape.table, *digests),
        ).fetchall()
        return {str(row[0]) for row in rows}

    def _apply(self, action: str, key: tuple[object, ...], row: Sequence[object] | None) -> None:
        shape = self._shape
        match, key_params = shape.key_match(key)
        if action == "delete":
            self._run(f"DELETE FROM {shape.qualified} WHERE {match}", key_params)
            return
        if row is None:  # the diff came from these rows: cannot happen
            raise LookupError(f"no source row for key {show_key(key)!r}")
        quoted = shape.column_names
        if action == "update":
            width = len(shape.key)
            sets = ", ".join(f"{c} = %s" for c in quoted[width:])
            if sets:
                self._run(
                    f"UPDATE {shape.qualified} SET {sets} WHERE {match}",
                    (*row[width:], *key_params),
                )
            return
        marks = ", ".join(["%s"] * len(quoted))
        self._run(
            f"INSERT INTO {shape.qualified} ({', '.join(quoted)}) VALUES ({marks})", tuple(row)
        )

    def _run(self, sql: str, params: tuple[object, ...]) -> None:
        self._session.execute_on(self._datasource, sql, params)


__all__ = ["REPAIR_LOG", "LoggedRepair"]
