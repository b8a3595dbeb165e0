"""One retry policy for writes: jittered exponential backoff, then a 503.

Retried: `Busy` (a conflicting transaction, throttling) and, where the operation re-reads
what it writes, `StaleWrite` (someone wrote the record since it was read). What still fails
after the budget is `Busy`, answered 503 with Retry-After: the client did nothing wrong.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from chalicelib.errors import Busy, StaleWrite

R = TypeVar("R")

ATTEMPTS = 5
BASE_DELAY_SECONDS = 0.02
MAX_DELAY_SECONDS = 0.5


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def backoff(attempt: int) -> float:
    """Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): writers that
    collided once do not collide again in lockstep."""
    return random.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt))


def with_retries[R](
    operation: Callable[[], R],
    *,
    retry_on: tuple[type[Exception], ...] = (Busy, StaleWrite),
    attempts: int = ATTEMPTS,
) -> R:
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return operation()
        except retry_on as exc:
            last = exc
        if attempt + 1 < attempts:
            _sleep(backoff(attempt))
    raise Busy("The write kept colliding with other requests; retry shortly") from last
