"""Users and their e-mail guard items."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Busy, Conflict, StaleWrite
from chalicelib.store.models import EmailGuardItem, UserItem, bind_table
from chalicelib.store.retry import with_retries
from chalicelib.store.table import conditional_update, get_item, transaction


class UserRepository:
    def __init__(self) -> None:
        bind_table()

    def get(self, user_id: str) -> UserItem | None:
        return get_item(UserItem, f"USER#{user_id}", "USER")

    def get_by_email(self, email: str) -> UserItem | None:
        guard = get_item(EmailGuardItem, f"EMAIL#{email.lower()}", "EMAIL")
        return self.get(guard.user_id) if guard else None

    def create(self, user: UserItem) -> UserItem:
        user.refresh_keys()
        guard = EmailGuardItem(email=user.email, user_id=user.id)
        guard.refresh_keys()

        def write() -> None:
            with transaction() as tx:
                tx.save(guard, condition=EmailGuardItem.pk.does_not_exist())
                tx.save(user, condition=UserItem.pk.does_not_exist())

        try:
            with_retries(write, retry_on=(Busy,))
        except Conflict as exc:
            if (guard.pk, guard.sk) in exc.failed_keys:
                raise Conflict("The user with this email already exists in the system.") from exc
            raise
        return user

    def batch_get(self, user_ids: list[str]) -> dict[str, UserItem]:
        if not user_ids:
            return {}
        found = UserItem.batch_get([(f"USER#{user_id}", "USER") for user_id in dict.fromkeys(user_ids)])
        return {user.id: user for user in found if isinstance(user, UserItem)}

    def update_profile(
        self, user: UserItem, *, full_name: str | None, keep_full_name: bool, email: str | None, now: str
    ) -> None:
        """Set the full name (unless `keep_full_name`; None clears it) and the address (unless
        None) of `user` as read. A new address moves the e-mail guard in the same transaction: a
        taken address is a Conflict, and a StaleWrite says that the user's address changed since
        it was read (read again).

        The user item is updated, not put: a put would restore a token version or a password
        that another request changed since the read."""
        user.refresh_keys()
        actions: list[Any] = []
        if not keep_full_name:
            actions.append(UserItem.full_name.set(full_name) if full_name is not None else UserItem.full_name.remove())
        new_email = email if email is not None else user.email
        old_guard = EmailGuardItem(email=user.email, user_id=user.id)
        old_guard.refresh_keys()
        new_guard = EmailGuardItem(email=new_email, user_id=user.id)
        new_guard.refresh_keys()
        # The guard's key is the address in lower case: a change of case alone keeps it.
        moving = new_guard.pk != old_guard.pk
        if new_email != user.email:
            actions.append(UserItem.email.set(new_email))
        if moving:
            actions.append(UserItem.email_changed_at.set(now))
        if not actions:
            return
        try:
            with transaction() as tx:
                tx.update(user, actions=actions, condition=UserItem.email == user.email)
                if moving:
                    tx.delete(old_guard, condition=EmailGuardItem.user_id == user.id)
                    tx.save(new_guard, condition=EmailGuardItem.pk.does_not_exist())
        except Conflict as exc:
            if moving and (new_guard.pk, new_guard.sk) in exc.failed_keys:
                raise Conflict("The user with this email already exists in the system.") from exc
            raise StaleWrite("The user was changed by another request; retry", exc.failed_keys) from exc

    def set_password(self, user: UserItem, hashed_password: str) -> bool:
        """The new password, and every older token revoked, unless the password changed since
        `user` was read (False: read again, and check the current password against that)."""
        actions = [UserItem.hashed_password.set(hashed_password), UserItem.token_version.add(1)]
        return conditional_update(user, actions, UserItem.hashed_password == user.hashed_password)

    def revoke_tokens(self, user: UserItem) -> bool:
        """Every token issued so far refused from now on; False if the user is gone."""
        return conditional_update(user, [UserItem.token_version.add(1)], UserItem.pk.exists())
