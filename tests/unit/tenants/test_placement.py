"""Placement: the weighted consistent-hash ring that places new tenants."""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping

from tenantdb.tenants import Placement

IDS = [f"tenant-{n}" for n in range(20_000)]


def reference_place(weights: Mapping[str, float], tenant_id: str, virtual_nodes: int = 512) -> str:
    """The placement contract written out from ConsistentHashStrategy's docstring."""

    def position(data: bytes) -> int:
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")

    ring = sorted(
        (position(f"{name}#{n}".encode()), index)
        for index, (name, weight) in enumerate(weights.items())
        for n in range(round(virtual_nodes * weight))
    )
    points = [p for p, _ in ring]
    i = bisect_left(points, position(tenant_id.encode("utf-8")))
    return list(weights)[ring[i % len(ring)][1]]


def shares(placement: Placement) -> Counter[str]:
    return Counter(placement.place(tenant_id) for tenant_id in IDS)


def test_placement_is_deterministic() -> None:
    first = Placement({"ds0": 1.0, "ds1": 1.0})
    again = [first.place(t) for t in IDS[:2000]]
    other = Placement({"ds0": 1.0, "ds1": 1.0})
    assert [first.place(t) for t in IDS[:2000]] == again
    assert [other.place(t) for t in IDS[:2000]] == again


def test_placement_follows_the_documented_ring() -> None:
    weights = {"ds0": 1.0, "ds1": 2.0, "ds2": 0.5}
    placement = Placement(weights)
    ids = [*IDS[:300], "acme", "ünïcode-tenant", "a" * 128]
    assert [placement.place(t) for t in ids] == [reference_place(weights, t) for t in ids]


def test_every_datasource_gets_tenants() -> None:
    counts = shares(Placement({"ds0": 1.0, "ds1": 1.0, "ds2": 1.0, "ds3": 1.0}))
    assert set(counts) == {"ds0", "ds1", "ds2", "ds3"}
    for name in counts:
        assert 0.15 * len(IDS) < counts[name] < 0.35 * len(IDS), counts


def test_weights_skew_the_share_proportionally() -> None:
    counts = shares(Placement({"light": 1.0, "heavy": 3.0}))
    assert counts["light"] + counts["heavy"] == len(IDS)
    assert 0.65 * len(IDS) <= counts["heavy"] <= 0.85 * len(IDS), counts


def test_adding_a_datasource_moves_about_a_third_and_only_to_it() -> None:
    before = Placement({"ds0": 1.0, "ds1": 1.0})
    after = Placement({"ds0": 1.0, "ds1": 1.0, "ds2": 1.0})
    moved = {t: after.place(t) for t in IDS if after.place(t) != before.place(t)}
    assert 0.25 * len(IDS) <= len(moved) <= 0.42 * len(IDS), len(moved)
    assert set(moved.values()) == {"ds2"}


def test_in_and_repr() -> None:
    placement = Placement({"ds0": 1.0, "ds1": 2.0})
    assert "ds0" in placement
    assert "ds1" in placement
    assert "ds2" not in placement
    assert 0 not in placement
    assert placement.datasources == ("ds0", "ds1")
    assert repr(placement) == "<Placement ds0, ds1>"
