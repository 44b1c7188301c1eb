"""The thread front's scatter-gather, generated in ``tenantdb._sync._scatter``; this name
stays until the session moves into the generated front."""

from __future__ import annotations

from .._sync import (
    ScatterError,
    Work,
    WriteOutcome,
    close_all,
    failures,
    fetch_all,
    group_targets,
    open_streams,
    run_writes,
    stream_rows,
)

__all__ = [
    "ScatterError",
    "Work",
    "WriteOutcome",
    "close_all",
    "failures",
    "fetch_all",
    "group_targets",
    "open_streams",
    "run_writes",
    "stream_rows",
]
