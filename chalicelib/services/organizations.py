"""Organizations: create (the creator owns it), list mine, add and remove members."""

from __future__ import annotations

import uuid

from chalicelib.errors import BadRequest, Forbidden, NotFound
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import StoredRole
from chalicelib.schemas.users import MemberAdd, MemberPublic, OrganizationCreate, OrganizationPublic
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

    def _managed(self, caller: Caller, org_id: str) -> OrganizationItem:
        org = self.orgs.get(org_id)
        if org is None or not (caller.is_superuser or caller.is_member(org_id)):
            raise NotFound("Organization not found")
        return org

    def add_member(self, caller: Caller, org_id: str, data: MemberAdd) -> tuple[MembershipItem, UserItem]:
        org = self._managed(caller, org_id)
        if not (caller.is_superuser or org.owner_id == caller.id):
            raise Forbidden("Not enough permissions")
        user = self.users.get(str(data.user_id)) if data.user_id else self.users.get_by_email(str(data.email))
        if user is None:
            raise NotFound("User not found")
        member = MembershipItem(organization_id=org.id, user_id=user.id, role=data.role.value, created_at=iso(utcnow()))
        self.orgs.add_member(member)
        return member, user

    def remove_member(self, caller: Caller, org_id: str, user_id: str) -> None:
        org = self._managed(caller, org_id)
        leaving_self = user_id == caller.id
        if not (caller.is_superuser or org.owner_id == caller.id or leaving_self):
            raise Forbidden("Not enough permissions")
        if user_id == org.owner_id:
            raise BadRequest("The organization's owner cannot be removed")
        if not self.orgs.remove_member(org_id, user_id):
            raise NotFound("Member not found")
