"""One's own account: profile, password, signing out everywhere."""

from __future__ import annotations

from chalicelib.errors import BadRequest, InvalidCredentials, InvalidField, StaleWrite
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.users import UpdatePassword, UserUpdateMe
from chalicelib.services import security
from chalicelib.services.login_throttle import LoginThrottle
from chalicelib.store.models import UserItem
from chalicelib.store.retry import with_retries
from chalicelib.store.users import UserRepository


class AccountService:
    def __init__(self, users: UserRepository | None = None, throttle: LoginThrottle | None = None) -> None:
        self.users = users or UserRepository()
        self.throttle = throttle or LoginThrottle()

    def update_me(self, caller: UserItem, data: UserUpdateMe) -> UserItem:
        sent = data.model_fields_set
        if "email" in sent and data.email is None:
            raise InvalidField.single(["email"], "Field cannot be null", None, "not_nullable")
        email = str(data.email).lower() if data.email is not None else None

        def attempt() -> UserItem:
            # Every attempt re-reads: the guard to move is the one of the address stored now.
            user = self._reread(caller.id)
            self.users.update_profile(
                user,
                full_name=data.full_name,
                keep_full_name="full_name" not in sent,
                email=email,
                now=iso(utcnow()),
            )
            return self._reread(caller.id)

        # A taken address is the store's Conflict (409), which is not retried.
        return with_retries(attempt)

    def change_password(self, caller: UserItem, data: UpdatePassword) -> None:
        """A new password; every token issued before, the caller's own included, is refused."""
        if data.current_password == data.new_password:
            raise BadRequest("New password cannot be the same as the current one")
        # A token holder guessing the current password here counts against the same per-account
        # limit as sign-in (else this would be an unthrottled way around it), before any hashing.
        counted = self.throttle.begin(caller.email)
        hashed: str | None = None

        def attempt() -> None:
            nonlocal hashed
            # Checked against the password stored now: of two concurrent changes, the second
            # checks its current password against the first one's new password.
            user = self._reread(caller.id)
            if not security.verify_password(data.current_password, user.hashed_password):
                raise BadRequest("Incorrect password")
            self.throttle.succeeded(counted)
            # Hashed once the current password is known right: a wrong guess costs one hash.
            if hashed is None:
                hashed = security.hash_password(data.new_password)
            if not self.users.set_password(user, hashed):
                raise StaleWrite("The password was changed by another request")

        try:
            with_retries(attempt)
        except (BadRequest, StaleWrite):
            raise
        except Exception:
            # No password was checked (the store failed): the attempt must not count.
            self.throttle.give_back(counted)
            raise

    def logout_all(self, caller: UserItem) -> None:
        """Every token issued so far, the caller's own included, is refused from now on."""
        if not self.users.revoke_tokens(caller):
            raise InvalidCredentials()

    def _reread(self, user_id: str) -> UserItem:
        user = self.users.get(user_id)
        if user is None or not user.is_active:
            raise InvalidCredentials()
        return user
