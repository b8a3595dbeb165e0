"""Organizations: create (the creator owns it), list mine, read and rename one, its members and their roles."""

from __future__ import annotations

import uuid

from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import StoredRole
from chalicelib.schemas.users import (
    MemberPublic,
    MemberUpdate,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
)
from chalicelib.services.access import Caller
from chalicelib.store.models import MembershipItem, OrganizationItem, UserItem
from chalicelib.store.organizations import OrganizationRepository
from chalicelib.store.users import UserRepository


def to_public(org: OrganizationItem) -> OrganizationPublic:
    return OrganizationPublic.model_validate(
        {
            "id": org.id,
            "name": org.name,
            "owner_id": org.owner_id,
            "created_at": org.created_at,
            "updated_at": org.updated_at,
        }
    )


def member_public(member: MembershipItem, user: UserItem) -> MemberPublic:
    return MemberPublic.model_validate(
        {
            "organization_id": member.organization_id,
            "user_id": member.user_id,
            "email": user.email,
            "full_name": user.full_name,
            "role": member.role,
            "created_at": member.created_at,
        }
    )


class OrganizationService:
    def __init__(self, orgs: OrganizationRepository | None = None, users: UserRepository | None = None) -> None:
        self.orgs = orgs or OrganizationRepository()
        self.users = users or UserRepository()

    def create(self, caller: Caller, data: OrganizationCreate) -> OrganizationItem:
        now = iso(utcnow())
        org = OrganizationItem(id=str(uuid.uuid4()), name=data.name, owner_id=caller.id, created_at=now, updated_at=now)
        owner = MembershipItem(organization_id=org.id, user_id=caller.id, role=StoredRole.OWNER.value, created_at=now)
        self.orgs.create(org, owner)
        return org

    def page(self, caller: Caller, skip: int, limit: int) -> tuple[list[OrganizationItem], int]:
        """The caller's organizations (superusers too: their own, not every one), one page."""
        return self.orgs.organizations_page(caller.id, skip, limit)

    def _visible(self, caller: Caller, org_id: str) -> OrganizationItem:
        """The organization, to its members (and superusers); to anyone else it does not exist."""
        org = self.orgs.get(org_id)
        if org is None or not (caller.is_superuser or caller.is_member(org_id)):
            raise NotFound("Organization not found")
        return org

    def administered(self, caller: Caller, org_id: str) -> OrganizationItem:
        """The organization, to its admins; a plain member is refused (403)."""
        org = self._visible(caller, org_id)
        if not caller.is_org_admin(org_id):
            raise Forbidden("Not enough permissions")
        return org

    def get(self, caller: Caller, org_id: str) -> OrganizationItem:
        return self._visible(caller, org_id)

    def rename(self, caller: Caller, org_id: str, data: OrganizationUpdate) -> OrganizationItem:
        org = self.administered(caller, org_id)
        return self.orgs.rename(org, data.name, iso(utcnow()))

    def members_page(self, caller: Caller, org_id: str, skip: int, limit: int) -> tuple[list[MemberPublic], int]:
        """One page of the members, in the order they joined, with their e-mail addresses: only
        members (and superusers) get here, and they share the organization with every one."""
        self._visible(caller, org_id)
        members = self.orgs.members(org_id)
        page = members[skip : skip + limit]
        users = self.users.batch_get([m.user_id for m in page])
        # Users are never deleted; a member whose user item is missing is left out, not invented.
        return [member_public(m, users[m.user_id]) for m in page if m.user_id in users], len(members)

    def set_role(self, caller: Caller, org_id: str, user_id: str, data: MemberUpdate) -> MemberPublic:
        self.administered(caller, org_id)
        member = self.orgs.membership(org_id, user_id)
        if member is None:
            raise NotFound("Member not found")
        if member.role == StoredRole.OWNER.value:
            raise Conflict("The organization's owner keeps the owner role")
        user = self.users.get(user_id)
        # Nothing makes a member the owner, so a refused update means the member was removed since.
        if user is None or not self.orgs.set_role(member, data.role.value):
            raise NotFound("Member not found")
        return member_public(member, user)

    def remove_member(self, caller: Caller, org_id: str, user_id: str) -> None:
        """An admin removes anyone but the owner; any member may remove themself (leave)."""
        org = self._visible(caller, org_id)
        leaving = user_id == caller.id
        if not (leaving or caller.is_org_admin(org_id)):
            raise Forbidden("Not enough permissions")
        if user_id == org.owner_id:
            raise Conflict(f"The organization's owner cannot {'leave it' if leaving else 'be removed'}")
        if not self.orgs.remove_member(org_id, user_id):
            raise NotFound("Member not found")

    def leave(self, caller: Caller, org_id: str) -> None:
        self.remove_member(caller, org_id, caller.id)
