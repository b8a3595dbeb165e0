"""Password hashing (argon2) and access tokens (JWT, algorithm pinned).

argon2 is imported on first use: only sign-in and user creation hash passwords, while every
request verifies a token, so a cold start serving any other route does not load it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import jwt

from chalicelib.config import get_settings
from chalicelib.errors import InvalidCredentials

if TYPE_CHECKING:
    from argon2 import PasswordHasher


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


def create_access_token(user_id: str, expires_delta: timedelta | None = None) -> str:
    settings = get_settings()
    lifetime = expires_delta if expires_delta is not None else timedelta(minutes=settings.access_token_expire_minutes)
    claims = {"sub": user_id, "exp": datetime.now(UTC) + lifetime}
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=settings.jwt_algorithm)


def user_id_from_token(token: str) -> str:
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidCredentials() from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidCredentials()
    return subject
