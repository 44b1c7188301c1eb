"""Where the console stands: inside the application's process, or outside it.

Mounted in the application (``InProcess``) it shows that process's own pools, breakers,
limits and slow statements, and its read-to-primary switch acts on that process. Run
standalone (``Outside``, ``tenantdb console``) it has a cluster of its own that serves no
statements: it sees the configuration, the registry and replica lag (its own monitors
measure the replicas), and it reaches the application's processes through the
configuration's ``switch_file`` only. Each says what its switch reaches, so the page never
pretends to more.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..monitoring import read_switches, write_switches

if TYPE_CHECKING:
    from .. import AsyncCluster, Cluster

    AnyCluster = Cluster | AsyncCluster


class ActionRefused(Exception):
    """An action the console cannot carry out as asked; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Switches:
    """Manual read-to-primary switches: the cluster-wide reason and each datasource's.
    ``error`` says why they could not be read (an unreadable switch file)."""

    cluster: str | None = None
    datasources: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class Vantage:
    """What the console reads and changes through ``cluster``; see the module docstring."""

    standalone = False

    def __init__(self, cluster: AnyCluster) -> None:
        self.cluster = cluster
        self.pid = os.getpid()

    @property
    def config(self) -> Any:
        return self.cluster.config

    def status(self) -> dict[str, Any]:
        return self.cluster.status()

    def switches(self) -> Switches:
        raise NotImplementedError

    def switch_reach(self) -> str:
        """What the switch buttons reach, in one sentence for the page."""
        raise NotImplementedError

    def force_primary(self, datasource: str | None, reason: str) -> str:
        """Send reads of ``datasource`` (None: all) to primaries; return what was done."""
        raise NotImplementedError

    def release_primary(self, datasource: str | None) -> str:
        raise NotImplementedError

    def slow_statements(self) -> list[dict[str, Any]] | None:
        """The slow-statement log, newest first; None when it cannot be seen from here."""
        raise NotImplementedError

    def tenant_writes(self) -> tuple[bool, str]:
        """Whether tenant changes can be made from here, and what they reach."""
        if self.config.registry is not None and self.config.registry.url:
            return (
                True,
                "Status changes are written to the tenant registry and reach every process.",
            )
        return self._unshared_registry()

    def _unshared_registry(self) -> tuple[bool, str]:
        raise NotImplementedError

    def check_datasource(self, datasource: str | None) -> None:
        if datasource is not None and datasource not in self.config.datasources:
            raise ActionRefused(
                f"no datasource {datasource!r}; configured: {', '.join(self.config.datasources)}"
            )


class InProcess(Vantage):
    """The console mounted in the application: its cluster is the application's."""

    def switches(self) -> Switches:
        snapshot = self.cluster.datasources.switch.snapshot()
        return Switches(
            cluster=snapshot["cluster"]["reason"],
            datasources={
                name: entry["reason"]
                for name, entry in snapshot["datasources"].items()
                if entry["reason"] is not None
            },
        )

    def switch_reach(self) -> str:
        text = f"The switch acts on this process (pid {self.pid}) only"
        if self.config.switch_file:
            return (
                f"{text}; to switch every process of the cluster, use `tenantdb replicas"
                f" force-primary` or the standalone `tenantdb console`, which write the"
                f" switch file {self.config.switch_file}."
            )
        return f"{text}; this configuration has no switch_file to reach the other processes."

    def force_primary(self, datasource: str | None, reason: str) -> str:
        self.check_datasource(datasource)
        self.cluster.force_primary(datasource, reason=reason)
        return f"reads of {_subject(datasource)} go to the primary in this process"

    def release_primary(self, datasource: str | None) -> str:
        self.check_datasource(datasource)
        self.cluster.release_primary(datasource)
        return f"reads of {_subject(datasource)} may use replicas again in this process"

    def slow_statements(self) -> list[dict[str, Any]] | None:
        return self.cluster.slow_statements()

    def _unshared_registry(self) -> tuple[bool, str]:
        return True, (
            "This configuration has no [registry] url: status changes apply to this process"
            " only, and are forgotten when it stops."
        )


class Outside(Vantage):
    """The standalone console: a cluster of its own, the switch through ``switch_file``.

    Building it starts the replica monitors of every datasource that has replicas, so the
    topology page shows measured lag (the monitors connect in the background).
    """

    standalone = True

    def __init__(self, cluster: AnyCluster) -> None:
        super().__init__(cluster)
        self._lock = threading.Lock()  # read-modify-write of the switch file, per process
        for name in self.config.datasources:
            self.cluster.datasources.replicas(name)

    def switches(self) -> Switches:
        path = self.config.switch_file
        if path is None:
            return Switches()
        try:
            found = read_switches(path)
        except (OSError, ValueError) as exc:
            return Switches(error=f"cannot read the switch file {path}: {exc}")
        return Switches(cluster=found["cluster"], datasources=dict(found["datasources"]))

    def switch_reach(self) -> str:
        path = self.config.switch_file
        if path is None:
            return (
                "This configuration has no switch_file, so a standalone console cannot switch"
                " the application's processes: add switch_file = \"/var/lib/tenantdb/"
                'switches.json" (an absolute path every process can read) to the'
                " configuration, or use the console mounted in each application."
            )
        return (
            f"The switch writes {path}; every process of the cluster applies it within one"
            " lag_check_interval."
        )

    def force_primary(self, datasource: str | None, reason: str) -> str:
        self.check_datasource(datasource)
        return self._edit(datasource, reason)

    def release_primary(self, datasource: str | None) -> str:
        self.check_datasource(datasource)
        return self._edit(datasource, None)

    def _edit(self, datasource: str | None, reason: str | None) -> str:
        path = self.config.switch_file
        if path is None:
            raise ActionRefused(self.switch_reach())
        with self._lock:
            try:
                switches = read_switches(path)
                if datasource is None:
                    switches["cluster"] = reason
                elif reason is None:
                    switches["datasources"].pop(datasource, None)
                else:
                    switches["datasources"][datasource] = reason
                write_switches(path, switches)
            except (OSError, ValueError) as exc:
                raise ActionRefused(f"cannot change the switch file {path}: {exc}") from exc
        if reason is None:
            return f"reads of {_subject(datasource)} may use replicas again (wrote {path})"
        return f"reads of {_subject(datasource)} go to primaries (wrote {path})"

    def slow_statements(self) -> list[dict[str, Any]] | None:
        return None

    def _unshared_registry(self) -> tuple[bool, str]:
        return False, (
            "This configuration has no [registry] url, so the application's processes keep"
            " their tenants to themselves: a standalone console cannot change them. Add a"
            " [registry] url (a store every process reads), or use the console mounted in"
            " the application."
        )


def _subject(datasource: str | None) -> str:
    return "every datasource" if datasource is None else f"datasource {datasource}"


__all__ = ["ActionRefused", "InProcess", "Outside", "Switches", "Vantage"]
