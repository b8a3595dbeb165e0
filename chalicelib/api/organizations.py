"""Organizations and their members."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import endpoint
from chalicelib.schemas.common import Message, PageQuery
from chalicelib.schemas.users import (
    MemberAdd,
    MemberPublic,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationsPublic,
)
from chalicelib.services.organizations import member_public, to_public

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
    "POST",
    "/organizations/{org_id}/members",
    operation_id="add_organization_member",
    summary="Add Organization Member",
    tag=TAG,
    response=MemberPublic,
    body=MemberAdd,
    errors=frozenset({403, 409, 503}),
)
def add_member(caller: Caller, org_id: str, body: MemberAdd) -> MemberPublic:
    """Add a user, by email or id, as a member or an admin (owner and admins only)."""
    member, user = wiring.organizations().add_member(caller, org_id, body)
    return member_public(member, user)


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
    """Remove a member (owner and admins only; the owner cannot be removed)."""
    wiring.organizations().remove_member(caller, org_id, user_id)
    return Message(message="Member removed successfully")
