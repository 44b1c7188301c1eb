"""The Cluster: one logical database over many physical ones, built from a configuration."""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .admin import AutoPrecreator, refuse_orphaning, tenant_tables_with_rows
from .config import Config, load_config
from .core.routing import Params, RoutePlan, Router, Topology
from .core.sql import TemplateCache
from .core.tenancy import current_tenant
from .errors import InterfaceError
from .execution import Datasources, Session
from .tenants import Tenant, TenantRegistry, open_registry

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config


class Cluster:
    """Routes statements for a configured set of datasources, tables and tenants.

    Building a cluster validates the configuration and the topology; it opens no
    connection and does no I/O beyond reading the configuration file. The tenant registry
    starts on first use of ``cluster.tenants`` (a session or explain for a tenant id).
    """

    def __init__(
        self,
        config: Config,
        *,
        today: Callable[[], datetime.date] = datetime.date.today,
        template_cache_size: int = 4096,
        stream_batch_size: int = 1000,
    ) -> None:
        self.config = config
        self.topology = Topology.from_config(config, today=today)
        self.router = Router(self.topology, templates=TemplateCache(template_cache_size))
        self._registry: TenantRegistry | None = None
        self._registry_lock = threading.Lock()
        self.datasources = Datasources(config)
        self._stream_batch_size = stream_batch_size
        self._closed = False
        # precreate = "auto": started by the first session (explain and connect stay offline).
        self.precreator: AutoPrecreator | None = (
            AutoPrecreator(self, interval=config.precreate_interval)
            if config.precreate == "auto"
            else None
        )

    @property
    def tenants(self) -> TenantRegistry:
        """The tenant registry: ``get``, ``list``, ``put``, ``delete``, ``subscribe``.

        Started on first use: it reads the ``[registry]`` store (or, without one, keeps
        the static tenants in this process) and follows its changes from then on.
        """
        registry = self._registry
        if registry is None:
            with self._registry_lock:
                if self._closed:
                    raise InterfaceError(
                        "the cluster is closed; create a new one with tenantdb.connect()"
                    )
                if self._registry is None:
                    self._registry = open_registry(self.config)
                    # put() refuses moving a tenant away from its rows (force=True skips).
                    self._registry.placement_guard = refuse_orphaning(self)
                registry = self._registry
        return registry

    def session(
        self,
        tenant: str | Tenant | None = None,
        *,
        admin: bool = False,
        primary: bool = False,
        consistency_token: str | None = None,
    ) -> Session:
        """Open a Session for ``tenant`` (an id or a Tenant), or an admin session.

        ``tenant=None`` without ``admin`` takes the tenant of the innermost
        ``tenantdb.tenant_context(...)`` around the call; with none set, the session reaches
        only tables that are not tenant tables (precedence: ``core/tenancy/_context.py``).
        A tenant session is confined to that tenant's rows (see the README's "Tenant
        isolation"). ``admin=True`` may scan every tenant, write on many shards and run
        DDL; with a tenant too, it places that tenant's tables but is not confined.
        ``primary=True`` reads primaries only; ``consistency_token`` (another session's
        ``consistency_token()``) makes this session read at least what that one wrote.
        Opening a session connects to nothing; each datasource is connected on first use.
        Use it as a context manager, or call ``close()``.
        """
        if self._closed:
            raise InterfaceError("the cluster is closed; create a new one with tenantdb.connect()")
        if self.precreator is not None:
            self.precreator.start()
        options: dict[str, Any] = {
            "admin": admin,
            "batch_size": self._stream_batch_size,
            "primary": primary,
            "consistency_token": consistency_token,
        }
        if tenant is None and not admin:
            tenant = current_tenant()
        if isinstance(tenant, str):
            registry = self.tenants
            return Session(
                self.router,
                self.datasources,
                tenant=registry.get(tenant),
                lookup=registry.get,
                **options,
            )
        return Session(
            self.router,
            self.datasources,
            tenant=tenant,
            schema_layout=self.tenants.schema_layout if admin and tenant is None else None,
            **options,
        )

    def tenant_has_rows(self, tenant: str | Tenant) -> list[str]:
        """The ``tenant`` tables that hold rows of ``tenant`` (an id or a Tenant) where it
        is placed now: rows with its id for shared isolation, any row in its schema or its
        own database otherwise. Reads that datasource's primary; used to refuse a
        placement change that would leave rows behind."""
        resolved = self.tenants.get(tenant) if isinstance(tenant, str) else tenant
        return tenant_tables_with_rows(self, resolved)

    # -- read/write splitting -----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Roles, replica lag and health, and read-to-primary switches, as plain data.

        ``{"switch": {"forced": reason | None}, "datasources": {name: {"forced": the reason
        its reads go to the primary by hand (its own or the cluster-wide one) | None,
        "automatic": no replica qualifies, "automatic_reason", "replicas": [{"name",
        "state" (serving | lagging | down), "state_for_s", "lag_s", "replayed", "error",
        "failures", "retry_in_s", "weight"}]}}}``. Replicas of a datasource not used yet
        show ``"state": "not started"`` (their monitor starts with the first statement).
        """
        return self.datasources.status()

    def force_primary(self, datasource: str | None = None, *, reason: str) -> None:
        """Send every read of ``datasource`` (None: of every datasource) to its primary
        until ``release_primary``; logged, and shown by ``status()``."""
        self._check_datasource(datasource)
        self.datasources.switch.force_primary(datasource, reason=reason)

    def release_primary(self, datasource: str | None = None) -> None:
        """Undo ``force_primary`` (None: the cluster-wide switch)."""
        self._check_datasource(datasource)
        self.datasources.switch.release(datasource)

    def _check_datasource(self, datasource: str | None) -> None:
        if datasource is not None and datasource not in self.config.datasources:
            raise InterfaceError(
                f"no datasource {datasource!r}; configured: {', '.join(self.config.datasources)}"
            )

    def explain(
        self,
        sql: str,
        params: Params = None,
        *,
        tenant: str | Tenant | None = None,
        admin: bool = False,
    ) -> RoutePlan:
        """Route ``sql`` without running it and return the plan (``plan.to_dict()`` for JSON).

        ``tenant`` is a tenant id (looked up in ``cluster.tenants``; UnknownTenantError if
        absent) or a Tenant. Raises RoutingError, UnsupportedSQLError or ProgrammingError
        exactly as executing the statement would. Never connects to a database.
        """
        resolved = self.tenants.get(tenant) if isinstance(tenant, str) else tenant
        schemas = self.tenants.schema_layout() if admin and resolved is None else None
        return self.router.route(sql, params, tenant=resolved, admin=admin, schemas=schemas)

    def close(self) -> None:
        """Close every pool and worker thread. Safe to call more than once.

        Sessions still open keep their connections until they end; those connections are
        closed when returned.
        """
        with self._registry_lock:
            self._closed = True
            registry, self._registry = self._registry, None
        if self.precreator is not None:
            self.precreator.stop()
        if registry is not None:
            registry.close()
        self.datasources.close()
        if self.precreator is not None:
            self.precreator.join()  # a pass in progress ends once the pools are closed

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Cluster {state} {self.topology!r} {self._registry!r}>"


def connect(
    config: ConfigSource,
    *,
    today: Callable[[], datetime.date] = datetime.date.today,
    stream_batch_size: int = 1000,
) -> Cluster:
    """Build a Cluster from a configuration file path, a mapping, or a Config.

    Validates the whole configuration (ConfigError lists every problem) and builds the
    topology; opens no connection. ``today`` is the clock that decides which time-range
    period tables exist; ``stream_batch_size`` is how many rows a multi-shard read fetches
    from each shard at a time.
    """
    return Cluster(load_config(config), today=today, stream_batch_size=stream_batch_size)
