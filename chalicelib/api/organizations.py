"""Organizations and their members."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import json_body, path_uuid, query
from chalicelib.schemas.common import Message, PageQuery
from chalicelib.schemas.users import MemberAdd, OrganizationCreate, OrganizationsPublic
from chalicelib.services.organizations import member_public, to_public

bp = Blueprint(__name__)

ANY_CONTENT = ["*/*"]


@bp.route("/organizations/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_organization() -> Response:
    caller = deps.caller(bp.current_request)
    data = json_body(bp.current_request, OrganizationCreate)
    return render(to_public(wiring.organizations().create(caller, data)))


@bp.route("/organizations/", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def list_organizations() -> Response:
    caller = deps.caller(bp.current_request)
    page = query(bp.current_request, PageQuery)
    orgs, count = wiring.organizations().page(caller, page.skip, page.limit)
    return render(OrganizationsPublic(data=[to_public(o) for o in orgs], count=count))


@bp.route("/organizations/{org_id}/members", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def add_member(org_id: str) -> Response:
    caller = deps.caller(bp.current_request)
    org = path_uuid("org_id", org_id)
    data = json_body(bp.current_request, MemberAdd)
    member, user = wiring.organizations().add_member(caller, org, data)
    return render(member_public(member, user))


@bp.route("/organizations/{org_id}/members/{user_id}", methods=["DELETE"], content_types=ANY_CONTENT)
@api_view
def remove_member(org_id: str, user_id: str) -> Response:
    caller = deps.caller(bp.current_request)
    wiring.organizations().remove_member(caller, path_uuid("org_id", org_id), path_uuid("user_id", user_id))
    return render(Message(message="Member removed successfully"))
