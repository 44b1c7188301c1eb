"""Feature rollout per tenant: "is feature F on for this tenant?", answered from data.

A tenant's ``features`` map holds its rollout ring under ``"stage"`` and, optionally, a
per-feature override as a bool::

    {"stage": "beta", "new_checkout": True, "legacy_export": False}

A :class:`Rollout` says how far each feature has gone, as the last stage that has it::

    Rollout({"new_checkout": "internal", "fast_search": "beta"})

``feature_enabled(tenant, "fast_search", rollout)`` is then decided in this order:

1. the tenant's own bool for the feature, when it has one (an override either way);
2. on when the tenant's stage comes no later than the feature's stage in
   ``rollout.stages`` (default ``internal < alpha < beta < general``; a tenant without a
   stage is in ``general``, the last one);
3. otherwise off, as for a feature the rollout does not name or a stage it does not know.

Widening a rollout is a data change (the feature's stage in the rollout, or a tenant's
stage or override in the registry), never a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ._model import Tenant

DEFAULT_STAGES = ("internal", "alpha", "beta", "general")
STAGE_KEY = "stage"


@dataclass(frozen=True, slots=True)
class Rollout:
    """How far each feature has been rolled out: feature name → last stage that has it."""

    features: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    stages: tuple[str, ...] = DEFAULT_STAGES
    """Stage names, earliest (smallest audience) first."""

    def __post_init__(self) -> None:
        if not self.stages or len(set(self.stages)) != len(self.stages):
            raise ValueError(f"stages must be distinct names, earliest first; got {self.stages}")
        for feature, stage in self.features.items():
            if stage not in self.stages:
                raise ValueError(
                    f"feature {feature!r} is at stage {stage!r}, which is not one of"
                    f" {', '.join(self.stages)}; use one of those"
                )
        object.__setattr__(self, "features", MappingProxyType(dict(self.features)))

    def enabled(self, tenant: Tenant, feature: str) -> bool:
        """Whether ``feature`` is on for ``tenant`` (see the module docstring)."""
        override = tenant.features.get(feature)
        if isinstance(override, bool):
            return override
        reached = self.features.get(feature)
        if reached is None:
            return False
        stage = tenant.features.get(STAGE_KEY) or self.stages[-1]  # none or null: general
        if stage not in self.stages:
            return False  # an unknown ring gets nothing new: the safe answer
        return self.stages.index(stage) <= self.stages.index(reached)


def feature_enabled(tenant: Tenant, feature: str, rollout: Rollout | None = None) -> bool:
    """Whether ``feature`` is on for ``tenant``: its override, else the rollout's stage.

    Without a rollout only the tenant's own bools count.
    """
    return (rollout or _NO_ROLLOUT).enabled(tenant, feature)


_NO_ROLLOUT = Rollout()
