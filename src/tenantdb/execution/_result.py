"""The thread front's Result, generated in ``tenantdb._sync._result``; this name stays until
the session moves into the generated front."""

from __future__ import annotations

from .._sync import Result

__all__ = ["Result"]
