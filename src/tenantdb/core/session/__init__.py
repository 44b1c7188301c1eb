"""The session's decisions, pure: what a statement leaves on its connection, and later the
transaction state and read placement the I/O shell acts on."""

from __future__ import annotations

from ._state import may_change_state

__all__ = ["may_change_state"]
