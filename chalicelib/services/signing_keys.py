"""The keys that sign and verify access tokens: a deployed stage's from Secrets Manager, read at
run time and cached; the local stack's and the tests' from SECRET_KEY.

The secret (SIGNING_KEYS_SECRET_ARN) holds a JSON object in its SecretString:

    {"current": "<key>", "previous": "<key>"}

Tokens are signed with `current` and verified with `current` or `previous` (absent, null or
empty: none), so a rotation (previous := current, current := a new key) signs nobody out. Each
key must be at least as long as the algorithm's hash (HS256: 32 bytes; RFC 7518 3.2).

Reads go through Powertools' SecretsProvider, which caches the parsed secret for
SIGNING_KEYS_MAX_AGE_SECONDS. After a rotation an instance may hold the old keys until then,
and meet a token another instance signed with the new `current`: a token whose signature no
cached key verifies makes one forced read (`refresh`), at most one per REFRESH_INTERVAL_SECONDS
per process, so a flood of forged tokens costs each instance one Secrets Manager call every
REFRESH_INTERVAL_SECONDS, however many tokens it is sent. A failed read (access denied, no such
secret, a malformed value) is not retried by any request for the same interval: they fail at
once with `Unavailable` (a 503 with Retry-After), never with the secret's value.

Powertools is imported on first read: its parameters module costs a cold start ~15 ms, and the
local stack and the tests never load it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.config import Settings, key_length_problem
from chalicelib.errors import Unavailable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

# The fewest seconds between two forced reads of the secret, and how long a failed read holds
# back the next one. Short, because a valid token signed with a key this instance has not yet
# read is refused until its refresh is allowed (a 401 for a valid token, in the rare case that a
# forced read ran within this interval before a rotation).
REFRESH_INTERVAL_SECONDS = 10.0

logger = logging.getLogger(__name__)

_UNAVAILABLE = "Authentication is unavailable for now; retry shortly"


class SigningKeysError(Exception):
    """The secret could not be read or holds no usable keys. The message names the secret and
    what is wrong with it, never a key."""


@dataclass(frozen=True)
class Keys:
    """The key new tokens are signed with, and every key a token may be signed with."""

    current: str = field(repr=False)
    previous: str | None = field(default=None, repr=False)

    @property
    def verifying(self) -> tuple[str, ...]:
        if self.previous is None or self.previous == self.current:
            return (self.current,)
        return (self.current, self.previous)

    def __repr__(self) -> str:
        return f"Keys(current=<redacted>, previous={'<redacted>' if self.previous else None})"


def _key(value: dict[str, Any], name: str, algorithm: str, secret: str) -> str:
    key = value.get(name)
    if not isinstance(key, str):
        kind = "missing" if key is None else f"not a string ({type(key).__name__})"
        raise SigningKeysError(f"secret {secret}: '{name}' is {kind}")
    problem = key_length_problem(key, algorithm)
    if problem is not None:
        raise SigningKeysError(f"secret {secret}: '{name}': {problem}")
    return key


def parse_keys(value: Any, algorithm: str, secret: str) -> Keys:
    """The keys in the secret's parsed SecretString, checked; SigningKeysError names what is
    wrong and the secret, and quotes no value."""
    if not isinstance(value, dict):
        raise SigningKeysError(f"secret {secret}: SecretString is not a JSON object with 'current' and 'previous'")
    current = _key(value, "current", algorithm, secret)
    # Before the first rotation there is no previous key; `""` is how a console user says so.
    if value.get("previous") in (None, ""):
        return Keys(current=current)
    return Keys(current=current, previous=_key(value, "previous", algorithm, secret))


class KeySource(Protocol):
    def keys(self) -> Keys:
        """The keys to sign and verify with now; raises Unavailable when they cannot be read."""
        ...

    def refresh(self) -> Keys:
        """The keys read again if a forced read is allowed now, else the ones `keys` gives."""
        ...


class StaticKeys:
    """SECRET_KEY: the local stack's and the tests' one key, which nothing rotates."""

    def __init__(self, key: str) -> None:
        self._keys = Keys(current=key)

    def keys(self) -> Keys:
        return self._keys

    def refresh(self) -> Keys:
        return self._keys


def _provider(secret: str, region: str) -> SecretsProvider:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    # A secret is read in its own region, which its ARN names. Short timeouts and few retries:
    # a request waits on this read, and API Gateway ends it at 29 s.
    parts = secret.split(":")
    if secret.startswith("arn:") and len(parts) > 3 and parts[3]:
        region = parts[3]
    config = Config(
        region_name=region, connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"}
    )
    return SecretsProvider(boto_config=config)


class SecretKeys:
    """The keys in a Secrets Manager secret, cached by Powertools for `max_age` seconds."""

    def __init__(
        self,
        secret: str,
        *,
        algorithm: str,
        max_age: int,
        region: str,
        refresh_interval: float = REFRESH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret = secret
        self._algorithm = algorithm
        self._max_age = max_age
        self._region = region
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._provider_instance: SecretsProvider | None = None
        # One read at a time: concurrent requests of a threaded server wait for the read under
        # way and then find its result cached, instead of reading too.
        self._lock = threading.Lock()
        self._last_forced: float | None = None
        self._failed_until: float | None = None
        # After a malformed value: the next read fetches, not Powertools' cached copy of it.
        self._fetch_next = False

    @property
    def provider(self) -> SecretsProvider:
        if self._provider_instance is None:
            self._provider_instance = _provider(self.secret, self._region)
        return self._provider_instance

    def keys(self) -> Keys:
        with self._lock:
            return self._read(force=self._fetch_next, hold=True)

    def refresh(self) -> Keys:
        with self._lock:
            now = self._clock()
            if self._last_forced is not None and now - self._last_forced < self._refresh_interval:
                # Read recently (perhaps by a concurrent request, whose keys are then new):
                # what is cached is all this token gets.
                return self._read(force=False, hold=True)
            # Counted before the read: a failing read is rate limited too.
            self._last_forced = now
            # Its failure holds nothing back: Powertools keeps the keys it cached, so only this
            # request fails and the others go on verifying with them.
            return self._read(force=True, hold=False)

    def _read(self, *, force: bool, hold: bool) -> Keys:
        """The keys, cached or fetched. `hold`: a failure stops every read for the interval
        (there are no cached keys to go on with)."""
        now = self._clock()
        if self._failed_until is not None and now < self._failed_until:
            raise Unavailable(_UNAVAILABLE, retry_after=max(1, math.ceil(self._failed_until - now)))
        try:
            value = self.provider.get(self.secret, max_age=self._max_age, transform="json", force_fetch=force)
        except Exception as error:
            raise self._failed(_describe(error, self.secret), hold=hold) from None
        try:
            keys = parse_keys(value, self._algorithm, self.secret)
        except SigningKeysError as error:
            # Powertools caches what it parsed, and the keys it held before are gone: every
            # read is held back, and the next one fetches, so a fixed secret is seen after the
            # hold rather than after the cache's max age.
            self._fetch_next = True
            raise self._failed(str(error), hold=True) from None
        self._failed_until = None
        self._fetch_next = False
        return keys

    def _failed(self, reason: str, *, hold: bool) -> Unavailable:
        if hold:
            self._failed_until = self._clock() + self._refresh_interval
        logger.error("signing keys unavailable: %s", reason)
        return Unavailable(_UNAVAILABLE, retry_after=max(1, math.ceil(self._refresh_interval)))


def _describe(error: Exception, secret: str) -> str:
    """What went wrong reading the secret, from what is known not to hold its value: the AWS error
    code of a refused call, or only the exception's type (a JSON parser's error keeps the whole
    document it failed on, which here is the secret)."""
    from aws_lambda_powertools.utilities.parameters.exceptions import TransformParameterError
    from botocore.exceptions import ClientError

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ClientError):
            return f"secret {secret}: {cause.response.get('Error', {}).get('Code', 'ClientError')}"
        if isinstance(cause, TransformParameterError):
            return f"secret {secret}: SecretString is not valid JSON"
        cause = cause.__cause__ or cause.__context__
    return f"secret {secret}: {type(error).__name__}"


def key_source(settings: Settings) -> KeySource:
    """The settings' key source: the secret when one is named (required on a deployed stage),
    else SECRET_KEY."""
    if settings.signing_keys_secret_arn:
        return SecretKeys(
            settings.signing_keys_secret_arn,
            algorithm=settings.jwt_algorithm,
            max_age=settings.signing_keys_max_age_seconds,
            region=settings.aws_region,
        )
    return StaticKeys(settings.secret_key.get_secret_value())
