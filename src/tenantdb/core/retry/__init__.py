"""Retrying: when to try again after a failure (pure values; the caller sleeps)."""

from __future__ import annotations

from ._backoff import Backoff

__all__ = ["Backoff"]
