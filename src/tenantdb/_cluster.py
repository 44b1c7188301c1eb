"""The Cluster: one logical database over many physical ones, built from a configuration,
on the thread front (``Cluster``) or the asyncio front (``AsyncCluster``).

Both share everything that does no statement I/O (``_ClusterBase``: configuration, topology,
router, tenant registry, ``explain``, ``status``, the read-to-primary switches); they differ
only in the session they open and in how they close.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._concurrency import AsyncFrontGuard, FrontGuard
from ._sync import Datasources, Session
from .admin import (
    AutoPrecreator,
    ClusterView,
    MoveHandle,
    MoveListener,
    MoveSettings,
    refuse_orphaning,
    tenant_tables_with_rows,
)
from .config import (
    Config,
    ConfigDiff,
    ConfigWatcher,
    diff_configs,
    is_etcd_url,
    load_config,
)
from .core.routing import Params, RoutePlan, Router, Topology, with_round_trips
from .core.sql import TemplateCache
from .core.tenancy import current_tenant
from .errors import ConfigError, InterfaceError, ProgrammingError
from .telemetry import OtelInstruments, attach_instruments
from .tenants import Tenant, TenantRegistry, follow_config, open_registry

if TYPE_CHECKING:  # the asyncio front is imported by the first AsyncCluster, not by connect()
    from ._async import AsyncDatasources, AsyncSession
    from ._sync import Retired

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config

D = TypeVar("D", Datasources, "AsyncDatasources")

log = logging.getLogger("tenantdb.config")

# A watched document that stays bad is logged again at most this often (the same problems).
_REFUSAL_LOG_INTERVAL_S = 60.0


class _ClusterBase(Generic[D]):
    """What both fronts share; see ``Cluster`` for the contract."""

    datasources: D
    _connect_name = "connect"  # this front's constructor, named in errors

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
        self._today = today
        # The configuration file or etcd:// URL, when built from one.
        self._source: Path | str | None = None
        self._reload_lock = threading.Lock()  # one reload at a time
        self._generation = 1
        self._loaded_at = time.time()
        self._refusal: dict[str, Any] | None = None
        self._refusal_logged: tuple[str, float] | None = None
        self._watcher: ConfigWatcher | None = None
        self._registry: TenantRegistry | None = None
        self._registry_lock = threading.Lock()
        self._instruments: OtelInstruments | None = None
        self._stream_batch_size = stream_batch_size
        self._closed = False
        self.datasources = self._new_datasources(config)
        jobs = self._admin_view()  # built now (no I/O), so no thread races to build it
        # precreate = "auto": started by the first session (explain and connect stay offline).
        self.precreator: AutoPrecreator | None = (
            AutoPrecreator(jobs, interval=config.precreate_interval)
            if config.precreate == "auto"
            else None
        )

    def _live_router(self) -> Router:
        return self.router

    def _new_datasources(self, config: Config) -> D:
        """This front's pools (built at construction, opened on first use)."""
        raise NotImplementedError

    def _admin_view(self) -> ClusterView:
        """What admin jobs (precreation, the placement guard) run their sessions on."""
        raise NotImplementedError

    @property
    def tenants(self) -> TenantRegistry:
        """The tenant registry: ``get``, ``list``, ``put``, ``delete``, ``subscribe``.

        Started on first use: it reads the ``[registry]`` store (or, without one, keeps
        the static tenants in this process) and follows its changes from then on. It is the
        same thread-based registry on both fronts: ``get`` is an in-memory lookup, while
        ``put`` and ``delete`` write to the store and block (on the asyncio front, call
        them through ``asyncio.to_thread`` where the loop must not wait).
        """
        registry = self._registry
        if registry is None:
            with self._registry_lock:
                self._refuse_closed()
                if self._registry is None:
                    self._registry = open_registry(self.config)
                    # put() refuses moving a tenant away from its rows (force=True skips).
                    self._registry.placement_guard = refuse_orphaning(self._admin_view())
                    if self._instruments is not None:
                        self._registry.on_propagation(self._instruments.record_propagation)
                registry = self._registry
        return registry

    def _session_options(
        self,
        tenant: str | Tenant | None,
        admin: bool,
        primary: bool,
        consistency_token: str | None,
    ) -> dict[str, Any]:
        """The keyword arguments of a new session (either front's), the tenant resolved."""
        self._refuse_closed()
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
            options.update(tenant=registry.get(tenant), lookup=registry.get)
        else:
            options["tenant"] = tenant
            if admin and tenant is None:
                options["schema_layout"] = self.tenants.schema_layout
        return options

    def tenant_has_rows(self, tenant: str | Tenant) -> list[str]:
        """The ``tenant`` tables that hold rows of ``tenant`` (an id or a Tenant) where it
        is placed now: rows with its id for shared isolation, any row in its schema or its
        own database otherwise. Reads that datasource's primary (blocking, on both fronts);
        used to refuse a placement change that would leave rows behind."""
        resolved = self.tenants.get(tenant) if isinstance(tenant, str) else tenant
        return tenant_tables_with_rows(self._admin_view(), resolved)

    def move_tenant(
        self,
        tenant: str,
        to: str | None = None,
        *,
        resume: bool = False,
        settings: MoveSettings | None = None,
        cleanup_after_s: float | None = None,
        on_step: MoveListener | None = None,
    ) -> MoveHandle:
        """Start moving ``tenant`` to datasource ``to`` online (or, ``resume=True``, run its
        unfinished move on) on a thread of its own, and return at once with its handle:
        ``handle.progress``, ``handle.wait()`` (or ``await handle.finished()``),
        ``handle.stop()``, ``handle.abort()``.

        The move runs to its cut-over; with ``cleanup_after_s`` the handle then waits that
        long after the cut-over and deletes the tenant's rows from the old datasource
        (``cleanup_move``), else the cleanup is left to a command. ``on_step`` is told each
        step on the mover's thread (``tenantdb.admin.MoveListener``). Planning errors (an
        unknown datasource, a tenant already there) are raised by ``wait()``. The phases
        and guarantees are those of ``tenantdb.admin.start_move``; this cluster's
        statements go on meanwhile, on both fronts (the mover uses thread-front pools)."""
        if resume == (to is not None):
            raise ProgrammingError("give move_tenant either a datasource to move to or resume=True")
        self._refuse_closed()
        return MoveHandle(
            self._admin_view(),
            tenant,
            to,
            settings=settings or MoveSettings(),
            cleanup_after_s=cleanup_after_s,
            on_step=on_step,
        )

    # -- read/write splitting -----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Roles, replica lag and health, breakers, pools, switches and tenant limits, as plain
        data.

        ``{"switch": {"forced": reason | None}, "datasources": {name: {"breakers":
        {"primary": breaker | None, "<name>/replica<i>": breaker | None}, "pools": {the
        same endpoint names: None before the endpoint's first statement, else {"size",
        "in_use", "idle", "waiting", "max_size"}}, "forced": the
        reason its reads go to the primary by hand (its own or the cluster-wide one) | None,
        "automatic": no replica qualifies, "automatic_reason", "replicas": [{"name",
        "state" (serving | lagging | down), "state_for_s", "lag_s", "replayed", "error",
        "failures", "retry_in_s", "weight"}]}}, "limits": {"mode", "shared", "tenants":
        {id: {"in_flight", "queued", "datasources", counters}}}}``. A breaker is None
        before its endpoint's first statement (or when disabled), else ``{"state"
        (closed | open | half_open), "reason", "retry_at", "failure_rate_percent", ...}``
        (``core.breaker.CircuitBreaker.snapshot``). Replicas of a datasource not used yet
        show ``"state": "not started"`` (their monitor starts with the first statement).
        """
        return {
            **self.datasources.status(),
            "limits": self.datasources.guards.snapshot(),
            "config": self.config_status(),
        }

    # -- configuration reload -------------------------------------------------------------

    def config_status(self) -> dict[str, Any]:
        """``{"generation"`` (1 at start, +1 per reload that changed something), ``"loaded_at"``
        (Unix seconds), ``"source"`` (the file, or None), ``"watching"`` (None, or how:
        ``watchfiles`` / ``poll <s>s``), ``"last_refused"`` (None, or ``{"at", "problems":
        [{"path", "message"}]}`` of the last document refused since the last reload)}``."""
        watcher = self._watcher
        return {
            "generation": self._generation,
            "loaded_at": self._loaded_at,
            "source": str(self._source) if self._source is not None else None,
            "watching": watcher.how if watcher is not None else None,
            "last_refused": self._refusal,
        }

    def reload(self, config: ConfigSource | None = None) -> ConfigDiff:
        """Switch this cluster to ``config`` (None: read its configuration file again) when
        every change is hot-safe, and return the changes (``ConfigDiff``).

        The document is validated whole and compared with the running one
        (``tenantdb.config.diff_configs``). When a change would move existing rows, or needs
        a restart, nothing changes and ``ConfigError`` lists each such change by key path
        with the move or reshard it needs; an invalid document raises ``ConfigError`` too;
        either way the running configuration keeps serving. Otherwise the new topology is
        built and swapped in by one assignment: each statement routes with the topology
        current when it starts (sessions already open included), and one in flight
        finishes on its own. New datasources' pools open on first use; removed
        datasources' pools close as their connections come back; resized pools shrink or
        grow as connections come back. ``status()["config"]["generation"]`` counts the
        reloads that changed something. Raises ``InterfaceError`` for ``None`` when the
        cluster was not built from a file, or after ``close()``.
        """
        source: ConfigSource | None = self._source if config is None else config
        if source is None:
            raise InterfaceError(
                "this cluster was not built from a file: pass the new configuration to"
                " reload() (a path, a mapping or a Config)"
            )
        with self._reload_lock:
            self._refuse_closed()
            try:
                new = load_config(source)
                diff = diff_configs(self.config, new)
                if not diff.hot_safe:
                    raise ConfigError(diff.problems())
                topology = Topology.from_config(new, today=self._today)
            except ConfigError as exc:
                self._refusal = {
                    "at": time.time(),
                    "problems": [{"path": p.path, "message": p.message} for p in exc.problems],
                }
                raise
            self._refusal = self._refusal_logged = None
            if not diff:
                return diff
            router = Router(topology, templates=self.router.templates)
            # New datasources must be known before a statement can route to them.
            retired = self.datasources.reconfigure(new)
            self._reconfigure_jobs(new)
            self._follow_registry(new, diff)
            self.config, self.topology = new, topology
            self.router = router  # the swap: sessions read it as each call starts
            if self.precreator is not None:
                self.precreator.interval = new.precreate_interval
            self._generation += 1
            self._loaded_at = time.time()
            generation = self._generation
        if retired:
            self._settle(retired)
        log.info(
            "configuration reloaded (generation %d): %s",
            generation,
            "; ".join(change.path for change in diff.changes),
        )
        return diff

    def _follow_registry(self, config: Config, diff: ConfigDiff) -> None:
        registry = self._registry
        if registry is None:
            return  # opened later, from the new configuration
        changed = {
            change.path.split(".")[1]
            for change in diff.changes
            if change.path.startswith("tenants.")
        }
        follow_config(registry, config, sorted(changed))

    def _settle(self, retired: Any) -> None:
        """Resize and close what a reload took out of use, off the caller's path."""
        raise NotImplementedError

    def _reconfigure_jobs(self, config: Config) -> None:
        """Bring the admin jobs' own pools, if any, to a reloaded configuration."""

    def _reload_watched(self) -> None:
        """The watcher saw the file change: reload it; a refusal is logged (throttled)."""
        try:
            self.reload()
        except ConfigError as exc:
            message = str(exc)
            now = time.monotonic()
            last = self._refusal_logged
            if last is None or last[0] != message or now - last[1] >= _REFUSAL_LOG_INTERVAL_S:
                self._refusal_logged = (message, now)
                log.error(
                    "%s was not reloaded; the configuration of generation %d keeps serving: %s",
                    self._source,
                    self._generation,
                    message,
                )
        except InterfaceError:
            pass  # closed meanwhile

    def _watch(self, source: ConfigSource, *, watch: bool, poll_interval_s: float | None) -> None:
        """Remember the file the configuration came from, and follow it when ``watch``."""
        if is_etcd_url(source):
            assert isinstance(source, str)
            self._source = source
        elif isinstance(source, str | os.PathLike):
            self._source = Path(source)
        if not watch:
            return
        if self._source is None:
            raise InterfaceError(
                "watch=True needs the configuration's file path or etcd:// URL (a mapping or"
                " a Config has nothing to watch); call cluster.reload(new) instead"
            )
        self._watcher = ConfigWatcher(
            self._source, self._reload_watched, poll_interval_s=poll_interval_s
        )
        self._watcher.start()

    def slow_statements(self) -> list[dict[str, Any]]:
        """The latest slow statements of this process (``[telemetry] slow_statement``),
        newest first: ``{"at" (Unix seconds), "tenant", "sql" (as written, without
        parameter values), "params" (None unless ``slow_statement_params``), "duration_s",
        "route" (single | scatter | broadcast), "targets": [{"datasource", "role"}], "error"
        (the exception's class name, or None)}``."""
        return self.datasources.telemetry.slow_statements()

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
        exactly as executing the statement would. Never connects to a database, and is not
        awaited on the asyncio front.
        """
        resolved = self.tenants.get(tenant) if isinstance(tenant, str) else tenant
        schemas = self.tenants.schema_layout() if admin and resolved is None else None
        plan = self.router.route(sql, params, tenant=resolved, admin=admin, schemas=schemas)
        return with_round_trips(plan, self.router.topology.dialect, self._stream_batch_size)

    # -- lifetime -------------------------------------------------------------------------

    def _refuse_closed(self) -> None:
        if self._closed:
            raise InterfaceError(
                f"the cluster is closed; create a new one with tenantdb.{self._connect_name}()"
            )

    def _use_meter_provider(self, meter_provider: Any) -> None:
        """With ``[telemetry] otel_metrics``: export this cluster's metrics as
        OpenTelemetry instruments of ``meter_provider`` (None: the global one)."""
        self.datasources.telemetry.use_providers(meter_provider=meter_provider)
        if not self.config.telemetry.otel_metrics:
            return
        with self._registry_lock:
            self._instruments = attach_instruments(self, meter_provider)
            if self._registry is not None:
                self._registry.on_propagation(self._instruments.record_propagation)

    def _close_registry(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()
        with self._registry_lock:
            self._closed = True
            if self._instruments is not None:
                self._instruments.close()
            registry, self._registry = self._registry, None
        if registry is not None:
            registry.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {state} {self.topology!r} {self._registry!r}>"


class Cluster(_ClusterBase[Datasources], FrontGuard):
    """Routes statements for a configured set of datasources, tables and tenants, on the
    thread front (``tenantdb.connect``); ``AsyncCluster`` is its asyncio twin.

    Building a cluster validates the configuration and the topology; it opens no
    connection and does no I/O beyond reading the configuration file. The tenant registry
    starts on first use of ``cluster.tenants`` (a session or explain for a tenant id).
    Thread-safe: share one cluster across the application's threads.
    """

    def _new_datasources(self, config: Config) -> Datasources:
        return Datasources(config)

    def _admin_view(self) -> ClusterView:
        return self

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
        options = self._session_options(tenant, admin, primary, consistency_token)
        if self.precreator is not None:
            self.precreator.start()
        return Session(self.router, self.datasources, current_router=self._live_router, **options)

    def _settle(self, retired: Retired) -> None:
        threading.Thread(
            target=self.datasources.settle, args=(retired,), name="tenantdb-reload", daemon=True
        ).start()

    def close(self) -> None:
        """Close every pool and worker thread. Safe to call more than once.

        Sessions still open keep their connections until they end; those connections are
        closed when returned.
        """
        self._close_registry()
        if self.precreator is not None:
            self.precreator.stop()
        self.datasources.close()
        if self.precreator is not None:
            self.precreator.join()  # a pass in progress ends once the pools are closed

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncCluster(_ClusterBase["AsyncDatasources"], AsyncFrontGuard):
    """The asyncio front of ``Cluster`` (``tenantdb.connect_async``): the same routing,
    isolation, replicas and registry; sessions whose calls are awaited.

    Building it opens nothing. Its pools belong to the event loop of the first statement,
    so build it (or first use it) where the application's loop runs, e.g. in a lifespan
    handler, and close it there with ``await cluster.aclose()``. Background work that is
    not on a statement's path runs on threads, as on the thread front: the replica lag
    monitors, the registry's watchers, and ``precreate = "auto"`` (which opens its own
    small thread-front pools for its DDL).
    """

    _jobs: _AdminJobs | None = None
    _connect_name = "connect_async"
    _settling: set[asyncio.Task[None]]

    def __init__(self, config: Config, **options: Any) -> None:
        super().__init__(config, **options)
        self._settling = set()

    def _new_datasources(self, config: Config) -> AsyncDatasources:
        from ._async import AsyncDatasources

        return AsyncDatasources(config)

    @property
    def admin_view(self) -> ClusterView:
        """This cluster as ``tenantdb.admin`` jobs take it (``apply_schema``, verify, moves):
        its configuration, router and registry, with thread-front pools of its own, opened
        by the first job and closed by ``aclose()``. The jobs block: run them on a thread
        (``asyncio.to_thread(apply_schema, acluster.admin_view, script)``), never on the
        event loop."""
        return self._admin_view()

    def _admin_view(self) -> _AdminJobs:
        if self._jobs is None:
            self._jobs = _AdminJobs(self)
        return self._jobs

    def _reconfigure_jobs(self, config: Config) -> None:
        if self._jobs is not None:
            self._jobs.reconfigure(config)

    def session(
        self,
        tenant: str | Tenant | None = None,
        *,
        admin: bool = False,
        primary: bool = False,
        consistency_token: str | None = None,
    ) -> AsyncSession:
        """Open an AsyncSession: ``async with cluster.session(tenant="acme") as s:``.

        Not awaited itself (opening connects to nothing); the same arguments and tenant
        precedence as ``Cluster.session``. Its statements, transactions and results are
        awaited: ``await s.execute(...)``, ``async with s.transaction():``,
        ``await r.fetchall()``, ``async for row in r``.
        """
        options = self._session_options(tenant, admin, primary, consistency_token)
        if self.precreator is not None:
            self.precreator.start()
        from ._async import AsyncSession

        return AsyncSession(
            self.router, self.datasources, current_router=self._live_router, **options
        )

    def _settle(self, retired: Any) -> None:
        # Pools belong to the loop of their first statement: their closing runs there.
        coroutine: Coroutine[Any, Any, None] = self.datasources.settle(retired)
        loop = self.datasources.loop.loop
        if loop is None:  # no statement ran: nothing is bound to a loop yet
            threading.Thread(target=asyncio.run, args=(coroutine,), daemon=True).start()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        try:
            if running is loop:
                task = loop.create_task(coroutine)
                self._settling.add(task)
                task.add_done_callback(self._settling.discard)
            else:
                asyncio.run_coroutine_threadsafe(coroutine, loop)
        except RuntimeError:  # the loop is closed: so are its pools' connections
            coroutine.close()

    async def aclose(self) -> None:
        """Close every pool and background thread. Safe to call more than once.

        Sessions still open keep their connections until they end; those connections are
        closed when returned.
        """
        self._close_registry()
        if self.precreator is not None:
            self.precreator.stop()
        await self.datasources.close()
        # The admin jobs' thread-front pools (and a precreation pass finishing) are closed
        # off the loop: joining a thread blocks.
        await asyncio.to_thread(self._admin_view().close)
        if self.precreator is not None:
            await asyncio.to_thread(self.precreator.join)

    async def __aenter__(self) -> AsyncCluster:
        """Start the tenant registry on a thread (it reads its store, which blocks), so the
        first request does not do it on the loop; ``aclose()`` on exit."""
        await asyncio.to_thread(lambda: self.tenants)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _AdminJobs:
    """The ``ClusterView`` an AsyncCluster gives its admin jobs (precreation, the placement
    guard): its router and registry, with thread-front pools of their own, opened on the
    first job (the jobs run on threads, never on the event loop)."""

    def __init__(self, cluster: AsyncCluster) -> None:
        self._cluster = cluster
        self._datasources: Datasources | None = None
        self._lock = threading.Lock()

    @property
    def config(self) -> Config:
        return self._cluster.config

    @property
    def topology(self) -> Topology:
        return self._cluster.topology

    @property
    def router(self) -> Router:
        return self._cluster.router

    @property
    def datasources(self) -> Datasources:
        with self._lock:
            if self._datasources is None:
                self._cluster._refuse_closed()
                self._datasources = Datasources(self.config, max_workers=2)
            return self._datasources

    @property
    def tenants(self) -> TenantRegistry:
        return self._cluster.tenants

    def explain(self, sql: str, params: Params = None, *, admin: bool = False) -> RoutePlan:
        return self._cluster.explain(sql, params, admin=admin)

    def reconfigure(self, config: Config) -> None:
        """Follow a reload: the thread-front pools of the jobs, when opened, settle on a
        thread of their own (closing pools waits for their workers)."""
        with self._lock:
            datasources = self._datasources
        if datasources is not None:
            retired = datasources.reconfigure(config)
            if retired:
                threading.Thread(
                    target=datasources.settle, args=(retired,), name="tenantdb-reload", daemon=True
                ).start()

    def close(self) -> None:
        with self._lock:
            datasources, self._datasources = self._datasources, None
        if datasources is not None:
            datasources.close()


def connect(
    config: ConfigSource,
    *,
    today: Callable[[], datetime.date] = datetime.date.today,
    stream_batch_size: int = 1000,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    watch: bool = False,
    watch_poll_interval: float | None = None,
) -> Cluster:
    """Build a Cluster (thread front) from a configuration file path, a mapping, or a Config.

    Validates the whole configuration (ConfigError lists every problem) and builds the
    topology; opens no connection. ``today`` is the clock that decides which time-range
    period tables exist; ``stream_batch_size`` is how many rows a multi-shard read fetches
    from each shard at a time. ``tracer_provider`` / ``meter_provider``: OpenTelemetry
    providers to use instead of the global ones (see ``[telemetry]``). With ``[telemetry]
    otel_metrics = true`` the cluster's metrics become instruments of the meter provider
    (``tenantdb.telemetry.OtelInstruments``); ImportError without ``opentelemetry-api``.

    ``config`` may also be ``etcd://host:port/key``: a TOML or JSON document kept as that
    etcd key's value. ``watch=True`` (``config`` must be a file path or such a URL)
    follows it: each time its content changes the cluster reloads it
    (``Cluster.reload``); a document that is invalid or would move rows is logged (the
    same problems at most once a minute) and the last good configuration keeps serving.
    A file's changes are seen at once with watchfiles installed (extra ``watch``), else by
    reading it every ``watch_poll_interval`` seconds (default 1; setting it also polls
    with watchfiles installed); an etcd key is read every ``watch_poll_interval``.
    """
    cluster = Cluster(load_config(config), today=today, stream_batch_size=stream_batch_size)
    cluster.datasources.telemetry.use_providers(tracer_provider=tracer_provider)
    cluster._use_meter_provider(meter_provider)
    cluster._watch(config, watch=watch, poll_interval_s=watch_poll_interval)
    return cluster


def connect_async(
    config: ConfigSource,
    *,
    today: Callable[[], datetime.date] = datetime.date.today,
    stream_batch_size: int = 1000,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    watch: bool = False,
    watch_poll_interval: float | None = None,
) -> AsyncCluster:
    """Build an AsyncCluster (asyncio front): ``connect``'s arguments and checks (``watch``
    included: the watcher is a thread, and the pools a reload retires are closed on the
    cluster's event loop). Not awaited: it validates and opens nothing; pools open on the
    first awaited statement."""
    cluster = AsyncCluster(load_config(config), today=today, stream_batch_size=stream_batch_size)
    cluster.datasources.telemetry.use_providers(tracer_provider=tracer_provider)
    cluster._use_meter_provider(meter_provider)
    cluster._watch(config, watch=watch, poll_interval_s=watch_poll_interval)
    return cluster
