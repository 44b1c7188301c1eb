from __future__ import annotations

import tenantdb
import tenantdb.config
import tenantdb.core.retry
import tenantdb.core.routing
import tenantdb.core.sql
import tenantdb.tenants


def test_all_is_sorted_and_complete() -> None:
    for module in (
        tenantdb,
        tenantdb.config,
        tenantdb.core.retry,
        tenantdb.core.routing,
        tenantdb.core.sql,
        tenantdb.tenants,
    ):
        names = list(module.__all__)
        assert names == sorted(names), module.__name__
        public = {n for n in vars(module) if not n.startswith("_") and n != "annotations"}
        public = {n for n in public if not isinstance(getattr(module, n), type(tenantdb))}
        assert public <= set(names) | {"TYPE_CHECKING"}, (module.__name__, public - set(names))
        for name in names:
            assert hasattr(module, name), (module.__name__, name)


def test_errors_follow_pep_249() -> None:
    assert issubclass(tenantdb.RoutingError, tenantdb.ProgrammingError)
    assert issubclass(tenantdb.TenantIsolationError, tenantdb.ProgrammingError)
    assert issubclass(tenantdb.UnsupportedSQLError, tenantdb.NotSupportedError)
    assert issubclass(tenantdb.ShardUnavailableError, tenantdb.OperationalError)
    assert issubclass(tenantdb.ConfigError, tenantdb.Error)
    assert issubclass(tenantdb.UnknownTenantError, tenantdb.Error)
    assert issubclass(tenantdb.DatabaseError, tenantdb.Error)


def test_errors_pickle_with_their_context() -> None:
    import pickle

    err = tenantdb.RoutingError("no", datasource="ds1", role="primary")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is tenantdb.RoutingError
    assert (str(copy), copy.datasource, copy.role) == ("no", "ds1", "primary")
    unknown = pickle.loads(pickle.dumps(tenantdb.UnknownTenantError("acme")))
    assert unknown.tenant_id == "acme"
    assert "acme" in str(unknown)
    config = pickle.loads(
        pickle.dumps(tenantdb.ConfigError([tenantdb.ConfigProblem("a.b", "bad")]))
    )
    assert config.problems == (tenantdb.ConfigProblem("a.b", "bad"),)
