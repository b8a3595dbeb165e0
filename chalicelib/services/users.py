"""Users: sign-in, the current user, creation by a superuser, the first superuser."""

from __future__ import annotations

import uuid

from chalicelib.config import DEVELOPMENT_SUPERUSER_PASSWORD, SettingsError, get_settings
from chalicelib.errors import BadRequest, Conflict, Forbidden, InvalidCredentials
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.users import UserCreate, UserPublic
from chalicelib.services import security
from chalicelib.services.login_throttle import LoginThrottle
from chalicelib.store.models import UserItem
from chalicelib.store.users import UserRepository


def issue_token(user: UserItem) -> str:
    return security.create_access_token(user.id, version=int(user.token_version or 0))


def to_public(user: UserItem) -> UserPublic:
    return UserPublic.model_validate(
        {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "is_active": user.is_active,
            "is_superuser": user.is_superuser,
            "created_at": user.created_at,
        }
    )


class UserService:
    def __init__(self, users: UserRepository | None = None, throttle: LoginThrottle | None = None) -> None:
        self.users = users or UserRepository()
        self.throttle = throttle or LoginThrottle()

    def authenticate(self, email: str, password: str) -> str:
        # Counted before the user is read or a hash computed: a refused guess costs no argon2
        # work, and known and unknown e-mails are refused alike (services/login_throttle.py).
        attempt = self.throttle.begin(email)
        try:
            user = self.users.get_by_email(email)
            hashed = user.hashed_password if user else security.dummy_hash()
            verified = security.verify_password(password, hashed)
        except Exception:
            # No password was checked: the attempt must not count against the account.
            self.throttle.give_back(attempt)
            raise
        if user is None or not verified:
            raise BadRequest("Incorrect email or password")
        self.throttle.succeeded(attempt)
        if not user.is_active:
            raise BadRequest("Inactive user")
        return issue_token(user)

    def current_user(self, token: str) -> UserItem:
        """The token's user. A user deleted or deactivated since, or a token older than the
        user's token version, is refused like a bad token: nothing to tell such a caller but
        "sign in again"."""
        claims = security.token_claims(token)
        user = self.users.get(claims.user_id)
        if user is None or not user.is_active or claims.version != int(user.token_version or 0):
            raise InvalidCredentials()
        return user

    def create(self, data: UserCreate, caller: UserItem | None) -> UserItem:
        if caller is not None and not caller.is_superuser:
            raise Forbidden("The user doesn't have enough privileges")
        user = UserItem(
            id=str(uuid.uuid4()),
            email=str(data.email).lower(),
            hashed_password=security.hash_password(data.password),
            full_name=data.full_name,
            is_active=True,
            is_superuser=data.is_superuser,
            created_at=iso(utcnow()),
        )
        try:
            return self.users.create(user)
        except Conflict as exc:
            raise BadRequest("The user with this email already exists in the system.") from exc

    def ensure_first_superuser(self) -> UserItem:
        settings = get_settings()
        existing = self.users.get_by_email(settings.first_superuser)
        if existing is not None:
            return existing
        password = settings.first_superuser_password.get_secret_value()
        if settings.deployed and password == DEVELOPMENT_SUPERUSER_PASSWORD:
            # The development password is in this repository: a deployed stage's first
            # superuser would be anyone's.
            raise SettingsError("FIRST_SUPERUSER_PASSWORD must be set for a deployed stage, not the development value")
        data = UserCreate(
            email=settings.first_superuser,
            password=password,
            full_name="Admin",
            is_superuser=True,
        )
        return self.create(data, caller=None)
