"""The tenant registry: in-process answers from a snapshot, kept current by store changes.

Reads (``get``) never touch the network for a known tenant: they look up an immutable
snapshot (or, above ``max_cached`` tenants, an LRU of recent tenants). Everything that does
I/O happens elsewhere:

- a miss loads the tenant once, however many threads ask at the same moment (single
  flight), through the optional shared cache and then the store; an unknown id is
  remembered for ``negative_ttl`` seconds, or until this process applies any change, and
  a lookup of it then costs a dict read and a new UnknownTenantError (cheap by design);
- one watcher thread receives changes from the store and reloads just the changed
  tenant; whenever its subscription (re)starts it resyncs by comparing versions, since
  changes sent while it was disconnected are lost;
- while the store is down the registry keeps serving what it has, logs once, and retries
  with exponential backoff.

A record that does not parse is rejected (logged with the tenant and the field) and the
tenant's previous version stays in service. A tenant whose placement breaks isolation (a
database-isolated tenant with company on its datasource, a schema-isolated tenant with a
schema that is not its own; see ``_occupancy``) is held but refused: ``get`` raises
TenantIsolationError with the reason, logged once, while every other tenant keeps working.
``put`` refuses to write such a placement in the first place.

Every record ``put`` writes is stamped with the time of the write (``updated_at``). When
a change reaches this process through the store's change feed (or the resync after the
feed reconnects), the registry observes how long after that stamp it applied the change:
``propagation()`` (the ``tenantdb_registry_propagation_seconds`` metric). The figure
compares two processes' wall clocks, so it is only as good as their synchronisation (NTP
keeps it within milliseconds); a negative difference (a writer whose clock runs ahead)
counts as 0. Records without a stamp (written before stamps existed, or by hand in a
store that keeps none) and deletions are not observed.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..config import TenantRules
from ..core.retry import Backoff
from ..core.routing import SchemaLayout
from ..core.tenancy import Occupancy, Placement, Tenant
from ..errors import (
    InvalidTenantError,
    OperationalError,
    RegistryUnavailableError,
    TenantIsolationError,
    UnknownTenantError,
)
from ..telemetry import PROPAGATION_BUCKETS_S, Histogram, ThrottledLog
from ._record import (
    change_time,
    checked_id,
    merged_record,
    parse_record,
    record_of,
    stored_version,
)
from .stores import Change, Record, TenantStore
from .stores._codec import UPDATED_AT

log = logging.getLogger("tenantdb.tenants")
# A failing shared cache is met on every lookup: say so once a minute, not per statement.
_CACHE_FAILURES = ThrottledLog(log)

Subscriber = Callable[[Tenant | None, Tenant | None], None]
"""Called as ``callback(old, new)`` when this process learns of a tenant's new state:
``old`` is the version it held (None if it held none), ``new`` is None for a deletion."""
PlacementGuard = Callable[[Tenant, Tenant], None]
"""Called by ``put`` with (stored, new) before it writes a change; raises to refuse it.
The cluster sets one that refuses moving a tenant away from its rows (it does the I/O)."""
PropagationListener = Callable[[float], None]
"""Called with the seconds another process's change took to reach this one."""

_PUT_ATTEMPTS = 16
# An unreachable store is retried soon at first (most outages are a blip), then every 5 s.
_STORE_RETRY = Backoff(initial_s=0.05, max_s=5.0)
_BULK_RESYNC = 256  # more changed tenants than this: one load_all instead of one load each


class SharedCache(Protocol):
    """A second-level cache shared by processes (Redis): warm-up without the store."""

    url: str

    def get(self, tenant_id: str) -> Record | None: ...

    def get_all(self) -> list[Record] | None:
        """Every cached record, or None when the cache holds no complete snapshot."""
        ...

    def put(self, record: Record) -> None:
        """Cache ``record`` unless the cache already holds a newer version."""
        ...

    def put_all(self, records: Iterable[Record]) -> None:
        """Replace the complete snapshot."""
        ...

    def discard(self, tenant_id: str) -> None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class _Flight:
    """One load in progress; later callers for the same id wait on ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    tenant: Tenant | None = None
    error: BaseException | None = None
    stale: bool = False  # a change arrived while loading: answer, but do not cache


class TenantRegistry:
    """Tenants by id, served from memory and kept current by the store's change feed.

    Thread-safe. ``get`` is the hot path (a dict lookup for a known tenant); ``put`` and
    ``delete`` write through to the store and apply to this process at once; other
    processes see the change when its notification arrives (milliseconds).
    ``backoff`` spaces the retries while the store is unreachable (by default 50 ms,
    doubling up to 5 s). ``clock`` (monotonic seconds) times negative answers;
    ``wall_clock`` (Unix seconds) stamps writes and measures propagation.
    """

    def __init__(
        self,
        store: TenantStore,
        *,
        placement: Placement,
        static: Iterable[Tenant] = (),
        max_cached: int = 100_000,
        negative_ttl_s: float = 5.0,
        shared_cache: SharedCache | None = None,
        backoff: Backoff = _STORE_RETRY,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        watch: bool = True,
        rules: TenantRules | None = None,
    ) -> None:
        self._store = store
        self._placement = placement
        self.placement_guard: PlacementGuard | None = None
        self._rules = rules if rules is not None else TenantRules()
        # Placements of every tenant held, and the held tenants that may not be served
        # (id → why; replaced whole on change, so ``get`` reads it without the lock).
        self._occupancy = Occupancy(self._rules)
        self._refused: Mapping[str, str] = {}
        self._max_cached = max_cached
        self._negative_ttl_s = negative_ttl_s
        self._shared = shared_cache
        self._backoff = backoff
        self._clock = clock
        self._wall_clock = wall_clock
        # Seconds from a change's stamp to this process applying it (under _lock), and
        # who else wants each figure (OpenTelemetry's histogram).
        self._propagation = Histogram(PROPAGATION_BUCKETS_S)
        self._propagation_listeners: builtins.list[PropagationListener] = []
        # Full mode: an immutable dict replaced whole on every change. LRU mode (more
        # tenants than max_cached): an OrderedDict changed in place, most recent last.
        self._snapshot: Mapping[str, Tenant] = {}
        self._lru = False
        self._lock = threading.Lock()  # guards writes to _snapshot, _flights, _negative
        self._flights: dict[str, _Flight] = {}
        # Ids known to be unknown, oldest first; emptied by every change this process
        # applies (a negative answer is only as good as the snapshot it was given with).
        # Unknown ids -> until when (clock seconds) they are answered as unknown.
        self._negative: OrderedDict[str, float] = OrderedDict()
        self._subscribers: list[Subscriber] = []
        # (snapshot it was computed from, layout); in LRU mode cleared on every change.
        self._layout: tuple[object, Mapping[str, tuple[str, ...]]] | None = None
        self._healthy = True
        self._last_error: str | None = None
        # Bumped (under _lock) each time the snapshot takes changes or is reloaded whole;
        # with the monotonic time of that moment, for status() and metrics.
        self._generation = 0
        self._changed_at = time.monotonic()
        self._stop = threading.Event()
        self._ready = threading.Event()
        # Until the store answers, the static tenants are the best answer there is.
        static = list(static)
        for tenant in static:  # the ring must know which datasources are taken
            if tenant.isolation == "database":
                self._occupancy.record(tenant.id, tenant)
        self._static = [self._placed(t) for t in static]
        self._snapshot = {t.id: t for t in self._static}
        self._reindex()
        self._started = False
        try:
            self._start()
        except RegistryUnavailableError as exc:
            self._healthy, self._last_error = False, str(exc)
            log.warning(
                "tenant store %s is unreachable at start-up (%s); serving the static tenants"
                " and retrying with backoff",
                store.url,
                exc,
            )
        self._watcher: threading.Thread | None = None
        if watch:
            self._watcher = threading.Thread(
                target=self._watch_loop, name="tenantdb-registry-watch", daemon=True
            )
            self._watcher.start()

    # -- reads --------------------------------------------------------------------------

    def get(self, tenant_id: str) -> Tenant:
        """The tenant with this id; raises UnknownTenantError naming the id otherwise.

        Served from memory when known. An uncached id is loaded from the store once for
        all concurrent callers; RegistryUnavailableError if the store cannot answer.
        """
        snapshot = self._snapshot
        tenant = snapshot.get(tenant_id)
        if tenant is not None:
            refused = self._refused
            if refused and tenant_id in refused:
                raise TenantIsolationError(refused[tenant_id])
            if self._lru:
                # try/except, not contextlib.suppress: free when nothing is raised, and this
                # is the hot path. KeyError: evicted meanwhile; our tenant is still valid.
                try:  # noqa: SIM105
                    snapshot.move_to_end(tenant_id)  # type: ignore[attr-defined]
                except KeyError:
                    pass
            return tenant
        expiry = self._negative.get(tenant_id)
        if expiry is not None and expiry > self._clock():
            # A new error for every caller (a raised one keeps its traceback and context);
            # UnknownTenantError is built by BaseException's C constructor, cheap enough.
            raise UnknownTenantError(tenant_id)
        return self._miss(tenant_id)

    def list(self) -> list[Tenant]:
        """Every tenant, sorted by id. From memory below ``max_cached`` tenants; above it,
        from the store (a full read: an operator's call, not a request-path one)."""
        if not self._lru:
            snapshot = self._snapshot
            return [snapshot[k] for k in sorted(snapshot)]
        tenants = []
        for record in self._store.load_all():
            tenant = self._parse(record)
            if tenant is not None:
                tenants.append(tenant)
        return sorted(tenants, key=lambda t: t.id)

    def schema_layout(self) -> SchemaLayout:
        """Datasource → sorted schemas of its schema-isolated tenants (what an admin scan
        of tenant tables must visit besides each datasource's shared tables), and which
        tenant each schema holds (``layout.owner(datasource, schema)``: an admin scan
        shows that tenant in the tenant column of rows stored without it).

        From memory below ``max_cached`` tenants; above it, from one full store read,
        remembered until the next change arrives.
        """
        layout = self._layout
        if (
            layout is not None
            and layout[0] is self._snapshot
            and isinstance(layout[1], SchemaLayout)
        ):
            return layout[1]
        source: Iterable[Tenant] = self._snapshot.values() if not self._lru else self.list()
        owners: dict[tuple[str, str], str] = {}
        refused = self._refused
        for tenant in source:
            if tenant.id in refused:
                continue  # e.g. schema public: scanning it again would repeat shared rows
            if tenant.isolation == "schema" and tenant.schema and tenant.datasource:
                owners[(tenant.datasource, tenant.schema)] = tenant.id
        result = SchemaLayout(owners)
        self._layout = (self._snapshot, result)
        return result

    def __len__(self) -> int:
        """Tenants held in memory (all of them below ``max_cached``)."""
        return len(self._snapshot)

    def __contains__(self, tenant_id: object) -> bool:
        return tenant_id in self._snapshot

    # -- writes -------------------------------------------------------------------------

    def put(self, change: Tenant | Mapping[str, Any], *, force: bool = False) -> Tenant:
        """Create or update a tenant and return it with its new version.

        ``change`` is a Tenant (every field replaced) or a mapping with ``id`` and the
        fields to change (others keep their value, or their default for a new tenant).
        A tenant without a datasource is placed by the weighted hash ring (never on a
        datasource a database-isolated tenant holds). Raises InvalidTenantError for a
        malformed change, an unknown datasource, or a placement that breaks isolation: a
        database-isolated tenant without a datasource of its own, a tenant on such a
        tenant's datasource, a schema-isolated tenant whose schema holds shared rows or is
        another tenant's. Concurrent puts of one tenant from several processes are
        serialized by version. Unless ``force``, the ``placement_guard`` (set by the
        cluster) sees the stored and the new tenant first and may refuse the change.
        """
        tenant_id = checked_id(
            change.id if isinstance(change, Tenant) else change.get("id"),
            needs="put() needs the tenant's 'id' as a string",
        )
        for _ in range(_PUT_ATTEMPTS):
            current = self._store.load(tenant_id)
            record = merged_record(tenant_id, current, change)
            if record.get("datasource") is None and record.get("isolation") != "database":
                record["datasource"] = self._placement.place(tenant_id, self._taken(tenant_id))
            tenant = parse_record(record)
            self._check_datasource(tenant)
            self._admit(tenant)
            if not force and self.placement_guard is not None and current is not None:
                stored = _parsed_or_none(current)  # a malformed record places nothing
                if stored is not None:
                    self.placement_guard(self._placed(stored), tenant)
            record[UPDATED_AT] = self._wall_clock()
            if self._store.write(record, expected_version=stored_version(current)):
                self._apply(tenant_id, tenant)
                self._share(tenant_id, record_of(tenant))
                return tenant
        raise OperationalError(
            f"tenant {tenant_id!r} changed {_PUT_ATTEMPTS} times while put() tried to write"
            " it; retry later"
        )

    def delete(self, tenant_id: str) -> None:
        """Delete a tenant; UnknownTenantError if the store has no such tenant."""
        if not self._store.remove(tenant_id):
            raise UnknownTenantError(tenant_id)
        self._apply(tenant_id, None)
        self._share(tenant_id, None)

    def follow_config(self, placement: Placement, rules: TenantRules) -> None:
        """Follow a configuration reload: tenants placed from now on go to the datasources
        of ``placement`` (by weight), and every placement is judged by ``rules``. Tenants
        already placed stay where they are."""
        with self._lock:
            self._placement = placement
            self._rules = rules
            self._reindex()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(old, new)`` after every change this process applies; returns a
        function that unsubscribes. Callbacks run on the registry's watcher thread (or
        the thread calling put/delete), must be quick, and their errors are logged."""
        with self._lock:
            self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s is not callback]

        return unsubscribe

    def propagation(self) -> Histogram:
        """A copy of the histogram of propagation delays: seconds from the ``updated_at``
        stamp of each change another process made to this process applying it (see the
        module docstring: approximate, by two wall clocks; negatives count as 0)."""
        with self._lock:
            return self._propagation.copy()

    def on_propagation(self, listener: PropagationListener) -> Callable[[], None]:
        """Also call ``listener(seconds)`` with each propagation delay observed; returns a
        function that stops it. Called on the watcher thread; must be quick; errors are
        logged."""
        with self._lock:
            self._propagation_listeners = [*self._propagation_listeners, listener]

        def stop() -> None:
            with self._lock:
                self._propagation_listeners = [
                    other for other in self._propagation_listeners if other is not listener
                ]

        return stop

    def place(self, tenant_id: str) -> str:
        """The datasource the hash ring gives a new tenant with this id."""
        return self._placement.place(tenant_id, self._taken(tenant_id))

    def refused(self) -> dict[str, str]:
        """Held tenants that are not served because their placement breaks isolation,
        with the reason each one's sessions get."""
        return dict(self._refused)

    # -- lifecycle ----------------------------------------------------------------------

    def wait_ready(self, timeout_s: float | None = None) -> bool:
        """Wait until the change feed is live (True) or ``timeout_s`` passed (False)."""
        return self._ready.wait(timeout_s)

    def status(self) -> dict[str, Any]:
        """A plain dict for health checks: store, mode, sizes, feed state, last error, and
        ``generation`` (bumped each time this process's snapshot takes changes or is
        reloaded) with ``changed_s_ago`` (seconds since then)."""
        return {
            "store": self._store.url,
            "shared_cache": self._shared.url if self._shared is not None else None,
            "mode": "lru" if self._lru else "snapshot",
            "cached": len(self._snapshot),
            "max_cached": self._max_cached,
            "negative_cached": len(self._negative),
            "refused": len(self._refused),
            "feed": (
                "off"
                if self._watcher is None
                else "live"
                if self._ready.is_set() and self._healthy
                else "reconnecting"
            ),
            "last_error": self._last_error,
            "generation": self._generation,
            "changed_s_ago": time.monotonic() - self._changed_at,
        }

    def close(self) -> None:
        """Stop the watcher and close the store and the shared cache. Idempotent."""
        self._stop.set()
        self._store.close()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self._shared is not None:
            self._shared.close()

    def __repr__(self) -> str:
        mode = f"lru {self._max_cached}" if self._lru else "snapshot"
        return f"<TenantRegistry {self._store.url} [{len(self._snapshot)} tenants, {mode}]>"

    # -- start-up -----------------------------------------------------------------------

    def _start(self) -> None:
        """Seed the store with static tenants it lacks, then load what fits in memory."""
        known = self._store.versions()
        for static in self._static:
            if static.id not in known:
                # The store's copy wins; a lost race means another process seeded it.
                seed = {**record_of(replace(static, version=1)), UPDATED_AT: self._wall_clock()}
                self._store.write(seed, expected_version=0)
        records: Iterable[Record] | None = self._shared_records()
        from_store = records is None
        if records is None:
            if len(known) > self._max_cached:
                with self._lock:
                    self._snapshot, self._lru = OrderedDict(), True
                self._started = True
                return
            records = self._store.load_all()  # parsed as it streams: no list of dicts
        snapshot: dict[str, Tenant] = {}
        for record in records:
            tenant = self._parse(record)
            if tenant is not None:
                snapshot[tenant.id] = tenant
        with self._lock:
            self._snapshot = snapshot
            self._reindex()
            self._fit()
            self._changed()
        self._started = True
        if from_store and self._shared is not None:
            self._guarded(self._shared.put_all, [record_of(t) for t in snapshot.values()])

    def _shared_records(self) -> builtins.list[Record] | None:
        if self._shared is None:
            return None
        try:
            return self._shared.get_all()
        except Exception as exc:
            _CACHE_FAILURES.warning(
                "shared-cache", "shared tenant cache %s failed: %s", self._shared.url, exc
            )
            return None

    # -- misses -------------------------------------------------------------------------

    def _miss(self, tenant_id: str) -> Tenant:
        with self._lock:
            tenant = self._snapshot.get(tenant_id)
            if tenant is not None:
                return tenant
            flight = self._flights.get(tenant_id)
            leader = flight is None
            if flight is None:
                flight = self._flights[tenant_id] = _Flight()
        if leader:
            self._fly(tenant_id, flight)
        else:
            flight.done.wait()
        if flight.error is not None:
            raise flight.error
        if flight.tenant is None:
            raise UnknownTenantError(tenant_id)
        refused = self._refused
        if tenant_id in refused:
            raise TenantIsolationError(refused[tenant_id])
        return flight.tenant

    def _fly(self, tenant_id: str, flight: _Flight) -> None:
        try:
            record = self._shared_record(tenant_id)
            flight.tenant = self._parse(record) if record is not None else None
            shared_hit = flight.tenant is not None  # a bad cached entry: ask the store
            if not shared_hit:
                record = self._store.load(tenant_id)
                flight.tenant = self._parse(record) if record is not None else None
            if flight.tenant is not None and not shared_hit:
                self._share(tenant_id, record_of(flight.tenant))
        except BaseException as exc:
            flight.error = exc
        finally:
            discovered = False
            with self._lock:
                del self._flights[tenant_id]
                if flight.error is None and not flight.stale:
                    if flight.tenant is None:
                        self._remember_unknown(tenant_id)
                    elif tenant_id not in self._snapshot:
                        self._store_one(tenant_id, flight.tenant)
                        discovered = True
                subscribers = self._subscribers
            flight.done.set()
            if discovered:
                self._notify(subscribers, [(tenant_id, None, flight.tenant)])

    def _shared_record(self, tenant_id: str) -> Record | None:
        if self._shared is None:
            return None
        try:
            return self._shared.get(tenant_id)
        except Exception as exc:
            _CACHE_FAILURES.warning(
                "shared-cache", "shared tenant cache %s failed: %s", self._shared.url, exc
            )
            return None

    def _remember_unknown(self, tenant_id: str) -> None:
        """Under _lock: answer ``tenant_id`` as unknown for ``negative_ttl_s``."""
        if self._negative_ttl_s <= 0:
            return
        now = self._clock()
        negative = self._negative
        while negative and (
            next(iter(negative.values())) <= now or len(negative) >= self._max_cached
        ):
            negative.popitem(last=False)
        negative[tenant_id] = now + self._negative_ttl_s

    # -- changes ------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._store.watch(self._on_change, on_ready=self._on_ready, stop=self._stop)
                attempt = 0
            except Exception as exc:
                if self._stop.is_set():
                    break
                self._ready.clear()
                self._last_error = f"{type(exc).__name__}: {exc}"
                if self._healthy:
                    self._healthy = False
                    log.warning(
                        "tenant store %s is unreachable (%s); serving the last good snapshot"
                        " and retrying with backoff",
                        self._store.url,
                        self._last_error,
                    )
                self._stop.wait(self._backoff.delay(attempt))
                attempt += 1

    def _on_ready(self) -> None:
        if not self._started:
            self._start()
        self._resync()
        if not self._healthy:
            log.warning("tenant store %s is reachable again; resynced", self._store.url)
        self._healthy = True
        self._last_error = None
        self._ready.set()

    def _on_change(self, change: Change) -> None:
        record = self._store.load(change.tenant_id)  # errors end the watch: resync follows
        tenant = self._parse(record) if record is not None else None
        if record is not None and tenant is None:
            return  # malformed: keep serving the previous version
        # Changes made behind the registries' backs (hand edits, other tools) reach the
        # shared cache too; its put keeps whichever version is newer.
        self._share(change.tenant_id, record_of(tenant) if tenant is not None else None)
        if record is None or change.tenant_id in self._snapshot or not self._lru:
            applied = bool(self._apply_many([(change.tenant_id, tenant)]))
        else:
            # LRU mode, not held: tell subscribers, but do not take a slot for it.
            self._forget(change.tenant_id)
            self._notify(self._subscribers, [(change.tenant_id, None, tenant)])
            applied = True
        if applied and record is not None:
            # Not when this process wrote it: its put applied the change already.
            self._propagated([change_time(record)])

    def _resync(self) -> None:
        """Bring memory in line with the store, by version (changes may have been lost)."""
        versions = self._store.versions()
        held = self._snapshot
        stale = [i for i, t in list(held.items()) if versions.get(i) != t.version]
        fresh = [] if self._lru else [i for i in versions if i not in held]
        updates: builtins.list[tuple[str, Tenant | None]] = []
        stamps: dict[str, float | None] = {}
        if len(stale) + len(fresh) > _BULK_RESYNC:
            loaded = {r.get("id"): r for r in self._store.load_all()}
            records = {i: loaded.get(i) for i in stale + fresh}
        else:
            records = {i: self._store.load(i) if i in versions else None for i in stale + fresh}
        for tenant_id, record in records.items():
            tenant = self._parse(record) if record is not None else None
            if record is None or tenant is not None:  # malformed: keep the previous one
                updates.append((tenant_id, tenant))
                stamps[tenant_id] = change_time(record) if record is not None else None
        applied = self._apply_many(updates)
        # Changes the feed missed while it was down took this long to arrive, too.
        self._propagated(stamps[tenant_id] for tenant_id in applied)
        with self._lock:
            self._negative.clear()

    def _apply(self, tenant_id: str, tenant: Tenant | None) -> None:
        """Make ``tenant`` (None: deleted) this process's answer for ``tenant_id``."""
        self._apply_many([(tenant_id, tenant)])

    def _apply_many(self, updates: builtins.list[tuple[str, Tenant | None]]) -> builtins.list[str]:
        """Apply changes in one swap of the snapshot, then tell the subscribers; returns
        the ids of those that were news to this process (none: it held them already)."""
        changed: builtins.list[tuple[str, Tenant | None, Tenant | None]] = []
        with self._lock:
            current = self._snapshot
            for tenant_id, tenant in updates:
                old = current.get(tenant_id)
                flight = self._flights.get(tenant_id)
                if flight is not None:
                    flight.stale = True
                if tenant is None and old is None:
                    continue
                if tenant is not None and old is not None and old.version == tenant.version:
                    continue
                changed.append((tenant_id, old, tenant))
            if not changed:
                return []
            self._changed()
            self._negative.clear()
            # Full mode copies the snapshot once per batch: readers keep the one they hold.
            target: dict[str, Tenant] | OrderedDict[str, Tenant] = (
                current if self._lru else dict(current)  # type: ignore[assignment]
            )
            affected: set[str] = set()
            for tenant_id, _, tenant in changed:
                affected |= self._occupancy.record(tenant_id, tenant)
                if tenant is None:
                    target.pop(tenant_id, None)
                else:
                    target[tenant_id] = tenant
                    if self._lru:
                        target.move_to_end(tenant_id)  # type: ignore[union-attr]
            if self._lru:
                self._layout = None
                while len(target) > self._max_cached:
                    target.popitem(last=False)  # type: ignore[call-arg]
            else:
                self._snapshot = target
                self._fit()
            self._judge(affected)
            subscribers = self._subscribers
        self._notify(subscribers, changed)
        return [tenant_id for tenant_id, _, _ in changed]

    def _propagated(self, stamps: Iterable[float | None]) -> None:
        """Observe the delay of each stamped change just applied (None: no stamp)."""
        now = self._wall_clock()
        delays = [max(0.0, now - stamp) for stamp in stamps if stamp is not None]
        if not delays:
            return
        with self._lock:
            for delay in delays:
                self._propagation.observe(delay)
            listeners = self._propagation_listeners
        for listener in listeners:
            for delay in delays:
                try:
                    listener(delay)
                except Exception:
                    log.exception("propagation listener %r failed", listener)

    def _changed(self) -> None:
        """Under _lock: the snapshot changed."""
        self._generation += 1
        self._changed_at = time.monotonic()

    @staticmethod
    def _notify(
        subscribers: builtins.list[Subscriber],
        changed: builtins.list[tuple[str, Tenant | None, Tenant | None]],
    ) -> None:
        for tenant_id, old, new in changed:
            for callback in subscribers:
                try:
                    callback(old, new)
                except Exception:
                    log.exception("tenant subscriber %r failed for tenant %r", callback, tenant_id)

    def _forget(self, tenant_id: str) -> None:
        """A change to a tenant this process does not hold: only stop any in-flight load
        and the negative entry from keeping an old answer."""
        with self._lock:
            self._layout = None
            self._negative.clear()
            flight = self._flights.get(tenant_id)
            if flight is not None:
                flight.stale = True

    def _store_one(self, tenant_id: str, tenant: Tenant) -> None:
        """Under _lock: put a freshly loaded tenant in memory (no subscriber call: it is
        new to this process, not changed)."""
        self._negative.clear()
        self._judge(self._occupancy.record(tenant_id, tenant))
        if self._lru:
            lru: OrderedDict[str, Tenant] = self._snapshot  # type: ignore[assignment]
            lru[tenant_id] = tenant
            while len(lru) > self._max_cached:
                lru.popitem(last=False)
            return
        self._snapshot = {**self._snapshot, tenant_id: tenant}
        self._fit()

    def _fit(self) -> None:
        """Switch to LRU mode once the tenants outgrow ``max_cached``."""
        if not self._lru and len(self._snapshot) > self._max_cached:
            lru = OrderedDict(self._snapshot)
            while len(lru) > self._max_cached:
                lru.popitem(last=False)
            self._snapshot, self._lru = lru, True
            log.info("more than %d tenants: keeping the most recently used", self._max_cached)

    # -- helpers ------------------------------------------------------------------------

    def _parse(self, record: Record) -> Tenant | None:
        """The Tenant of a stored record, placed; None (logged) when it is malformed."""
        try:
            tenant = self._placed(parse_record(record))
            self._check_datasource(tenant)
        except InvalidTenantError as exc:
            log.error("ignoring a malformed tenant record in %s: %s", self._store.url, exc)
            return None
        return tenant

    def _placed(self, tenant: Tenant) -> Tenant:
        # A database-isolated tenant is never placed by the ring: it stays unplaced, and
        # refused, until its record names a datasource of its own.
        if tenant.datasource is not None or tenant.isolation == "database":
            return tenant
        return replace(tenant, datasource=self._placement.place(tenant.id, self._taken(tenant.id)))

    def _taken(self, tenant_id: str) -> frozenset[str]:
        """Datasources the ring must not give ``tenant_id``: other tenants' own databases."""
        taken = self._occupancy.claimed()
        if taken:
            held = self._occupancy.get(tenant_id)
            if held is not None and held.isolation == "database" and held.datasource:
                taken = taken - {held.datasource}
        return taken

    def _admit(self, tenant: Tenant) -> None:
        """Raise InvalidTenantError when writing ``tenant`` would break isolation."""
        if self._lru:
            # Not every tenant is in memory: judge against one full read of the store.
            others = (self._parse(r) for r in self._store.load_all() if r.get("id") != tenant.id)
            problem = Occupancy(self._rules, (t for t in others if t is not None)).admission(tenant)
        else:
            with self._lock:
                problem = self._occupancy.admission(tenant)
        if problem is not None:
            raise InvalidTenantError(problem[1], tenant_id=tenant.id, field=problem[0])

    def _reindex(self) -> None:
        """Under _lock (or before any thread runs): index the snapshot afresh."""
        self._occupancy = Occupancy(self._rules, self._snapshot.values())
        self._refused = {}
        self._judge(set(self._snapshot))

    def _judge(self, tenant_ids: set[str]) -> None:
        """Under _lock: decide again whether these held tenants may be served; log each
        change of verdict once."""
        refused = self._refused
        changed = dict(refused)
        for tenant_id in tenant_ids:
            tenant = self._occupancy.get(tenant_id)
            reason = self._occupancy.refusal(tenant) if tenant is not None else None
            before = refused.get(tenant_id)
            if reason == before:
                continue
            if reason is None:
                del changed[tenant_id]
                if tenant is not None:
                    log.warning("tenant %r is served again: its placement is isolated", tenant_id)
            else:
                changed[tenant_id] = reason
                log.error("tenant %r is refused until its placement changes: %s", tenant_id, reason)
        if changed != refused:
            self._refused = changed

    def _check_datasource(self, tenant: Tenant) -> None:
        if tenant.datasource is not None and tenant.datasource not in self._placement:
            raise InvalidTenantError(
                f"tenant {tenant.id!r}: datasource {tenant.datasource!r} is not defined"
                f" (defined: {', '.join(self._placement.datasources)}); place the tenant"
                " on one of those, or add the datasource to the configuration",
                tenant_id=tenant.id,
                field="datasource",
            )

    def _share(self, tenant_id: str, record: Record | None) -> None:
        if self._shared is None:
            return
        if record is None:
            self._guarded(self._shared.discard, tenant_id)
        else:
            self._guarded(self._shared.put, record)

    def _guarded(self, operation: Callable[[Any], None], argument: Any) -> None:
        """Run a shared-cache write; the cache is an optimization, so failures only log."""
        assert self._shared is not None
        try:
            operation(argument)
        except Exception as exc:
            _CACHE_FAILURES.warning(
                "shared-cache", "shared tenant cache %s failed: %s", self._shared.url, exc
            )


def _parsed_or_none(record: Record) -> Tenant | None:
    try:
        return parse_record(record)
    except InvalidTenantError:
        return None
