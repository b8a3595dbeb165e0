"""Invitations: the organization's item and the invitee's mirror, written and deleted together."""

from __future__ import annotations

from chalicelib.errors import Busy, Conflict, NotFound, StaleWrite
from chalicelib.store.invitation_models import INVITE_PREFIX, InvitationItem, InviteeItem, invitee_pk
from chalicelib.store.models import MembershipItem, OrganizationItem, bind_table
from chalicelib.store.retry import with_retries
from chalicelib.store.table import get_item, transaction

INVITATION_NOT_FOUND = "Invitation not found"


class InvitationRepository:
    def __init__(self) -> None:
        bind_table()

    def pending_for(self, org_id: str, email: str) -> InvitationItem | None:
        return get_item(InvitationItem, f"ORG#{org_id}", f"{INVITE_PREFIX}{email.lower()}")

    def of_organization(self, org_id: str) -> list[InvitationItem]:
        found = InvitationItem.query(f"ORG#{org_id}", InvitationItem.sk.startswith(INVITE_PREFIX), consistent_read=True)
        return [item for item in found if isinstance(item, InvitationItem)]

    def in_organization(self, org_id: str, invitation_id: str) -> InvitationItem | None:
        """By id: the organization's side is keyed by address, and its pending invitations are few
        (each expires within days), so one Query of them finds it."""
        return next((item for item in self.of_organization(org_id) if item.id == invitation_id), None)

    def of_invitee(self, email: str) -> list[InviteeItem]:
        found = InviteeItem.query(invitee_pk(email), InviteeItem.sk.startswith(INVITE_PREFIX), consistent_read=True)
        return [item for item in found if isinstance(item, InviteeItem)]

    def for_invitee(self, email: str, invitation_id: str) -> InviteeItem | None:
        return get_item(InviteeItem, invitee_pk(email), f"{INVITE_PREFIX}{invitation_id}")

    def put(self, invitation: InvitationItem, replaced: InvitationItem | None) -> None:
        """Store a new pending invitation, in place of `replaced` (the address's pending one in
        this organization, as read) if there is one. StaleWrite: another request changed the
        address's invitation since it was read (read again); NotFound: the organization is gone."""
        invitation.refresh_keys()
        mirror = InviteeItem.mirror(invitation)
        org_key = (f"ORG#{invitation.organization_id}", "ORG")
        try:
            with transaction() as tx:
                tx.condition_check(OrganizationItem, *org_key, condition=OrganizationItem.pk.exists())
                if replaced is None:
                    tx.save(invitation, condition=InvitationItem.pk.does_not_exist())
                else:
                    tx.save(invitation, condition=InvitationItem.id == replaced.id)
                    tx.delete(InviteeItem.mirror(replaced))
                tx.save(mirror, condition=InviteeItem.pk.does_not_exist())
        except Conflict as exc:
            if org_key in exc.failed_keys:
                raise NotFound("Organization not found") from exc
            raise StaleWrite("The invitation was changed by another request; retry", exc.failed_keys) from exc

    def accept(self, invitation: InvitationItem, member: MembershipItem) -> None:
        """Both items go and the membership comes in one transaction: an invitation revoked or
        replaced meanwhile is not found (404), a member already there is a 409."""
        member.refresh_keys()
        invitation.refresh_keys()

        def write() -> None:
            with transaction() as tx:
                tx.condition_check(
                    OrganizationItem, f"ORG#{member.organization_id}", "ORG", condition=OrganizationItem.pk.exists()
                )
                tx.delete(invitation, condition=InvitationItem.id == invitation.id)
                tx.delete(InviteeItem.mirror(invitation), condition=InviteeItem.pk.exists())
                tx.save(member, condition=MembershipItem.pk.does_not_exist())

        try:
            with_retries(write, retry_on=(Busy,))
        except Conflict as exc:
            if (member.pk, member.sk) in exc.failed_keys:
                raise Conflict("You are already a member of this organization") from exc
            raise NotFound(INVITATION_NOT_FOUND) from exc

    def delete(self, invitation: InvitationItem) -> None:
        """Decline or revoke: both items, as long as this is still the address's invitation."""
        invitation.refresh_keys()

        def write() -> None:
            with transaction() as tx:
                tx.delete(invitation, condition=InvitationItem.id == invitation.id)
                tx.delete(InviteeItem.mirror(invitation), condition=InviteeItem.pk.exists())

        try:
            with_retries(write, retry_on=(Busy,))
        except Conflict as exc:
            raise NotFound(INVITATION_NOT_FOUND) from exc

    def organization_side(self, mirror: InviteeItem) -> InvitationItem | None:
        """The organization's item of an invitee's mirror, if it is still that invitation."""
        item = self.pending_for(mirror.organization_id, mirror.email)
        return item if item is not None and item.id == mirror.id else None
