"""Sign-in throttling per account: LOGIN_MAX_FAILURES failed attempts for one e-mail per window
of LOGIN_WINDOW_SECONDS, then 429 with Retry-After until the window ends.

Windows are fixed, aligned on multiples of their length since the epoch (xx:00, xx:15, ... for
900 s). A sliding window would also refuse a burst across a boundary (the limit at the end of one
window, the limit again at the start of the next), but the guessing allowed over time is the
same, the limit per window; a fixed window is one item and one conditional UpdateItem per
attempt, and its Retry-After is exact.

An attempt is taken (counted) before the user is read or any password hashed, and given back only
when its outcome never got known (the store failed); a right password clears the window. So a
refused attempt costs one UpdateItem and no argon2 hash, concurrent attempts cannot slip past the
limit between a check and a count, and an e-mail nobody signed up with is counted and refused
exactly as an account's is: the answers do not tell which e-mails exist.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from chalicelib.config import get_settings
from chalicelib.errors import DomainError
from chalicelib.store.login_attempts import LoginAttemptRepository


class LoginThrottled(DomainError):
    """A 429: the account's window is full; `retry_after` seconds until the next one starts."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed sign-in attempts; try again later")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    account: str
    window_start: int


def now() -> float:
    """The throttle's clock, in epoch seconds (a test moves it to the next window)."""
    return time.time()


def account_key(email: str) -> str:
    # The user lookup matches e-mails in any case; surrounding spaces are dropped too, so that no
    # spelling that reaches an account counts under a key of its own.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _window_start(at: float, length: int) -> int:
    return int(at // length) * length


class LoginThrottle:
    def __init__(self, attempts: LoginAttemptRepository | None = None) -> None:
        self._attempts = attempts

    @property
    def attempts(self) -> LoginAttemptRepository:
        # Made on first use: a UserService that never signs anyone in (the first superuser's
        # creation) does not need the table.
        if self._attempts is None:
            self._attempts = LoginAttemptRepository()
        return self._attempts

    def begin(self, email: str) -> Attempt:
        """Count an attempt for `email`, or refuse it (LoginThrottled) when its window is full."""
        settings = get_settings()
        length = settings.login_window_seconds
        at = now()
        attempt = Attempt(account_key(email), _window_start(at, length))
        end = attempt.window_start + length
        if not self.attempts.take(attempt.account, attempt.window_start, end, settings.login_max_failures):
            raise LoginThrottled(retry_after=max(1, math.ceil(end - at)))
        return attempt

    def give_back(self, attempt: Attempt) -> None:
        """Uncount an attempt whose password was never checked."""
        self.attempts.give_back(attempt.account, attempt.window_start)

    def succeeded(self, attempt: Attempt) -> None:
        """A right password: the account starts again with no failures."""
        # The window of now, not of the attempt: if a window began while the password was being
        # checked, the current one is the one that counts.
        self.attempts.clear(attempt.account, _window_start(now(), get_settings().login_window_seconds))
