"""Membership by invitation: an organization's admins invite an address, its account accepts.

Inviting looks no account up: the answer, and the work behind it, are the same whether or not
the address has an account (or is a member already), so an admin learns nothing about who uses
the service. Nobody becomes a member without accepting.

Nothing verifies an e-mail address. An invitation is therefore the account's that held its
address when it was sent: an address a user gives themself later (PATCH /users/me), or an
account a superuser creates later for an address someone left, does not bring the invitations
sent to it before.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from chalicelib.errors import NotFound
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import InvitationStatus
from chalicelib.schemas.users import InvitationCreate, InvitationPublic
from chalicelib.services.access import Caller
from chalicelib.services.organizations import OrganizationService
from chalicelib.store.invitation_models import InvitationItem, InviteeItem
from chalicelib.store.invitations import INVITATION_NOT_FOUND, InvitationRepository
from chalicelib.store.models import MembershipItem, OrganizationItem
from chalicelib.store.organizations import OrganizationRepository
from chalicelib.store.retry import with_retries

INVITATION_LIFETIME = timedelta(days=7)


def invitation_public(
    item: InvitationItem | InviteeItem, organization_name: str, status: InvitationStatus = InvitationStatus.PENDING
) -> InvitationPublic:
    return InvitationPublic.model_validate(
        {
            "id": item.id,
            "organization_id": item.organization_id,
            "organization_name": organization_name,
            "email": item.email,
            "role": item.role,
            "status": status,
            "created_at": item.created_at,
            "expires_at": item.expires_at_ttl,
        }
    )


def _newest_first(items: list[InviteeItem]) -> list[InviteeItem]:
    return sorted(items, key=lambda i: (i.created_at, i.id), reverse=True)


class InvitationService:
    def __init__(
        self,
        invitations: InvitationRepository | None = None,
        orgs: OrganizationRepository | None = None,
        organizations: OrganizationService | None = None,
    ) -> None:
        self.invitations = invitations or InvitationRepository()
        self.orgs = orgs or OrganizationRepository()
        self.organizations = organizations or OrganizationService(self.orgs)

    # -- the organization's side ----------------------------------------------------------

    def invite(self, caller: Caller, org_id: str, data: InvitationCreate) -> InvitationPublic:
        """A pending invitation of the address, replacing the one it may have already (a new id,
        the role asked now, seven more days)."""
        org = self.organizations.administered(caller, org_id)
        email = str(data.email).lower()

        def attempt() -> InvitationItem:
            now = utcnow()
            invitation = InvitationItem(
                id=str(uuid.uuid4()),
                organization_id=org.id,
                email=email,
                role=data.role.value,
                invited_by=caller.id,
                created_at=iso(now),
                expires_at_ttl=now + INVITATION_LIFETIME,
            )
            self.invitations.put(invitation, self.invitations.pending_for(org.id, email))
            return invitation

        return invitation_public(with_retries(attempt), org.name)

    def organization_page(
        self, caller: Caller, org_id: str, skip: int, limit: int
    ) -> tuple[list[InvitationPublic], int]:
        """The pending invitations, oldest first."""
        org = self.organizations.administered(caller, org_id)
        pending = sorted(
            (i for i in self.invitations.of_organization(org_id) if not i.expired), key=lambda i: (i.created_at, i.id)
        )
        return [invitation_public(i, org.name) for i in pending[skip : skip + limit]], len(pending)

    def revoke(self, caller: Caller, org_id: str, invitation_id: str) -> None:
        self.organizations.administered(caller, org_id)
        invitation = self.invitations.in_organization(org_id, invitation_id)
        if invitation is None or invitation.expired:
            raise NotFound(INVITATION_NOT_FOUND)
        self.invitations.delete(invitation)

    # -- the invitee's side -----------------------------------------------------------------

    def mine_page(self, caller: Caller, skip: int, limit: int) -> tuple[list[InvitationPublic], int]:
        """The caller's pending invitations, newest first."""
        mine = _newest_first([i for i in self.invitations.of_invitee(caller.user.email) if self._claimable(caller, i)])
        page = mine[skip : skip + limit]
        names = self._names({i.organization_id for i in page})
        return [invitation_public(i, names[i.organization_id]) for i in page if i.organization_id in names], len(mine)

    def accept(self, caller: Caller, invitation_id: str) -> InvitationPublic:
        invitation, org = self._addressed_to(caller, invitation_id)
        member = MembershipItem(
            organization_id=org.id, user_id=caller.id, role=invitation.role, created_at=iso(utcnow())
        )
        self.invitations.accept(invitation, member)
        return invitation_public(invitation, org.name, InvitationStatus.ACCEPTED)

    def decline(self, caller: Caller, invitation_id: str) -> InvitationPublic:
        invitation, org = self._addressed_to(caller, invitation_id)
        self.invitations.delete(invitation)
        return invitation_public(invitation, org.name, InvitationStatus.DECLINED)

    def _addressed_to(self, caller: Caller, invitation_id: str) -> tuple[InvitationItem, OrganizationItem]:
        """The pending invitation of that id sent to the caller's address, and its organization;
        anyone else's, an expired, revoked or replaced one is not found."""
        mirror = self.invitations.for_invitee(caller.user.email, invitation_id)
        if mirror is None or not self._claimable(caller, mirror):
            raise NotFound(INVITATION_NOT_FOUND)
        invitation = self.invitations.organization_side(mirror)
        org = self.orgs.get(mirror.organization_id)
        if invitation is None or org is None:
            raise NotFound(INVITATION_NOT_FOUND)
        return invitation, org

    @staticmethod
    def _claimable(caller: Caller, invitation: InviteeItem) -> bool:
        if invitation.expired:
            return False
        # The account's since it holds the address: from its own change of address, or else its
        # creation (an account made later for an address someone left holds none of its past).
        since = caller.user.email_changed_at or caller.user.created_at
        return since is None or invitation.created_at > since

    def _names(self, org_ids: set[str]) -> dict[str, str]:
        return {org.id: org.name for org in self.orgs.get_many(org_ids).values()}
