"""Organizations, their members and invitations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import endpoint
from chalicelib.schemas.common import Message, PageQuery
from chalicelib.schemas.users import (
    InvitationCreate,
    InvitationPublic,
    InvitationsPublic,
    MemberPublic,
    MembersPublic,
    MemberUpdate,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationsPublic,
    OrganizationUpdate,
)
from chalicelib.services.organizations import to_public

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)

TAG = "organizations"


@endpoint(
    bp,
    "POST",
    "/organizations/",
    operation_id="create_organization",
    summary="Create Organization",
    tag=TAG,
    response=OrganizationPublic,
    body=OrganizationCreate,
    errors=frozenset({409, 503}),
)
def create_organization(caller: Caller, body: OrganizationCreate) -> OrganizationPublic:
    """Create an organization owned by the caller."""
    return to_public(wiring.organizations().create(caller, body))


@endpoint(
    bp,
    "GET",
    "/organizations/",
    operation_id="read_organizations",
    summary="Read Organizations",
    tag=TAG,
    response=OrganizationsPublic,
    query=PageQuery,
)
def list_organizations(caller: Caller, query: PageQuery) -> OrganizationsPublic:
    """The organizations the caller belongs to (all of them for a superuser)."""
    orgs, count = wiring.organizations().page(caller, query.skip, query.limit)
    return OrganizationsPublic(data=[to_public(o) for o in orgs], count=count)


@endpoint(
    bp,
    "GET",
    "/organizations/{org_id}",
    operation_id="read_organization",
    summary="Read Organization",
    tag=TAG,
    response=OrganizationPublic,
)
def read_organization(caller: Caller, org_id: str) -> OrganizationPublic:
    """An organization, to its members."""
    return to_public(wiring.organizations().get(caller, org_id))


@endpoint(
    bp,
    "PATCH",
    "/organizations/{org_id}",
    operation_id="update_organization",
    summary="Update Organization",
    tag=TAG,
    response=OrganizationPublic,
    body=OrganizationUpdate,
    errors=frozenset({403, 503}),
)
def update_organization(caller: Caller, org_id: str, body: OrganizationUpdate) -> OrganizationPublic:
    """Rename an organization (its owner and admins)."""
    return to_public(wiring.organizations().rename(caller, org_id, body))


@endpoint(
    bp,
    "GET",
    "/organizations/{org_id}/members",
    operation_id="read_organization_members",
    summary="Read Organization Members",
    tag=TAG,
    response=MembersPublic,
    query=PageQuery,
)
def list_members(caller: Caller, org_id: str, query: PageQuery) -> MembersPublic:
    """The members, in the order they joined, to the organization's members."""
    members, count = wiring.organizations().members_page(caller, org_id, query.skip, query.limit)
    return MembersPublic(data=members, count=count)


@endpoint(
    bp,
    "PATCH",
    "/organizations/{org_id}/members/{user_id}",
    operation_id="update_organization_member",
    summary="Update Organization Member",
    tag=TAG,
    response=MemberPublic,
    body=MemberUpdate,
    errors=frozenset({403, 409, 503}),
)
def update_member(caller: Caller, org_id: str, user_id: str, body: MemberUpdate) -> MemberPublic:
    """Make a member an admin or a plain member (owner and admins; the owner's role never changes)."""
    return wiring.organizations().set_role(caller, org_id, user_id, body)


@endpoint(
    bp,
    "DELETE",
    "/organizations/{org_id}/members/me",
    operation_id="leave_organization",
    summary="Leave Organization",
    tag=TAG,
    response=Message,
    errors=frozenset({409, 503}),
)
def leave_organization(caller: Caller, org_id: str) -> Message:
    """Leave an organization (its owner cannot)."""
    wiring.organizations().leave(caller, org_id)
    return Message(message="You left the organization")


@endpoint(
    bp,
    "POST",
    "/organizations/{org_id}/invitations",
    operation_id="create_organization_invitation",
    summary="Create Organization Invitation",
    tag=TAG,
    response=InvitationPublic,
    body=InvitationCreate,
    errors=frozenset({403, 503}),
)
def create_invitation(caller: Caller, org_id: str, body: InvitationCreate) -> InvitationPublic:
    """Invite an e-mail address as a member or an admin (owner and admins). The answer is the same
    whether or not the address has an account; it replaces the address's pending invitation."""
    return wiring.invitations().invite(caller, org_id, body)


@endpoint(
    bp,
    "GET",
    "/organizations/{org_id}/invitations",
    operation_id="read_organization_invitations",
    summary="Read Organization Invitations",
    tag=TAG,
    response=InvitationsPublic,
    query=PageQuery,
    errors=frozenset({403}),
)
def list_invitations(caller: Caller, org_id: str, query: PageQuery) -> InvitationsPublic:
    """The pending invitations, oldest first (owner and admins)."""
    invitations, count = wiring.invitations().organization_page(caller, org_id, query.skip, query.limit)
    return InvitationsPublic(data=invitations, count=count)


@endpoint(
    bp,
    "DELETE",
    "/organizations/{org_id}/invitations/{invitation_id}",
    operation_id="revoke_organization_invitation",
    summary="Revoke Organization Invitation",
    tag=TAG,
    response=Message,
    errors=frozenset({403, 503}),
)
def revoke_invitation(caller: Caller, org_id: str, invitation_id: str) -> Message:
    """Revoke a pending invitation (owner and admins)."""
    wiring.invitations().revoke(caller, org_id, invitation_id)
    return Message(message="Invitation revoked successfully")


@endpoint(
    bp,
    "DELETE",
    "/organizations/{org_id}/members/{user_id}",
    operation_id="remove_organization_member",
    summary="Remove Organization Member",
    tag=TAG,
    response=Message,
    errors=frozenset({403, 409, 503}),
)
def remove_member(caller: Caller, org_id: str, user_id: str) -> Message:
    """Remove a member (owner and admins; any member themself; the owner cannot be removed)."""
    wiring.organizations().remove_member(caller, org_id, user_id)
    return Message(message="Member removed successfully")
