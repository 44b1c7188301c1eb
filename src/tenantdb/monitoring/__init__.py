"""Background threads that watch the databases for both fronts: the replica lag monitor
with its own probe connections, and the watcher of the read-to-primary switch file.

They are threads on the asyncio front too: a lag reading must not wait for a busy event
loop, and they never touch a session's connection (only ``ReplicaState`` objects under
their lock and the ``DegradeSwitch``).
"""

from __future__ import annotations

from ._lag_monitor import LagMonitor, ReplicaReading
from ._probes import MARIADB_WRITE_POSITION, PG_PRIMARY_POSITION, ReplicaProbes
from ._switch_file import SwitchFileWatcher, read_switches, write_switches

__all__ = [
    "MARIADB_WRITE_POSITION",
    "PG_PRIMARY_POSITION",
    "LagMonitor",
    "ReplicaProbes",
    "ReplicaReading",
    "SwitchFileWatcher",
    "read_switches",
    "write_switches",
]
