"""Replica choice: rotation, weights, read-your-writes filter, exclusion, threads."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tenantdb.core.replication import ReplicaSelector, ReplicaState


def replicas(*weights: float, replayed: int | None = 100) -> list[ReplicaState]:
    return [
        ReplicaState(i, f"ds0/replica{i}", weight=w, replayed=replayed)
        for i, w in enumerate(weights)
    ]


def names(selector: ReplicaSelector, picks: int, **kwargs: int | None) -> list[str]:
    chosen = [selector.choose(**kwargs) for _ in range(picks)]
    return [r.name[4:] if r is not None else "-" for r in chosen]


def test_round_robin_takes_each_replica_in_turn() -> None:
    selector = ReplicaSelector(replicas(1, 1, 1), "round_robin")
    assert names(selector, 7) == [f"replica{i % 3}" for i in range(7)]


def test_round_robin_ignores_weights() -> None:
    selector = ReplicaSelector(replicas(5, 1), "round_robin")
    assert Counter(names(selector, 100)) == {"replica0": 50, "replica1": 50}


def test_round_robin_stays_fair_around_a_replica_that_does_not_serve() -> None:
    rs = replicas(1, 1, 1)
    selector = ReplicaSelector(rs, "round_robin")
    rs[1].state = "lagging"
    assert Counter(names(selector, 100)) == {"replica0": 50, "replica2": 50}
    rs[1].state = "serving"
    assert Counter(names(selector, 99)) == {"replica0": 33, "replica1": 33, "replica2": 33}


def test_weighted_3_to_1_is_exact_in_every_four_picks() -> None:
    selector = ReplicaSelector(replicas(3, 1), "weighted")
    picks = names(selector, 400)
    for start in range(len(picks) - 3):
        assert Counter(picks[start : start + 4]) == {"replica0": 3, "replica1": 1}, start


def test_weighted_is_smooth() -> None:
    selector = ReplicaSelector(replicas(5, 1, 1), "weighted")
    # nginx's example: no run of five picks of the heavy replica.
    assert names(selector, 7) == [
        "replica0",
        "replica0",
        "replica1",
        "replica0",
        "replica2",
        "replica0",
        "replica0",
    ]


def test_weighted_spreads_over_the_replicas_that_still_serve() -> None:
    rs = replicas(3, 1, 2)
    selector = ReplicaSelector(rs, "weighted")
    names(selector, 5)
    rs[0].state = "down"
    assert Counter(names(selector, 300)) == {"replica1": 100, "replica2": 200}


def test_weight_zero_gets_no_reads_under_weighted() -> None:
    rs = replicas(0, 1)
    assert set(names(ReplicaSelector(rs, "weighted"), 10)) == {"replica1"}
    rs[1].state = "lagging"
    assert ReplicaSelector(rs, "weighted").choose() is None
    assert ReplicaSelector(rs, "round_robin").choose() is rs[0]


@pytest.mark.parametrize("policy", ["round_robin", "weighted"])
def test_min_position_needs_a_replica_that_replayed_that_far(policy: str) -> None:
    rs = replicas(1, 1, 1)
    rs[0].replayed = 99
    rs[1].replayed = None
    rs[2].replayed = 100
    selector = ReplicaSelector(rs, policy)  # type: ignore[arg-type]
    assert set(names(selector, 6, min_position=100)) == {"replica2"}
    assert selector.choose(min_position=101) is None
    assert set(names(selector, 6, min_position=99)) == {"replica0", "replica2"}
    assert set(names(selector, 9)) == {"replica0", "replica1", "replica2"}


@pytest.mark.parametrize("policy", ["round_robin", "weighted"])
def test_exclude_skips_one_replica_by_index(policy: str) -> None:
    rs = [ReplicaState(i + 1, f"ds0/replica{i + 1}") for i in range(2)]
    selector = ReplicaSelector(rs, policy)  # type: ignore[arg-type]
    assert set(names(selector, 6, exclude=1)) == {"replica2"}
    assert selector.choose(exclude=2) is rs[0]
    rs[1].state = "down"
    assert selector.choose(exclude=1) is None


@pytest.mark.parametrize("policy", ["round_robin", "weighted"])
def test_none_when_nothing_qualifies(policy: str) -> None:
    rs = replicas(1, 1)
    rs[0].state = "lagging"
    rs[1].state = "down"
    assert ReplicaSelector(rs, policy).choose() is None  # type: ignore[arg-type]
    assert ReplicaSelector([], policy).choose() is None  # type: ignore[arg-type]


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="random"):
        ReplicaSelector(replicas(1), "random")  # type: ignore[arg-type]


def test_a_shared_lock_is_used() -> None:
    lock = threading.Lock()
    selector = ReplicaSelector(replicas(1), lock=lock)
    with lock:
        waiter = threading.Thread(target=selector.choose)
        waiter.start()
        waiter.join(0.05)
        assert waiter.is_alive()  # blocked on the shared lock
    waiter.join(10.0)
    assert not waiter.is_alive()


@pytest.mark.parametrize(
    ("policy", "weights", "expected"),
    [
        ("round_robin", (1, 1, 1), {"replica0": 8000, "replica1": 8000, "replica2": 8000}),
        ("weighted", (3, 1, 2), {"replica0": 12000, "replica1": 4000, "replica2": 8000}),
    ],
)
def test_threads_share_one_rotation(
    policy: str, weights: tuple[int, ...], expected: dict[str, int]
) -> None:
    selector = ReplicaSelector(replicas(*weights), policy)  # type: ignore[arg-type]
    threads_n, picks = 8, 3000
    counts: list[Counter[str]] = [Counter() for _ in range(threads_n)]
    start = threading.Barrier(threads_n)

    def work(counter: Counter[str]) -> None:
        start.wait()
        for _ in range(picks):
            chosen = selector.choose()
            assert chosen is not None
            counter[chosen.name[4:]] += 1

    threads = [threading.Thread(target=work, args=(c,)) for c in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60.0)
    total = sum(counts, Counter())
    # The rotation is one sequence however the threads interleave: the totals are exact.
    assert total == expected


def test_repr() -> None:
    rs = replicas(1, 1)
    rs[1].state = "down"
    assert repr(ReplicaSelector(rs, "weighted")) == "<ReplicaSelector weighted [1 of 2 serving]>"
