"""Users and their e-mail guard items."""

from __future__ import annotations

from chalicelib.errors import Busy, Conflict
from chalicelib.store.models import EmailGuardItem, UserItem, bind_table
from chalicelib.store.retry import with_retries
from chalicelib.store.table import get_item, transaction


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
