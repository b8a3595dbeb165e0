"""Membership by invitation: an organization's admins invite an address, the account with that
address accepts or declines. Nobody becomes a member without accepting, and no answer tells an
admin whether an address has an account; no route shows a user's address to someone who shares no
organization with them.

The cast (tests.factories.OrgWorld): `owner` and `admin` administer `org`, `member` is a plain
member, `other` owns `other_org`, `stranger` and `invitee` are in no organization, `root` is the
superuser.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.factories import Api, OrgWorld, Response, build_org_world
from tests.support import harness

ORGS = "/api/v1/organizations/"
MINE = "/api/v1/users/me/invitations"
FORBIDDEN = {"detail": "Not enough permissions"}
ORG_NOT_FOUND = {"detail": "Organization not found"}
INVITATION_NOT_FOUND = {"detail": "Invitation not found"}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
INVITATION_FIELDS = {
    "id",
    "organization_id",
    "organization_name",
    "email",
    "role",
    "status",
    "created_at",
    "expires_at",
}


@pytest.fixture(scope="module")
def world_snapshot(_moto: None) -> tuple[list[Any], OrgWorld]:
    return harness.build_through_api(build_org_world)


@pytest.fixture
def world(api: Api, world_snapshot: tuple[list[Any], OrgWorld]) -> OrgWorld:
    items, built = world_snapshot
    harness.restore(items)
    return replace(built, api=api, tokens=dict(built.tokens))


def check(r: Response, status: int, detail: dict[str, Any] | None = None) -> None:
    assert r.status == status, r
    if detail is not None:
        assert r.json == detail, r


def invite(w: OrgWorld, who: str, email: str, role: str = "member", org: str | None = None) -> Response:
    return w.api.post(f"{ORGS}{org or w.org}/invitations", {"email": email, "role": role}, w.token(who))


def accept(w: OrgWorld, who: str, invitation_id: str) -> Response:
    return w.api.post(f"{MINE}/{invitation_id}/accept", None, w.token(who))


def decline(w: OrgWorld, who: str, invitation_id: str) -> Response:
    return w.api.post(f"{MINE}/{invitation_id}/decline", None, w.token(who))


def mine(w: OrgWorld, who: str) -> list[dict[str, Any]]:
    r = w.api.get(MINE, w.token(who))
    check(r, 200)
    assert r.json["count"] == len(r.json["data"]), r
    result: list[dict[str, Any]] = r.json["data"]
    return result


def pending(w: OrgWorld, org: str | None = None) -> list[dict[str, Any]]:
    r = w.api.get(f"{ORGS}{org or w.org}/invitations", w.token("owner"))
    check(r, 200)
    result: list[dict[str, Any]] = r.json["data"]
    return result


def in_org(w: OrgWorld, who: str, org: str | None = None) -> bool:
    listed = w.api.get(ORGS, w.token(who)).json["data"]
    inside = (org or w.org) in {o["id"] for o in listed}
    # Every way in agrees: the organization itself is readable exactly to its members.
    assert (w.api.get(f"{ORGS}{org or w.org}", w.token(who)).status == 200) is inside
    return inside


def fresh_address() -> str:
    return f"someone-{uuid.uuid4().hex[:10]}@example.com"


# -- hole 3: no enumeration, no membership without consent -----------------------------------


def test_an_invitation_answers_alike_whether_or_not_the_address_has_an_account(api: Api) -> None:
    _, owner = api.user()
    org = api.org(owner, "Mine")
    account_email = f"has-account-{uuid.uuid4().hex[:8]}@example.com"
    account_id, account_token = api.user(email=account_email)
    nobody_email = f"no-account-{uuid.uuid4().hex[:8]}@example.com"

    def post_each(path: str) -> tuple[Response, Response]:
        first, second = (api.post(path, {"email": e, "role": "admin"}, owner) for e in (account_email, nobody_email))
        return first, second

    def same_answer(with_account: Response, without: Response) -> None:
        """The same status and shape; the same values but for those that differ by nature."""
        assert with_account.status == without.status, (with_account, without)
        if isinstance(with_account.json, dict) and isinstance(without.json, dict):
            assert set(with_account.json) == set(without.json), (with_account, without)
            varying = {"id", "email", "created_at", "expires_at", "user_id"}
            for key in set(with_account.json) - varying:
                assert with_account.json[key] == without.json[key], (key, with_account, without)

    # Adding a member directly, by address, is gone: it answered 200 for an account, 404 otherwise.
    direct = post_each(f"{ORGS}{org}/members")
    same_answer(*direct)
    assert direct[0].status == 405, direct[0]

    invited = post_each(f"{ORGS}{org}/invitations")
    assert invited[0].status == 200, invited[0]
    same_answer(*invited)
    assert set(invited[0].json) == INVITATION_FIELDS
    assert invited[0].json["status"] == invited[1].json["status"] == "pending"
    assert invited[0].json["email"] == account_email and invited[1].json["email"] == nobody_email

    # Invited is not a member: nothing changes for the account until it accepts.
    assert account_id not in {m["user_id"] for m in api.get(f"{ORGS}{org}/members", owner).json["data"]}
    assert org not in {o["id"] for o in api.get(ORGS, account_token).json["data"]}
    assert api.get(f"{ORGS}{org}", account_token).status == 404


def test_no_route_tells_an_address_to_someone_who_shares_no_organization(api: Api) -> None:
    victim_email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    r = api.post(
        "/api/v1/users/",
        {"email": victim_email, "password": "password-123", "full_name": "Victim Person"},
        api.admin_token,
    )
    assert r.status == 200, r
    victim_id = r.json["id"]
    victim_token = api.login(victim_email, "password-123").json["access_token"]
    victims_org = api.org(victim_token, "Victim's")
    _, attacker = api.user()
    own_org = api.org(attacker, "Attacker's")

    attempts = [
        api.post(f"{ORGS}{own_org}/members", {"user_id": victim_id, "role": "member"}, attacker),
        api.post(f"{ORGS}{own_org}/members", {"user_id": victim_id}, attacker),
        api.get(f"{ORGS}{own_org}/members", attacker),
        api.patch(f"{ORGS}{own_org}/members/{victim_id}", {"role": "admin"}, attacker),
        api.delete(f"{ORGS}{own_org}/members/{victim_id}", attacker),
        api.get(f"{ORGS}{own_org}/invitations", attacker),
        api.get(f"{ORGS}{victims_org}", attacker),
        api.get(f"{ORGS}{victims_org}/members", attacker),
        api.get(f"{ORGS}{victims_org}/invitations", attacker),
        api.patch(f"{ORGS}{victims_org}/members/{victim_id}", {"role": "member"}, attacker),
        api.get(MINE, attacker),
    ]
    # Each answered as a route the attacker may use, or may not (and never a 500).
    assert [r.status for r in attempts] == [405, 405, 200, 404, 404, 200, 404, 404, 404, 404, 200], attempts
    for r in attempts:
        assert victim_email.encode() not in r.raw.lower(), r
        assert b"Victim Person" not in r.raw, r
    # Nor did any of it make the victim a member of the attacker's organization.
    assert own_org not in {o["id"] for o in api.get(ORGS, victim_token).json["data"]}


def test_members_of_a_shared_organization_see_each_others_addresses(world: OrgWorld) -> None:
    r = world.api.get(f"{ORGS}{world.org}/members", world.token("member"))
    check(r, 200)
    assert {m["email"] for m in r.json["data"]} == {world.emails[w] for w in ("owner", "admin", "member")}


# -- POST /organizations/{id}/invitations ------------------------------------------------------

INVITE = [
    ("owner", 200, None),
    ("admin", 200, None),
    ("root", 200, None),
    ("member", 403, FORBIDDEN),
    ("other", 404, ORG_NOT_FOUND),
    ("stranger", 404, ORG_NOT_FOUND),
]


@pytest.mark.parametrize(("who", "status", "detail"), INVITE)
def test_who_may_invite(world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None) -> None:
    r = invite(world, who, world.emails["invitee"])
    check(r, status, detail)
    if status == 200:
        assert r.json["organization_id"] == world.org
        assert r.json["organization_name"] == "Org"
        assert [i["id"] for i in mine(world, "invitee")] == [r.json["id"]]
        assert [i["id"] for i in pending(world)] == [r.json["id"]]
    else:
        assert mine(world, "invitee") == []
        assert pending(world) == []


def test_invite_without_a_token(world: OrgWorld) -> None:
    r = world.api.post(f"{ORGS}{world.org}/invitations", {"email": world.emails["invitee"]})
    check(r, 401, NOT_AUTHENTICATED)
    assert mine(world, "invitee") == []


def test_invite_to_an_unknown_organization(world: OrgWorld) -> None:
    check(invite(world, "root", world.emails["invitee"], org=str(uuid.uuid4())), 404, ORG_NOT_FOUND)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"email": "not-an-address", "role": "member"}, ["body", "email"]),
        ({"role": "member"}, ["body", "email"]),
        ({"email": "x@example.com", "role": "owner"}, ["body", "role"]),
        ({"email": "x@example.com", "user_id": str(uuid.uuid4())}, ["body", "user_id"]),
    ],
)
def test_invite_validation(world: OrgWorld, body: dict[str, Any], loc: list[str]) -> None:
    r = world.api.post(f"{ORGS}{world.org}/invitations", body, world.token("owner"))
    check(r, 422)
    assert [e["loc"] for e in r.json["detail"]] == [loc]
    assert pending(world) == []


def test_invite_with_a_bad_organization_id_is_422(world: OrgWorld) -> None:
    r = world.api.post(f"{ORGS}not-a-uuid/invitations", {"email": "x@example.com"}, world.token("owner"))
    check(r, 422)
    assert r.json["detail"][0]["loc"] == ["path", "org_id"]


def test_an_invitation_expires_in_seven_days_by_the_tables_ttl(world: OrgWorld) -> None:
    r = invite(world, "owner", world.emails["invitee"])
    check(r, 200)
    created = datetime.fromisoformat(r.json["created_at"])
    expires = datetime.fromisoformat(r.json["expires_at"])
    assert timedelta(days=7) - timedelta(seconds=1) <= expires - created <= timedelta(days=7)
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = harness_table_name()
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at_ttl"
    keys = [
        {"pk": {"S": f"ORG#{world.org}"}, "sk": {"S": f"INVITE#{world.emails['invitee']}"}},
        {"pk": {"S": f"INVITEE#{world.emails['invitee']}"}, "sk": {"S": f"INVITE#{r.json['id']}"}},
    ]
    for key in keys:
        item = client.get_item(TableName=table, Key=key)["Item"]
        assert int(item["expires_at_ttl"]["N"]) == int(expires.timestamp()), item


def harness_table_name() -> str:
    from chalicelib.config import get_settings

    return get_settings().table_name


def expire(w: OrgWorld, invitation_id: str, email: str) -> None:
    """As the clock would, a second past its end; DynamoDB's TTL deletes lazily, so items stay."""
    from chalicelib.store.invitation_models import InvitationItem, InviteeItem
    from chalicelib.store.invitations import InvitationRepository

    repo = InvitationRepository()
    past = datetime.now(UTC) - timedelta(seconds=1)
    org_side = repo.in_organization(w.org, invitation_id)
    mirror = repo.for_invitee(email, invitation_id)
    assert org_side is not None and mirror is not None
    org_side.update(actions=[InvitationItem.expires_at_ttl.set(past)])
    mirror.update(actions=[InviteeItem.expires_at_ttl.set(past)])


def test_an_expired_invitation_is_gone_before_dynamodb_deletes_it(world: OrgWorld) -> None:
    invitation = invite(world, "owner", world.emails["invitee"]).json
    expire(world, invitation["id"], world.emails["invitee"])
    assert mine(world, "invitee") == []
    assert pending(world) == []
    check(accept(world, "invitee", invitation["id"]), 404, INVITATION_NOT_FOUND)
    check(decline(world, "invitee", invitation["id"]), 404, INVITATION_NOT_FOUND)
    check(world.api.delete(f"{ORGS}{world.org}/invitations/{invitation['id']}", world.token("owner")), 404)
    assert not in_org(world, "invitee")
    # A new invitation to the address replaces the expired one.
    again = invite(world, "owner", world.emails["invitee"]).json
    check(accept(world, "invitee", again["id"]), 200)
    assert in_org(world, "invitee")


def test_inviting_an_address_again_replaces_its_invitation(world: OrgWorld) -> None:
    first = invite(world, "owner", world.emails["invitee"], "member").json
    second = invite(world, "admin", world.emails["invitee"].upper(), "admin").json
    assert second["id"] != first["id"]
    assert second["email"] == world.emails["invitee"]
    assert [(i["id"], i["role"]) for i in mine(world, "invitee")] == [(second["id"], "admin")]
    assert [i["id"] for i in pending(world)] == [second["id"]]
    check(accept(world, "invitee", first["id"]), 404, INVITATION_NOT_FOUND)
    check(accept(world, "invitee", second["id"]), 200)
    roles = {
        m["user_id"]: m["role"] for m in world.api.get(f"{ORGS}{world.org}/members", world.token("owner")).json["data"]
    }
    assert roles[world.ids["invitee"]] == "admin"


# -- GET /organizations/{id}/invitations, DELETE .../{invitation_id} ---------------------------

LIST = [
    ("owner", 200, None),
    ("admin", 200, None),
    ("root", 200, None),
    ("member", 403, FORBIDDEN),
    ("other", 404, ORG_NOT_FOUND),
    ("stranger", 404, ORG_NOT_FOUND),
]


@pytest.mark.parametrize(("who", "status", "detail"), LIST)
def test_who_may_list_an_organizations_invitations(
    world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None
) -> None:
    sent = [invite(world, "owner", fresh_address()).json for _ in range(3)]
    r = world.api.get(f"{ORGS}{world.org}/invitations?skip=1&limit=1", world.token(who))
    check(r, status, detail)
    if status == 200:
        assert r.json == {"data": [sent[1]], "count": 3}


def test_listing_invitations_without_a_token_or_with_bad_paging(world: OrgWorld) -> None:
    check(world.api.get(f"{ORGS}{world.org}/invitations"), 401, NOT_AUTHENTICATED)
    r = world.api.get(f"{ORGS}{world.org}/invitations?limit=0", world.token("owner"))
    check(r, 422)
    assert r.json["detail"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(("who", "status", "detail"), LIST)
def test_who_may_revoke(world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None) -> None:
    invitation = invite(world, "owner", world.emails["invitee"]).json
    r = world.api.delete(f"{ORGS}{world.org}/invitations/{invitation['id']}", world.token(who))
    check(r, status, detail)
    if status == 200:
        assert r.json == {"message": "Invitation revoked successfully"}
        assert mine(world, "invitee") == []
        assert pending(world) == []
        check(accept(world, "invitee", invitation["id"]), 404, INVITATION_NOT_FOUND)
    else:
        assert [i["id"] for i in mine(world, "invitee")] == [invitation["id"]]


def test_revoke_without_a_token_unknown_or_malformed(world: OrgWorld) -> None:
    invitation = invite(world, "owner", world.emails["invitee"]).json
    path = f"{ORGS}{world.org}/invitations/{invitation['id']}"
    check(world.api.delete(path), 401, NOT_AUTHENTICATED)
    check(world.api.delete(f"{ORGS}{world.org}/invitations/{uuid.uuid4()}", world.token("owner")), 404)
    # Another organization's invitation is not reached through this one.
    check(world.api.delete(f"{ORGS}{world.other_org}/invitations/{invitation['id']}", world.token("other")), 404)
    r = world.api.delete(f"{ORGS}{world.org}/invitations/not-a-uuid", world.token("owner"))
    check(r, 422)
    assert r.json["detail"][0]["loc"] == ["path", "invitation_id"]
    assert [i["id"] for i in mine(world, "invitee")] == [invitation["id"]]


# -- the invitee: GET /users/me/invitations, accept, decline -----------------------------------


def test_the_invitee_lists_accepts_and_becomes_a_member(world: OrgWorld) -> None:
    other_invitation = invite(world, "other", world.emails["invitee"], org=world.other_org).json
    invitation = invite(world, "owner", world.emails["invitee"], "admin").json
    listed = mine(world, "invitee")
    assert [i["id"] for i in listed] == [invitation["id"], other_invitation["id"]]  # newest first
    assert listed[0] == invitation
    for who in ("stranger", "member", "owner"):
        assert mine(world, who) == []

    r = accept(world, "invitee", invitation["id"])
    check(r, 200)
    assert r.json == {**invitation, "status": "accepted"}
    assert in_org(world, "invitee")
    members = world.api.get(f"{ORGS}{world.org}/members", world.token("invitee")).json["data"]
    assert {m["user_id"]: m["role"] for m in members}[world.ids["invitee"]] == "admin"
    # An admin now: may invite in turn.
    check(invite(world, "invitee", fresh_address()), 200)
    assert [i["id"] for i in mine(world, "invitee")] == [other_invitation["id"]]
    assert world.emails["invitee"] not in {i["email"] for i in pending(world)}
    check(accept(world, "invitee", invitation["id"]), 404, INVITATION_NOT_FOUND)


def test_an_accepted_member_reads_the_organizations_products(world: OrgWorld) -> None:
    product = world.api.product(world.token("member"), world.org)
    path = f"/api/v1/products/{product['id']}"
    check(world.api.get(path, world.token("invitee")), 404)
    invitation = invite(world, "owner", world.emails["invitee"]).json
    check(world.api.get(path, world.token("invitee")), 404)
    check(accept(world, "invitee", invitation["id"]), 200)
    check(world.api.get(path, world.token("invitee")), 200)


def test_the_invitee_declines(world: OrgWorld) -> None:
    invitation = invite(world, "owner", world.emails["invitee"]).json
    r = decline(world, "invitee", invitation["id"])
    check(r, 200)
    assert r.json == {**invitation, "status": "declined"}
    assert not in_org(world, "invitee")
    assert mine(world, "invitee") == []
    assert pending(world) == []
    check(accept(world, "invitee", invitation["id"]), 404, INVITATION_NOT_FOUND)


@pytest.mark.parametrize("who", ["stranger", "member", "owner", "admin", "other", "root"])
def test_only_the_invited_address_accepts_or_declines(world: OrgWorld, who: str) -> None:
    invitation = invite(world, "owner", world.emails["invitee"]).json
    check(accept(world, who, invitation["id"]), 404, INVITATION_NOT_FOUND)
    check(decline(world, who, invitation["id"]), 404, INVITATION_NOT_FOUND)
    assert [i["id"] for i in mine(world, "invitee")] == [invitation["id"]]


def test_accepting_when_already_a_member_is_a_409(world: OrgWorld) -> None:
    invitation = invite(world, "owner", world.emails["member"], "admin").json
    r = accept(world, "member", invitation["id"])
    check(r, 409, {"detail": "You are already a member of this organization"})
    roles = {
        m["user_id"]: m["role"] for m in world.api.get(f"{ORGS}{world.org}/members", world.token("owner")).json["data"]
    }
    assert roles[world.ids["member"]] == "member"
    # Declining clears it.
    check(decline(world, "member", invitation["id"]), 200)
    assert mine(world, "member") == []


def test_invitee_routes_without_a_token_or_with_bad_input(world: OrgWorld) -> None:
    invitation = invite(world, "owner", world.emails["invitee"]).json
    check(world.api.get(MINE), 401, NOT_AUTHENTICATED)
    check(world.api.post(f"{MINE}/{invitation['id']}/accept"), 401, NOT_AUTHENTICATED)
    check(world.api.post(f"{MINE}/{invitation['id']}/decline"), 401, NOT_AUTHENTICATED)
    for action in ("accept", "decline"):
        r = world.api.post(f"{MINE}/not-a-uuid/{action}", None, world.token("invitee"))
        check(r, 422)
        assert r.json["detail"][0]["loc"] == ["path", "invitation_id"]
    r = world.api.get(f"{MINE}?skip=-1", world.token("invitee"))
    check(r, 422)
    assert r.json["detail"][0]["loc"] == ["query", "skip"]
    check(accept(world, "invitee", str(uuid.uuid4())), 404, INVITATION_NOT_FOUND)
    assert [i["id"] for i in mine(world, "invitee")] == [invitation["id"]]
    assert not in_org(world, "invitee")


def test_an_address_taken_after_the_invitation_does_not_bring_it(world: OrgWorld) -> None:
    """Nothing verifies an address: a user who gives themself an invited address after the
    invitation was sent does not get it; one sent to their address after that does."""
    address = fresh_address()
    before = invite(world, "owner", address).json
    r = world.api.patch("/api/v1/users/me", {"email": address}, world.token("stranger"))
    check(r, 200)
    assert mine(world, "stranger") == []
    check(accept(world, "stranger", before["id"]), 404, INVITATION_NOT_FOUND)
    assert not in_org(world, "stranger")
    after = invite(world, "owner", address).json
    assert [i["id"] for i in mine(world, "stranger")] == [after["id"]]
    check(accept(world, "stranger", after["id"]), 200)
    assert in_org(world, "stranger")


def test_an_account_made_later_for_an_invited_address_does_not_get_the_invitation(world: OrgWorld) -> None:
    """An invitation belongs to the account that held its address when it was sent: the holder
    moves to another address, an account is then made for the old one: not theirs to accept."""
    invitation = invite(world, "owner", world.emails["invitee"]).json
    check(world.api.patch("/api/v1/users/me", {"email": fresh_address()}, world.token("invitee")), 200)
    _, newcomer = world.api.user(email=world.emails["invitee"])
    assert world.api.get("/api/v1/users/me/invitations", newcomer).json["data"] == []
    check(
        world.api.post(f"/api/v1/users/me/invitations/{invitation['id']}/accept", {}, newcomer),
        404,
        INVITATION_NOT_FOUND,
    )
    assert [i["id"] for i in pending(world)] == [invitation["id"]]


def test_an_invitation_follows_the_address_not_the_account(world: OrgWorld) -> None:
    """The invitee's list is that of the address they have now: changing it away leaves the
    invitation to whoever holds the old address."""
    invitation = invite(world, "owner", world.emails["invitee"]).json
    check(world.api.patch("/api/v1/users/me", {"email": fresh_address()}, world.token("invitee")), 200)
    assert mine(world, "invitee") == []
    check(accept(world, "invitee", invitation["id"]), 404, INVITATION_NOT_FOUND)
    assert [i["id"] for i in pending(world)] == [invitation["id"]]
