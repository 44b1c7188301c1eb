"""Circuit breakers: one per datasource endpoint, a pure state machine (the shell does I/O).

``CircuitBreaker`` decides whether a call may go to an endpoint (``acquire``) and learns
from how calls end (``record``, ``cancel``); ``BreakerSettings`` holds its thresholds;
``CountWindow`` and ``TimeWindow`` are the sliding windows it counts outcomes in.
"""

from __future__ import annotations

from ._breaker import BreakerState, CircuitBreaker, Outcome, Permit, Rejected, Transition
from ._settings import BreakerSettings, WindowKind
from ._window import CountWindow, TimeWindow

__all__ = [
    "BreakerSettings",
    "BreakerState",
    "CircuitBreaker",
    "CountWindow",
    "Outcome",
    "Permit",
    "Rejected",
    "TimeWindow",
    "Transition",
    "WindowKind",
]
