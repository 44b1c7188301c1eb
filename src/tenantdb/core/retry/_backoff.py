"""``Backoff``: how long to wait before trying again after failures in a row."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Exponential retry delays: ``initial_s`` after the first failure, ``factor`` times
    longer after each further one, never longer than ``max_s``.

    A value with no state: the caller counts its failures (a replica's ``failures``, the
    registry's watch attempts) and owns the clock, so ``delay`` is a plain function of
    the attempt number. The defaults (0.5 s doubling up to 5 s) are the replica re-probe's;
    other users pass their own. Raises ValueError unless ``0 < initial_s <= max_s`` (both
    finite) and ``factor`` is a finite number of at least 1.
    """

    initial_s: float = 0.5
    max_s: float = 5.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not (0.0 < self.initial_s <= self.max_s < math.inf):
            raise ValueError(
                f"Backoff needs 0 < initial_s <= max_s (finite seconds), got initial_s="
                f"{self.initial_s} and max_s={self.max_s}"
            )
        if not (1.0 <= self.factor < math.inf):
            raise ValueError(
                f"Backoff needs a finite factor of at least 1, got factor={self.factor}"
            )

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0 for the first; a
        negative number counts as 0). Never more than ``max_s``, however many failures."""
        if attempt <= 0:
            return float(self.initial_s)
        # Compared as logarithms, so that factor ** attempt is only computed while it stays
        # below max_s / initial_s: a replica or store down for days cannot overflow a float.
        if attempt * math.log(self.factor) >= math.log(self.max_s / self.initial_s):
            return float(self.max_s)
        return float(min(self.max_s, self.initial_s * self.factor**attempt))
