"""Rollout and feature_enabled: overrides, stage order, unknowns and custom stages."""

from __future__ import annotations

from typing import Any

import pytest

from tenantdb.tenants import Rollout, Tenant, feature_enabled

ROLLOUT = Rollout(
    {
        "at_internal": "internal",
        "at_alpha": "alpha",
        "at_beta": "beta",
        "at_general": "general",
    }
)
ALL = {"at_internal", "at_alpha", "at_beta", "at_general"}


def tenant(**features: Any) -> Tenant:
    return Tenant(id="acme", features=features, version=1)


def enabled(t: Tenant, rollout: Rollout | None = ROLLOUT) -> set[str]:
    return {f for f in (*ALL, "not_in_rollout") if feature_enabled(t, f, rollout)}


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("internal", ALL),
        ("alpha", {"at_alpha", "at_beta", "at_general"}),
        ("beta", {"at_beta", "at_general"}),
        ("general", {"at_general"}),
    ],
)
def test_a_feature_that_reached_a_stage_is_on_for_that_stage_and_earlier_ones(
    stage: str, expected: set[str]
) -> None:
    assert enabled(tenant(stage=stage)) == expected


def test_a_tenant_without_stage_is_in_general() -> None:
    assert enabled(tenant()) == {"at_general"}


def test_a_tenant_in_an_unknown_stage_gets_nothing_from_the_rollout() -> None:
    assert enabled(tenant(stage="gamma")) == set()
    assert enabled(tenant(stage="Beta")) == set()


def test_a_feature_the_rollout_does_not_name_is_off() -> None:
    assert not feature_enabled(tenant(stage="internal"), "not_in_rollout", ROLLOUT)


def test_a_true_override_turns_a_feature_on() -> None:
    on = tenant(stage="general", at_internal=True, not_in_rollout=True)
    assert enabled(on) == {"at_internal", "at_general", "not_in_rollout"}
    assert feature_enabled(tenant(stage="gamma", at_beta=True), "at_beta", ROLLOUT)


def test_a_false_override_turns_a_feature_off() -> None:
    off = tenant(stage="internal", at_alpha=False, at_general=False)
    assert enabled(off) == {"at_internal", "at_beta"}


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_only_a_bool_is_an_override(value: object) -> None:
    assert feature_enabled(tenant(stage="beta", at_beta=value), "at_beta", ROLLOUT)
    assert not feature_enabled(tenant(stage="beta", at_alpha=value), "at_alpha", ROLLOUT)


def test_without_a_rollout_only_bools_count() -> None:
    t = tenant(stage="internal", on=True, off=False, truthy=1)
    assert feature_enabled(t, "on")
    assert not feature_enabled(t, "off")
    assert not feature_enabled(t, "truthy")
    assert not feature_enabled(t, "at_general")
    assert not feature_enabled(t, "stage")


def test_rollout_enabled_is_feature_enabled() -> None:
    t = tenant(stage="alpha")
    assert [ROLLOUT.enabled(t, f) for f in sorted(ALL)] == [
        feature_enabled(t, f, ROLLOUT) for f in sorted(ALL)
    ]


def test_custom_stages() -> None:
    rollout = Rollout({"x": "canary", "y": "stable"}, stages=("canary", "stable"))
    assert feature_enabled(tenant(stage="canary"), "x", rollout)
    assert feature_enabled(tenant(stage="canary"), "y", rollout)
    assert not feature_enabled(tenant(stage="stable"), "x", rollout)
    assert feature_enabled(tenant(stage="stable"), "y", rollout)
    assert not feature_enabled(tenant(), "x", rollout)  # no stage: the last one, "stable"
    assert feature_enabled(tenant(), "y", rollout)
    assert not feature_enabled(tenant(stage="beta"), "y", rollout)  # not one of these stages


def test_a_single_stage_rollout() -> None:
    rollout = Rollout({"x": "all"}, stages=("all",))
    assert feature_enabled(tenant(), "x", rollout)
    assert feature_enabled(tenant(stage="all"), "x", rollout)


def test_a_rollout_refuses_a_stage_it_does_not_have() -> None:
    with pytest.raises(ValueError, match=r"feature 'x' is at stage 'gamma'.*internal, alpha"):
        Rollout({"x": "gamma"})
    with pytest.raises(ValueError, match="'beta'"):
        Rollout({"x": "beta"}, stages=("canary", "stable"))


@pytest.mark.parametrize("stages", [("a", "b", "a"), ("beta", "beta"), ()])
def test_a_rollout_refuses_duplicate_or_no_stages(stages: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="stages must be distinct names"):
        Rollout(stages=stages)


def test_a_rollout_keeps_its_own_read_only_copy_of_the_features() -> None:
    features = {"x": "beta"}
    rollout = Rollout(features)
    features["x"] = "general"
    assert rollout.features == {"x": "beta"}
    with pytest.raises(TypeError):
        rollout.features["x"] = "general"  # type: ignore[index]
