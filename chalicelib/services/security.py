"""Password hashing (argon2) and access tokens (JWT, algorithm pinned).

argon2 is imported on first use: only sign-in and user creation hash passwords, while every
request verifies a token, so a cold start serving any other route does not load it.

Tokens are signed with the current key and verified with the current or the previous one
(services/signing_keys.py): a rotation signs nobody out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jwt

from chalicelib.config import Settings, get_settings
from chalicelib.errors import InvalidCredentials
from chalicelib.services.signing_keys import KeySource, key_source

if TYPE_CHECKING:
    from argon2 import PasswordHasher

_source_lock = threading.Lock()
_source: tuple[Settings, KeySource] | None = None


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both failures take the same time."""
    return _hasher().hash("not-a-real-password-but-same-cost")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def signing_keys() -> KeySource:
    """The process's key source, made anew when the settings are (tests read them again)."""
    global _source
    settings = get_settings()
    with _source_lock:
        if _source is None or _source[0] is not settings:
            _source = (settings, key_source(settings))
        return _source[1]


def create_access_token(user_id: str, expires_delta: timedelta | None = None, *, version: int = 0) -> str:
    """A token for the user at their current token `version` (`ver`): raising the user's version
    revokes it."""
    settings = get_settings()
    lifetime = expires_delta if expires_delta is not None else timedelta(minutes=settings.access_token_expire_minutes)
    claims = {"sub": user_id, "ver": version, "exp": datetime.now(UTC) + lifetime}
    return jwt.encode(claims, signing_keys().keys().current, algorithm=settings.jwt_algorithm)


def _claims(token: str, keys: tuple[str, ...], algorithm: str) -> dict[str, Any]:
    """The token's claims if one of `keys` signed it; InvalidSignatureError if none did."""
    for key in keys[:-1]:
        try:
            return _decode(token, key, algorithm)
        except jwt.InvalidSignatureError:
            continue
    return _decode(token, keys[-1], algorithm)


def _decode(token: str, key: str, algorithm: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=[algorithm], options={"require": ["exp", "sub"]})
    return claims


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    version: int


def token_claims(token: str) -> TokenClaims:
    """Whom the token names and at which token version; InvalidCredentials if it is not ours,
    saying "Token expired" for one of ours that has expired, which a client may tell its user
    apart from a token that never was valid."""
    algorithm = get_settings().jwt_algorithm
    source = signing_keys()
    # Unavailable (the keys cannot be read) goes up as it is: a 503, not a 401 that would sign
    # the caller out.
    keys = source.keys().verifying
    try:
        try:
            claims = _claims(token, keys, algorithm)
        except jwt.InvalidSignatureError:
            # Well formed, signed with the pinned algorithm, by no key this process holds: perhaps
            # a newer one, read by the instance that signed it. A malformed or wrong-algorithm
            # token, or one a held key signed (expired, without `sub`), never gets here, so it
            # costs no read. `refresh` reads at most once per interval; the token is tried again
            # only if that brought other keys.
            fresh = source.refresh().verifying
            if fresh == keys:
                raise
            claims = _claims(token, fresh, algorithm)
    except jwt.ExpiredSignatureError as exc:
        # PyJWT checks the signature before the expiry: only a token one of our keys signed gets here.
        raise InvalidCredentials("Token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidCredentials() from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidCredentials()
    # Tokens issued before versions existed carry none: they are version 0, as those users are.
    version = claims.get("ver", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidCredentials()
    return TokenClaims(user_id=subject, version=version)


def user_id_from_token(token: str) -> str:
    return token_claims(token).user_id
