"""Users and their e-mail guard items."""

from __future__ import annotations

from chalicelib.errors import Conflict
from chalicelib.store.models import EmailGuardItem, UserItem, bind_table
from chalicelib.store.table import transaction


class UserRepository:
    def __init__(self) -> None:
        bind_table()

    def get(self, user_id: str) -> UserItem | None:
        item = _get(UserItem, f"USER#{user_id}", "USER")
        return item if isinstance(item, UserItem) else None

    def get_by_email(self, email: str) -> UserItem | None:
        guard = _get(EmailGuardItem, f"EMAIL#{email.lower()}", "EMAIL")
        if not isinstance(guard, EmailGuardItem):
            return None
        return self.get(guard.user_id)

    def create(self, user: UserItem) -> UserItem:
        user.refresh_keys()
        guard = EmailGuardItem(email=user.email, user_id=user.id)
        guard.refresh_keys()
        try:
            with transaction() as tx:
                tx.save(guard, condition=EmailGuardItem.pk.does_not_exist())
                tx.save(user, condition=UserItem.pk.does_not_exist())
        except Conflict as exc:
            raise Conflict("The user with this email already exists in the system.") from exc
        return user


def _get(model: type[UserItem] | type[EmailGuardItem], pk: str, sk: str) -> object | None:
    try:
        return model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
