"""``open_registry(config)``: the tenant registry a cluster configuration describes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..config import Config, TenantConfig, TenantRules
from ..core.tenancy import Placement, Tenant
from ..errors import UnknownTenantError
from ._registry import SharedCache, TenantRegistry
from .stores import open_store


def open_registry(config: Config) -> TenantRegistry:
    """The registry of ``[registry]`` (an in-process one without it), seeded with the
    static ``[tenants.*]`` entries and placing new tenants by datasource ``weight``; the
    configuration's tables and registry tell where isolated tenants may not live.

    Reads the store once to warm up; an unreachable store is logged and retried in the
    background while the static tenants are served.
    """
    settings = config.registry
    store = open_store(settings.url if settings is not None and settings.url else "memory:")
    shared: SharedCache | None = None
    if settings is not None and settings.cache_url:
        from ._shared_cache import RedisSharedCache

        shared = RedisSharedCache(settings.cache_url)
    return TenantRegistry(
        store,
        placement=_placement(config),
        static=[static_tenant(tenant_id, entry) for tenant_id, entry in config.tenants.items()],
        max_cached=settings.max_cached if settings is not None else 100_000,
        negative_ttl_s=settings.negative_ttl if settings is not None else 5.0,
        shared_cache=shared,
        rules=TenantRules.of(config),
    )


def follow_config(registry: TenantRegistry, config: Config, changed: Iterable[str] = ()) -> None:
    """Bring a running registry to a reloaded ``config``: its datasources (placement of new
    tenants, by weight) and rules; and, for the in-process registry (no ``[registry]``
    store), the static tenants named in ``changed`` (their limits, status and features;
    the diff refuses other changes). A registry with a store keeps the tenants the store
    holds: change those with ``cluster.tenants.put`` or ``tenantdb tenants set``."""
    registry.follow_config(_placement(config), TenantRules.of(config))
    if config.registry is not None and config.registry.url:
        return
    for tenant_id in changed:
        entry = config.tenants[tenant_id]
        try:
            held = registry.get(tenant_id)
        except UnknownTenantError:
            registry.put(static_tenant(tenant_id, entry))
            continue
        # Where it lives stays as it is: only what the diff lets through changes.
        changed_tenant = replace(
            held, status=entry.status, limits=entry.limits, features=dict(entry.features)
        )
        registry.put(changed_tenant, force=True)


def _placement(config: Config) -> Placement:
    return Placement({name: ds.weight for name, ds in config.datasources.items()})


def static_tenant(tenant_id: str, entry: TenantConfig) -> Tenant:
    """The Tenant a ``[tenants.<id>]`` entry declares (version 1)."""
    return Tenant(
        id=tenant_id,
        datasource=entry.datasource,
        isolation=entry.isolation,
        schema=entry.schema_name,
        status=entry.status,
        limits=entry.limits,
        features=dict(entry.features),
        version=1,
    )
