"""Limits: per-tenant rate limits and concurrency quotas (pure state; the shell waits)."""

from __future__ import annotations

from ._rate import ADMITTED, RateDecision, RateLimit

__all__ = ["ADMITTED", "RateDecision", "RateLimit"]
