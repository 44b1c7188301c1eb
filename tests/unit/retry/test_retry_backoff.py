"""``Backoff``, the one retry-delay value (replica re-probes, tenant store retries)."""

from __future__ import annotations

import math

import pytest

from tenantdb.core.retry import Backoff


def test_delays_double_from_initial_up_to_max() -> None:
    backoff = Backoff(initial_s=0.25, max_s=3.0)
    assert [backoff.delay(a) for a in range(6)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_defaults_are_the_replica_reprobe() -> None:
    # 0.5 s doubling up to 5 s, as the README promises for a replica that is down.
    assert [Backoff().delay(a) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_the_tenant_store_retry_starts_at_50_ms() -> None:
    # What the registry passes: the delays it waited with before Backoff had one home.
    backoff = Backoff(initial_s=0.05, max_s=5.0)
    assert [backoff.delay(a) for a in range(9)] == pytest.approx(
        [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    )


def test_another_factor() -> None:
    backoff = Backoff(initial_s=1.0, max_s=100.0, factor=3.0)
    assert [backoff.delay(a) for a in range(6)] == [1.0, 3.0, 9.0, 27.0, 81.0, 100.0]
    assert Backoff(initial_s=2.0, max_s=9.0, factor=1.0).delay(1_000) == 2.0


@pytest.mark.parametrize("factor", [1.0001, 1.5, 2.0, 10.0, 1e300])
def test_days_of_failures_neither_overflow_nor_pass_the_cap(factor: float) -> None:
    backoff = Backoff(initial_s=1e-3, max_s=5.0, factor=factor)
    for attempt in (10**6, 10**9, 10**18):
        assert backoff.delay(attempt) == 5.0
    delays = [backoff.delay(a) for a in range(200)]
    assert delays == sorted(delays)


def test_a_negative_attempt_counts_as_the_first() -> None:
    assert Backoff(initial_s=0.5, max_s=5.0).delay(-3) == 0.5


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"initial_s": 0.0}, "initial_s"),
        ({"initial_s": -1.0}, "initial_s"),
        ({"initial_s": 2.0, "max_s": 1.0}, "max_s"),
        ({"initial_s": math.nan}, "initial_s"),
        ({"max_s": math.inf}, "max_s"),
        ({"factor": 0.5}, "factor"),
        ({"factor": math.inf}, "factor"),
        ({"factor": math.nan}, "factor"),
    ],
)
def test_nonsense_is_refused_naming_the_setting(settings: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=f"Backoff needs .*{named}="):
        Backoff(**settings)


def test_a_frozen_hashable_value() -> None:
    backoff = Backoff(initial_s=0.05, max_s=5.0)
    assert backoff == Backoff(initial_s=0.05, max_s=5.0, factor=2.0)
    assert len({backoff, Backoff(initial_s=0.05, max_s=5.0)}) == 1
    with pytest.raises(AttributeError):
        backoff.max_s = 1.0  # type: ignore[misc]
