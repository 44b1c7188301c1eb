"""The driver interface of the thread front, generated in ``tenantdb._sync._driver``; this
name stays until the rest of ``execution`` moves into the generated front."""

from __future__ import annotations

from .._sync import Connection, Description, Outcome, Pool, Row, Stream

__all__ = ["Connection", "Description", "Outcome", "Pool", "Row", "Stream"]
