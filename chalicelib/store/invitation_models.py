"""PynamoDB models of invitations to join an organization: one pending invitation, two items.

An invitation is stored under its organization, `ORG#<org>` / `INVITE#<email>` (so one address
has at most one pending invitation per organization, and the organization's are one Query), and
mirrored under the address, `INVITEE#<email>` / `INVITE#<id>` (so the invitee's are one Query and
one is reached by id with a GetItem). Both are written, and deleted, in one transaction; a
pending invitation is all that is stored: accepting, declining or revoking deletes both.

Both carry `expires_at_ttl` (the table's TTL attribute): DynamoDB removes them some time after
they expire, and every read checks the time meanwhile.

This module must be imported wherever table items are read (`chalicelib/store/models.py` imports
it): PynamoDB's polymorphism only knows the `kind` values of the classes defined.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import UnicodeAttribute

from chalicelib.store.models import TableItem

INVITE_PREFIX = "INVITE#"


def invitee_pk(email: str) -> str:
    return f"INVITEE#{email.lower()}"


class _Invitation(TableItem):
    id = UnicodeAttribute()
    organization_id = UnicodeAttribute()
    # Lower case: the address is a key, and addresses are compared without case.
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    invited_by = UnicodeAttribute()
    created_at = UnicodeAttribute()

    @property
    def expired(self) -> bool:
        expires = self.expires_at_ttl
        return expires is None or expires <= datetime.now(UTC)


class InvitationItem(_Invitation, discriminator="Invitation"):
    """The organization's side: what its admins list and revoke."""

    def refresh_keys(self) -> None:
        self.pk = f"ORG#{self.organization_id}"
        self.sk = f"{INVITE_PREFIX}{self.email.lower()}"


class InviteeItem(_Invitation, discriminator="Invitee"):
    """The invitee's side: what the account with this address lists, accepts and declines."""

    def refresh_keys(self) -> None:
        self.pk = invitee_pk(self.email)
        self.sk = f"{INVITE_PREFIX}{self.id}"

    @classmethod
    def mirror(cls, invitation: InvitationItem) -> InviteeItem:
        item = cls(
            id=invitation.id,
            organization_id=invitation.organization_id,
            email=invitation.email,
            role=invitation.role,
            invited_by=invitation.invited_by,
            created_at=invitation.created_at,
            expires_at_ttl=invitation.expires_at_ttl,
        )
        item.refresh_keys()
        return item
