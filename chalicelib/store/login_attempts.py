"""Failed sign-in counters: one item per account and window, `LOGIN#<sha256>` / `WINDOW#<start>`.

The account is the sha256 of the normalised e-mail, so the table holds no e-mail of anyone who
never signed up, only a digest of what was typed. An item counts the attempts of its window
(`failures`, changed only by atomic ADDs) and expires with the window (`expires_at_ttl`):
nothing deletes old windows, and a late TTL deletion is harmless, since a window's item is only
read while the window is current.

The attempts of a window are taken before any work, with a condition, so concurrent requests
cannot overrun the limit: each ADD sees the count the previous one left.

The `LoginAttempt` kind is registered by chalicelib/store/models.py (imported at its end), so
every reader of the table knows it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store.models import TableItem, bind_table
from chalicelib.store.table import conditional_delete, conditional_update


class LoginAttemptItem(TableItem, discriminator="LoginAttempt"):
    account = UnicodeAttribute()  # sha256 hex digest of the normalised e-mail
    window_start = NumberAttribute()  # epoch seconds
    failures = NumberAttribute(null=True)

    def refresh_keys(self) -> None:
        self.pk = f"LOGIN#{self.account}"
        self.sk = f"WINDOW#{self.window_start}"


def _item(account: str, window_start: int) -> LoginAttemptItem:
    item = LoginAttemptItem(account=account, window_start=window_start)
    item.refresh_keys()
    return item


class LoginAttemptRepository:
    def __init__(self) -> None:
        bind_table()

    def take(self, account: str, window_start: int, window_end: int, limit: int) -> bool:
        """Count one attempt in the window if fewer than `limit` are counted: False when the
        window is full (nothing is written then)."""
        item = _item(account, window_start)
        # An UpdateItem may create the item: the kind, the TTL and the key's own attributes are
        # set by it too (the same values on every attempt of a window).
        actions = [
            LoginAttemptItem.kind.set(LoginAttemptItem),
            LoginAttemptItem.account.set(account),
            LoginAttemptItem.window_start.set(window_start),
            LoginAttemptItem.expires_at_ttl.set(datetime.fromtimestamp(window_end, tz=UTC)),
            LoginAttemptItem.failures.add(1),
        ]
        room = LoginAttemptItem.failures.does_not_exist() | (LoginAttemptItem.failures < limit)
        return conditional_update(item, actions, room)

    def give_back(self, account: str, window_start: int) -> None:
        """Uncount one attempt taken in the window (its outcome was never known)."""
        item = _item(account, window_start)
        # Conditioned on a count to take from: a reset since then deleted the item, and an ADD
        # on no item would make a new one holding -1 (no kind, no TTL).
        conditional_update(item, [LoginAttemptItem.failures.add(-1)], LoginAttemptItem.failures > 0)

    def clear(self, account: str, window_start: int) -> None:
        conditional_delete(_item(account, window_start))
